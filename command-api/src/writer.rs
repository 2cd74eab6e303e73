//! The single writer of each partition: a thread that owns the partition's
//! state and its transactional producer, takes queued commands in batches,
//! decides them in order, appends all their events in one Kafka transaction,
//! and answers every caller only after the commit (group commit).
//!
//! librdkafka's transaction calls block, so each writer is an OS thread, never
//! a tokio task.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use chrono_tz::Tz;
use domain::{Menu, OrderError, OrderPlaced, PlaceOrder, StoreError, StoreId, StoreProfile};
use platform::KafkaArgs;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use schemas::{Event, EventMeta};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::Config;
use crate::state::{Change, PartitionState};

/// How long a rebuild may take before the writer gives up and starts over.
const REBUILD_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a transaction call may block.
const TXN_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest pause between two attempts to take a partition over.
const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(5);
/// Commands that may wait for a partition's writer.
const QUEUE_DEPTH: usize = 4096;

/// A command, in domain terms, as the HTTP layer parsed it.
#[derive(Debug)]
pub enum Command {
    ConfigureStore {
        store_id: StoreId,
        profile: StoreProfile,
    },
    PublishMenu {
        store_id: StoreId,
        menu: Menu,
    },
    PlaceOrder(PlaceOrder),
}

/// Where a command came from, carried into its events.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    pub command_id: Uuid,
    pub correlation_id: String,
    pub idempotency_key: Option<String>,
}

/// A committed command's result.
#[derive(Debug)]
pub enum Outcome {
    Store {
        store_id: StoreId,
        version: u64,
        menu_version: u32,
    },
    OrderPlaced {
        placed: Box<OrderPlaced>,
        version: u64,
        timezone: Tz,
    },
}

/// Why a command was not committed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Order(#[from] OrderError),
    /// The partition's writer is starting over or its transaction failed;
    /// nothing of the command is in the log, and a retry may succeed.
    #[error("{0}")]
    Unavailable(&'static str),
}

struct Job {
    command: Command,
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
}

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
        for p in 0..config.kafka.partitions {
            let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
            let ready = Arc::new(AtomicBool::new(false));
            let writer = PartitionWriter {
                partition: p,
                kafka: config.kafka.clone(),
                transactional_id: format!("{}-p{p}", config.transactional_id_prefix),
                batch_max: config.batch_max as usize,
                ready: ready.clone(),
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
            },
            threads,
        ))
    }

    /// Whether every partition has been rebuilt and takes commands.
    pub fn all_ready(&self) -> bool {
        self.partitions
            .iter()
            .all(|p| p.ready.load(Ordering::Acquire))
    }

    /// Sends a command to the writer of the store's partition and waits for the
    /// commit.
    pub async fn submit(
        &self,
        store_id: &StoreId,
        command: Command,
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
            .send(Job {
                command,
                meta,
                reply,
            })
            .await
            .map_err(|_| CommandError::Unavailable("the partition writer stopped"))?;
        // A dropped reply means the batch's transaction did not commit.
        answer
            .await
            .map_err(|_| CommandError::Unavailable("the write was not committed; retry"))?
    }
}

struct PartitionWriter {
    partition: i32,
    kafka: KafkaArgs,
    transactional_id: String,
    batch_max: usize,
    ready: Arc<AtomicBool>,
}

