//! Taking a partition over: fencing any former writer with the partition's
//! transactional id, then rebuilding its stores from both topics, read
//! committed to their ends.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use platform::KafkaContext;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};

use super::transaction::TxProducer;
use super::{PartitionWriter, Stores};
use crate::writer::deliveries::WriterContext;

/// How long a rebuild may take before the writer gives up and starts over.
const REBUILD_TIMEOUT: Duration = Duration::from_secs(120);

impl PartitionWriter {
    /// Fences any former writer of the partition, then folds the partition's
    /// committed events into fresh state.
    pub(super) fn take_over(&self) -> anyhow::Result<(TxProducer, Stores)> {
        let producer: TxProducer = self
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
            .create_with_context(WriterContext::default())
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
}
