//! Ownership of partitions through the consumer group: two instances never
//! both serve a store, and an instance that leaves hands its partitions over.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{Order, PATIENCE, STORE, System, store_body};

async fn place_at(system: &System, base: &str) -> StatusCode {
    let body = Order::at(STORE).body();
    let response = system
        .http
        .post(format!("{base}/v1/orders"))
        .bearer_auth(&system.tokens.customer)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        assert!(response.headers().contains_key("retry-after"));
    }
    status
}

#[tokio::test]
async fn one_instance_serves_a_store_and_a_leaving_one_hands_over() {
    let system = System::builder().with_bridge().start().await.unwrap();
    system.open_store(STORE, &store_body(50)).await;
    let first = system.command_api();
    assert_eq!(place_at(&system, &first).await, StatusCode::CREATED);

    let second = system.spawn_command_api(|_| {}).await.unwrap();
    // Both rebuilt what the group gave them: the partitions are split.
    system.wait_ready(&second.url).await.unwrap();
    system.wait_ready(&first).await.unwrap();
    let answers = [
        place_at(&system, &first).await,
        place_at(&system, &second.url).await,
    ];
    let served = answers
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = answers
        .iter()
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert_eq!(
        (served, refused),
        (1, 1),
        "exactly one instance writes the store's partition: {answers:?}"
    );

    // The second instance leaves; the first takes every partition back.
    second.stop().await.unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match place_at(&system, &first).await {
            StatusCode::CREATED => break,
            StatusCode::SERVICE_UNAVAILABLE => {}
            other => panic!("unexpected {other}"),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the partition was not handed back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    system.stop().await.unwrap();
}
