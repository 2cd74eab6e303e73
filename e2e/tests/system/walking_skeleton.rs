//! An order goes all the way: command-api -> Kafka -> projector -> Postgres ->
//! query-api, and Kafka -> pos-bridge -> the kitchen printer.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use crate::helpers::{Order, PATIENCE, STORE, System, menu, store_body};

/// Reads the order back from the query API as its customer, once the read
/// model holds the version the command answered with.
async fn read_order(system: &System, order_id: &str, version: u64) -> Value {
    let response = system
        .read(
            &format!("/v1/orders/{order_id}?min_version={version}&wait_ms=10000"),
            &system.tokens.customer,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_order_reaches_the_log_the_read_model_and_the_kitchen() {
    let system = System::builder().with_bridge().start().await.unwrap();
    assert_eq!(
        system
            .put(
                &format!("/v1/stores/{STORE}"),
                &system.tokens.admin,
                &store_body(20)
            )
            .await
            .status(),
        StatusCode::OK
    );
    let menu = system
        .put(
            &format!("/v1/stores/{STORE}/menu"),
            &system.tokens.admin,
            &menu(),
        )
        .await;
    assert_eq!(menu.status(), StatusCode::OK);
    assert_eq!(menu.json::<Value>().await.unwrap()["menu_version"], 1);

    let order = Order {
        lines: json!([{"item_id": "classic", "quantity": 2, "modifiers": ["cheddar"], "note": "no onions"}]),
        tip: Some(200),
        ..Order::at(STORE)
    }
    .body();
    let response = system
        .post("/v1/orders", &system.tokens.customer, &order)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // OrderPlaced and PaymentAuthorized: version 2, as in API.md.
    assert_eq!(response.headers()["etag"], "\"2\"");
    let placed: Value = response.json().await.unwrap();
    let order_id = placed["order_id"].as_str().unwrap().to_owned();
    // The example of API.md: 2 x (8.99 + 1.00), 8.75 % tax, 2.00 tip.
    assert_eq!(placed["totals"]["subtotal"]["amount"], 1998);
    assert_eq!(placed["totals"]["tax"]["amount"], 175);
    assert_eq!(placed["totals"]["total"]["amount"], 2373);

    // The read model.
    let read = read_order(&system, &order_id, placed["version"].as_u64().unwrap()).await;
    assert_eq!(read["status"], "placed");
    assert_eq!(read["payment_status"], "authorized");
    assert_eq!(read["version"], 2);
    assert_eq!(read["totals"], placed["totals"]);
    assert_eq!(read["lines"][0]["name"], "Classic Burger");
    assert_eq!(read["pickup_at"], placed["pickup_at"]);

    // The log: CloudEvents keyed by the store, in the store's partition.
    let records = system.read_topic(&system.scratch.kafka.orders_topic);
    let types: Vec<&str> = records.iter().map(|(_, _, t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        ["qsr.order.placed.v2", "qsr.order.payment_authorized.v1"]
    );
    for (version, (key, partition, ce_type, body)) in (1..).zip(&records) {
        assert_eq!(key, STORE);
        assert_eq!(
            *partition,
            schemas::partition_for(STORE, system.scratch.kafka.partitions)
        );
        assert_eq!(body["specversion"], "1.0");
        assert_eq!(body["type"], ce_type.as_str());
        assert_eq!(body["subject"], order_id);
        assert_eq!(body["aggversion"], version);
    }
    let stores = system.read_topic(&system.scratch.kafka.stores_topic);
    let versions: Vec<_> = stores
        .iter()
        .map(|(_, _, _, b)| b["aggversion"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2], "store versions are gapless");

    // The kitchen.
    let (mut socket, _) = tokio::time::timeout(PATIENCE, system.printer().accept())
        .await
        .unwrap()
        .unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(PATIENCE, socket.read_to_end(&mut bytes))
        .await
        .unwrap()
        .unwrap();
    // ESC/POS: decoded to text, with the large and bold lines marked.
    let ticket = pos_bridge::escpos::to_text(&pos_bridge::escpos::decode(&bytes));
    let number = order_id.replace('-', "")[26..].to_uppercase();
    assert!(ticket.contains(&format!("[large] #{number}\n")), "{ticket}");
    assert!(
        ticket.contains("[bold]  2 x Classic Burger\n       + Cheddar\n       * no onions\n"),
        "{ticket}"
    );
    assert!(ticket.ends_with("-- cut ----------------\n"), "{ticket}");

    a_retry_with_the_same_key_gets_the_first_answer(&system).await;
    bad_commands_answer_problems(&system).await;
    system.stop().await.unwrap();
}

async fn a_retry_with_the_same_key_gets_the_first_answer(system: &System) {
    let body = Order::at(STORE).body();
    let send = |body: Value| {
        system
            .http
            .post(format!("{}/v1/orders", system.command_api()))
            .bearer_auth(&system.tokens.customer)
            .header("idempotency-key", "retry-1")
            .json(&body)
            .send()
    };
    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send(body.clone()).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let mut other = body;
    other["lines"][0]["quantity"] = 2.into();
    let reused = send(other).await.unwrap();
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reused.json::<Value>().await.unwrap()["code"],
        "idempotency_key_reused"
    );
}

async fn bad_commands_answer_problems(system: &System) {
    let cases = [
        (
            json!({"store_id": STORE, "surprise": 1}),
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
        (
            json!({"store_id": STORE, "fulfillment": {"type": "pickup", "pickup_at": null},
                   "lines": [{"item_id": "pizza", "quantity": 1}], "payment": {"token": "tok_visa"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "item_not_found",
        ),
        (
            json!({"store_id": "nowhere", "fulfillment": {"type": "pickup", "pickup_at": null},
                   "lines": [{"item_id": "classic", "quantity": 1}], "payment": {"token": "tok_visa"}}),
            StatusCode::NOT_FOUND,
            "store_not_found",
        ),
        (
            json!({"store_id": STORE, "fulfillment": {"type": "pickup", "pickup_at": null},
                   "lines": [{"item_id": "classic", "quantity": 1}], "payment": {"token": "tok_chargeDeclined"}}),
            StatusCode::PAYMENT_REQUIRED,
            "payment_declined",
        ),
        (
            json!({"store_id": "Not A Slug", "fulfillment": {"type": "pickup", "pickup_at": null},
                   "lines": [{"item_id": "classic", "quantity": 1}], "payment": {"token": "tok_visa"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ];
    for (body, status, code) in cases {
        let response = system
            .post("/v1/orders", &system.tokens.customer, &body)
            .await;
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], code, "{body}");
    }
}
