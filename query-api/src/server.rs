//! Starting and stopping the service.

use std::future::Future;

use anyhow::Context;
use platform::JwtKeys;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::app;
use crate::config::Config;
use crate::notify::Changes;
use crate::routes::AppState;
use crate::streams::Streams;

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
        keys: JwtKeys::for_service(&config.auth).await?,
        changes: Changes::listen(config.postgres.database_url.clone(), cancel.clone()),
        shutdown: cancel.clone(),
        menus: Default::default(),
        streams: Streams::new(config.streams_per_caller),
    };
    tracing::info!(addr = %listener.local_addr()?, "query-api listening");
    let stop = cancel.clone();
    platform::serve(
        listener,
        app(state, &config.http),
        &config.http,
        async move {
            shutdown.await;
            // Event streams never end by themselves: stop them with the server.
            stop.cancel();
        },
    )
    .await
    .context("serving HTTP")?;
    cancel.cancel();
    tracing::info!("query-api stopped");
    Ok(())
}
