//! Tokens already verified, so a client that sends the same token with each
//! request (an app keeps one for its 15 minutes) pays for the ES256
//! signature check once, not per request: the check costs about 330 µs of
//! CPU here, a lookup about 1 µs (BENCHMARKS.md, "Token verification").
//!
//! An entry is the SHA-256 of the whole token (signature included: a token
//! differing in any byte is another entry, verified on its own) and the
//! claims it verified to. It counts only while the token has not expired
//! (with the verifier's leeway) and its `kid` is still in the key set: a key
//! the identity service stops publishing takes its cached tokens with it, as
//! it does its signature checks. A token that failed is never cached.
//!
//! The cache is bounded: when full, expired entries go; if none has, all go
//! (a flood of distinct valid tokens then costs signature checks, as it
//! would without a cache).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use crate::jwks::LEEWAY_SECS;

/// The most tokens kept: about 200 bytes each.
const CAPACITY: usize = 100_000;

/// Verified tokens by the SHA-256 of their text, with the claims `C` they
/// verified to.
#[derive(Debug)]
pub(crate) struct Verified<C> {
    entries: Mutex<HashMap<[u8; 32], Entry<C>>>,
}

impl<C> Default for Verified<C> {
    fn default() -> Self {
        Verified {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry<C> {
    claims: C,
    /// The token's `exp`, seconds since the epoch.
    exp: i64,
    kid: String,
}

/// A token's cache key.
pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl<C: Clone> Verified<C> {
    /// The claims of `token` (its [`digest`]) if it verified before, has not
    /// expired at `now` and `published` still holds its `kid`.
    pub(crate) fn get(
        &self,
        digest: &[u8; 32],
        now: i64,
        published: impl FnOnce(&str) -> bool,
    ) -> Option<C> {
        let entry = {
            let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            entries.get(digest).cloned()?
        };
        (!expired(entry.exp, now) && published(&entry.kid)).then_some(entry.claims)
    }

    /// Keeps the claims a token with `kid` and `exp` verified to.
    pub(crate) fn insert(&self, digest: [u8; 32], kid: String, exp: i64, claims: C, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY {
            entries.retain(|_, entry| !expired(entry.exp, now));
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(digest, Entry { claims, exp, kid });
    }
}

fn expired(exp: i64, now: i64) -> bool {
    exp.saturating_add(LEEWAY_SECS as i64) < now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_token_counts_until_it_expires_or_its_key_is_gone() {
        let cache = Verified::<&str>::default();
        let key = digest("header.payload.signature");
        cache.insert(key, "k1".into(), 1_000, "cust-1", 900);
        let published = |kid: &str| kid == "k1";
        assert!(cache.get(&key, 1_000, published).is_some());
        // Within the leeway, then past it.
        assert!(
            cache
                .get(&key, 1_000 + LEEWAY_SECS as i64, published)
                .is_some()
        );
        assert!(
            cache
                .get(&key, 1_001 + LEEWAY_SECS as i64, published)
                .is_none()
        );
        // A key no longer published.
        assert!(cache.get(&key, 1_000, |_| false).is_none());
        // Another token, even one byte off.
        assert!(
            cache
                .get(&digest("header.payload.signaturf"), 1_000, published)
                .is_none()
        );
    }

    #[test]
    fn a_full_cache_makes_room_without_growing() {
        let cache = Verified::<&str>::default();
        for n in 0..CAPACITY {
            cache.insert(digest(&n.to_string()), "k1".into(), 10, "old", 0);
        }
        // All expired by now: they go, the new one stays.
        cache.insert(digest("new"), "k1".into(), 1_000, "new", 100);
        let len = cache.entries.lock().unwrap().len();
        assert_eq!(len, 1);
        assert!(cache.get(&digest("new"), 100, |_| true).is_some());
    }
}
