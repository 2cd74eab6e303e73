//! Benchmark of the bridge: tickets per second to webhook sinks across many
//! stores, and the latency from an order's commit to its tickets at the sink.
//!
//! Runs command-api and the bridge in this process against the real Kafka and
//! Postgres (unique topics and database, removed afterwards), with one
//! in-process HTTP server standing in for every store's kitchen display (it
//! checks every signature). Two phases:
//!
//! 1. backlog: `--orders` orders are placed with the bridge stopped; then it
//!    starts, and the time until every ticket reached its display gives
//!    tickets per second (each order makes two display tickets: the order,
//!    and the kitchen ticket fired at once).
//! 2. live: orders are placed at `--rate` per second for `--seconds`; each
//!    ticket's latency is measured from the moment command-api answered 201
//!    (the order was committed by then) to its arrival at the display.
//!
//! `cargo run --release -p pos-bridge --example bench -- --stores 100`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use clap::Parser;
use hdrhistogram::Histogram;
use pos_bridge::signing::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use serde_json::{Value, json};
use test_system::fixtures::{KDS_SECRET, Order, StoreProfile};
use test_system::{Service, System, store_settings};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 100)]
    stores: usize,
    /// Orders placed before the bridge starts (phase 1).
    #[arg(long, default_value_t = 5000)]
    orders: usize,
    /// Orders per second in phase 2.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Concurrent clients placing orders.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    #[arg(long, env = "QSR_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    brokers: String,
    #[arg(
        long,
        env = "QSR_TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:55432/qsr"
    )]
    database_url: String,
}

/// A ticket at the display: order id, kind, arrival.
type Arrival = (String, String, Instant);

async fn sink(
    State(tx): State<mpsc::UnboundedSender<Arrival>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if verify(
        &[KDS_SECRET],
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        now,
        60,
    )
    .is_err()
    {
        return StatusCode::UNAUTHORIZED;
    }
    let ticket: Value = serde_json::from_slice(&body).unwrap();
    let _ = tx.send((
        ticket["order_id"].as_str().unwrap().to_owned(),
        ticket["kind"].as_str().unwrap().to_owned(),
        at,
    ));
    StatusCode::OK
}

/// Places one order; answers its id and when the 201 came back.
async fn place(
    http: &reqwest::Client,
    api: &str,
    customer: &str,
    store: &str,
) -> (String, Instant) {
    let body = Order {
        lines: json!([{"item_id": "classic", "quantity": 1, "modifiers": ["cheddar"]}]),
        ..Order::at(store)
    }
    .body();
    loop {
        let response = http
            .post(format!("{api}/v1/orders"))
            .bearer_auth(customer)
            .json(&body)
            .send()
            .await
            .unwrap();
        let at = Instant::now();
        if response.status() == 201 {
            let v: Value = response.json().await.unwrap();
            return (v["order_id"].as_str().unwrap().to_owned(), at);
        }
        let status = response.status();
        assert!(
            status == 503,
            "placing: {status} {}",
            response.text().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn percentiles(h: &Histogram<u64>) -> String {
    format!(
        "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms (n = {})",
        h.value_at_quantile(0.50) as f64 / 1000.0,
        h.value_at_quantile(0.90) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0,
        h.len()
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let system = System::builder()
        .prefix("bridge-bench")
        .servers_at(&args.brokers, &args.database_url)
        .partitions(6)
        .db_pool_size(32)
        .only([Service::CommandApi])
        .command_api_config(|config| {
            config.batch_max = 256;
            config.gateway_timeout_ms = 1000;
        })
        .start()
        .await?;
    let (http, api) = (system.http.clone(), system.command_api());

    let (tx, mut arrivals) = mpsc::unbounded_channel();
    let sink_listener = TcpListener::bind("127.0.0.1:0").await?;
    let sink_base = format!("http://{}", sink_listener.local_addr()?);
    let app = Router::new()
        .route("/kds/{store}", post(sink))
        .with_state(tx);
    tokio::spawn(async move { axum::serve(sink_listener, app).await });

    // One customer places every order of the bench.
    let customer = system.tokens.customer.clone();
    let stores: Vec<String> = (0..args.stores).map(|i| format!("bench-{i:03}")).collect();
    for store in &stores {
        let profile = StoreProfile {
            slot_minutes: 1,
            lead_minutes: 0,
            max_orders_per_slot: 100_000,
            ..StoreProfile::named(store.as_str())
        };
        system.open_store(store, &profile.body()).await;
    }
    let mut settings = system.bridge_settings(
        stores
            .iter()
            .map(|s| {
                let kds = format!("{sink_base}/kds/{s}");
                (s.as_str(), store_settings(s, &[], &[kds], 10, false))
            })
            .collect(),
    );
    settings.max_attempts = 20;
    settings.backoff_max_ms = 1000;

    // Phase 1: a backlog of orders, then the bridge starts.
    let started = Instant::now();
    let next = Arc::new(Mutex::new(0usize));
    let mut clients = Vec::new();
    for _ in 0..args.clients {
        let (http, api, customer, stores, next, total) = (
            http.clone(),
            api.clone(),
            customer.clone(),
            stores.clone(),
            next.clone(),
            args.orders,
        );
        clients.push(tokio::spawn(async move {
            loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    if *n >= total {
                        return;
                    }
                    *n += 1;
                    *n
                };
                place(&http, &api, &customer, &stores[i % stores.len()]).await;
            }
        }));
    }
    for c in clients {
        c.await?;
    }
    println!(
        "placed {} orders for {} stores in {:.1} s",
        args.orders,
        args.stores,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let bridge = system.start_bridge(settings).await?;
    let expected = args.orders * 2;
    let mut first = None;
    for _ in 0..expected {
        let (_, _, at) = tokio::time::timeout(Duration::from_secs(120), arrivals.recv())
            .await?
            .unwrap();
        first.get_or_insert(at);
    }
    let total = started.elapsed().as_secs_f64();
    let draining = first.map_or(total, |f| f.elapsed().as_secs_f64());
    println!(
        "phase 1 (backlog): {expected} tickets to {} webhook sinks in {total:.2} s from the bridge's start \
         = {:.0} tickets/s ({:.0} tickets/s from the first ticket on)",
        args.stores,
        expected as f64 / total,
        expected as f64 / draining
    );

    // Phase 2: live orders at a fixed rate.
    let placed: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let count = (args.rate * args.seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let mut ticker = tokio::time::interval(interval);
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        ticker.tick().await;
        let (http, api, customer, store, placed) = (
            http.clone(),
            api.clone(),
            customer.clone(),
            stores[i % stores.len()].clone(),
            placed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let (id, at) = place(&http, &api, &customer, &store).await;
            placed.lock().unwrap().insert(id, at);
        }));
    }
    for t in tasks {
        t.await?;
    }
    let mut latency = Histogram::<u64>::new(3)?;
    let mut seen = 0;
    let mut early = Vec::new();
    while seen < count * 2 {
        let (order_id, _kind, at) = tokio::time::timeout(Duration::from_secs(60), arrivals.recv())
            .await?
            .unwrap();
        seen += 1;
        early.push((order_id, at));
    }
    let placed = std::mem::take(&mut *placed.lock().unwrap());
    for (order_id, at) in early {
        let committed = placed[&order_id];
        latency.record(at.saturating_duration_since(committed).as_micros() as u64)?;
    }
    println!(
        "phase 2 (live, {} orders/s for {} s across {} stores): commit -> webhook sink {}",
        args.rate,
        args.seconds,
        args.stores,
        percentiles(&latency)
    );

    bridge.stop().await?;
    system.stop().await
}
