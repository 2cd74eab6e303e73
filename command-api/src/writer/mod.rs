//! The single writer of each partition: a thread that owns the partition's
//! state and its transactional producer while this instance owns the
//! partition, takes queued commands in batches, decides them in order, appends
//! all their events in one Kafka transaction, and answers every caller only
//! after the commit (group commit).
//!
//! librdkafka's transaction calls block, so each writer is an OS thread, never
//! a tokio task. Ownership comes from the consumer group (see `membership`):
//! `QueueItem::Assign` and `QueueItem::Revoke` reach a writer through the same
//! queue as its work, so they take effect between two batches.

mod answers;
mod deliveries;
mod partition;
mod queue;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use std::thread::JoinHandle;

use anyhow::Context;
use domain::{Command, Idempotency, OrderId, StoreId};
use tokio::sync::{mpsc, oneshot};

use crate::Config;
use partition::PartitionWriter;
pub use queue::{
    CommandError, CommandMeta, OrderAnswer, PlacementPrice, Pricing, QueueItem, QuoteAnswer,
    StoreAnswer,
};
use queue::{Decide, PlacementPricing, Request, Work};

/// What the rest of the instance sees of one partition's writer.
struct Partition {
    queue: mpsc::Sender<QueueItem>,
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
    published: Arc<Published>,
    /// How long work may wait in a writer's queue.
    queue_wait: std::time::Duration,
    /// True while the group is (re)assigning partitions: from the start until
    /// the first assignment, and from a revocation to the next assignment
    /// (e.g. after a broker restart). Set by `membership`.
    assigning: Arc<AtomicBool>,
}

/// What the writers publish for the HTTP tasks, so that common reads need no
/// trip through a writer's queue. Advisory only: every decision is taken by
/// the writer against its own state.
#[derive(Debug, Default)]
pub struct Published {
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
        let published = Arc::<Published>::default();
        for p in 0..config.kafka.partitions {
            let (queue, items) = mpsc::channel(config.limits.writer_queue_depth as usize);
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
                published: published.clone(),
            };
            let thread = std::thread::Builder::new()
                .name(format!("writer-p{p}"))
                .spawn(move || writer.run(items))
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
                published,
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

    /// The queues of the writers, by partition, for changes of ownership.
    pub fn queues(&self) -> Vec<mpsc::Sender<QueueItem>> {
        self.partitions.iter().map(|p| p.queue.clone()).collect()
    }

    /// The store of an order this instance knows.
    pub fn store_of(&self, order_id: OrderId) -> Option<StoreId> {
        self.published
            .orders
            .get(&order_id)
            .map(|entry| entry.value().clone())
    }

    /// The store as of its last committed store event, without its orders.
    pub fn catalog(&self, store_id: &StoreId) -> Option<Arc<domain::Store>> {
        self.published.catalogs.read().ok()?.get(store_id).cloned()
    }

