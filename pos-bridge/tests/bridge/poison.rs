//! A record whose tickets Postgres refuses (a note holding a NUL character,
//! which `jsonb` cannot store) is poison for the queue: the bridge
//! dead-letters it with Postgres's reason and goes on, and the tickets of the
//! records after it, in the same batch and later, are delivered.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::Value;
use uuid::Uuid;

use crate::dead_letter::dead_letters;
use crate::helpers::{PATIENCE, System, place, spawn_env, store_profile, store_settings};
use crate::kds::TestKds;

const STORE: &str = "poison-downtown";

/// The placement of `order_id` as command-api wrote it: the record's body.
fn placement(env: &System, order_id: Uuid) -> Value {
    let consumer: BaseConsumer = env
        .scratch
        .kafka
        .client_config()
        .set("group.id", "poison-reader")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    let partition = schemas::partition_for(STORE, env.scratch.kafka.partitions);
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(
            &env.scratch.kafka.orders_topic,
            partition,
            Offset::Beginning,
        )
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        assert!(std::time::Instant::now() < deadline, "no placement record");
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let body: Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
            let placed = body["type"]
                .as_str()
                .unwrap()
                .starts_with("qsr.order.placed");
            if placed && body["data"]["order_id"] == order_id.to_string() {
                return body;
            }
        }
    }
}

/// `placement` as another order of the same store, with `note` on its first
/// line.
fn another_order(placement: &Value, note: &str) -> (Uuid, Vec<u8>) {
    let order_id = Uuid::new_v4();
    let mut body = placement.clone();
    body["id"] = Value::from(Uuid::new_v4().to_string());
    body["subject"] = Value::from(order_id.to_string());
    body["data"]["order_id"] = Value::from(order_id.to_string());
    body["data"]["lines"][0]["note"] = Value::from(note);
    (order_id, serde_json::to_vec(&body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_postgres_refuses_is_dead_lettered_and_later_tickets_are_delivered() {
    let env = spawn_env().await;
    env.open_store(STORE, &store_profile(STORE)).await;
    let kds = TestKds::start().await;
    let settings = env.bridge_settings(vec![(
        STORE,
        store_settings(STORE, &[], std::slice::from_ref(&kds.url), 0, false),
    )]);
    let bridge = env.start_bridge(settings).await.unwrap();
    let first = place(&env, STORE, None).await;
    kds.wait_for(&format!("{first}:kitchen")).await;

    // The poison, and a sound order right behind it (most likely in the
    // same batch), straight into the store's partition.
    let placement = placement(&env, first);
    let (poison, poison_body) = another_order(&placement, "no onions\u{0}");
    let (behind, behind_body) = another_order(&placement, "no pickles");
    let producer: FutureProducer = env.scratch.kafka.client_config().create().unwrap();
    let partition = schemas::partition_for(STORE, env.scratch.kafka.partitions);
    let mut offsets = Vec::new();
    for body in [&poison_body, &behind_body] {
        let delivery = producer
            .send(
                FutureRecord::to(&env.scratch.kafka.orders_topic)
                    .partition(partition)
                    .key(STORE)
                    .payload(body),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        offsets.push(delivery.offset);
    }

    kds.wait_for(&format!("{behind}:kitchen")).await;
    let next = place(&env, STORE, None).await;
    kds.wait_for(&format!("{next}:kitchen")).await;

    let records = dead_letters(&env, 1);
    let (headers, body) = &records[0];
    assert!(
        headers["reason"].contains("refused by Postgres (SQLSTATE 22"),
        "{headers:?}"
    );
    assert_eq!(headers["source_topic"], env.scratch.kafka.orders_topic);
    assert_eq!(headers["source_partition"], partition.to_string());
    assert_eq!(headers["source_offset"], offsets[0].to_string());
    assert_eq!(body, &poison_body);
    assert!(
        kds.received()
            .iter()
            .all(|r| !r.ticket_id.starts_with(&poison.to_string())),
        "nothing of the poison was sent"
    );
    let metrics = env
        .http
        .get(format!("{}/metrics", bridge.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"qsr_bridge_records_dead_lettered_total{reason="refused_by_postgres"}"#),
        "{metrics}"
    );
    bridge.stop().await.unwrap();
    env.stop().await.unwrap();
}
