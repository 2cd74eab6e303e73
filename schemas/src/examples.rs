//! A day at a store, decided by the domain and written as the log would hold
//! it: every event type at its current version, with fixed ids and times. It
//! feeds `EVENTS.md` and the contract tests. [`Scribe`] writes other logs the
//! same way, for tests and benchmarks that need one without running the
//! command API.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc, Weekday};
use domain::{
    Action, Actor, Authorization, Cart, CartLine, CatalogId, Category, Change, Command, Currency,
    CustomerId, DomainError, Idempotency, Menu, MenuItem, ModifierGroup, ModifierOption, Money,
    OpeningHours, OrderCommand, OrderId, OrderLimits, PaymentId, PickupSettings, RefundId, Store,
    StoreCommand, StoreId, StoreProfile, WeeklyHours,
};
use uuid::Uuid;

use crate::convert::{Provenance, to_wire};
use crate::envelope::Event;

/// A `qsr.order.placed.v1` record as the walking skeleton wrote it.
pub const LEGACY_ORDER_PLACED_V1: &str = r#"{"specversion":"1.0","id":"01a20bc1-357f-76ed-a5f7-e95420840a17","source":"/command-api","type":"qsr.order.placed.v1","subject":"01a20bc1-357f-76ed-a5f7-e952b83a54d1","time":"2026-11-24T04:12:21.247785415Z","datacontenttype":"application/json","storeid":"demo-downtown","aggversion":1,"correlationid":"01a20bc1-357f-76ed-a5f7-e952b83a54d0","causationid":"01a20bc1-357f-76ed-a5f7-e952b83a54d0","data":{"order_id":"01a20bc1-357f-76ed-a5f7-e952b83a54d1","store_id":"demo-downtown","lines":[{"item_id":"fries","name":"Fries","quantity":1,"modifiers":[],"unit_price":{"amount":349,"currency":"USD"},"total":{"amount":349,"currency":"USD"}}],"totals":{"subtotal":{"amount":349,"currency":"USD"},"tax":{"amount":31,"currency":"USD"},"tip":{"amount":0,"currency":"USD"},"total":{"amount":380,"currency":"USD"}},"pickup_at":"2026-11-24T04:30:00Z","asap":true,"placed_at":"2026-11-24T04:12:21.247Z"}}"#;

/// A `qsr.store.configured.v1` record as the code wrote it before stores had
/// order limits.
pub const LEGACY_STORE_CONFIGURED_V1: &str = r#"{"aggversion":1,"causationid":"0193a0c4-7b1e-7cc0-8f8e-000000000004","correlationid":"corr-0193a0c4-7b1e-7cc0-8f8e-000000000004","data":{"currency":"USD","hours":[{"close":"22:00","day":"mon","open":"10:00"},{"close":"22:00","day":"tue","open":"10:00"},{"close":"22:00","day":"wed","open":"10:00"},{"close":"22:00","day":"thu","open":"10:00"},{"close":"02:00","day":"fri","open":"10:00"},{"close":"22:00","day":"sat","open":"10:00"},{"close":"22:00","day":"sun","open":"10:00"}],"name":"Downtown 42","pickup":{"lead_minutes":10,"max_days_ahead":7,"max_orders_per_slot":20,"slot_minutes":15},"store_id":"downtown-42","tax_rate_bps":875,"timezone":"America/New_York"},"datacontenttype":"application/json","dataschema":"urn:qsr:schemas/json/qsr.store.configured.v1.json","id":"0193a0c4-7b1e-7cc0-8f8e-000000000005","source":"/command-api","specversion":"1.0","storeid":"downtown-42","subject":"downtown-42","time":"2026-11-24T16:01:00Z","type":"qsr.store.configured.v1"}"#;

fn cid(s: &str) -> CatalogId {
    CatalogId::parse(s).unwrap_or_else(|_| unreachable!("example ids are slugs"))
}

fn usd(amount: i64) -> Money {
    Money::new(
        amount,
        Currency::parse("USD").unwrap_or_else(|_| unreachable!("USD is a currency")),
    )
}

fn hhmm(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M")
        .unwrap_or_else(|_| unreachable!("example times are HH:MM"))
}

