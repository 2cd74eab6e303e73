//! A realistic history for the catch-up benchmark, decided by the domain
//! itself: a few stores are configured and given a menu, then customers place
//! orders and the kitchens move each one through accepted, in preparation,
//! ready and completed (with its capture), many orders in flight at once and
//! interleaved, under a fake clock. Each event comes out as the record
//! command-api would write: the wire envelope, keyed by store id, in the
//! partition `schemas::partition_for` gives.

use anyhow::{Context, anyhow};
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc, Weekday};
use domain::{
    Action, Actor, Authorization, Cart, CartLine, CatalogId, Category, Change, Command, Currency,
    CustomerId, Menu, MenuItem, ModifierGroup, ModifierOption, Money, OpeningHours, OrderCommand,
    OrderId, OrderLimits, PaymentId, PickupSettings, Store, StoreCommand, StoreId, StoreProfile,
    WeeklyHours,
};
use schemas::Provenance;
use uuid::Uuid;

/// One record to produce.
#[derive(Debug)]
pub struct Record<'a> {
    pub topic: &'a str,
    pub key: &'a str,
    pub partition: i32,
    pub event_type: &'static str,
    pub payload: Vec<u8>,
}

/// Where the records go.
#[derive(Debug, Clone)]
pub struct Topics {
    pub stores: String,
    pub orders: String,
    pub partitions: i32,
}

/// The most orders a store has in flight at once.
const MAX_IN_FLIGHT: usize = 40;

/// Where an order in flight stands: the next command its kitchen sends.
#[derive(Debug, Clone, Copy)]
enum Next {
    Accept,
    Start,
    Ready,
    Complete,
}

#[derive(Debug)]
struct Sim {
    store: Store,
    partition: i32,
    in_flight: Vec<(OrderId, Next)>,
}

/// What a history held.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub events: u64,
    pub orders: u64,
    pub stores: u64,
}

fn id(s: &str) -> anyhow::Result<CatalogId> {
    CatalogId::parse(s).with_context(|| format!("catalog id {s}"))
}

fn profile(n: usize, usd: Currency) -> anyhow::Result<StoreProfile> {
    let all_day = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .map(|day| OpeningHours {
        day,
        open: NaiveTime::MIN,
        close: NaiveTime::MIN,
    })
    .collect();
    Ok(StoreProfile {
        name: format!("Catch-up Store {n}"),
        timezone: timezone_of(n)?,
        currency: usd,
        tax_rate_bps: 825,
        hours: WeeklyHours::new(all_day).map_err(|e| anyhow!("{e}"))?,
        pickup: PickupSettings {
            slot_minutes: 15,
            lead_minutes: 10,
            max_orders_per_slot: 10_000_000,
            max_days_ahead: 7,
        },
        limits: OrderLimits::defaults(usd),
    })
}

/// Stores in a few US time zones, so hourly sales fall in different local hours.
fn timezone_of(n: usize) -> anyhow::Result<chrono_tz::Tz> {
    let zones = [
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
    ];
    zones[n % zones.len()]
        .parse()
        .map_err(|e| anyhow!("time zone: {e}"))
}

