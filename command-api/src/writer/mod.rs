//! The single writer of each partition: a thread that owns the partition's
//! state and its transactional producer while this instance owns the
//! partition, takes queued commands in batches, decides them in order, appends
//! all their events in one Kafka transaction, and answers every caller only
//! after the commit (group commit).
//!
//! librdkafka's transaction calls block, so each writer is an OS thread, never
//! a tokio task. Ownership comes from the consumer group (see `membership`):
//! `Signal::Assign` and `Signal::Revoke` reach a writer through the same queue
//! as its commands, so they take effect between two batches.

mod answers;
mod partition;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use std::thread::JoinHandle;

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::{Cart, Command, DomainError, Idempotency, Order, OrderId, Quote, StoreId};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::Config;
use partition::PartitionWriter;

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
    /// The order ended longer ago than the retention window and left memory.
    #[error("the order ended and is no longer open to commands")]
    Gone,
    /// `If-Match` named another version than the aggregate's.
    #[error("the version is {current}, not the one in If-Match")]
    VersionConflict { current: u64 },
    /// The partition's writer is starting over or its transaction failed;
    /// nothing of the command is in the log, and a retry may succeed.
    #[error("{0}")]
    Unavailable(&'static str),
}

#[derive(Debug)]
pub struct Job {
    work: Work,
    meta: CommandMeta,
    reply: oneshot::Sender<Result<Outcome, CommandError>>,
    /// A job the writer reaches after this is answered `503` undecided:
    /// its caller has waited long enough.
    deadline: std::time::Instant,
}

/// What reaches a partition writer, in order.
#[derive(Debug)]
pub enum Signal {
    Job(Box<Job>),
    /// This instance now owns the partition: take it over.
    Assign,
    /// This instance no longer owns the partition: stop after the batch in
    /// hand and drop its state, then acknowledge.
    Revoke(std::sync::mpsc::SyncSender<()>),
}

/// What the rest of the instance sees of one partition's writer.
struct Partition {
    queue: mpsc::Sender<Signal>,
    /// Assigned to this instance by the consumer group.
    owned: Arc<AtomicBool>,
    /// Owned, rebuilt, and taking commands.
    ready: Arc<AtomicBool>,
}

/// The writers of every partition; each works only while this instance owns
/// its partition.
#[derive(Clone)]
pub struct Writers {
    partitions: Arc<Vec<Partition>>,
    lookups: Arc<WriterLookups>,
    /// How long a job may wait in a writer's queue.
    queue_wait: std::time::Duration,
    /// True while the group is (re)assigning partitions: from the start until
    /// the first assignment, and from a revocation to the next assignment
    /// (e.g. after a broker restart). Set by `membership`.
    assigning: Arc<AtomicBool>,
}

/// What the writers publish for the HTTP tasks to look up, so that common
/// reads need no trip through a writer's queue. Advisory only: every decision
/// is taken by the writer against its own state.
#[derive(Debug, Default)]
pub struct WriterLookups {
    /// Which store each order belongs to, for commands that name only an
    /// order. Orders never move, so an entry never changes once written.
    pub orders: DashMap<OrderId, StoreId>,
    /// Each store without its orders, as of its last committed store event:
    /// what a cart costs there.
    pub catalogs: RwLock<HashMap<StoreId, Arc<domain::Store>>>,
    /// The order each placement's `Idempotency-Key` created.
    pub placements: DashMap<String, OrderId>,
}

impl std::fmt::Debug for Writers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writers")
            .field("partitions", &self.partitions.len())
            .finish()
    }
}

impl Writers {
    /// Starts one writer thread per partition, each idle until assigned. A
    /// thread ends when every `Writers` clone is dropped, after finishing the
    /// batch in hand.
    pub fn start(config: &Config) -> anyhow::Result<(Writers, Vec<JoinHandle<()>>)> {
        let mut partitions = Vec::new();
        let mut threads = Vec::new();
        let lookups = Arc::<WriterLookups>::default();
        for p in 0..config.kafka.partitions {
            let (queue, signals) = mpsc::channel(config.limits.writer_queue_depth as usize);
            let (owned, ready) = (
                Arc::new(AtomicBool::new(false)),
                Arc::new(AtomicBool::new(false)),
            );
            let writer = PartitionWriter {
                partition: p,
                kafka: config.kafka.clone(),
                transactional_id: format!("{}-p{p}", config.transactional_id_prefix),
                batch_max: config.batch_max as usize,
                transaction_timeout: std::time::Duration::from_millis(
                    config.transaction_timeout_ms,
                ),
                retention: std::time::Duration::from_secs(config.ended_order_retention_secs),
                owned: owned.clone(),
                ready: ready.clone(),
                lookups: lookups.clone(),
            };
            let thread = std::thread::Builder::new()
                .name(format!("writer-p{p}"))
                .spawn(move || writer.run(signals))
                .context("starting a partition writer thread")?;
            partitions.push(Partition {
                queue,
                owned,
                ready,
            });
            threads.push(thread);
        }
        Ok((
            Writers {
                partitions: Arc::new(partitions),
                lookups,
                queue_wait: config.limits.writer_queue_wait(),
                assigning: Arc::new(AtomicBool::new(true)),
            },
            threads,
        ))
    }

