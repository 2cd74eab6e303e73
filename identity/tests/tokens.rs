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
    assert_eq!(claims["sub"], me["user_id"]);
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

#[tokio::test]
async fn a_sixth_login_within_the_window_waits_even_with_the_right_password() {
    let service = Service::start_with("identity-throttle", &["--login-window-secs", "3"]).await;
    service.register("ida@example.com").await;
    let wrong = json!({"email": "ida@example.com", "password": "not the password at all"});
    for _ in 0..5 {
        let (status, _) = service.post("/v1/auth/login", wrong.clone()).await;
        assert_eq!(status, 401);
    }
    let response = service
        .http
        .post(format!("{}/v1/auth/login", service.base))
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "too_many_attempts");
    // The right password waits too…
    let right = json!({"email": "IDA@example.com", "password": common::PASSWORD});
    let (status, _) = service.post("/v1/auth/login", right.clone()).await;
    assert_eq!(status, 429);
    // …until the oldest failure leaves the window.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(retry_after + 5);
    loop {
        let (status, body) = service.post("/v1/auth/login", right.clone()).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 429, "{body}");
        assert!(std::time::Instant::now() < deadline, "still refused");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    service.remove().await;
}

#[tokio::test]
async fn a_rotated_key_is_published_first_then_signs_while_the_old_still_verifies() {
    let service = Service::start_with("identity-rotate-key", &["--key-reload-secs", "1"]).await;
    let before = access_token(&service.register("grete@example.com").await);
    let old_kid = jsonwebtoken::decode_header(&before).unwrap().kid.unwrap();
    let pool = platform::connect_pool(&service.scratch.postgres).unwrap();
    let new_kid = identity::key_store::rotate(&pool, std::time::Duration::from_secs(2))
        .await
        .unwrap();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let fresh = loop {
        let token = access_token(&service.login("grete@example.com").await);
        let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
        let keys = published_keys(&service).await;
        if kid == new_kid {
            // It was published before it signed; the old one still is.
            assert!(keys.find(&old_kid).is_some() && keys.find(&new_kid).is_some());
            break token;
        }
        assert_eq!(kid, old_kid);
        assert!(
            std::time::Instant::now() < deadline,
            "the new key never signed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let keys = published_keys(&service).await;
    assert_eq!(keys.keys.len(), 2);
    for token in [&before, &fresh] {
        let (status, _) = service.get("/v1/me", Some(token)).await;
        assert_eq!(status, 200);
    }
    service.remove().await;
}

#[tokio::test]
async fn a_web_client_keeps_its_refresh_token_in_a_cookie() {
    let service = Service::start("identity-cookie").await;
    let post = |path: &str, body: Value, cookie: Option<&str>| {
        let mut request = service
            .http
            .post(format!("{}{path}", service.base))
            .header("X-Client", "web")
            .json(&body);
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        request.send()
    };
    let cookie_of = |response: &reqwest::Response| {
        let set = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        let pair = set.split(';').next().unwrap().to_owned();
        (set, pair)
    };
    let registered = post(
        "/v1/auth/register",
        json!({"email": "web@example.com", "password": common::PASSWORD, "name": "Web"}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(registered.status(), 201);
    let (set, first) = cookie_of(&registered);
    assert!(first.starts_with("qsr_refresh=") && first.len() > "qsr_refresh=".len() + 40);
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/v1/auth",
        "Max-Age=2592000",
    ] {
        assert!(set.contains(attribute), "{set}");
    }
    let body: Value = registered.json().await.unwrap();
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body["access_token"].is_string());

    // Refresh reads the cookie when the body has no token.
    let refreshed = post("/v1/auth/refresh", json!({}), Some(&first))
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let (_, second) = cookie_of(&refreshed);
    assert_ne!(second, first);
    let body: Value = refreshed.json().await.unwrap();
    assert!(body.get("refresh_token").is_none(), "{body}");
    let replayed = post("/v1/auth/refresh", json!({}), Some(&first))
        .await
        .unwrap();
    assert_eq!(replayed.status(), 401);

    // A login of a web client gets a cookie; logout clears it.
    let login = post(
        "/v1/auth/login",
        json!({"email": "web@example.com", "password": common::PASSWORD}),
        None,
    )
    .await
    .unwrap();
    let (_, third) = cookie_of(&login);
    let logout = post("/v1/auth/logout", json!({}), Some(&third))
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let (cleared, _) = cookie_of(&logout);
    assert!(
        cleared.starts_with("qsr_refresh=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let after = post("/v1/auth/refresh", json!({}), Some(&third))
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    service.remove().await;
}
