//! command-api's own limits: how many commands may wait for a partition's
//! writer and for how long, and how often one customer may place orders.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use platform::{Caller, JwtKeys, Problem, Role};

/// The limits' settings.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// Commands and quotes that may wait for one partition's writer; one more
    /// is answered `503 unavailable` with `Retry-After` at once.
    #[arg(long, env = "QSR_WRITER_QUEUE_DEPTH", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub writer_queue_depth: u32,
    /// How long a command or quote may wait in a writer's queue; one the
    /// writer reaches later is answered `503` without being decided.
    #[arg(long, env = "QSR_WRITER_QUEUE_WAIT_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub writer_queue_wait_ms: u64,
    /// Orders one customer may place per minute (`POST /v1/orders`, by the
    /// token's `sub`), past the burst; more are answered `429 rate_limited`.
    /// Quotes are not counted.
    #[arg(long, env = "QSR_PLACEMENTS_PER_MINUTE", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub placements_per_minute: u32,
    /// Orders one customer may place at once before the per-minute rate applies.
    #[arg(long, env = "QSR_PLACEMENT_BURST", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub placement_burst: u32,
}

impl Default for Limits {
    /// The same as the flags' defaults.
    fn default() -> Self {
        Limits {
            writer_queue_depth: 4096,
            writer_queue_wait_ms: 5_000,
            placements_per_minute: 10,
            placement_burst: 5,
        }
    }
}

impl Limits {
    pub fn writer_queue_wait(&self) -> Duration {
        Duration::from_millis(self.writer_queue_wait_ms)
    }
}

/// Customers tracked before those idle long enough to be full again are
/// forgotten.
const TRACKED_MAX: usize = 100_000;

/// The least time between two prunings: a pruning walks every tracked
/// customer, so a flood of new ones must not make each request walk them.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// How often each customer may place orders (GCRA, by the caller's scope:
/// the token's role and `sub`).
#[derive(Clone)]
pub struct Placements {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    /// When the tracked customers were last pruned.
    pruned: Arc<Mutex<Instant>>,
}

impl std::fmt::Debug for Placements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Placements")
            .field("customers", &self.limiter.len())
            .finish()
    }
}

impl Placements {
    pub fn new(limits: &Limits) -> Self {
        let rate = NonZeroU32::new(limits.placements_per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.placement_burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(rate).allow_burst(burst);
        Placements {
            limiter: Arc::new(RateLimiter::keyed(quota)),
            pruned: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// Forgets the customers idle long enough to be full again, when more
    /// than [`TRACKED_MAX`] are tracked, at most once per [`PRUNE_EVERY`]
    /// and by one request at a time.
    fn prune(&self) {
        if self.limiter.len() <= TRACKED_MAX {
            return;
        }
        let Ok(mut pruned) = self.pruned.try_lock() else {
            return;
        };
        if pruned.elapsed() < PRUNE_EVERY {
            return;
        }
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        *pruned = Instant::now();
    }

    /// Counts one placement of `customer` (a caller's scope): `429
    /// rate_limited` with the seconds until the next one is allowed, when
    /// over the limit.
    pub fn check(&self, customer: &str) -> Result<(), Problem> {
        self.prune();
        self.limiter
            .check_key(&customer.to_owned())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let seconds = u32::try_from(wait.as_secs()).unwrap_or(u32::MAX);
                metrics::counter!("qsr_placements_limited_total").increment(1);
                Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many orders placed in a short time; retry after Retry-After seconds",
                )
                .retry_after(seconds.saturating_add(1))
            })
    }
}

/// Route layer of `POST /v1/orders`: a customer over the placement limit is
/// answered `429` before anything else is done. A request without a valid
/// customer token goes on, to be refused by the handler.
pub async fn limit_placements<S>(State(state): State<S>, request: Request, next: Next) -> Response
where
    S: Send + Sync,
    Placements: FromRef<S>,
    JwtKeys: FromRef<S>,
{
    let (mut parts, body) = request.into_parts();
    if let Ok(caller) = Caller::from_request_parts(&mut parts, &state).await {
        if caller.role() == Role::Customer
            && let Err(problem) = Placements::from_ref(&state).check(&caller.scope())
        {
            return problem.into_response();
        }
        // The handler takes the verified caller from here.
        parts.extensions.insert(caller);
    }
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_past_the_burst_is_told_when_to_retry_and_others_are_not() {
        let placements = Placements::new(&Limits {
            placements_per_minute: 10,
            placement_burst: 2,
            ..Limits::default()
        });
        assert!(placements.check("alice").is_ok());
        assert!(placements.check("alice").is_ok());
        let refused = placements.check("alice").unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.code, "rate_limited");
        // One placement comes back every 6 seconds.
        assert!(matches!(refused.retry_after, Some(1..=7)));
        assert!(placements.check("bob").is_ok());
    }
}
