//! Settings, from flags or environment variables, with local defaults.

use std::net::SocketAddr;

use platform::{HttpLimits, KafkaArgs, PostgresArgs};

/// Projects the event log into the Postgres read models.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "projector", version, about)]
pub struct Config {
    /// Address to serve /healthz, /readyz on.
    #[arg(long, env = "QSR_PROJECTOR_ADDR", default_value = "127.0.0.1:8083")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub postgres: PostgresArgs,
    /// Consumer group id (offsets live in Postgres; the group only names the client).
    #[arg(long, env = "QSR_PROJECTOR_GROUP", default_value = "qsr-projector")]
    pub group: String,
    /// Most events applied in one Postgres transaction.
    #[arg(long, env = "QSR_PROJECTOR_BATCH_MAX", default_value_t = 5000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch_max: u32,
    /// Where records the read models cannot take go, with the reason in headers.
    #[arg(long, env = "QSR_DEAD_LETTER_TOPIC", default_value = "qsr.dead-letter")]
    pub dead_letter_topic: String,
    /// The health and metrics server's header timeout (its other limits do
    /// not apply: it serves probes only).
    #[command(flatten)]
    pub http: HttpLimits,
}