    /// The flag `membership` raises while partitions are being (re)assigned.
    pub fn assigning(&self) -> Arc<AtomicBool> {
        self.assigning.clone()
    }

    /// The queues of the writers, by partition, for ownership signals.
    pub fn queues(&self) -> Vec<mpsc::Sender<Signal>> {
        self.partitions.iter().map(|p| p.queue.clone()).collect()
    }

    /// The store of an order this instance knows.
    pub fn store_of(&self, order_id: OrderId) -> Option<StoreId> {
        self.lookups
            .orders
            .get(&order_id)
            .map(|entry| entry.value().clone())
    }

    /// The store as of its last committed store event, without its orders.
    pub fn catalog(&self, store_id: &StoreId) -> Option<Arc<domain::Store>> {
        self.lookups.catalogs.read().ok()?.get(store_id).cloned()
    }

    /// Whether an order was placed under this `Idempotency-Key`.
    pub fn placed_with(&self, key: &str) -> bool {
        self.lookups.placements.contains_key(key)
    }

    /// Whether this instance owns partitions and has rebuilt every one it owns.
    pub fn all_ready(&self) -> bool {
        let owned = self
            .partitions
            .iter()
            .filter(|p| p.owned.load(Ordering::Acquire));
        let mut any = false;
        for partition in owned {
            any = true;
            if !partition.ready.load(Ordering::Acquire) {
                return false;
            }
        }
        any
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
        if !partition.owned.load(Ordering::Acquire) {
            return Err(CommandError::Unavailable(
                if self.assigning.load(Ordering::Acquire) {
                    "the partitions are being assigned to the command-api instances (after a \
                     start, a broker restart or an instance joining); retry shortly"
                } else {
                    "another instance owns the store's partition"
                },
            ));
        }
        if !partition.ready.load(Ordering::Acquire) {
            return Err(CommandError::Unavailable(
                "this instance is taking the store's partition over (rebuilding it from \
                 the log); retry shortly",
            ));
        }
        let (reply, answer) = oneshot::channel();
        let deadline = std::time::Instant::now() + self.queue_wait;
        let job = Job {
            work,
            meta,
            reply,
            deadline,
        };
        partition
            .queue
            .try_send(Signal::Job(Box::new(job)))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => {
                    metrics::counter!("qsr_writer_queue_full_total").increment(1);
                    CommandError::Unavailable(
                        "too many commands are waiting for the store's partition; retry shortly",
                    )
                }
                mpsc::error::TrySendError::Closed(_) => {
                    CommandError::Unavailable("the partition writer stopped")
                }
            })?;
        // A dropped reply means the batch's transaction did not commit.
        answer
            .await
            .map_err(|_| CommandError::Unavailable("the write was not committed; retry"))?
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Writers of one owned, rebuilt partition whose writer takes nothing:
    /// its queue only fills.
    fn stalled(depth: usize) -> (Writers, mpsc::Receiver<Signal>) {
        let (queue, signals) = mpsc::channel(depth);
        let partition = Partition {
            queue,
            owned: Arc::new(AtomicBool::new(true)),
            ready: Arc::new(AtomicBool::new(true)),
        };
        let writers = Writers {
            partitions: Arc::new(vec![partition]),
            lookups: Arc::default(),
            queue_wait: Duration::from_secs(5),
            assigning: Arc::new(AtomicBool::new(false)),
        };
        (writers, signals)
    }

    pub(super) fn quote() -> Work {
        Work::Quote {
            store_id: StoreId::parse("s1").unwrap(),
            cart: Cart {
                lines: Vec::new(),
                tip: None,
                pickup_at: None,
            },
            now: Utc::now(),
            idempotency: None,
        }
    }

    fn meta() -> CommandMeta {
        CommandMeta {
            command_id: Uuid::now_v7(),
            correlation_id: "test".into(),
        }
    }

    #[tokio::test]
    async fn a_full_queue_answers_503_at_once_instead_of_waiting() {
        let (writers, _signals) = stalled(1);
        let store = StoreId::parse("s1").unwrap();
        // The writer has not taken the one signal its queue holds.
        writers.partitions[0]
            .queue
            .try_send(Signal::Assign)
            .unwrap();
        let answer = tokio::time::timeout(
            Duration::from_secs(1),
            writers.submit(&store, quote(), meta()),
        )
        .await
        .expect("the command waited for room in the queue");
        let Err(CommandError::Unavailable(detail)) = answer else {
            panic!("answered {answer:?}");
        };
        assert!(detail.contains("too many"), "{detail}");
    }

    #[tokio::test]
    async fn a_partition_not_owned_during_a_rebalance_says_it_is_being_assigned() {
        let (writers, _signals) = stalled(1);
        writers.partitions[0].owned.store(false, Ordering::Release);
        writers.assigning.store(true, Ordering::Release);
        let store = StoreId::parse("s1").unwrap();
        let Err(CommandError::Unavailable(detail)) = writers.submit(&store, quote(), meta()).await
        else {
            panic!("an unowned partition took a command");
        };
        assert!(detail.contains("being assigned"), "{detail}");
        writers.assigning.store(false, Ordering::Release);
        let Err(CommandError::Unavailable(detail)) = writers.submit(&store, quote(), meta()).await
        else {
            panic!("an unowned partition took a command");
        };
        assert!(detail.contains("another instance"), "{detail}");
    }
}
