//! Starting and stopping the service, and its background tasks: the mail
//! sender and the key reloader.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use deadpool_postgres::Pool;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::app::app;
use crate::config::Config;
use crate::keys::Signer;
use crate::mailer::{self, Relay};
use crate::password::DummyHash;
use crate::routes::{AppState, RouteSettings};
use crate::throttle::LoginThrottle;
use crate::{db, key_store};

/// Reads the keys again every `every`, so that a rotation by another
/// process reaches this one; a failure keeps the keys it has.
async fn reload_keys(pool: Pool, signer: Arc<Signer>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        match key_store::load(&pool).await {
            Ok(keys) => signer.replace(keys),
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "cannot reload the signing keys"
                );
            }
        }
    }
}

/// Migrates the database, makes sure a signing key exists, computes the
/// dummy password hash, and serves HTTP until `shutdown` completes; sends
/// queued mail and reloads the keys meanwhile.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let relay = Relay::from_args(&config.mail)?;
    let dummy_hash = tokio::task::spawn_blocking(DummyHash::new)
        .await
        .context("computing the dummy password hash")?
        .context("computing the dummy password hash")?;
    let pool = platform::connect_pool(&config.postgres)?;
    platform::retry_at_start("migrating the identity database", || db::migrate(&pool)).await?;
    let keys = key_store::load_or_create(&pool).await?;
    let signer = Arc::new(Signer::new(keys, &config.issuer, &config.audience));
    let mail_queued = Arc::new(Notify::new());
    let state = AppState {
        pool: pool.clone(),
        signer: signer.clone(),
        settings: Arc::new(RouteSettings {
            public_url: config.mail.public_url.clone(),
            allow_unverified_orders: config.allow_unverified_orders,
            trusted_proxies: config.trusted_proxies.clone(),
            pos_token_seconds: config.pos_token_secs,
        }),
        throttle: Arc::new(LoginThrottle::new(Duration::from_secs(
            config.login_window_secs,
        ))),
        dummy_hash: Arc::new(dummy_hash),
        mail_queued: mail_queued.clone(),
    };
    let sender = tokio::spawn(mailer::run(pool.clone(), relay, mail_queued));
    let reloader = tokio::spawn(reload_keys(
        pool,
        signer,
        Duration::from_secs(config.key_reload_secs),
    ));
    tracing::info!(addr = %listener.local_addr()?, "identity listening");
    let served = platform::serve(listener, app(state, &config.http), &config.http, shutdown)
        .await
        .context("serving HTTP");
    // A mail cut off mid-send is sent again once its lease runs out.
    sender.abort();
    reloader.abort();
    served?;
    tracing::info!("identity stopped");
    Ok(())
}
