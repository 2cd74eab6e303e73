//! The test's stand-in for command-api: it decides realistic commands for a
//! few stores with the domain and a fake clock, and appends their events in
//! Kafka transactions, keyed, partitioned and encoded as command-api writes
//! them. Some transactions are aborted on purpose: their events reach the
//! broker but must never reach the read models.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use domain::{
    Action, Actor, Authorization, Cart, CartLine, CatalogId, Category, Change, Command, Currency,
    CustomerId, Idempotency, MAX_LIMIT, Menu, MenuItem, ModifierGroup, ModifierOption, Money,
    OpeningHours, OrderCommand, OrderId, OrderLimits, OrderStatus, PaymentId, PickupSettings,
    RefundId, Store, StoreCommand, StoreId, StoreProfile, WeeklyHours,
};
use platform::KafkaArgs;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use schemas::Provenance;
use uuid::Uuid;

/// How long a transaction call may block.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);
/// One transaction in this many is aborted.
const ABORT_ONE_IN: u32 = 8;

/// What the writer appended, as the checker needs to know it.
#[derive(Debug, Default)]
pub struct Written {
    pub committed_transactions: usize,
    pub aborted_transactions: usize,
    pub committed_events: usize,
    /// Orders placed only in aborted transactions: no read model may hold them.
    pub aborted_orders: Vec<Uuid>,
}

/// The writer thread and the means to stop it.
pub struct Writer {
    stop: Arc<AtomicBool>,
    committed: Arc<AtomicUsize>,
    thread: JoinHandle<Written>,
}

impl Writer {
    /// Starts writing to the topics of `kafka` on a thread of its own
    /// (rdkafka's transaction calls block).
    pub fn start(kafka: &KafkaArgs, stores: usize, seed: u64) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let committed = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (kafka, stop, committed) = (kafka.clone(), stop.clone(), committed.clone());
            std::thread::spawn(move || write(&kafka, stores, seed, &stop, &committed))
        };
        Writer {
            stop,
            committed,
            thread,
        }
    }

    /// Transactions committed so far.
    pub fn committed(&self) -> usize {
        self.committed.load(Ordering::Acquire)
    }

    /// Finishes the transaction in hand and stops.
    pub async fn stop(self) -> Written {
        self.stop.store(true, Ordering::Release);
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join().expect("the writer panicked"))
            .await
            .unwrap()
    }
}

fn write(
    kafka: &KafkaArgs,
    stores: usize,
    seed: u64,
    stop: &AtomicBool,
    committed: &AtomicUsize,
) -> Written {
    let producer: BaseProducer = kafka
        .client_config()
        .set("transactional.id", format!("{}-writer", kafka.orders_topic))
        .set("enable.idempotence", "true")
        .set("transaction.timeout.ms", "10000")
        .set("linger.ms", "1")
        .create()
        .unwrap();
    producer.init_transactions(TRANSACTION_TIMEOUT).unwrap();
    let mut world = World::new(stores, seed);
    let mut written = Written::default();
    // The stores open first, in a transaction of their own that commits.
    let opening = world.open_stores();
    send(&producer, kafka, &opening.records);
    producer.commit_transaction(TRANSACTION_TIMEOUT).unwrap();
    written.committed_transactions += 1;
    written.committed_events += opening.records.len();
    committed.fetch_add(1, Ordering::AcqRel);

    while !stop.load(Ordering::Acquire) {
        let before = world.stores.clone();
        let commands = world.rng.usize(1..=12);
        let mut batch = Batch::default();
        for _ in 0..commands {
            world.step(&mut batch);
        }
        if batch.records.is_empty() {
            continue;
        }
        send(&producer, kafka, &batch.records);
        if world.rng.u32(0..ABORT_ONE_IN) == 0 {
            // The records are on the broker (send waited for them); now the
            // transaction that holds them is aborted, and the state of the
            // stores goes back to what it was, as command-api's rebuild would.
            producer.abort_transaction(TRANSACTION_TIMEOUT).unwrap();
            world.stores = before;
            written.aborted_transactions += 1;
            written.aborted_orders.extend(batch.placed);
        } else {
            producer.commit_transaction(TRANSACTION_TIMEOUT).unwrap();
            written.committed_transactions += 1;
            written.committed_events += batch.records.len();
            committed.fetch_add(1, Ordering::AcqRel);
        }
        // Load shaping, not synchronisation: room for the other test and
        // the projector on a small machine.
        std::thread::sleep(Duration::from_millis(world.rng.u64(0..3)));
    }
    written
}

