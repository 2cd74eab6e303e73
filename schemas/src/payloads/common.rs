//! What the payloads of both aggregates share: money on the wire, and why a
//! well-formed payload may still not make a valid domain value.

use domain::{Currency, IdError, Money, MoneyError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Why a well-formed payload does not make a valid domain value.
#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    #[error(transparent)]
    Id(#[from] IdError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("unknown time zone `{0}`")]
    TimeZone(String),
    #[error("`{0}` is not a time of day (HH:MM)")]
    Time(String),
    #[error("{0}")]
    Invalid(String),
}

/// An amount in the currency's minor units (cents for USD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyV1 {
    /// Minor units, e.g. 1299 for USD 12.99.
    pub amount: i64,
    /// ISO 4217 code.
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    pub currency: String,
}

impl From<Money> for MoneyV1 {
    fn from(m: Money) -> Self {
        MoneyV1 {
            amount: m.amount,
            currency: m.currency.as_str().to_owned(),
        }
    }
}

impl TryFrom<&MoneyV1> for Money {
    type Error = ConversionError;
    fn try_from(m: &MoneyV1) -> Result<Self, Self::Error> {
        Ok(Money::new(m.amount, Currency::parse(&m.currency)?))
    }
}
