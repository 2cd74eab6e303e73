//! testkit: what the integration tests of every crate share: where the local
//! stack's Kafka and Postgres are (`make test` sets `QSR_KAFKA_BROKERS` and
//! `QSR_TEST_DATABASE_URL`), test databases and topics, free ports, reading a
//! topic back, the tests' token issuer (ES256 tokens of a key made per test
//! process, and forged ones: `issuer.rs`), and the request bodies of
//! [`fixtures`]. No service depends on it, and it depends on no service, so
//! that every crate's tests (and the load generator) can use it; starting the
//! services in process for a test is the `test-system` crate's job.

pub mod fixtures;
mod issuer;
pub mod mail;
mod topics;

pub use issuer::{
    Forgery, PosClientCredential, TEST_AUDIENCE, TEST_ISSUER, auth_args, forged_token, jwt_env,
    pos_client, token, token_url,
};
pub use topics::{Record, read_topic};

use anyhow::Context;
use platform::{KafkaArgs, PostgresArgs};

/// The test Kafka.
pub fn brokers() -> String {
    std::env::var("QSR_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// The server the tests create their databases on.
pub fn admin_database_url() -> String {
    std::env::var("QSR_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55432/qsr".into())
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
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

/// A connection to `url`, driven by a task of its own.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// A connection to the server the tests create their databases on.
pub async fn admin_client() -> anyhow::Result<tokio_postgres::Client> {
    connect(&admin_database_url())
        .await
        .context("connecting to the test Postgres; is the stack up (make infra-up)?")
}

/// A test's own topics and database, named `<prefix>.<suffix>.stores` and
/// `.orders` and `qsr_<prefix>_<suffix>`.
#[derive(Debug)]
pub struct Scratch {
    /// What the test named its names with.
    pub prefix: String,
    /// Unique to this test: for more names of its own.
    pub suffix: String,
    pub database: String,
    pub kafka: KafkaArgs,
    pub postgres: PostgresArgs,
    /// Where `database` was created, for dropping it.
    pub admin_database_url: String,
}

/// Creates the database of a new [`Scratch`] on the test servers, with
/// topics of 3 partitions; the services create the topics.
pub async fn scratch(prefix: &str, db_pool_size: usize) -> anyhow::Result<Scratch> {
    Scratch::create(&Servers::from_env(prefix, db_pool_size)).await
}

/// Where and how big a [`Scratch`] is.
#[derive(Debug, Clone)]
pub struct Servers {
    /// Starts every name of the scratch: `<prefix>.<suffix>.stores`.
    pub prefix: String,
    pub brokers: String,
    /// The server's administrative database, for creating the scratch's own.
    pub admin_database_url: String,
    pub partitions: i32,
    pub db_pool_size: usize,
}

impl Servers {
    /// The test servers of [`brokers`] and [`admin_database_url`].
    pub fn from_env(prefix: &str, db_pool_size: usize) -> Servers {
        Servers {
            prefix: prefix.to_owned(),
            brokers: brokers(),
            admin_database_url: admin_database_url(),
            partitions: 3,
            db_pool_size,
        }
    }
}

impl Scratch {
    /// Creates the database of a new scratch on `servers`; the services
    /// create the topics.
    pub async fn create(servers: &Servers) -> anyhow::Result<Scratch> {
        let prefix = &servers.prefix;
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let database = format!("qsr_{}_{suffix}", prefix.replace(['-', '.'], "_"));
        connect(&servers.admin_database_url)
            .await
            .context("connecting to the test Postgres; is the stack up (make infra-up)?")?
            .execute(&format!("create database {database}"), &[])
            .await
            .context("creating the test database")?;
        Ok(Scratch {
            kafka: KafkaArgs {
                brokers: servers.brokers.clone(),
                stores_topic: format!("{prefix}.{suffix}.stores"),
                orders_topic: format!("{prefix}.{suffix}.orders"),
                partitions: servers.partitions,
                replication: 1,
            },
            postgres: PostgresArgs::new(
                with_database(&servers.admin_database_url, &database),
                servers.db_pool_size,
            ),
            admin_database_url: servers.admin_database_url.clone(),
            prefix: prefix.clone(),
            database,
            suffix,
        })
    }

    /// A topic of the scratch's own: `<prefix>.<suffix>.<what>`.
    pub fn topic(&self, what: &str) -> String {
        format!("{}.{}.{what}", self.prefix, self.suffix)
    }

    /// Another name of its own (a consumer group, a transactional id
    /// prefix): `<prefix>-<suffix>-<what>`.
    pub fn name(&self, what: &str) -> String {
        format!("{}-{}-{what}", self.prefix, self.suffix)
    }

    /// Drops the database and deletes both topics and `more_topics`
    /// (topics that were never created are passed over).
    pub async fn remove(&self, more_topics: &[&str]) -> anyhow::Result<()> {
        connect(&self.admin_database_url)
            .await
            .context("connecting to the test Postgres")?
            .execute(
                &format!("drop database if exists {} with (force)", self.database),
                &[],
            )
            .await
            .context("dropping the test database")?;
        let mut topics = vec![
            self.kafka.stores_topic.as_str(),
            self.kafka.orders_topic.as_str(),
        ];
        topics.extend_from_slice(more_topics);
        topics::delete(&self.kafka, &topics).await
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")
        .context("binding port 0")?
        .local_addr()?
        .port())
}

/// The service binary `bin` as a child process with the settings `env`:
/// its stdout dropped, its stderr the test's; killed when dropped.
pub fn spawn_service(
    bin: &str,
    env: &[(String, String)],
) -> std::io::Result<tokio::process::Child> {
    tokio::process::Command::new(bin)
        .envs(env.iter().cloned())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
