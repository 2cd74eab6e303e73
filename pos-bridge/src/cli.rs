//! The command line: the daemon's own settings (addresses, Kafka, Postgres,
//! where the settings file is) from flags or environment variables with local
//! defaults, and the `print-sink` and `replay` subcommands.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use platform::{HttpLimits, KafkaArgs, PostgresArgs};

/// Sends each store's orders to its kitchen printers and displays, and the
/// kitchen's feedback to command-api.
#[derive(Debug, clap::Parser)]
#[command(
    name = "pos-bridge",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Subcommand>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, clap::Subcommand)]
pub enum Subcommand {
    /// Listen like a kitchen printer and write every ticket received to standard
    /// output as readable text (for development; no printer needed).
    PrintSink(SinkArgs),
    /// Send a store's kitchen tickets again, marked REPRINT, through the
    /// running bridge (which picks them up within seconds).
    Replay(ReplayArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct SinkArgs {
    /// Address to listen on.
    #[arg(long, env = "QSR_PRINT_SINK_ADDR", default_value = "127.0.0.1:9100")]
    pub listen: SocketAddr,
    /// Write the raw ESC/POS bytes instead of decoding them.
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// The store whose tickets to send again.
    #[arg(long)]
    pub store: String,
    /// Tickets fired at or after this time (RFC 3339, e.g. 2026-11-24T12:00:00Z).
    #[arg(long)]
    pub since: DateTime<Utc>,
    /// Seconds to wait for the bridge to deliver the reprints (0: do not wait).
    #[arg(long, default_value_t = 60)]
    pub wait_secs: u64,
    #[command(flatten)]
    pub postgres: PostgresArgs,
}

/// The daemon's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to serve /healthz, /readyz, /metrics and the feedback endpoints on.
    #[arg(long, env = "QSR_POS_BRIDGE_ADDR", default_value = "127.0.0.1:8082")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub postgres: PostgresArgs,
    /// Consumer group of the bridge.
    #[arg(long, env = "QSR_POS_BRIDGE_GROUP", default_value = "qsr-pos-bridge")]
    pub group: String,
    /// A stable id of this instance in the consumer group (Kafka static
    /// membership): a restarted instance takes its partitions back at once
    /// instead of after the session timeout. Unique per running instance.
    #[arg(long, env = "QSR_POS_BRIDGE_INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// The TOML file of stores and sinks (see `stack/demo/pos-bridge.toml`).
    #[arg(
        long = "config",
        env = "QSR_POS_BRIDGE_CONFIG",
        default_value = "pos-bridge.toml"
    )]
    pub settings_file: PathBuf,
    #[command(flatten)]
    pub http: HttpLimits,
}
