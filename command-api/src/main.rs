//! The command-api binary: the service, or `token` to mint a development token.

use anyhow::Context;
use clap::Parser;
use command_api::{Cli, Subcommand};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Subcommand::Token(args)) = cli.command {
        println!("{}", command_api::mint(&args)?);
        return Ok(());
    }
    let config = cli.config;
    platform::init_tracing();
    // Secrets show as [REDACTED] (platform::AuthArgs).
    tracing::info!(?config, "starting");
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    command_api::run(config, listener, platform::shutdown_signal()).await
}
