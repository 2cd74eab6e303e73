//! Settings, from flags or environment variables, with local defaults.

use std::net::{IpAddr, SocketAddr};

use platform::{HttpLimits, PostgresArgs};
use secrecy::SecretString;

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
    #[command(flatten)]
    pub mail: MailArgs,
    /// Whether a customer whose email is not verified may place orders.
    /// When `false`, such a customer's access tokens carry
    /// `"email_verified": false` for the order service to refuse; when
    /// `true`, customers' tokens carry no `email_verified` claim at all.
    #[arg(long, env = "QSR_ALLOW_UNVERIFIED_ORDERS", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub allow_unverified_orders: bool,
    /// The window failed logins are counted in: after 5 failures of one
    /// account (or 20 from one address) within it, logins are refused with
    /// `429` until the oldest failure leaves it. Counted per instance.
    #[arg(long, env = "QSR_LOGIN_WINDOW_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub login_window_secs: u64,
    /// Proxies (comma-separated IPs) whose `X-Forwarded-For` is believed: a
    /// request from one of them is counted against the last address that
    /// header names instead of the proxy's.
    #[arg(
        long = "trusted-proxy",
        env = "QSR_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpAddr>,
    /// How often the signing keys are read again from Postgres, so that a
    /// rotation (`identity keys rotate`) needs no restart. A new key signs
    /// only twice this long after the rotation, once every instance
    /// publishes it.
    #[arg(long, env = "QSR_KEY_RELOAD_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub key_reload_secs: u64,
    /// How long a POS device's access token (`POST /v1/auth/token`) lives.
    #[arg(long, env = "QSR_POS_TOKEN_SECS", default_value_t = 600,
          value_parser = clap::value_parser!(i64).range(60..=86_400))]
    pub pos_token_secs: i64,
}

/// A secret as clap reads it: `Debug` (so a logged `Config`) shows
/// `[REDACTED]`, since the relay's address may carry its password.
fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}

/// Where mail goes and what its links point at.
#[derive(Debug, Clone, clap::Args)]
pub struct MailArgs {
    /// The SMTP relay: `smtp://host:port` (plain), `smtp://host:port?tls=required`
    /// (STARTTLS) or `smtps://host:port`, with `user:password@` if it wants
    /// them. Empty: no relay, mail stays queued in the outbox.
    #[arg(
        long,
        env = "QSR_SMTP_URL",
        default_value = "smtp://127.0.0.1:2525",
        hide_env_values = true,
        value_parser = secret
    )]
    pub smtp_url: SecretString,
    /// The `From` of every mail.
    #[arg(
        long,
        env = "QSR_MAIL_FROM",
        default_value = "QSR <no-reply@qsr.localhost>"
    )]
    pub mail_from: String,
    /// The web app's base address, for the mails' links
    /// (`/verify-email?token=`, `/reset-password?token=`, `/invitation?token=`).
    #[arg(long, env = "QSR_PUBLIC_URL", default_value = "http://127.0.0.1:8000")]
    pub public_url: String,
}
