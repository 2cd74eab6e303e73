//! The ES256 (P-256) signing keys: created at first start when none exists,
//! kept as PKCS#8 DER in `signing_keys`, the newest unretired one signing,
//! all of them published as JWKs.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use deadpool_postgres::Pool;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::SecretKey;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How long an access token lives, in seconds.
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

/// One key pair: the private half for signing, the public half as a JWK.
pub struct Key {
    pub jwk: Jwk,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("kid", &self.jwk.kid).finish()
    }
}

impl Key {
    /// The key of a PKCS#8 DER private key.
    fn from_der(kid: String, der: &[u8]) -> anyhow::Result<Key> {
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
            encoding: EncodingKey::from_ec_der(der),
        })
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize)]
pub struct AccessClaims<'a> {
    pub iss: &'a str,
    pub aud: &'a str,
    pub sub: String,
    pub role: &'a str,
    pub stores: &'a [String],
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// What the service reads back from an access token it signed.
#[derive(Debug, Clone, Deserialize)]
pub struct Verified {
    pub sub: Uuid,
}

/// Signs access tokens with the current key and publishes every key.
#[derive(Debug)]
pub struct Signer {
    /// The current key first.
    keys: Vec<Key>,
    pub issuer: String,
    pub audience: String,
}

impl Signer {
    /// `keys` must hold at least one key, the current one first.
    pub fn new(keys: Vec<Key>, issuer: &str, audience: &str) -> Signer {
        Signer {
            keys,
            issuer: issuer.trim_end_matches('/').to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// The public keys, current first.
    pub fn jwks(&self) -> Vec<Jwk> {
        self.keys.iter().map(|k| k.jwk.clone()).collect()
    }

    /// An access token for `sub` with `role` and `stores`, valid for
    /// [`ACCESS_TOKEN_SECONDS`].
    pub fn access_token(&self, sub: Uuid, role: &str, stores: &[String]) -> anyhow::Result<String> {
        let key = self.keys.first().context("no signing key")?;
        let now = Utc::now().timestamp();
        let claims = AccessClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: sub.to_string(),
            role,
            stores,
            iat: now,
            exp: now + ACCESS_TOKEN_SECONDS,
            jti: Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.jwk.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding).context("signing an access token")
    }
}

impl Signer {
    /// The subject of an access token this service signed with one of its
    /// keys, for this issuer and audience, and not expired.
    pub fn verify(&self, token: &str) -> Option<Verified> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let key = self.keys.iter().find(|k| k.jwk.kid == kid)?;
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

/// A new P-256 private key as PKCS#8 DER.
fn generate() -> anyhow::Result<Vec<u8>> {
    let secret = SecretKey::random(&mut OsRng);
    let der = secret
        .to_pkcs8_der()
        .map_err(|e| anyhow::anyhow!("encoding a new signing key: {e}"))?;
    Ok(der.as_bytes().to_vec())
}

/// The keys to sign with and publish, current first: every unretired key
/// and those retired for less than a day (longer than any token lives).
/// Creates one first when there is no unretired key.
pub async fn load_or_create(pool: &Pool) -> anyhow::Result<Vec<Key>> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    let current = client
        .query_opt(
            "select kid from signing_keys where retired_at is null limit 1",
            &[],
        )
        .await
        .context("looking for a signing key")?;
    if current.is_none() {
        let kid = Uuid::now_v7().simple().to_string();
        client
            .execute(
                "insert into signing_keys (kid, private_key) values ($1, $2)",
                &[&kid, &generate()?],
            )
            .await
            .context("storing a new signing key")?;
        tracing::info!(kid, "created a signing key");
    }
    let rows = client
        .query(
            "select kid, private_key from signing_keys
              where retired_at is null or retired_at > now() - interval '1 day'
              order by retired_at is not null, created_at desc, kid desc",
            &[],
        )
        .await
        .context("reading the signing keys")?;
    rows.iter()
        .map(|row| Key::from_der(row.get(0), row.get::<_, &[u8]>(1)))
        .collect()
}
