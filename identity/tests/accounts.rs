//! Registering, logging in, the profile, and the password rules, against
//! the service on a real Postgres.

// A test fails by panicking; helpers unwrap like the tests they serve.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{PASSWORD, Service, access_token};
use serde_json::json;

#[tokio::test]
async fn a_customer_registers_logs_in_and_changes_the_profile() {
    let service = Service::start("identity-register").await;
    let tokens = service.register("Ada@Example.com").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert!(tokens["refresh_token"].as_str().unwrap().len() >= 43);

    // The email logs in whatever its case.
    let login = service.login("ada@example.COM").await;
    let (status, me) = service.get("/v1/me", Some(&access_token(&login))).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "Ada@Example.com");
    assert_eq!(me["name"], "Ada Lovelace");
    assert_eq!(me["role"], "customer");
    assert_eq!(me["stores"], json!([]));
    assert_eq!(me["phone"], json!(null));
    assert_eq!(me["email_verified"], false);

    let token = access_token(&tokens);
    let (status, changed) = service
        .patch(
            "/v1/me",
            &token,
            json!({"name": "Ada King", "phone": "+44 20 7946 0000"}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "Ada King");
    assert_eq!(changed["phone"], "+44 20 7946 0000");
    // Leaving a field out keeps it; `null` clears the phone.
    let (_, kept) = service
        .patch("/v1/me", &token, json!({"phone": null}))
        .await;
    assert_eq!(kept["name"], "Ada King");
    assert_eq!(kept["phone"], json!(null));
    let (status, refused) = service
        .patch("/v1/me", &token, json!({"phone": "call me"}))
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "validation_failed");
    assert_eq!(refused["errors"][0]["field"], "phone");

    // The email is taken whatever its case.
    let (status, taken) = service
        .post(
            "/v1/auth/register",
            json!({"email": "ADA@example.com", "password": PASSWORD, "name": "Someone"}),
        )
        .await;
    assert_eq!(status, 409, "{taken}");
    assert_eq!(taken["code"], "email_taken");
    service.remove().await;
}

#[tokio::test]
async fn no_token_or_a_forged_one_reads_no_profile() {
    let service = Service::start("identity-me-refused").await;
    let tokens = service.register("grace@example.com").await;
    let (status, body) = service.get("/v1/me", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    // The signature of another token's payload does not fit.
    let token = access_token(&tokens);
    let mut parts: Vec<&str> = token.split('.').collect();
    let other = access_token(&service.login("grace@example.com").await);
    parts[2] = other.split('.').nth(2).unwrap();
    let (status, body) = service.get("/v1/me", Some(&parts.join("."))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    service.remove().await;
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_answer_alike() {
    let service = Service::start("identity-credentials").await;
    service.register("alan@example.com").await;
    let wrong = service
        .post(
            "/v1/auth/login",
            json!({"email": "alan@example.com", "password": "not the password at all"}),
        )
        .await;
    let unknown = service
        .post(
            "/v1/auth/login",
            json!({"email": "nobody@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(wrong.0, 401, "{}", wrong.1);
    assert_eq!(wrong.1["code"], "invalid_credentials");
    assert_eq!(wrong, unknown);
    service.remove().await;
}

#[tokio::test]
async fn the_service_answers_its_probes_document_and_metrics() {
    let service = Service::start("identity-probes").await;
    for path in ["/healthz", "/readyz"] {
        let response = service
            .http
            .get(format!("{}{path}", service.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let (status, doc) = service.get("/openapi.json", None).await;
    assert_eq!((status, doc["openapi"].as_str()), (200, Some("3.1.0")));
    let (status, missing) = service.get("/v1/nothing-here", None).await;
    assert_eq!((status, missing["code"].as_str()), (404, Some("not_found")));
    service.login_fails("nobody@example.com").await;
    let metrics = service
        .http
        .get(format!("{}/metrics", service.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("qsr_identity_logins_total{outcome=\"invalid_credentials\"}"),
        "{metrics}"
    );
    service.remove().await;
}

#[tokio::test]
async fn weak_passwords_are_refused_with_the_estimators_feedback() {
    let service = Service::start("identity-weak").await;
    for password in ["password123", "short", "barbara@example.com"] {
        let (status, body) = service
            .post(
                "/v1/auth/register",
                json!({"email": "barbara@example.com", "password": password, "name": "Barbara"}),
            )
            .await;
        assert_eq!(status, 422, "{password}: {body}");
        assert_eq!(body["code"], "weak_password", "{password}: {body}");
    }
    let (_, body) = service
        .post(
            "/v1/auth/register",
            json!({"email": "barbara@example.com", "password": "password123", "name": "B"}),
        )
        .await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.len() > "the password is too easy to guess: ".len(),
        "{detail}"
    );
    // Nothing was registered: the email is still free.
    service.register("barbara@example.com").await;
    service.remove().await;
}
