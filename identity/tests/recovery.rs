//! What the mail carries: verification and reset links, the outbox behind
//! them; and what a customer does to their own account: change the
//! password, delete it. Against real Postgres and the test SMTP sink.

// A test fails by panicking; helpers unwrap like the tests they serve.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{PASSWORD, Service, access_token, claims, mail, refresh_token};
use serde_json::{Value, json};

/// An address no other test (of this run or another) writes to.
fn unique(name: &str, service: &Service) -> String {
    format!("{name}-{}@example.com", service.scratch.suffix)
}

async fn refresh(service: &Service, token: &str) -> (u16, Value) {
    service
        .post("/v1/auth/refresh", json!({"refresh_token": token}))
        .await
}

#[tokio::test]
async fn the_verification_link_works_once() {
    let service = Service::start_with(
        "identity-verify",
        &[
            "--smtp-url",
            &mail::smtp_url(),
            "--allow-unverified-orders",
            "false",
        ],
    )
    .await;
    let email = unique("ada", &service);
    let tokens = service.register(&email).await;
    // Unverified customers may not order here: the token says so.
    assert_eq!(claims(&access_token(&tokens))["email_verified"], false);

    let received = mail::wait_for(&email, "Confirm your email").await;
    assert!(
        received.body.contains("/verify-email?token="),
        "{}",
        received.body
    );
    let token = received.token("/verify-email");
    let (status, body) = service
        .post("/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, again) = service
        .post("/v1/auth/verify-email", json!({"token": token}))
        .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (400, Some("invalid_token"))
    );

    let (_, me) = service.get("/v1/me", Some(&access_token(&tokens))).await;
    assert_eq!(me["email_verified"], true);
    // The next access token says so too.
    let (status, next) = refresh(&service, &refresh_token(&tokens)).await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(claims(&access_token(&next))["email_verified"], true);
    service.remove().await;
}

#[tokio::test]
async fn tokens_carry_no_verification_claim_when_unverified_customers_may_order() {
    let service = Service::start("identity-verify-default").await;
    let tokens = service.register("lin@example.com").await;
    assert_eq!(claims(&access_token(&tokens)).get("email_verified"), None);
    service.remove().await;
}

