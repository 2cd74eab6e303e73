//! DESIGN guarantee 6 on the read side: records the read models cannot take,
//! written straight into `qsr.orders` between orders placed through the API,
//! are dead-lettered with the reason, and every other order of every store,
//! before and after them, is projected exactly once; and a failure that may
//! pass when retried is retried, never dead-lettered.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use domain::{Actor, CustomerId, OrderId, StoreCommand, StoreId};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use reqwest::StatusCode;
use schemas::examples::{Scribe, line, menu, profile};
use serde_json::{Value, json};

use crate::helpers::{Order, PATIENCE, STORE, System, expect, store_body};
use test_system::fixtures;

/// The second store placed at through the API.
const UPTOWN: &str = "e2e-uptown";
/// A tip that fits a 64-bit amount once but not twice: 2^62 cents.
const HUGE_TIP: i64 = 1 << 62;

/// Places a burger at `store_id` through the API; answers the order's id.
async fn place(system: &System, store_id: &str) -> String {
    let body = Order {
        lines: json!([{"item_id": "classic", "quantity": 1, "modifiers": [], "note": null}]),
        tip: Some(100),
        ..Order::at(store_id)
    }
    .body();
    system.place(&body).await
}

/// The order once the read models hold its `version`.
async fn projected(system: &System, order_id: &str, version: u64) -> Value {
    let path = format!("/v1/orders/{order_id}?min_version={version}&wait_ms=10000");
    expect(
        system.read(&path, &system.tokens.admin).await,
        StatusCode::OK,
        None,
    )
    .await
}

/// A store id in the partition of `STORE`, so that its poison sits in the
/// path of the API's orders there.
fn store_beside(system: &System) -> String {
    let partitions = system.scratch.kafka.partitions;
    let target = schemas::partition_for(STORE, partitions);
    (0..)
        .map(|i| format!("e2e-poison-{i}"))
        .find(|s| schemas::partition_for(s, partitions) == target)
        .unwrap()
}

/// The record of `event`, with `change` made to its JSON.
fn record(event: &schemas::Event, change: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&schemas::encode(event).unwrap()).unwrap();
    change(&mut body);
    serde_json::to_vec(&body).unwrap()
}

/// Every record of the projector's dead-letter topic (one partition), as
/// (headers, body), once it holds `count`.
fn dead_letters(system: &System, count: usize) -> Vec<(HashMap<String, String>, Vec<u8>)> {
    let consumer: BaseConsumer = system
        .scratch
        .kafka
        .client_config()
        .set("group.id", "e2e-poison-dead-letters")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(&system.projector_dead_letter_topic(), 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    let mut records = Vec::new();
    while records.len() < count {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} dead letters",
            records.len()
        );
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.unwrap();
            let headers = message
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            let value = h.value.unwrap_or_default();
                            (
                                h.key.to_owned(),
                                String::from_utf8_lossy(value).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            records.push((headers, message.payload().unwrap_or_default().to_vec()));
        }
    }
    assert_eq!(
        dead_letter_count(system),
        count as i64,
        "dead letters: {records:?}"
    );
    records
}

/// How many records the projector's dead-letter topic holds.
fn dead_letter_count(system: &System) -> i64 {
    let consumer: BaseConsumer = system.scratch.kafka.client_config().create().unwrap();
    let (low, high) = consumer
        .fetch_watermarks(&system.projector_dead_letter_topic(), 0, PATIENCE)
        .unwrap();
    high - low
}

/// Opens `UPTOWN` with the menu of `STORE`, as the admin.
async fn open_uptown(system: &System) {
    for (path, body) in [
        (format!("/v1/stores/{UPTOWN}"), store_body(1000)),
        (format!("/v1/stores/{UPTOWN}/menu"), fixtures::menu()),
    ] {
        expect(
            system.put(&path, &system.tokens.admin, &body).await,
            StatusCode::OK,
            None,
        )
        .await;
    }
}

