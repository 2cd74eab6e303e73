//! The single writer of each partition: a thread that owns the partition's
//! state and its transactional producer, takes queued commands in batches,
//! decides them in order, appends all their events in one Kafka transaction,
//! and answers every caller only after the commit (group commit).
//!
//! librdkafka's transaction calls block, so each writer is an OS thread, never
//! a tokio task.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::{
    Action, Cart, Change, Command, DomainError, Idempotency, Order, OrderEvent, OrderId, Quote,
    Store, StoreId,
};
use platform::KafkaArgs;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use schemas::Provenance;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::Config;

/// How long a rebuild may take before the writer gives up and starts over.
const REBUILD_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a transaction call may block.
const TXN_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest pause between two attempts to take a partition over.
const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(5);
/// Commands that may wait for a partition's writer.
const QUEUE_DEPTH: usize = 4096;

/// Where a command came from, carried into its events.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    pub command_id: Uuid,
    pub correlation_id: String,
}

/// What a partition writer is asked to do.
#[derive(Debug)]
pub enum Work {
    /// Decide and, if events result, commit them. With `expected_version`
    /// (`If-Match`), only if the aggregate is still at that version.
    Decide {
        command: Command,
        expected_version: Option<u64>,
    },
    /// Price a cart against the store's current state; nothing is written. A
    /// request already decided under this idempotency key gets its order back.
    Quote {
        store_id: StoreId,
        cart: Cart,
        now: DateTime<Utc>,
        idempotency: Option<Idempotency>,
    },
}

/// A command's result, read from the state after its events.
#[derive(Debug)]
pub enum Outcome {
    Store {
        version: u64,
        menu_version: u32,
    },
    Order {
        order: Box<Order>,
        timezone: Tz,
        /// The events this command committed: none for a retry.
        committed: Vec<domain::Event>,
    },
    Quote {
        quote: Box<Quote>,
        timezone: Tz,
    },
}

/// Why a command was not committed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// `If-Match` named another version than the aggregate's.
    #[error("the version is {current}, not the one in If-Match")]
    VersionConflict { current: u64 },
    /// The partition's writer is starting over or its transaction failed;
    /// nothing of the command is in the log, and a retry may succeed.
    #[error("{0}")]
    Unavailable(&'static str),
}

struct Job {
    work: Work,
    meta: CommandMeta,
    reply: oneshot::Sender<Result<Outcome, CommandError>>,
}

struct Partition {
    queue: mpsc::Sender<Job>,
    ready: Arc<AtomicBool>,
}

/// The writers of every partition of this instance.
#[derive(Clone)]
pub struct Writers {
    partitions: Arc<Vec<Partition>>,
    directory: Directory,
}

/// Which store each order belongs to, for commands that name only an order.
/// Orders never move, so an entry never changes once written.
pub type Directory = Arc<RwLock<HashMap<OrderId, StoreId>>>;

impl std::fmt::Debug for Writers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writers")
            .field("partitions", &self.partitions.len())
            .finish()
    }
}

impl Writers {
    /// Starts one writer thread per partition. Each thread ends when every
    /// `Writers` clone is dropped, after finishing the batch in hand.
    pub fn start(config: &Config) -> anyhow::Result<(Writers, Vec<JoinHandle<()>>)> {
        let mut partitions = Vec::new();
        let mut threads = Vec::new();
        let directory = Directory::default();
        for p in 0..config.kafka.partitions {
            let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
            let ready = Arc::new(AtomicBool::new(false));
            let writer = PartitionWriter {
                partition: p,
                kafka: config.kafka.clone(),
                transactional_id: format!("{}-p{p}", config.transactional_id_prefix),
                batch_max: config.batch_max as usize,
                ready: ready.clone(),
                directory: directory.clone(),
            };
            let thread = std::thread::Builder::new()
                .name(format!("writer-p{p}"))
                .spawn(move || writer.run(jobs))
                .context("starting a partition writer thread")?;
            partitions.push(Partition { queue, ready });
            threads.push(thread);
        }
        Ok((
            Writers {
                partitions: Arc::new(partitions),
                directory,
            },
            threads,
        ))
    }

    /// The store of an order this instance knows.
    pub fn store_of(&self, order_id: OrderId) -> Option<StoreId> {
        self.directory.read().ok()?.get(&order_id).cloned()
    }

    /// Whether every partition has been rebuilt and takes commands.
    pub fn all_ready(&self) -> bool {
        self.partitions
            .iter()
            .all(|p| p.ready.load(Ordering::Acquire))
    }

