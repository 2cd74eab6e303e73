//! command-api: takes commands over HTTP, decides them against the state of the
//! store's partition, and appends the resulting events to Kafka in transactions,
//! with one writer per partition.
//!
//! Entry point: [`run`], which takes a bound listener and a shutdown future, so
//! tests start the service in process on port 0.

mod config;
mod dto;
mod error;
mod limits;
mod membership;
mod openapi;
mod payments;
mod routes;
mod server;
mod writer;

pub use config::{Cli, Config, Subcommand, TokenArgs};
pub use limits::Limits;
pub use openapi::ApiDoc;
pub use server::{app, run};

/// Mints a token for `args`.
pub fn mint(args: &TokenArgs) -> anyhow::Result<String> {
    let claims = platform::Claims::new(
        args.sub.clone(),
        args.role,
        args.stores.clone(),
        chrono::Utc::now().timestamp() + args.ttl_hours * 3600,
    );
    platform::JwtKeys::from_args(&args.auth).mint(&claims)
}
