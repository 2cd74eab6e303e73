//! Stores are isolated: one store's printer being down holds back only that
//! store's tickets, which all arrive, in order, once it is back.

use std::time::Duration;

use pos_bridge::order_number;
use tokio::net::TcpListener;

use crate::helpers::{eventually, spawn_env, store_settings};
use crate::printer::TestPrinter;

const DOWN: &str = "isolation-down";
const UP: &str = "isolation-up";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_printer_delays_only_its_own_store_and_loses_nothing() {
    let env = spawn_env().await;
    env.open_store(DOWN).await;
    env.open_store(UP).await;
    // A port with no printer behind it (yet): connections are refused.
    let reserved = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let down_addr = reserved.local_addr().unwrap();
    drop(reserved);
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
