//! The holes a hostile client found (issue 10), each closed: money caps, ids
//! the server assigns, idempotency keys scoped to their caller, and a quote
//! without payment.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Order, STORE, System, expect, menu, store_body};

/// A second store, for what must hold across stores.
const UPTOWN: &str = "e2e-uptown";

fn burger_at(store: &str) -> Value {
    Order::at(store).body()
}

/// POSTs `body` to command-api as `token`, with an `Idempotency-Key`.
async fn post_keyed(
    system: &System,
    path: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    system
        .http
        .post(format!("{}{path}", system.command_api()))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn open_uptown(system: &System) {
    let path = format!("/v1/stores/{UPTOWN}");
    expect(
        system
            .put(&path, &system.tokens.admin, &store_body(20))
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    expect(
        system
            .put(&format!("{path}/menu"), &system.tokens.admin, &menu())
            .await,
        StatusCode::OK,
        None,
    )
    .await;
}

fn order_id(answer: &Value) -> uuid::Uuid {
    answer["order_id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_server_assigns_order_ids_and_refuses_a_body_that_sends_one() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    open_uptown(&system).await;
    let downtown = expect(
        system
            .post("/v1/orders", &system.tokens.customer, &burger_at(STORE))
            .await,
        StatusCode::CREATED,
        None,
    )
    .await;
    let uptown = expect(
        system
            .post(
                "/v1/orders",
                &system.tokens.other_customer,
                &burger_at(UPTOWN),
            )
            .await,
        StatusCode::CREATED,
        None,
    )
    .await;
    let (first, second) = (order_id(&downtown), order_id(&uptown));
    assert_ne!(first, second);
    assert_eq!(first.get_version_num(), 7, "{first}");
    assert_eq!(second.get_version_num(), 7, "{second}");

    // An id that exists at another store, a new one, or null: never taken.
    for sent in [json!(first), json!(uuid::Uuid::now_v7()), Value::Null] {
        for path in ["/v1/orders", "/v1/orders/quote"] {
            let mut body = burger_at(UPTOWN);
            body["order_id"] = sent.clone();
            if path.ends_with("quote") {
                body.as_object_mut().unwrap().remove("payment");
            }
            let refused = expect(
                system
                    .post(path, &system.tokens.other_customer, &body)
                    .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("order_id_not_accepted"),
            )
            .await;
            assert!(
                refused["detail"]
                    .as_str()
                    .unwrap()
                    .contains("Idempotency-Key"),
                "{refused}"
            );
        }
    }
    system.stop().await.unwrap();
}

#[tokio::test]
async fn another_callers_key_is_another_key() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    let body = burger_at(STORE);
    let (alice_token, bob_token) = (&system.tokens.customer, &system.tokens.other_customer);
    let alice = expect(
        post_keyed(&system, "/v1/orders", alice_token, "key-1", &body).await,
        StatusCode::CREATED,
        None,
    )
    .await;
    // Bob sends Alice's key and body: his own new order, never hers.
    let bob = expect(
        post_keyed(&system, "/v1/orders", bob_token, "key-1", &body).await,
        StatusCode::CREATED,
        None,
    )
    .await;
    assert_ne!(order_id(&alice), order_id(&bob), "{bob}");
    // Alice's retry gets her first answer; her key with another body is refused.
    let retry = expect(
        post_keyed(&system, "/v1/orders", alice_token, "key-1", &body).await,
        StatusCode::CREATED,
        None,
    )
    .await;
    assert_eq!(retry, alice);
    let mut other = body.clone();
    other["lines"][0]["quantity"] = 2.into();
    expect(
        post_keyed(&system, "/v1/orders", alice_token, "key-1", &other).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("idempotency_key_reused"),
    )
    .await;
    system.stop().await.unwrap();
}

#[tokio::test]
async fn a_customer_cannot_pre_empt_the_bridges_keys() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    let placed = expect(
        system
            .post("/v1/orders", &system.tokens.customer, &burger_at(STORE))
            .await,
        StatusCode::CREATED,
        None,
    )
    .await;
    let id = order_id(&placed);
    // The key the bridge will use to accept the order, burned first by a customer.
    let key = format!("pos-bridge-accept-{id}");
    expect(
        post_keyed(
            &system,
            "/v1/orders",
            &system.tokens.other_customer,
            &key,
            &burger_at(STORE),
        )
        .await,
        StatusCode::CREATED,
        None,
    )
    .await;
    let accepted = expect(
        post_keyed(
            &system,
            &format!("/v1/orders/{id}/accept"),
            &system.tokens.pos,
            &key,
            &json!({}),
        )
        .await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(order_id(&accepted), id);
    system.stop().await.unwrap();
}

#[tokio::test]
async fn money_beyond_the_stores_caps_is_refused() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    // The tip of the issue: 2^62 cents.
    let mut huge_tip = burger_at(STORE);
    huge_tip["tip"] = json!({"amount": 1_i64 << 62, "currency": "USD"});
    let refused = expect(
        system
            .post("/v1/orders", &system.tokens.customer, &huge_tip)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("tip_too_large"),
    )
    .await;
    assert!(
        refused["detail"].as_str().unwrap().contains("5000 USD"),
        "{refused}"
    );
    // 99 burgers: 89001 + 7788 tax, within the default 100000 cap; a store
    // that sets 50000 refuses them.
    let mut many = burger_at(STORE);
    many["lines"][0]["quantity"] = 99.into();
    expect(
        system
            .post(
                "/v1/orders/quote",
                &system.tokens.customer,
                &without_payment(&many),
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    let mut capped = store_body(20);
    capped["limits"] = json!({
        "max_order_total": {"amount": 50_000, "currency": "USD"},
        "max_tip": {"amount": 100, "currency": "USD"}
    });
    expect(
        system
            .put(
                &format!("/v1/stores/{STORE}"),
                &system.tokens.admin,
                &capped,
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    expect(
        system
            .post("/v1/orders", &system.tokens.customer, &many)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("order_total_too_large"),
    )
    .await;
    capped["limits"]["max_tip"]["currency"] = "EUR".into();
    expect(
        system
            .put(
                &format!("/v1/stores/{STORE}"),
                &system.tokens.admin,
                &capped,
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("invalid_store"),
    )
    .await;
    system.stop().await.unwrap();
}

fn without_payment(body: &Value) -> Value {
    let mut body = body.clone();
    body.as_object_mut().unwrap().remove("payment");
    body
}

#[tokio::test]
async fn a_quote_needs_no_payment_and_refuses_one() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    let quote = expect(
        system
            .post(
                "/v1/orders/quote",
                &system.tokens.customer,
                &without_payment(&burger_at(STORE)),
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    // 899 + 8.75 % tax (78.6625 -> 79).
    assert_eq!(quote["totals"]["total"]["amount"], 978);
    let refused = expect(
        system
            .post(
                "/v1/orders/quote",
                &system.tokens.customer,
                &burger_at(STORE),
            )
            .await,
        StatusCode::BAD_REQUEST,
        Some("malformed_body"),
    )
    .await;
    assert!(
        refused["detail"].as_str().unwrap().contains("payment"),
        "{refused}"
    );
    system.stop().await.unwrap();
}
