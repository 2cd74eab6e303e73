//! Placing orders through command-api: the stores and menu the load needs,
//! realistic carts, and the clients that send them flat out or on a schedule.
//!
//! At a fixed rate each client sends on a schedule and latency counts from
//! when a request was due, so a slow server cannot hide its queueing
//! (coordinated omission).
//!
//! The tokens come from the identity service: the admin logs in, and each
//! client registers a customer of its own at the start and places every
//! order as that customer. command-api limits one customer's placements (10
//! a minute by default), so the stack under test must raise that limit
//! (`QSR_PLACEMENTS_PER_MINUTE`, `QSR_PLACEMENT_BURST`); the report says so
//! when it met `429`.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use testkit::fixtures::{Order, StoreProfile, usd};
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

use crate::identity::{Identity, IdentityArgs, register_customers};

/// Who places the orders, and where: shared by `place` and `lag`.
#[derive(Debug, Clone, clap::Args)]
pub struct Load {
    /// Stores to create and spread the orders over.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub stores: u32,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub clients: u32,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Prefix of the benchmark's store ids.
    #[arg(long, default_value = "bench")]
    pub store_prefix: String,
    #[command(flatten)]
    pub identity: IdentityArgs,
}

/// How many registrations are sent to identity at once.
const REGISTERING_AT_ONCE: usize = 8;

/// The longest run: identity's access tokens live 15 minutes, and the
/// clients do not refresh theirs.
const LONGEST_RUN_SECS: u64 = 14 * 60;

/// `loadgen place` (also what `loadgen` runs without a subcommand).
#[derive(Debug, Clone, clap::Args)]
pub struct PlaceArgs {
    #[command(flatten)]
    pub load: Load,
    /// Orders per second over all clients; 0 sends flat out.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Seconds measured.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
}

/// An order command-api accepted: the moment its `201` arrived.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    pub order_id: Uuid,
    pub answered: Instant,
    /// Whether it was due in the measured window (not the warm-up).
    pub measured: bool,
}

/// What the clients saw.
#[derive(Debug)]
pub struct Tally {
    pub latency_us: Histogram<u64>,
    pub placed: u64,
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> anyhow::Result<Tally> {
        Ok(Tally {
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            placed: 0,
            errors: BTreeMap::new(),
        })
    }

    fn merge(&mut self, other: Tally) -> anyhow::Result<()> {
        self.latency_us.add(other.latency_us)?;
        self.placed += other.placed;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        Ok(())
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The latency at quantile `q`, in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.latency_us.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.latency_us.max() as f64 / 1000.0
    }
}

/// What to tell the operator when command-api limited the placements.
pub fn rate_limit_hint(tally: &Tally) -> Option<String> {
    let limited = tally.errors.get("429").copied().unwrap_or(0);
    (limited > 0).then(|| {
        format!(
            "command-api answered 429 rate_limited {limited} times: each client places every \
             order as its one customer, and command-api limits one customer's placements; \
             raise the limit on the stack under test (QSR_PLACEMENTS_PER_MINUTE and \
             QSR_PLACEMENT_BURST of command-api, e.g. 1000000 each)"
        )
    })
}

fn menu() -> Value {
    let item = |id: &str, name: &str, price, groups: Value| json!({"id": id, "name": name, "price": usd(price), "modifier_groups": groups});
    let option =
        |id: &str, name: &str, delta| json!({"id": id, "name": name, "price_delta": usd(delta)});
    json!({"categories": [
        {"id": "burgers", "name": "Burgers", "items": [
            item("classic", "Classic Burger", 899, json!([{"id": "cheese", "name": "Cheese", "min": 0, "max": 1,
                "options": [option("cheddar", "Cheddar", 100), option("swiss", "Swiss", 120)]}])),
            item("double", "Double Burger", 1249, json!([])),
            item("veggie", "Veggie Burger", 949, json!([]))
        ]},
        {"id": "sides", "name": "Sides", "items": [
            item("fries", "Fries", 349, json!([])),
            item("rings", "Onion Rings", 399, json!([]))
        ]},
        {"id": "drinks", "name": "Drinks", "items": [
            item("cola", "Cola", 199, json!([{"id": "size", "name": "Size", "min": 1, "max": 1,
                "options": [option("small", "Small", 0), option("large", "Large", 80)]}]))
        ]}
    ]})
}

