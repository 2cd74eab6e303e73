//! The daemon's wiring: migrate the bridge's tables, start the consumer that
//! queues tickets, one delivery task per sink of each configured store, and
//! the HTTP server (health, metrics, feedback); drain on shutdown.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::middleware;
use platform::{KafkaContext, ReadyCheck};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cli::Config;
use crate::config::Settings;
use crate::consumer::{OrderConsumer, StoreRuntime, Wakers};
use crate::db;
use crate::delivery::{DeadLetter, Delivery, run_sink};
use crate::feedback::{self, FeedbackState};
use crate::pos_tokens::PosTokens;
use crate::sinks::{Senders, Sink};

/// Runs until `shutdown` completes. Tickets being retried then stay queued in
/// Postgres and go out after the next start.
pub async fn run(
    config: Config,
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = platform::connect_pool(&config.postgres)?;
    // Postgres and Kafka may be starting at the same moment (compose).
    platform::retry_at_start("migrating the bridge's tables", || db::migrate(&pool)).await?;
    platform::retry_at_start("creating the topics", || async {
        platform::ensure_topics(&config.kafka).await?;
        platform::ensure_topic(
            &config.kafka,
            &settings.dead_letter_topic,
            config.kafka.partitions,
        )
        .await
    })
    .await?;
    let timezones = db::load_timezones(&pool).await?;

    let mut consumer_config = config.kafka.client_config();
    if let Some(instance) = &config.instance_id {
        consumer_config.set("group.instance.id", instance);
    }
    let consumer: StreamConsumer<KafkaContext> = consumer_config
        .set("group.id", &config.group)
        // A member that died without leaving is replaced after this long.
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "2000")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .create_with_context(KafkaContext)
        .context("creating the bridge's consumer")?;
    consumer
        .subscribe(&[&config.kafka.stores_topic, &config.kafka.orders_topic])
        .context("subscribing to the topics")?;
    let producer: FutureProducer<KafkaContext> = config
        .kafka
        .client_config()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .create_with_context(KafkaContext)
        .context("creating the dead-letter producer")?;
    let dead_letter = Arc::new(DeadLetter {
        producer,
        topic: settings.dead_letter_topic.clone(),
    });
    let http = reqwest::Client::builder()
        .timeout(settings.webhook_timeout())
        .connect_timeout(settings.webhook_timeout())
        .build()
        .context("building the HTTP client")?;

    let tokens = Arc::new(PosTokens::new(http.clone(), &settings));
    let stores: BTreeMap<String, StoreRuntime> = settings
        .stores
        .iter()
        .map(|(id, store)| {
            let runtime = StoreRuntime {
                sinks: Sink::of_store(id, store, &settings.command_api_url),
                settings: store.clone(),
            };
            (id.clone(), runtime)
        })
        .collect();
    let stores = Arc::new(stores);
    let mut wakers: Wakers = HashMap::new();
    for (id, store) in stores.iter() {
        for sink in &store.sinks {
            wakers.insert((id.clone(), sink.name.clone()), Arc::new(Notify::new()));
        }
    }
    let wakers = Arc::new(wakers);
    let delivery = Arc::new(Delivery {
        pool: pool.clone(),
        senders: Senders {
            http: http.clone(),
            printer_timeout: settings.printer_timeout(),
            tokens: tokens.clone(),
        },
        dead_letter: DeadLetter {
            producer: dead_letter.producer.clone(),
            topic: dead_letter.topic.clone(),
        },
        max_attempts: settings.max_attempts,
        backoff_initial: Duration::from_millis(settings.backoff_initial_ms),
        backoff_max: Duration::from_millis(settings.backoff_max_ms),
    });

    let cancel = CancellationToken::new();
    let sink_count: usize = stores.values().map(|s| s.sinks.len()).sum();
    let deliveries = tokio::spawn(deliver_while_leading(
        config.postgres.database_url.clone(),
        delivery.clone(),
        stores.clone(),
        wakers.clone(),
        cancel.clone(),
    ));
    let pruning = tokio::spawn(prune_periodically(
        pool.clone(),
        settings.retention_days,
        cancel.clone(),
    ));
    let order_consumer = OrderConsumer {
        consumer,
        pool: pool.clone(),
        stores: stores.clone(),
        wakers,
        dead_letter,
        timezones,
    };
    let consumer_task = tokio::spawn(order_consumer.run(cancel.clone()));

    let ready: ReadyCheck = {
        let (kafka, pool) = (config.kafka.clone(), pool.clone());
        Arc::new(move || {
            let (kafka, pool) = (kafka.clone(), pool.clone());
            Box::pin(async move {
                platform::kafka_ready(&kafka).await?;
                platform::postgres_ready(&pool).await
            })
        })
    };
    let feedback = feedback::routes(FeedbackState {
        stores,
        http,
        command_api_url: settings.command_api_url.clone(),
        tolerance_secs: settings.signature_tolerance_secs,
        tokens,
    });
    let app = platform::with_limits(feedback, &config.http)
        .merge(platform::health_routes(ready))
        .layer(middleware::from_fn(platform::track_requests));
    let app = platform::with_problem_fallbacks(app);
    tracing::info!(addr = %listener.local_addr()?, stores = settings.stores.len(),
        sinks = sink_count, "pos-bridge listening");
    let served = platform::serve(listener, app, &config.http, shutdown)
        .await
        .context("serving HTTP");
    cancel.cancel();
    consumer_task.await.context("joining the consumer")??;
    deliveries.await.context("joining the deliveries")??;
    pruning.await.context("joining the pruning")?;
    served?;
    tracing::info!("pos-bridge stopped");
    Ok(())
}

