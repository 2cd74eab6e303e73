//! The projection loop: poll a batch, apply it and its offsets in one Postgres
//! transaction, notify, repeat. On a failure the transaction rolls back and the
//! consumer seeks back to the offsets Postgres holds, so nothing is skipped and
//! nothing is applied twice. A batch that Postgres refuses for what a record
//! holds (SQLSTATE class 22 or 23, see `platform::refused_data`) is applied
//! again one record per transaction, and the record Postgres refuses alone is
//! dead-lettered: poison never blocks the records after it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use deadpool_postgres::Pool;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::apply::{Cause, Unapplied, apply_batch};
use crate::config::Config;
use crate::dead_letter::DeadLetters;

/// The channel `NOTIFY`ed after each applied batch.
pub const NOTIFY_CHANNEL: &str = "qsr_read_models";

/// What one step of the loop did.
#[derive(Debug)]
enum Step {
    Applied(usize),
    Idle,
}

/// How far the projection is behind each partition: the last stable offset
/// the broker reports (librdkafka statistics) less the next offset to apply.
#[derive(Debug, Default)]
struct Lag {
    /// (topic, partition) -> (last stable offset, next offset to apply).
    partitions: Mutex<HashMap<(String, i32), (i64, i64)>>,
}

impl Lag {
    fn update(&self, topic: &str, partition: i32, stable: Option<i64>, next: Option<i64>) {
        let mut partitions = self
            .partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = partitions
            .entry((topic.to_owned(), partition))
            .or_insert((0, 0));
        if let Some(stable) = stable {
            entry.0 = stable;
        }
        if let Some(next) = next {
            entry.1 = next;
        }
        // The stable offset counts transaction markers too, so a caught-up
        // partition may show one record of lag until the next statistics.
        let lag = (entry.0 - entry.1).max(0);
        metrics::gauge!(
            "qsr_projector_lag_records",
            "topic" => topic.to_owned(),
            "partition" => partition.to_string()
        )
        .set(lag as f64);
    }
}

/// Receives librdkafka's statistics for the lag gauges.
struct ProjectorContext {
    lag: Arc<Lag>,
}

impl ClientContext for ProjectorContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        platform::kafka_log::log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        platform::kafka_log::error(&error, reason);
    }

    fn stats(&self, statistics: Statistics) {
        for (name, topic) in &statistics.topics {
            for (&partition, stats) in &topic.partitions {
                if partition >= 0 && stats.ls_offset >= 0 {
                    self.lag
                        .update(name, partition, Some(stats.ls_offset), None);
                }
            }
        }
    }
}

impl ConsumerContext for ProjectorContext {}

pub struct Projection {
    config: Config,
    pool: Pool,
    consumer: StreamConsumer<ProjectorContext>,
    dead_letters: DeadLetters,
    lag: Arc<Lag>,
}