    /// Sends work to the writer of the store's partition and waits for its
    /// answer: for a decision, after the commit.
    pub async fn submit(
        &self,
        store_id: &StoreId,
        work: Work,
        meta: CommandMeta,
    ) -> Result<Outcome, CommandError> {
        let count = i32::try_from(self.partitions.len()).unwrap_or(i32::MAX);
        let p = schemas::partition_for(store_id.as_str(), count);
        let partition = usize::try_from(p).ok().and_then(|p| self.partitions.get(p));
        let Some(partition) = partition else {
            return Err(CommandError::Unavailable("no writer for this partition"));
        };
        if !partition.ready.load(Ordering::Acquire) {
            return Err(CommandError::Unavailable(
                "the store's partition is being rebuilt",
            ));
        }
        let (reply, answer) = oneshot::channel();
        partition
            .queue
            .send(Job { work, meta, reply })
            .await
            .map_err(|_| CommandError::Unavailable("the partition writer stopped"))?;
        // A dropped reply means the batch's transaction did not commit.
        answer
            .await
            .map_err(|_| CommandError::Unavailable("the write was not committed; retry"))?
    }
}

/// The stores of one partition, with their orders.
type Stores = HashMap<StoreId, Store>;

struct PartitionWriter {
    partition: i32,
    kafka: KafkaArgs,
    transactional_id: String,
    batch_max: usize,
    ready: Arc<AtomicBool>,
    directory: Directory,
}

impl PartitionWriter {
    /// Folds an event into its store, and notes where a new order lives.
    fn apply(&self, stores: &mut Stores, event: &domain::Event) {
        if let Change::Order {
            order_id,
            event: OrderEvent::Placed(_),
        } = &event.change
            && let Ok(mut directory) = self.directory.write()
        {
            directory.insert(*order_id, event.store_id.clone());
        }
        stores
            .entry(event.store_id.clone())
            .or_insert_with(|| Store::new(event.store_id.clone()))
            .apply(event);
    }

    fn run(self, mut jobs: mpsc::Receiver<Job>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            self.ready.store(false, Ordering::Release);
            if jobs.is_closed() {
                return;
            }
            let started = Instant::now();
            let (producer, mut stores) = match self.take_over() {
                Ok(taken) => taken,
                Err(error) => {
                    tracing::error!(
                        partition = self.partition,
                        error = format!("{error:#}"),
                        retry_in_ms = backoff.as_millis() as u64,
                        "cannot take the partition over"
                    );
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_RESTART_BACKOFF);
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            tracing::info!(
                partition = self.partition,
                stores = stores.len(),
                orders = stores.values().map(|s| s.orders.len()).sum::<usize>(),
                rebuild_ms = started.elapsed().as_millis() as u64,
                "partition rebuilt; taking commands"
            );
            self.ready.store(true, Ordering::Release);
            loop {
                let Some(first) = jobs.blocking_recv() else {
                    tracing::info!(partition = self.partition, "writer stopped");
                    return;
                };
                let mut batch = vec![first];
                while batch.len() < self.batch_max {
                    match jobs.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                if let Err(error) = self.write_batch(&producer, &mut stores, batch) {
                    // The callers of the batch got no answer, so they see
                    // `503`. The state may hold what did not commit: start over.
                    tracing::error!(
                        partition = self.partition,
                        error = format!("{error:#}"),
                        "transaction failed; rebuilding the partition"
                    );
                    break;
                }
            }
        }
    }

    /// Fences any former writer of the partition, then folds the partition's
    /// committed events into fresh state.
    fn take_over(&self) -> anyhow::Result<(BaseProducer, Stores)> {
        let producer: BaseProducer = self
            .kafka
            .client_config()
            .set("transactional.id", &self.transactional_id)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "1")
            .set("transaction.timeout.ms", "15000")
            .create()
            .context("creating the transactional producer")?;
        producer
            .init_transactions(TXN_TIMEOUT)
            .with_context(|| format!("init_transactions as {}", self.transactional_id))?;
        let stores = self.rebuild().context("rebuilding the partition")?;
        Ok((producer, stores))
    }