fn menu(usd: Currency) -> anyhow::Result<Menu> {
    let money = |amount| Money::new(amount, usd);
    let option = |i: &str, name: &str, delta| -> anyhow::Result<ModifierOption> {
        Ok(ModifierOption {
            id: id(i)?,
            name: name.into(),
            price_delta: money(delta),
        })
    };
    let item = |i: &str, name: &str, price, groups| -> anyhow::Result<MenuItem> {
        Ok(MenuItem {
            id: id(i)?,
            name: name.into(),
            price: money(price),
            modifier_groups: groups,
        })
    };
    let cheese = ModifierGroup {
        id: id("cheese")?,
        name: "Cheese".into(),
        min: 0,
        max: 1,
        options: vec![
            option("cheddar", "Cheddar", 100)?,
            option("swiss", "Swiss", 120)?,
        ],
    };
    let size = ModifierGroup {
        id: id("size")?,
        name: "Size".into(),
        min: 1,
        max: 1,
        options: vec![option("small", "Small", 0)?, option("large", "Large", 80)?],
    };
    Ok(Menu {
        categories: vec![
            Category {
                id: id("burgers")?,
                name: "Burgers".into(),
                items: vec![
                    item("classic", "Classic Burger", 899, vec![cheese])?,
                    item("double", "Double Burger", 1249, vec![])?,
                    item("veggie", "Veggie Burger", 949, vec![])?,
                ],
            },
            Category {
                id: id("sides")?,
                name: "Sides".into(),
                items: vec![
                    item("fries", "Fries", 349, vec![])?,
                    item("rings", "Onion Rings", 399, vec![])?,
                ],
            },
            Category {
                id: id("drinks")?,
                name: "Drinks".into(),
                items: vec![item("cola", "Cola", 199, vec![size])?],
            },
        ],
    })
}

/// One to four lines a customer might order.
fn cart(rng: &mut fastrand::Rng) -> anyhow::Result<Cart> {
    let mut lines = Vec::new();
    for _ in 0..rng.usize(1..=4) {
        let (item, quantity, modifiers, note) = match rng.usize(0..6) {
            0 => (
                "classic",
                rng.u32(1..=3),
                if rng.bool() { vec!["cheddar"] } else { vec![] },
                None,
            ),
            1 => ("double", 1, vec![], None),
            2 => ("veggie", 1, vec![], Some("no onions".to_owned())),
            3 => ("fries", rng.u32(1..=2), vec![], None),
            4 => ("rings", 1, vec![], None),
            _ => (
                "cola",
                1,
                vec![if rng.bool() { "small" } else { "large" }],
                None,
            ),
        };
        lines.push(CartLine {
            item_id: id(item)?,
            quantity,
            modifiers: modifiers.into_iter().map(id).collect::<Result<_, _>>()?,
            note,
        });
    }
    Ok(Cart {
        lines,
        tip: None,
        pickup_at: None,
    })
}

/// The fake clock's start: a Monday.
fn epoch() -> anyhow::Result<DateTime<Utc>> {
    Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0)
        .single()
        .context("the history's start")
}

