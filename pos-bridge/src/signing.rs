//! HMAC-SHA256 signatures of webhook bodies, both ways: the bridge signs what
//! it sends to a kitchen display, and checks what displays and POS systems
//! send back. The signature covers the timestamp and the body
//! (`"{timestamp}.{body}"`), so a captured request cannot be replayed later
//! with a fresh timestamp.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Unix seconds when the request was signed.
pub const TIMESTAMP_HEADER: &str = "x-qsr-timestamp";
/// `v1=<hex of HMAC-SHA256(secret, "{timestamp}.{body}")>`.
pub const SIGNATURE_HEADER: &str = "x-qsr-signature";
/// The ticket id of a webhook, for the display's deduplication.
pub const TICKET_HEADER: &str = "x-qsr-ticket-id";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The value of the signature header for `body` signed at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing or malformed {TIMESTAMP_HEADER} header")]
    Timestamp,
    #[error("the request was signed too long ago, or in the future")]
    Stale,
    #[error("missing or malformed {SIGNATURE_HEADER} header")]
    Malformed,
    #[error("the signature does not match")]
    Mismatch,
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signature's bytes, decoded: the same however the hex was spelled.
    mac: Vec<u8>,
}

impl Verified {
    /// The first 32 hex digits of the signature: the same for a request and a
    /// byte-for-byte replay of it (which the timestamp tolerance lets
    /// through), different for any other request, so it can name the request
    /// for deduplication.
    pub fn request_id(&self) -> String {
        hex::encode(self.mac.get(..16).unwrap_or(&self.mac))
    }
}

/// Checks a request signed with any of `secrets`, in constant time, and that
/// it was signed within `tolerance_secs` of `now`.
pub fn verify(
    secrets: &[&str],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance_secs: u64,
) -> Result<Verified, SignatureError> {
    let timestamp: i64 = timestamp
        .and_then(|t| t.trim().parse().ok())
        .ok_or(SignatureError::Timestamp)?;
    if now.abs_diff(timestamp) > tolerance_secs {
        return Err(SignatureError::Stale);
    }
    let given = signature
        .and_then(|s| s.trim().strip_prefix("v1="))
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SignatureError::Malformed)?;
    let matches = secrets
        .iter()
        .any(|secret| mac(secret, timestamp, body).verify_slice(&given).is_ok());
    if matches {
        Ok(Verified { mac: given })
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-kitchen-display-secret";

    #[test]
    fn matches_an_independent_hmac_sha256() {
        // The framing a display must reproduce: HMAC(key, "{timestamp}.{body}").
        let signature = sign("Jefe", 1_700_000_000, b"{}");
        let mut mac = <HmacSha256 as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1700000000.{}");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(signature, format!("v1={expected}"));
        assert_eq!(signature.len(), 3 + 64);
    }

    #[test]
    fn accepts_its_own_signature_and_refuses_any_change() {
        let (now, body) = (1_700_000_000, br#"{"event":"bumped"}"#);
        let signature = sign(SECRET, now, body);
        let ts = now.to_string();
        let check = |secrets: &[&str], ts: &str, sig: &str, body: &[u8], at: i64| {
            verify(secrets, Some(ts), Some(sig), body, at, 300).map(|_| ())
        };
        assert_eq!(
            check(&["other-secret", SECRET], &ts, &signature, body, now),
            Ok(())
        );
        assert_eq!(
            check(&["wrong-secret"], &ts, &signature, body, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&[SECRET], &ts, &signature, br#"{"event":"started"}"#, now),
            Err(SignatureError::Mismatch)
        );
        // The same body and signature under another timestamp: a replay.
        let later = (now + 10).to_string();
        assert_eq!(
            check(&[SECRET], &later, &signature, body, now + 10),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&[SECRET], &ts, &signature, body, now + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&[SECRET], None, Some(&signature), body, now, 300).map(|_| ()),
            Err(SignatureError::Timestamp)
        );
        assert_eq!(
            check(&[SECRET], &ts, "sha1=00", body, now),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn names_a_request_and_its_replay_alike_however_the_hex_is_spelled() {
        let (now, body) = (1_700_000_000, br#"{"id":"cheddar","available":false}"#);
        let ts = now.to_string();
        let signature = sign(SECRET, now, body);
        let id = |sig: &str, body: &[u8]| {
            verify(&[SECRET], Some(&ts), Some(sig), body, now, 300)
                .unwrap()
                .request_id()
        };
        let first = id(&signature, body);
        assert_eq!(first, signature[3..35]);
        assert_eq!(id(&signature, body), first, "a replay");
        assert_eq!(
            id(&signature.to_uppercase().replace("V1=", "v1="), body),
            first,
            "a replay with the hex in capitals"
        );
        let back = br#"{"id":"cheddar","available":true}"#;
        assert_ne!(id(&sign(SECRET, now, back), back), first);
    }
}
