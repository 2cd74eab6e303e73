//! Postgres settings and the connection pool.

use std::time::Duration;

use anyhow::Context;
use axum::http::StatusCode;
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, Timeouts,
};

use crate::Problem;

#[derive(Debug, Clone, clap::Args)]
pub struct PostgresArgs {
    /// The read models' database.
    #[arg(
        long,
        env = "DATABASE_URL",
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

/// A query to Postgres: the readiness check of the database.
pub async fn postgres_ready(pool: &Pool) -> anyhow::Result<()> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    client
        .query_one("select 1", &[])
        .await
        .context("querying Postgres")?;
    Ok(())
}
