//! Settings, from flags or environment variables, with local defaults.

use std::net::SocketAddr;

use platform::{AuthArgs, PostgresArgs};

/// Serves reads of stores, menus, orders, kitchen queues and sales from the
/// read models, with live updates.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "query-api", version, about)]
pub struct Config {
    /// Address to serve HTTP on.
    #[arg(long, env = "QSR_QUERY_API_ADDR", default_value = "127.0.0.1:8081")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub postgres: PostgresArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
}
