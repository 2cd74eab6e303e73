//! `loadgen catchup`: how fast the projector reads a long log into the read
//! models. Writes a realistic history (see `history.rs`) to fresh topics, then
//! runs the projector in this process against a fresh database and times it
//! until `projector_offsets` holds the end of every partition.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use platform::{KafkaArgs, PostgresArgs};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::history::{self, Topics, Written};

#[derive(Debug, Clone, clap::Args)]
pub struct CatchupArgs {
    /// Events to write (at least; the orders in flight are ended after).
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Stores the history is spread over.
    #[arg(long, default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub stores: u32,
    /// Partitions of each fresh topic.
    #[arg(long, default_value_t = 6,
          value_parser = clap::value_parser!(i32).range(1..=1000))]
    pub partitions: i32,
    /// Kafka bootstrap servers.
    #[arg(long, env = "QSR_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub kafka_brokers: String,
    /// A database on the Postgres server to use; the benchmark creates a fresh
    /// database next to it.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:55432/qsr"
    )]
    pub database_url: String,
    /// The projector's most events per Postgres transaction (its
    /// `QSR_PROJECTOR_BATCH_MAX`).
    #[arg(long, default_value_t = 5000)]
    pub batch_max: u32,
    /// Seconds the projector may take before the benchmark gives up.
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
    /// Keep the topics and the database afterwards (by default both are deleted).
    #[arg(long)]
    pub keep: bool,
    /// Only delete the topics and the database a `--keep` run kept: the run's
    /// id is the timestamp in their names (`bench.catchup-ID.orders`).
    #[arg(long, value_name = "ID")]
    pub remove: Option<String>,
    /// Seed of the history.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Counts the records the broker refused.
#[derive(Debug, Default)]
struct Deliveries {
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = self.first_error.lock() {
                first.get_or_insert_with(|| error.to_string());
            }
        }
    }
}

/// A partition's offsets once the history is written.
#[derive(Debug, Clone)]
struct End {
    topic: String,
    partition: i32,
    low: i64,
    high: i64,
}

/// Names unique to one run.
#[derive(Debug, Clone)]
struct Run {
    topics: Topics,
    dead_letter: String,
    database: String,
    group: String,
}

impl Run {
    fn new(partitions: i32) -> Run {
        Run::named(
            &chrono::Utc::now().format("%Y%m%d%H%M%S").to_string(),
            partitions,
        )
    }

    fn named(id: &str, partitions: i32) -> Run {
        Run {
            topics: Topics {
                stores: format!("bench.catchup-{id}.stores"),
                orders: format!("bench.catchup-{id}.orders"),
                partitions,
            },
            dead_letter: format!("bench.catchup-{id}.dead-letter"),
            database: format!("bench_catchup_{id}"),
            group: format!("bench-catchup-{id}"),
        }
    }

    fn kafka(&self, brokers: &str) -> KafkaArgs {
        KafkaArgs {
            brokers: brokers.to_owned(),
            stores_topic: self.topics.stores.clone(),
            orders_topic: self.topics.orders.clone(),
            partitions: self.topics.partitions,
            replication: 1,
        }
    }
}

pub async fn run(args: &CatchupArgs) -> anyhow::Result<()> {
    if let Some(id) = &args.remove {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            bail!("a run id is the digits of a timestamp, not `{id}`");
        }
        let run = Run::named(id, args.partitions);
        return clean_up(args, &run, &run.kafka(&args.kafka_brokers)).await;
    }
    let run = Run::new(args.partitions);
    let kafka = run.kafka(&args.kafka_brokers);
    platform::ensure_topics(&kafka).await?;
    let outcome = fill_and_measure(args, &run, &kafka).await;
    if args.keep {
        eprintln!(
            "catchup: kept topics {} and {}, database {}",
            run.topics.stores, run.topics.orders, run.database
        );
    } else if let Err(error) = clean_up(args, &run, &kafka).await {
        eprintln!("catchup: cleaning up failed: {error:#}");
    }
    outcome
}

