//! The identity binary: parses settings, then serves (binds and runs the
//! service) or runs a subcommand (see `identity::cli`).

use anyhow::Context;
use clap::Parser;
use identity::cli::Cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { config, command } = Cli::parse();
    platform::init_tracing();
    if let Some(command) = command {
        return identity::cli::execute(&config, command).await;
    }
    // Secrets show as [REDACTED] (platform::PostgresArgs, the SMTP URL).
    tracing::info!(?config, "starting");
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    identity::run(config, listener, platform::shutdown_signal()).await
}
