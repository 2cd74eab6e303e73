//! Settling payments after a commit: the gateway carries out the capture,
//! void or refund that a committed order event records.

use domain::{Change, OrderEvent};

use super::state::AppState;
use crate::payments::within;

/// Carries out the payment decisions of committed events at the gateway. Our
/// ids are its idempotency keys, so a retry of these calls is safe.
pub(super) async fn settle_payments(state: &AppState, committed: &[domain::Event]) {
    for event in committed {
        let Change::Order { event, .. } = &event.change else {
            continue;
        };
        let result = match event {
            OrderEvent::PaymentCaptured {
                payment_id, amount, ..
            } => {
                within(
                    state.gateway_timeout,
                    state.gateway.capture(*payment_id, *amount),
                )
                .await
            }
            OrderEvent::PaymentVoided { payment_id, .. } => {
                within(state.gateway_timeout, state.gateway.void(*payment_id)).await
            }
            OrderEvent::PaymentRefunded {
                payment_id,
                refund_id,
                amount,
                ..
            } => {
                within(
                    state.gateway_timeout,
                    state.gateway.refund(*payment_id, *refund_id, *amount),
                )
                .await
            }
            _ => continue,
        };
        if let Err(error) = result {
            tracing::error!(?event, %error, "the gateway did not carry out a committed payment decision");
        }
    }
}