/// Begins a transaction and sends `records` in it, waiting until the broker
/// has every one (so that an abort that follows aborts records in the log).
fn send(producer: &BaseProducer, kafka: &KafkaArgs, records: &[Record]) {
    producer.begin_transaction().unwrap();
    for record in records {
        let topic = if record.store_event {
            &kafka.stores_topic
        } else {
            &kafka.orders_topic
        };
        let mut message = BaseRecord::to(topic)
            .key(&record.key)
            .payload(&record.payload)
            .partition(schemas::partition_for(&record.key, kafka.partitions))
            .headers(record.headers.clone());
        loop {
            match producer.send(message) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    producer.poll(Duration::from_millis(10));
                    message = back;
                }
                Err((error, _)) => panic!("queueing a record: {error}"),
            }
        }
    }
    // As command-api does: serve the delivery reports as they come rather
    // than through flush, which waits in slices of 100 ms.
    let deadline = Instant::now() + TRANSACTION_TIMEOUT;
    loop {
        producer.poll(Duration::ZERO);
        if producer.in_flight_count() == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "records were not delivered");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// One record to append, as command-api builds it.
struct Record {
    store_event: bool,
    key: String,
    payload: Vec<u8>,
    headers: OwnedHeaders,
}

/// The records of one transaction, and the orders it places.
#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    placed: Vec<Uuid>,
}

/// A store as the writer drives it.
#[derive(Clone)]
struct Sim {
    store: Store,
    currency: Currency,
    /// Orders that may still change: not ended, or completed with money to refund.
    open: Vec<OrderId>,
    /// How often the menu was published: its prices change each time.
    menus: u32,
}

struct World {
    rng: fastrand::Rng,
    clock: DateTime<Utc>,
    stores: Vec<Sim>,
}

const CUSTOMERS: u32 = 12;

fn cid(s: &str) -> CatalogId {
    CatalogId::parse(s).unwrap()
}

impl World {
    fn new(stores: usize, seed: u64) -> World {
        let currencies = ["USD", "EUR", "GBP", "INR"];
        let stores = (0..stores)
            .map(|n| Sim {
                store: Store::new(StoreId::parse(&format!("eo-store-{n}")).unwrap()),
                currency: Currency::parse(currencies[n % currencies.len()]).unwrap(),
                open: Vec::new(),
                menus: 0,
            })
            .collect();
        World {
            rng: fastrand::Rng::with_seed(seed),
            clock: Utc
                .with_ymd_and_hms(2026, 3, 7, 23, 50, 0)
                .single()
                .unwrap(),
            stores,
        }
    }

    /// Configures every store and publishes its menu.
    fn open_stores(&mut self) -> Batch {
        let mut batch = Batch::default();
        for s in 0..self.stores.len() {
            let profile = self.profile(s);
            self.run(
                s,
                Actor::Admin,
                Action::Store(StoreCommand::Configure(profile)),
                &mut batch,
            );
            let menu = self.menu(s);
            self.run(
                s,
                Actor::Admin,
                Action::Store(StoreCommand::PublishMenu(menu)),
                &mut batch,
            );
        }
        batch
    }