impl Projection {
    pub fn new(config: Config, pool: Pool) -> anyhow::Result<Projection> {
        let lag = Arc::new(Lag::default());
        let consumer: StreamConsumer<ProjectorContext> = config
            .kafka
            .client_config()
            .set("group.id", &config.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("isolation.level", "read_committed")
            .set("auto.offset.reset", "earliest")
            .set("statistics.interval.ms", "2000")
            .create_with_context(ProjectorContext { lag: lag.clone() })
            .context("creating the projector's consumer")?;
        let dead_letters = DeadLetters::new(&config.kafka, &config.dead_letter_topic)?;
        Ok(Projection {
            config,
            pool,
            consumer,
            dead_letters,
            lag,
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
        match self.apply_batch(&batch, None).await {
            Ok(()) => {}
            Err(error) if platform::refused_data(&error).is_some() => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    events = batch.len(),
                    "Postgres refused a batch; applying its records one at a time"
                );
                for message in &batch {
                    self.apply_alone(message).await?;
                }
            }
            Err(error) => return Err(error),
        }
        Ok(Step::Applied(batch.len()))
    }

    /// Applies one record in a transaction of its own. If Postgres refuses
    /// it for what it holds, retrying cannot help: it is dead-lettered, and
    /// the offset past it stored, in a transaction that applies nothing.
    async fn apply_alone(&self, message: &BorrowedMessage<'_>) -> anyhow::Result<()> {
        let alone = std::slice::from_ref(message);
        let Err(error) = self.apply_batch(alone, None).await else {
            return Ok(());
        };
        let Some(refusal) = platform::refused_data(&error) else {
            return Err(error);
        };
        let reason = format!(
            "refused by Postgres (SQLSTATE {}): {error:#}",
            refusal.code().code()
        );
        self.apply_batch(alone, Some(&reason)).await
    }

    /// Applies `batch` and stores the offsets past it in one transaction,
    /// dead-lettering what the read models cannot take; with `refused`, every
    /// record is dead-lettered with that reason instead of applied.
    async fn apply_batch(
        &self,
        batch: &[BorrowedMessage<'_>],
        refused: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut first: HashMap<(&str, i32), i64> = HashMap::new();
        let mut next: HashMap<(&str, i32), i64> = HashMap::new();
        let mut events = Vec::with_capacity(batch.len());
        let mut rejected = Vec::new();
        for (index, message) in batch.iter().enumerate() {
            first
                .entry((message.topic(), message.partition()))
                .or_insert(message.offset());
            next.insert((message.topic(), message.partition()), message.offset() + 1);
            match (message.payload().map(schemas::decode), refused) {
                (Some(Ok(event)), None) => events.push((index, event)),
                (Some(Ok(_)), Some(reason)) => rejected.push(Unapplied {
                    index,
                    cause: Cause::Refused,
                    reason: reason.to_owned(),
                }),
                (Some(Err(error)), _) => rejected.push(Unapplied {
                    index,
                    cause: Cause::Undecodable,
                    reason: format!("cannot be decoded: {error}"),
                }),
                (None, _) => rejected.push(Unapplied {
                    index,
                    cause: Cause::Undecodable,
                    reason: "has no value".into(),
                }),
            }
        }
        let decoded: Vec<(usize, &schemas::Event)> = events.iter().map(|(i, e)| (*i, e)).collect();

        let mut client = self
            .pool
            .get()
            .await
            .context("getting a Postgres connection")?;
        let tx = client
            .transaction()
            .await
            .context("beginning a transaction")?;
        fence(&tx, &first).await?;
        let unapplied = apply_batch(&tx, &decoded).await?;
        let applied = decoded.len() - unapplied.len();
        rejected.extend(unapplied);
        for unapplied in &rejected {
            let message = &batch[unapplied.index];
            tracing::error!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                cause = unapplied.cause.label(),
                reason = %unapplied.reason,
                dead_letter_topic = self.dead_letters.topic(),
                "dead-lettering a record the read models cannot take"
            );
            // Before the commit: a crash in between sends it again, never loses it.
            self.dead_letters.send(message, &unapplied.reason).await?;
        }
        let (mut topics, mut partitions, mut offsets) = (Vec::new(), Vec::new(), Vec::new());
        for (&(topic, partition), &offset) in &next {
            topics.push(topic);
            partitions.push(partition);
            offsets.push(offset);
        }
        tx.execute(
            "insert into projector_offsets (topic, partition, next_offset) \
             select * from unnest($1::text[], $2::int[], $3::bigint[]) \
             on conflict (topic, partition) do update set next_offset = excluded.next_offset",
            &[&topics, &partitions, &offsets],
        )
        .await
        .context("storing offsets")?;
        tx.execute(&format!("notify {NOTIFY_CHANNEL}"), &[])
            .await
            .context("notifying")?;
        tx.commit().await.context("committing the batch")?;

        let now = Utc::now();
        metrics::counter!("qsr_projector_events_applied_total").increment(applied as u64);
        for unapplied in &rejected {
            metrics::counter!(
                "qsr_projector_dead_lettered_total",
                "reason" => unapplied.cause.label()
            )
            .increment(1);
        }
        metrics::histogram!("qsr_projector_batch_events").record(batch.len() as f64);
        for (_, event) in &decoded {
            let age = (now - event.meta.time).to_std().unwrap_or_default();
            metrics::histogram!("qsr_projector_visible_after_seconds").record(age.as_secs_f64());
        }
        for ((topic, partition), offset) in next {
            self.lag.update(topic, partition, None, Some(offset));
        }
        Ok(())
    }
}

/// The advisory lock ("QSR_PROJ") that orders the batch transactions of
/// projectors sharing a database.
const BATCH_LOCK: i64 = 0x5153_525f_5052_4f4a;

/// Fails the batch if another projector on the same database (a second
/// instance, or a former one during a rolling deploy) has already applied
/// records at or past where the batch starts in any of its partitions: the
/// read models are not idempotent (sales add up), so each record may be
/// applied once. Holding the lock to the commit makes this check and the
/// offsets the batch stores one step; the loser re-reads from the stored
/// offsets.
async fn fence(
    tx: &tokio_postgres::Transaction<'_>,
    first: &HashMap<(&str, i32), i64>,
) -> anyhow::Result<()> {
    tx.execute("select pg_advisory_xact_lock($1)", &[&BATCH_LOCK])
        .await
        .context("taking the batch lock")?;
    let topics: Vec<&str> = first.keys().map(|&(topic, _)| topic).collect();
    let rows = tx
        .query(
            "select topic, partition, next_offset from projector_offsets where topic = any($1)",
            &[&topics],
        )
        .await
        .context("reading stored offsets")?;
    for row in rows {
        let (topic, partition, stored): (&str, i32, i64) = (row.get(0), row.get(1), row.get(2));
        if let Some(&start) = first.get(&(topic, partition))
            && stored > start
        {
            anyhow::bail!(
                "another projector has applied {topic}/{partition} up to offset {stored}; \
                 this batch starts at {start}"
            );
        }
    }
    Ok(())
}
