//! Starting and stopping the service.

use std::future::Future;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::{Config, app};

/// Serves HTTP until `shutdown` completes.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = platform::connect_pool(&config.postgres)?;
    tracing::info!(addr = %listener.local_addr()?, "query-api listening");
    axum::serve(listener, app(pool))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    tracing::info!("query-api stopped");
    Ok(())
}
