//! The tests' token issuer: a P-256 key made once per test process (never
//! written anywhere), its public half published at `/.well-known/jwks.json`
//! by a small HTTP server, and ES256 tokens signed with it, as the identity
//! service signs them. The services under test verify with [`auth_args`]
//! (in process) or [`jwt_env`] (a child process), exactly as they verify
//! identity's tokens in production: no shared secret, no second code path.
//!
//! The same server is the test POS clients' token endpoint ([`token_url`]):
//! the client-credentials grant of RFC 6749 §4.4, as identity's
//! `POST /v1/auth/token` answers it, for the credentials of [`pos_client`],
//! so the bridge under test gets its `pos` tokens as it does in production.
//!
//! The server runs on a thread of its own with its own runtime, started once
//! ([`OnceLock`]), so every `#[tokio::test]` (each with a runtime of its own,
//! ended with its test) and every child process can fetch the key set for as
//! long as the test process lives.

use std::sync::OnceLock;

use anyhow::Context;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use platform::{AuthArgs, Role};
use serde_json::{Value, json};

/// The `iss` of the tests' tokens: a name that resolves nowhere, so nothing
/// can mistake it for a real issuer.
pub const TEST_ISSUER: &str = "https://issuer.testkit.invalid";

/// The `aud` of the tests' tokens, the services' audience.
pub const TEST_AUDIENCE: &str = "qsr";

/// How long a test token is valid: longer than any test.
const TOKEN_SECONDS: i64 = 3600;

/// Seconds past the verifiers' leeway (30 s) for the tokens that must be
/// refused for their times.
const PAST_LEEWAY: i64 = 120;

/// A signing key and the public key set it belongs to.
struct Issuer {
    kid: String,
    encoding: EncodingKey,
    jwks_url: String,
    token_url: String,
    /// The secret of every test POS client (made per process, like the key).
    pos_secret: String,
}

/// The prefix of a test POS client's id; the rest is its store.
const POS_CLIENT_PREFIX: &str = "testkit-pos.";

/// A client credential for a store's POS (its `pos` tokens name the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosClientCredential {
    pub id: String,
    pub secret: String,
}

/// A P-256 key of its own, not published anywhere.
struct Stranger {
    encoding: EncodingKey,
}

fn issuer() -> &'static Issuer {
    static ISSUER: OnceLock<Issuer> = OnceLock::new();
    ISSUER.get_or_init(|| match start() {
        Ok(issuer) => issuer,
        Err(error) => panic!("starting the test token issuer: {error:#}"),
    })
}

fn stranger() -> &'static Stranger {
    static STRANGER: OnceLock<Stranger> = OnceLock::new();
    STRANGER.get_or_init(|| match new_key() {
        Ok((_, encoding)) => Stranger { encoding },
        Err(error) => panic!("making a stranger's key: {error:#}"),
    })
}

/// A new P-256 key: its public half as a JWK (without `kid`) and its private
/// half for signing.
fn new_key() -> anyhow::Result<(Value, EncodingKey)> {
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let point = secret.public_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        anyhow::bail!("a P-256 public key without an affine point");
    };
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
    });
    let der = secret
        .to_pkcs8_der()
        .map_err(|e| anyhow::anyhow!("encoding the test key: {e}"))?;
    Ok((jwk, EncodingKey::from_ec_der(der.as_bytes())))
}

/// Makes the key and starts the key set's server on a thread of its own.
fn start() -> anyhow::Result<Issuer> {
    let (mut jwk, encoding) = new_key()?;
    let kid = format!(
        "testkit-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    jwk["kid"] = json!(kid);
    let set = json!({ "keys": [jwk] });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding port 0")?;
    listener
        .set_nonblocking(true)
        .context("making the issuer's listener non-blocking")?;
    let base = format!(
        "http://{}",
        listener.local_addr().context("the issuer's address")?
    );
    let pos_secret = uuid::Uuid::new_v4().simple().to_string();
    let (token_kid, token_key, token_secret) = (kid.clone(), encoding.clone(), pos_secret.clone());
    let router = Router::new()
        .route(
            "/.well-known/jwks.json",
            get(move || {
                let set = set.clone();
                async move { Json(set) }
            }),
        )
        .route(
            "/token",
            post(move |headers: HeaderMap, body: Bytes| {
                let answer =
                    pos_token_answer(&headers, &body, &token_secret, &token_kid, &token_key);
                async move { answer }
            }),
        );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the issuer's runtime")?;
    std::thread::Builder::new()
        .name("testkit-issuer".into())
        .spawn(move || {
            runtime.block_on(async move {
                let served = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => axum::serve(listener, router).await,
                    Err(error) => Err(error),
                };
                // Nothing to return it to: the tests see it as refused tokens.
                if let Err(error) = served {
                    eprintln!("the test token issuer stopped: {error}");
                }
            });
        })
        .context("starting the issuer's thread")?;
    Ok(Issuer {
        kid,
        encoding,
        jwks_url: format!("{base}/.well-known/jwks.json"),
        token_url: format!("{base}/token"),
        pos_secret,
    })
}

