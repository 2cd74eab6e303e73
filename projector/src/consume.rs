//! The projection loop: poll a batch, apply it and its offsets in one Postgres
//! transaction, notify, repeat. On a failure the transaction rolls back and the
//! consumer seeks back to the offsets Postgres holds, so nothing is skipped and
//! nothing is applied twice.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use deadpool_postgres::Pool;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::apply::apply;

/// The channel `NOTIFY`ed after each applied batch.
pub const NOTIFY_CHANNEL: &str = "qsr_read_models";

/// What one step of the loop did.
#[derive(Debug)]
enum Step {
    Applied(usize),
    Idle,
}

pub struct Projection {
    config: Config,
    pool: Pool,
    consumer: StreamConsumer,
}

impl Projection {
    pub fn new(config: Config, pool: Pool) -> anyhow::Result<Projection> {
        let consumer: StreamConsumer = config
            .kafka
            .client_config()
            .set("group.id", &config.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("isolation.level", "read_committed")
            .set("auto.offset.reset", "earliest")
            .create()
            .context("creating the projector's consumer")?;
        Ok(Projection {
            config,
            pool,
            consumer,
        })
    }

    /// Runs until `cancel`; a failed step is retried from the stored offsets.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let mut backoff = Duration::from_millis(100);
        let mut positioned = false;
        while !cancel.is_cancelled() {
            if !positioned {
                match self.seek_to_stored_offsets().await {
                    Ok(()) => positioned = true,
                    Err(error) => {
                        tracing::error!(error = format!("{error:#}"), "cannot read stored offsets");
                        self.pause(&cancel, &mut backoff).await;
                        continue;
                    }
                }
            }
            let step = tokio::select! {
                () = cancel.cancelled() => break,
                step = self.step() => step,
            };
            match step {
                Ok(Step::Applied(n)) => {
                    backoff = Duration::from_millis(100);
                    tracing::debug!(events = n, "applied a batch");
                }
                Ok(Step::Idle) => {}
                Err(error) => {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "batch failed; rolling back to the stored offsets"
                    );
                    positioned = false;
                    self.pause(&cancel, &mut backoff).await;
                }
            }
        }
        tracing::info!("projection stopped");
        Ok(())
    }

    async fn pause(&self, cancel: &CancellationToken, backoff: &mut Duration) {
        tokio::select! {
            () = cancel.cancelled() => {}
            () = tokio::time::sleep(*backoff) => {}
        }
        *backoff = (*backoff * 2).min(Duration::from_secs(5));
    }

    /// Assigns every partition of both topics at the offset stored in Postgres,
    /// or at the beginning for a partition never applied.
    async fn seek_to_stored_offsets(&self) -> anyhow::Result<()> {
        let client = self
            .pool
            .get()
            .await
            .context("getting a Postgres connection")?;
        let topics = [
            self.config.kafka.stores_topic.clone(),
            self.config.kafka.orders_topic.clone(),
        ];
        let rows = client
            .query(
                "select topic, partition, next_offset from projector_offsets where topic = any($1)",
                &[&topics.as_slice()],
            )
            .await
            .context("reading stored offsets")?;
        let stored: HashMap<(String, i32), i64> = rows
            .iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect();
        let mut assignment = TopicPartitionList::new();
        for topic in &topics {
            for partition in 0..self.config.kafka.partitions {
                let offset = stored
                    .get(&(topic.clone(), partition))
                    .map_or(Offset::Beginning, |&o| Offset::Offset(o));
                assignment.add_partition_offset(topic, partition, offset)?;
            }
        }
        self.consumer
            .assign(&assignment)
            .context("assigning partitions")?;
        tracing::info!(stored = stored.len(), "positioned at the stored offsets");
        Ok(())
    }

    async fn step(&self) -> anyhow::Result<Step> {
        let first = match tokio::time::timeout(Duration::from_secs(1), self.consumer.recv()).await {
            Err(_) => return Ok(Step::Idle),
            Ok(message) => message.context("polling Kafka")?,
        };
        let mut batch = vec![first];
        while batch.len() < self.config.batch_max as usize {
            // A zero timeout still polls once: this takes what is already fetched.
            match tokio::time::timeout(Duration::ZERO, self.consumer.recv()).await {
                Ok(message) => batch.push(message.context("polling Kafka")?),
                Err(_) => break,
            }
        }
        self.apply_batch(&batch).await?;
        Ok(Step::Applied(batch.len()))
    }

    async fn apply_batch(&self, batch: &[BorrowedMessage<'_>]) -> anyhow::Result<()> {
        let mut client = self
            .pool
            .get()
            .await
            .context("getting a Postgres connection")?;
        let tx = client
            .transaction()
            .await
            .context("beginning a transaction")?;
        let mut next: HashMap<(&str, i32), i64> = HashMap::new();
        for message in batch {
            next.insert((message.topic(), message.partition()), message.offset() + 1);
            let Some(payload) = message.payload() else {
                continue;
            };
            match schemas::decode(payload) {
                Ok(event) => apply(&tx, &event).await.with_context(|| {
                    format!(
                        "applying {} at {}/{}@{}",
                        event.data.event_type(),
                        message.topic(),
                        message.partition(),
                        message.offset()
                    )
                })?,
                Err(error) => tracing::error!(
                    topic = message.topic(),
                    partition = message.partition(),
                    offset = message.offset(),
                    error = %error,
                    "skipping a record that cannot be decoded"
                ),
            }
        }
        for ((topic, partition), offset) in &next {
            tx.execute(
                "insert into projector_offsets (topic, partition, next_offset) values ($1, $2, $3) \
                 on conflict (topic, partition) do update set next_offset = excluded.next_offset",
                &[topic, partition, offset],
            )
            .await
            .context("storing offsets")?;
        }
        tx.execute(&format!("notify {NOTIFY_CHANNEL}"), &[])
            .await
            .context("notifying")?;
        tx.commit().await.context("committing the batch")?;
        Ok(())
    }
}
