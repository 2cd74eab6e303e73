//! Postgres refuses one of the bridge's writes for a while: the bridge tries
//! the write again without repeating what it already did, so a ticket that a
//! sink took but that could not be recorded is not sent a second time, and an
//! undecodable record in a batch whose transaction is retried is
//! dead-lettered once.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_postgres::Client;

use crate::helpers::{System, eventually, place, spawn_env, store_profile, store_settings};
use crate::kds::TestKds;

const STORE: &str = "postgres-fails-downtown";

/// Makes the first `times` writes that `trigger` ("before update on t for each
/// row when (...)") catches fail, in the test's own database. The count is a
/// sequence because a sequence is not rolled back with the failed write.
async fn fail_first(db: &Client, name: &str, trigger: &str, times: i64) {
    db.batch_execute(&format!(
        "create sequence {name}_calls;
         create function {name}() returns trigger language plpgsql as $$
         begin
             if nextval('{name}_calls') <= {times} then
                 raise exception 'injected failure ({name})';
             end if;
             return new;
         end $$;
         create trigger {name} {trigger} execute function {name}();"
    ))
    .await
    .unwrap();
}

/// How many writes the trigger of `fail_first` has seen.
async fn calls(db: &Client, name: &str) -> i64 {
    db.query_one(
        &format!("select case when is_called then last_value else 0 end from {name}_calls"),
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_cannot_be_recorded_is_recorded_later_and_not_sent_again() {
    let env = spawn_env().await;
    env.open_store(STORE, &store_profile(STORE)).await;
    let kds = TestKds::start().await;
    pos_bridge::migrate(&env.pool()).await.unwrap();
    let db = env.db().await;
    fail_first(
        &db,
        "fail_recording",
        "before update on bridge_tickets for each row when (new.state = 'delivered')",
        3,
    )
    .await;
    let settings = env.bridge_settings(vec![(
        STORE,
        store_settings(STORE, &[], std::slice::from_ref(&kds.url), 0, false),
    )]);
    let bridge = env.start_bridge(settings).await.unwrap();

    let order_id = place(&env, STORE, None).await;
    // The order ticket, then the kitchen ticket: both end up recorded.
    eventually("both tickets recorded as delivered", || async {
        let row = db
            .query_one(
                "select count(*) from bridge_tickets where store_id = $1 and state = 'delivered'",
                &[&STORE],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0) == 2).then_some(())
    })
    .await;

    assert!(
        calls(&db, "fail_recording").await > 3,
        "the first recordings failed"
    );
    let mut received: Vec<String> = kds.received().into_iter().map(|r| r.ticket_id).collect();
    received.sort();
    assert_eq!(
        received,
        [format!("{order_id}:kitchen"), format!("{order_id}:order")],
        "each ticket reached the display once"
    );
    bridge.stop().await.unwrap();
    env.stop().await.unwrap();
}

/// How many records the dead-letter topic holds.
fn dead_letter_count(env: &System) -> i64 {
    let consumer: BaseConsumer = env.scratch.kafka.client_config().create().unwrap();
    (0..env.scratch.kafka.partitions)
        .map(|p| {
            let (low, high) = consumer
                .fetch_watermarks(&env.bridge_dead_letter_topic(), p, Duration::from_secs(10))
                .unwrap();
            high - low
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_record_is_dead_lettered_once_though_its_batch_is_retried() {
    let env = spawn_env().await;
    env.open_store(STORE, &store_profile(STORE)).await;
    // A record no one can read, in the partition of the store's events, so
    // the bridge reads them in one batch.
    let producer: FutureProducer = env.scratch.kafka.client_config().create().unwrap();
    producer
        .send(
            FutureRecord::to(&env.scratch.kafka.stores_topic)
                .partition(schemas::partition_for(STORE, env.scratch.kafka.partitions))
                .key(STORE)
                .payload("not a cloudevent"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    pos_bridge::migrate(&env.pool()).await.unwrap();
    let db = env.db().await;
    // Recording the store's time zone fails twice: the batch's transaction
    // commits at the third try.
    fail_first(
        &db,
        "fail_timezone",
        "before insert or update on bridge_stores for each row",
        2,
    )
    .await;
    let bridge = env.start_bridge(env.bridge_settings(vec![])).await.unwrap();

    eventually("the batch to commit", || async {
        let row = db
            .query_one(
                "select count(*) from bridge_stores where store_id = $1",
                &[&STORE],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0) == 1).then_some(())
    })
    .await;
    assert_eq!(
        calls(&db, "fail_timezone").await,
        3,
        "the batch was tried three times"
    );
    eventually("the record to be dead-lettered", || async {
        (dead_letter_count(&env) > 0).then_some(())
    })
    .await;
    // Stopped, the bridge sends nothing more.
    bridge.stop().await.unwrap();
    assert_eq!(dead_letter_count(&env), 1, "dead-lettered once");
    env.stop().await.unwrap();
}
