//! One partition's writer thread: waits to be assigned, takes the partition
//! over (fencing the former owner, rebuilding state), decides and commits
//! batches, and lets go when revoked.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use domain::{Change, OrderEvent, Store, StoreId};
use platform::{KafkaArgs, KafkaContext};
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use schemas::Provenance;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::answers::{current_version, outcome_of, quote};
use super::{CommandError, CommandMeta, Job, Signal, Work, WriterLookups};

/// How long a rebuild may take before the writer gives up and starts over.
const REBUILD_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest pause between two attempts to take a partition over.
const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(5);

/// The stores of one partition, with their orders.
type Stores = HashMap<StoreId, Store>;

/// A record ready to send: topic, key, payload, headers.
type Record = (String, String, Vec<u8>, OwnedHeaders);

pub(super) struct PartitionWriter {
    pub partition: i32,
    pub kafka: KafkaArgs,
    pub transactional_id: String,
    pub batch_max: usize,
    /// How long a transaction may stay open, and a transaction call block.
    pub transaction_timeout: Duration,
    /// How long an ended order stays in memory.
    pub retention: Duration,
    pub owned: Arc<AtomicBool>,
    pub ready: Arc<AtomicBool>,
    pub lookups: Arc<WriterLookups>,
}

/// Why a writer stopped working its partition.
enum LetGo {
    /// The group gave the partition to another instance (or it left the group).
    Revoked,
    /// A transaction failed: the state may hold what did not commit.
    Failed,
    /// Every sender is gone: the instance is shutting down.
    Shutdown,
}

fn refuse(job: Box<Job>) {
    let _ = job.reply.send(Err(CommandError::Unavailable(
        "the store's partition is not assigned to this instance at the moment; retry shortly",
    )));
}

/// Answers `503` a job that waited in the queue past its deadline, without
/// deciding it; the job if it is still in time.
fn in_time(job: Job) -> Option<Job> {
    if std::time::Instant::now() < job.deadline {
        return Some(job);
    }
    metrics::counter!("qsr_writer_queue_expired_total").increment(1);
    let _ = job.reply.send(Err(CommandError::Unavailable(
        "the command waited too long for the store's partition and was not decided; retry",
    )));
    None
}

impl PartitionWriter {
    pub fn run(self, mut signals: mpsc::Receiver<Signal>) {
        loop {
            // Not ours: wait for the group to assign it.
            loop {
                match signals.blocking_recv() {
                    None => return,
                    Some(Signal::Assign) => break,
                    Some(Signal::Revoke(ack)) => {
                        let _ = ack.send(());
                    }
                    Some(Signal::Job(job)) => refuse(job),
                }
            }
            self.owned.store(true, Ordering::Release);
            tracing::info!(partition = self.partition, "partition assigned");
            let mut backoff = Duration::from_millis(100);
            loop {
                match self.own(&mut signals) {
                    Ok(LetGo::Shutdown) => return,
                    Ok(LetGo::Revoked) => break,
                    Ok(LetGo::Failed) => {}
                    Err(error) => {
                        tracing::error!(
                            partition = self.partition,
                            error = format!("{error:#}"),
                            retry_in_ms = backoff.as_millis() as u64,
                            "cannot take the partition over"
                        );
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(MAX_RESTART_BACKOFF);
                    }
                }
                // Commands that queued while the partition failed would wait for
                // a rebuild of unknown length: answer them now, so they retry.
                if self.refuse_queued(&mut signals) {
                    self.owned.store(false, Ordering::Release);
                    break;
                }
            }
        }
    }

    /// Answers every queued command `503`; true if a revocation was queued
    /// (and acknowledged) among them.
    fn refuse_queued(&self, signals: &mut mpsc::Receiver<Signal>) -> bool {
        let mut revoked = false;
        while let Ok(signal) = signals.try_recv() {
            match signal {
                Signal::Job(job) => {
                    let _ = job.reply.send(Err(CommandError::Unavailable(
                        "this instance is taking the store's partition over again after a \
                         failure (rebuilding it from the log); retry shortly",
                    )));
                }
                Signal::Revoke(ack) => {
                    revoked = true;
                    let _ = ack.send(());
                }
                Signal::Assign => revoked = false,
            }
        }
        revoked
    }