#[tokio::test]
async fn poison_in_the_orders_topic_is_dead_lettered_and_every_store_goes_on() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(1000)).await;
    open_uptown(&system).await;
    let before = [place(&system, STORE).await, place(&system, UPTOWN).await];

    // A store written straight into the topics, beside `STORE`: five orders
    // at 11:0x in New York, all in one sales interval. The second and third
    // carry a tip of 2^62 cents, which the sales can take once but not twice;
    // the fourth a note with a NUL, which Postgres cannot store in `jsonb`.
    let poison_store = store_beside(&system);
    let start = Utc.with_ymd_and_hms(2026, 11, 24, 16, 0, 0).unwrap();
    let mut scribe = Scribe::new(StoreId::parse(&poison_store).unwrap(), start, 0x9015 << 64);
    scribe
        .run(
            Actor::Admin,
            None,
            domain::Action::Store(StoreCommand::Configure(profile())),
        )
        .unwrap();
    scribe
        .run(
            Actor::Admin,
            None,
            domain::Action::Store(StoreCommand::PublishMenu(menu())),
        )
        .unwrap();
    let customer = CustomerId::parse("cust-1").unwrap();
    let mut orders = Vec::new();
    for _ in 0..5 {
        let order = OrderId(scribe.next_id());
        let fries = vec![line("fries", 1, &[], Some("no salt"))];
        scribe.place(customer.clone(), order, fries, 100).unwrap();
        orders.push(order.0.to_string());
    }
    let huge_tip = |body: &mut Value| {
        let totals = &mut body["data"]["totals"];
        let total = totals["total"]["amount"].as_i64().unwrap();
        let tip = totals["tip"]["amount"].as_i64().unwrap();
        totals["tip"]["amount"] = json!(HUGE_TIP);
        totals["total"]["amount"] = json!(total - tip + HUGE_TIP);
    };
    let producer: FutureProducer = system.scratch.kafka.client_config().create().unwrap();
    let partition = schemas::partition_for(&poison_store, system.scratch.kafka.partitions);
    let mut offsets = HashMap::new();
    let mut written = 0;
    let mut write = async |scribe: &Scribe, huge: &[&String]| {
        for event in &scribe.log[written..] {
            let (topic, body) = match &event.data {
                schemas::EventData::StoreConfigured(_) | schemas::EventData::MenuPublished(_) => {
                    (&system.scratch.kafka.stores_topic, record(event, |_| {}))
                }
                schemas::EventData::OrderPlaced(placed) => {
                    let order = placed.order_id.to_string();
                    let body = if huge.contains(&&order) {
                        record(event, huge_tip)
                    } else if order == orders[3] {
                        record(event, |b| {
                            b["data"]["lines"][0]["note"] = json!("no salt\u{0}")
                        })
                    } else {
                        record(event, |_| {})
                    };
                    (&system.scratch.kafka.orders_topic, body)
                }
                _ => (&system.scratch.kafka.orders_topic, record(event, |_| {})),
            };
            let delivery = producer
                .send(
                    FutureRecord::to(topic)
                        .partition(partition)
                        .key(&poison_store)
                        .payload(&body),
                    Duration::from_secs(10),
                )
                .await
                .unwrap();
            offsets.insert(event.meta.id, delivery.offset);
        }
        written = scribe.log.len();
    };
    write(&scribe, &[&orders[1], &orders[2]]).await;
    let after = [place(&system, STORE).await, place(&system, UPTOWN).await];

    // Every order of the API, before and after the poison, is projected.
    for order_id in before.iter().chain(&after) {
        let order = projected(&system, order_id, 2).await;
        assert_eq!(order["status"], "placed");
    }
    // So are the written orders that the models can take, the first huge tip
    // among them; the other two are not.
    for order_id in [&orders[0], &orders[1], &orders[4]] {
        projected(&system, order_id, 2).await;
    }
    for order_id in [&orders[2], &orders[3]] {
        let path = format!("/v1/orders/{order_id}");
        expect(
            system.read(&path, &system.tokens.admin).await,
            StatusCode::NOT_FOUND,
            Some("order_not_found"),
        )
        .await;
    }
    // Once each: the sales count three orders and one huge tip.
    let sales = expect(
        system
            .read(
                &format!("/v1/stores/{poison_store}/sales?date=2026-11-24"),
                &system.tokens.admin,
            )
            .await,
        StatusCode::OK,
        None,
    )
    .await;
    assert_eq!(sales["totals"]["orders"], 3);
    assert_eq!(sales["totals"]["tips"]["amount"], HUGE_TIP + 200);

    // A third huge tip, later that day: its interval takes it, the day's
    // total cannot, and query-api says so rather than wrap or panic.
    scribe.clock = Utc.with_ymd_and_hms(2026, 11, 24, 20, 0, 0).unwrap();
    let late = OrderId(scribe.next_id());
    let fries = vec![line("fries", 1, &[], None)];
    scribe.place(customer.clone(), late, fries, 100).unwrap();
    let late = late.0.to_string();
    write(&scribe, &[&late]).await;
    projected(&system, &late, 2).await;
    expect(
        system
            .read(
                &format!("/v1/stores/{poison_store}/sales?date=2026-11-24"),
                &system.tokens.admin,
            )
            .await,
        StatusCode::INTERNAL_SERVER_ERROR,
        Some("internal"),
    )
    .await;

    // Four dead letters: each poison placement with its reason, then the
    // payment authorisation of each, whose order the models never got.
    let letters = dead_letters(&system, 4);
    let header = |i: usize, name: &str| letters[i].0[name].clone();
    let placement = |order: &str| {
        scribe
            .log
            .iter()
            .find(|e| {
                matches!(&e.data, schemas::EventData::OrderPlaced(p) if p.order_id.to_string() == order)
            })
            .unwrap()
    };
    let overflow = placement(&orders[2]);
    assert!(
        header(0, projector::REASON_HEADER).contains("out of range"),
        "{:?}",
        letters[0].0
    );
    assert_eq!(
        header(0, projector::OFFSET_HEADER),
        offsets[&overflow.meta.id].to_string()
    );
    assert!(header(1, projector::REASON_HEADER).contains("never placed"));
    let refused = placement(&orders[3]);
    assert!(
        header(2, projector::REASON_HEADER).contains("refused by Postgres (SQLSTATE 22"),
        "{:?}",
        letters[2].0
    );
    assert_eq!(
        header(2, projector::OFFSET_HEADER),
        offsets[&refused.meta.id].to_string()
    );
    assert!(header(3, projector::REASON_HEADER).contains("never placed"));
    for (headers, _) in &letters {
        assert_eq!(
            headers[projector::TOPIC_HEADER],
            system.scratch.kafka.orders_topic
        );
        assert_eq!(headers[projector::PARTITION_HEADER], partition.to_string());
    }
    system.stop().await.unwrap();
}

