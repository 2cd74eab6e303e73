//! The identity service with the rest of the system: its tokens are the
//! only ones the services take, through a key rotation; an invited staff
//! member sees only its stores' kitchens; a POS device's client credential
//! lets the bridge accept orders; a deleted account's orders stay, under
//! the opaque id alone; an unverified customer may be kept from ordering.
//! (identity's own behaviour is tested in `identity/tests/`.)

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_system::{TEST_PASSWORD, eventually, store_settings};
use testkit::mail;

use crate::helpers::{Order, STORE, System, expect, store_body};

/// A store of the test's besides [`STORE`].
const OTHER_STORE: &str = "e2e-uptown";

/// The `kid` a token's header names.
fn kid(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// The claims a token carries (already verified by the services).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// `POST` to identity, answering the status and the JSON body.
async fn identity_post(
    system: &System,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let mut request = system
        .http
        .post(format!("{}{path}", system.identity()))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Logs in with [`TEST_PASSWORD`]; the whole answer.
async fn login(system: &System, email: &str) -> Value {
    let body = json!({"email": email, "password": TEST_PASSWORD});
    let (status, answer) = identity_post(system, "/v1/auth/login", None, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

/// Registers a customer; its whole answer (tokens).
async fn register(system: &System, email: &str) -> Value {
    let body = json!({"email": email, "password": TEST_PASSWORD, "name": "Test Customer"});
    let (status, answer) = identity_post(system, "/v1/auth/register", None, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer
}

fn access(answer: &Value) -> String {
    answer["access_token"].as_str().unwrap().to_owned()
}

/// An email address of this test's own.
fn email(system: &System, who: &str) -> String {
    format!("{who}-{}@e2e.example", system.scratch.suffix)
}

#[tokio::test]
async fn tokens_of_the_previous_key_keep_working_and_a_new_key_needs_no_restart() {
    let system = System::builder()
        .prefix("e2e-rotate")
        .with_identity()
        .start()
        .await
        .unwrap();
    system.open_store(STORE, &store_body(50)).await;
    let customer = email(&system, "rotating");
    let before = access(&register(&system, &customer).await);
    let old_kid = kid(&before);

    // What `identity keys rotate` does; the test's identity reads its keys
    // every second, and the new key signs two reload periods later.
    let pool = system.pool();
    let new_kid = identity::key_store::rotate(&pool, Duration::from_secs(2))
        .await
        .unwrap();
    assert_ne!(new_kid, old_kid);
    let after = eventually("a token signed with the new key", || async {
        let token = access(&login(&system, &customer).await);
        (kid(&token) == new_kid).then_some(token)
    })
    .await;

    // command-api and query-api were not restarted: they fetch the key set
    // again for the new kid, and still take the old key's token.
    let order_id = eventually("the new key's token taken by command-api", || async {
        let placed = system
            .post("/v1/orders", &after, &Order::at(STORE).body())
            .await;
        if placed.status() != StatusCode::CREATED {
            return None;
        }
        let placed: Value = placed.json().await.unwrap();
        placed["order_id"].as_str().map(str::to_owned)
    })
    .await;
    let path = format!("/v1/orders/{order_id}?min_version=1&wait_ms=10000");
    let read = system.read(&path, &after).await;
    expect(read, StatusCode::OK, None).await;
    let read = system.read(&path, &before).await;
    expect(read, StatusCode::OK, None).await;
    let placed = system
        .post("/v1/orders", &before, &Order::at(STORE).body())
        .await;
    expect(placed, StatusCode::CREATED, None).await;
    system.stop().await.unwrap();
}

#[tokio::test]
async fn an_invited_staff_member_sees_only_its_stores_kitchen_queue() {
    let system = System::builder()
        .prefix("e2e-invite")
        .with_identity()
        .start()
        .await
        .unwrap();
    for store in [STORE, OTHER_STORE] {
        system.open_store(store, &store_body(50)).await;
    }
    let ours = system.place(&Order::at(STORE).body()).await;
    let theirs = system.place(&Order::at(OTHER_STORE).body()).await;

    let cook = email(&system, "cook");
    let invitation = json!({"email": cook, "role": "staff", "stores": [STORE]});
    let (status, answer) = identity_post(
        &system,
        "/v1/invitations",
        Some(&system.tokens.admin),
        &invitation,
    )
    .await;
    assert!(status.is_success(), "{status}: {answer}");
    // The invitee follows the mailed link and sets a password.
    let token = mail::wait_for(&cook, "You are invited")
        .await
        .token("/invitation");
    let accept = json!({"token": token, "password": TEST_PASSWORD, "name": "Cook"});
    let (status, answer) =
        identity_post(&system, "/v1/auth/invitations/accept", None, &accept).await;
    assert!(status.is_success(), "{status}: {answer}");
    let staff = access(&login(&system, &cook).await);
    assert_eq!(claims(&staff)["role"], "staff");
    assert_eq!(claims(&staff)["stores"], json!([STORE]));

    let queue = eventually("our order in our kitchen's queue", || async {
        let queue = system
            .read(&format!("/v1/stores/{STORE}/orders"), &staff)
            .await;
        let queue: Value = queue.json().await.unwrap();
        let ids: Vec<String> = queue["orders"]
            .as_array()?
            .iter()
            .filter_map(|o| o["order_id"].as_str().map(str::to_owned))
            .collect();
        ids.contains(&ours).then_some(ids)
    })
    .await;
    assert!(!queue.contains(&theirs), "{queue:?}");
    let elsewhere = system
        .read(&format!("/v1/stores/{OTHER_STORE}/orders"), &staff)
        .await;
    expect(elsewhere, StatusCode::FORBIDDEN, None).await;
    let their_order = system.read(&format!("/v1/orders/{theirs}"), &staff).await;
    expect(their_order, StatusCode::NOT_FOUND, None).await;
    system.stop().await.unwrap();
}

#[tokio::test]
async fn a_pos_client_credential_lets_the_bridge_accept_orders_through_command_api() {
    let system = System::builder()
        .prefix("e2e-pos-client")
        .with_identity()
        .start()
        .await
        .unwrap();
    system.open_store(OTHER_STORE, &store_body(50)).await;
    // The admin issues the store's POS a credential; a bridge accepts that
    // store's orders with the tokens it gets with it.
    let client = test_system::pos_client(
        &system.http,
        &system.identity(),
        &system.tokens.admin,
        OTHER_STORE,
    )
    .await
    .unwrap();
    let mut settings = store_settings(OTHER_STORE, &[], &[], 0, true);
    settings.pos_client = Some(pos_bridge::PosClient {
        id: client.id.clone(),
        secret: pos_bridge::Secret::new(client.secret.clone()),
    });
    let bridge = system
        .start_bridge(system.bridge_settings(vec![(OTHER_STORE, settings)]))
        .await
        .unwrap();
    let order_id = system.place(&Order::at(OTHER_STORE).body()).await;
    // Nobody else accepts it: the bridge did, with a pos token of identity's.
    system.wait_status(&order_id, "accepted").await;
    // The token is the store's alone: another store's orders are not its.
    let pos = test_system::pos_token(&system.http, &system.identity(), &client)
        .await
        .unwrap();
    assert_eq!(claims(&pos)["stores"], json!([OTHER_STORE]));
    assert_eq!(claims(&pos)["role"], "pos");
    let queue = system
        .read(&format!("/v1/stores/{STORE}/orders"), &pos)
        .await;
    expect(queue, StatusCode::FORBIDDEN, None).await;
    bridge.stop().await.unwrap();
    system.stop().await.unwrap();
}

#[tokio::test]
async fn a_deleted_accounts_orders_stay_for_staff_under_the_opaque_id() {
    let system = System::builder()
        .prefix("e2e-erase")
        .with_identity()
        .start()
        .await
        .unwrap();
    system.open_store(STORE, &store_body(50)).await;
    let customer = email(&system, "leaving");
    let tokens = register(&system, &customer).await;
    let token = access(&tokens);
    let sub = claims(&token)["sub"].as_str().unwrap().to_owned();
    let placed = system
        .post("/v1/orders", &token, &Order::at(STORE).body())
        .await;
    let placed = expect(placed, StatusCode::CREATED, None).await;
    let order_id = placed["order_id"].as_str().unwrap().to_owned();
    system.wait_status(&order_id, "placed").await;

    let deleted = system
        .http
        .delete(format!("{}/v1/me", system.identity()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let me = system
        .http
        .get(format!("{}/v1/me", system.identity()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(
            me.status(),
            StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND
        ),
        "{}",
        me.status()
    );
    let refresh = json!({"refresh_token": tokens["refresh_token"]});
    let (status, _) = identity_post(&system, "/v1/auth/refresh", None, &refresh).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Nothing of the person is left in identity's database.
    let db = testkit::connect(&system.identity_database_url())
        .await
        .unwrap();
    let id: uuid::Uuid = sub.parse().unwrap();
    let left = db
        .query_one(
            "select (select count(*) from users where id = $1 or lower(email) = lower($2))
                  + (select count(*) from refresh_tokens where user_id = $1)
                  + (select count(*) from mail_outbox where recipient = $2)",
            &[&id, &customer],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(left, 0);
    // The order stays, for the store's staff, under the opaque id only.
    let order = system
        .read(&format!("/v1/orders/{order_id}"), &system.tokens.staff)
        .await;
    let order = expect(order, StatusCode::OK, None).await;
    assert_eq!(order["status"], "placed", "{order}");
    let read_model = system
        .db()
        .await
        .query_one(
            "select customer_id from orders where order_id = $1",
            &[&order_id.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(
        read_model.get::<_, Option<String>>(0).as_deref(),
        Some(sub.as_str())
    );
    let events = system.read_topic(&system.scratch.kafka.orders_topic);
    assert!(
        events
            .iter()
            .all(|(_, _, _, event)| !event.to_string().contains(&customer)),
        "the log holds the customer's email"
    );
    system.stop().await.unwrap();
}

#[tokio::test]
async fn an_unverified_customer_orders_only_after_confirming_when_the_chain_says_so() {
    let system = System::builder()
        .prefix("e2e-verify")
        .with_identity()
        .identity_args(["--allow-unverified-orders", "false"])
        .start()
        .await
        .unwrap();
    system.open_store(STORE, &store_body(50)).await;
    let customer = email(&system, "unverified");
    let tokens = register(&system, &customer).await;
    let refused = system
        .post("/v1/orders", &access(&tokens), &Order::at(STORE).body())
        .await;
    expect(refused, StatusCode::FORBIDDEN, Some("email_unverified")).await;

    let token = mail::wait_for(&customer, "Confirm your email")
        .await
        .token("/verify-email");
    let (status, answer) = identity_post(
        &system,
        "/v1/auth/verify-email",
        None,
        &json!({"token": token}),
    )
    .await;
    assert!(status.is_success(), "{status}: {answer}");
    // The next access token says so.
    let refresh = json!({"refresh_token": tokens["refresh_token"]});
    let (status, refreshed) = identity_post(&system, "/v1/auth/refresh", None, &refresh).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let placed = system
        .post("/v1/orders", &access(&refreshed), &Order::at(STORE).body())
        .await;
    expect(placed, StatusCode::CREATED, None).await;
    system.stop().await.unwrap();
}
