//! Starting and stopping the service, and its whole HTTP surface: the API's
//! routes with their OpenAPI document, limits and probes.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use platform::ReadyCheck;
use tokio::net::TcpListener;

use crate::limits::Placements;
use crate::openapi::ApiDoc;
use crate::payments::Sandbox;
use crate::routes::{self, AppState};
use crate::writer::Writers;
use crate::{Config, membership};

/// The whole HTTP surface of the service.
pub fn app(state: AppState, limits: &platform::HttpLimits) -> Router {
    let ready_state = state.clone();
    let ready: ReadyCheck = Arc::new(move || {
        let state = ready_state.clone();
        Box::pin(async move {
            platform::kafka_ready(&state.kafka).await?;
            anyhow::ensure!(
                state.writers.all_ready(),
                "partitions are still being rebuilt"
            );
            Ok(())
        })
    });
    let router = routes::api(&state)
        .merge(platform::openapi_route::<_, ApiDoc>())
        .layer(DefaultBodyLimit::max(platform::BODY_LIMIT))
        .route_layer(axum::middleware::from_fn(platform::track_requests));
    let router = platform::with_limits(router, limits)
        .with_state(state)
        .merge(platform::health_routes(ready));
    platform::with_problem_fallbacks(router)
}

/// Creates the topics if missing, starts the partition writers and serves HTTP
/// until `shutdown` completes; then lets the writers finish the batches in hand.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    platform::retry_at_start("creating the topics", || {
        platform::ensure_topics(&config.kafka)
    })
    .await?;
    let (writers, threads) = Writers::start(&config)?;
    let stop = Arc::new(AtomicBool::new(false));
    let membership = membership::start(
        &config.kafka,
        &config.group,
        writers.queues(),
        writers.assigning(),
        stop.clone(),
    )?;
    let state = AppState {
        writers,
        kafka: config.kafka.clone(),
        keys: platform::JwtKeys::for_service(&config.auth).await?,
        gateway: Arc::new(Sandbox),
        gateway_timeout: Duration::from_millis(config.gateway_timeout_ms),
        placements: Placements::new(&config.limits),
    };
    let router = app(state, &config.http);
    tracing::info!(addr = %listener.local_addr()?, partitions = config.kafka.partitions,
        "command-api listening");
    platform::serve(listener, router, &config.http, shutdown)
        .await
        .context("serving HTTP")?;
    // Leaving the group revokes every partition: each writer finishes its
    // batch and lets go. Then, with the router gone, no sender is left and the
    // writers return.
    stop.store(true, Ordering::Release);
    tokio::task::spawn_blocking(move || {
        if membership.join().is_err() {
            tracing::error!("the membership thread panicked");
        }
        for thread in threads {
            if thread.join().is_err() {
                tracing::error!("a partition writer panicked");
            }
        }
    })
    .await
    .context("joining the partition writers")?;
    tracing::info!("command-api stopped");
    Ok(())
}
