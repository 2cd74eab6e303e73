//! Every command route of API.md through HTTP, with its roles and errors, and
//! the events it appends checked in Kafka.

use chrono::{Duration, TimeZone, Utc};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Order, STORE, System, expect, expect_fallbacks, store_body, token};

fn order_body(lines: Value, token: &str) -> Value {
    Order {
        lines,
        payment: token.to_owned(),
        ..Order::at(STORE)
    }
    .body()
}

fn burger(token: &str) -> Value {
    order_body(
        json!([{"item_id": "classic", "quantity": 1, "modifiers": ["cheddar"]}]),
        token,
    )
}

/// Places a burger as the test customer and returns its id.
async fn place(system: &System) -> String {
    system.place(&burger("tok_visa")).await
}

/// The types and versions of the events of `subject`, in log order.
fn events_of(system: &System, topic: &str, subject: &str) -> Vec<(String, u64)> {
    system
        .read_topic(topic)
        .into_iter()
        .filter(|(_, _, _, body)| body["subject"] == subject)
        .map(|(_, _, ce_type, body)| (ce_type, body["aggversion"].as_u64().unwrap()))
        .collect()
}

fn assert_gapless(events: &[(String, u64)]) {
    let versions: Vec<u64> = events.iter().map(|(_, v)| *v).collect();
    let expected: Vec<u64> = (1..=versions.len() as u64).collect();
    assert_eq!(versions, expected, "{events:?}");
}

