//! Guarantee 1: a retry after the process died gets the first answer, and the
//! log holds the command's events once.

use platform::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::process::{Service, committed, shared_brokers, token};

#[tokio::test]
async fn a_retry_after_a_kill_9_gets_the_first_answer_and_appends_nothing() {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let mut service = Service::start(&shared_brokers(), &suffix).await;
    service.open_store().await;
    let customer = token(Role::Customer, "cust-1");
    let first = service.place(&customer, Some("order-once")).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();

    service.kill().await;
    service.restart().await;
    let retry = service.place(&customer, Some("order-once")).await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.json::<Value>().await.unwrap(), first);

    let order_id = first["order_id"].as_str().unwrap();
    let events: Vec<String> = committed(&shared_brokers(), &service.env("QSR_ORDERS_TOPIC"))
        .into_iter()
        .filter(|event| event["subject"] == order_id)
        .map(|event| event["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        events,
        ["qsr.order.placed.v2", "qsr.order.payment_authorized.v1"]
    );
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly_and_the_next_instance_takes_over() {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let mut service = Service::start(&shared_brokers(), &suffix).await;
    service.open_store().await;
    let customer = token(Role::Customer, "cust-1");
    assert_eq!(
        service.place(&customer, None).await.status(),
        StatusCode::CREATED
    );
    let status = service.terminate().await;
    assert!(status.success(), "command-api exited with {status}");
    // It left the group and aborted nothing half-written: a new instance
    // rebuilds and serves at once.
    service.restart().await;
    assert_eq!(
        service.place(&customer, None).await.status(),
        StatusCode::CREATED
    );
}
