//! What verifying one bearer token costs in CPU: ES256 through the services'
//! own path (`JwtKeys` with a key set fetched from an in-process JWKS server),
//! for a token seen before (answered from `JwtKeys`' cache of verified
//! tokens) and for one seen for the first time (the signature checked, as
//! `JwksVerifier` alone does), and, as the baseline the services used before issue 12,
//! HS256 through the same `jsonwebtoken` call the removed shared-secret path
//! made. Run with `cargo run --release -p platform --no-default-features
//! --example verify_cost [iterations]`; BENCHMARKS.md keeps the numbers.
//!
//! CPU time is the process's user + system time from `/proc/self/stat`
//! (Linux), so time spent waiting is not counted; wall time is shown too.
// An example: a failure to set it up ends it with a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use platform::jwks::{JwksSettings, JwksVerifier};
use platform::{Claims, JwtKeys};
use serde_json::{Value, json};

const ISSUER: &str = "https://issuer.verify-cost.invalid";
const AUDIENCE: &str = "qsr";

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("iterations: a number"))
        .unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (keys, first_sight, es256) = es256_setup().await;
        let (hs_key, hs_validation, hs256) = hs256_setup();
        // Warm up both paths (caches, branch predictors, lazy statics).
        for _ in 0..200 {
            keys.verify(&es256).await.unwrap();
            first_sight.verify::<Claims>(&es256).await.unwrap();
            jsonwebtoken::decode::<Claims>(&hs256, &hs_key, &hs_validation).unwrap();
        }
        let (cpu, wall) = measure(iterations, || async {
            keys.verify(&es256).await.unwrap();
        })
        .await;
        report(
            "ES256, a token seen before (JwtKeys)",
            iterations,
            cpu,
            wall,
        );
        let (cpu, wall) = measure(iterations, || async {
            first_sight.verify::<Claims>(&es256).await.unwrap();
        })
        .await;
        report(
            "ES256, signature checked (JwksVerifier)",
            iterations,
            cpu,
            wall,
        );
        let (cpu, wall) = measure(iterations, || async {
            jsonwebtoken::decode::<Claims>(&hs256, &hs_key, &hs_validation).unwrap();
        })
        .await;
        report("HS256 (jsonwebtoken, shared secret)", iterations, cpu, wall);
    });
}

/// Two verifiers of a key set published by a server on this runtime (the
/// services' `JwtKeys`, and a bare `JwksVerifier` that checks every
/// signature), and a token signed by that set's key.
async fn es256_setup() -> (JwtKeys, JwksVerifier, String) {
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let point = secret.public_key().to_encoded_point(false);
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "k1",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
    });
    let set = json!({ "keys": [jwk] });
    let router = Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let set = set.clone();
            async move { Json(set) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let settings = JwksSettings {
        url,
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        min_refresh: Duration::from_secs(3600),
    };
    let verifier = JwksVerifier::fetch(settings.clone()).await.unwrap();
    let first_sight = JwksVerifier::fetch(settings).await.unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k1".into());
    let der = secret.to_pkcs8_der().unwrap();
    let token = jsonwebtoken::encode(
        &header,
        &claims(true),
        &EncodingKey::from_ec_der(der.as_bytes()),
    )
    .unwrap();
    (JwtKeys::key_set(verifier), first_sight, token)
}

/// The key, validation and a token of the HS256 path as it was: 5 s of
/// leeway, `exp` and `sub` required.
fn hs256_setup() -> (DecodingKey, Validation, String) {
    let secret = b"a-secret-of-at-least-thirty-two-bytes!!";
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(false),
        &EncodingKey::from_secret(secret),
    )
    .unwrap();
    (DecodingKey::from_secret(secret), validation, token)
}

/// The claims of a staff token as the identity service writes them (with
/// `iss`, `aud`, `iat` and `jti`), or as the HS256 tokens had them.
fn claims(full: bool) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": "4b0c8a9e-1c1e-4d55-9a43-6f1f0c1d2e3f", "role": "staff",
        "stores": ["demo-downtown"], "exp": now + 900,
    });
    if full {
        claims["iss"] = json!(ISSUER);
        claims["aud"] = json!(AUDIENCE);
        claims["iat"] = json!(now);
        claims["jti"] = json!("0193a0c4-7b1e-7cc0-8f8e-3f2b6a1d9e01");
    }
    claims
}

/// CPU and wall time of `iterations` runs of `step`.
async fn measure<F, Fut>(iterations: u32, step: F) -> (Duration, Duration)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (cpu_start, wall_start) = (cpu_time(), Instant::now());
    for _ in 0..iterations {
        step().await;
    }
    (cpu_time() - cpu_start, wall_start.elapsed())
}

fn report(what: &str, iterations: u32, cpu: Duration, wall: Duration) {
    let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(iterations);
    println!(
        "{what}: {:.1} µs CPU, {:.1} µs wall per verification ({iterations} runs)",
        per(cpu),
        per(wall)
    );
}

/// This process's user + system CPU time, from `/proc/self/stat` (fields 14
/// and 15, in clock ticks of 1/100 s on Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat (Linux)");
    // The command name, field 2, may hold spaces: count from after its `)`.
    let after = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}
