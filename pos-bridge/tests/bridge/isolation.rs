//! Stores are isolated: one store's printer being down holds back only that
//! store's tickets, which all arrive, in order, once it is back. Meanwhile
//! the queue-depth gauge shows them piling up.

use std::time::Duration;

use pos_bridge::order_number;
use tokio::net::TcpListener;

use crate::helpers::{TestEnv, eventually, spawn_env, store_settings};
use crate::printer::TestPrinter;

const DOWN: &str = "isolation-down";
const UP: &str = "isolation-up";
const PILING_UP: &str = "isolation-piling-up";

/// An address with no printer behind it (yet): connections are refused.
async fn dead_address() -> std::net::SocketAddr {
    let reserved = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    addr
}

/// The store's `qsr_bridge_queue_depth` on the bridge's `/metrics`.
async fn queue_depth(env: &TestEnv, bridge: &str, store_id: &str) -> Option<f64> {
    let metrics = env
        .http
        .get(format!("{bridge}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let label = format!("store_id=\"{store_id}\"");
    metrics
        .lines()
        .find(|line| line.starts_with("qsr_bridge_queue_depth{") && line.contains(&label))
        .and_then(|line| line.split_whitespace().last()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_printer_delays_only_its_own_store_and_loses_nothing() {
    let env = spawn_env().await;
    env.open_store(DOWN).await;
    env.open_store(UP).await;
    let down_addr = dead_address().await;
    let mut up_printer = TestPrinter::start().await;
    let settings = env.settings(vec![
        (
            DOWN,
            store_settings(DOWN, &[down_addr.to_string()], &[], 0, false),
        ),
        (
            UP,
            store_settings(UP, &[up_printer.addr.to_string()], &[], 0, false),
        ),
    ]);
    let bridge = env.start_bridge(settings).await;

    let mut down_orders = Vec::new();
    let mut up_orders = Vec::new();
    for _ in 0..4 {
        down_orders.push(env.place(DOWN, None).await);
        up_orders.push(env.place(UP, None).await);
    }
    // The healthy store's tickets arrive at once, in order.
    for order_id in &up_orders {
        let ticket = up_printer
            .next_within(Duration::from_secs(10))
            .await
            .expect("the healthy store's ticket was held up");
        assert_eq!(ticket.number, format!("#{}", order_number(*order_id)));
    }
    // Meanwhile the dead printer's first ticket has been tried and failed
    // several times; none of that store's tickets is lost or skipped.
    let db = env.db().await;
    eventually("failed attempts at the dead printer", || async {
        let row = db
            .query_one(
                "select coalesce(max(attempts), 0), count(*) from bridge_tickets
                 where store_id = $1 and state = 'pending'",
                &[&DOWN],
            )
            .await
            .unwrap();
        let (attempts, pending): (i32, i64) = (row.get(0), row.get(1));
        (attempts >= 3 && pending == 4).then_some(())
    })
    .await;

    // The printer comes back on its address: everything prints, in order.
    let mut down_printer = TestPrinter::on(TcpListener::bind(down_addr).await.unwrap());
    for order_id in &down_orders {
        let ticket = down_printer.next().await;
        assert_eq!(ticket.number, format!("#{}", order_number(*order_id)));
        assert!(ticket.cut);
    }
    assert!(up_printer.try_next().is_none(), "nothing printed twice");
    bridge.stop().await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_depth_grows_while_a_dead_printer_holds_its_first_ticket() {
    let env = spawn_env().await;
    env.open_store(PILING_UP).await;
    let dead = dead_address().await;
    let settings = env.settings(vec![(
        PILING_UP,
        store_settings(PILING_UP, &[dead.to_string()], &[], 0, false),
    )]);
    let bridge = env.start_bridge(settings).await;

    env.place(PILING_UP, None).await;
    // The sink read its queue (one ticket) and is retrying that ticket.
    let db = env.db().await;
    eventually("a failed attempt at the dead printer", || async {
        let row = db
            .query_one(
                "select coalesce(max(attempts), 0) from bridge_tickets where store_id = $1",
                &[&PILING_UP],
            )
            .await
            .unwrap();
        (row.get::<_, i32>(0) >= 1).then_some(())
    })
    .await;
    for _ in 0..3 {
        env.place(PILING_UP, None).await;
    }
    // Still on that first ticket, the sink shows the other three behind it.
    eventually("the gauge showing four tickets waiting", || async {
        (queue_depth(&env, &bridge.url, PILING_UP).await == Some(4.0)).then_some(())
    })
    .await;
    bridge.stop().await;
    env.stop().await;
}
