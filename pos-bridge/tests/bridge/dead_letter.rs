//! After its last attempt a ticket goes to the dead-letter topic with the
//! reason in its headers, and so does a record that cannot be decoded; the
//! bridge goes on with the next.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::Value;

use crate::helpers::{PATIENCE, System, place, spawn_env, store_profile, store_settings};
use crate::kds::TestKds;

const STORE: &str = "dead-letter-downtown";

/// Waits for `count` records of the dead-letter topic: headers and body.
pub fn dead_letters(env: &System, count: usize) -> Vec<(HashMap<String, String>, Vec<u8>)> {
    let consumer: BaseConsumer = env
        .scratch
        .kafka
        .client_config()
        .set("group.id", "dead-letter-reader")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for p in 0..env.scratch.kafka.partitions {
        assignment
            .add_partition_offset(&env.bridge_dead_letter_topic(), p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    let mut records = Vec::new();
    while records.len() < count {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} dead letters",
            records.len()
        );
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_owned(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            records.push((headers, m.payload().unwrap_or_default().to_vec()));
        }
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_out_of_attempts_and_an_undecodable_record_are_dead_lettered() {
    let env = spawn_env().await;
    env.open_store(STORE, &store_profile(STORE)).await;
    let kds = TestKds::start().await;
    kds.fail_with(503);
    let mut settings = env.bridge_settings(vec![(
        STORE,
        store_settings(STORE, &[], std::slice::from_ref(&kds.url), 0, false),
    )]);
    settings.max_attempts = 3;
    let bridge = env.start_bridge(settings).await.unwrap();

    let order_id = place(&env, STORE, None).await;
    // Two tickets for the display (the order, then the kitchen ticket), each
    // tried three times.
    let records = dead_letters(&env, 2);
    let (headers, body) = &records[0];
    assert_eq!(headers["ticket_id"], format!("{order_id}:order"));
    assert_eq!(headers["attempts"], "3");
    assert_eq!(headers["store_id"], STORE);
    assert!(headers["reason"].contains("503"), "{headers:?}");
    assert!(headers["sink"].starts_with("kds:"));
    let ticket: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(ticket["order_id"], order_id.to_string());
    assert_eq!(records[1].0["ticket_id"], format!("{order_id}:kitchen"));

    // A record no one can read: dead-lettered, and the next order still goes out.
    let producer: FutureProducer = env.scratch.kafka.client_config().create().unwrap();
    producer
        .send(
            FutureRecord::to(&env.scratch.kafka.orders_topic)
                .key(STORE)
                .payload("not a cloudevent"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let records = dead_letters(&env, 3);
    let (headers, body) = &records[2];
    assert!(
        headers["reason"].contains("not a CloudEvent"),
        "{headers:?}"
    );
    assert_eq!(headers["source_topic"], env.scratch.kafka.orders_topic);
    assert_eq!(body, b"not a cloudevent");
    kds.fail_with(0);
    let next = place(&env, STORE, None).await;
    kds.wait_for(&format!("{next}:kitchen")).await;

    // A display that refuses a ticket outright (400) is not retried.
    kds.fail_with(400);
    let refused = place(&env, STORE, None).await;
    let records = dead_letters(&env, 5);
    assert_eq!(records[3].0["ticket_id"], format!("{refused}:order"));
    assert_eq!(records[3].0["attempts"], "1");
    assert!(records[3].0["reason"].contains("400"));
    bridge.stop().await.unwrap();
    env.stop().await.unwrap();
}