    /// Decides one random command for a random store; a refused command
    /// (the domain said no) appends nothing, as with command-api.
    fn step(&mut self, batch: &mut Batch) {
        let s = self.rng.usize(0..self.stores.len());
        match self.rng.u32(0..100) {
            0..40 => self.place(s, batch),
            40..90 => self.advance(s, batch),
            90..94 => {
                let items = ["swiss", "shake", "large", "fries", "bacon"];
                let id = cid(items[self.rng.usize(0..items.len())]);
                let available = self.stores[s].store.unavailable.contains(&id);
                self.run(
                    s,
                    Actor::Pos,
                    Action::Store(StoreCommand::SetAvailability { id, available }),
                    batch,
                );
            }
            94..97 => {
                let paused = !self.stores[s].store.status.accepts_orders();
                let accepting_orders = paused || self.rng.u32(0..4) != 0;
                let busy_minutes = Some(if self.rng.bool() { 0 } else { 15 });
                let action = Action::Store(StoreCommand::SetStatus {
                    accepting_orders,
                    busy_minutes,
                });
                self.run(s, Actor::Staff, action, batch);
            }
            97..99 => {
                let menu = self.menu(s);
                self.run(
                    s,
                    Actor::Admin,
                    Action::Store(StoreCommand::PublishMenu(menu)),
                    batch,
                );
            }
            _ => {
                let profile = self.profile(s);
                self.run(
                    s,
                    Actor::Admin,
                    Action::Store(StoreCommand::Configure(profile)),
                    batch,
                );
            }
        }
    }

    fn money(&self, s: usize, amount: i64) -> Money {
        Money::new(amount, self.stores[s].currency)
    }

    fn profile(&mut self, s: usize) -> StoreProfile {
        let zones = [
            chrono_tz::America::New_York,
            chrono_tz::Europe::London,
            chrono_tz::Asia::Kolkata,
            chrono_tz::America::Los_Angeles,
        ];
        let days = [
            chrono::Weekday::Mon,
            chrono::Weekday::Tue,
            chrono::Weekday::Wed,
            chrono::Weekday::Thu,
            chrono::Weekday::Fri,
            chrono::Weekday::Sat,
            chrono::Weekday::Sun,
        ];
        // Open around the clock, so that the fake clock never finds it closed.
        let midnight = chrono::NaiveTime::MIN;
        let hours = days
            .into_iter()
            .map(|day| OpeningHours {
                day,
                open: midnight,
                close: midnight,
            })
            .collect();
        StoreProfile {
            name: format!("Store {s} ({})", self.rng.u32(1..1000)),
            timezone: zones[s % zones.len()],
            currency: self.stores[s].currency,
            tax_rate_bps: self.rng.u32(0..1500),
            hours: WeeklyHours::new(hours).unwrap(),
            pickup: PickupSettings {
                slot_minutes: [5, 10, 15][self.rng.usize(0..3)],
                lead_minutes: self.rng.u32(0..20),
                max_orders_per_slot: 1000,
                max_days_ahead: 7,
            },
            // The highest caps: the random carts are priced as before limits.
            limits: OrderLimits {
                max_order_total: self.money(s, MAX_LIMIT),
                max_tip: self.money(s, MAX_LIMIT),
            },
        }
    }

    /// The store's menu, with prices that change per publication; every other
    /// publication drops the shake, so an item taken off and then dropped
    /// must come back available with the menu that has it again.
    fn menu(&mut self, s: usize) -> Menu {
        self.stores[s].menus += 1;
        let bump = i64::from(self.stores[s].menus) * 10;
        let option = |id: &str, delta: i64| ModifierOption {
            id: cid(id),
            name: id.to_uppercase(),
            price_delta: self.money(s, delta),
        };
        let item = |id: &str, price: i64, groups: Vec<ModifierGroup>| MenuItem {
            id: cid(id),
            name: format!("{id} #{}", self.stores[s].menus),
            price: self.money(s, price + bump),
            modifier_groups: groups,
        };
        let cheese = ModifierGroup {
            id: cid("cheese"),
            name: "Cheese".into(),
            min: 0,
            max: 1,
            options: vec![option("cheddar", 100), option("swiss", 120)],
        };
        let extras = ModifierGroup {
            id: cid("extras"),
            name: "Extras".into(),
            min: 0,
            max: 2,
            options: vec![option("bacon", 150), option("pickles", 0)],
        };
        let size = ModifierGroup {
            id: cid("size"),
            name: "Size".into(),
            min: 1,
            max: 1,
            options: vec![option("small", 0), option("large", 80)],
        };
        Menu {
            categories: vec![
                Category {
                    id: cid("burgers"),
                    name: "Burgers".into(),
                    items: vec![
                        item("classic", 899, vec![cheese.clone(), extras]),
                        item("double", 1299, vec![cheese]),
                    ],
                },
                Category {
                    id: cid("sides"),
                    name: "Sides & drinks".into(),
                    items: if self.stores[s].menus.is_multiple_of(2) {
                        vec![
                            item("fries", 349, vec![]),
                            item("cola", 199, vec![size]),
                            item("shake", 499, vec![]),
                        ]
                    } else {
                        vec![item("fries", 349, vec![]), item("cola", 199, vec![size])]
                    },
                },
            ],
        }
    }

