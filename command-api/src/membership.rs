//! Partition ownership through a Kafka consumer group. The instances of
//! command-api form one group over both topics with the range assignor, which
//! gives partition `p` of `qsr.stores` and of `qsr.orders` to the same member;
//! that member's writer of `p` takes the partition over. The group's consumer
//! only tracks membership: its partitions stay paused and it reads nothing.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use platform::KafkaArgs;
use rdkafka::ClientContext;
use rdkafka::TopicPartitionList;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use tokio::sync::mpsc;

use crate::writer::QueueItem;

/// How long a revocation waits for a writer to finish its batch.
const REVOKE_TIMEOUT: Duration = Duration::from_secs(30);

struct Membership {
    queues: Vec<mpsc::Sender<QueueItem>>,
    /// Raised from a revocation to the next assignment, so that a command
    /// meanwhile is told the partitions are moving, not owned elsewhere.
    assigning: Arc<AtomicBool>,
}

impl Membership {
    fn partitions(&self, list: &TopicPartitionList) -> BTreeSet<usize> {
        list.elements()
            .iter()
            .filter_map(|e| usize::try_from(e.partition()).ok())
            .filter(|p| *p < self.queues.len())
            .collect()
    }
}

impl ClientContext for Membership {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        platform::kafka_log::log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        platform::kafka_log::error(&error, reason);
    }
}

impl ConsumerContext for Membership {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        self.assigning.store(true, Ordering::Release);
        // Stop every revoked writer before the group hands its partition on,
        // so two instances never serve one store (the new owner's
        // init_transactions fences a writer that was too slow regardless).
        let mut acks = Vec::new();
        for p in self.partitions(list) {
            let (ack, done) = std::sync::mpsc::sync_channel(1);
            if self.queues[p].blocking_send(QueueItem::Revoke(ack)).is_ok() {
                acks.push((p, done));
            }
        }
        for (p, done) in acks {
            if done.recv_timeout(REVOKE_TIMEOUT).is_err() {
                tracing::warn!(partition = p, "a revoked writer did not stop in time");
            }
        }
        metrics::gauge!("qsr_owned_partitions").set(0.0);
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(list) = rebalance else {
            return;
        };
        // Membership only: fetching records would waste the broker's time.
        if let Err(error) = consumer.pause(list) {
            tracing::warn!(%error, "cannot pause the membership consumer");
        }
        let owned = self.partitions(list);
        tracing::info!(partitions = ?owned, "partitions assigned to this instance");
        metrics::gauge!("qsr_owned_partitions").set(owned.len() as f64);
        for p in owned {
            let _ = self.queues[p].blocking_send(QueueItem::Assign);
        }
        self.assigning.store(false, Ordering::Release);
    }
}

/// The membership thread; dropping its consumer on `stop` leaves the group and
/// revokes every partition first.
pub fn start(
    kafka: &KafkaArgs,
    group: &str,
    queues: Vec<mpsc::Sender<QueueItem>>,
    assigning: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<JoinHandle<()>> {
    let consumer: BaseConsumer<Membership> = kafka
        .client_config()
        .set("group.id", group)
        .set("partition.assignment.strategy", "range")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .create_with_context(Membership { queues, assigning })
        .context("creating the membership consumer")?;
    consumer
        .subscribe(&[&kafka.stores_topic, &kafka.orders_topic])
        .context("joining the command-api group")?;
    std::thread::Builder::new()
        .name("membership".into())
        .spawn(move || {
            while !stop.load(Ordering::Acquire) {
                // Serves the group's callbacks; the paused partitions yield nothing.
                if let Some(Err(error)) = consumer.poll(Duration::from_millis(100)) {
                    tracing::warn!(%error, "membership consumer");
                }
            }
            tracing::info!("leaving the command-api group");
            drop(consumer);
        })
        .context("starting the membership thread")
}
