//! Refresh-token rotation, replay and logout, and access tokens that verify
//! against the published keys, against the service on a real Postgres.

// A test fails by panicking; helpers unwrap like the tests they serve.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{AUDIENCE, ISSUER, Service, access_token, refresh_token};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

async fn refresh(service: &Service, token: &str) -> (u16, Value) {
    service
        .post("/v1/auth/refresh", json!({"refresh_token": token}))
        .await
}

#[tokio::test]
async fn each_refresh_spends_its_token_and_issues_the_next() {
    let service = Service::start("identity-rotate").await;
    let first = refresh_token(&service.register("rosalind@example.com").await);
    let (status, second) = refresh(&service, &first).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(refresh_token(&second), first);
    let (status, me) = service.get("/v1/me", Some(&access_token(&second))).await;
    assert_eq!(
        (status, me["email"].as_str()),
        (200, Some("rosalind@example.com"))
    );
    let (status, third) = refresh(&service, &refresh_token(&second)).await;
    assert_eq!(status, 200, "{third}");
    let (status, unknown) = refresh(&service, "not-a-token-we-issued").await;
    assert_eq!(
        (status, unknown["code"].as_str()),
        (401, Some("invalid_refresh_token"))
    );
    service.remove().await;
}

#[tokio::test]
async fn replaying_a_spent_refresh_token_revokes_its_family() {
    let service = Service::start("identity-replay").await;
    let first = refresh_token(&service.register("marie@example.com").await);
    // Another session, of another login, is a family of its own.
    let other = refresh_token(&service.login("marie@example.com").await);
    let (_, second) = refresh(&service, &first).await;
    let newest = refresh_token(&second);

    let (status, replay) = refresh(&service, &first).await;
    assert_eq!(
        (status, replay["code"].as_str()),
        (401, Some("invalid_refresh_token"))
    );
    // The newest of the family stops working too.
    let (status, _) = refresh(&service, &newest).await;
    assert_eq!(status, 401);
    let (status, body) = refresh(&service, &other).await;
    assert_eq!(status, 200, "{body}");
    service.remove().await;
}

#[tokio::test]
async fn logout_revokes_the_family() {
    let service = Service::start("identity-logout").await;
    let first = refresh_token(&service.register("emmy@example.com").await);
    let (_, second) = refresh(&service, &first).await;
    let (status, body) = service
        .post(
            "/v1/auth/logout",
            json!({"refresh_token": refresh_token(&second)}),
        )
        .await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, _) = refresh(&service, &refresh_token(&second)).await;
    assert_eq!(status, 401);
    service.remove().await;
}

/// The published keys, and the discovery document naming them.
async fn published_keys(service: &Service) -> JwkSet {
    let (status, discovery) = service.get("/.well-known/openid-configuration", None).await;
    assert_eq!(status, 200, "{discovery}");
    assert_eq!(discovery["issuer"], ISSUER);
    let jwks_uri = format!("{ISSUER}/.well-known/jwks.json");
    assert_eq!(discovery["jwks_uri"], jwks_uri);
    let (status, jwks) = service.get("/.well-known/jwks.json", None).await;
    assert_eq!(status, 200, "{jwks}");
    serde_json::from_value(jwks).unwrap()
}

#[tokio::test]
async fn access_tokens_verify_against_the_published_keys() {
    let service = Service::start("identity-jwks").await;
    let tokens = service.register("katherine@example.com").await;
    let token = access_token(&tokens);
    let (_, me) = service.get("/v1/me", Some(&token)).await;

    let keys = published_keys(&service).await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    let kid = header.kid.unwrap();
    let jwk = keys.find(&kid).unwrap();
    let raw: Value = service.get("/.well-known/jwks.json", None).await.1;
    let published = &raw["keys"][0];
    assert_eq!(
        (
            &published["kty"],
            &published["crv"],
            &published["alg"],
            &published["use"]
        ),
        (
            &json!("EC"),
            &json!("P-256"),
            &json!("ES256"),
            &json!("sig")
        )
    );
    assert_eq!(published["kid"], kid);

    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let claims =
        jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], me["id"]);
    assert_eq!(claims["role"], "customer");
    assert_eq!(claims["stores"], json!([]));
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    assert!(claims["jti"].is_string());

    // Another audience refuses it.
    let mut other = Validation::new(Algorithm::ES256);
    other.set_audience(&["another-audience"]);
    assert!(
        jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &other)
            .is_err()
    );
    service.remove().await;
}

#[tokio::test]
async fn a_restarted_service_signs_with_the_key_it_created_first() {
    let service = Service::start("identity-key-kept").await;
    let before = published_keys(&service).await;
    assert_eq!(before.keys.len(), 1);
    let tokens = service.register("hedy@example.com").await;
    let again = service.restart().await;
    let after = published_keys(&again).await;
    assert_eq!(after.keys, before.keys);
    // The token issued before the restart still reads the profile.
    let (status, _) = again.get("/v1/me", Some(&access_token(&tokens))).await;
    assert_eq!(status, 200);
    again.remove().await;
}
