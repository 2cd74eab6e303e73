//! Hold and fire: a scheduled order reaches the display at once, but its
//! kitchen ticket prints at pickup time less the store's preparation time,
//! not before, even across a restart of the bridge.

use chrono::{DateTime, Duration, Utc};
use pos_bridge::order_number;

use crate::helpers::{PATIENCE, spawn_env, store_profile, store_settings, try_place};
use crate::kds::TestKds;
use crate::printer::TestPrinter;

const STORE: &str = "schedule-downtown";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_order_fires_at_pickup_less_preparation_and_not_before() {
    let env = spawn_env().await;
    env.open_store(STORE, &store_profile(STORE)).await;
    let mut printer = TestPrinter::start().await;
    let kds = TestKds::start().await;
    let prep_minutes = 2;
    let settings = env.bridge_settings(vec![(
        STORE,
        store_settings(
            STORE,
            &[printer.addr.to_string()],
            std::slice::from_ref(&kds.url),
            prep_minutes,
            false,
        ),
    )]);
    let bridge = env.start_bridge(settings.clone()).await.unwrap();

    // Pickup in two minutes and eight seconds: with two minutes to prepare,
    // the kitchen should start eight seconds from now.
    let pickup_at = Utc::now() + Duration::minutes(2) + Duration::seconds(8);
    let (status, body) = try_place(&env, STORE, Some(pickup_at)).await;
    assert_eq!(status, 201, "{body}");
    let order_id: uuid::Uuid = body["order_id"].as_str().unwrap().parse().unwrap();
    let pickup_at: DateTime<Utc> = body["pickup_at"].as_str().unwrap().parse().unwrap();
    let fire_at = pickup_at - Duration::minutes(i64::from(prep_minutes));

    // The display has the order at once, before the kitchen should start.
    let shown = kds.wait_for(&format!("{order_id}:order")).await;
    assert!(
        shown.at < fire_at,
        "shown at {} but fires at {fire_at}",
        shown.at
    );
    assert_eq!(shown.body["order"]["asap"], false);
    // The kitchen ticket is held in Postgres until then.
    let db = env.db().await;
    let held = db
        .query_one(
            "select state, due_at from bridge_tickets where ticket_id = $1 and sink like 'printer:%'",
            &[&format!("{order_id}:kitchen")],
        )
        .await
        .unwrap();
    assert_eq!(held.get::<_, String>(0), "pending");
    let due: DateTime<Utc> = held.get(1);
    assert!(
        (due - fire_at).num_milliseconds().abs() < 1,
        "held until {due}, expected {fire_at}"
    );

    // The hold survives a restart of the bridge.
    bridge.stop().await.unwrap();
    let bridge = env.start_bridge(settings).await.unwrap();

    let ticket = printer
        .next_within(PATIENCE + std::time::Duration::from_secs(10))
        .await
        .expect("the held ticket never fired");
    assert!(
        ticket.received_at >= fire_at,
        "printed at {} before it should fire at {fire_at}",
        ticket.received_at
    );
    // For the reader (`-- --nocapture`), not asserted: how late it fired.
    eprintln!(
        "the held ticket reached the printer {} ms after its fire time",
        (ticket.received_at - fire_at).num_milliseconds()
    );
    assert_eq!(ticket.number, format!("#{}", order_number(order_id)));
    assert!(ticket.pickup.as_deref().unwrap().ends_with(" SCHEDULED"));
    let on_display = kds.wait_for(&format!("{order_id}:kitchen")).await;
    assert!(on_display.at >= fire_at);
    bridge.stop().await.unwrap();
    env.stop().await.unwrap();
}