/// The example store: New York, 10:00-22:00 (Fridays to 02:00), 15-minute
/// slots of 20 orders.
pub fn profile() -> StoreProfile {
    let days = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    let hours = days
        .into_iter()
        .map(|day| OpeningHours {
            day,
            open: hhmm("10:00"),
            close: hhmm(if day == Weekday::Fri {
                "02:00"
            } else {
                "22:00"
            }),
        })
        .collect();
    StoreProfile {
        name: "Downtown 42".into(),
        timezone: chrono_tz::America::New_York,
        currency: Currency::parse("USD").unwrap_or_else(|_| unreachable!()),
        tax_rate_bps: 875,
        hours: WeeklyHours::new(hours).unwrap_or_default(),
        pickup: PickupSettings {
            slot_minutes: 15,
            lead_minutes: 10,
            max_orders_per_slot: 20,
            max_days_ahead: 7,
        },
        limits: OrderLimits {
            max_order_total: usd(150_000),
            max_tip: usd(5_000),
        },
    }
}

/// The example menu: a burger with a cheese choice, fries, and a cola with a
/// size choice.
pub fn menu() -> Menu {
    let option = |id: &str, name: &str, delta| ModifierOption {
        id: cid(id),
        name: name.into(),
        price_delta: usd(delta),
    };
    Menu {
        categories: vec![
            Category {
                id: cid("burgers"),
                name: "Burgers".into(),
                items: vec![MenuItem {
                    id: cid("classic"),
                    name: "Classic Burger".into(),
                    price: usd(899),
                    modifier_groups: vec![ModifierGroup {
                        id: cid("cheese"),
                        name: "Cheese".into(),
                        min: 0,
                        max: 1,
                        options: vec![
                            option("cheddar", "Cheddar", 100),
                            option("swiss", "Swiss", 120),
                        ],
                    }],
                }],
            },
            Category {
                id: cid("sides"),
                name: "Sides & drinks".into(),
                items: vec![
                    MenuItem {
                        id: cid("fries"),
                        name: "Fries".into(),
                        price: usd(349),
                        modifier_groups: vec![],
                    },
                    MenuItem {
                        id: cid("cola"),
                        name: "Cola".into(),
                        price: usd(199),
                        modifier_groups: vec![ModifierGroup {
                            id: cid("size"),
                            name: "Size".into(),
                            min: 1,
                            max: 1,
                            options: vec![
                                option("small", "Small", 0),
                                option("large", "Large", 80),
                            ],
                        }],
                    },
                ],
            },
        ],
    }
}

/// Runs commands through the domain and records their events as command-api's
/// writer would: versions, ids, provenance. Its clock moves a minute per
/// command; set `clock` to place commands at other times.
#[derive(Debug)]
pub struct Scribe {
    pub store: Store,
    pub clock: DateTime<Utc>,
    id_base: u128,
    serial: u128,
    pub log: Vec<Event>,
}

impl Scribe {
    /// A scribe for a new store; its ids are `id_base` plus a counter.
    pub fn new(store_id: StoreId, clock: DateTime<Utc>, id_base: u128) -> Scribe {
        Scribe {
            store: Store::new(store_id),
            clock,
            id_base,
            serial: 0,
            log: Vec::new(),
        }
    }

    pub fn next_id(&mut self) -> Uuid {
        self.serial += 1;
        Uuid::from_u128(self.id_base.wrapping_add(self.serial))
    }

    /// Decides `action` at the scribe's clock plus a minute and logs its events.
    pub fn run(
        &mut self,
        actor: Actor,
        key: Option<&str>,
        action: Action,
    ) -> Result<(), DomainError> {
        self.clock += Duration::minutes(1);
        let command_id = self.next_id();
        let command = Command {
            store_id: self.store.id.clone(),
            actor,
            now: self.clock,
            idempotency: key.map(|k| Idempotency {
                key: k.into(),
                fingerprint: format!("sha256:{k}"),
            }),
            action,
        };
        let events = self.store.decide(&command)?;
        for event in events {
            self.store.apply(&event);
            let version = match &event.change {
                Change::Store(_) => self.store.version,
                Change::Order { order_id, .. } => {
                    self.store.orders.get(order_id).map_or(0, |o| o.version)
                }
            };
            let provenance = Provenance {
                id: self.next_id(),
                source: "/command-api".into(),
                time: self.clock,
                correlation_id: format!("corr-{command_id}"),
                causation_id: command_id.to_string(),
            };
            self.log.push(to_wire(&event, version, provenance));
        }
        Ok(())
    }