impl PartitionWriter {
    fn run(self, mut jobs: mpsc::Receiver<Job>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            self.ready.store(false, Ordering::Release);
            if jobs.is_closed() {
                return;
            }
            let started = Instant::now();
            let (producer, mut state) = match self.take_over() {
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
                stores = state.stores.len(),
                orders = state.orders.len(),
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
                if let Err(error) = self.write_batch(&producer, &mut state, batch) {
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
    /// committed events into a fresh state.
    fn take_over(&self) -> anyhow::Result<(BaseProducer, PartitionState)> {
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
        let state = self.rebuild().context("rebuilding the partition")?;
        Ok((producer, state))
    }

    fn rebuild(&self) -> anyhow::Result<PartitionState> {
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
        let mut state = PartitionState::default();
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
                    match schemas::decode(payload)
                        .map_err(anyhow::Error::from)
                        .and_then(|event| {
                            Change::from_wire(&event.data).map_err(anyhow::Error::from)
                        }) {
                        Ok(change) => {
                            state.apply(&change);
                        }
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
        Ok(state)
    }

    fn write_batch(
        &self,
        producer: &BaseProducer,
        state: &mut PartitionState,
        batch: Vec<Job>,
    ) -> anyhow::Result<()> {
        let mut records = Vec::new();
        let mut answers = Vec::new();
        for job in batch {
            let changes = match decide(state, job.command) {
                Ok(changes) => changes,
                Err(error) => {
                    let _ = job.reply.send(Err(error));
                    continue;
                }
            };
            let mut outcome = None;
            for change in changes {
                let version = state.next_version(&change);
                records.push(self.record(&change, version, &job.meta)?);
                state.apply(&change);
                outcome = Some(outcome_of(state, change, version));
            }
            if let Some(outcome) = outcome {
                answers.push((job.reply, outcome));
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        producer.begin_transaction().context("begin_transaction")?;
        for (topic, key, payload, headers) in &records {
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
        for (reply, outcome) in answers {
            // A caller that went away still has its events committed.
            let _ = reply.send(Ok(outcome));
        }
        Ok(())
    }

    fn record(
        &self,
        change: &Change,
        version: u64,
        meta: &CommandMeta,
    ) -> anyhow::Result<(String, String, Vec<u8>, OwnedHeaders)> {
        let data = change.to_wire();
        let event_type = data.event_type();
        let event = Event {
            meta: EventMeta {
                id: Uuid::now_v7(),
                source: "/command-api".to_owned(),
                subject: change.subject(),
                time: Utc::now(),
                store_id: change.store_id().to_string(),
                version,
                correlation_id: meta.correlation_id.clone(),
                causation_id: meta.command_id.to_string(),
                idempotency_key: meta.idempotency_key.clone(),
            },
            data,
        };
        let payload = schemas::encode(&event)?;
        let topic = match change {
            Change::Store(..) => self.kafka.stores_topic.clone(),
            Change::Order(..) => self.kafka.orders_topic.clone(),
        };
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "content-type",
                value: Some(schemas::CONTENT_TYPE),
            })
            .insert(Header {
                key: schemas::TYPE_HEADER,
                value: Some(event_type),
            });
        Ok((topic, change.store_id().to_string(), payload, headers))
    }
}

fn abort(producer: &BaseProducer) {
    if let Err(error) = producer.abort_transaction(TXN_TIMEOUT) {
        tracing::error!(%error, "abort_transaction failed");
    }
}

/// Decides one command against the partition's current state.
fn decide(state: &PartitionState, command: Command) -> Result<Vec<Change>, CommandError> {
    Ok(match command {
        Command::ConfigureStore { store_id, profile } => domain::configure_store(profile)?
            .into_iter()
            .map(|e| Change::Store(store_id.clone(), e))
            .collect(),
        Command::PublishMenu { store_id, menu } => {
            domain::publish_menu(state.stores.get(&store_id), &store_id, menu)?
                .into_iter()
                .map(|e| Change::Store(store_id.clone(), e))
                .collect()
        }
        Command::PlaceOrder(cmd) => {
            let exists = state.orders.contains_key(&cmd.order_id);
            let placed = domain::place_order(state.stores.get(&cmd.store_id), exists, cmd)?;
            vec![Change::Order(placed)]
        }
    })
}

fn outcome_of(state: &PartitionState, change: Change, version: u64) -> Outcome {
    match change {
        Change::Store(store_id, _) => {
            let menu_version = state.stores.get(&store_id).map_or(0, |s| s.menu_version);
            Outcome::Store {
                store_id,
                version,
                menu_version,
            }
        }
        Change::Order(placed) => {
            let timezone = state
                .stores
                .get(&placed.store_id)
                .map_or(Tz::UTC, |s| s.profile.timezone);
            Outcome::OrderPlaced {
                placed: Box::new(placed),
                version,
                timezone,
            }
        }
    }
}