/// The Postgres advisory lock held by the one bridge that delivers for a
/// database ("QSR_BRDG"). Another instance consumes and queues like it (the
/// queue is idempotent) but stands by until the lock is free, so a second
/// instance never doubles the tickets, and takes over as soon as the first
/// one's session ends, even by SIGKILL.
const DELIVERY_LOCK: i64 = 0x5153_525f_4252_4447;

/// Runs the sink tasks while this process holds the delivery lock; stands by
/// while another does; starts again if the lock's session is lost.
async fn deliver_while_leading(
    database_url: String,
    delivery: Arc<Delivery>,
    stores: Arc<BTreeMap<String, StoreRuntime>>,
    wakers: Arc<Wakers>,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let Some((lock, lost)) = acquire_delivery_lock(&database_url, &cancel).await else {
            return Ok(());
        };
        let term = cancel.child_token();
        let mut sink_tasks = JoinSet::new();
        for (id, store) in stores.iter() {
            for sink in &store.sinks {
                let wake = wakers
                    .get(&(id.clone(), sink.name.clone()))
                    .cloned()
                    .unwrap_or_default();
                sink_tasks.spawn(run_sink(
                    delivery.clone(),
                    id.clone(),
                    sink.clone(),
                    wake,
                    term.clone(),
                ));
            }
        }
        tokio::select! {
            () = cancel.cancelled() => {}
            () = lost.cancelled() => {
                tracing::error!("lost the delivery lock's Postgres session; stopping deliveries");
                term.cancel();
            }
        }
        while let Some(joined) = sink_tasks.join_next().await {
            joined.context("joining a sink task")?;
        }
        drop(lock);
        if cancel.is_cancelled() {
            return Ok(());
        }
    }
}

/// Waits for the delivery lock on a session of its own; `None` on shutdown.
/// The token is cancelled when that session ends.
async fn acquire_delivery_lock(
    database_url: &str,
    cancel: &CancellationToken,
) -> Option<(tokio_postgres::Client, CancellationToken)> {
    let mut announced = false;
    loop {
        match try_lock(database_url).await {
            Ok(Some(held)) => {
                tracing::info!("holding the delivery lock; delivering");
                return Some(held);
            }
            Ok(None) if !announced => {
                tracing::info!("another bridge delivers for this database; standing by");
                announced = true;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(error = format!("{error:#}"), "taking the delivery lock"),
        }
        tokio::select! {
            () = cancel.cancelled() => return None,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn try_lock(
    database_url: &str,
) -> anyhow::Result<Option<(tokio_postgres::Client, CancellationToken)>> {
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
        .await
        .context("connecting to Postgres")?;
    let lost = CancellationToken::new();
    let on_end = lost.clone();
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "the delivery lock's session ended");
        }
        on_end.cancel();
    });
    let row = client
        .query_one("select pg_try_advisory_lock($1)", &[&DELIVERY_LOCK])
        .await
        .context("asking for the lock")?;
    Ok(row.get::<_, bool>(0).then_some((client, lost)))
}

/// Deletes old delivered tickets now and then.
async fn prune_periodically(pool: deadpool_postgres::Pool, days: u32, cancel: CancellationToken) {
    loop {
        match db::prune(&pool, days).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, days, "pruned old tickets"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "pruning old tickets"),
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}
