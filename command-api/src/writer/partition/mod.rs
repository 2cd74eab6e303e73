//! One partition's writer thread: waits to be assigned, takes the partition
//! over (fencing the former owner, rebuilding state: `takeover.rs`), decides
//! batches (`batch.rs`) and commits each in one transaction
//! (`transaction.rs`), and lets go when revoked.

mod batch;
mod takeover;
mod transaction;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::{Change, OrderEvent, Store, StoreId};
use platform::KafkaArgs;
use tokio::sync::mpsc;

use super::Published;
use super::queue::{QueueItem, Work};

/// The longest pause between two attempts to take a partition over.
const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(5);

/// The stores of one partition, with their orders.
type Stores = HashMap<StoreId, Store>;

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
    pub published: Arc<Published>,
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

impl PartitionWriter {
    pub fn run(self, mut items: mpsc::Receiver<QueueItem>) {
        loop {
            // Not ours: wait for the group to assign it.
            loop {
                match items.blocking_recv() {
                    None => return,
                    Some(QueueItem::Assign) => break,
                    Some(QueueItem::Revoke(ack)) => {
                        let _ = ack.send(());
                    }
                    Some(QueueItem::Work(work)) => work.refuse(
                        "the store's partition is not assigned to this instance at the moment; \
                         retry shortly",
                    ),
                }
            }
            self.owned.store(true, Ordering::Release);
            tracing::info!(partition = self.partition, "partition assigned");
            let mut backoff = Duration::from_millis(100);
            loop {
                match self.own(&mut items) {
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
                if self.refuse_queued(&mut items) {
                    self.owned.store(false, Ordering::Release);
                    break;
                }
            }
        }
    }

    /// Answers every queued command `503`; true if a revocation was queued
    /// (and acknowledged) among them.
    fn refuse_queued(&self, items: &mut mpsc::Receiver<QueueItem>) -> bool {
        let mut revoked = false;
        while let Ok(item) = items.try_recv() {
            match item {
                QueueItem::Work(work) => work.refuse(
                    "this instance is taking the store's partition over again after a \
                     failure (rebuilding it from the log); retry shortly",
                ),
                QueueItem::Revoke(ack) => {
                    revoked = true;
                    let _ = ack.send(());
                }
                QueueItem::Assign => revoked = false,
            }
        }
        revoked
    }

    /// Takes the partition over and works it until it is revoked, a
    /// transaction fails, or the instance shuts down.
    fn own(&self, items: &mut mpsc::Receiver<QueueItem>) -> anyhow::Result<LetGo> {
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
            let Some(first) = items.blocking_recv() else {
                self.let_go("writer stopped");
                return Ok(LetGo::Shutdown);
            };
            if pruned.elapsed() >= prune_every {
                self.forget_ended(&mut stores);
                pruned = Instant::now();
            }
            let (batch, revoked) = self.take_batch(first, items);
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
            if let Some(ack) = revoked {
                self.let_go("partition revoked");
                self.owned.store(false, Ordering::Release);
                let _ = ack.send(());
                return Ok(LetGo::Revoked);
            }
        }
    }

    /// The work queued from `first` on, at most `batch_max`, up to the next
    /// change of ownership; with the acknowledgement a revocation among them
    /// waits for.
    fn take_batch(
        &self,
        first: QueueItem,
        items: &mut mpsc::Receiver<QueueItem>,
    ) -> (Vec<Work>, Option<SyncSender<()>>) {
        let mut batch = Vec::new();
        let mut item = first;
        loop {
            match item {
                QueueItem::Work(work) => batch.push(work),
                // Assigned again without a revocation between: nothing changes.
                QueueItem::Assign => return (batch, None),
                QueueItem::Revoke(ack) => return (batch, Some(ack)),
            }
            if batch.len() >= self.batch_max {
                return (batch, None);
            }
            match items.try_recv() {
                Ok(next) => item = next,
                Err(_) => return (batch, None),
            }
        }
    }

    fn let_go(&self, why: &str) {
        self.ready.store(false, Ordering::Release);
        tracing::info!(partition = self.partition, why, "letting the partition go");
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
        self.published
            .orders
            .insert(*order_id, event.store_id.clone());
        if let Some(idempotency) = &event.idempotency {
            self.published
                .placements
                .insert(idempotency.key.clone(), *order_id);
        }
    }

    /// Publishes a store's catalog (after its store events are committed).
    fn publish_catalog(&self, store: &Store) {
        if let Ok(mut catalogs) = self.published.catalogs.write() {
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
}
