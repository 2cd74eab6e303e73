//! Kafka settings shared by the services, and the idempotent creation of the
//! co-partitioned topics.

use std::time::Duration;

use anyhow::{Context, bail};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;

use crate::KafkaContext;

/// Where the log is. Both topics are keyed by store id and must have the same
/// number of partitions, so that a store and its orders share partition `p`.
#[derive(Debug, Clone, clap::Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers.
    #[arg(
        long = "kafka-brokers",
        env = "QSR_KAFKA_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub brokers: String,
    /// The topic of store events (profile, menu, availability).
    #[arg(long, env = "QSR_STORES_TOPIC", default_value = "qsr.stores")]
    pub stores_topic: String,
    /// The topic of order and payment events.
    #[arg(long, env = "QSR_ORDERS_TOPIC", default_value = "qsr.orders")]
    pub orders_topic: String,
    /// Partitions of each topic when it is created (both topics get the same).
    #[arg(long, env = "QSR_TOPIC_PARTITIONS", default_value_t = 6,
          value_parser = clap::value_parser!(i32).range(1..=10_000))]
    pub partitions: i32,
    /// Replication factor of each topic when it is created (3 in production).
    #[arg(long, env = "QSR_TOPIC_REPLICATION", default_value_t = 1,
          value_parser = clap::value_parser!(i32).range(1..=16))]
    pub replication: i32,
}

impl KafkaArgs {
    /// A client configuration with the brokers set; callers add the rest.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        config
    }
}

/// Creates both topics if they are missing, and checks that they have the
/// configured partition count. Safe to run from every service at every start.
pub async fn ensure_topics(args: &KafkaArgs) -> anyhow::Result<()> {
    let topics = [args.stores_topic.as_str(), args.orders_topic.as_str()];
    create_missing(args, &topics, args.partitions).await?;
    let consumer: BaseConsumer<KafkaContext> = args
        .client_config()
        .create_with_context(KafkaContext)
        .context("creating a Kafka client")?;
    let brokers = args.brokers.clone();
    let names: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
    let expected = args.partitions;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        for name in &names {
            // A topic created a moment ago may not have reached the broker's
            // metadata yet: it shows no partitions for a short while.
            let mut found = 0;
            for attempt in 0..50 {
                if attempt > 0 {
                    std::thread::sleep(Duration::from_millis(100));
                }
                let metadata = consumer
                    .fetch_metadata(Some(name), Duration::from_secs(10))
                    .with_context(|| format!("reading metadata of {name} from {brokers}"))?;
                found = metadata
                    .topics()
                    .first()
                    .map_or(0, |t| t.partitions().len());
                if found > 0 {
                    break;
                }
            }
            if found != expected as usize {
                bail!(
                    "topic {name} has {found} partitions but QSR_TOPIC_PARTITIONS is {expected}; \
                     stores and orders must be co-partitioned, so fix one or the other"
                );
            }
        }
        Ok(())
    })
    .await
    .context("joining the metadata check")?
}

/// Creates the topic `name` with `partitions` if it is missing: for a side
/// topic such as a dead-letter topic, whose partitioning does not matter.
pub async fn ensure_topic(args: &KafkaArgs, name: &str, partitions: i32) -> anyhow::Result<()> {
    create_missing(args, &[name], partitions).await
}

async fn create_missing(args: &KafkaArgs, topics: &[&str], partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<KafkaContext> = args
        .client_config()
        .create_with_context(KafkaContext)
        .context("creating a Kafka admin client")?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|name| {
            NewTopic::new(name, partitions, TopicReplication::Fixed(args.replication))
                // The log is the source of truth: never pruned by time or size.
                .set("retention.ms", "-1")
                .set("retention.bytes", "-1")
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(&new_topics, &options)
        .await
        .with_context(|| format!("creating topics {topics:?} on {}", args.brokers))?;
    for result in results {
        match result {
            Ok(name) => tracing::info!(topic = %name, partitions, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => bail!("creating topic {name}: {code}"),
        }
    }
    Ok(())
}

/// A metadata request to the brokers: the readiness check of Kafka.
pub async fn kafka_ready(args: &KafkaArgs) -> anyhow::Result<()> {
    let consumer: BaseConsumer<KafkaContext> = args
        .client_config()
        .create_with_context(KafkaContext)
        .context("creating a Kafka client")?;
    let topic = args.orders_topic.clone();
    tokio::task::spawn_blocking(move || {
        consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(2))
            .map(|_| ())
            .context("Kafka metadata request")
    })
    .await
    .context("joining the metadata request")?
}