    /// Takes the partition over and works it until it is revoked, a
    /// transaction fails, or the instance shuts down.
    fn own(&self, signals: &mut mpsc::Receiver<Signal>) -> anyhow::Result<LetGo> {
        self.ready.store(false, Ordering::Release);
        let started = Instant::now();
        let (producer, mut stores) = self.take_over()?;
        let rebuild = started.elapsed();
        metrics::histogram!("qsr_partition_rebuild_seconds").record(rebuild.as_secs_f64());
        tracing::info!(
            partition = self.partition,
            stores = stores.len(),
            orders = stores.values().map(|s| s.orders.len()).sum::<usize>(),
            rebuild_ms = rebuild.as_millis() as u64,
            "partition rebuilt; taking commands"
        );
        self.ready.store(true, Ordering::Release);
        let prune_every =
            (self.retention / 4).clamp(Duration::from_millis(100), Duration::from_secs(10));
        let mut pruned = Instant::now();
        loop {
            let Some(first) = signals.blocking_recv() else {
                self.let_go("writer stopped");
                return Ok(LetGo::Shutdown);
            };
            let mut control = None;
            let mut batch = Vec::new();
            match first {
                Signal::Job(job) => batch.push(*job),
                other => control = Some(other),
            }
            if pruned.elapsed() >= prune_every {
                self.forget_ended(&mut stores);
                pruned = Instant::now();
            }
            while control.is_none() && batch.len() < self.batch_max {
                match signals.try_recv() {
                    Ok(Signal::Job(job)) => batch.push(*job),
                    Ok(other) => control = Some(other),
                    Err(_) => break,
                }
            }
            if !batch.is_empty()
                && let Err(error) = self.write_batch(&producer, &mut stores, batch)
            {
                // The callers of the batch got no answer, so they see `503`.
                tracing::error!(
                    partition = self.partition,
                    error = format!("{error:#}"),
                    "transaction failed; rebuilding the partition"
                );
                self.ready.store(false, Ordering::Release);
                return Ok(LetGo::Failed);
            }
            match control {
                Some(Signal::Revoke(ack)) => {
                    self.let_go("partition revoked");
                    self.owned.store(false, Ordering::Release);
                    let _ = ack.send(());
                    return Ok(LetGo::Revoked);
                }
                // Assigned again without a revocation between: nothing changes.
                Some(Signal::Assign | Signal::Job(_)) | None => {}
            }
        }
    }

    fn let_go(&self, why: &str) {
        self.ready.store(false, Ordering::Release);
        tracing::info!(partition = self.partition, why, "letting the partition go");
    }

    /// Serves the delivery reports of the transaction's records as they come.
    /// rdkafka's own flush, which `commit_transaction` calls first, polls in
    /// slices of 100 ms and waits each one out even when the reports come
    /// sooner; and its `poll` spins through the last millisecond of a timeout.
    /// So: take what is there, then sleep a moment, until nothing is in flight.
    fn await_deliveries(&self, producer: &BaseProducer<KafkaContext>) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.transaction_timeout;
        loop {
            producer.poll(Duration::ZERO);
            if producer.in_flight_count() == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.abort(producer);
                bail!(
                    "the transaction's records were not delivered within {:?}",
                    self.transaction_timeout
                );
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    fn abort(&self, producer: &BaseProducer<KafkaContext>) {
        if let Err(error) = producer.abort_transaction(self.transaction_timeout) {
            tracing::error!(%error, "abort_transaction failed");
        }
    }

    /// Drops the orders that ended longer ago than the retention window.
    fn forget_ended(&self, stores: &mut Stores) {
        let Some(cutoff) = chrono::Duration::from_std(self.retention)
            .ok()
            .map(|r| Utc::now() - r)
        else {
            return;
        };
        let forgotten: usize = stores
            .values_mut()
            .map(|s| s.forget_ended_before(cutoff).len())
            .sum();
        if forgotten > 0 {
            tracing::debug!(
                partition = self.partition,
                forgotten,
                "ended orders left memory"
            );
        }
    }

    /// Publishes where a new order lives and which key placed it.
    fn note(&self, event: &domain::Event) {
        let Change::Order {
            order_id,
            event: OrderEvent::Placed(_),
        } = &event.change
        else {
            return;
        };
        self.lookups
            .orders
            .insert(*order_id, event.store_id.clone());
        if let Some(idempotency) = &event.idempotency {
            self.lookups
                .placements
                .insert(idempotency.key.clone(), *order_id);
        }
    }

    /// Publishes a store's catalog (after its store events are committed).
    fn publish_catalog(&self, store: &Store) {
        if let Ok(mut catalogs) = self.lookups.catalogs.write() {
            catalogs.insert(store.id.clone(), Arc::new(store.catalog()));
        }
    }

    /// Folds an event into its store, and notes where a new order lives.
    fn apply(&self, stores: &mut Stores, event: &domain::Event) {
        self.note(event);
        stores
            .entry(event.store_id.clone())
            .or_insert_with(|| Store::new(event.store_id.clone()))
            .apply(event);
    }

    /// Fences any former writer of the partition, then folds the partition's
    /// committed events into fresh state.
    fn take_over(&self) -> anyhow::Result<(BaseProducer<KafkaContext>, Stores)> {
        let producer: BaseProducer<KafkaContext> = self
            .kafka
            .client_config()
            .set("transactional.id", &self.transactional_id)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "1")
            // Back-to-back transactions meet CONCURRENT_TRANSACTIONS while the
            // last one's markers are written; the default 100 ms retry backoff
            // would then cap a partition at ten commits a second.
            .set("retry.backoff.ms", "2")
            .set(
                "transaction.timeout.ms",
                self.transaction_timeout.as_millis().to_string(),
            )
            .create_with_context(KafkaContext)
            .context("creating the transactional producer")?;
        producer
            .init_transactions(self.transaction_timeout)
            .with_context(|| format!("init_transactions as {}", self.transactional_id))?;
        let stores = self.rebuild().context("rebuilding the partition")?;
        Ok((producer, stores))
    }

