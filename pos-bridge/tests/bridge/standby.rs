//! Two bridges on one database: both consume and queue (idempotently), only
//! the one holding the delivery lock delivers, and the other takes over when
//! it stops.

use pos_bridge::order_number;

use crate::helpers::{eventually, place, spawn_env, store_profile, store_settings};
use crate::printer::TestPrinter;

const STORE: &str = "standby-downtown";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_bridge_stands_by_without_doubling_tickets_and_takes_over() {
    let env = spawn_env().await;
    env.open_store(STORE, &store_profile(STORE)).await;
    let mut printer = TestPrinter::start().await;
    let settings = env.bridge_settings(vec![(
        STORE,
        store_settings(STORE, &[printer.addr.to_string()], &[], 0, false),
    )]);
    let first = env.start_bridge(settings.clone()).await.unwrap();
    let db = env.db().await;
    let lock_holders = || async {
        db.query_one(
            "select count(*) from pg_locks where locktype = 'advisory' and granted
             and database = (select oid from pg_database where datname = current_database())",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
    };
    eventually("the first bridge holding the delivery lock", || async {
        (lock_holders().await == 1).then_some(())
    })
    .await;
    let second = env.start_bridge(settings).await.unwrap();

    let mut orders = Vec::new();
    for _ in 0..4 {
        orders.push(place(&env, STORE, None).await);
    }
    for order_id in &orders {
        let ticket = printer.next().await;
        assert_eq!(ticket.number, format!("#{}", order_number(*order_id)));
    }
    eventually("each ticket recorded as sent once", || async {
        let attempts: Vec<i32> = db
            .query(
                "select attempts from bridge_tickets where store_id = $1 and state = 'delivered'",
                &[&STORE],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        (attempts == [1, 1, 1, 1]).then_some(())
    })
    .await;
    assert_eq!(lock_holders().await, 1);

    // The delivering bridge stops: the standby takes over.
    first.stop().await.unwrap();
    let after = place(&env, STORE, None).await;
    let ticket = printer.next().await;
    assert_eq!(ticket.number, format!("#{}", order_number(after)));
    assert!(printer.try_next().is_none(), "nothing printed twice");
    second.stop().await.unwrap();
    env.stop().await.unwrap();
}
