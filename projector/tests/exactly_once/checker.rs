//! The checker: reads both topics from the beginning with its own
//! read_committed consumer, folds the events into the rows the read models
//! should hold with a plain implementation of its own (no projector code),
//! and compares them with the tables row by row.
//!
//! It folds by the rules of `V1`..`V3__*.sql` and DESIGN.md, not by the
//! projector's: each committed event counts once, in partition order, and the
//! log's versions are gapless, so the fold needs no version guards at all.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use platform::KafkaArgs;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use schemas::{Event, EventData};
use serde_json::Value;
use uuid::Uuid;

use super::harness::{PATIENCE, connect};
use super::writer::Written;

/// One record of the log, decoded.
pub struct Record {
    pub offset: i64,
    pub event: Event,
}

/// What a consumer read: each partition's records in offset order.
pub struct Log {
    pub stores: BTreeMap<i32, Vec<Record>>,
    pub orders: BTreeMap<i32, Vec<Record>>,
    /// (topic, partition) -> the offset after the last record read: where the
    /// projector must end up.
    pub ends: BTreeMap<(String, i32), i64>,
}

impl Log {
    pub fn events(&self) -> usize {
        self.stores
            .values()
            .chain(self.orders.values())
            .map(Vec::len)
            .sum()
    }

    /// The orders the log places.
    pub fn placed(&self) -> BTreeSet<Uuid> {
        self.orders
            .values()
            .flatten()
            .filter_map(|r| match &r.event.data {
                EventData::OrderPlaced(e) => Some(e.order_id),
                _ => None,
            })
            .collect()
    }
}

/// Reads both topics to their ends (blocking). `isolation` is
/// `read_committed`, as the projector reads, or `read_uncommitted`, to see
/// the aborted records too.
pub fn read_log(kafka: &KafkaArgs, isolation: &str) -> Log {
    let (stores, mut ends) = read_topic(kafka, &kafka.stores_topic, isolation);
    let (orders, order_ends) = read_topic(kafka, &kafka.orders_topic, isolation);
    ends.extend(order_ends);
    Log {
        stores,
        orders,
        ends,
    }
}

type Ends = BTreeMap<(String, i32), i64>;

