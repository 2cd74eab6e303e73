//! A transaction that cannot commit: the broker dies while orders are in
//! flight. No caller of a batch that did not commit gets a 2xx, and nothing of
//! it is visible to a read_committed consumer.

use std::collections::BTreeSet;
use std::time::Duration;

use platform::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::process::{Broker, Service, burger, committed, token};

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
            let response = http
                .post(format!("{url}/v1/orders"))
                .bearer_auth(customer)
                .json(&burger())
                .send()
                .await;
            match response {
                Ok(r) if r.status() == StatusCode::CREATED => {
                    let body: Value = r.json().await.unwrap();
                    Some(body["order_id"].as_str().unwrap().to_owned())
                }
                _ => None,
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker.kill().await;
    let mut acknowledged = BTreeSet::new();
    let mut refused = 0;
    while let Some(answer) = flight.join_next().await {
        match answer.unwrap() {
            Some(order_id) => {
                acknowledged.insert(order_id);
            }
            None => refused += 1,
        }
    }
    assert!(refused > 0, "the broker died too late to test anything");

    // Back up: exactly the acknowledged orders are in the log.
    broker.restart().await;
    let placed: BTreeSet<String> = committed(&broker.address, &service.env("QSR_ORDERS_TOPIC"))
        .into_iter()
        .filter(|(_, t)| t == "qsr.order.placed.v2")
        .map(|(subject, _)| subject)
        .collect();
    assert_eq!(placed, acknowledged, "{refused} refused");
}
