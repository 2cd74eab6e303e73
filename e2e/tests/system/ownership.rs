//! Ownership of partitions through the consumer group: two instances never
//! both serve a store, and an instance that leaves hands its partitions over.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::helpers::{PATIENCE, STORE, TestSystem, spawn_system};

async fn place_at(system: &TestSystem, base: &str) -> StatusCode {
    let body = json!({
        "store_id": STORE,
        "fulfillment": {"type": "pickup", "pickup_at": null},
        "lines": [{"item_id": "classic", "quantity": 1, "modifiers": []}],
        "payment": {"token": "tok_visa"}
    });
    let response = system
        .http
        .post(format!("{base}/v1/orders"))
        .bearer_auth(&system.customer)
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
    let mut system = spawn_system().await.unwrap();
    system.open_store(50).await;
    let first = system.command_api.clone();
    assert_eq!(place_at(&system, &first).await, StatusCode::CREATED);

    let stop = CancellationToken::new();
    let (second, task) = system.another_command_api(stop.clone()).await;
    // Both rebuilt what the group gave them: the partitions are split.
    system.wait_ready(&second).await.unwrap();
    system.wait_ready(&first).await.unwrap();
    let answers = [
        place_at(&system, &first).await,
        place_at(&system, &second).await,
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
    stop.cancel();
    task.await.unwrap().unwrap();
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
