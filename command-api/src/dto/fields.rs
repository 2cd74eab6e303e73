//! What every body's parsing shares: integers as JSON Schema means them,
//! field errors collected rather than stopping at the first, and the checks
//! of ids and keys.

use platform::FieldError;
use serde::Deserialize;

// What the document states of each field, kept next to the parsing that
// enforces it. utoipa takes patterns as literals only, so the id pattern
// `^[a-z0-9][a-z0-9-]{0,63}$` (`CatalogId`/`StoreId`), the currency pattern
// `^[A-Z]{3}$` and the "not blank" pattern (a character outside Unicode's
// White_Space, what `str::trim` removes) are repeated in the attributes.

/// The id form of the public API: stores, categories, items, groups, options.
pub(super) const ID_PATTERN: &str = "^[a-z0-9][a-z0-9-]{0,63}$";

/// Integers as the document's `integer` means them: JSON Schema counts `64.0`
/// as the integer 64 (the data model has no other), so the bodies take a
/// whole number written with a fraction of zero as that number; `64.5`, or a
/// number outside the field's type, is still malformed.
pub(super) mod whole {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};

    fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i128, D::Error> {
        let n = serde_json::Number::deserialize(deserializer)?;
        if let Some(i) = n.as_i64() {
            return Ok(i.into());
        }
        if let Some(u) = n.as_u64() {
            return Ok(u.into());
        }
        // serde_json's float parsing (without `float_roundtrip`) may land a
        // unit in the last place away from the written value: `x.0` above
        // 2^50 can read as `x.2`. A float within two units of a whole number
        // is that number; below 2^100 the cast of a whole f64 is exact, and
        // beyond it is out of range anyway.
        match n.as_f64() {
            Some(f) if f.abs() < 2f64.powi(100) => {
                let whole = f.round();
                if (f - whole).abs() <= 2.0 * f.abs() * f64::EPSILON {
                    Ok(whole as i128)
                } else {
                    Err(D::Error::custom(format!("{n} is not an integer")))
                }
            }
            _ => Err(D::Error::custom(format!("{n} is not an integer"))),
        }
    }

    fn fit<T: TryFrom<i128>, E: Error>(n: i128) -> Result<T, E> {
        T::try_from(n).map_err(|_| E::custom(format!("{n} is out of range")))
    }

    pub fn i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        fit(number(deserializer)?)
    }

    pub fn u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
        fit(number(deserializer)?)
    }

    /// An optional `u32` (use with `#[serde(default)]`): `null` is `None`.
    pub fn option_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
        #[derive(Deserialize)]
        struct Whole(#[serde(deserialize_with = "u32")] u32);
        Ok(Option::<Whole>::deserialize(deserializer)?.map(|Whole(n)| n))
    }
}

/// Collects field errors while parsing a body.
#[derive(Debug, Default)]
pub(super) struct Fields(pub(super) Vec<FieldError>);

impl Fields {
    pub(super) fn check<T, E: std::fmt::Display>(
        &mut self,
        field: impl Into<String>,
        r: Result<T, E>,
    ) -> Option<T> {
        r.map_err(|e| {
            self.0.push(FieldError {
                field: field.into(),
                message: e.to_string(),
            })
        })
        .ok()
    }

    pub(super) fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(self.0),
        }
    }
}

/// Whether `s` is 1-255 visible ASCII characters (`!` to `~`): payment
/// tokens and idempotency keys.
pub(crate) fn is_visible_ascii_key(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether a field was sent at all, even as `null`.
pub(super) fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}