/// Writes at least `events` events of `stores` stores through `emit`, ending
/// every order it placed. The history is the same for the same `seed`, but
/// for the ids (UUID v7, as command-api makes them).
pub fn write(
    topics: &Topics,
    stores: usize,
    events: u64,
    seed: u64,
    mut emit: impl FnMut(Record<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<Written> {
    let usd = Currency::parse("USD").map_err(|e| anyhow!("{e}"))?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut now = epoch()?;
    let mut written = Written::default();
    let mut sims = Vec::with_capacity(stores);
    let menu = menu(usd)?;
    for n in 0..stores {
        let id = StoreId::parse(&format!("catchup-{n}"))?;
        let partition = schemas::partition_for(id.as_str(), topics.partitions);
        let mut sim = Sim {
            store: Store::new(id),
            partition,
            in_flight: Vec::new(),
        };
        for action in [
            Action::Store(StoreCommand::Configure(profile(n, usd)?)),
            Action::Store(StoreCommand::PublishMenu(menu.clone())),
        ] {
            decide(
                &mut sim,
                Actor::Admin,
                now,
                action,
                topics,
                &mut emit,
                &mut written,
            )?;
        }
        sims.push(sim);
    }
    written.stores = stores as u64;
    let mut steps = 0u64;
    loop {
        let draining = written.events >= events;
        if draining && sims.iter().all(|s| s.in_flight.is_empty()) {
            break;
        }
        // About one step every 120 ms: a million events span a day.
        now += Duration::milliseconds(rng.i64(1..240));
        steps += 1;
        let sim = &mut sims[rng.usize(0..stores)];
        let in_flight = sim.in_flight.len();
        let place =
            !draining && (in_flight < 2 || (in_flight < MAX_IN_FLIGHT && rng.u32(0..100) < 30));
        if place {
            let mut cart = cart(&mut rng)?;
            cart.tip = Some(Money::new(rng.i64(0..300), usd));
            let quote = sim.store.quote(&cart, now).context("quoting a cart")?;
            let order_id = OrderId(Uuid::now_v7());
            let payment_id = PaymentId(Uuid::now_v7());
            let customer = CustomerId::parse(&format!("catchup-customer-{}", rng.u32(0..20_000)))?;
            let action = Action::Order {
                order_id,
                command: OrderCommand::Place {
                    cart,
                    payment: Authorization {
                        payment_id,
                        amount: quote.totals.total,
                        reference: format!("sandbox_auth_{}", payment_id.0.simple()),
                    },
                },
            };
            decide(
                sim,
                Actor::Customer(customer),
                now,
                action,
                topics,
                &mut emit,
                &mut written,
            )?;
            sim.in_flight.push((order_id, Next::Accept));
            written.orders += 1;
        } else if in_flight > 0 {
            let at = rng.usize(0..in_flight);
            let (order_id, next) = sim.in_flight[at];
            let (action, then) = match next {
                Next::Accept => (
                    Action::Order {
                        order_id,
                        command: OrderCommand::Accept {
                            ready_at: Some(now + Duration::minutes(12)),
                        },
                    },
                    Some(Next::Start),
                ),
                Next::Start => (
                    Action::Order {
                        order_id,
                        command: OrderCommand::Start,
                    },
                    Some(Next::Ready),
                ),
                Next::Ready => (
                    Action::Order {
                        order_id,
                        command: OrderCommand::MarkReady,
                    },
                    Some(Next::Complete),
                ),
                Next::Complete => (
                    Action::Order {
                        order_id,
                        command: OrderCommand::Complete,
                    },
                    None,
                ),
            };
            decide(
                sim,
                Actor::Staff,
                now,
                action,
                topics,
                &mut emit,
                &mut written,
            )?;
            match then {
                Some(then) => sim.in_flight[at].1 = then,
                None => {
                    sim.in_flight.swap_remove(at);
                }
            }
        }
        // Ended orders need not stay in memory (nor does command-api keep them).
        if steps.is_multiple_of(10_000) {
            for sim in &mut sims {
                sim.store.forget_ended_before(now - Duration::minutes(30));
            }
        }
    }
    Ok(written)
}

/// Decides one command against the store, folds its events in, and emits them.
fn decide(
    sim: &mut Sim,
    actor: Actor,
    now: DateTime<Utc>,
    action: Action,
    topics: &Topics,
    emit: &mut impl FnMut(Record<'_>) -> anyhow::Result<()>,
    written: &mut Written,
) -> anyhow::Result<()> {
    let command = Command {
        store_id: sim.store.id.clone(),
        actor,
        now,
        idempotency: None,
        action,
    };
    let events = sim
        .store
        .decide(&command)
        .with_context(|| format!("deciding {:?}", command.action))?;
    let correlation = Uuid::now_v7().to_string();
    for event in &events {
        sim.store.apply(event);
        let (topic, version) = match &event.change {
            Change::Store(_) => (&topics.stores, sim.store.version),
            Change::Order { order_id, .. } => (
                &topics.orders,
                sim.store.orders.get(order_id).map_or(0, |o| o.version),
            ),
        };
        let provenance = Provenance {
            id: Uuid::now_v7(),
            source: "/loadgen".to_owned(),
            time: now,
            correlation_id: correlation.clone(),
            causation_id: correlation.clone(),
        };
        let wire = schemas::to_wire(event, version, provenance);
        emit(Record {
            topic,
            key: sim.store.id.as_str(),
            partition: sim.partition,
            event_type: wire.data.event_type(),
            payload: schemas::encode(&wire)?,
        })?;
        written.events += 1;
    }
    Ok(())
}
