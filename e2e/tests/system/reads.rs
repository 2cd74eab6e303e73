//! Every query route of API.md through HTTP, with its roles and errors; read-
//! your-writes and live status events; the dead-letter topic; and hourly sales
//! across a change of clocks.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use platform::Role;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, FutureRecord};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Order, PATIENCE, STORE, System, expect, expect_fallbacks, store_body, token};

/// Places a burger for `customer` and returns the 201's body.
async fn place(system: &System, customer: &str) -> Value {
    let body = Order {
        lines: json!([{"item_id": "classic", "quantity": 2, "modifiers": ["cheddar"], "note": "no onions"}]),
        tip: Some(200),
        ..Order::at(STORE)
    }
    .body();
    expect(
        system.post("/v1/orders", customer, &body).await,
        StatusCode::CREATED,
        None,
    )
    .await
}

/// Runs an order command as `token` and returns the order's new version.
async fn step(system: &System, order_id: &str, command: &str, token: &str) -> u64 {
    let body = expect(
        system
            .post(
                &format!("/v1/orders/{order_id}/{command}"),
                token,
                &json!({}),
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    body["version"].as_u64().unwrap()
}

/// Reads `path` once the read model holds `version` of the order.
async fn read_at(system: &System, order_id: &str, version: u64, token: &str) -> Value {
    expect(
        system
            .read(
                &format!("/v1/orders/{order_id}?min_version={version}&wait_ms=10000"),
                token,
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await
}

#[tokio::test]
async fn an_order_is_read_by_its_customer_its_store_and_admin_only() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    let placed = place(&system, &system.tokens.customer).await;
    let order_id = placed["order_id"].as_str().unwrap();
    let path = format!("/v1/orders/{order_id}");

    // Read-your-writes: the version the command answered, at once.
    let version = placed["version"].as_u64().unwrap();
    let order = read_at(&system, order_id, version, &system.tokens.customer).await;
    assert_eq!(order["version"], version);
    assert_eq!(version, 2, "placed, then its payment authorised");
    assert_eq!(order["status"], "placed");
    assert_eq!(order["payment_status"], "authorized");
    assert_eq!(order["lines"], placed["lines"]);
    assert_eq!(order["totals"], placed["totals"]);
    assert_eq!(order["pickup_at"], placed["pickup_at"]);
    assert_eq!(order["lines"][0]["note"], "no onions");
    assert_eq!(order["timeline"][0]["status"], "placed");
    assert_eq!(order["timeline"][0]["version"], 1);
    assert!(
        order["placed_at"].as_str().unwrap().ends_with("-05:00"),
        "times are in the store's zone: {order}"
    );

    // ETag and 304.
    let response = system.read(&path, &system.tokens.staff).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let unchanged = system
        .read_with(&path, &system.tokens.admin, &[("if-none-match", "\"2\"")])
        .await;
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);

    // Who may read it.
    expect(
        system.read(&path, &system.tokens.admin).await,
        StatusCode::OK,
        None,
    )
    .await;
    for stranger in [
        system.tokens.other_customer.clone(),
        token(Role::Staff, "staff-9", &["elsewhere"]),
    ] {
        expect(
            system.read(&path, &stranger).await,
            StatusCode::NOT_FOUND,
            Some("order_not_found"),
        )
        .await;
    }
    expect(
        system.read(&path, &system.tokens.pos).await,
        StatusCode::FORBIDDEN,
        Some("forbidden"),
    )
    .await;
    expect(
        system.read(&path, "").await,
        StatusCode::UNAUTHORIZED,
        Some("unauthenticated"),
    )
    .await;
    expect(
        system.read(&path, "not-a-jwt").await,
        StatusCode::UNAUTHORIZED,
        Some("unauthenticated"),
    )
    .await;

    // Errors.
    for missing in [
        "/v1/orders/not-a-uuid",
        "/v1/orders/0193a0c4-7b1e-7cc0-8f8e-3f2b6a1d9e01",
    ] {
        expect(
            system.read(missing, &system.tokens.admin).await,
            StatusCode::NOT_FOUND,
            Some("order_not_found"),
        )
        .await;
    }
    let ahead = expect(
        system
            .read(
                &format!("{path}?min_version=9&wait_ms=50"),
                &system.tokens.customer,
            )
            .await,
        StatusCode::CONFLICT,
        Some("version_not_reached"),
    )
    .await;
    assert_eq!(ahead["current_version"], 2);
    for bad in ["wait_ms=10001", "min_version=x", "colour=red"] {
        expect(
            system
                .read(&format!("{path}?{bad}"), &system.tokens.customer)
                .await,
            StatusCode::BAD_REQUEST,
            Some("invalid_query"),
        )
        .await;
    }
    system.stop().await.unwrap();
}

#[tokio::test]
async fn stores_menus_queues_histories_and_sales_answer_their_roles() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(4)).await;
    let mut placed = Vec::new();
    for _ in 0..3 {
        placed.push(place(&system, &system.tokens.customer).await);
    }
    let other = place(&system, &system.tokens.other_customer).await;
    let last = placed[2]["order_id"].as_str().unwrap();
    read_at(
        &system,
        other["order_id"].as_str().unwrap(),
        2,
        &system.tokens.admin,
    )
    .await;
    read_at(&system, last, 2, &system.tokens.admin).await;

    // The store: anyone; open around the clock; slots with room.
    let store = expect(
        system.read(&format!("/v1/stores/{STORE}"), "").await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(store["open_now"], true);
    assert_eq!(store["accepting_orders"], true);
    assert_eq!(store["timezone"], "America/New_York");
    let slots = store["next_pickup_slots"].as_array().unwrap();
    assert_eq!(slots.len(), 8, "{store}");
    // The four orders filled the as-soon-as-possible slot: it is not offered.
    assert!(slots.iter().all(|s| s["remaining"].as_u64().unwrap() >= 1));
    let asap_slot = placed[0]["pickup_at"].as_str().unwrap();
    assert!(
        slots.iter().all(|s| s["start"] != asap_slot),
        "the full slot {asap_slot} is not offered: {store}"
    );
    expect(
        system.read("/v1/stores/nowhere", "").await,
        StatusCode::NOT_FOUND,
        Some("store_not_found"),
    )
    .await;

    // The menu with live availability, its ETag following an 86.
    let menu_path = format!("/v1/stores/{STORE}/menu");
    let first = system.read(&menu_path, "").await;
    assert_eq!(first.status(), StatusCode::OK);
    let first_tag = first.headers()["etag"].to_str().unwrap().to_owned();
    let menu: Value = first.json().await.unwrap();
    assert_eq!(menu["categories"][0]["items"][0]["available"], true);
    let if_none_match = [("if-none-match", first_tag.as_str())];
    let unchanged = system.read_with(&menu_path, "", &if_none_match).await;
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    assert!(unchanged.bytes().await.unwrap().is_empty());
    let eighty_six = system
        .put(
            &format!("/v1/stores/{STORE}/items/swiss/availability"),
            &system.tokens.staff,
            &json!({"available": false}),
        )
        .await;
    assert_eq!(eighty_six.status(), StatusCode::OK);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let changed = loop {
        let response = system.read_with(&menu_path, "", &if_none_match).await;
        if response.status() == StatusCode::OK {
            break response;
        }
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the 86 never showed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), first_tag);
    let menu: Value = changed.json().await.unwrap();
    let options = &menu["categories"][0]["items"][0]["modifier_groups"][0]["options"];
    assert_eq!(options[0]["id"], "cheddar");
    assert_eq!(options[0]["available"], true);
    assert_eq!(options[1]["id"], "swiss");
    assert_eq!(options[1]["available"], false);
    expect(
        system.read("/v1/stores/nowhere/menu", "").await,
        StatusCode::NOT_FOUND,
        Some("menu_not_found"),
    )
    .await;

    // The kitchen queue: oldest first, pages of two.
    let queue = format!("/v1/stores/{STORE}/orders");
    let page = expect(
        system
            .read(&format!("{queue}?limit=2"), &system.tokens.staff)
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    let ids = |page: &Value| -> Vec<String> {
        page["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["order_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut all = ids(&page);
    let after = page["next_after"].as_str().unwrap();
    let rest = expect(
        system
            .read(
                &format!("{queue}?limit=2&after={after}"),
                &system.tokens.pos,
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    all.extend(ids(&rest));
    assert!(rest.get("next_after").is_none(), "{rest}");
    let mut expected: Vec<String> = placed
        .iter()
        .chain([&other])
        .map(|o| o["order_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(all, expected, "oldest first");
    let accepted = step(&system, last, "accept", &system.tokens.pos).await;
    read_at(&system, last, accepted, &system.tokens.staff).await;
    let only_accepted = expect(
        system
            .read(&format!("{queue}?status=accepted"), &system.tokens.admin)
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(ids(&only_accepted), [last]);
    for (path, token, status, code) in [
        (
            format!("{queue}?status=bogus"),
            &system.tokens.staff,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            format!("{queue}?limit=0"),
            &system.tokens.staff,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            format!("{queue}?after=0193a0c4-7b1e-7cc0-8f8e-3f2b6a1d9e01"),
            &system.tokens.staff,
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        ),
        (
            queue.clone(),
            &system.tokens.customer,
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            "/v1/stores/elsewhere/orders".into(),
            &system.tokens.staff,
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ] {
        expect(system.read(&path, token).await, status, Some(code)).await;
    }
    expect(
        system.read(&queue, "").await,
        StatusCode::UNAUTHORIZED,
        Some("unauthenticated"),
    )
    .await;

    // A customer's history: theirs only, newest first.
    let history = "/v1/customers/me/orders";
    let mine = expect(
        system.read(history, &system.tokens.customer).await,
        StatusCode::OK,
        None,
    )
    .await;
    expected.pop();
    expected.reverse();
    assert_eq!(ids(&mine), expected, "newest first, only theirs");
    let first_page = expect(
        system
            .read(&format!("{history}?limit=1"), &system.tokens.customer)
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    let second_page = expect(
        system
            .read(
                &format!(
                    "{history}?limit=1&after={}",
                    first_page["next_after"].as_str().unwrap()
                ),
                &system.tokens.customer,
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(ids(&second_page), [expected[1].clone()]);
    // Another customer's order is no cursor of mine.
    expect(
        system
            .read(
                &format!("{history}?after={}", other["order_id"].as_str().unwrap()),
                &system.tokens.customer,
            )
            .await,
        StatusCode::BAD_REQUEST,
        Some("invalid_cursor"),
    )
    .await;
    for (query, token, status, code) in [
        (
            "",
            system.tokens.staff.as_str(),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        ("", "", StatusCode::UNAUTHORIZED, "unauthenticated"),
        (
            "?limit=0",
            system.tokens.customer.as_str(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "?limit=201",
            system.tokens.customer.as_str(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
    ] {
        let response = system.read(&format!("{history}{query}"), token).await;
        expect(response, status, Some(code)).await;
    }

    // Sales: admin only; today's four orders in the store's zone.
    let today = Utc::now()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let sales_path = format!("/v1/stores/{STORE}/sales?date={today}");
    let sales = expect(
        system.read(&sales_path, &system.tokens.admin).await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(sales["totals"]["orders"], 4);
    assert_eq!(sales["totals"]["revenue"]["amount"], 4 * 1998);
    assert_eq!(sales["totals"]["tax"]["amount"], 4 * 175);
    assert_eq!(sales["totals"]["tips"]["amount"], 4 * 200);
    assert_eq!(sales["hours"].as_array().unwrap().len(), 24);
    for (path, token, status, code) in [
        (
            sales_path.clone(),
            &system.tokens.staff,
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            format!("/v1/stores/{STORE}/sales?date=yesterday"),
            &system.tokens.admin,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            format!("/v1/stores/{STORE}/sales"),
            &system.tokens.admin,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            format!("/v1/stores/nowhere/sales?date={today}"),
            &system.tokens.admin,
            StatusCode::NOT_FOUND,
            "store_not_found",
        ),
    ] {
        expect(system.read(&path, token).await, status, Some(code)).await;
    }

    let menu = format!("/v1/stores/{STORE}/menu");
    expect_fallbacks(&system.http, &system.query_api(), Method::DELETE, &menu).await;

    // The contract, from the code.
    let doc = expect(system.read("/openapi.json", "").await, StatusCode::OK, None).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/stores/{store_id}/sales"]["get"].is_object());
    system.stop().await.unwrap();
}

/// One server-sent event: (id, event, data).
type Sent = (String, String, Value);

/// Reads server-sent events from `response` until it ends, or `count` came.
async fn events(mut response: reqwest::Response, count: usize) -> Vec<Sent> {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    let mut sent = Vec::new();
    while sent.len() < count {
        let Ok(chunk) = tokio::time::timeout(PATIENCE, response.chunk()).await else {
            panic!("no event in {PATIENCE:?}; got {sent:?}");
        };
        let Some(chunk) = chunk.unwrap() else { break };
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (String::new(), String::new(), Value::Null);
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = serde_json::from_str(v.trim()).unwrap();
                }
            }
            if !event.is_empty() {
                sent.push((id, event, data));
            }
        }
    }
    sent
}

fn statuses(sent: &[Sent]) -> Vec<&str> {
    sent.iter()
        .map(|(_, _, d)| d["status"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn status_changes_stream_in_order_and_resume_after_the_last_event_id() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    let placed = place(&system, &system.tokens.customer).await;
    let order_id = placed["order_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/orders/{order_id}/events");

    // Subscribed right after placing: the stream waits for the projection.
    let stream = system.read(&path, &system.tokens.customer).await;
    let watcher = tokio::spawn(events(stream, 10));
    for command in ["accept", "ready", "complete"] {
        step(&system, &order_id, command, &system.tokens.pos).await;
    }
    let sent = watcher.await.unwrap();
    assert_eq!(
        statuses(&sent),
        ["placed", "accepted", "ready", "completed"],
        "in order, and the stream ends after the final status"
    );
    assert!(sent.iter().all(|(_, event, _)| event == "status"));
    let versions: Vec<u64> = sent.iter().map(|(id, _, _)| id.parse().unwrap()).collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");

    // Resuming after "accepted" sends only what came after it.
    let resumed = system
        .read_with(
            &path,
            &system.tokens.staff,
            &[("last-event-id", &sent[1].0)],
        )
        .await;
    assert_eq!(statuses(&events(resumed, 10).await), ["ready", "completed"]);

    // An EventSource reconnects after the stream ends: after the final status
    // it is told to stop, not left on an empty stream.
    let ended = system
        .read_with(
            &path,
            &system.tokens.customer,
            &[("last-event-id", &sent[3].0)],
        )
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);

    // The same roles as reading the order.
    let elsewhere = token(Role::Staff, "staff-9", &["elsewhere"]);
    for (token, status, code) in [
        (
            system.tokens.other_customer.as_str(),
            StatusCode::NOT_FOUND,
            "order_not_found",
        ),
        (elsewhere.as_str(), StatusCode::NOT_FOUND, "order_not_found"),
        (
            system.tokens.pos.as_str(),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        ("", StatusCode::UNAUTHORIZED, "unauthenticated"),
    ] {
        expect(system.read(&path, token).await, status, Some(code)).await;
    }
    let garbled = system
        .read_with(&path, &system.tokens.customer, &[("last-event-id", "soon")])
        .await;
    expect(
        garbled,
        StatusCode::BAD_REQUEST,
        Some("invalid_last_event_id"),
    )
    .await;

    // The completed order's timeline and payment.
    let done = read_at(&system, &order_id, versions[3], &system.tokens.customer).await;
    let timeline: Vec<&str> = done["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(timeline, ["placed", "accepted", "ready", "completed"]);

    // A stream still open does not hold up a shutdown.
    let open = place(&system, &system.tokens.customer).await;
    let open_path = format!("/v1/orders/{}/events", open["order_id"].as_str().unwrap());
    let mut stream = system.read(&open_path, &system.tokens.customer).await;
    assert!(stream.chunk().await.unwrap().is_some(), "the placed event");
    tokio::time::timeout(PATIENCE, system.stop())
        .await
        .expect("the system stops with an event stream open")
        .unwrap();
}

fn producer(system: &System) -> FutureProducer {
    system.scratch.kafka.client_config().create().unwrap()
}

async fn produce(producer: &FutureProducer, topic: &str, key: &str, payload: &[u8]) {
    producer
        .send(
            FutureRecord::to(topic).key(key).payload(payload),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_record_that_cannot_be_read_is_dead_lettered_and_the_next_ones_are_projected() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(20)).await;
    let garbage = b"{\"specversion\": \"1.0\", \"type\": \"qsr.order.eaten.v9\"}";
    produce(
        &producer(&system),
        &system.scratch.kafka.orders_topic,
        STORE,
        garbage,
    )
    .await;
    // A record of the same store's partition, after the bad one.
    let placed = place(&system, &system.tokens.customer).await;
    read_at(
        &system,
        placed["order_id"].as_str().unwrap(),
        2,
        &system.tokens.customer,
    )
    .await;

    let consumer: BaseConsumer = system
        .scratch
        .kafka
        .client_config()
        .set("group.id", "e2e-dead-letters")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer
        .subscribe(&[&system.projector_dead_letter_topic()])
        .unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    let letter = loop {
        assert!(std::time::Instant::now() < deadline, "no dead letter");
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            break message.unwrap().detach();
        }
    };
    assert_eq!(letter.payload(), Some(&garbage[..]));
    assert_eq!(letter.key(), Some(STORE.as_bytes()));
    let header = |name: &str| -> String {
        let headers = letter.headers().unwrap();
        let found = headers.iter().find(|h| h.key == name).unwrap();
        String::from_utf8(found.value.unwrap().to_vec()).unwrap()
    };
    assert!(header(projector::REASON_HEADER).contains("cannot be decoded"));
    assert_eq!(
        header(projector::TOPIC_HEADER),
        system.scratch.kafka.orders_topic
    );
    assert_eq!(
        header(projector::PARTITION_HEADER),
        schemas::partition_for(STORE, system.scratch.kafka.partitions).to_string()
    );
    system.stop().await.unwrap();
}

#[tokio::test]
async fn hourly_sales_follow_new_yorks_clocks_on_the_day_they_fall_back() {
    use domain::{Action, Actor, CustomerId, OrderCommand, OrderId, StoreCommand, StoreId};
    use schemas::examples::{Scribe, line, menu, profile};

    let system = System::builder().with_bridge().start().await.unwrap();
    // 2026-11-01: 01:00-02:00 happens twice in New York (EDT, then EST).
    let store = "dst-store";
    let mut profile = profile();
    let always = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    profile.hours = domain::WeeklyHours::new(
        always
            .iter()
            .map(|d| domain::OpeningHours {
                day: d.parse().unwrap(),
                open: chrono::NaiveTime::MIN,
                close: chrono::NaiveTime::MIN,
            })
            .collect(),
    )
    .unwrap();
    let start = Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap(); // 23:00 EDT
    let mut scribe = Scribe::new(StoreId::parse(store).unwrap(), start, 0xd57 << 64);
    scribe
        .run(
            Actor::Admin,
            None,
            Action::Store(StoreCommand::Configure(profile)),
        )
        .unwrap();
    scribe
        .run(
            Actor::Admin,
            None,
            Action::Store(StoreCommand::PublishMenu(menu())),
        )
        .unwrap();
    let customer = CustomerId::parse("cust-1").unwrap();
    let place_at = |scribe: &mut Scribe, utc_hour: u32, minute: u32| {
        scribe.clock = Utc
            .with_ymd_and_hms(2026, 11, 1, utc_hour, minute, 0)
            .unwrap();
        let order = OrderId(scribe.next_id());
        let fries = vec![line("fries", 1, &[], None)];
        scribe.place(customer.clone(), order, fries, 100).unwrap();
        order
    };
    // 00:30 EDT, 01:30 EDT, 01:10 EST and 01:40 EST (cancelled), 02:30 EST.
    place_at(&mut scribe, 4, 30);
    place_at(&mut scribe, 5, 30);
    place_at(&mut scribe, 6, 10);
    let cancelled = place_at(&mut scribe, 6, 40);
    scribe
        .run(
            Actor::Customer(customer.clone()),
            None,
            Action::Order {
                order_id: cancelled,
                command: OrderCommand::Cancel {
                    reason: "changed my mind".into(),
                },
            },
        )
        .unwrap();
    let last = place_at(&mut scribe, 7, 30);

    let producer = producer(&system);
    for event in &scribe.log {
        let topic = if event.meta.subject == store {
            &system.scratch.kafka.stores_topic
        } else {
            &system.scratch.kafka.orders_topic
        };
        produce(&producer, topic, store, &schemas::encode(event).unwrap()).await;
    }
    read_at(&system, &last.0.to_string(), 2, &system.tokens.admin).await;

    let sales = expect(
        system
            .read(
                &format!("/v1/stores/{store}/sales?date=2026-11-01"),
                &system.tokens.admin,
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    let hours = sales["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 25, "the day has 25 hours");
    let by_hour: Vec<(&str, i64)> = hours
        .iter()
        .map(|h| (h["hour"].as_str().unwrap(), h["orders"].as_i64().unwrap()))
        .filter(|(_, n)| *n != 0)
        .collect();
    assert_eq!(
        by_hour,
        [
            ("2026-11-01T00:00:00-04:00", 1),
            ("2026-11-01T01:00:00-04:00", 1),
            ("2026-11-01T01:00:00-05:00", 1),
            ("2026-11-01T02:00:00-05:00", 1),
        ],
        "the cancelled order leaves the hour it was placed in"
    );
    let fries = 349;
    assert_eq!(sales["totals"]["orders"], 4);
    assert_eq!(sales["totals"]["revenue"]["amount"], 4 * fries);
    assert_eq!(sales["totals"]["tips"]["amount"], 400);
    assert_eq!(hours[2]["revenue"]["amount"], fries);
    system.stop().await.unwrap();
}
