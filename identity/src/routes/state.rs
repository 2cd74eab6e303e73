//! What every handler reaches: the pool and the signing keys.

use std::sync::Arc;

use deadpool_postgres::Pool;

use crate::keys::Signer;

/// What every handler reaches.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: Pool,
    pub signer: Arc<Signer>,
}
