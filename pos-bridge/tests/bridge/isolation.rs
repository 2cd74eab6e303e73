//! Stores are isolated: one store's printer being down (refusing connections,
//! or never answering them, so that only the bridge's printer timeout ends an
//! attempt) holds back only that store's tickets, which all arrive, in order,
//! once it is back. Meanwhile the queue-depth gauge shows them piling up.

use std::time::Duration;

use pos_bridge::order_number;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::helpers::{System, eventually, place, spawn_env, store_profile, store_settings};
use crate::printer::TestPrinter;

const DOWN: &str = "isolation-down";
const UP: &str = "isolation-up";
const PILING_UP: &str = "isolation-piling-up";
const HUNG: &str = "isolation-hung";
const FINE: &str = "isolation-fine";

/// An address with no printer behind it (yet): connections are refused.
async fn dead_address() -> std::net::SocketAddr {
    let reserved = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    addr
}

/// A printer that never answers: its accept queue is full (one connection
/// the test opened and nobody accepted), so the kernel drops each new SYN and
/// a connect hangs until the bridge's printer timeout ends it. (A printer
/// that accepts and then never reads would not do: a ticket fits in the
/// socket buffers, so the write succeeds and raw TCP counts it delivered.)
/// Keep the returned connection open for as long as the hole should last.
async fn black_hole() -> (TcpListener, TcpStream) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let filler = TcpStream::connect(addr).await.unwrap();
    let probe = tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(addr)).await;
    assert!(probe.is_err(), "the black hole answered a connection");
    (listener, filler)
}

/// The store's `qsr_bridge_queue_depth` on the bridge's `/metrics`.
async fn queue_depth(env: &System, bridge: &str, store_id: &str) -> Option<f64> {
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
    env.open_store(DOWN, &store_profile(DOWN)).await;
    env.open_store(UP, &store_profile(UP)).await;
    let down_addr = dead_address().await;
    let mut up_printer = TestPrinter::start().await;
    let settings = env.bridge_settings(vec![
        (
            DOWN,
            store_settings(DOWN, &[down_addr.to_string()], &[], 0, false),
        ),
        (
            UP,
            store_settings(UP, &[up_printer.addr.to_string()], &[], 0, false),
        ),
    ]);
    let bridge = env.start_bridge(settings).await.unwrap();

    let mut down_orders = Vec::new();
    let mut up_orders = Vec::new();
    for _ in 0..4 {
        down_orders.push(place(&env, DOWN, None).await);
        up_orders.push(place(&env, UP, None).await);
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
    bridge.stop().await.unwrap();
    env.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_that_never_answers_times_out_and_delays_only_its_own_store() {
    let env = spawn_env().await;
    env.open_store(HUNG, &store_profile(HUNG)).await;
    env.open_store(FINE, &store_profile(FINE)).await;
    let (hole, filler) = black_hole().await;
    let hung_addr = hole.local_addr().unwrap();
    let mut fine_printer = TestPrinter::start().await;
    let mut settings = env.bridge_settings(vec![
        (
            HUNG,
            store_settings(HUNG, &[hung_addr.to_string()], &[], 0, false),
        ),
        (
            FINE,
            store_settings(FINE, &[fine_printer.addr.to_string()], &[], 0, false),
        ),
    ]);
    // Short, so that several timed-out attempts fit in the test.
    settings.printer_timeout_ms = 300;
    let bridge = env.start_bridge(settings).await.unwrap();

    let mut hung_orders = Vec::new();
    let mut fine_orders = Vec::new();
    for _ in 0..4 {
        hung_orders.push(place(&env, HUNG, None).await);
        fine_orders.push(place(&env, FINE, None).await);
    }
    // The other store's tickets arrive at once, in order, while every
    // attempt at the hung printer waits out its timeout.
    for order_id in &fine_orders {
        let ticket = fine_printer
            .next_within(Duration::from_secs(10))
            .await
            .expect("the healthy store's ticket was held up");
        assert_eq!(ticket.number, format!("#{}", order_number(*order_id)));
    }
    // The attempts at the hung printer end by the timeout, not by hanging on,
    // and are recorded as such; none of that store's tickets is skipped.
    let db = env.db().await;
    let error = eventually("attempts at the hung printer timing out", || async {
        let row = db
            .query_one(
                "select coalesce(max(attempts), 0), count(*), max(last_error) from bridge_tickets
                 where store_id = $1 and state = 'pending'",
                &[&HUNG],
            )
            .await
            .unwrap();
        let (attempts, pending, error): (i32, i64, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        (attempts >= 2 && pending == 4).then_some(error)
    })
    .await;
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("connecting timed out")),
        "the failed attempts do not say they timed out: {error:?}"
    );

    // The printer answers again on its address: everything prints, in order.
    drop(filler);
    drop(hole);
    let mut hung_printer = TestPrinter::on(TcpListener::bind(hung_addr).await.unwrap());
    for order_id in &hung_orders {
        let ticket = hung_printer.next().await;
        assert_eq!(ticket.number, format!("#{}", order_number(*order_id)));
        assert!(ticket.cut);
    }
    assert!(fine_printer.try_next().is_none(), "nothing printed twice");
    assert!(hung_printer.try_next().is_none(), "nothing printed twice");
    bridge.stop().await.unwrap();
    env.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_depth_grows_while_a_dead_printer_holds_its_first_ticket() {
    let env = spawn_env().await;
    env.open_store(PILING_UP, &store_profile(PILING_UP)).await;
    let dead = dead_address().await;
    let settings = env.bridge_settings(vec![(
        PILING_UP,
        store_settings(PILING_UP, &[dead.to_string()], &[], 0, false),
    )]);
    let bridge = env.start_bridge(settings).await.unwrap();

    place(&env, PILING_UP, None).await;
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
        place(&env, PILING_UP, None).await;
    }
    // Still on that first ticket, the sink shows the other three behind it.
    eventually("the gauge showing four tickets waiting", || async {
        (queue_depth(&env, &bridge.url, PILING_UP).await == Some(4.0)).then_some(())
    })
    .await;
    bridge.stop().await.unwrap();
    env.stop().await.unwrap();
}
