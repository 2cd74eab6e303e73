//! ES256 tokens verified by a key set that an in-process HTTP server
//! publishes, as the identity service will: what is accepted, what is refused
//! with `401`, and keys rotating under a running verifier.
// Helpers outside `#[test]` functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use platform::jwks::{JwksSettings, JwksVerifier};
use platform::{AuthArgs, Caller, Claims, JwtKeys, Problem, Role};
use serde_json::{Value, json};

const ISSUER: &str = "http://identity.test";
const AUDIENCE: &str = "qsr";

/// A P-256 key pair of the tests, made from a fixed scalar.
struct TestKey {
    kid: String,
    secret: p256::SecretKey,
}

impl TestKey {
    fn new(kid: &str, seed: u8) -> TestKey {
        TestKey {
            kid: kid.to_owned(),
            secret: p256::SecretKey::from_slice(&[seed; 32]).unwrap(),
        }
    }

    /// The public half, as a JWKS publishes it.
    fn jwk(&self) -> Value {
        let point = self.secret.public_key().to_encoded_point(false);
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        })
    }

    /// `claims` signed with this key, the header naming `kid`.
    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let der = self.secret.to_pkcs8_der().unwrap();
        let mut head = Header::new(Algorithm::ES256);
        head.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&head, claims, &EncodingKey::from_ec_der(der.as_bytes())).unwrap()
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }
}

/// The key set server: what it publishes now, and how often it was asked.
#[derive(Clone)]
struct Published {
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

impl Published {
    fn set(&self, keys: &[&TestKey]) {
        *self.keys.lock().unwrap() = keys.iter().map(|k| k.jwk()).collect();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn jwks(State(published): State<Published>) -> Json<Value> {
    published.fetches.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "keys": *published.keys.lock().unwrap() }))
}

