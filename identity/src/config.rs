//! Settings, from flags or environment variables, with local defaults.

use std::net::SocketAddr;

use platform::{HttpLimits, PostgresArgs};

/// Keeps accounts and signs the access tokens every service verifies.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "identity", version, about)]
pub struct Config {
    /// Address to serve HTTP on.
    #[arg(long, env = "QSR_IDENTITY_ADDR", default_value = "127.0.0.1:8084")]
    pub addr: SocketAddr,
    /// The tokens' `iss`, and the base of the URLs the discovery document
    /// names.
    #[arg(
        long,
        env = "QSR_IDENTITY_ISSUER",
        default_value = "http://127.0.0.1:8084"
    )]
    pub issuer: String,
    /// The tokens' `aud`: the services that accept them.
    #[arg(long, env = "QSR_IDENTITY_AUDIENCE", default_value = "qsr")]
    pub audience: String,
    #[command(flatten)]
    pub postgres: PostgresArgs,
    #[command(flatten)]
    pub http: HttpLimits,
}
