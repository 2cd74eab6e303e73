//! The pos-bridge binary: the daemon, `replay`, or `print-sink` for development.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use pos_bridge::{Cli, Settings, Subcommand};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    platform::init_tracing();
    match cli.command {
        Some(Subcommand::PrintSink(args)) => {
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            pos_bridge::print_sink(
                listener,
                args.raw,
                std::io::stdout(),
                platform::shutdown_signal(),
            )
            .await
        }
        Some(Subcommand::Replay(args)) => {
            let pool = platform::connect_pool(&args.postgres)?;
            let wait = Duration::from_secs(args.wait_secs);
            let done = pos_bridge::replay(&pool, &args.store, args.since, wait).await?;
            println!(
                "queued {} reprints for {} since {}; {} still waiting for their sink",
                done.queued, args.store, args.since, done.pending
            );
            Ok(())
        }
        None => {
            let config = cli.config;
            let settings = Settings::load(&config.settings_file)?;
            // Secrets show as [REDACTED] or Secret(..) (PostgresArgs, config::Secret).
            tracing::info!(?config, ?settings, "starting");
            let listener = tokio::net::TcpListener::bind(config.addr)
                .await
                .with_context(|| format!("binding {}", config.addr))?;
            pos_bridge::run(config, settings, listener, platform::shutdown_signal()).await
        }
    }
}