async fn fill_and_measure(args: &CatchupArgs, run: &Run, kafka: &KafkaArgs) -> anyhow::Result<()> {
    eprintln!(
        "catchup: writing at least {} events of {} stores to {} and {} ({} partitions)",
        args.events, args.stores, run.topics.stores, run.topics.orders, args.partitions
    );
    let started = Instant::now();
    let (written, ends) = {
        let (kafka, topics) = (kafka.clone(), run.topics.clone());
        let (stores, events, seed) = (args.stores as usize, args.events, args.seed);
        tokio::task::spawn_blocking(move || fill(&kafka, &topics, stores, events, seed))
            .await
            .context("joining the writer")??
    };
    let in_log: i64 = ends.iter().map(|e| e.high - e.low).sum();
    eprintln!(
        "catchup: wrote {} events ({} orders) in {:.1} s; the log holds {in_log} records",
        written.events,
        written.orders,
        started.elapsed().as_secs_f64()
    );
    if u64::try_from(in_log).ok() != Some(written.events) {
        bail!(
            "the log holds {in_log} records but {} were written",
            written.events
        );
    }

    let admin = connect(&args.database_url).await?;
    admin
        .batch_execute(&format!("create database {}", run.database))
        .await
        .with_context(|| format!("creating database {}", run.database))?;
    let database_url = with_database(&args.database_url, &run.database)?;
    let config = projector::Config {
        addr: "127.0.0.1:0".parse()?,
        kafka: kafka.clone(),
        postgres: PostgresArgs::new(database_url.clone(), 4),
        group: run.group.clone(),
        batch_max: args.batch_max,
        dead_letter_topic: run.dead_letter.clone(),
        http: platform::HttpLimits::default(),
    };
    // Migrated before the clock starts: the timing holds only the projection.
    projector::migrate(&platform::connect_pool(&config.postgres)?).await?;
    let db = connect(&database_url).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;

    let (stop, stopped) = oneshot::channel::<()>();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut projector = tokio::spawn(projector::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let targets: HashMap<(String, i32), &End> = ends
        .iter()
        .map(|e| ((e.topic.clone(), e.partition), e))
        .collect();
    let deadline = started + Duration::from_secs(args.timeout);
    let mut first_applied = None;
    let mut reported = started;
    let elapsed = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if projector.is_finished() {
            (&mut projector).await.context("joining the projector")??;
            bail!("the projector stopped before it caught up");
        }
        let rows = db
            .query(
                "select topic, partition, next_offset from projector_offsets",
                &[],
            )
            .await
            .context("reading projector_offsets")?;
        let at = started.elapsed();
        let mut next: HashMap<(String, i32), i64> = HashMap::new();
        for row in &rows {
            next.insert((row.get(0), row.get(1)), row.get(2));
        }
        let mut applied = 0;
        let mut done = true;
        for (key, end) in &targets {
            let offset = next.get(key).copied().unwrap_or(end.low);
            applied += offset.min(end.high) - end.low;
            done &= offset >= end.high;
        }
        if applied > 0 && first_applied.is_none() {
            first_applied = Some(at);
        }
        if done {
            break at;
        }
        if reported.elapsed() >= Duration::from_secs(5) {
            reported = Instant::now();
            eprintln!(
                "catchup: {applied} of {in_log} events after {:.1} s ({:.0} events/s)",
                at.as_secs_f64(),
                applied as f64 / at.as_secs_f64()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "the projector applied {applied} of {in_log} events in {} s",
                args.timeout
            );
        }
    };
    let cpu = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let _ = stop.send(());
    projector.await.context("joining the projector")??;

    let count = |table: &'static str| {
        let db = &db;
        async move {
            db.query_one(&format!("select count(*) from {table}"), &[])
                .await
                .map(|row| row.get::<_, i64>(0))
                .with_context(|| format!("counting {table}"))
        }
    };
    let orders = count("orders").await?;
    let changes = count("order_status_changes").await?;
    if u64::try_from(orders).ok() != Some(written.orders) {
        bail!(
            "the read model holds {orders} orders but the log {}",
            written.orders
        );
    }

    let seconds = elapsed.as_secs_f64();
    println!(
        "catchup: {} stores, {} orders, {} partitions, projector batch_max {}",
        written.stores, written.orders, args.partitions, args.batch_max
    );
    println!(
        "events: {in_log}  seconds: {seconds:.2}  events/s: {:.0}",
        in_log as f64 / seconds
    );
    if let Some(first) = first_applied {
        println!(
            "first batch committed after {:.2} s; from then on {:.0} events/s",
            first.as_secs_f64(),
            in_log as f64 / (seconds - first.as_secs_f64()).max(f64::EPSILON)
        );
    }
    if let Some(cpu) = cpu {
        println!(
            "projector process CPU: {cpu:.1} s ({:.0} % of one core)",
            100.0 * cpu / seconds
        );
    }
    println!("read model: {orders} orders, {changes} status changes");
    Ok(())
}

