//! The dead-letter topic: a record the read models cannot take is copied there,
//! key, value and headers intact, with where it came from and why, so that
//! consumption goes on and someone can look at it later.

use std::time::Duration;

use anyhow::Context;
use platform::{KafkaArgs, KafkaContext};
use rdkafka::Message;
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// The headers a dead letter carries besides the original record's.
pub const REASON_HEADER: &str = "qsr-dead-letter-reason";
pub const TOPIC_HEADER: &str = "qsr-dead-letter-topic";
pub const PARTITION_HEADER: &str = "qsr-dead-letter-partition";
pub const OFFSET_HEADER: &str = "qsr-dead-letter-offset";
pub const SERVICE_HEADER: &str = "qsr-dead-letter-service";

pub struct DeadLetters {
    producer: FutureProducer<KafkaContext>,
    topic: String,
}

impl std::fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetters")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl DeadLetters {
    pub fn new(kafka: &KafkaArgs, topic: &str) -> anyhow::Result<DeadLetters> {
        let producer = kafka
            .client_config()
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "10000")
            .create_with_context(KafkaContext)
            .context("creating the dead-letter producer")?;
        Ok(DeadLetters {
            producer,
            topic: topic.to_owned(),
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Copies `message` to the dead-letter topic and waits until Kafka has it:
    /// the caller commits the offset past the record only after this.
    pub async fn send(&self, message: &BorrowedMessage<'_>, reason: &str) -> anyhow::Result<()> {
        let mut headers = OwnedHeaders::new();
        if let Some(original) = message.headers() {
            for header in original.iter() {
                headers = headers.insert(header);
            }
        }
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        for (key, value) in [
            (REASON_HEADER, reason),
            (TOPIC_HEADER, message.topic()),
            (PARTITION_HEADER, partition.as_str()),
            (OFFSET_HEADER, offset.as_str()),
            (SERVICE_HEADER, "projector"),
        ] {
            headers = headers.insert(Header {
                key,
                value: Some(value),
            });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&self.topic).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        self.producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(error, _)| error)
            .with_context(|| format!("dead-lettering a record to {}", self.topic))?;
        Ok(())
    }
}
