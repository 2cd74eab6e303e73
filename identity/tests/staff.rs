//! Staff, admins and POS devices: invitations, the command line's account
//! creation, and client credentials, against real Postgres and the test
//! SMTP sink.

// A test fails by panicking; helpers unwrap like the tests they serve.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{PASSWORD, Service, access_token, claims, mail};
use serde_json::{Value, json};

#[tokio::test]
async fn an_invitation_makes_a_staff_member_of_its_stores() {
    let service = Service::start_with_mail("identity-invite").await;
    let admin = access_token(&service.admin("boss@example.com").await);
    let email = format!("sam-{}@example.com", service.scratch.suffix);
    let body = json!({"email": email, "role": "staff", "stores": ["downtown-42", "airport-1"]});

    let customer = access_token(&service.register("cust@example.com").await);
    let (status, refused) = service
        .post_as("/v1/invitations", &customer, body.clone())
        .await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("forbidden")));
    let (status, invalid) = service
        .post_as(
            "/v1/invitations",
            &admin,
            json!({"email": email, "role": "staff", "stores": []}),
        )
        .await;
    assert_eq!(status, 422, "{invalid}");
    assert_eq!(invalid["code"], "stores_required", "{invalid}");
    let (status, taken) = service
        .post_as(
            "/v1/invitations",
            &admin,
            json!({"email": "CUST@example.com", "role": "admin"}),
        )
        .await;
    assert_eq!((status, taken["code"].as_str()), (409, Some("email_taken")));

    let (status, invited) = service.post_as("/v1/invitations", &admin, body).await;
    assert_eq!(status, 201, "{invited}");
    assert_eq!(invited["role"], "staff");
    let token = mail::wait_for(&email, "You are invited")
        .await
        .token("/invitation");
    let accept = json!({"token": token, "password": PASSWORD, "name": "Sam Cook"});
    let (status, tokens) = service
        .post("/v1/auth/invitations/accept", accept.clone())
        .await;
    assert_eq!(status, 201, "{tokens}");
    let claimed = claims(&access_token(&tokens));
    assert_eq!(claimed["role"], "staff");
    assert_eq!(claimed["stores"], json!(["downtown-42", "airport-1"]));
    let (status, again) = service.post("/v1/auth/invitations/accept", accept).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (400, Some("invalid_token"))
    );
    let (_, me) = service.get("/v1/me", Some(&access_token(&tokens))).await;
    assert_eq!(
        (me["role"].as_str(), me["email_verified"].as_bool()),
        (Some("staff"), Some(true))
    );
    assert_eq!(me["name"], "Sam Cook");
    service.remove().await;
}

#[tokio::test]
async fn the_command_line_creates_an_admin_once() {
    let service = Service::start("identity-cli").await;
    let database_url = service.scratch.postgres.database_url.clone();
    let create = move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_identity"))
            .args([
                "admin",
                "create",
                "--email",
                "ops@example.com",
                "--name",
                "Ops",
            ])
            .env("DATABASE_URL", &database_url)
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        child.wait_with_output().unwrap()
    };
    let created = tokio::task::spawn_blocking(create.clone()).await.unwrap();
    assert!(created.status.success(), "{created:?}");
    assert!(String::from_utf8_lossy(&created.stdout).starts_with("created admin "));
    let tokens = service.login("ops@example.com").await;
    assert_eq!(claims(&access_token(&tokens))["role"], "admin");

    let again = tokio::task::spawn_blocking(create).await.unwrap();
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("an account with the email ops@example.com exists"),
        "{stderr}"
    );
    service.remove().await;
}

#[tokio::test]
async fn staff_made_by_the_library_have_their_stores() {
    let service = Service::start("identity-staff-create").await;
    let new = |stores: Vec<String>| identity::accounts::NewAccount {
        email: "kim@example.com".into(),
        name: "Kim".into(),
        password: PASSWORD.into(),
        role: identity::AccountRole::Staff,
        stores,
    };
    let refused = identity::accounts::create(&service.scratch.postgres, new(vec![])).await;
    assert!(matches!(
        refused,
        Err(identity::accounts::CreateError::Invalid(_))
    ));
    identity::accounts::create(&service.scratch.postgres, new(vec!["downtown-42".into()]))
        .await
        .unwrap();
    let taken = identity::accounts::create(&service.scratch.postgres, new(vec!["x".into()])).await;
    assert!(matches!(
        taken,
        Err(identity::accounts::CreateError::EmailTaken(_))
    ));
    let tokens = service.login("kim@example.com").await;
    assert_eq!(
        claims(&access_token(&tokens))["stores"],
        json!(["downtown-42"])
    );
    service.remove().await;
}

/// `POST /v1/auth/token` with a form and, when given, Basic credentials.
async fn token(
    service: &Service,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = service
        .http
        .post(format!("{}/v1/auth/token", service.base))
        .form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

#[tokio::test]
async fn a_pos_client_gets_tokens_of_its_store_by_form_or_basic() {
    let service = Service::start("identity-pos").await;
    let admin = access_token(&service.admin("boss@example.com").await);
    let (status, created) = service
        .post_as("/v1/stores/downtown-42/pos-clients", &admin, Value::Null)
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();

    let grant = ("grant_type", "client_credentials");
    let (status, headers, body) = token(
        &service,
        &[grant, ("client_id", &id), ("client_secret", &secret)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_i64()),
        (Some("Bearer"), Some(600))
    );
    let claimed = claims(body["access_token"].as_str().unwrap());
    assert_eq!(claimed["role"], "pos");
    assert_eq!(claimed["stores"], json!(["downtown-42"]));
    assert_eq!(claimed["sub"], id.as_str());
    assert_eq!(
        claimed["exp"].as_i64().unwrap() - claimed["iat"].as_i64().unwrap(),
        600
    );

    let (status, _, body) = token(&service, &[grant], Some((&id, &secret))).await;
    assert_eq!(status, 200, "{body}");

    let (status, headers, body) = token(&service, &[grant], Some((&id, "not-the-secret"))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let (status, _, body) = token(
        &service,
        &[("grant_type", "password")],
        Some((&id, &secret)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, _, body) = token(&service, &[("client_id", &id)], Some((&id, &secret))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // Only admins make clients; a revoked client gets no more tokens.
    let customer = access_token(&service.register("cust@example.com").await);
    let (status, refused) = service
        .post_as("/v1/stores/downtown-42/pos-clients", &customer, Value::Null)
        .await;
    assert_eq!((status, refused["code"].as_str()), (403, Some("forbidden")));
    let (status, _) = service
        .delete(&format!("/v1/stores/downtown-42/pos-clients/{id}"), &admin)
        .await;
    assert_eq!(status, 204);
    let (status, _, body) = token(&service, &[grant], Some((&id, &secret))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    service.remove().await;
}