/// Writes the history through an idempotent producer and returns what it
/// wrote and where each partition ends.
fn fill(
    kafka: &KafkaArgs,
    topics: &Topics,
    stores: usize,
    events: u64,
    seed: u64,
) -> anyhow::Result<(Written, Vec<End>)> {
    let producer: BaseProducer<Deliveries> = kafka
        .client_config()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "500000")
        .set("queue.buffering.max.kbytes", "1048576")
        .create_with_context(Deliveries::default())
        .context("creating the producer")?;
    let mut sent = 0u64;
    let written = history::write(topics, stores, events, seed, |record| {
        let headers = schemas::record_headers(record.event_type).into_iter().fold(
            OwnedHeaders::new(),
            |headers, (key, value)| {
                headers.insert(Header {
                    key,
                    value: Some(value),
                })
            },
        );
        let mut message = BaseRecord::to(record.topic)
            .key(record.key)
            .partition(record.partition)
            .payload(&record.payload)
            .headers(headers);
        loop {
            match producer.send(message) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    producer.poll(Duration::from_millis(5));
                    message = back;
                }
                Err((error, _)) => return Err(error).context("queueing a record"),
            }
        }
        sent += 1;
        if sent.is_multiple_of(1000) {
            producer.poll(Duration::ZERO);
        }
        Ok(())
    })?;
    producer
        .flush(Duration::from_secs(300))
        .context("flushing the producer")?;
    let context = producer.context();
    let failed = context.failed.load(Ordering::Relaxed);
    if failed > 0 {
        let first = context
            .first_error
            .lock()
            .ok()
            .and_then(|f| f.clone())
            .unwrap_or_default();
        bail!("{failed} records were not delivered; the first: {first}");
    }
    let consumer: BaseConsumer = kafka
        .client_config()
        .set("group.id", "bench-catchup-watermarks")
        .create()
        .context("creating a Kafka client")?;
    let mut ends = Vec::new();
    for topic in [&topics.stores, &topics.orders] {
        for partition in 0..topics.partitions {
            let (low, high) = consumer
                .fetch_watermarks(topic, partition, Duration::from_secs(10))
                .with_context(|| format!("reading the offsets of {topic}/{partition}"))?;
            ends.push(End {
                topic: topic.clone(),
                partition,
                low,
                high,
            });
        }
    }
    Ok((written, ends))
}

async fn clean_up(args: &CatchupArgs, run: &Run, kafka: &KafkaArgs) -> anyhow::Result<()> {
    let admin = connect(&args.database_url).await?;
    admin
        .batch_execute(&format!(
            "drop database if exists {} with (force)",
            run.database
        ))
        .await
        .with_context(|| format!("dropping database {}", run.database))?;
    let client: AdminClient<DefaultClientContext> = kafka
        .client_config()
        .create()
        .context("creating a Kafka admin client")?;
    let names = [
        run.topics.stores.as_str(),
        run.topics.orders.as_str(),
        run.dead_letter.as_str(),
    ];
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in client
        .delete_topics(&names, &options)
        .await
        .context("deleting the topics")?
    {
        if let Err((name, code)) = result
            && code != RDKafkaErrorCode::UnknownTopicOrPartition
        {
            bail!("deleting topic {name}: {code}");
        }
    }
    eprintln!(
        "catchup: deleted topics {names:?} and database {}",
        run.database
    );
    Ok(())
}

/// A client on its own connection task.
pub async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to {}", platform::redact_database_url(url)))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            eprintln!("postgres connection: {error}");
        }
    });
    Ok(client)
}

/// `url` naming database `database` instead of its own.
fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let scheme = url.find("://").context("DATABASE_URL is not a URL")? + 3;
    let (head, tail) = url.split_at(scheme);
    let authority = tail.split(['/', '?']).next().unwrap_or_default();
    let query = tail.find('?').map_or("", |at| &tail[at..]);
    Ok(format!("{head}{authority}/{database}{query}"))
}

/// CPU time (user and system) this process has used, from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_another_database_on_the_same_server() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:55432/qsr", "b").unwrap(),
            "postgres://postgres@127.0.0.1:55432/b"
        );
        assert_eq!(
            with_database("postgres://u:p@h/qsr?sslmode=disable", "b").unwrap(),
            "postgres://u:p@h/b?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h", "b").unwrap(),
            "postgres://h/b"
        );
    }
}
