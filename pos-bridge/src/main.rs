//! The pos-bridge binary: the daemon, or `print-sink` for development.

use anyhow::Context;
use clap::Parser;
use pos_bridge::{Cli, Subcommand};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    platform::init_tracing();
    match cli.command {
        Some(Subcommand::PrintSink(args)) => {
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            pos_bridge::print_sink(listener, std::io::stdout(), platform::shutdown_signal()).await
        }
        None => {
            let config = cli.config;
            let listener = tokio::net::TcpListener::bind(config.addr)
                .await
                .with_context(|| format!("binding {}", config.addr))?;
            pos_bridge::run(config, listener, platform::shutdown_signal()).await
        }
    }
}
