//! Starting and stopping the service.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use deadpool_postgres::Pool;
use platform::ReadyCheck;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::consume::Projection;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The read models' migration history: refinery's default name, which the
/// projector has always used.
const HISTORY_TABLE: &str = "refinery_schema_history";

/// Brings the read-model schema to the newest version.
pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    platform::migrate(
        pool,
        embedded::migrations::runner(),
        HISTORY_TABLE,
        "the read-model schema",
    )
    .await
}

/// Migrates the schema, creates the topics if missing, and projects until
/// `shutdown` completes, finishing the batch in hand.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = platform::connect_pool(&config.postgres)?;
    platform::retry_at_start("migrating the read models", || migrate(&pool)).await?;
    platform::retry_at_start("creating the topics", || async {
        platform::ensure_topics(&config.kafka).await?;
        platform::ensure_topic(&config.kafka, &config.dead_letter_topic, 1).await
    })
    .await?;
    let ready: ReadyCheck = {
        let (pool, kafka) = (pool.clone(), config.kafka.clone());
        Arc::new(move || {
            let (pool, kafka) = (pool.clone(), kafka.clone());
            Box::pin(async move {
                platform::postgres_ready(&pool).await?;
                platform::kafka_ready(&kafka).await
            })
        })
    };
    let cancel = CancellationToken::new();
    let http = config.http.clone();
    let projection = Projection::new(config, pool)?;
    let worker = tokio::spawn(projection.run(cancel.clone()));
    tracing::info!(addr = %listener.local_addr()?, "projector listening");
    let stop = cancel.clone();
    platform::serve(
        listener,
        platform::health_routes::<()>(ready),
        &http,
        async move {
            tokio::select! {
                () = shutdown => {}
                () = stop.cancelled() => {}
            }
        },
    )
    .await
    .context("serving HTTP")?;
    cancel.cancel();
    worker.await.context("joining the projection")??;
    tracing::info!("projector stopped");
    Ok(())
}
