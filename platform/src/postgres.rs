//! Postgres settings and the connection pool.

use anyhow::Context;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

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
    Pool::builder(manager)
        .max_size(args.db_pool_size)
        .build()
        .context("building the Postgres pool")
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
