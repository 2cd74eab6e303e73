//! Starting and stopping the service.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::limits::Placements;
use crate::payments::Sandbox;
use crate::routes::{AppState, app};
use crate::writer::Writers;
use crate::{Config, membership};

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
        keys: platform::JwtKeys::from_args(&config.auth),
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