#[tokio::test]
async fn a_failure_that_may_pass_is_retried_and_nothing_is_dead_lettered() {
    let system = System::builder().with_bridge().start().await.unwrap();
    let (db, connection) =
        tokio_postgres::connect(&system.scratch.postgres.database_url, tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    // The first three writes of an order fail as a busy or stopping Postgres
    // fails them: a serialization failure, a deadlock, a shutdown. Counted
    // by a sequence, which a rollback does not undo.
    db.batch_execute(
        "create sequence transient_calls;
         create function transient() returns trigger language plpgsql as $$
         begin
             case nextval('transient_calls')
                 when 1 then raise exception 'injected' using errcode = 'serialization_failure';
                 when 2 then raise exception 'injected' using errcode = 'deadlock_detected';
                 when 3 then raise exception 'injected' using errcode = 'admin_shutdown';
                 else return new;
             end case;
         end $$;
         create trigger transient before insert on orders
             for each row execute function transient();",
    )
    .await
    .unwrap();
    system.open_store(STORE, &store_body(1000)).await;
    open_uptown(&system).await;

    let mut placed = Vec::new();
    for store_id in [STORE, UPTOWN, STORE, UPTOWN] {
        placed.push(place(&system, store_id).await);
    }
    for order_id in &placed {
        projected(&system, order_id, 2).await;
    }
    let calls: i64 = db
        .query_one("select last_value from transient_calls", &[])
        .await
        .unwrap()
        .get(0);
    assert!(calls > 3, "the injected failures happened ({calls} calls)");
    assert_eq!(dead_letter_count(&system), 0, "nothing was dead-lettered");
    system.stop().await.unwrap();
}
