//! The shapes of what people type: emails, names, store ids. Shared by the
//! routes and the command line, so both refuse the same things, and stated
//! in the OpenAPI document from the same constants.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// The longest email (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// The longest name, in characters.
pub const NAME_MAX: usize = 200;

/// [`valid_email`]'s rule as the OpenAPI document states it (a JSON Schema
/// `pattern`, with `maxLength` [`EMAIL_MAX`]): no space or control character,
/// something, `@`, a domain without `@` that holds a `.` but neither starts
/// nor ends with one.
pub const EMAIL_PATTERN: &str = r"^[^\x00-\x20\x7f-\x9f]+@[^@.\x00-\x20\x7f-\x9f][^@\x00-\x20\x7f-\x9f]*\.[^@\x00-\x20\x7f-\x9f]*[^@.\x00-\x20\x7f-\x9f]$";

/// The JSON Schema `pattern` of a store id, as [`valid_store_id`] checks it.
pub const STORE_ID_PATTERN: &str = "^[a-z0-9][a-z0-9-]{0,63}$";

/// An email in a request body, documented with [`EMAIL_PATTERN`] and
/// [`EMAIL_MAX`]; [`valid_email`] checks it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct EmailField(pub String);

/// A store id in a request body, documented with [`STORE_ID_PATTERN`];
/// [`valid_store_id`] checks it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct StoreIdField(pub String);

/// A string schema with `pattern`, and `maxLength` if given.
fn string_schema(pattern: &str, max_length: Option<usize>, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .max_length(max_length)
        .examples([serde_json::json!(example)])
        .into()
}

impl PartialSchema for EmailField {
    fn schema() -> RefOr<Schema> {
        string_schema(EMAIL_PATTERN, Some(EMAIL_MAX), "ada@example.com")
    }
}

impl ToSchema for EmailField {}

impl PartialSchema for StoreIdField {
    fn schema() -> RefOr<Schema> {
        string_schema(STORE_ID_PATTERN, None, "downtown-42")
    }
}

impl ToSchema for StoreIdField {}

/// Whether `email` looks like an address, as [`EMAIL_PATTERN`] states it: at
/// most [`EMAIL_MAX`] characters, no space or control character, something
/// `@` a dotted domain. Whether it exists, only a mail can tell. Not trimmed:
/// a space is refused like any other.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.chars().count() <= EMAIL_MAX
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c == ' ' || c.is_control())
}

/// Whether a (trimmed) name has 1 to [`NAME_MAX`] characters.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().count() <= NAME_MAX
}

/// Whether `id` is a store id as every service spells one:
/// `^[a-z0-9][a-z0-9-]{0,63}$`.
pub fn valid_store_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ids_are_lowercase_slugs_of_up_to_64() {
        assert!(valid_store_id("downtown-42"));
        assert!(valid_store_id(&"a".repeat(64)));
        assert!(!valid_store_id(&"a".repeat(65)));
        assert!(!valid_store_id("-downtown"));
        assert!(!valid_store_id("Downtown"));
        assert!(!valid_store_id(""));
    }

    /// The pattern the document states and the check the server makes
    /// agree, on the shapes the contract fuzz generates and their edges.
    #[test]
    fn the_documented_rules_are_the_checked_ones() {
        let email = regex::Regex::new(EMAIL_PATTERN).unwrap();
        for sample in [
            "ada@example.com",
            "a@b.c",
            "a@b@c.d",
            "a@b..c",
            "a@.b.c",
            "a@b.c.",
            "@b.c",
            "a@bc",
            " a@b.c",
            "a@b.c ",
            "a\u{7}b@c.d",
            "\u{85}@c.d",
            "\u{a0}@c.d",
            "é@ü.ö",
            "0000",
        ] {
            assert_eq!(email.is_match(sample), valid_email(sample), "{sample:?}");
        }
        let store = regex::Regex::new(STORE_ID_PATTERN).unwrap();
        for sample in [
            "downtown-42",
            "-a",
            "A",
            "",
            "a-",
            &"a".repeat(64),
            &"a".repeat(65),
        ] {
            assert_eq!(store.is_match(sample), valid_store_id(sample), "{sample:?}");
        }
        let doc = serde_json::to_value(EmailField::schema()).unwrap();
        assert_eq!(
            (&doc["pattern"], &doc["maxLength"]),
            (
                &serde_json::json!(EMAIL_PATTERN),
                &serde_json::json!(EMAIL_MAX)
            )
        );
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(valid_email("ada@example.com"));
        assert!(!valid_email("ada@localhost"));
        assert!(!valid_email("@example.com"));
        assert!(!valid_email("ada lovelace@example.com"));
    }
}
