//! The command-api binary: parses settings, binds, and runs the service.

use anyhow::Context;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = command_api::Config::parse();
    platform::init_tracing();
    tracing::info!(?config, "starting");
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    command_api::run(config, listener, platform::shutdown_signal()).await
}
