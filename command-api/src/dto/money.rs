//! Amounts of money in request and answer bodies: `MoneyBody` on the wire,
//! and the documented shapes (with their ranges) each amount of a request
//! takes.

use domain::{Currency, Money};
use serde::{Deserialize, Serialize};

use super::fields::whole;

/// An amount of money in minor units (cents for USD) of an ISO 4217 currency.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyBody {
    #[serde(deserialize_with = "whole::i64")]
    #[schema(minimum = -9223372036854775808i64, maximum = 9223372036854775807i64)]
    pub amount: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
}

impl MoneyBody {
    pub(super) fn parse(&self) -> Result<Money, domain::MoneyError> {
        Ok(Money::new(self.amount, Currency::parse(&self.currency)?))
    }
}

impl From<Money> for MoneyBody {
    fn from(m: Money) -> Self {
        MoneyBody {
            amount: m.amount,
            currency: m.currency.to_string(),
        }
    }
}

// The documented shapes of the amounts a request sends, each with the range
// the server takes (a `MoneyBody` on the wire; never built).

/// A price or a price difference of a menu: not negative, in the store's
/// currency (else `422 invalid_menu`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Price {
    #[schema(minimum = 0, maximum = 9223372036854775807i64)]
    amount: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: String,
}

/// A tip: not negative (else `422 invalid_tip`), in the store's currency
/// (else `422 currency_mismatch`), at most the larger of the subtotal and the
/// store's `max_tip` (else `422 tip_too_large`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Tip {
    #[schema(minimum = 0, maximum = 9223372036854775807i64)]
    amount: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: String,
}

/// A limit of the store: 1 to 10^10 minor units, in the store's currency
/// (else `422 invalid_store`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Limit {
    #[schema(minimum = 1, maximum = 10000000000i64)]
    amount: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: String,
}

/// A refund: positive, in the order's currency, at most what was captured
/// and not yet refunded (else `422 invalid_refund_amount`,
/// `refund_exceeds_captured`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RefundAmount {
    #[schema(minimum = 1, maximum = 9223372036854775807i64)]
    amount: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: String,
}
