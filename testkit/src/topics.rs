//! A test's topics after the fact: reading one back to its end, and deleting
//! them when the test is done.

use std::time::{Duration, Instant};

use anyhow::Context;
use platform::KafkaArgs;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::Value;

/// How long reading a topic to its end may take.
const PATIENCE: Duration = Duration::from_secs(60);

/// A record as a test looks at it: key, partition, CloudEvents type header,
/// and the JSON body.
pub type Record = (String, i32, String, Value);

/// Every record of `topic` (of `partitions` partitions, at `brokers`) up to
/// its end, read_committed, partition by partition.
pub fn read_topic(brokers: &str, topic: &str, partitions: i32) -> anyhow::Result<Vec<Record>> {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "test-reader")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create()
        .context("creating a Kafka consumer")?;
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let (mut records, mut at_end) = (Vec::new(), 0);
    let deadline = Instant::now() + PATIENCE;
    while at_end < partitions {
        anyhow::ensure!(
            Instant::now() < deadline,
            "could not read {topic} to its end"
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => records.push(record(&m).with_context(|| {
                format!("a record of {topic} at {}:{}", m.partition(), m.offset())
            })?),
            Some(Err(KafkaError::PartitionEOF(_))) => at_end += 1,
            Some(Err(e)) => return Err(e).with_context(|| format!("reading {topic}")),
            None => {}
        }
    }
    Ok(records)
}

fn record(m: &rdkafka::message::BorrowedMessage<'_>) -> anyhow::Result<Record> {
    let key = String::from_utf8(m.key().context("no key")?.to_vec())?;
    let ce_type = m
        .headers()
        .and_then(|headers| {
            headers
                .iter()
                .find(|h| h.key == schemas::TYPE_HEADER)
                .and_then(|h| h.value)
        })
        .context("no type header")?;
    let ce_type = String::from_utf8(ce_type.to_vec())?;
    let body = serde_json::from_slice(m.payload().context("no payload")?)?;
    Ok((key, m.partition(), ce_type, body))
}

/// Deletes `topics`; one that does not exist is passed over.
pub(crate) async fn delete(kafka: &KafkaArgs, topics: &[&str]) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = kafka
        .client_config()
        .create()
        .context("creating a Kafka admin client")?;
    admin
        .delete_topics(topics, &AdminOptions::new())
        .await
        .context("deleting the test topics")?;
    Ok(())
}
