//! Who the services take a request from: only an ES256 token of the issuer
//! they trust (the test issuer, or the identity service), for their
//! audience, within its times. Every other token is `401` at command-api and
//! query-api. pos-bridge's own routes take no bearer token at all (each
//! request is HMAC-signed instead), and the bridge holds no token but the
//! ones its POS client credential gets from the issuer.

use platform::Role;
use pos_bridge::signing::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use test_system::{TEST_PASSWORD, eventually, store_settings};
use testkit::{Forgery, forged_token};

use crate::helpers::{FEEDBACK_SECRET, Order, STORE, System, expect, store_body, token};

/// A stock change as the store's POS sends it to the bridge, signed.
async fn stock_feedback(system: &System, bridge: &str, store: &str) -> reqwest::Response {
    let body = serde_json::to_vec(&json!({"id": "cheddar", "available": true})).unwrap();
    let now = chrono::Utc::now().timestamp();
    system
        .http
        .post(format!("{bridge}/v1/feedback/{store}/stock"))
        .header("content-type", "application/json")
        .header(TIMESTAMP_HEADER, now.to_string())
        .header(SIGNATURE_HEADER, sign(FEEDBACK_SECRET, now, &body))
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The `401` a refused token gets: problem+json, `unauthenticated`.
async fn refused(response: reqwest::Response, what: &str) {
    let status = response.status();
    let body = expect_problem(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
        "{what}: {body}"
    );
}

async fn expect_problem(response: reqwest::Response) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "{body}"
    );
    body
}

#[tokio::test]
async fn every_service_refuses_a_forged_token_and_takes_a_good_one() {
    let system = System::builder()
        .prefix("e2e-tokens")
        .with_bridge()
        .start()
        .await
        .unwrap();
    system.open_store(STORE, &store_body(50)).await;
    let order_id = system.place(&Order::at(STORE).body()).await;
    let order_path = format!("/v1/orders/{order_id}");
    // The good tokens: the customer reads its order, the bridge's pos token
    // passes the POS's stock change on.
    system.wait_status(&order_id, "placed").await;
    let read = system.read(&order_path, &system.tokens.customer).await;
    expect(read, StatusCode::OK, None).await;
    let passed = stock_feedback(&system, &system.bridge(), STORE).await;
    expect(passed, StatusCode::OK, None).await;

    // A bridge whose store's POS client presents a wrong secret gets no
    // token, and passes nothing on.
    let mut wrong = store_settings(STORE, &[], &[], 0, false);
    if let Some(client) = wrong.pos_client.as_mut() {
        client.secret = pos_bridge::Secret::new("not-the-secret");
    }
    let bridge = system
        .start_bridge(system.bridge_settings(vec![(STORE, wrong)]))
        .await
        .unwrap();
    let no_token = stock_feedback(&system, &bridge.url, STORE).await;
    expect(
        no_token,
        StatusCode::SERVICE_UNAVAILABLE,
        Some("pos_token_unavailable"),
    )
    .await;

    let body = Order::at(STORE).body();
    for forgery in Forgery::ALL {
        let customer = forged_token(forgery, Role::Customer, "cust-1", &[]).unwrap();
        let admin = forged_token(forgery, Role::Admin, "admin-1", &[]).unwrap();
        let what = |at: &str| format!("{forgery:?} at {at}");
        let placing = system.post("/v1/orders", &customer, &body).await;
        refused(placing, &what("command-api, placing")).await;
        let status = json!({"accepting_orders": false});
        let admin_put = system
            .command(
                Method::PUT,
                &format!("/v1/stores/{STORE}/status"),
                &admin,
                &status,
            )
            .await;
        refused(admin_put, &what("command-api, as admin")).await;
        let reading = system.read(&order_path, &customer).await;
        refused(reading, &what("query-api, an order")).await;
        let listing = system.read("/v1/customers/me/orders", &customer).await;
        refused(listing, &what("query-api, my orders")).await;
    }

    // The bridge takes no bearer token in place of a signature.
    let unsigned = system
        .http
        .post(format!("{}/v1/feedback/{STORE}/stock", system.bridge()))
        .bearer_auth(token(Role::Pos, "pos-bridge", &[STORE]))
        .json(&json!({"id": "cheddar", "available": false}))
        .send()
        .await
        .unwrap();
    expect(
        unsigned,
        StatusCode::UNAUTHORIZED,
        Some("invalid_signature"),
    )
    .await;

    // And the good tokens still work after all that (a made-up kid did not
    // unsettle the cached key set).
    let read = system.read(&order_path, &system.tokens.customer).await;
    expect(read, StatusCode::OK, None).await;
    bridge.stop().await.unwrap();
    system.stop().await.unwrap();
}

#[tokio::test]
async fn a_customer_registered_with_identity_places_and_reads_its_order() {
    let system = System::builder()
        .prefix("e2e-identity")
        .with_identity()
        .start()
        .await
        .unwrap();
    // The admin of `system.tokens` is an account of identity's too.
    system.open_store(STORE, &store_body(50)).await;

    let email = format!("ada-{}@example.com", system.scratch.suffix);
    let registered = system
        .http
        .post(format!("{}/v1/auth/register", system.identity()))
        .json(&json!({"email": email, "password": TEST_PASSWORD, "name": "Ada Lovelace"}))
        .send()
        .await
        .unwrap();
    let registered = expect(registered, StatusCode::CREATED, None).await;
    let access = registered["access_token"].as_str().unwrap().to_owned();

    let placed = system
        .post("/v1/orders", &access, &Order::at(STORE).body())
        .await;
    let placed = expect(placed, StatusCode::CREATED, None).await;
    let order_id = placed["order_id"].as_str().unwrap().to_owned();
    let version = placed["version"].as_u64().unwrap();

    let path = format!("/v1/orders/{order_id}?min_version={version}&wait_ms=10000");
    let read = system.read(&path, &access).await;
    let read = expect(read, StatusCode::OK, None).await;
    assert_eq!(read["status"], "placed", "{read}");
    let mine = eventually("the order among the customer's own", || async {
        let listed = system.read("/v1/customers/me/orders", &access).await;
        let listed: Value = listed.json().await.unwrap();
        let orders = listed["orders"].as_array().cloned().unwrap_or_default();
        orders
            .iter()
            .any(|o| o["order_id"] == order_id.as_str())
            .then_some(listed)
    })
    .await;
    assert!(mine["orders"].is_array());
    // Another customer of identity's does not see it.
    let other = system.read(&path, &system.tokens.other_customer).await;
    expect(other, StatusCode::NOT_FOUND, None).await;
    // The staff of identity's database, with its store, takes it on.
    let accepted = system
        .post(
            &format!("/v1/orders/{order_id}/accept"),
            &system.tokens.staff,
            &json!({}),
        )
        .await;
    expect(accepted, StatusCode::OK, None).await;

    // The services trust identity alone now: the test issuer's token is
    // refused.
    let foreign = token(Role::Customer, "cust-1", &[]);
    refused(
        system.read("/v1/customers/me/orders", &foreign).await,
        "the test issuer's token",
    )
    .await;
    system.stop().await.unwrap();
}
