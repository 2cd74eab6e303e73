//! Postgres settings and the connection pool.

use std::time::Duration;

use anyhow::Context;
use axum::http::StatusCode;
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, Timeouts,
};

use crate::Problem;

#[derive(Clone, clap::Args)]
pub struct PostgresArgs {
    /// The read models' database.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:55432/qsr"
    )]
    pub database_url: String,
    /// Connections in the pool.
    #[arg(long, env = "QSR_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: usize,
    /// How long a request waits for a free connection of the pool before it
    /// is answered `503 database_busy`.
    #[arg(long, env = "QSR_DB_POOL_WAIT_MS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub db_pool_wait_ms: u64,
    /// How long opening a new connection to Postgres may take.
    #[arg(long, env = "QSR_DB_CONNECT_TIMEOUT_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub db_connect_timeout_ms: u64,
}

impl PostgresArgs {
    /// The database at `database_url` with the flags' defaults otherwise.
    pub fn new(database_url: impl Into<String>, db_pool_size: usize) -> Self {
        PostgresArgs {
            database_url: database_url.into(),
            db_pool_size,
            db_pool_wait_ms: 2_000,
            db_connect_timeout_ms: 5_000,
        }
    }
}

/// Shows the database URL without its password, so a logged `Config` does not
/// leak it.
impl std::fmt::Debug for PostgresArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every field, by name: a new one fails to compile here until shown.
        let PostgresArgs {
            database_url,
            db_pool_size,
            db_pool_wait_ms,
            db_connect_timeout_ms,
        } = self;
        f.debug_struct("PostgresArgs")
            .field("database_url", &redact_database_url(database_url))
            .field("db_pool_size", db_pool_size)
            .field("db_pool_wait_ms", db_pool_wait_ms)
            .field("db_connect_timeout_ms", db_connect_timeout_ms)
            .finish()
    }
}

/// What stands for a password in a redacted URL.
const REDACTED: &str = "[REDACTED]";

/// `url` with its password replaced, in either form Postgres accepts
/// (`postgres://user:password@host/db?password=...` or
/// `host=... password=...`), for logs and error messages.
pub fn redact_database_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (before_query, query) = match rest.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (rest, None),
        };
        let mut redacted = format!("{scheme}://");
        match before_query.rsplit_once('@') {
            Some((userinfo, host)) => {
                match userinfo.split_once(':') {
                    Some((user, _)) => redacted.push_str(&format!("{user}:{REDACTED}")),
                    None => redacted.push_str(userinfo),
                }
                redacted.push('@');
                redacted.push_str(host);
            }
            None => redacted.push_str(before_query),
        }
        if let Some(query) = query {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}={REDACTED}")
                    }
                    _ => param.to_owned(),
                })
                .collect();
            redacted.push('?');
            redacted.push_str(&params.join("&"));
        }
        return redacted;
    }
    // The key=value form; a value may be quoted ('...' with \' inside).
    let mut redacted = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(at) = find_key(rest, "password") {
        let (head, tail) = rest.split_at(at);
        redacted.push_str(head);
        let Some((key, value)) = tail.split_once('=') else {
            rest = tail;
            break;
        };
        redacted.push_str(key.trim_end());
        redacted.push('=');
        redacted.push_str(REDACTED);
        let value = value.trim_start();
        rest = if let Some(quoted) = value.strip_prefix('\'') {
            let mut end = quoted.len();
            let mut escaped = false;
            for (i, c) in quoted.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '\'' if !escaped => {
                        end = i + 1;
                        break;
                    }
                    _ => escaped = false,
                }
            }
            &quoted[end..]
        } else {
            value
                .find(char::is_whitespace)
                .map_or("", |end| &value[end..])
        };
    }
    redacted.push_str(rest);
    redacted
}

/// Where `key` starts a `key=value` pair in `text`.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find(key) {
        let at = from + found;
        let starts_word = text[..at].ends_with(char::is_whitespace) || at == 0;
        let then_equals = text[at + key.len()..].trim_start().starts_with('=');
        if starts_word && then_equals {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

pub fn connect_pool(args: &PostgresArgs) -> anyhow::Result<Pool> {
    let config: tokio_postgres::Config =
        args.database_url.parse().context("parsing DATABASE_URL")?;
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let connect = Duration::from_millis(args.db_connect_timeout_ms);
    Pool::builder(manager)
        .max_size(args.db_pool_size)
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(Duration::from_millis(args.db_pool_wait_ms)),
            create: Some(connect),
            recycle: Some(connect),
        })
        .build()
        .context("building the Postgres pool")
}