/// One to four lines a customer might order; the server assigns the order's id.
fn cart(rng: &mut fastrand::Rng, store: &str) -> Value {
    let mut lines = Vec::new();
    for _ in 0..rng.usize(1..=4) {
        let line = match rng.usize(0..6) {
            0 => {
                json!({"item_id": "classic", "quantity": rng.u32(1..=3), "modifiers": if rng.bool() { json!(["cheddar"]) } else { json!([]) }})
            }
            1 => json!({"item_id": "double", "quantity": 1, "modifiers": []}),
            2 => json!({"item_id": "veggie", "quantity": 1, "modifiers": [], "note": "no onions"}),
            3 => json!({"item_id": "fries", "quantity": rng.u32(1..=2), "modifiers": []}),
            4 => json!({"item_id": "rings", "quantity": 1, "modifiers": []}),
            _ => {
                json!({"item_id": "cola", "quantity": 1, "modifiers": [if rng.bool() { "small" } else { "large" }]})
            }
        };
        lines.push(line);
    }
    Order {
        lines: Value::Array(lines),
        tip: Some(rng.i64(0..300)),
        ..Order::at(store)
    }
    .body()
}

/// Creates (or re-configures) the benchmark's stores, open all day and with
/// room for any number of orders per slot, and publishes their menu.
async fn setup(
    http: &reqwest::Client,
    url: &str,
    load: &Load,
    admin: &str,
) -> anyhow::Result<Vec<String>> {
    let profile = |n: u32| {
        StoreProfile {
            timezone: "America/Chicago".into(),
            tax_rate_bps: 825,
            max_orders_per_slot: 10_000_000,
            ..StoreProfile::named(format!("Bench Store {n}"))
        }
        .body()
    };
    let mut stores = Vec::new();
    for n in 0..load.stores {
        let store = format!("{}-{n}", load.store_prefix);
        for (path, body) in [
            (format!("/v1/stores/{store}"), profile(n)),
            (format!("/v1/stores/{store}/menu"), menu()),
        ] {
            let response = http
                .put(format!("{url}{path}"))
                .bearer_auth(admin)
                .json(&body)
                .send()
                .await?;
            if !response.status().is_success() {
                bail!(
                    "{path}: {} {}",
                    response.status(),
                    response.text().await.unwrap_or_default()
                );
            }
        }
        stores.push(store);
    }
    Ok(stores)
}

