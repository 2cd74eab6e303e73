//! The bridge daemon: consumes `qsr.orders` (and store profiles from
//! `qsr.stores`, for their time zones), prints a ticket for each placed order,
//! and commits an order's offset only after its ticket was sent: delivery is at
//! least once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono_tz::Tz;
use platform::ReadyCheck;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use schemas::EventData;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::ticket::{order_number, render_ticket};

/// The longest pause between two attempts to reach a printer.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Consumes and prints until `shutdown` completes; a ticket being retried when
/// it does is not committed, so the next start sends it again.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    platform::ensure_topics(&config.kafka).await?;
    let consumer: StreamConsumer = config
        .kafka
        .client_config()
        .set("group.id", &config.group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .create()
        .context("creating the bridge's consumer")?;
    consumer
        .subscribe(&[&config.kafka.stores_topic, &config.kafka.orders_topic])
        .context("subscribing to the topics")?;
    let ready: ReadyCheck = {
        let kafka = config.kafka.clone();
        Arc::new(move || {
            let kafka = kafka.clone();
            Box::pin(async move { platform::kafka_ready(&kafka).await })
        })
    };
    let cancel = CancellationToken::new();
    let bridge = Bridge {
        config,
        consumer,
        timezones: HashMap::new(),
    };
    let worker = tokio::spawn(bridge.run(cancel.clone()));
    tracing::info!(addr = %listener.local_addr()?, "pos-bridge listening");
    axum::serve(listener, platform::health_routes::<()>(ready))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    cancel.cancel();
    worker.await.context("joining the bridge")??;
    tracing::info!("pos-bridge stopped");
    Ok(())
}

struct Bridge {
    config: Config,
    consumer: StreamConsumer,
    /// Each store's time zone, for the pickup time on its tickets.
    timezones: HashMap<String, Tz>,
}

impl Bridge {
    async fn run(mut self, cancel: CancellationToken) -> anyhow::Result<()> {
        loop {
            let message = tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                message = self.consumer.recv() => message,
            };
            let message = match message {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(%error, "polling Kafka");
                    continue;
                }
            };
            let (consumer, timezones, config) = (&self.consumer, &mut self.timezones, &self.config);
            if !handle(config, timezones, &message, &cancel).await {
                return Ok(());
            }
            if let Err(error) = consumer.commit_message(&message, CommitMode::Async) {
                tracing::warn!(%error, "committing an offset");
            }
        }
    }
}

/// Handles one record; `false` when shutdown interrupted a delivery.
async fn handle(
    config: &Config,
    timezones: &mut HashMap<String, Tz>,
    message: &BorrowedMessage<'_>,
    cancel: &CancellationToken,
) -> bool {
    let Some(payload) = message.payload() else {
        return true;
    };
    let event = match schemas::decode(payload) {
        Ok(event) => event,
        Err(error) => {
            tracing::error!(topic = message.topic(), partition = message.partition(),
                offset = message.offset(), %error, "skipping a record that cannot be decoded");
            return true;
        }
    };
    match &event.data {
        EventData::StoreConfigured(store) => {
            if let Ok(tz) = store.timezone.parse::<Tz>() {
                timezones.insert(store.store_id.clone(), tz);
            }
            true
        }
        EventData::OrderPlaced(order) => {
            let timezone = timezones.get(&order.store_id).copied().unwrap_or(Tz::UTC);
            let ticket = render_ticket(order, timezone);
            let mut backoff = Duration::from_millis(100);
            loop {
                match print(config, ticket.as_bytes()).await {
                    Ok(()) => {
                        tracing::info!(order_id = %order.order_id, number = %order_number(order),
                            store_id = %order.store_id, correlation_id = %event.meta.correlation_id,
                            "ticket printed");
                        return true;
                    }
                    Err(error) => tracing::warn!(order_id = %order.order_id,
                        printer = %config.printer, error = format!("{error:#}"),
                        retry_in_ms = backoff.as_millis() as u64, "printer unreachable"),
                }
                tokio::select! {
                    () = cancel.cancelled() => return false,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        // Status changes, cancellations and reprints reach the kitchen in issue 6.
        _ => true,
    }
}

async fn print(config: &Config, ticket: &[u8]) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(config.printer_timeout_secs);
    let mut stream = tokio::time::timeout(timeout, TcpStream::connect(&config.printer))
        .await
        .context("connecting timed out")?
        .context("connecting")?;
    tokio::time::timeout(timeout, async {
        stream.write_all(ticket).await?;
        stream.shutdown().await
    })
    .await
    .context("writing timed out")?
    .context("writing")?;
    Ok(())
}
