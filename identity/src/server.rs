//! Starting and stopping the service.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::app;
use crate::config::Config;
use crate::keys::Signer;
use crate::routes::AppState;

/// Migrates the database, makes sure a signing key exists, and serves HTTP
/// until `shutdown` completes.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = platform::connect_pool(&config.postgres)?;
    platform::retry_at_start("migrating the identity database", || {
        crate::db::migrate(&pool)
    })
    .await?;
    let keys = crate::keys::load_or_create(&pool).await?;
    let state = AppState {
        pool,
        signer: Arc::new(Signer::new(keys, &config.issuer, &config.audience)),
    };
    tracing::info!(addr = %listener.local_addr()?, "identity listening");
    platform::serve(listener, app(state, &config.http), &config.http, shutdown)
        .await
        .context("serving HTTP")?;
    tracing::info!("identity stopped");
    Ok(())
}
