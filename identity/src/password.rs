//! Passwords: NIST SP 800-63B rules (10 to 128 characters, no composition
//! rules, weak ones refused by the `zxcvbn` estimator), hashed with Argon2id
//! at OWASP's parameters (m=19456 KiB, t=2, p=1).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// The fewest characters a password may have.
pub const MIN_CHARS: usize = 10;
/// The most characters a password may have.
pub const MAX_CHARS: usize = 128;
/// The lowest `zxcvbn` score (0 to 4) a password must reach.
pub const MIN_SCORE: u8 = 3;

fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params =
        Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("Argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Weak {
    /// Fewer than [`MIN_CHARS`] or more than [`MAX_CHARS`] characters.
    Length,
    /// Scored below [`MIN_SCORE`]; the estimator's warning and suggestions.
    Guessable(Vec<String>),
}

impl Weak {
    /// What to tell the person choosing it.
    pub fn detail(&self) -> String {
        match self {
            Weak::Length => format!("a password has {MIN_CHARS} to {MAX_CHARS} characters"),
            Weak::Guessable(feedback) if feedback.is_empty() => {
                "the password is too easy to guess".to_owned()
            }
            Weak::Guessable(feedback) => {
                format!("the password is too easy to guess: {}", feedback.join(" "))
            }
        }
    }
}

/// Refuses a password outside the length bounds or one the estimator scores
/// weak; `inputs` (email, name) count as known to an attacker.
pub fn check_strength(password: &str, inputs: &[&str]) -> Result<(), Weak> {
    let chars = password.chars().count();
    if !(MIN_CHARS..=MAX_CHARS).contains(&chars) {
        return Err(Weak::Length);
    }
    let estimate = zxcvbn::zxcvbn(password, inputs);
    if u8::from(estimate.score()) >= MIN_SCORE {
        return Ok(());
    }
    let mut feedback = Vec::new();
    if let Some(f) = estimate.feedback() {
        if let Some(warning) = f.warning() {
            feedback.push(warning.to_string());
        }
        feedback.extend(f.suggestions().iter().map(|s| s.to_string()));
    }
    Err(Weak::Guessable(feedback))
}

/// The PHC string of `password`'s Argon2id hash with a fresh salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// A hash of a password nobody has, verified against when the email is
/// unknown so that an unknown email costs as long as a wrong password.
/// Computed once at start; a failure fails the start, since a missing dummy
/// would make unknown emails answer faster than known ones.
#[derive(Debug, Clone)]
pub struct DummyHash(String);

impl DummyHash {
    pub fn new() -> anyhow::Result<DummyHash> {
        hash("not anyone's password: only spends the time a real check takes").map(DummyHash)
    }
}

/// Whether `password` matches the PHC string `stored`; with no stored hash
/// (an unknown email), spends the same time on `dummy` and answers `false`.
pub fn verify(password: &str, stored: Option<&str>, dummy: &DummyHash) -> bool {
    let (phc, real) = match stored {
        Some(phc) => (phc, true),
        None => (dummy.0.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(argon) = hasher() else {
        return false;
    };
    argon.verify_password(password.as_bytes(), &parsed).is_ok() && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_argon2id_at_owasp_parameters() {
        let phc = hash("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let dummy = DummyHash::new().unwrap();
        assert!(verify("correct horse battery staple", Some(&phc), &dummy));
        assert!(!verify("correct horse battery stapler", Some(&phc), &dummy));
        assert!(!verify("anything at all", None, &dummy));
    }

    #[test]
    fn refuses_short_long_and_guessable_passwords() {
        assert_eq!(check_strength("Xy7#kq", &[]), Err(Weak::Length));
        assert_eq!(check_strength(&"a".repeat(129), &[]), Err(Weak::Length));
        assert!(matches!(
            check_strength("password123", &[]),
            Err(Weak::Guessable(_))
        ));
        assert!(matches!(
            check_strength("alice.smith@example.com", &["alice.smith@example.com"]),
            Err(Weak::Guessable(_))
        ));
        assert_eq!(check_strength("violet tractor sings at dawn", &[]), Ok(()));
    }
}