    /// Whether an order was placed under this `Idempotency-Key`.
    pub fn placed_with(&self, key: &str) -> bool {
        self.published.placements.contains_key(key)
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

    /// Decides a command on the store itself; answers after the commit.
    pub async fn decide_store(
        &self,
        command: Command,
        expected_version: Option<u64>,
        meta: CommandMeta,
    ) -> Result<StoreAnswer, CommandError> {
        let store_id = command.store_id.clone();
        let ask = Decide {
            command,
            expected_version,
        };
        self.submit(&store_id, ask, meta, Work::StoreCommand).await
    }

    /// Decides a command on an order; answers after the commit.
    pub async fn decide_order(
        &self,
        command: Command,
        expected_version: Option<u64>,
        meta: CommandMeta,
    ) -> Result<OrderAnswer, CommandError> {
        let store_id = command.store_id.clone();
        let ask = Decide {
            command,
            expected_version,
        };
        self.submit(&store_id, ask, meta, Work::OrderCommand).await
    }

    /// Prices a cart against the store's current state.
    pub async fn quote(
        &self,
        pricing: Pricing,
        meta: CommandMeta,
    ) -> Result<QuoteAnswer, CommandError> {
        let store_id = pricing.store_id.clone();
        self.submit(&store_id, pricing, meta, Work::Quote).await
    }

    /// Prices a placement's cart against the store's current state, or
    /// finds the order its `Idempotency-Key` placed already.
    pub async fn price_placement(
        &self,
        pricing: Pricing,
        idempotency: Option<Idempotency>,
        meta: CommandMeta,
    ) -> Result<PlacementPrice, CommandError> {
        let store_id = pricing.store_id.clone();
        let ask = PlacementPricing {
            pricing,
            idempotency,
        };
        self.submit(&store_id, ask, meta, Work::PricePlacement)
            .await
    }

    /// Sends work to the writer of the store's partition and waits for its
    /// answer: for a decision, after the commit.
    async fn submit<A, R>(
        &self,
        store_id: &StoreId,
        ask: A,
        meta: CommandMeta,
        kind: fn(Box<Request<A, R>>) -> Work,
    ) -> Result<R, CommandError> {
        let partition = self.ready_partition(store_id)?;
        let (reply, answer) = oneshot::channel();
        let request = Request {
            ask,
            meta,
            reply,
            deadline: std::time::Instant::now() + self.queue_wait,
        };
        partition
            .queue
            .try_send(QueueItem::Work(kind(Box::new(request))))
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

    /// The writer of the store's partition, if it takes work now.
    fn ready_partition(&self, store_id: &StoreId) -> Result<&Partition, CommandError> {
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
        Ok(partition)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use uuid::Uuid;

    use super::*;

    /// Writers of one owned, rebuilt partition whose writer takes nothing:
    /// its queue only fills.
    fn stalled(depth: usize) -> (Writers, mpsc::Receiver<QueueItem>) {
        let (queue, items) = mpsc::channel(depth);
        let partition = Partition {
            queue,
            owned: Arc::new(AtomicBool::new(true)),
            ready: Arc::new(AtomicBool::new(true)),
        };
        let writers = Writers {
            partitions: Arc::new(vec![partition]),
            published: Arc::default(),
            queue_wait: Duration::from_secs(5),
            assigning: Arc::new(AtomicBool::new(false)),
        };
        (writers, items)
    }

    pub(super) fn pricing() -> Pricing {
        Pricing {
            store_id: StoreId::parse("s1").unwrap(),
            cart: domain::Cart {
                lines: Vec::new(),
                tip: None,
                pickup_at: None,
            },
            now: chrono::Utc::now(),
        }
    }

    pub(super) fn meta() -> CommandMeta {
        CommandMeta {
            command_id: Uuid::now_v7(),
            correlation_id: "test".into(),
        }
    }

    #[tokio::test]
    async fn a_full_queue_answers_503_at_once_instead_of_waiting() {
        let (writers, _items) = stalled(1);
        // The writer has not taken the one item its queue holds.
        writers.partitions[0]
            .queue
            .try_send(QueueItem::Assign)
            .unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(1), writers.quote(pricing(), meta()))
            .await
            .expect("the command waited for room in the queue");
        let Err(CommandError::Unavailable(detail)) = answer else {
            panic!("answered {answer:?}");
        };
        assert!(detail.contains("too many"), "{detail}");
    }

    #[tokio::test]
    async fn a_partition_not_owned_during_a_rebalance_says_it_is_being_assigned() {
        let (writers, _items) = stalled(1);
        writers.partitions[0].owned.store(false, Ordering::Release);
        writers.assigning.store(true, Ordering::Release);
        let Err(CommandError::Unavailable(detail)) = writers.quote(pricing(), meta()).await else {
            panic!("an unowned partition took a command");
        };
        assert!(detail.contains("being assigned"), "{detail}");
        writers.assigning.store(false, Ordering::Release);
        let Err(CommandError::Unavailable(detail)) = writers.quote(pricing(), meta()).await else {
            panic!("an unowned partition took a command");
        };
        assert!(detail.contains("another instance"), "{detail}");
    }
}
