//! What every handler reaches: the pool, the signing keys, the login
//! throttle and the settings the routes read.

use std::net::IpAddr;
use std::sync::Arc;

use deadpool_postgres::Pool;
use tokio::sync::Notify;

use crate::keys::Signer;
use crate::password::DummyHash;
use crate::throttle::LoginThrottle;

/// The settings the routes read, from `Config`.
#[derive(Debug, Clone)]
pub struct RouteSettings {
    /// The web app's base address, for the mails' links.
    pub public_url: String,
    /// See `Config::allow_unverified_orders`.
    pub allow_unverified_orders: bool,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// How long a POS device's access token lives.
    pub pos_token_seconds: i64,
}

/// What every handler reaches.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: Pool,
    pub signer: Arc<Signer>,
    pub settings: Arc<RouteSettings>,
    pub throttle: Arc<LoginThrottle>,
    pub dummy_hash: Arc<DummyHash>,
    /// Wakes the mail sender when a mail was queued.
    pub mail_queued: Arc<Notify>,
}
