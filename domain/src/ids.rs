//! Identifiers that cannot be invalid once constructed.

use std::fmt;

use uuid::Uuid;

/// Why a string is not an acceptable id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid id")]
pub struct IdError(pub String);

fn is_slug(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Accepts `^[a-z0-9][a-z0-9-]{0,63}$`, the id form of the public API.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                if is_slug(s) { Ok(Self(s.to_owned())) } else { Err(IdError(s.to_owned())) }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_id!(
    /// A store: the unit of consistency, and the key of every record in the log.
    StoreId
);
slug_id!(
    /// A menu item, category, modifier group or modifier option (a POS PLU or a slug).
    CatalogId
);

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// An order, chosen by the client or by the server (UUID v7).
    OrderId
);
uuid_id!(
    /// A payment: our id, also the idempotency key at the gateway.
    PaymentId
);
uuid_id!(
    /// One refund of a payment.
    RefundId
);

/// A customer: the `sub` of their token, 1-128 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(String);

impl CustomerId {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok = !s.is_empty() && s.chars().count() <= 128 && !s.chars().any(char::is_control);
        if ok {
            Ok(CustomerId(s.to_owned()))
        } else {
            Err(IdError(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs_and_plus() {
        assert!(StoreId::parse("downtown-42").is_ok());
        assert!(CatalogId::parse("10042").is_ok());
        assert!(StoreId::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn rejects_what_the_api_forbids() {
        for bad in ["", "-lead", "Upper", "sp ace", "dot.ted", &"a".repeat(65)] {
            assert_eq!(StoreId::parse(bad), Err(IdError(bad.to_owned())), "{bad}");
        }
    }

    #[test]
    fn customer_ids_are_printable_and_bounded() {
        assert!(CustomerId::parse("auth0|5f7c8ec7").is_ok());
        assert!(CustomerId::parse("").is_err());
        assert!(CustomerId::parse("a\nb").is_err());
        assert!(CustomerId::parse(&"x".repeat(129)).is_err());
    }
}
