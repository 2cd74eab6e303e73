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

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use clap::Parser;
use hdrhistogram::Histogram;
use platform::{AuthArgs, Claims, DEVELOPMENT_SECRET, JwtKeys, KafkaArgs, PostgresArgs, Role};
use pos_bridge::signing::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use pos_bridge::{KdsSettings, Secret, Settings, StoreSettings};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "bench-kds-secret-0123456789";

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
        &[SECRET],
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

fn token(role: Role, sub: &str) -> String {
    JwtKeys::new(DEVELOPMENT_SECRET)
        .mint(&Claims {
            sub: sub.into(),
            role,
            stores: vec![],
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .unwrap()
}

fn with_database(url: &str, name: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    match url[scheme_end..].rfind('/') {
        Some(slash) => format!("{}/{name}", &url[..scheme_end + slash]),
        None => format!("{url}/{name}"),
    }
}

/// Places one order; answers its id and when the 201 came back.
async fn place(
    http: &reqwest::Client,
    api: &str,
    customer: &str,
    store: &str,
) -> (String, Instant) {
    let body = json!({
        "store_id": store,
        "fulfillment": {"type": "pickup", "pickup_at": null},
        "lines": [{"item_id": "classic", "quantity": 1, "modifiers": ["cheddar"]}],
        "payment": {"token": "tok_visa"}
    });
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
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let database = format!("qsr_bridge_bench_{suffix}");
    let (admin_db, connection) =
        tokio_postgres::connect(&args.database_url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    admin_db
        .execute(&format!("create database {database}"), &[])
        .await?;
    let kafka = KafkaArgs {
        brokers: args.brokers.clone(),
        stores_topic: format!("bridge-bench.{suffix}.stores"),
        orders_topic: format!("bridge-bench.{suffix}.orders"),
        partitions: 6,
        replication: 1,
    };
    let postgres = PostgresArgs::new(with_database(&args.database_url, &database), 32);
    let cancel = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let api = format!("http://{}", listener.local_addr()?);
    let command = tokio::spawn(command_api::run(
        command_api::Config {
            addr: listener.local_addr()?,
            kafka: kafka.clone(),
            group: format!("bench-{suffix}-command-api"),
            transactional_id_prefix: format!("bench-{suffix}"),
            auth: AuthArgs {
                jwt_secret: DEVELOPMENT_SECRET.into(),
            },
            batch_max: 256,
            transaction_timeout_ms: 10_000,
            ended_order_retention_secs: 86_400,
            gateway_timeout_ms: 1000,
            http: platform::HttpLimits::default(),
            // One customer places every order of the bench.
            limits: command_api::Limits {
                placements_per_minute: 1_000_000,
                placement_burst: 1_000_000,
                ..command_api::Limits::default()
            },
        },
        listener,
        cancel.clone().cancelled_owned(),
    ));
    let http = reqwest::Client::new();
    while !http
        .get(format!("{api}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (tx, mut arrivals) = mpsc::unbounded_channel();
    let sink_listener = TcpListener::bind("127.0.0.1:0").await?;
    let sink_base = format!("http://{}", sink_listener.local_addr()?);
    let app = Router::new()
        .route("/kds/{store}", post(sink))
        .with_state(tx);
    tokio::spawn(async move { axum::serve(sink_listener, app).await });

    let admin = token(Role::Admin, "bench-admin");
    let customer = token(Role::Customer, "bench-customer");
    let stores: Vec<String> = (0..args.stores).map(|i| format!("bench-{i:03}")).collect();
    let hours = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .map(|day| json!({"day": day, "open": "00:00", "close": "00:00"}));
    let usd = |amount: i64| json!({"amount": amount, "currency": "USD"});
    let menu = json!({"categories": [{"id": "burgers", "name": "Burgers", "items": [{
        "id": "classic", "name": "Classic Burger", "price": usd(899),
        "modifier_groups": [{"id": "cheese", "name": "Cheese", "min": 0, "max": 1, "options": [
            {"id": "cheddar", "name": "Cheddar", "price_delta": usd(100)}]}]}]}]});
    for store in &stores {
        let profile = json!({"name": store, "timezone": "America/New_York", "currency": "USD",
            "tax_rate_bps": 875, "hours": hours,
            "pickup": {"slot_minutes": 1, "lead_minutes": 0, "max_orders_per_slot": 100000, "max_days_ahead": 7}});
        for (path, body) in [
            (format!("/v1/stores/{store}"), &profile),
            (format!("/v1/stores/{store}/menu"), &menu),
        ] {
            let r = http
                .put(format!("{api}{path}"))
                .bearer_auth(&admin)
                .json(body)
                .send()
                .await?;
            assert!(r.status().is_success(), "{path}: {}", r.status());
        }
    }
    let settings = Settings {
        command_api_url: api.clone(),
        dead_letter_topic: format!("bridge-bench.{suffix}.dead-letter"),
        max_attempts: 20,
        backoff_initial_ms: 50,
        backoff_max_ms: 1000,
        printer_timeout_ms: 2000,
        webhook_timeout_ms: 5000,
        signature_tolerance_secs: 300,
        retention_days: 30,
        stores: stores
            .iter()
            .map(|s| {
                (
                    s.clone(),
                    StoreSettings {
                        timezone: None,
                        prep_minutes: 10,
                        auto_accept: false,
                        pos_token: None,
                        feedback_secret: None,
                        printers: vec![],
                        kds: vec![KdsSettings {
                            url: format!("{sink_base}/kds/{s}"),
                            secret: Secret::new(SECRET),
                        }],
                    },
                )
            })
            .collect::<BTreeMap<_, _>>(),
    };

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
    let bridge_listener = TcpListener::bind("127.0.0.1:0").await?;
    let bridge_config = pos_bridge::Config {
        addr: bridge_listener.local_addr()?,
        kafka: kafka.clone(),
        postgres: postgres.clone(),
        group: format!("bench-{suffix}-bridge"),
        instance_id: None,
        settings_file: "unused.toml".into(),
        http: platform::HttpLimits::default(),
    };
    let started = Instant::now();
    let bridge = tokio::spawn(pos_bridge::run(
        bridge_config,
        settings,
        bridge_listener,
        cancel.clone().cancelled_owned(),
    ));
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

    cancel.cancel();
    bridge.await??;
    command.await??;
    admin_db
        .execute(
            &format!("drop database if exists {database} with (force)"),
            &[],
        )
        .await?;
    let admin_client: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
        kafka.client_config().create()?;
    let dead_letter = format!("bridge-bench.{suffix}.dead-letter");
    admin_client
        .delete_topics(
            &[&kafka.stores_topic, &kafka.orders_topic, &dead_letter],
            &rdkafka::admin::AdminOptions::new(),
        )
        .await?;
    Ok(())
}
