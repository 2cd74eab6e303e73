//! The bodies of the commands on a placed order: accept, reject, start,
//! ready, complete, cancel, refund.

use chrono::{DateTime, FixedOffset};
use domain::Money;
use platform::FieldError;
use serde::Deserialize;

use super::fields::Fields;
use super::money::{MoneyBody, RefundAmount};

/// `POST /v1/orders/{order_id}/accept`
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    pub ready_at: Option<DateTime<FixedOffset>>,
}

/// The body of the order commands without fields: `start`, `ready`, `complete`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

/// `POST /v1/orders/{order_id}/reject` and `/cancel`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// 1-500 characters, not only white space.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub reason: String,
}

/// `POST /v1/orders/{order_id}/refunds`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    #[schema(value_type = RefundAmount)]
    pub amount: MoneyBody,
    /// 1-500 characters, not only white space.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub reason: String,
}

/// The most characters of a reason.
const MAX_REASON: usize = 500;

/// A reason a person gave: 1-500 characters, not only white space; kept
/// trimmed.
pub fn parse_reason(reason: String) -> Result<String, Vec<FieldError>> {
    let mut f = Fields::default();
    let trimmed = reason.trim().to_owned();
    if trimmed.is_empty() || reason.chars().count() > MAX_REASON {
        f.check::<(), _>(
            "reason",
            Err(format!("must have 1-{MAX_REASON} characters")),
        );
    }
    f.finish(Some(trimmed))
}

impl RefundBody {
    pub fn parse(self) -> Result<(Money, String), Vec<FieldError>> {
        let mut f = Fields::default();
        let amount = f.check("amount", self.amount.parse());
        let reason = match parse_reason(self.reason) {
            Ok(reason) => Some(reason),
            Err(errors) => {
                f.0.extend(errors);
                None
            }
        };
        f.finish(amount.zip(reason))
    }
}
