//! The payment gateway: authorisation before an order is appended. No card
//! data ever reaches us, only the gateway's tokens and ids.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use domain::{Money, PaymentId};

/// A successful authorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    /// The gateway's id of the authorisation.
    pub reference: String,
}

/// Why a payment was not authorised; each is one `code` of the API.
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

type Answer<'a> = Pin<Box<dyn Future<Output = Result<Authorized, PaymentError>> + Send + 'a>>;

/// A payment gateway. `payment_id` is the idempotency key at the gateway, so a
/// retried authorisation never charges twice.
pub trait Gateway: Send + Sync + std::fmt::Debug {
    fn authorize<'a>(&'a self, payment_id: PaymentId, token: &'a str, amount: Money) -> Answer<'a>;
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
    ) -> Answer<'a> {
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
}

/// Authorises with a deadline: a gateway that does not answer is unavailable.
pub async fn authorize_within(
    gateway: &dyn Gateway,
    timeout: Duration,
    payment_id: PaymentId,
    token: &str,
    amount: Money,
) -> Result<Authorized, PaymentError> {
    tokio::time::timeout(timeout, gateway.authorize(payment_id, token, amount))
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
            authorize_within(&Sandbox, Duration::from_secs(5), id, token, usd(100))
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
