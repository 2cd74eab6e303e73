//! testkit: what the integration tests of every crate share: where the local
//! stack's Kafka and Postgres are (`make test` sets `QSR_KAFKA_BROKERS` and
//! `QSR_TEST_DATABASE_URL`), test databases, free ports and tokens. For tests
//! only; no service depends on it.

use anyhow::Context;
use platform::{Claims, DEVELOPMENT_SECRET, JwtKeys, KafkaArgs, PostgresArgs, Role};

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

/// A test's own topics (3 partitions) and database on the test servers,
/// named `<prefix>.<suffix>.stores`/`.orders` and `qsr_<prefix>_<suffix>`.
#[derive(Debug)]
pub struct Scratch {
    /// Unique to this test: for more names of its own.
    pub suffix: String,
    pub database: String,
    pub kafka: KafkaArgs,
    pub postgres: PostgresArgs,
}

/// Creates the database of a new [`Scratch`]; the services create the topics.
pub async fn scratch(prefix: &str, db_pool_size: usize) -> anyhow::Result<Scratch> {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let database = format!("qsr_{}_{suffix}", prefix.replace(['-', '.'], "_"));
    admin_client()
        .await?
        .execute(&format!("create database {database}"), &[])
        .await
        .context("creating the test database")?;
    Ok(Scratch {
        kafka: KafkaArgs {
            brokers: brokers(),
            stores_topic: format!("{prefix}.{suffix}.stores"),
            orders_topic: format!("{prefix}.{suffix}.orders"),
            partitions: 3,
            replication: 1,
        },
        postgres: PostgresArgs::new(
            with_database(&admin_database_url(), &database),
            db_pool_size,
        ),
        database,
        suffix,
    })
}

/// A port nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")
        .context("binding port 0")?
        .local_addr()?
        .port())
}

/// A token for an hour, signed with the development secret the test services use.
pub fn token(role: Role, sub: &str, stores: &[&str]) -> anyhow::Result<String> {
    let claims = Claims {
        sub: sub.into(),
        role,
        stores: stores.iter().map(|s| (*s).to_owned()).collect(),
        exp: chrono::Utc::now().timestamp() + 3600,
    };
    JwtKeys::new(DEVELOPMENT_SECRET).mint(&claims)
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
