//! Settings, from flags or environment variables, with local defaults.

use std::net::SocketAddr;

use platform::PostgresArgs;

/// Serves reads of stores, menus and orders from the read models.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "query-api", version, about)]
pub struct Config {
    /// Address to serve HTTP on.
    #[arg(long, env = "QSR_QUERY_API_ADDR", default_value = "127.0.0.1:8081")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub postgres: PostgresArgs,
}