#[tokio::test]
async fn store_commands_need_their_role_and_their_store() {
    let system = System::builder().with_bridge().start().await.unwrap();
    let path = format!("/v1/stores/{STORE}");
    let store = store_body(20);
    let anonymous = system
        .http
        .put(format!("{}{path}", system.command_api()))
        .json(&store)
        .send()
        .await
        .unwrap();
    expect(anonymous, StatusCode::UNAUTHORIZED, Some("unauthenticated")).await;
    expect(
        system.put(&path, "not-a-jwt", &store).await,
        StatusCode::UNAUTHORIZED,
        Some("unauthenticated"),
    )
    .await;
    expect(
        system.put(&path, &system.tokens.customer, &store).await,
        StatusCode::FORBIDDEN,
        Some("forbidden"),
    )
    .await;
    system.open_store(STORE, &store_body(20)).await;
    let doc: Value = system
        .http
        .get(format!("{}/openapi.json", system.command_api()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/orders/{order_id}/refunds"]["post"].is_object());
    expect_fallbacks(
        &system.http,
        &system.command_api(),
        Method::GET,
        "/v1/orders",
    )
    .await;

    let fries = format!("/v1/stores/{STORE}/items/cheddar/availability");
    let elsewhere = token(platform::Role::Staff, "staff-9", &["elsewhere"]);
    expect(
        system
            .put(&fries, &elsewhere, &json!({"available": false}))
            .await,
        StatusCode::FORBIDDEN,
        Some("forbidden"),
    )
    .await;
    expect(
        system
            .put(&fries, &system.tokens.admin, &json!({"available": false}))
            .await,
        StatusCode::FORBIDDEN,
        Some("forbidden"),
    )
    .await;
    let off = expect(
        system
            .put(&fries, &system.tokens.staff, &json!({"available": false}))
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(off["version"], 3);
    expect(
        system
            .post("/v1/orders", &system.tokens.customer, &burger("tok_visa"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("modifier_unavailable"),
    )
    .await;
    expect(
        system
            .put(&fries, &system.tokens.pos, &json!({"available": true}))
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    let unknown = format!("/v1/stores/{STORE}/items/pizza/availability");
    expect(
        system
            .put(&unknown, &system.tokens.staff, &json!({"available": false}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("item_not_found"),
    )
    .await;

    let status = format!("/v1/stores/{STORE}/status");
    let paused = system
        .http
        .put(format!("{}{status}", system.command_api()))
        .bearer_auth(&system.tokens.staff)
        .header("if-match", "\"1\"")
        .json(&json!({"accepting_orders": false}))
        .send()
        .await
        .unwrap();
    expect(paused, StatusCode::CONFLICT, Some("version_conflict")).await;
    let paused = system
        .http
        .put(format!("{}{status}", system.command_api()))
        .bearer_auth(&system.tokens.staff)
        .header("if-match", "\"4\"")
        .json(&json!({"accepting_orders": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.headers()["etag"], "\"5\"");
    expect(paused, StatusCode::OK, None).await;
    expect(
        system
            .post("/v1/orders", &system.tokens.customer, &burger("tok_visa"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("store_not_accepting"),
    )
    .await;
    expect(
        system
            .put(
                &status,
                &system.tokens.pos,
                &json!({"accepting_orders": true, "busy_minutes": 15}),
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    expect(
        system
            .put(
                &status,
                &system.tokens.pos,
                &json!({"accepting_orders": true, "busy_minutes": 500}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("invalid_status"),
    )
    .await;
    place(&system).await;

    let events = events_of(&system, &system.scratch.kafka.stores_topic, STORE);
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "qsr.store.configured.v2",
            "qsr.store.menu_published.v1",
            "qsr.store.availability_changed.v1",
            "qsr.store.availability_changed.v1",
            "qsr.store.status_changed.v1",
            "qsr.store.status_changed.v1",
        ]
    );
    assert_gapless(&events);
    system.stop().await.unwrap();
}

#[tokio::test]
async fn an_order_goes_through_its_life_and_its_payment_follows() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    let id = place(&system).await;
    let at = |action: &str| format!("/v1/orders/{id}/{action}");
    let elsewhere = token(platform::Role::Pos, "pos-9", &["elsewhere"]);
    expect(
        system
            .post(&at("accept"), &system.tokens.customer, &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        Some("forbidden"),
    )
    .await;
    expect(
        system.post(&at("accept"), &elsewhere, &json!({})).await,
        StatusCode::FORBIDDEN,
        Some("forbidden"),
    )
    .await;
    expect(
        system
            .post(&at("start"), &system.tokens.staff, &json!({}))
            .await,
        StatusCode::CONFLICT,
        Some("invalid_transition"),
    )
    .await;
    let ready_at = (Utc::now() + Duration::minutes(12)).to_rfc3339();
    let accepted = expect(
        system
            .post(
                &at("accept"),
                &system.tokens.pos,
                &json!({"ready_at": ready_at}),
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(
        (accepted["status"].as_str(), accepted["version"].as_u64()),
        (Some("accepted"), Some(3))
    );
    // The commands without fields take an empty body, or none.
    let started = system
        .http
        .post(format!("{}{}", system.command_api(), at("start")))
        .bearer_auth(&system.tokens.staff)
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect(started, StatusCode::OK, None).await["status"],
        "in_preparation"
    );
    assert_eq!(
        expect(
            system
                .post(&at("ready"), &system.tokens.pos, &json!({}))
                .await,
            StatusCode::OK,
            None
        )
        .await["status"],
        "ready"
    );
    let done = expect(
        system
            .post(&at("complete"), &system.tokens.staff, &json!({}))
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(
        (done["status"].as_str(), done["payment_status"].as_str()),
        (Some("completed"), Some("captured"))
    );
    let total = done["totals"]["total"]["amount"].as_i64().unwrap();

    let refund = |amount: i64| json!({"amount": {"amount": amount, "currency": "USD"}, "reason": "cold fries"});
    expect(
        system
            .post(&at("refunds"), &system.tokens.customer, &refund(100))
            .await,
        StatusCode::FORBIDDEN,
        Some("forbidden"),
    )
    .await;
    let partial = expect(
        system
            .post(&at("refunds"), &system.tokens.staff, &refund(100))
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(partial["payment_status"], "partially_refunded");
    expect(
        system
            .post(&at("refunds"), &system.tokens.admin, &refund(total))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("refund_exceeds_captured"),
    )
    .await;
    let full = expect(
        system
            .post(&at("refunds"), &system.tokens.admin, &refund(total - 100))
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(full["payment_status"], "refunded");
    expect(
        system
            .post(
                &at("cancel"),
                &system.tokens.staff,
                &json!({"reason": "late"}),
            )
            .await,
        StatusCode::CONFLICT,
        Some("invalid_transition"),
    )
    .await;

    let events = events_of(&system, &system.scratch.kafka.orders_topic, &id);
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "qsr.order.placed.v2",
            "qsr.order.payment_authorized.v1",
            "qsr.order.accepted.v1",
            "qsr.order.preparation_started.v1",
            "qsr.order.ready.v1",
            "qsr.order.completed.v1",
            "qsr.order.payment_captured.v1",
            "qsr.order.payment_refunded.v1",
            "qsr.order.payment_refunded.v1",
        ]
    );
    assert_gapless(&events);
    system.stop().await.unwrap();
}

#[tokio::test]
async fn cancellation_and_rejection_release_the_payment() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    let reason = json!({"reason": "changed my mind"});

    let a = place(&system).await;
    let cancelled = expect(
        system
            .post(
                &format!("/v1/orders/{a}/cancel"),
                &system.tokens.customer,
                &reason,
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(
        (
            cancelled["status"].as_str(),
            cancelled["payment_status"].as_str()
        ),
        (Some("cancelled"), Some("voided"))
    );

    let b = place(&system).await;
    expect(
        system
            .post(
                &format!("/v1/orders/{b}/accept"),
                &system.tokens.staff,
                &json!({}),
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    expect(
        system
            .post(
                &format!("/v1/orders/{b}/cancel"),
                &system.tokens.customer,
                &reason,
            )
            .await,
        StatusCode::CONFLICT,
        Some("cancel_not_allowed"),
    )
    .await;
    expect(
        system
            .post(
                &format!("/v1/orders/{b}/cancel"),
                &system.tokens.other_customer,
                &reason,
            )
            .await,
        StatusCode::NOT_FOUND,
        Some("order_not_found"),
    )
    .await;
    expect(
        system
            .post(
                &format!("/v1/orders/{b}/cancel"),
                &system.tokens.pos,
                &reason,
            )
            .await,
        StatusCode::FORBIDDEN,
        Some("forbidden"),
    )
    .await;
    let by_staff = expect(
        system
            .post(
                &format!("/v1/orders/{b}/cancel"),
                &system.tokens.staff,
                &reason,
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(by_staff["payment_status"], "voided");

    let c = place(&system).await;
    expect(
        system
            .post(
                &format!("/v1/orders/{c}/reject"),
                &system.tokens.staff,
                &json!({"reason": " "}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("validation_failed"),
    )
    .await;
    let rejected = expect(
        system
            .post(
                &format!("/v1/orders/{c}/reject"),
                &system.tokens.pos,
                &json!({"reason": "fryer down"}),
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(
        (
            rejected["status"].as_str(),
            rejected["payment_status"].as_str()
        ),
        (Some("rejected"), Some("voided"))
    );

    let unknown = uuid::Uuid::now_v7();
    expect(
        system
            .post(
                &format!("/v1/orders/{unknown}/accept"),
                &system.tokens.staff,
                &json!({}),
            )
            .await,
        StatusCode::NOT_FOUND,
        Some("order_not_found"),
    )
    .await;
    expect(
        system
            .post(
                "/v1/orders/not-a-uuid/accept",
                &system.tokens.staff,
                &json!({}),
            )
            .await,
        StatusCode::NOT_FOUND,
        Some("order_not_found"),
    )
    .await;

    let types = |id: &str| -> Vec<String> {
        events_of(&system, &system.scratch.kafka.orders_topic, id)
            .into_iter()
            .map(|(t, _)| t)
            .collect()
    };
    assert_eq!(
        types(&a)[2..],
        ["qsr.order.cancelled.v1", "qsr.order.payment_voided.v1"]
    );
    assert_eq!(
        types(&c)[2..],
        ["qsr.order.rejected.v1", "qsr.order.payment_voided.v1"]
    );
    system.stop().await.unwrap();
}

#[tokio::test]
async fn payments_and_bad_bodies_answer_their_codes_and_append_nothing() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    let mut cart = burger("tok_visa");
    cart.as_object_mut().unwrap().remove("payment");
    let quote = expect(
        system
            .post("/v1/orders/quote", &system.tokens.customer, &cart)
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    // 899 + 100 = 999; 8.75 % tax = 87.4125 -> 87.
    assert_eq!(quote["totals"]["total"]["amount"], 1086);
    for (payment, status, code) in [
        (
            "tok_chargeDeclined",
            StatusCode::PAYMENT_REQUIRED,
            "payment_declined",
        ),
        (
            "tok_chargeDeclinedInsufficientFunds",
            StatusCode::PAYMENT_REQUIRED,
            "insufficient_funds",
        ),
        (
            "tok_unknown",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_payment_token",
        ),
        (
            "tok_timeout",
            StatusCode::SERVICE_UNAVAILABLE,
            "payment_unavailable",
        ),
    ] {
        expect(
            system
                .post("/v1/orders", &system.tokens.customer, &burger(payment))
                .await,
            status,
            Some(code),
        )
        .await;
    }
    expect(
        system
            .post("/v1/orders", &system.tokens.staff, &burger("tok_visa"))
            .await,
        StatusCode::FORBIDDEN,
        Some("forbidden"),
    )
    .await;
    let mut unknown_field = burger("tok_visa");
    unknown_field["coupon"] = "FREE".into();
    expect(
        system
            .post("/v1/orders", &system.tokens.customer, &unknown_field)
            .await,
        StatusCode::BAD_REQUEST,
        Some("malformed_body"),
    )
    .await;
    let huge = order_body(
        json!([{"item_id": "classic", "quantity": 1, "note": "x".repeat(70_000)}]),
        "tok_visa",
    );
    expect(
        system
            .post("/v1/orders", &system.tokens.customer, &huge)
            .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        Some("payload_too_large"),
    )
    .await;
    let text = system
        .http
        .post(format!("{}/v1/orders", system.command_api()))
        .bearer_auth(&system.tokens.customer)
        .header("content-type", "text/plain")
        .body(burger("tok_visa").to_string())
        .send()
        .await
        .unwrap();
    expect(
        text,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Some("unsupported_media_type"),
    )
    .await;
    assert!(
        system
            .read_topic(&system.scratch.kafka.orders_topic)
            .is_empty(),
        "a refused order appends nothing"
    );
    system.stop().await.unwrap();
}

/// The legal successors of each status, as API.md draws the state machine.
fn legal(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("placed", "accepted" | "rejected" | "cancelled")
            | ("accepted", "in_preparation" | "ready" | "cancelled")
            | ("in_preparation", "ready" | "cancelled")
            | ("ready", "completed" | "cancelled")
    )
}

fn status_of(ce_type: &str) -> Option<&'static str> {
    Some(match ce_type {
        "qsr.order.accepted.v1" => "accepted",
        "qsr.order.rejected.v1" => "rejected",
        "qsr.order.preparation_started.v1" => "in_preparation",
        "qsr.order.ready.v1" => "ready",
        "qsr.order.completed.v1" => "completed",
        "qsr.order.cancelled.v1" => "cancelled",
        _ => return None,
    })
}

#[tokio::test]
async fn fifty_concurrent_commands_on_one_order_keep_its_versions_gapless() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    let id = place(&system).await;
    let actions = ["accept", "start", "ready", "complete", "cancel"];
    let requests = (0..50).map(|i| {
        let action = actions[(i * 7 + i / 5) % actions.len()];
        let body = if action == "cancel" {
            json!({"reason": "rush"})
        } else {
            json!({})
        };
        let path = format!("/v1/orders/{id}/{action}");
        let system = &system;
        async move {
            system
                .command(Method::POST, &path, &system.tokens.staff, &body)
                .await
                .status()
        }
    });
    let statuses = join_all(requests).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );

    let events = events_of(&system, &system.scratch.kafka.orders_topic, &id);
    assert_gapless(&events);
    let transitions: Vec<&str> = events.iter().filter_map(|(t, _)| status_of(t)).collect();
    assert_eq!(
        transitions.len(),
        ok,
        "each accepted command appended one status change"
    );
    let mut current = "placed";
    for next in transitions {
        assert!(legal(current, next), "{current} -> {next}");
        current = next;
    }
    system.stop().await.unwrap();
}

#[tokio::test]
async fn a_slot_takes_exactly_its_capacity_of_concurrent_orders() {
    let system = System::builder().with_bridge().start().await.unwrap();
    let capacity = 5;
    system.open_store(STORE, &store_body(capacity)).await;
    let tomorrow_noon = chrono_tz::America::New_York
        .from_local_datetime(
            &(Utc::now() + Duration::days(1))
                .date_naive()
                .and_hms_opt(12, 0, 0)
                .unwrap(),
        )
        .earliest()
        .unwrap()
        .to_rfc3339();
    let mut body = burger("tok_visa");
    body["fulfillment"]["pickup_at"] = tomorrow_noon.into();
    let requests = (0..capacity + 5).map(|_| {
        let (system, body) = (&system, body.clone());
        async move {
            let response = system
                .post("/v1/orders", &system.tokens.customer, &body)
                .await;
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    });
    let answers = join_all(requests).await;
    let placed = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let full = answers
        .iter()
        .filter(|(s, b)| *s == StatusCode::UNPROCESSABLE_ENTITY && b["code"] == "slot_full")
        .count();
    assert_eq!((placed, full), (capacity as usize, 5), "{answers:?}");
    system.stop().await.unwrap();
}

#[tokio::test]
async fn an_order_that_ended_before_the_window_is_gone() {
    let system = System::builder()
        .with_bridge()
        .command_api_config(move |c| c.ended_order_retention_secs = 1)
        .start()
        .await
        .unwrap();
    system.open_store(STORE, &store_body(20)).await;
    let ended = place(&system).await;
    let live = place(&system).await;
    let reason = json!({"reason": "closing"});
    expect(
        system
            .post(
                &format!("/v1/orders/{ended}/cancel"),
                &system.tokens.staff,
                &reason,
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    // The window is one second; the writer forgets at its next command after it.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    expect(
        system
            .post(
                &format!("/v1/orders/{live}/accept"),
                &system.tokens.staff,
                &json!({}),
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    expect(
        system
            .post(
                &format!("/v1/orders/{ended}/accept"),
                &system.tokens.staff,
                &json!({}),
            )
            .await,
        StatusCode::GONE,
        Some("order_gone"),
    )
    .await;
    system.stop().await.unwrap();
}