/// Starts a server publishing `keys`; answers its JWKS address.
async fn serve(keys: &[&TestKey]) -> (Published, String) {
    let published = Published {
        keys: Arc::new(Mutex::new(Vec::new())),
        fetches: Arc::new(AtomicUsize::new(0)),
    };
    published.set(keys);
    let router = Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .with_state(published.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    (published, url)
}

async fn verifier(url: &str, min_refresh: Duration) -> JwtKeys {
    let settings = JwksSettings {
        url: url.to_owned(),
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        min_refresh,
    };
    JwtKeys::key_set(JwksVerifier::fetch(settings).await.unwrap())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims() -> Value {
    json!({
        "sub": "4b0c8a9e-1c1e-4d55-9a43-6f1f0c1d2e3f", "role": "staff", "stores": ["s-1"],
        "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "exp": now() + 900, "jti": "j-1",
    })
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

/// What the `Caller` extractor makes of `token`: the claims or the status.
async fn call(keys: &JwtKeys, token: &str) -> Result<Claims, StatusCode> {
    let request = Request::builder()
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(())
        .unwrap();
    let (mut parts, ()) = request.into_parts();
    match Caller::from_request_parts(&mut parts, keys).await {
        Ok(Caller(claims)) => Ok(claims),
        Err(problem) => Err(problem.status),
    }
}

fn unsigned(header: &Value, claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    format!("{}.{}.", part(header), part(claims))
}

#[tokio::test]
async fn a_token_of_a_published_key_verifies_with_its_claims() {
    let key = TestKey::new("k1", 1);
    let (_, url) = serve(&[&key]).await;
    let keys = verifier(&url, Duration::from_secs(3600)).await;
    let verified = call(&keys, &key.sign(&claims())).await.unwrap();
    assert_eq!(verified.role, Role::Staff);
    assert_eq!(verified.stores, ["s-1"]);
    assert_eq!(verified.sub, "4b0c8a9e-1c1e-4d55-9a43-6f1f0c1d2e3f");
    assert_eq!(verified.iss.as_deref(), Some(ISSUER));
    assert_eq!(verified.aud.as_deref(), Some(AUDIENCE));
    assert_eq!(verified.jti.as_deref(), Some("j-1"));
    assert!(verified.iat.is_some());
    // Within the leeway of 30 s either side.
    let just_expired = with(claims(), "exp", json!(now() - 10));
    assert!(call(&keys, &key.sign(&just_expired)).await.is_ok());
    let nearly_valid = with(claims(), "nbf", json!(now() + 10));
    assert!(call(&keys, &key.sign(&nearly_valid)).await.is_ok());
}

#[tokio::test]
async fn forged_foreign_and_mis_addressed_tokens_are_refused_with_401() {
    let key = TestKey::new("k1", 1);
    let stranger = TestKey::new("k1", 2);
    let (_, url) = serve(&[&key]).await;
    let keys = verifier(&url, Duration::from_secs(3600)).await;
    let hs256 = {
        let mut head = Header::new(Algorithm::HS256);
        head.kid = Some("k1".into());
        // The public key as an HMAC secret: the classic algorithm confusion.
        let secret = key.jwk()["x"].as_str().unwrap().to_owned();
        let encoding = EncodingKey::from_secret(secret.as_bytes());
        jsonwebtoken::encode(&head, &claims(), &encoding).unwrap()
    };
    // Each with the reason it must be refused for, as the `401` says it.
    let refused = [
        ("InvalidSignature", stranger.sign(&claims())),
        (
            "InvalidAudience",
            key.sign(&with(claims(), "aud", json!("other"))),
        ),
        ("claim: aud", key.sign(&with(claims(), "aud", Value::Null))),
        (
            "InvalidIssuer",
            key.sign(&with(claims(), "iss", json!("http://evil"))),
        ),
        (
            "ExpiredSignature",
            key.sign(&with(claims(), "exp", json!(now() - 60))),
        ),
        (
            "ImmatureSignature",
            key.sign(&with(claims(), "nbf", json!(now() + 60))),
        ),
        ("`kid`", key.sign_as("k9", &claims())),
        (
            "unknown variant `none`",
            unsigned(&json!({"alg": "none", "kid": "k1"}), &claims()),
        ),
        ("not HS256", hs256),
        ("Base64", "not.a.token".to_owned()),
    ];
    for (reason, token) in refused {
        let problem = refusal(&keys, &token).await;
        assert_eq!(problem.status, StatusCode::UNAUTHORIZED, "{reason}");
        assert!(
            problem.detail.contains(reason),
            "{reason}: {}",
            problem.detail
        );
    }
}

async fn refusal(keys: &JwtKeys, token: &str) -> Problem {
    let request = Request::builder()
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(())
        .unwrap();
    let (mut parts, ()) = request.into_parts();
    Caller::from_request_parts(&mut parts, keys)
        .await
        .err()
        .unwrap()
}

#[tokio::test]
async fn a_new_kid_is_picked_up_and_the_previous_key_works_while_published() {
    let old = TestKey::new("k1", 1);
    let new = TestKey::new("k2", 3);
    let (published, url) = serve(&[&old]).await;
    let keys = verifier(&url, Duration::ZERO).await;
    assert_eq!(
        call(&keys, &new.sign(&claims())).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    published.set(&[&new, &old]);
    assert!(call(&keys, &new.sign(&claims())).await.is_ok());
    let old_token = old.sign(&claims());
    assert!(call(&keys, &old_token).await.is_ok());
    // Verified once, the same token is taken again (from the cache).
    assert!(call(&keys, &old_token).await.is_ok());
    // Once the set no longer holds the previous key, the next fetch drops it,
    // and with it the tokens it verified, cached ones too.
    published.set(&[&new]);
    let third = TestKey::new("k3", 4);
    assert!(call(&keys, &third.sign(&claims())).await.is_err());
    assert_eq!(
        call(&keys, &old_token).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert!(call(&keys, &new.sign(&claims())).await.is_ok());
}

#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_the_set_at_most_once_per_interval() {
    let key = TestKey::new("k1", 1);
    let (published, url) = serve(&[&key]).await;
    let keys = verifier(&url, Duration::from_secs(3600)).await;
    assert_eq!(published.fetches(), 1);
    for n in 0..50 {
        let token = key.sign_as(&format!("garbage-{n}"), &claims());
        assert_eq!(
            call(&keys, &token).await.err(),
            Some(StatusCode::UNAUTHORIZED)
        );
    }
    assert_eq!(published.fetches(), 1, "fetched again within the interval");
    assert!(call(&keys, &key.sign(&claims())).await.is_ok());
}

#[tokio::test]
async fn a_service_fetches_the_key_set_of_its_settings_and_refuses_shared_secret_tokens() {
    let key = TestKey::new("k1", 1);
    let (published, url) = serve(&[&key]).await;
    let args = AuthArgs {
        jwt_jwks_url: url,
        jwt_issuer: ISSUER.into(),
        jwt_audience: AUDIENCE.into(),
    };
    let keys = JwtKeys::for_service(&args).await.unwrap();
    assert_eq!(published.fetches(), 1);
    assert!(call(&keys, &key.sign(&claims())).await.is_ok());
    // HS256 with a secret, as the services took before issue 12.
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(b"any-shared-secret-of-thirty-two-bytes"),
    )
    .unwrap();
    assert_eq!(
        call(&keys, &hs256).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
}

#[tokio::test]
async fn a_key_set_without_an_es256_key_is_not_accepted_at_start() {
    let (_, url) = serve(&[]).await;
    let settings = JwksSettings {
        url,
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        min_refresh: Duration::ZERO,
    };
    assert!(JwksVerifier::fetch(settings).await.is_err());
}