/// A connection of `pool` for a request: `503 database_busy` with
/// `Retry-After` when none is free within the pool's wait (or Postgres does
/// not answer in time), a logged `500` for any other failure.
pub async fn connection(pool: &Pool) -> Result<Object, Problem> {
    pool.get().await.map_err(|error| match error {
        PoolError::Timeout(_) => {
            metrics::counter!("qsr_db_pool_timeouts_total").increment(1);
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_busy",
                "no database connection is free; retry shortly",
            )
            .retry_after(1)
        }
        error => {
            tracing::error!(error = %error, "cannot get a database connection");
            Problem::internal()
        }
    })
}

/// Applies a crate's embedded migrations (the runner of its
/// `refinery::embed_migrations!`) on a connection of `pool`, with their
/// history in `history_table` (each service its own, so services that share
/// a database never mix their histories), and logs each one applied; `what`
/// names the tables in errors. Processes migrating the same history take
/// turns (a Postgres advisory lock named by the history table).
pub async fn migrate(
    pool: &Pool,
    mut migrations: refinery::Runner,
    history_table: &str,
    what: &str,
) -> anyhow::Result<()> {
    let mut client = pool.get().await.context("getting a Postgres connection")?;
    // One migration of these tables at a time: two processes starting
    // together (two instances, or a service and its command line) would
    // otherwise both create the same table, and one fail. A session lock,
    // released below or when the connection ends.
    client
        .execute("select pg_advisory_lock(hashtext($1))", &[&history_table])
        .await
        .with_context(|| format!("waiting to migrate {what}"))?;
    let report = migrations
        .set_migration_table_name(history_table)
        .run_async(&mut **client)
        .await;
    let unlocked = client
        .execute("select pg_advisory_unlock(hashtext($1))", &[&history_table])
        .await;
    let report = report.with_context(|| format!("migrating {what}"))?;
    unlocked.with_context(|| format!("releasing the lock of migrating {what}"))?;
    for migration in report.applied_migrations() {
        tracing::info!(migration = %migration, "applied migration");
    }
    Ok(())
}

/// The readiness check of a service whose one dependency is Postgres.
pub fn postgres_ready_check(pool: Pool) -> crate::ReadyCheck {
    std::sync::Arc::new(move || {
        let pool = pool.clone();
        Box::pin(async move { postgres_ready(&pool).await })
    })
}

/// A query to Postgres: the readiness check of the database.
pub async fn postgres_ready(pool: &Pool) -> anyhow::Result<()> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    client
        .query_one("select 1", &[])
        .await
        .context("querying Postgres")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "s3cr3t-pa55";

    #[test]
    fn the_debug_of_the_settings_hides_the_password() {
        let args = PostgresArgs::new(format!("postgres://qsr:{PASSWORD}@db.internal:5432/qsr"), 4);
        let shown = format!("{args:?}");
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(
            shown.contains("postgres://qsr:[REDACTED]@db.internal:5432/qsr"),
            "{shown}"
        );
        assert!(shown.contains("db_pool_size: 4"), "{shown}");
    }

    #[test]
    fn every_form_of_password_is_redacted() {
        let cases = [
            (
                "postgres://qsr:s3cr3t-pa55@h:1/db",
                "postgres://qsr:[REDACTED]@h:1/db",
            ),
            (
                "postgresql://qsr:p%40ss:s3cr3t-pa55@h/db?sslmode=require",
                "postgresql://qsr:[REDACTED]@h/db?sslmode=require",
            ),
            (
                "postgres://qsr@h/db?password=s3cr3t-pa55&application_name=x",
                "postgres://qsr@h/db?password=[REDACTED]&application_name=x",
            ),
            (
                "host=h user=qsr password=s3cr3t-pa55 dbname=qsr",
                "host=h user=qsr password=[REDACTED] dbname=qsr",
            ),
            (
                "host=h password = 's3cr3t\\' pa55' dbname=qsr",
                "host=h password=[REDACTED] dbname=qsr",
            ),
            (
                "postgres://postgres@127.0.0.1:55432/qsr",
                "postgres://postgres@127.0.0.1:55432/qsr",
            ),
            ("host=h user=qsr", "host=h user=qsr"),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_database_url(url), expected, "{url}");
        }
    }
}
