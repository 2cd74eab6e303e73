//! A transaction that cannot commit: the broker dies while orders are in
//! flight. No caller of a batch that did not commit gets a 2xx, and nothing of
//! it is visible to a read_committed consumer. A commit whose answer was lost
//! with the broker may still have happened: its callers got `503`, and a retry
//! with the same idempotency key gets the order that was committed, not a
//! second one.

use std::collections::BTreeMap;
use std::time::Duration;

use platform::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::process::{Broker, PATIENCE, Service, burger, committed, token};

/// What one request in flight was answered.
#[derive(Debug)]
enum Answer {
    Placed(String),
    Refused(StatusCode),
    /// No HTTP answer at all.
    Lost,
}

#[tokio::test]
async fn orders_in_flight_when_the_broker_dies_are_acknowledged_only_if_committed() {
    let mut broker = Broker::start().await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let service = Service::start(&broker.address, &suffix).await;
    service.open_store().await;
    let customer = token(Role::Customer, "cust-1");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    // Orders flow; the broker is killed while they do.
    let mut flight = tokio::task::JoinSet::new();
    for i in 0..200u32 {
        let (http, url, customer) = (http.clone(), service.url.clone(), customer.clone());
        flight.spawn(async move {
            tokio::time::sleep(Duration::from_millis(u64::from(i) * 5)).await;
            let key = format!("flight-{i}");
            let response = http
                .post(format!("{url}/v1/orders"))
                .bearer_auth(customer)
                .header("idempotency-key", &key)
                .json(&burger())
                .send()
                .await;
            let answer = match response {
                Ok(r) if r.status() == StatusCode::CREATED => {
                    let body: Value = r.json().await.unwrap();
                    Answer::Placed(body["order_id"].as_str().unwrap().to_owned())
                }
                Ok(r) => Answer::Refused(r.status()),
                Err(_) => Answer::Lost,
            };
            (key, answer)
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker.kill().await;
    let mut answers = BTreeMap::new();
    while let Some(answer) = flight.join_next().await {
        let (key, answer) = answer.unwrap();
        answers.insert(key, answer);
    }
    let refused = answers
        .values()
        .filter(|a| !matches!(a, Answer::Placed(_)))
        .count();
    assert!(refused > 0, "the broker died too late to test anything");

    // Back up: every acknowledged order is in the log, under its key, once.
    broker.restart().await;
    let mut placed = BTreeMap::new();
    for event in committed(&broker.address, &service.env("QSR_ORDERS_TOPIC")) {
        if event["type"] != "qsr.order.placed.v2" {
            continue;
        }
        // The log keeps the key scoped to its caller: `customer:<sub>/<key>`.
        let (scope, key) = event["idempotencykey"]
            .as_str()
            .unwrap()
            .split_once('/')
            .unwrap();
        assert_eq!(scope, "customer:cust-1");
        let key = key.to_owned();
        let order_id = event["subject"].as_str().unwrap().to_owned();
        assert!(
            placed.insert(key.clone(), order_id).is_none(),
            "{key} was placed twice"
        );
    }
    for (key, answer) in &answers {
        if let Answer::Placed(order_id) = answer {
            assert_eq!(
                placed.get(key),
                Some(order_id),
                "{key} acknowledged, not committed"
            );
        }
    }

    // A committed order whose caller got no 2xx: only a commit whose outcome
    // the writer could not know, answered as retryable. After recovery, the
    // retry of every committed request finds its order instead of placing a
    // second one.
    let mut unknown = 0;
    for (key, order_id) in &placed {
        match &answers[key] {
            Answer::Placed(_) => {}
            Answer::Refused(StatusCode::SERVICE_UNAVAILABLE) | Answer::Lost => unknown += 1,
            Answer::Refused(status) => panic!("{key} is in the log but was refused with {status}"),
        }
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let retried = loop {
            let response = service.place(&customer, Some(key)).await;
            if response.status() == StatusCode::CREATED {
                break response.json::<Value>().await.unwrap();
            }
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(
                tokio::time::Instant::now() < deadline,
                "the retry of {key} was still refused after {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(retried["order_id"], order_id.as_str(), "{key} placed again");
    }
    eprintln!(
        "{} placed, {refused} not acknowledged, {unknown} of those committed all the same",
        placed.len()
    );
}