/// Sets the stores up, then places orders with `load.clients` clients for
/// `warmup + duration` seconds, at `rate` orders/s (0: flat out). Each `201`
/// is also sent to `placed`, if given.
pub async fn drive(
    url: &str,
    load: &Load,
    rate: u64,
    duration: u64,
    placed: Option<mpsc::UnboundedSender<Placed>>,
) -> anyhow::Result<Tally> {
    if load.warmup + duration > LONGEST_RUN_SECS {
        bail!(
            "a run of at most {LONGEST_RUN_SECS} s (warm-up included): identity's access tokens \
             live 15 minutes and the clients do not refresh them"
        );
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(load.clients as usize)
        .build()?;
    let identity = Identity::new(http.clone(), &load.identity.identity_url);
    let admin = identity.admin(&load.identity).await?;
    let stores = setup(&http, url, load, &admin)
        .await
        .context("creating the stores")?;
    let customers = register_customers(&identity, load.clients, REGISTERING_AT_ONCE)
        .await
        .context("registering the clients' customers with identity")?;
    let start = Instant::now() + Duration::from_millis(200);
    let measured_from = start + Duration::from_secs(load.warmup);
    let end = measured_from + Duration::from_secs(duration);
    // At a fixed rate, client c sends at start + c/rate + k*clients/rate.
    let interval = (rate > 0).then(|| Duration::from_secs_f64(load.clients as f64 / rate as f64));
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..load.clients {
        let (http, url, stores, placed, customer) = (
            http.clone(),
            url.to_owned(),
            stores.clone(),
            placed.clone(),
            customers[c as usize].clone(),
        );
        let first = start
            + interval.map_or(Duration::ZERO, |i| {
                i.mul_f64(c as f64 / load.clients as f64)
            });
        clients.spawn(async move {
            let mut tally = Tally::new()?;
            let mut rng = fastrand::Rng::with_seed(c as u64 + 1);
            let mut due = first;
            loop {
                if interval.is_none() {
                    // Flat out: the next request is due as soon as the last answered.
                    due = Instant::now().max(first);
                }
                tokio::time::sleep_until(due).await;
                if due >= end {
                    return Ok::<Tally, anyhow::Error>(tally);
                }
                let store = &stores[rng.usize(0..stores.len())];
                let sent = http
                    .post(format!("{url}/v1/orders"))
                    .bearer_auth(&customer)
                    .json(&cart(&mut rng, store))
                    .send()
                    .await;
                // The order's id is in the answer: the server assigns it.
                let outcome: Result<Uuid, String> = match sent {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => r
                        .json::<Value>()
                        .await
                        .ok()
                        .and_then(|body| body["order_id"].as_str()?.parse().ok())
                        .ok_or_else(|| "201 without an order_id".to_owned()),
                    Ok(r) => Err(r.status().as_u16().to_string()),
                    Err(e) => Err(if e.is_timeout() {
                        "timeout".into()
                    } else {
                        "connection".into()
                    }),
                };
                let measured = due >= measured_from;
                if let Ok(order_id) = outcome
                    && let Some(placed) = &placed
                {
                    // The tracker outlives the clients; if it failed, its error is reported.
                    let _ = placed.send(Placed {
                        order_id,
                        answered: Instant::now(),
                        measured,
                    });
                }
                if measured {
                    let micros = u64::try_from(due.elapsed().as_micros())
                        .unwrap_or(u64::MAX)
                        .max(1);
                    tally.latency_us.saturating_record(micros);
                    match outcome {
                        Ok(_) => tally.placed += 1,
                        Err(error) => *tally.errors.entry(error).or_default() += 1,
                    }
                }
                if let Some(interval) = interval {
                    due += interval;
                }
            }
        });
    }
    let mut total = Tally::new()?;
    while let Some(tally) = clients.join_next().await {
        total.merge(tally??)?;
    }
    Ok(total)
}

/// `loadgen place`: prints throughput, latency percentiles and errors.
pub async fn run(url: &str, args: &PlaceArgs) -> anyhow::Result<()> {
    let total = drive(url, &args.load, args.rate, args.duration, None).await?;
    let rate = if args.rate == 0 {
        "flat out".to_owned()
    } else {
        format!("{} orders/s offered", args.rate)
    };
    println!(
        "loadgen: {} clients, {} stores, {rate}, {}s measured after {}s warm-up",
        args.load.clients, args.load.stores, args.duration, args.load.warmup
    );
    println!(
        "placed: {} orders, {:.0} orders/s",
        total.placed,
        total.placed as f64 / args.duration as f64
    );
    println!("errors: {} {:?}", total.error_count(), total.errors);
    println!(
        "latency ms: p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}",
        total.ms(0.50),
        total.ms(0.95),
        total.ms(0.99),
        total.max_ms()
    );
    if let Some(hint) = rate_limit_hint(&total) {
        println!("{hint}");
    }
    Ok(())
}