    fn rebuild(&self) -> anyhow::Result<Stores> {
        let consumer: BaseConsumer = self
            .kafka
            .client_config()
            .set("group.id", format!("{}-rebuild", self.transactional_id))
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "true")
            .create()
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
        Ok(stores)
    }

    fn write_batch(
        &self,
        producer: &BaseProducer,
        stores: &mut Stores,
        batch: Vec<Job>,
    ) -> anyhow::Result<()> {
        let mut records = Vec::new();
        let mut answers = Vec::new();
        for job in batch {
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
            let events = match store.decide(&command) {
                Ok(events) => events,
                Err(error) => {
                    let _ = job.reply.send(Err(error.into()));
                    continue;
                }
            };
            for event in &events {
                self.apply(stores, event);
                let store = stores
                    .get(&store_id)
                    .ok_or_else(|| anyhow::anyhow!("store vanished"))?;
                records.push(self.record(store, event, &job.meta)?);
            }
            let store = stores
                .get(&store_id)
                .ok_or_else(|| anyhow::anyhow!("store vanished"))?;
            answers.push((job.reply, outcome_of(store, &command, events)));
        }
        if !records.is_empty() {
            self.commit(producer, &records)?;
        }
        for (reply, outcome) in answers {
            // A caller that went away still has its events committed.
            let _ = reply.send(outcome);
        }
        Ok(())
    }

    fn commit(
        &self,
        producer: &BaseProducer,
        records: &[(String, String, Vec<u8>, OwnedHeaders)],
    ) -> anyhow::Result<()> {
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
                        abort(producer);
                        return Err(error).context("queueing a record");
                    }
                }
            }
        }
        if let Err(error) = producer.commit_transaction(TXN_TIMEOUT) {
            abort(producer);
            return Err(error).context("commit_transaction");
        }
        Ok(())
    }

    /// The record of `event`, whose store has already folded it in.
    fn record(
        &self,
        store: &Store,
        event: &domain::Event,
        meta: &CommandMeta,
    ) -> anyhow::Result<(String, String, Vec<u8>, OwnedHeaders)> {
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
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "content-type",
                value: Some(schemas::CONTENT_TYPE),
            })
            .insert(Header {
                key: schemas::TYPE_HEADER,
                value: Some(wire.data.event_type()),
            });
        Ok((topic.clone(), event.store_id.to_string(), payload, headers))
    }
}

fn abort(producer: &BaseProducer) {
    if let Err(error) = producer.abort_transaction(TXN_TIMEOUT) {
        tracing::error!(%error, "abort_transaction failed");
    }
}

fn timezone(store: &Store) -> Tz {
    store.profile.as_ref().map_or(Tz::UTC, |p| p.timezone)
}

/// The order a request placed, if this key already placed one.
fn replayed_order(store: &Store, idempotency: Option<&Idempotency>) -> Option<Outcome> {
    let idempotency = idempotency?;
    let seen = store
        .seen(&idempotency.key)
        .filter(|s| s.fingerprint == idempotency.fingerprint)?;
    let order = store.orders.get(&seen.order_id?)?;
    Some(Outcome::Order {
        order: Box::new(order.clone()),
        timezone: timezone(store),
        committed: Vec::new(),
    })
}

fn quote(
    store: Option<&Store>,
    store_id: &StoreId,
    cart: &Cart,
    now: DateTime<Utc>,
    idempotency: Option<&Idempotency>,
) -> Result<Outcome, CommandError> {
    let fresh = Store::new(store_id.clone());
    let store = store.unwrap_or(&fresh);
    if let Some(replay) = replayed_order(store, idempotency) {
        return Ok(replay);
    }
    let quote = store.quote(cart, now).map_err(DomainError::from)?;
    Ok(Outcome::Quote {
        quote: Box::new(quote),
        timezone: timezone(store),
    })
}

/// The answer to a decided command, read from the state after it: the same
/// for the first request and for its retries.
fn outcome_of(
    store: &Store,
    command: &Command,
    committed: Vec<domain::Event>,
) -> Result<Outcome, CommandError> {
    match &command.action {
        Action::ConfigureStore(_)
        | Action::PublishMenu(_)
        | Action::SetAvailability { .. }
        | Action::SetStatus { .. } => Ok(Outcome::Store {
            version: store.version,
            menu_version: store.menu_version,
        }),
        other => {
            let order_id = command
                .idempotency
                .as_ref()
                .and_then(|i| store.seen(&i.key))
                .and_then(|s| s.order_id)
                .or(other.order_id());
            let order = order_id.and_then(|id| store.orders.get(&id));
            let order = order.ok_or(CommandError::Unavailable("the order is not in memory"))?;
            Ok(Outcome::Order {
                order: Box::new(order.clone()),
                timezone: timezone(store),
                committed,
            })
        }
    }
}

/// The version `If-Match` is compared with: the order's for an order command,
/// the store's for a store command.
fn current_version(store: &Store, action: &Action) -> u64 {
    match action.order_id() {
        Some(order_id) => store.orders.get(&order_id).map_or(0, |o| o.version),
        None => store.version,
    }
}