#[tokio::test]
async fn a_reset_by_the_mailed_token_works_once_and_ends_every_session() {
    let service = Service::start_with_mail("identity-reset").await;
    let email = unique("mary", &service);
    let first = refresh_token(&service.register(&email).await);
    let second = refresh_token(&service.login(&email).await);

    // Known or not, the answer is the same.
    for address in [email.as_str(), "nobody-at-all@example.com"] {
        let (status, body) = service
            .post("/v1/auth/password-reset", json!({"email": address}))
            .await;
        assert_eq!((status, body), (202, Value::Null), "{address}");
    }
    let token = mail::wait_for(&email, "Reset your password")
        .await
        .token("/reset-password");

    // A weak password leaves the token usable.
    let (status, weak) = service
        .post(
            "/v1/auth/password-reset/confirm",
            json!({"token": token, "password": "password123"}),
        )
        .await;
    assert_eq!(
        (status, weak["code"].as_str()),
        (422, Some("weak_password"))
    );
    let new_password = "quiet lanterns drift over harbour";
    let (status, body) = service
        .post(
            "/v1/auth/password-reset/confirm",
            json!({"token": token, "password": new_password}),
        )
        .await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, again) = service
        .post(
            "/v1/auth/password-reset/confirm",
            json!({"token": token, "password": "another fine long passphrase"}),
        )
        .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (400, Some("invalid_token"))
    );

    // Every session ended; the new password logs in, the old does not.
    for old in [first, second] {
        assert_eq!(refresh(&service, &old).await.0, 401);
    }
    service.login_fails(&email).await;
    let (status, _) = service
        .post(
            "/v1/auth/login",
            json!({"email": email, "password": new_password}),
        )
        .await;
    assert_eq!(status, 200);
    service.remove().await;
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let service = Service::start("identity-change-password").await;
    let tokens = service.register("alan@example.com").await;
    let other = refresh_token(&service.login("alan@example.com").await);
    let access = access_token(&tokens);
    let new_password = "seven herons cross the grey estuary";
    let (status, wrong) = service
        .post_as(
            "/v1/me/password",
            &access,
            json!({"current_password": "not the password at all", "new_password": new_password}),
        )
        .await;
    assert_eq!(
        (status, wrong["code"].as_str()),
        (403, Some("wrong_password"))
    );
    let (status, weak) = service
        .post_as(
            "/v1/me/password",
            &access,
            json!({"current_password": PASSWORD, "new_password": "password123"}),
        )
        .await;
    assert_eq!(
        (status, weak["code"].as_str()),
        (422, Some("weak_password"))
    );

    let (status, changed) = service
        .post_as(
            "/v1/me/password",
            &access,
            json!({"current_password": PASSWORD, "new_password": new_password}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    for old in [refresh_token(&tokens), other] {
        assert_eq!(refresh(&service, &old).await.0, 401);
    }
    assert_eq!(refresh(&service, &refresh_token(&changed)).await.0, 200);
    service.login_fails("alan@example.com").await;
    let (status, _) = service
        .post(
            "/v1/auth/login",
            json!({"email": "alan@example.com", "password": new_password}),
        )
        .await;
    assert_eq!(status, 200);
    service.remove().await;
}

#[tokio::test]
async fn deleting_an_account_removes_everything_personal() {
    let service = Service::start("identity-delete").await;
    let tokens = service.register("rosa@example.com").await;
    let (_, me) = service.get("/v1/me", Some(&access_token(&tokens))).await;
    let id: uuid::Uuid = me["user_id"].as_str().unwrap().parse().unwrap();
    let db = service.database().await;
    let count = |table: &'static str| {
        let db = &db;
        async move {
            let row = db
                .query_one(
                    &format!("select count(*) from {table} where user_id = $1"),
                    &[&id],
                )
                .await
                .unwrap();
            row.get::<_, i64>(0)
        }
    };
    // With no relay the verification mail is still queued.
    assert_eq!(count("mail_outbox").await, 1);
    assert_eq!(count("email_tokens").await, 1);

    let (status, body) = service.delete("/v1/me", &access_token(&tokens)).await;
    assert_eq!((status, body), (204, Value::Null));
    for table in ["refresh_tokens", "email_tokens", "mail_outbox"] {
        assert_eq!(count(table).await, 0, "{table}");
    }
    let users: i64 = db
        .query_one("select count(*) from users where id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
    let (status, gone) = service.get("/v1/me", Some(&access_token(&tokens))).await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    assert_eq!(refresh(&service, &refresh_token(&tokens)).await.0, 401);
    service.login_fails("rosa@example.com").await;

    // Staff and admins are not deleted this way.
    let admin = service.admin("root@example.com").await;
    let (status, refused) = service.delete("/v1/me", &access_token(&admin)).await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("forbidden")));
    service.remove().await;
}

#[tokio::test]
async fn a_relay_that_is_down_loses_no_mail() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let service = Service::start_with("identity-relay-down", &["--smtp-url", &down]).await;
    let email = unique("hopper", &service);
    service.register(&email).await;

    let db = service.database().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let row = db
            .query_one(
                "select attempts, last_error is not null from mail_outbox where recipient = $1",
                &[&email],
            )
            .await
            .unwrap();
        let (attempts, errored): (i32, bool) = (row.get(0), row.get(1));
        if attempts >= 1 && errored {
            break;
        }
        assert!(Instant::now() < deadline, "the mail was never tried");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The relay comes back: the queued mail goes out, and leaves the outbox.
    let service = service
        .restart_with(vec!["--smtp-url".into(), mail::smtp_url()])
        .await;
    mail::wait_for(&email, "Confirm your email").await;
    let db = service.database().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left: i64 = db
            .query_one("select count(*) from mail_outbox", &[])
            .await
            .unwrap()
            .get(0);
        if left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the sent mail stayed queued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    service.remove().await;
}
