//! Settings, from flags or environment variables, with local defaults.

use std::net::SocketAddr;

use platform::{AuthArgs, HttpLimits, PostgresArgs};

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
    #[command(flatten)]
    pub http: HttpLimits,
    /// Event streams (`GET /v1/orders/{id}/events`) one caller may hold open
    /// at once; one more is answered `429 too_many_streams`.
    #[arg(long, env = "QSR_STREAMS_PER_CALLER", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub streams_per_caller: u32,
}