    /// A cart of what the store has on offer right now.
    fn cart(&mut self, s: usize) -> Option<Cart> {
        let store = &self.stores[s].store;
        let menu = store.menu.as_ref()?;
        let available = |id: &CatalogId| !store.unavailable.contains(id);
        let items: Vec<&MenuItem> = menu.items().filter(|i| available(&i.id)).collect();
        if items.is_empty() {
            return None;
        }
        let mut lines = Vec::new();
        for _ in 0..self.rng.usize(1..=3) {
            let item = items[self.rng.usize(0..items.len())];
            let mut modifiers = Vec::new();
            for group in &item.modifier_groups {
                let options: Vec<&ModifierOption> =
                    group.options.iter().filter(|o| available(&o.id)).collect();
                let wanted = self.rng.u32(group.min..=group.max) as usize;
                if options.len() < group.min as usize {
                    return None;
                }
                modifiers.extend(options.iter().take(wanted).map(|o| o.id.clone()));
            }
            lines.push(CartLine {
                item_id: item.id.clone(),
                quantity: self.rng.u32(1..=3),
                modifiers,
                note: (self.rng.u32(0..5) == 0).then(|| "no onions".to_owned()),
            });
        }
        let tip = self.rng.i64(-500..500);
        let tip = (tip >= 0).then(|| self.money(s, tip));
        let pickup_at = (self.rng.u32(0..4) == 0)
            .then(|| self.clock + chrono::Duration::minutes(self.rng.i64(40..600)));
        Some(Cart {
            lines,
            tip,
            pickup_at,
        })
    }

    fn place(&mut self, s: usize, batch: &mut Batch) {
        let Some(cart) = self.cart(s) else {
            return;
        };
        let now = self.tick();
        let Ok(quote) = self.stores[s].store.quote(&cart, now) else {
            return;
        };
        let order_id = OrderId(Uuid::new_v4());
        let actor = if self.rng.u32(0..8) == 0 {
            Actor::Staff
        } else {
            let n = self.rng.u32(0..CUSTOMERS);
            Actor::Customer(CustomerId::parse(&format!("cust-{n}")).unwrap())
        };
        let payment = Authorization {
            payment_id: PaymentId(order_id.0),
            amount: quote.totals.total,
            reference: format!("pi_{}", order_id.0.simple()),
        };
        let placed = self.run_at(
            s,
            actor,
            now,
            Action::Order {
                order_id,
                command: OrderCommand::Place { cart, payment },
            },
            batch,
        );
        if placed {
            self.stores[s].open.push(order_id);
            batch.placed.push(order_id.0);
        }
    }

