//! Starting and stopping the service.

use std::future::Future;

use anyhow::Context;
use platform::JwtKeys;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::notify::Changes;
use crate::routes::{AppState, app};

/// Serves HTTP until `shutdown` completes; open event streams end then too.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = platform::connect_pool(&config.postgres)?;
    let cancel = CancellationToken::new();
    let state = AppState {
        pool,
        keys: JwtKeys::from_args(&config.auth),
        changes: Changes::listen(config.postgres.database_url.clone(), cancel.clone()),
        shutdown: cancel.clone(),
        menus: Default::default(),
    };
    tracing::info!(addr = %listener.local_addr()?, "query-api listening");
    let stop = cancel.clone();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Event streams never end by themselves: stop them with the server.
            stop.cancel();
        })
        .await
        .context("serving HTTP")?;
    cancel.cancel();
    tracing::info!("query-api stopped");
    Ok(())
}
