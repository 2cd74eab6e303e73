//! `spawn_system()`: the whole system on port 0 with unique topics and a unique
//! database, and helpers to talk to it.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use platform::{KafkaArgs, PostgresArgs};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a test waits for something that should happen at once.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn brokers() -> String {
    std::env::var("QSR_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// The server the tests create their databases on.
pub fn admin_database_url() -> String {
    std::env::var("QSR_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55432/qsr".into())
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].rfind('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

async fn admin_client() -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) =
        tokio_postgres::connect(&admin_database_url(), tokio_postgres::NoTls)
            .await
            .context("connecting to the test Postgres; is the stack up (make infra-up)?")?;
    tokio::spawn(connection);
    Ok(client)
}

/// The running services and what the test needs to reach them.
pub struct TestSystem {
    pub command_api: String,
    pub query_api: String,
    pub kafka: KafkaArgs,
    /// Where the bridge sends tickets: the test's stand-in printer.
    pub printer: TcpListener,
    pub http: reqwest::Client,
    database: String,
    cancel: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
}

async fn bind() -> anyhow::Result<TcpListener> {
    TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding port 0")
}

fn spawn<F>(
    tasks: &mut Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
    name: &'static str,
    f: F,
) where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    tasks.push((name, tokio::spawn(f)));
}

pub async fn spawn_system() -> anyhow::Result<TestSystem> {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let database = format!("qsr_test_{suffix}");
    admin_client()
        .await?
        .execute(&format!("create database {database}"), &[])
        .await
        .context("creating the test database")?;
    let kafka = KafkaArgs {
        brokers: brokers(),
        stores_topic: format!("test.{suffix}.stores"),
        orders_topic: format!("test.{suffix}.orders"),
        partitions: 3,
        replication: 1,
    };
    let postgres = PostgresArgs {
        database_url: with_database(&admin_database_url(), &database),
        db_pool_size: 4,
    };
    let printer = bind().await?;
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();

    let (command_listener, query_listener) = (bind().await?, bind().await?);
    let command_api = format!("http://{}", command_listener.local_addr()?);
    let query_api = format!("http://{}", query_listener.local_addr()?);
    let command_config = command_api::Config {
        addr: command_listener.local_addr()?,
        kafka: kafka.clone(),
        transactional_id_prefix: format!("test-{suffix}"),
        batch_max: 64,
        gateway_timeout_ms: 2000,
    };
    spawn(
        &mut tasks,
        "command-api",
        command_api::run(
            command_config,
            command_listener,
            cancel.clone().cancelled_owned(),
        ),
    );
    let projector_listener = bind().await?;
    let projector_url = format!("http://{}", projector_listener.local_addr()?);
    let projector_config = projector::Config {
        addr: projector_listener.local_addr()?,
        kafka: kafka.clone(),
        postgres: postgres.clone(),
        group: format!("test-{suffix}-projector"),
        batch_max: 500,
    };
    spawn(
        &mut tasks,
        "projector",
        projector::run(
            projector_config,
            projector_listener,
            cancel.clone().cancelled_owned(),
        ),
    );
    let query_config = query_api::Config {
        addr: query_listener.local_addr()?,
        postgres,
    };
    spawn(
        &mut tasks,
        "query-api",
        query_api::run(
            query_config,
            query_listener,
            cancel.clone().cancelled_owned(),
        ),
    );
    let bridge_listener = bind().await?;
    let bridge_url = format!("http://{}", bridge_listener.local_addr()?);
    let bridge_config = pos_bridge::Config {
        addr: bridge_listener.local_addr()?,
        kafka: kafka.clone(),
        group: format!("test-{suffix}-bridge"),
        printer: printer.local_addr()?.to_string(),
        printer_timeout_secs: 3,
    };
    spawn(
        &mut tasks,
        "pos-bridge",
        pos_bridge::run(
            bridge_config,
            bridge_listener,
            cancel.clone().cancelled_owned(),
        ),
    );

    let system = TestSystem {
        command_api,
        query_api,
        kafka,
        printer,
        http: reqwest::Client::new(),
        database,
        cancel,
        tasks,
    };
    for url in [
        &system.command_api,
        &system.query_api,
        &projector_url,
        &bridge_url,
    ] {
        system.wait_ready(url).await?;
    }
    Ok(system)
}

impl TestSystem {
    /// Polls `/readyz` until it answers 200, failing early if a service died.
    async fn wait_ready(&self, base: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some((name, _)) = self.tasks.iter().find(|(_, task)| task.is_finished()) {
                anyhow::bail!("{name} exited while starting");
            }
            let ok = self
                .http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{base} not ready in {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops every service, checks that each stopped cleanly, and removes the
    /// test's database and topics.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.cancel.cancel();
        for (name, task) in self.tasks {
            task.await
                .with_context(|| format!("{name} panicked"))?
                .with_context(|| format!("{name} failed"))?;
        }
        admin_client()
            .await?
            .execute(
                &format!("drop database if exists {} with (force)", self.database),
                &[],
            )
            .await
            .context("dropping the test database")?;
        let admin: AdminClient<DefaultClientContext> = self
            .kafka
            .client_config()
            .create()
            .context("creating a Kafka admin client")?;
        admin
            .delete_topics(
                &[&self.kafka.stores_topic, &self.kafka.orders_topic],
                &AdminOptions::new(),
            )
            .await
            .context("deleting the test topics")?;
        Ok(())
    }
}

#[test]
fn replaces_the_database_of_a_url() {
    assert_eq!(
        with_database("postgres://u@h:1/qsr", "t"),
        "postgres://u@h:1/t"
    );
    assert_eq!(
        with_database("postgres://u@h:1/qsr?sslmode=disable", "t"),
        "postgres://u@h:1/t?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h:1", "t"), "postgres://u@h:1/t");
}
