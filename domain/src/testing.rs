//! A given / when / then harness for the store aggregate, and the fixtures the
//! tests share: a store in New York with a small menu, on a Tuesday at noon.

use chrono::{DateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;
use uuid::Uuid;

use crate::{
    Action, Actor, Authorization, Cart, CartLine, CatalogId, Category, Change, Command, Currency,
    CustomerId, DomainError, Event, Menu, MenuItem, ModifierGroup, ModifierOption, Money,
    OpeningHours, OrderCommand, OrderEvent, OrderId, OrderLimits, PaymentId, PickupSettings, Store,
    StoreEvent, StoreId, StoreProfile, WeeklyHours,
};

pub struct Given {
    store: Store,
}

/// The store after these events.
pub fn given(events: impl IntoIterator<Item = Event>) -> Given {
    Given {
        store: events
            .into_iter()
            .fold(Store::new(store_id()), |s, e| s.evolve(&e)),
    }
}

impl Given {
    pub fn when(self, command: Command) -> Then {
        let result = self.store.decide(&command);
        Then {
            store: self.store,
            result,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

pub struct Then {
    store: Store,
    result: Result<Vec<Event>, DomainError>,
}

impl Then {
    /// Asserts the events and returns the store with them folded in.
    #[track_caller]
    pub fn then(self, expected: Vec<Event>) -> Store {
        let events = self
            .result
            .unwrap_or_else(|e| panic!("expected events, got error {e:?}"));
        assert_eq!(events, expected);
        events.iter().fold(self.store, |s, e| s.evolve(e))
    }

    #[track_caller]
    pub fn then_err(self, expected: impl Into<DomainError>) {
        assert_eq!(self.result, Err(expected.into()));
    }

    /// The events, for tests that check them piecemeal.
    #[track_caller]
    pub fn events(self) -> Vec<Event> {
        self.result
            .unwrap_or_else(|e| panic!("expected events, got error {e:?}"))
    }
}

pub fn id(s: &str) -> CatalogId {
    CatalogId::parse(s).unwrap()
}

pub fn usd(amount: i64) -> Money {
    Money::new(amount, Currency::parse("USD").unwrap())
}

pub fn store_id() -> StoreId {
    StoreId::parse("downtown-42").unwrap()
}

pub fn customer() -> CustomerId {
    CustomerId::parse("cust-1").unwrap()
}

pub fn time(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap()
}

/// A wall-clock time in New York.
pub fn ny(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    New_York
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// Tuesday 2026-11-24, 12:00 in New York.
pub fn now() -> DateTime<Utc> {
    ny(2026, 11, 24, 12, 0)
}

/// Open 10:00-22:00 every day but Friday, which runs to 02:00 Saturday.
pub fn hours() -> WeeklyHours {
    use Weekday::*;
    WeeklyHours::new(
        [Mon, Tue, Wed, Thu, Fri, Sat, Sun]
            .into_iter()
            .map(|day| OpeningHours {
                day,
                open: time("10:00"),
                close: if day == Fri {
                    time("02:00")
                } else {
                    time("22:00")
                },
            })
            .collect(),
    )
    .unwrap()
}

pub fn profile() -> StoreProfile {
    StoreProfile {
        name: "Downtown 42".into(),
        timezone: New_York,
        currency: Currency::parse("USD").unwrap(),
        tax_rate_bps: 875,
        hours: hours(),
        pickup: PickupSettings {
            slot_minutes: 15,
            lead_minutes: 10,
            max_orders_per_slot: 2,
            max_days_ahead: 7,
        },
        limits: OrderLimits::defaults(Currency::parse("USD").unwrap()),
    }
}

fn option(s: &str, name: &str, delta: i64) -> ModifierOption {
    ModifierOption {
        id: id(s),
        name: name.into(),
        price_delta: usd(delta),
    }
}

/// A classic burger with an optional cheese, fries, and a cola that needs a size.
pub fn menu() -> Menu {
    Menu {
        categories: vec![
            Category {
                id: id("burgers"),
                name: "Burgers".into(),
                items: vec![MenuItem {
                    id: id("classic"),
                    name: "Classic Burger".into(),
                    price: usd(899),
                    modifier_groups: vec![ModifierGroup {
                        id: id("cheese"),
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
                id: id("sides"),
                name: "Sides & drinks".into(),
                items: vec![
                    MenuItem {
                        id: id("fries"),
                        name: "Fries".into(),
                        price: usd(349),
                        modifier_groups: vec![],
                    },
                    MenuItem {
                        id: id("cola"),
                        name: "Cola".into(),
                        price: usd(199),
                        modifier_groups: vec![ModifierGroup {
                            id: id("size"),
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

pub fn event(change: Change) -> Event {
    Event {
        store_id: store_id(),
        change,
        idempotency: None,
    }
}

pub fn store_event(e: StoreEvent) -> Event {
    event(Change::Store(e))
}

pub fn order_event(order_id: OrderId, e: OrderEvent) -> Event {
    event(Change::Order { order_id, event: e })
}

/// A configured store with a published menu.
pub fn open_store() -> Vec<Event> {
    vec![
        store_event(StoreEvent::Configured(profile())),
        store_event(StoreEvent::MenuPublished {
            menu_version: 1,
            menu: menu(),
        }),
    ]
}

/// A command of `actor` at noon; a `StoreCommand` is an action too.
pub fn command(actor: Actor, action: impl Into<Action>) -> Command {
    Command {
        store_id: store_id(),
        actor,
        now: now(),
        idempotency: None,
        action: action.into(),
    }
}

pub fn admin(action: impl Into<Action>) -> Command {
    command(Actor::Admin, action)
}

pub fn staff(action: impl Into<Action>) -> Command {
    command(Actor::Staff, action)
}

pub fn as_customer(action: impl Into<Action>) -> Command {
    command(Actor::Customer(customer()), action)
}

pub fn order_id(n: u128) -> OrderId {
    OrderId(Uuid::from_u128(n))
}

pub fn line(item: &str, quantity: u32, modifiers: &[&str]) -> CartLine {
    CartLine {
        item_id: id(item),
        quantity,
        modifiers: modifiers.iter().map(|m| id(m)).collect(),
        note: None,
    }
}

pub fn cart(lines: Vec<CartLine>) -> Cart {
    Cart {
        lines,
        tip: None,
        pickup_at: None,
    }
}

/// An authorisation of `amount` for order `n`.
pub fn paid(n: u128, amount: Money) -> Authorization {
    Authorization {
        payment_id: PaymentId(Uuid::from_u128(n)),
        amount,
        reference: format!("auth_{n}"),
    }
}

/// Places order `n` (one classic burger, 899 + 79 tax = 978) as the customer.
pub fn place(n: u128, pickup_at: Option<DateTime<Utc>>) -> Command {
    let cart = Cart {
        pickup_at,
        ..cart(vec![line("classic", 1, &[])])
    };
    as_customer(Action::Order {
        order_id: order_id(n),
        command: OrderCommand::Place {
            cart,
            payment: paid(n, usd(978)),
        },
    })
}

/// The events of placing order `n` on `store`.
pub fn placed(store: &Store, n: u128, pickup_at: Option<DateTime<Utc>>) -> Vec<Event> {
    store.decide(&place(n, pickup_at)).unwrap()
}
