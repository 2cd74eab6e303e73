//! Money in integer minor units of one currency; never floating point.

use std::fmt;

/// An ISO 4217 code: three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

/// Why an amount or currency is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an ISO 4217 currency code")]
    Currency(String),
    #[error("amounts in {expected} cannot be mixed with {found}")]
    Mismatch { expected: Currency, found: Currency },
    #[error("amount out of range")]
    Overflow,
}

impl Currency {
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        match code.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Self([a, b, c])),
            _ => Err(MoneyError::Currency(code.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        // The constructor admits only ASCII letters, so this is always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount in minor units (cents for USD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub amount: i64,
    pub currency: Currency,
}

/// `1299 USD`: the amount in minor units and the currency.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self {
            amount: 0,
            currency,
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self * bps / 10_000`, rounded half away from zero: how tax is computed.
    pub fn basis_points(self, bps: u32) -> Result<Money, MoneyError> {
        let product = i128::from(self.amount) * i128::from(bps);
        let (quotient, remainder) = (product / 10_000, product % 10_000);
        let rounded = if remainder.abs() * 2 >= 10_000 {
            quotient + product.signum()
        } else {
            quotient
        };
        let amount = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::Mismatch {
                expected: self.currency,
                found: other.currency,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::parse("USD").unwrap())
    }

    #[test]
    fn tax_rounds_half_away_from_zero() {
        // 1998 * 8.75% = 174.825 -> 175 (the example of API.md).
        assert_eq!(usd(1998).basis_points(875).unwrap(), usd(175));
        // 100 * 0.5% = 0.5 -> 1; 99 * 0.5% = 0.495 -> 0.
        assert_eq!(usd(100).basis_points(50).unwrap(), usd(1));
        assert_eq!(usd(99).basis_points(50).unwrap(), usd(0));
        assert_eq!(usd(-100).basis_points(50).unwrap(), usd(-1));
    }

    #[test]
    fn refuses_to_mix_currencies() {
        let eur = Money::new(1, Currency::parse("EUR").unwrap());
        assert!(matches!(
            usd(1).checked_add(eur),
            Err(MoneyError::Mismatch { .. })
        ));
    }

    #[test]
    fn currency_codes_are_three_upper_case_letters() {
        assert!(Currency::parse("USD").is_ok());
        for bad in ["usd", "US", "USDX", "U$D"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }
}
