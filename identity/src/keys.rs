//! The ES256 (P-256) signing keys in memory: which one signs now, which are
//! published as JWKs, and the access tokens they sign and verify. Keys come
//! from Postgres (`key_store.rs`) and are replaced whole when read again.

use std::sync::{Arc, PoisonError, RwLock};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::SecretKey;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::DecodePrivateKey;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How long a person's access token lives, in seconds.
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;

/// A public key as RFC 7517 states it, for `/.well-known/jwks.json`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Jwk {
    /// Always `EC`.
    pub kty: &'static str,
    /// Always `P-256`.
    pub crv: &'static str,
    /// The point's x coordinate, base64url without padding.
    pub x: String,
    /// The point's y coordinate, base64url without padding.
    pub y: String,
    /// The key's id, as the tokens' `kid` header names it.
    pub kid: String,
    /// Always `ES256`.
    pub alg: &'static str,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
}

/// One key pair: the private half for signing, the public half as a JWK,
/// and when it may sign.
pub struct Key {
    pub jwk: Jwk,
    /// It signs from then on: published first, so verifiers know it before
    /// they meet a token it signed.
    pub not_before: DateTime<Utc>,
    /// It signs no more from then on, and is published a day longer.
    pub retired_at: Option<DateTime<Utc>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.jwk.kid)
            .field("not_before", &self.not_before)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

impl Key {
    /// The key of a PKCS#8 DER private key.
    pub fn from_der(
        kid: String,
        der: &[u8],
        not_before: DateTime<Utc>,
        retired_at: Option<DateTime<Utc>>,
    ) -> anyhow::Result<Key> {
        let secret = SecretKey::from_pkcs8_der(der)
            .map_err(|e| anyhow::anyhow!("signing key {kid} is not PKCS#8 P-256: {e}"))?;
        let point = secret.public_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            anyhow::bail!("signing key {kid} has no affine point");
        };
        let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
        let decoding = DecodingKey::from_ec_components(&x, &y)
            .with_context(|| format!("the public half of signing key {kid}"))?;
        Ok(Key {
            decoding,
            jwk: Jwk {
                kty: "EC",
                crv: "P-256",
                x,
                y,
                kid,
                alg: "ES256",
                use_: "sig",
            },
            not_before,
            retired_at,
            encoding: EncodingKey::from_ec_der(der),
        })
    }

    /// Whether it signs at `now`.
    fn signs_at(&self, now: DateTime<Utc>) -> bool {
        self.not_before <= now && self.retired_at.is_none_or(|retired| retired > now)
    }
}

/// What an access token grants, and for how long.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    /// A user's id, or a POS client's.
    pub sub: Uuid,
    /// `customer`, `staff`, `admin` or `pos`.
    pub role: &'a str,
    pub stores: &'a [String],
    /// Present only when unverified customers may not order (see
    /// `Config::allow_unverified_orders`).
    pub email_verified: Option<bool>,
    pub lifetime_seconds: i64,
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: String,
    role: &'a str,
    stores: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
    iat: i64,
    exp: i64,
    jti: String,
}

/// What the service reads back from an access token it signed.
#[derive(Debug, Clone, Deserialize)]
pub struct Verified {
    pub sub: Uuid,
    pub role: String,
}

/// Signs access tokens with the key that signs now and publishes every
/// key; the keys are replaced whole when Postgres is read again.
#[derive(Debug)]
pub struct Signer {
    keys: RwLock<Arc<Vec<Key>>>,
    pub issuer: String,
    pub audience: String,
}

impl Signer {
    /// `keys` must hold a key that signs now (`key_store::load_or_create`
    /// makes sure of it).
    pub fn new(keys: Vec<Key>, issuer: &str, audience: &str) -> Signer {
        Signer {
            keys: RwLock::new(Arc::new(keys)),
            issuer: issuer.trim_end_matches('/').to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// Takes the keys read again from Postgres.
    pub fn replace(&self, keys: Vec<Key>) {
        // A panic while holding the lock cannot leave a half-written `Arc`.
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
    }

    fn keys(&self) -> Arc<Vec<Key>> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The key that signs at `now`: of those whose time has come and that
    /// are not retired, the one that came last.
    fn signing(keys: &[Key], now: DateTime<Utc>) -> Option<&Key> {
        keys.iter()
            .filter(|k| k.signs_at(now))
            .max_by_key(|k| k.not_before)
    }

    /// The public keys, the one signing now first.
    pub fn jwks(&self) -> Vec<Jwk> {
        let keys = self.keys();
        let current = Self::signing(&keys, Utc::now()).map(|k| k.jwk.kid.clone());
        let mut jwks: Vec<Jwk> = keys.iter().map(|k| k.jwk.clone()).collect();
        jwks.sort_by_key(|jwk| Some(&jwk.kid) != current.as_ref());
        jwks
    }

    /// An access token of `grant`.
    pub fn access_token(&self, grant: &Grant<'_>) -> anyhow::Result<String> {
        let keys = self.keys();
        let now = Utc::now();
        let key = Self::signing(&keys, now).context("no key signs now")?;
        let iat = now.timestamp();
        let claims = AccessClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: grant.sub.to_string(),
            role: grant.role,
            stores: grant.stores,
            email_verified: grant.email_verified,
            iat,
            exp: iat + grant.lifetime_seconds,
            jti: Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.jwk.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding).context("signing an access token")
    }

    /// The claims of an access token this service signed with one of its
    /// published keys, for this issuer and audience, and not expired.
    pub fn verify(&self, token: &str) -> Option<Verified> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let keys = self.keys();
        let key = keys.iter().find(|k| k.jwk.kid == kid)?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.leeway = 5;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Verified>(token, &key.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}