/// The answer of the token endpoint: a `pos` token for the store of a test
/// POS client that presents its secret (HTTP Basic or form fields), or RFC
/// 6749 §5.2's `invalid_client` / `unsupported_grant_type`.
fn pos_token_answer(
    headers: &HeaderMap,
    body: &[u8],
    secret: &str,
    kid: &str,
    key: &EncodingKey,
) -> Response {
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(body).into_owned().collect();
    let refuse =
        |status: StatusCode, error: &str| (status, Json(json!({ "error": error }))).into_response();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return refuse(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| {
            v.split_once(':')
                .map(|(id, s)| (id.to_owned(), s.to_owned()))
        });
    let presented = basic.or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    let store = presented.as_ref().and_then(|(id, presented_secret)| {
        (presented_secret == secret).then(|| id.strip_prefix(POS_CLIENT_PREFIX))?
    });
    let Some(store) = store.filter(|s| !s.is_empty()) else {
        return refuse(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    let client_id = format!("{POS_CLIENT_PREFIX}{store}");
    match sign(&es256(kid), &claims(Role::Pos, &client_id, &[store]), key) {
        Ok(token) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(
                json!({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS}),
            ),
        )
            .into_response(),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
    }
}

/// The test issuer's token endpoint (client credentials, RFC 6749 §4.4).
pub fn token_url() -> String {
    issuer().token_url.clone()
}

/// The credential of `store`'s test POS client at [`token_url`].
pub fn pos_client(store: &str) -> PosClientCredential {
    PosClientCredential {
        id: format!("{POS_CLIENT_PREFIX}{store}"),
        secret: issuer().pos_secret.clone(),
    }
}

/// The settings with which a service in this process trusts the tests'
/// tokens (and no other).
pub fn auth_args() -> AuthArgs {
    AuthArgs {
        jwt_jwks_url: issuer().jwks_url.clone(),
        jwt_issuer: TEST_ISSUER.to_owned(),
        jwt_audience: TEST_AUDIENCE.to_owned(),
    }
}

/// The same settings as environment variables, for a service binary run as a
/// child of the test (its key set is served by this process).
pub fn jwt_env() -> Vec<(String, String)> {
    let args = auth_args();
    vec![
        ("QSR_JWT_JWKS_URL".to_owned(), args.jwt_jwks_url),
        ("QSR_JWT_ISSUER".to_owned(), args.jwt_issuer),
        ("QSR_JWT_AUDIENCE".to_owned(), args.jwt_audience),
    ]
}

/// A token for an hour with `role`, `sub` and `stores`, signed by the test
/// issuer: ES256 with its `kid`, and `iss`, `aud`, `iat`, `exp` and `jti`.
pub fn token(role: Role, sub: &str, stores: &[&str]) -> anyhow::Result<String> {
    let issuer = issuer();
    sign(
        &es256(&issuer.kid),
        &claims(role, sub, stores),
        &issuer.encoding,
    )
}

/// A way a token can be wrong; each one every service must refuse with `401`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgery {
    /// Signed by another key under the test key's `kid`.
    ForeignKey,
    /// Signed by another key under a `kid` the key set does not hold.
    UnknownKid,
    /// For another audience.
    WrongAudience,
    /// From another issuer.
    WrongIssuer,
    /// Expired longer ago than the verifiers' leeway.
    Expired,
    /// Not valid until later than the verifiers' leeway (`nbf`).
    NotYetValid,
    /// `alg: none`, without a signature.
    Unsigned,
    /// HS256 with some secret, as the services took before issue 12.
    Hs256,
}

impl Forgery {
    pub const ALL: [Forgery; 8] = [
        Forgery::ForeignKey,
        Forgery::UnknownKid,
        Forgery::WrongAudience,
        Forgery::WrongIssuer,
        Forgery::Expired,
        Forgery::NotYetValid,
        Forgery::Unsigned,
        Forgery::Hs256,
    ];
}