    /// Places an as-soon-as-possible order of `customer`, paid in full.
    pub fn place(
        &mut self,
        customer: CustomerId,
        order: OrderId,
        lines: Vec<CartLine>,
        tip: i64,
    ) -> Result<(), DomainError> {
        let cart = Cart {
            lines,
            tip: Some(usd(tip)),
            pickup_at: None,
        };
        let total = self
            .store
            .quote(&cart, self.clock + Duration::minutes(1))
            .map_or(usd(0), |q| q.totals.total);
        let payment = Authorization {
            payment_id: PaymentId(order.0),
            amount: total,
            reference: format!("pi_{}", order.0.simple()),
        };
        let key = format!("customer:{customer}/place-{}", order.0.simple());
        self.run(
            Actor::Customer(customer),
            Some(&key),
            Action::Order {
                order_id: order,
                command: OrderCommand::Place { cart, payment },
            },
        )
    }
}

/// A cart line of the example menu.
pub fn line(item: &str, quantity: u32, modifiers: &[&str], note: Option<&str>) -> CartLine {
    CartLine {
        item_id: cid(item),
        quantity,
        modifiers: modifiers.iter().map(|m| cid(m)).collect(),
        note: note.map(str::to_owned),
    }
}

/// Every event type at its current version, in the order a day produces them.
pub fn a_day_at_a_store() -> Vec<Event> {
    let store_id = StoreId::parse("downtown-42").unwrap_or_else(|_| unreachable!());
    let start = Utc
        .with_ymd_and_hms(2026, 11, 24, 16, 0, 0)
        .single()
        .unwrap_or_default();
    let mut day = Scribe::new(store_id, start, 0x0193_a0c4_7b1e_7cc0_8f8e_0000_0000_0000);
    let customer = CustomerId::parse("cust-7").unwrap_or_else(|_| unreachable!());
    let (a, b, c) = (
        OrderId(day.next_id()),
        OrderId(day.next_id()),
        OrderId(day.next_id()),
    );
    let ready_at = start + Duration::minutes(20);
    let refund = RefundId(Uuid::from_u128(0x0193_a0c4_7b1e_7cc0_8f8e_0000_0000_ffff));
    let steps: Vec<(Actor, Option<&str>, Action)> = vec![
        (
            Actor::Admin,
            None,
            Action::Store(StoreCommand::Configure(profile())),
        ),
        (
            Actor::Admin,
            None,
            Action::Store(StoreCommand::PublishMenu(menu())),
        ),
        (
            Actor::Pos,
            None,
            Action::Store(StoreCommand::SetAvailability {
                id: cid("swiss"),
                available: false,
            }),
        ),
        (
            Actor::Staff,
            None,
            Action::Store(StoreCommand::SetStatus {
                accepting_orders: true,
                busy_minutes: Some(10),
            }),
        ),
    ];
    let result = (|| -> Result<(), DomainError> {
        for (actor, key, action) in steps {
            day.run(actor, key, action)?;
        }
        day.place(
            customer.clone(),
            a,
            vec![
                line("classic", 2, &["cheddar"], Some("no onions")),
                line("cola", 1, &["large"], None),
            ],
            200,
        )?;
        let accept = Action::Order {
            order_id: a,
            command: OrderCommand::Accept {
                ready_at: Some(ready_at),
            },
        };
        day.run(Actor::Pos, None, accept)?;
        day.run(
            Actor::Staff,
            None,
            Action::Order {
                order_id: a,
                command: OrderCommand::Start,
            },
        )?;
        day.run(
            Actor::Pos,
            None,
            Action::Order {
                order_id: a,
                command: OrderCommand::MarkReady,
            },
        )?;
        day.run(
            Actor::Staff,
            None,
            Action::Order {
                order_id: a,
                command: OrderCommand::Complete,
            },
        )?;
        let refund = Action::Order {
            order_id: a,
            command: OrderCommand::Refund {
                refund_id: refund,
                amount: usd(300),
                reason: "cola was flat".into(),
            },
        };
        // Keys are scoped to their caller by command-api: role and subject.
        day.run(Actor::Staff, Some("staff:staff-1/refund-1"), refund)?;
        day.place(customer.clone(), b, vec![line("fries", 1, &[], None)], 0)?;
        let reject = Action::Order {
            order_id: b,
            command: OrderCommand::Reject {
                reason: "fryer is down".into(),
            },
        };
        day.run(Actor::Staff, None, reject)?;
        day.place(customer.clone(), c, vec![line("classic", 1, &[], None)], 0)?;
        let cancel = Action::Order {
            order_id: c,
            command: OrderCommand::Cancel {
                reason: "ordered twice".into(),
            },
        };
        day.run(Actor::Customer(customer.clone()), None, cancel)
    })();
    if let Err(error) = result {
        unreachable!("an example command was refused: {error}");
    }
    day.log
}
