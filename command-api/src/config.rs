//! Settings, from flags or environment variables, with local defaults.

use std::net::SocketAddr;

use platform::{AuthArgs, HttpLimits, KafkaArgs};

use crate::limits::Limits;

/// Takes order and store commands over HTTP and appends their events to Kafka.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "command-api", version, about)]
pub struct Config {
    /// Address to serve HTTP on.
    #[arg(long, env = "QSR_COMMAND_API_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// Consumer group of the command-api instances: it assigns partitions.
    #[arg(long, env = "QSR_COMMAND_API_GROUP", default_value = "qsr-command-api")]
    pub group: String,
    /// Prefix of the transactional ids; partition p writes as `<prefix>-p<p>`.
    #[arg(
        long,
        env = "QSR_TRANSACTIONAL_ID_PREFIX",
        default_value = "qsr-command-api"
    )]
    pub transactional_id_prefix: String,
    /// Most commands decided and committed in one Kafka transaction (group commit).
    #[arg(long, env = "QSR_BATCH_MAX", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_max: u32,
    /// How long a Kafka transaction may stay open before the broker aborts it,
    /// and a transaction call may block; a commit that cannot finish in it
    /// answers its batch `503`.
    #[arg(long, env = "QSR_TRANSACTION_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1000..=900_000))]
    pub transaction_timeout_ms: u64,
    /// Seconds an order stays in memory after it ended (completed, cancelled,
    /// rejected); commands on it after that answer `410 Gone`.
    #[arg(long, env = "QSR_ENDED_ORDER_RETENTION_SECS", default_value_t = 86_400)]
    pub ended_order_retention_secs: u64,
    /// How long the payment gateway may take before the order is refused with
    /// `503 payment_unavailable`.
    #[arg(long, env = "QSR_GATEWAY_TIMEOUT_MS", default_value_t = 5000)]
    pub gateway_timeout_ms: u64,
    #[command(flatten)]
    pub http: HttpLimits,
    #[command(flatten)]
    pub limits: Limits,
}
