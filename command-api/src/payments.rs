//! The payment gateway: authorisation before an order is appended; capture,
//! void and refund after the decision that calls for them is committed. No
//! card data ever reaches us, only the gateway's tokens and ids.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use domain::{Money, PaymentId, RefundId};

/// A successful authorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    /// The gateway's id of the authorisation.
    pub reference: String,
}

/// Why a payment call failed; the authorisation's are each one API `code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// `402 payment_declined`
    #[error("the card was declined")]
    Declined,
    /// `402 insufficient_funds`
    #[error("the card has insufficient funds")]
    InsufficientFunds,
    /// `422 invalid_payment_token`
    #[error("unknown payment token")]
    InvalidToken,
    /// `503 payment_unavailable`
    #[error("the payment gateway did not answer in time")]
    Unavailable,
}

type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<T, PaymentError>> + Send + 'a>>;

/// A payment gateway. Our ids are its idempotency keys (`payment_id` for the
/// payment, `refund_id` for a refund), so a retried call never charges twice.
pub trait Gateway: Send + Sync + std::fmt::Debug {
    fn authorize<'a>(
        &'a self,
        payment_id: PaymentId,
        token: &'a str,
        amount: Money,
    ) -> Answer<'a, Authorized>;
    fn capture(&self, payment_id: PaymentId, amount: Money) -> Answer<'_, ()>;
    fn void(&self, payment_id: PaymentId) -> Answer<'_, ()>;
    fn refund(&self, payment_id: PaymentId, refund_id: RefundId, amount: Money) -> Answer<'_, ()>;
}

/// The built-in sandbox: test tokens behave like Stripe's test payment methods.
#[derive(Debug, Default)]
pub struct Sandbox;

impl Gateway for Sandbox {
    fn authorize<'a>(
        &'a self,
        payment_id: PaymentId,
        token: &'a str,
        _amount: Money,
    ) -> Answer<'a, Authorized> {
        Box::pin(async move {
            match token {
                "tok_visa" => Ok(Authorized {
                    reference: format!("sandbox_auth_{}", payment_id.0.simple()),
                }),
                "tok_chargeDeclined" => Err(PaymentError::Declined),
                "tok_chargeDeclinedInsufficientFunds" => Err(PaymentError::InsufficientFunds),
                // Never answers: the caller's timeout turns this into `Unavailable`.
                "tok_timeout" => std::future::pending().await,
                _ => Err(PaymentError::InvalidToken),
            }
        })
    }

    fn capture(&self, _payment_id: PaymentId, _amount: Money) -> Answer<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn void(&self, _payment_id: PaymentId) -> Answer<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn refund(
        &self,
        _payment_id: PaymentId,
        _refund_id: RefundId,
        _amount: Money,
    ) -> Answer<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// Runs a gateway call with a deadline: a gateway that does not answer is
/// unavailable.
pub async fn within<T>(timeout: Duration, call: Answer<'_, T>) -> Result<T, PaymentError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or(Err(PaymentError::Unavailable))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(amount: i64) -> Money {
        Money::new(amount, domain::Currency::parse("USD").unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn sandbox_tokens_behave_like_their_names() {
        let id = PaymentId(uuid::Uuid::nil());
        let at = |token: &'static str| {
            within(
                Duration::from_secs(5),
                Sandbox.authorize(id, token, usd(100)),
            )
        };
        assert!(at("tok_visa").await.is_ok());
        assert_eq!(at("tok_chargeDeclined").await, Err(PaymentError::Declined));
        assert_eq!(
            at("tok_chargeDeclinedInsufficientFunds").await,
            Err(PaymentError::InsufficientFunds)
        );
        assert_eq!(
            at("tok_mastercard_typo").await,
            Err(PaymentError::InvalidToken)
        );
        // Paused time: the five seconds pass at once.
        assert_eq!(at("tok_timeout").await, Err(PaymentError::Unavailable));
    }
}
