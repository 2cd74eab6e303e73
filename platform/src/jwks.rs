//! Verifying ES256 tokens by a JSON Web Key Set fetched over HTTP: the
//! identity service's public keys, cached by `kid`, fetched again when a token
//! names a `kid` the cache lacks (at most once per [`JwksSettings::min_refresh`],
//! so a flood of made-up kids cannot hammer the identity service). Only ES256
//! is accepted (`alg: none`, HS256 and every other algorithm are refused before
//! a key is looked up); `iss` and `aud` are pinned; `exp` and `nbf` are checked
//! with [`LEEWAY_SECS`] of leeway.
//!
//! A fetch replaces the whole cache: a key the set no longer publishes stops
//! verifying, a key it still publishes (the previous one after a rotation)
//! keeps verifying. The identity service should publish a new key before it
//! signs with it; a token with a new kid that arrives within `min_refresh` of
//! the last fetch is refused until the next fetch.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use anyhow::Context;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Seconds of clock difference allowed on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// The shortest time between two fetches of the key set after the first.
pub const MIN_REFRESH: Duration = Duration::from_secs(5);

/// How long one fetch of the key set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the keys are and what the tokens must say.
#[derive(Debug, Clone)]
pub struct JwksSettings {
    /// The key set's address, e.g. `http://identity:8084/.well-known/jwks.json`.
    pub url: String,
    /// The only `iss` accepted.
    pub issuer: String,
    /// The `aud` a token must name.
    pub audience: String,
    /// The shortest time between two fetches; [`MIN_REFRESH`] in a service.
    pub min_refresh: Duration,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("only ES256 tokens are accepted, not {0}")]
    Algorithm(String),
    #[error("the token names no `kid`")]
    NoKid,
    #[error("no published key has this token's `kid`")]
    UnknownKid,
    #[error("{0}")]
    Token(#[from] jsonwebtoken::errors::Error),
}

/// The keys of one key set, shared by every request of a service.
pub struct JwksVerifier {
    settings: JwksSettings,
    client: reqwest::Client,
    validation: Validation,
    keys: RwLock<HashMap<String, Arc<DecodingKey>>>,
    /// When the set was last fetched; held across a fetch, so concurrent
    /// requests with unknown kids wait for one fetch instead of each starting
    /// their own.
    fetched_at: Mutex<Instant>,
}

impl std::fmt::Debug for JwksVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksVerifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl JwksVerifier {
    /// Fetches the key set once; an error if that fails or the set holds no
    /// ES256 key (the caller retries at start).
    pub async fn fetch(settings: JwksSettings) -> anyhow::Result<JwksVerifier> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .context("building the HTTP client of the key set")?;
        let keys = fetch_keys(&client, &settings.url).await?;
        anyhow::ensure!(
            !keys.is_empty(),
            "the key set at {} holds no ES256 key with a `kid`",
            settings.url
        );
        tracing::info!(url = %settings.url, keys = keys.len(), "fetched the token keys");
        let mut validation = Validation::new(Algorithm::ES256);
        validation.algorithms = vec![Algorithm::ES256];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        Ok(JwksVerifier {
            settings,
            client,
            validation,
            keys: RwLock::new(keys),
            fetched_at: Mutex::new(Instant::now()),
        })
    }

    /// Checks a token's algorithm, signature, issuer, audience and times, and
    /// answers its claims.
    pub async fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, JwksError> {
        let header = jsonwebtoken::decode_header(token)?;
        if header.alg != Algorithm::ES256 {
            return Err(JwksError::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or(JwksError::NoKid)?;
        let key = match self.cached(&kid) {
            Some(key) => key,
            None => self.refresh_for(&kid).await.ok_or(JwksError::UnknownKid)?,
        };
        Ok(jsonwebtoken::decode::<T>(token, &key, &self.validation)?.claims)
    }

    /// Whether the key set, as last fetched, holds `kid`.
    pub fn publishes(&self, kid: &str) -> bool {
        self.cached(kid).is_some()
    }

    fn cached(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        keys.get(kid).cloned()
    }

    /// Fetches the set again for an unknown `kid`, unless it was fetched less
    /// than `min_refresh` ago; a failed fetch keeps the keys there were.
    async fn refresh_for(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        let mut fetched_at = self.fetched_at.lock().await;
        if let Some(key) = self.cached(kid) {
            return Some(key); // fetched by another request while this one waited
        }
        if fetched_at.elapsed() < self.settings.min_refresh {
            return None;
        }
        *fetched_at = Instant::now();
        match fetch_keys(&self.client, &self.settings.url).await {
            Ok(keys) => {
                tracing::info!(url = %self.settings.url, keys = keys.len(),
                    "fetched the token keys again for an unknown kid");
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
            }
            Err(error) => {
                tracing::warn!(url = %self.settings.url, error = format!("{error:#}"),
                    "fetching the token keys again failed; keeping the cached ones");
            }
        }
        self.cached(kid)
    }
}

/// The P-256 signing keys of the set at `url`, by `kid`; keys of another
/// type, curve, algorithm or use, and keys without a `kid`, are left out.
async fn fetch_keys(
    client: &reqwest::Client,
    url: &str,
) -> anyhow::Result<HashMap<String, Arc<DecodingKey>>> {
    let set: JwkSet = client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("fetching the key set at {url}"))?
        .json()
        .await
        .with_context(|| format!("reading the key set at {url}"))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = &jwk.common.key_id else {
            continue;
        };
        let AlgorithmParameters::EllipticCurve(ec) = &jwk.algorithm else {
            continue;
        };
        let es256 = jwk
            .common
            .key_algorithm
            .is_none_or(|alg| alg == KeyAlgorithm::ES256);
        let signs = jwk
            .common
            .public_key_use
            .as_ref()
            .is_none_or(|usage| *usage == PublicKeyUse::Signature);
        if !es256 || !signs || ec.curve != EllipticCurve::P256 {
            continue;
        }
        let key = DecodingKey::from_ec_components(&ec.x, &ec.y)
            .with_context(|| format!("key {kid} of the key set at {url}"))?;
        keys.insert(kid.clone(), Arc::new(key));
    }
    Ok(keys)
}