    fn rebuild(&self) -> anyhow::Result<Stores> {
        let consumer: BaseConsumer<KafkaContext> = self
            .kafka
            .client_config()
            .set("group.id", format!("{}-rebuild", self.transactional_id))
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "true")
            .create_with_context(KafkaContext)
            .context("creating the rebuild consumer")?;
        let mut assignment = TopicPartitionList::new();
        for topic in [&self.kafka.stores_topic, &self.kafka.orders_topic] {
            assignment.add_partition_offset(topic, self.partition, Offset::Beginning)?;
        }
        consumer
            .assign(&assignment)
            .context("assigning the partition")?;
        let mut stores = Stores::new();
        let mut at_end = 0;
        let deadline = Instant::now() + REBUILD_TIMEOUT;
        while at_end < 2 {
            if Instant::now() > deadline {
                bail!("the partition was not read to its end within {REBUILD_TIMEOUT:?}");
            }
            match consumer.poll(Duration::from_millis(500)) {
                None => {}
                Some(Err(KafkaError::PartitionEOF(_))) => at_end += 1,
                Some(Err(error)) => return Err(error).context("reading the partition"),
                Some(Ok(message)) => {
                    let Some(payload) = message.payload() else {
                        continue;
                    };
                    let event = schemas::decode(payload)
                        .map_err(anyhow::Error::from)
                        .and_then(|e| e.to_domain().map_err(anyhow::Error::from));
                    match event {
                        Ok(event) => self.apply(&mut stores, &event),
                        Err(error) => tracing::warn!(
                            topic = message.topic(),
                            partition = message.partition(),
                            offset = message.offset(),
                            error = format!("{error:#}"),
                            "skipping a record that is not an event of ours"
                        ),
                    }
                }
            }
        }
        for store in stores.values() {
            self.publish_catalog(store);
        }
        Ok(stores)
    }

    fn write_batch(
        &self,
        producer: &BaseProducer<KafkaContext>,
        stores: &mut Stores,
        batch: Vec<Job>,
    ) -> anyhow::Result<()> {
        let mut records = Vec::new();
        let mut answers = Vec::new();
        // Stores whose catalog changed: published once the batch commits.
        let mut changed = Vec::new();
        for job in batch {
            let Some(job) = in_time(job) else {
                continue;
            };
            let (command, expected_version) = match job.work {
                Work::Decide {
                    command,
                    expected_version,
                } => (command, expected_version),
                Work::Quote {
                    store_id,
                    cart,
                    now,
                    idempotency,
                } => {
                    let answer = quote(
                        stores.get(&store_id),
                        &store_id,
                        &cart,
                        now,
                        idempotency.as_ref(),
                    );
                    let _ = job.reply.send(answer);
                    continue;
                }
            };
            let store_id = command.store_id.clone();
            let store = stores
                .entry(store_id.clone())
                .or_insert_with(|| Store::new(store_id.clone()));
            if let Some(expected) = expected_version {
                let current = current_version(store, &command.action);
                if current != expected {
                    let _ = job
                        .reply
                        .send(Err(CommandError::VersionConflict { current }));
                    continue;
                }
            }
            if let Some(order_id) = command.action.order_id()
                && !matches!(command.action, domain::Action::PlaceOrder { .. })
                && !store.orders.contains_key(&order_id)
                && self.lookups.orders.contains_key(&order_id)
            {
                let _ = job.reply.send(Err(CommandError::Gone));
                continue;
            }
            let events = match store.decide(&command) {
                Ok(events) => events,
                Err(error) => {
                    let _ = job.reply.send(Err(error.into()));
                    continue;
                }
            };
            for event in &events {
                self.note(event);
                store.apply(event);
                if matches!(event.change, Change::Store(_)) && !changed.contains(&store_id) {
                    changed.push(store_id.clone());
                }
                records.push(self.record(store, event, &job.meta)?);
            }
            answers.push((job.reply, outcome_of(store, &command, events)));
        }
        metrics::histogram!("qsr_batch_commands").record(answers.len() as f64);
        if !records.is_empty() {
            self.commit(producer, &records)?;
        }
        for store in changed.iter().filter_map(|id| stores.get(id)) {
            self.publish_catalog(store);
        }
        for (reply, outcome) in answers {
            // A caller that went away still has its events committed.
            let _ = reply.send(outcome);
        }
        Ok(())
    }

    fn commit(
        &self,
        producer: &BaseProducer<KafkaContext>,
        records: &[Record],
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        producer.begin_transaction().context("begin_transaction")?;
        for (topic, key, payload, headers) in records {
            let mut record = BaseRecord::to(topic)
                .key(key)
                .payload(payload)
                .partition(self.partition)
                .headers(headers.clone());
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        producer.poll(Duration::from_millis(10));
                        record = back;
                    }
                    Err((error, _)) => {
                        self.abort(producer);
                        return Err(error).context("queueing a record");
                    }
                }
            }
        }
        self.await_deliveries(producer)?;
        if let Err(error) = producer.commit_transaction(self.transaction_timeout) {
            self.abort(producer);
            return Err(error).context("commit_transaction");
        }
        metrics::histogram!("qsr_transaction_commit_seconds")
            .record(started.elapsed().as_secs_f64());
        Ok(())
    }

    /// The record of `event`, whose store has already folded it in.
    fn record(
        &self,
        store: &Store,
        event: &domain::Event,
        meta: &CommandMeta,
    ) -> anyhow::Result<Record> {
        let (topic, version) = match &event.change {
            Change::Store(_) => (&self.kafka.stores_topic, store.version),
            Change::Order { order_id, .. } => (
                &self.kafka.orders_topic,
                store.orders.get(order_id).map_or(0, |o| o.version),
            ),
        };
        let provenance = Provenance {
            id: Uuid::now_v7(),
            source: "/command-api".to_owned(),
            time: Utc::now(),
            correlation_id: meta.correlation_id.clone(),
            causation_id: meta.command_id.to_string(),
        };
        let wire = schemas::to_wire(event, version, provenance);
        let payload = schemas::encode(&wire)?;
        let headers = schemas::record_headers(wire.data.event_type())
            .into_iter()
            .fold(OwnedHeaders::new(), |headers, (key, value)| {
                headers.insert(Header {
                    key,
                    value: Some(value),
                })
            });
        Ok((topic.clone(), event.store_id.to_string(), payload, headers))
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::*;

    #[test]
    fn a_job_past_its_deadline_is_answered_503_without_being_decided() {
        let (reply, mut answer) = oneshot::channel();
        let late = Job {
            work: super::super::tests::quote(),
            meta: CommandMeta {
                command_id: Uuid::now_v7(),
                correlation_id: "test".into(),
            },
            reply,
            deadline: Instant::now(),
        };
        assert!(in_time(late).is_none());
        assert!(matches!(
            answer.try_recv(),
            Ok(Err(CommandError::Unavailable(detail))) if detail.contains("not decided")
        ));
        let (reply, _answer) = oneshot::channel();
        let timely = Job {
            work: super::super::tests::quote(),
            meta: CommandMeta {
                command_id: Uuid::now_v7(),
                correlation_id: "test".into(),
            },
            reply,
            deadline: Instant::now() + Duration::from_secs(5),
        };
        assert!(in_time(timely).is_some());
    }
}