/// A token like [`token`]'s but wrong as `forgery` says.
pub fn forged_token(
    forgery: Forgery,
    role: Role,
    sub: &str,
    stores: &[&str],
) -> anyhow::Result<String> {
    let issuer = issuer();
    let mut claims = claims(role, sub, stores);
    let now = chrono::Utc::now().timestamp();
    let key = &issuer.encoding;
    match forgery {
        Forgery::ForeignKey => sign(&es256(&issuer.kid), &claims, &stranger().encoding),
        Forgery::UnknownKid => sign(&es256("testkit-unknown"), &claims, &stranger().encoding),
        Forgery::WrongAudience => {
            claims["aud"] = json!("another-audience");
            sign(&es256(&issuer.kid), &claims, key)
        }
        Forgery::WrongIssuer => {
            claims["iss"] = json!("https://another-issuer.invalid");
            sign(&es256(&issuer.kid), &claims, key)
        }
        Forgery::Expired => {
            claims["iat"] = json!(now - TOKEN_SECONDS);
            claims["exp"] = json!(now - PAST_LEEWAY);
            sign(&es256(&issuer.kid), &claims, key)
        }
        Forgery::NotYetValid => {
            claims["nbf"] = json!(now + PAST_LEEWAY);
            sign(&es256(&issuer.kid), &claims, key)
        }
        Forgery::Unsigned => {
            let part = |v: &Value| -> anyhow::Result<String> {
                Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(v)?))
            };
            let header = json!({"alg": "none", "typ": "JWT", "kid": issuer.kid});
            Ok(format!("{}.{}.", part(&header)?, part(&claims)?))
        }
        Forgery::Hs256 => {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(issuer.kid.clone());
            let secret = EncodingKey::from_secret(b"any-secret-of-at-least-thirty-two-bytes");
            sign(&header, &claims, &secret)
        }
    }
}

fn es256(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    header
}

fn claims(role: Role, sub: &str, stores: &[&str]) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "sub": sub, "role": role.as_str(),
        "stores": stores, "iat": now, "exp": now + TOKEN_SECONDS,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> anyhow::Result<String> {
    jsonwebtoken::encode(header, claims, key).context("signing a test token")
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::JwtKeys;

    #[tokio::test]
    async fn a_test_token_verifies_with_its_claims_and_every_forgery_is_refused() {
        let keys = JwtKeys::for_service(&auth_args()).await.unwrap();
        let claims = keys
            .verify(&token(Role::Staff, "staff-1", &["s-1"]).unwrap())
            .await
            .unwrap();
        assert_eq!(
            (claims.role, claims.sub.as_str(), claims.stores.as_slice()),
            (Role::Staff, "staff-1", ["s-1".to_owned()].as_slice())
        );
        assert_eq!(claims.iss.as_deref(), Some(TEST_ISSUER));
        assert_eq!(claims.aud.as_deref(), Some(TEST_AUDIENCE));
        assert!(claims.iat.is_some() && claims.jti.is_some());
        for forgery in Forgery::ALL {
            let forged = forged_token(forgery, Role::Admin, "admin-1", &[]).unwrap();
            assert!(keys.verify(&forged).await.is_err(), "{forgery:?} verified");
        }
    }

    #[tokio::test]
    async fn a_test_pos_client_gets_a_pos_token_of_its_store_and_a_wrong_secret_none() {
        let keys = JwtKeys::for_service(&auth_args()).await.unwrap();
        let http = reqwest::Client::new();
        let client = pos_client("s-9");
        let answer: Value = http
            .post(token_url())
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let claims = keys
            .verify(answer["access_token"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(
            (claims.role, claims.stores),
            (Role::Pos, vec!["s-9".to_owned()])
        );
        let refused = http
            .post(token_url())
            .basic_auth(&client.id, Some("not-the-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn the_key_set_outlives_the_runtime_of_the_test_that_started_it() {
        // Each #[tokio::test] has a runtime of its own: whichever test of
        // this binary starts the issuer, its server keeps serving.
        let keys = JwtKeys::for_service(&auth_args()).await.unwrap();
        let token = token(Role::Customer, "cust-1", &[]).unwrap();
        assert_eq!(keys.verify(&token).await.unwrap().sub, "cust-1");
        let env = jwt_env();
        assert_eq!(env.len(), 3);
        assert!(
            env.iter()
                .all(|(name, value)| name.starts_with("QSR_JWT_") && !value.is_empty())
        );
    }
}
