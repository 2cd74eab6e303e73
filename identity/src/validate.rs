//! The shapes of what people type: emails, names, store ids. Shared by the
//! routes and the command line, so both refuse the same things.

/// The longest email (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// The longest name, in characters.
pub const NAME_MAX: usize = 200;

/// Whether `email` looks like an address: something `@` a dotted domain,
/// no spaces, at most [`EMAIL_MAX`] bytes. Whether it exists, only a mail
/// can tell.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= EMAIL_MAX
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
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

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(valid_email("ada@example.com"));
        assert!(!valid_email("ada@localhost"));
        assert!(!valid_email("@example.com"));
        assert!(!valid_email("ada lovelace@example.com"));
    }
}
