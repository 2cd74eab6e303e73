//! Settings, from flags or environment variables, with local defaults.

use std::net::SocketAddr;

use platform::KafkaArgs;

/// Sends orders to kitchen printers.
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
    /// output (for development; no printer needed).
    PrintSink(SinkArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct SinkArgs {
    /// Address to listen on.
    #[arg(long, env = "QSR_PRINT_SINK_ADDR", default_value = "127.0.0.1:9100")]
    pub listen: SocketAddr,
}

/// The daemon's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to serve /healthz, /readyz on.
    #[arg(long, env = "QSR_POS_BRIDGE_ADDR", default_value = "127.0.0.1:8082")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Consumer group of the bridge; it commits an order's offset once its ticket is sent.
    #[arg(long, env = "QSR_POS_BRIDGE_GROUP", default_value = "qsr-pos-bridge")]
    pub group: String,
    /// The kitchen printer (raw TCP, as ESC/POS printers listen on port 9100).
    #[arg(long, env = "QSR_PRINTER_ADDR", default_value = "127.0.0.1:9100")]
    pub printer: String,
    /// Seconds to connect to, and to write to, the printer.
    #[arg(long, env = "QSR_PRINTER_TIMEOUT_SECS", default_value_t = 3)]
    pub printer_timeout_secs: u64,
}
