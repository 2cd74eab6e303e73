//! The limits every HTTP service puts on its callers: how long a client may
//! take to send its headers, how long a request may take to answer, and how
//! many requests are served at once, the rest shed with `503` at once rather
//! than queued.

use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::http::StatusCode;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::timeout::TimeoutLayer;

use crate::Problem;

/// The HTTP server's limits, shared by every service's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpLimits {
    /// How long a client may take to send a request's headers before its
    /// connection is closed (slow clients must not hold connections).
    #[arg(long, env = "QSR_HTTP_HEADER_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub http_header_timeout_ms: u64,
    /// How long a request may take to produce its answer's head before it is
    /// answered `503 timeout`; an event stream's body is not cut by it.
    #[arg(long, env = "QSR_HTTP_REQUEST_TIMEOUT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub http_request_timeout_ms: u64,
    /// Requests served at once (health, readiness and metrics aside); one
    /// more is answered `503 overloaded` with `Retry-After` at once.
    #[arg(long, env = "QSR_HTTP_MAX_IN_FLIGHT", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub http_max_in_flight: u32,
}

impl Default for HttpLimits {
    /// The same as the flags' defaults.
    fn default() -> Self {
        HttpLimits {
            http_header_timeout_ms: 10_000,
            http_request_timeout_ms: 30_000,
            http_max_in_flight: 512,
        }
    }
}

impl HttpLimits {
    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.http_header_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.http_request_timeout_ms)
    }
}

/// Seconds a shed or timed-out caller is told to wait before retrying.
const RETRY_AFTER_SECS: u32 = 1;

/// Puts every route of `router` under the request timeout and the concurrency
/// limit of `limits`. Call it before merging the health routes, which stay
/// outside so that probes see a busy service as alive.
///
/// The timeout covers producing the response's head: the body of an event
/// stream is sent after the handler's future completed, so it is not cut
/// (tower's `Timeout` wraps only the service's future). The concurrency
/// permit is likewise released when the head is ready; event streams are
/// capped on their own.
pub fn with_limits<S>(router: Router<S>, limits: &HttpLimits) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let layers = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(refusal))
        .layer(LoadShedLayer::new())
        .layer(GlobalConcurrencyLimitLayer::new(
            limits.http_max_in_flight as usize,
        ))
        .layer(TimeoutLayer::new(limits.request_timeout()));
    router.layer(layers)
}

/// The answer of a request the limits stopped.
async fn refusal(error: tower::BoxError) -> Problem {
    if error.is::<tower::load_shed::error::Overloaded>() {
        metrics::counter!("qsr_http_shed_total").increment(1);
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the service is serving as many requests as it takes; retry shortly",
        )
        .retry_after(RETRY_AFTER_SECS)
    } else if error.is::<tower::timeout::error::Elapsed>() {
        metrics::counter!("qsr_http_timeouts_total").increment(1);
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took longer than the service allows; a command retried \
             with the same Idempotency-Key is answered once",
        )
        .retry_after(RETRY_AFTER_SECS)
    } else {
        tracing::error!(error = %error, "a request failed in the server's limits");
        Problem::internal()
    }
}
