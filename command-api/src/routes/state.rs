//! What the handlers share: the writers, the Kafka settings for the
//! readiness check, the token keys, the payment gateway and the placement
//! limiter.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use platform::{JwtKeys, KafkaArgs};

use crate::limits::Placements;
use crate::payments::Gateway;
use crate::writer::Writers;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub writers: Writers,
    pub kafka: KafkaArgs,
    pub keys: JwtKeys,
    pub gateway: Arc<dyn Gateway>,
    pub gateway_timeout: Duration,
    pub placements: Placements,
}

impl FromRef<AppState> for JwtKeys {
    fn from_ref(state: &AppState) -> JwtKeys {
        state.keys.clone()
    }
}

impl FromRef<AppState> for Placements {
    fn from_ref(state: &AppState) -> Placements {
        state.placements.clone()
    }
}