    /// Moves a random open order of the store one step along its life.
    fn advance(&mut self, s: usize, batch: &mut Batch) {
        let open = &self.stores[s].open;
        if open.is_empty() {
            return self.place(s, batch);
        }
        let at = self.rng.usize(0..open.len());
        let order_id = open[at];
        let order = &self.stores[s].store.orders[&order_id];
        let customer = order
            .customer_id()
            .map_or(Actor::Staff, |c| Actor::Customer(c.clone()));
        let refundable = order.payment.as_ref().map_or(0, |p| p.refundable().amount);
        let status = order.status;
        let roll = self.rng.u32(0..100);
        let (actor, action) = match status {
            OrderStatus::Placed if roll < 84 => {
                let ready_at = self
                    .rng
                    .bool()
                    .then(|| self.clock + chrono::Duration::minutes(self.rng.i64(5..30)));
                (
                    Actor::Pos,
                    Action::Order {
                        order_id,
                        command: OrderCommand::Accept { ready_at },
                    },
                )
            }
            OrderStatus::Placed if roll < 92 => (
                Actor::Staff,
                Action::Order {
                    order_id,
                    command: OrderCommand::Reject {
                        reason: "the fryer is down".into(),
                    },
                },
            ),
            OrderStatus::Placed => (
                customer,
                Action::Order {
                    order_id,
                    command: OrderCommand::Cancel {
                        reason: "ordered twice".into(),
                    },
                },
            ),
            OrderStatus::Accepted | OrderStatus::InPreparation if roll < 4 => (
                Actor::Staff,
                Action::Order {
                    order_id,
                    command: OrderCommand::Cancel {
                        reason: "out of buns".into(),
                    },
                },
            ),
            OrderStatus::Accepted if roll < 90 => (
                Actor::Staff,
                Action::Order {
                    order_id,
                    command: OrderCommand::Start,
                },
            ),
            OrderStatus::Accepted | OrderStatus::InPreparation => (
                Actor::Pos,
                Action::Order {
                    order_id,
                    command: OrderCommand::MarkReady,
                },
            ),
            OrderStatus::Ready => (
                Actor::Staff,
                Action::Order {
                    order_id,
                    command: OrderCommand::Complete,
                },
            ),
            OrderStatus::Completed if refundable > 0 && roll < 40 => {
                let amount = if self.rng.bool() {
                    refundable
                } else {
                    self.rng.i64(1..=refundable)
                };
                (
                    Actor::Staff,
                    Action::Order {
                        order_id,
                        command: OrderCommand::Refund {
                            refund_id: RefundId(Uuid::new_v4()),
                            amount: self.money(s, amount),
                            reason: "cold fries".into(),
                        },
                    },
                )
            }
            OrderStatus::Completed | OrderStatus::Rejected | OrderStatus::Cancelled => {
                self.stores[s].open.swap_remove(at);
                return;
            }
        };
        self.run(s, actor, action, batch);
    }

    /// Moves the fake clock on and answers it.
    fn tick(&mut self) -> DateTime<Utc> {
        self.clock += chrono::Duration::seconds(self.rng.i64(1..90));
        self.clock
    }

    fn run(&mut self, s: usize, actor: Actor, action: Action, batch: &mut Batch) -> bool {
        let now = self.tick();
        self.run_at(s, actor, now, action, batch)
    }

    /// Decides `action` at `now` and, if the domain agrees, folds the events
    /// into the store and adds their records to the batch.
    fn run_at(
        &mut self,
        s: usize,
        actor: Actor,
        now: DateTime<Utc>,
        action: Action,
        batch: &mut Batch,
    ) -> bool {
        let command_id = Uuid::new_v4();
        let idempotency = matches!(
            action,
            Action::Order {
                command: OrderCommand::Place { .. },
                ..
            }
        )
        .then(|| Idempotency {
            key: format!("key-{}", command_id.simple()),
            fingerprint: format!("sha256:{}", command_id.simple()),
        });
        let command = Command {
            store_id: self.stores[s].store.id.clone(),
            actor,
            now,
            idempotency,
            action,
        };
        let sim = &mut self.stores[s];
        let Ok(events) = sim.store.decide(&command) else {
            return false;
        };
        for event in &events {
            sim.store.apply(event);
            batch
                .records
                .push(record(&sim.store, event, now, command_id));
        }
        !events.is_empty()
    }
}

/// The record of `event`, whose store has already folded it in: the same
/// conversion, key and headers as command-api's partition writer.
fn record(store: &Store, event: &domain::Event, now: DateTime<Utc>, command: Uuid) -> Record {
    let (store_event, version) = match &event.change {
        Change::Store(_) => (true, store.version),
        Change::Order { order_id, .. } => {
            (false, store.orders.get(order_id).map_or(0, |o| o.version))
        }
    };
    let provenance = Provenance {
        id: Uuid::now_v7(),
        source: "/command-api".to_owned(),
        time: now,
        correlation_id: format!("corr-{}", command.simple()),
        causation_id: command.to_string(),
    };
    let wire = schemas::to_wire(event, version, provenance);
    let payload = schemas::encode(&wire).unwrap();
    let headers = schemas::record_headers(wire.data.event_type())
        .into_iter()
        .fold(OwnedHeaders::new(), |headers, (key, value)| {
            headers.insert(Header {
                key,
                value: Some(value),
            })
        });
    Record {
        store_event,
        key: event.store_id.to_string(),
        payload,
        headers,
    }
}
