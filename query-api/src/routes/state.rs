//! What every handler reaches: the pool, the keys, the projector's
//! notifications, and the cache of rendered menus.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::FromRef;
use dashmap::DashMap;
use deadpool_postgres::Pool;
use platform::JwtKeys;
use tokio_util::sync::CancellationToken;

use crate::notify::Changes;

/// What every handler reaches.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: Pool,
    pub keys: JwtKeys,
    pub changes: Changes,
    /// Cancelled when the server shuts down: event streams end then.
    pub shutdown: CancellationToken,
    /// Menus as last rendered, valid while no change came in since.
    pub menus: Arc<DashMap<String, Rendered>>,
    /// The event streams each caller holds open.
    pub streams: crate::streams::Streams,
}

/// A rendered body and its tag, as of a generation of the read models (see
/// [`Changes::generation`]).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub(super) generation: u64,
    pub(super) etag: String,
    pub(super) body: Bytes,
}

/// How many rendered menus are kept before the cache starts over.
pub(super) const RENDERED_MAX: usize = 10_000;

impl FromRef<AppState> for JwtKeys {
    fn from_ref(state: &AppState) -> JwtKeys {
        state.keys.clone()
    }
}