fn read_topic(
    kafka: &KafkaArgs,
    topic: &str,
    isolation: &str,
) -> (BTreeMap<i32, Vec<Record>>, Ends) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &kafka.brokers)
        .set("group.id", format!("{topic}-checker"))
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for p in 0..kafka.partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut records: BTreeMap<i32, Vec<Record>> = BTreeMap::new();
    let mut at_end = BTreeSet::new();
    let deadline = std::time::Instant::now() + PATIENCE;
    while at_end.len() < kafka.partitions as usize {
        assert!(
            std::time::Instant::now() < deadline,
            "could not read {topic} to its end"
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let event = schemas::decode(m.payload().unwrap())
                    .unwrap_or_else(|e| panic!("{topic}/{} at {}: {e}", m.partition(), m.offset()));
                // The writer keys and partitions as command-api does.
                let key = std::str::from_utf8(m.key().unwrap()).unwrap();
                assert_eq!(key, event.meta.store_id);
                assert_eq!(m.partition(), schemas::partition_for(key, kafka.partitions));
                let header = m
                    .headers()
                    .and_then(|h| h.iter().find(|h| h.key == schemas::TYPE_HEADER))
                    .and_then(|h| h.value)
                    .unwrap();
                assert_eq!(header, event.data.event_type().as_bytes());
                records.entry(m.partition()).or_default().push(Record {
                    offset: m.offset(),
                    event,
                });
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
    }
    let ends = records
        .iter()
        .filter_map(|(&p, rs)| rs.last().map(|r| ((topic.to_owned(), p), r.offset + 1)))
        .collect();
    (records, ends)
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreRow {
    name: String,
    timezone: String,
    currency: String,
    tax_rate_bps: i32,
    hours: Value,
    pickup: Value,
    version: i64,
    updated_at: DateTime<Utc>,
    accepting_orders: bool,
    busy_minutes: i32,
    /// Sorted: the order of the array says nothing.
    unavailable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MenuRow {
    menu_version: i32,
    categories: Value,
    published_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderRow {
    store_id: String,
    customer_id: Option<String>,
    status: String,
    version: i64,
    lines: Value,
    totals: Value,
    pickup_at: DateTime<Utc>,
    slot: DateTime<Utc>,
    asap: bool,
    placed_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    payment_status: Option<String>,
    captured_amount: i64,
    refunded_amount: i64,
    ready_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    status: String,
    at: DateTime<Utc>,
    reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SalesRow {
    orders: i32,
    revenue: i64,
    tax: i64,
    tips: i64,
    refunds: i64,
}

/// The rows of the read models.
#[derive(Debug, Default)]
pub struct Models {
    stores: BTreeMap<String, StoreRow>,
    menus: BTreeMap<String, MenuRow>,
    orders: BTreeMap<Uuid, OrderRow>,
    changes: BTreeMap<(Uuid, i64), ChangeRow>,
    sales: BTreeMap<(String, DateTime<Utc>), SalesRow>,
}

/// Postgres keeps microseconds.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The 15-minute interval of UTC that holds `t`.
fn quarter(t: DateTime<Utc>) -> DateTime<Utc> {
    let start = t.timestamp().div_euclid(900) * 900;
    DateTime::from_timestamp(start, 0).unwrap()
}

/// A payload part as JSON, as a jsonb column holds it.
macro_rules! json {
    ($value:expr) => {
        serde_json::to_value($value).unwrap()
    };
}

/// Every catalog id of a published menu: items and modifier options.
fn catalog_ids(menu: &schemas::MenuPublishedV1) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for item in menu.categories.iter().flat_map(|c| &c.items) {
        ids.insert(item.id.clone());
        for option in item.modifier_groups.iter().flat_map(|g| &g.options) {
            ids.insert(option.id.clone());
        }
    }
    ids
}

impl Models {
    /// The fold of the log: what the read models should hold.
    pub fn expected(log: &Log) -> Models {
        let mut models = Models::default();
        let mut versions: BTreeMap<String, u64> = BTreeMap::new();
        for record in log.stores.values().flatten() {
            let event = &record.event;
            let seen = versions.entry(event.meta.subject.clone()).or_default();
            assert_eq!(event.meta.version, *seen + 1, "a gap in the store versions");
            *seen = event.meta.version;
            models.store_event(event);
        }
        for record in log.orders.values().flatten() {
            let event = &record.event;
            let seen = versions.entry(event.meta.subject.clone()).or_default();
            assert_eq!(event.meta.version, *seen + 1, "a gap in the order versions");
            *seen = event.meta.version;
            models.order_event(event);
        }
        models.sales.retain(|_, s| *s != SalesRow::default());
        models
    }

    fn store_event(&mut self, event: &Event) {
        let (version, time) = (event.meta.version as i64, micros(event.meta.time));
        let store_id = event.meta.store_id.clone();
        if let EventData::StoreConfigured(e) = &event.data {
            let kept = self.stores.get(&store_id).cloned();
            self.stores.insert(
                store_id.clone(),
                StoreRow {
                    name: e.name.clone(),
                    timezone: e.timezone.clone(),
                    currency: e.currency.clone(),
                    tax_rate_bps: e.tax_rate_bps as i32,
                    hours: json!(&e.hours),
                    pickup: json!(&e.pickup),
                    version,
                    updated_at: time,
                    // A new profile leaves the store's status and what it took off.
                    accepting_orders: kept.as_ref().is_none_or(|s| s.accepting_orders),
                    busy_minutes: kept.as_ref().map_or(0, |s| s.busy_minutes),
                    unavailable: kept.map(|s| s.unavailable).unwrap_or_default(),
                },
            );
            return;
        }
        let store = self
            .stores
            .get_mut(&store_id)
            .unwrap_or_else(|| panic!("an event of the unconfigured store {store_id}"));
        store.version = version;
        store.updated_at = time;
        match &event.data {
            EventData::MenuPublished(e) => {
                // As the domain does: what is no longer on the menu is no
                // longer off it either.
                let ids = catalog_ids(e);
                store.unavailable.retain(|id| ids.contains(id));
                self.menus.insert(
                    store_id,
                    MenuRow {
                        menu_version: e.menu_version as i32,
                        categories: json!(&e.categories),
                        published_at: time,
                    },
                );
            }
            EventData::AvailabilityChanged(e) => {
                store.unavailable.retain(|id| id != &e.id);
                if !e.available {
                    store.unavailable.push(e.id.clone());
                    store.unavailable.sort();
                }
            }
            EventData::StatusChanged(e) => {
                store.accepting_orders = e.accepting_orders;
                store.busy_minutes = e.busy_minutes as i32;
            }
            other => panic!("{} in the stores topic", other.event_type()),
        }
    }

    fn order_event(&mut self, event: &Event) {
        let (version, time) = (event.meta.version as i64, micros(event.meta.time));
        if let EventData::OrderPlaced(e) = &event.data {
            assert!(
                !self.orders.contains_key(&e.order_id),
                "order {} placed twice in the log",
                e.order_id
            );
            self.orders.insert(
                e.order_id,
                OrderRow {
                    store_id: e.store_id.clone(),
                    customer_id: e.customer_id.clone(),
                    status: "placed".into(),
                    version,
                    lines: json!(&e.lines),
                    totals: json!(&e.totals),
                    pickup_at: micros(e.pickup_at),
                    slot: micros(e.slot),
                    asap: e.asap,
                    placed_at: micros(e.placed_at),
                    updated_at: time,
                    payment_status: None,
                    captured_amount: 0,
                    refunded_amount: 0,
                    ready_at: None,
                },
            );
            self.change(e.order_id, version, "placed", e.placed_at, None);
            let sales = self
                .sales
                .entry((e.store_id.clone(), quarter(e.placed_at)))
                .or_default();
            sales.orders += 1;
            sales.revenue += e.totals.subtotal.amount;
            sales.tax += e.totals.tax.amount;
            sales.tips += e.totals.tip.amount;
            return;
        }
        let order_id: Uuid = event.meta.subject.parse().unwrap();
        let order = self
            .orders
            .get_mut(&order_id)
            .unwrap_or_else(|| panic!("an event of the order {order_id} before it was placed"));
        order.version = version;
        order.updated_at = time;
        let mut withdraw = false;
        let change = match &event.data {
            EventData::PaymentAuthorized(_) => {
                order.payment_status = Some("authorized".into());
                None
            }
            EventData::PaymentCaptured(e) => {
                order.payment_status = Some("captured".into());
                order.captured_amount = e.amount.amount;
                None
            }
            EventData::PaymentVoided(_) => {
                order.payment_status = Some("voided".into());
                None
            }
            EventData::PaymentRefunded(e) => {
                order.refunded_amount += e.amount.amount;
                let status = if order.refunded_amount >= order.captured_amount {
                    "refunded"
                } else {
                    "partially_refunded"
                };
                order.payment_status = Some(status.into());
                let key = (order.store_id.clone(), quarter(e.at));
                self.sales.entry(key).or_default().refunds += e.amount.amount;
                None
            }
            EventData::OrderAccepted(e) => {
                order.ready_at = e.ready_at.map(micros);
                Some(("accepted", e.at, None))
            }
            EventData::OrderRejected(e) => {
                withdraw = true;
                Some(("rejected", e.at, Some(e.reason.clone())))
            }
            EventData::PreparationStarted(e) => Some(("in_preparation", e.at, None)),
            EventData::OrderReady(e) => Some(("ready", e.at, None)),
            EventData::OrderCompleted(e) => Some(("completed", e.at, None)),
            EventData::OrderCancelled(e) => {
                withdraw = true;
                Some(("cancelled", e.at, Some(e.reason.clone())))
            }
            other => panic!("{} in the orders topic", other.event_type()),
        };
        let Some((status, at, reason)) = change else {
            return;
        };
        order.status = status.into();
        if withdraw {
            let totals: schemas::TotalsV1 = serde_json::from_value(order.totals.clone()).unwrap();
            let key = (order.store_id.clone(), quarter(order.placed_at));
            let sales = self.sales.entry(key).or_default();
            sales.orders -= 1;
            sales.revenue -= totals.subtotal.amount;
            sales.tax -= totals.tax.amount;
            sales.tips -= totals.tip.amount;
        }
        self.change(order_id, version, status, at, reason);
    }

    fn change(
        &mut self,
        order_id: Uuid,
        version: i64,
        status: &str,
        at: DateTime<Utc>,
        reason: Option<String>,
    ) {
        self.changes.insert(
            (order_id, version),
            ChangeRow {
                status: status.into(),
                at: micros(at),
                reason,
            },
        );
    }

    /// What the tables hold.
    pub async fn actual(database_url: &str) -> Models {
        let db = connect(database_url).await.unwrap();
        let mut models = Models::default();
        let stores = "select store_id, name, timezone, currency, tax_rate_bps, hours, pickup, \
                      version, updated_at, accepting_orders, busy_minutes, unavailable from stores";
        for r in db.query(stores, &[]).await.unwrap() {
            let mut unavailable: Vec<String> = r.get(11);
            unavailable.sort();
            models.stores.insert(
                r.get(0),
                StoreRow {
                    name: r.get(1),
                    timezone: r.get(2),
                    currency: r.get(3),
                    tax_rate_bps: r.get(4),
                    hours: r.get(5),
                    pickup: r.get(6),
                    version: r.get(7),
                    updated_at: r.get(8),
                    accepting_orders: r.get(9),
                    busy_minutes: r.get(10),
                    unavailable,
                },
            );
        }
        let menus = "select store_id, menu_version, categories, published_at from menus";
        for r in db.query(menus, &[]).await.unwrap() {
            models.menus.insert(
                r.get(0),
                MenuRow {
                    menu_version: r.get(1),
                    categories: r.get(2),
                    published_at: r.get(3),
                },
            );
        }
        let orders = "select order_id, store_id, customer_id, status, version, lines, totals, \
                      pickup_at, slot, asap, placed_at, updated_at, payment_status, \
                      captured_amount, refunded_amount, ready_at from orders";
        for r in db.query(orders, &[]).await.unwrap() {
            models.orders.insert(
                r.get(0),
                OrderRow {
                    store_id: r.get(1),
                    customer_id: r.get(2),
                    status: r.get(3),
                    version: r.get(4),
                    lines: r.get(5),
                    totals: r.get(6),
                    pickup_at: r.get(7),
                    slot: r.get(8),
                    asap: r.get(9),
                    placed_at: r.get(10),
                    updated_at: r.get(11),
                    payment_status: r.get(12),
                    captured_amount: r.get(13),
                    refunded_amount: r.get(14),
                    ready_at: r.get(15),
                },
            );
        }
        let changes = "select order_id, version, status, at, reason from order_status_changes";
        for r in db.query(changes, &[]).await.unwrap() {
            models.changes.insert(
                (r.get(0), r.get(1)),
                ChangeRow {
                    status: r.get(2),
                    at: r.get(3),
                    reason: r.get(4),
                },
            );
        }
        let sales = "select store_id, interval_start, orders, revenue, tax, tips, refunds \
                     from sales_intervals";
        for r in db.query(sales, &[]).await.unwrap() {
            let row = SalesRow {
                orders: r.get(2),
                revenue: r.get(3),
                tax: r.get(4),
                tips: r.get(5),
                refunds: r.get(6),
            };
            // An interval whose orders all left it again says nothing.
            if row != SalesRow::default() {
                models.sales.insert((r.get(0), r.get(1)), row);
            }
        }
        models
    }

    /// Every difference between `self` (expected) and `actual`, the first
    /// few of each table in full.
    pub fn differences(&self, actual: &Models) -> Vec<String> {
        let mut out = Vec::new();
        diff("stores", &self.stores, &actual.stores, &mut out);
        diff("menus", &self.menus, &actual.menus, &mut out);
        diff("orders", &self.orders, &actual.orders, &mut out);
        diff(
            "order_status_changes",
            &self.changes,
            &actual.changes,
            &mut out,
        );
        diff("sales_intervals", &self.sales, &actual.sales, &mut out);
        out
    }

    pub fn summary(&self) -> String {
        format!(
            "{} stores, {} menus, {} orders, {} status changes, {} sales intervals",
            self.stores.len(),
            self.menus.len(),
            self.orders.len(),
            self.changes.len(),
            self.sales.len()
        )
    }

    /// How many orders ended in `status`.
    pub fn orders_in(&self, status: &str) -> usize {
        self.orders.values().filter(|o| o.status == status).count()
    }

    /// How many orders had money refunded.
    pub fn refunded_orders(&self) -> usize {
        self.orders
            .values()
            .filter(|o| o.refunded_amount > 0)
            .count()
    }
}

/// A row's fields as (name, value), from its pretty `Debug` form, where each
/// field starts on a line of its own, indented by four spaces.
fn fields<V: Debug>(row: &V) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in format!("{row:#?}").lines() {
        let Some(inner) = line.strip_prefix("    ") else {
            continue; // The first and last lines: the type's name and braces.
        };
        let field = inner
            .split_once(": ")
            .filter(|(name, _)| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        match (field, fields.last_mut()) {
            (Some((name, value)), _) => fields.push((name.to_owned(), value.to_owned())),
            (None, Some((_, value))) => value.push_str(inner.trim()),
            (None, None) => {}
        }
    }
    for (_, value) in &mut fields {
        if value.ends_with(',') {
            value.pop();
        }
        *value = value
            .replace(",)", ")")
            .replace(",]", "]")
            .replace(",}", "}");
    }
    fields
}

/// How many differences of one table are shown in full.
const SHOWN: usize = 5;

fn diff<K: Ord + Debug, V: PartialEq + Debug>(
    table: &str,
    expected: &BTreeMap<K, V>,
    actual: &BTreeMap<K, V>,
    out: &mut Vec<String>,
) {
    let keys: BTreeSet<&K> = expected.keys().chain(actual.keys()).collect();
    let mut found = Vec::new();
    for key in keys {
        match (expected.get(key), actual.get(key)) {
            (Some(e), Some(a)) if e == a => {}
            (Some(e), Some(a)) => {
                let mut lines = vec![format!("{table} {key:?} differs:")];
                for ((field, e), (_, a)) in fields(e).into_iter().zip(fields(a)) {
                    if e != a {
                        lines.push(format!(
                            "    {field}: expected {e}\n    {field}: actual   {a}"
                        ));
                    }
                }
                found.push(lines.join("\n"));
            }
            (Some(e), None) => found.push(format!("{table} {key:?} is missing: {e:?}")),
            (None, Some(a)) => found.push(format!("{table} {key:?} should not exist: {a:?}")),
            (None, None) => {}
        }
    }
    if found.len() > SHOWN {
        let more = found.len() - SHOWN;
        found.truncate(SHOWN);
        found.push(format!("{table}: {more} more differences"));
    }
    out.extend(found);
}

/// The checks of one scenario's end, against the committed log read after
/// the writer stopped: the read models equal the fold of the log, the aborted
/// orders are nowhere, and nothing was dead-lettered.
pub async fn check(
    database_url: &str,
    kafka: &KafkaArgs,
    dead_letters: &str,
    written: &Written,
    committed: &Log,
) {
    assert_eq!(
        committed.events(),
        written.committed_events,
        "the committed log does not hold what the writer committed"
    );
    let expected = Models::expected(committed);
    let actual = Models::actual(database_url).await;
    eprintln!(
        "checker: {} committed events, {} aborted transactions; expected {}; actual {}",
        committed.events(),
        written.aborted_transactions,
        expected.summary(),
        actual.summary()
    );

    // The run was worth checking: every path of an order's life was taken.
    for status in ["completed", "rejected", "cancelled"] {
        assert!(expected.orders_in(status) > 0, "no order was {status}");
    }
    assert!(expected.refunded_orders() > 0, "no order was refunded");

    let differences = expected.differences(&actual);
    assert!(
        differences.is_empty(),
        "the read models differ from the fold of the log in {} ways:\n{}",
        differences.len(),
        differences.join("\n")
    );

    // The aborted transactions reached the log, and none of their orders
    // reached the read models.
    assert!(
        !written.aborted_orders.is_empty(),
        "no aborted transaction placed an order"
    );
    let placed = committed.placed();
    assert!(
        written.aborted_orders.iter().all(|o| !placed.contains(o)),
        "a read_committed consumer sees an aborted order"
    );
    let everything = {
        let kafka = kafka.clone();
        tokio::task::spawn_blocking(move || read_log(&kafka, "read_uncommitted"))
            .await
            .unwrap()
    };
    assert!(
        everything.events() > committed.events(),
        "the aborted records are not in the log"
    );
    let db = connect(database_url).await.unwrap();
    for table in ["orders", "order_status_changes"] {
        let n: i64 = db
            .query_one(
                &format!("select count(*) from {table} where order_id = any($1)"),
                &[&written.aborted_orders],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{table} holds orders of aborted transactions");
    }

    // Nothing was dead-lettered: every record was one the models could take.
    let dead = {
        let (brokers, topic) = (kafka.brokers.clone(), dead_letters.to_owned());
        tokio::task::spawn_blocking(move || count_records(&brokers, &topic))
            .await
            .unwrap()
    };
    assert_eq!(dead, 0, "the projector dead-lettered {dead} records");
}

/// The records of a one-partition topic (blocking). The projector creates its
/// dead-letter topic as it starts.
fn count_records(brokers: &str, topic: &str) -> usize {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{topic}-checker"))
        .create()
        .unwrap();
    let (low, high) = consumer.fetch_watermarks(topic, 0, PATIENCE).unwrap();
    usize::try_from(high - low).unwrap()
}
