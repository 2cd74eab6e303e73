//! How a batch of events changes the read models. The rows the batch touches
//! are read once, its events are folded into them in memory in log order, and
//! the changed rows are written back with one multi-row statement per table:
//! a batch costs the same handful of round trips however many events it holds.
//!
//! An event the models already hold (its version is not newer than the row's)
//! changes nothing, so a batch applied twice equals the batch applied once; the
//! offsets stored in the same transaction make that the exception anyway. Sales
//! add up, so they are read too and added with checked arithmetic in log order:
//! an event that would take a sum out of range is refused on its own, whatever
//! batch it arrives in, and every stored sum fits the API's 64-bit amounts.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use deadpool_postgres::Transaction;
use schemas::{Event, EventData};
use serde_json::Value;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

/// A record that the read models cannot take, and why: it goes to the
/// dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unapplied {
    /// Its index in the batch.
    pub index: usize,
    pub cause: Cause,
    pub reason: String,
}

/// Why a record was set aside, as the dead-letter metric counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// It has no value, or the value is not an event we know.
    Undecodable,
    /// An event the models have no place for (an event of an order never
    /// placed, a field beyond a column's range).
    Inapplicable,
    /// It would take a sum (sales, refunds) out of range.
    Overflow,
    /// Postgres refused what it made of it (SQLSTATE class 22 or 23).
    Refused,
}

impl Cause {
    /// The `reason` label of `qsr_projector_dead_lettered_total`.
    pub fn label(self) -> &'static str {
        match self {
            Cause::Undecodable => "undecodable",
            Cause::Inapplicable => "inapplicable",
            Cause::Overflow => "overflow",
            Cause::Refused => "refused_by_postgres",
        }
    }
}

/// Why the fold cannot take an event.
#[derive(Debug)]
struct Rejection {
    cause: Cause,
    reason: String,
}

impl Rejection {
    fn overflow(what: impl std::fmt::Display) -> Rejection {
        Rejection {
            cause: Cause::Overflow,
            reason: format!("{what} would be out of range"),
        }
    }
}

impl From<String> for Rejection {
    fn from(reason: String) -> Rejection {
        Rejection {
            cause: Cause::Inapplicable,
            reason,
        }
    }
}

impl From<&str> for Rejection {
    fn from(reason: &str) -> Rejection {
        Rejection::from(reason.to_owned())
    }
}

/// The length of a sales interval (see `V3__query_models.sql`).
pub const SALES_INTERVAL_MINUTES: i64 = 15;

/// The start of the sales interval holding `at`.
pub fn sales_interval(at: DateTime<Utc>) -> DateTime<Utc> {
    // Truncating a UTC instant to 15 minutes cannot fail: the duration is
    // positive and far below the range of a timestamp.
    at.duration_trunc(TimeDelta::minutes(SALES_INTERVAL_MINUTES))
        .unwrap_or(at)
}

#[derive(Debug, Clone)]
struct StoreRow {
    store_id: String,
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
    unavailable: Vec<String>,
}

#[derive(Debug, Clone)]
struct MenuRow {
    store_id: String,
    menu_version: i32,
    categories: Value,
    published_at: DateTime<Utc>,
}

/// What the fold needs of an order: its state, and what its sales were.
#[derive(Debug, Clone)]
struct OrderRow {
    order_id: Uuid,
    store_id: String,
    status: &'static str,
    version: i64,
    placed_at: DateTime<Utc>,
    /// Subtotal, tax and tip: what a rejection or cancellation withdraws.
    sale: [i64; 3],
    updated_at: DateTime<Utc>,
    payment_status: Option<&'static str>,
    captured_amount: i64,
    refunded_amount: i64,
    ready_at: Option<DateTime<Utc>>,
    /// What never changes after placement, for an order placed in this batch
    /// only: the rows of earlier ones are updated, never rewritten whole.
    placement: Option<Placement>,
}

#[derive(Debug, Clone)]
struct Placement {
    customer_id: Option<String>,
    lines: Value,
    totals: Value,
    pickup_at: DateTime<Utc>,
    slot: DateTime<Utc>,
    asap: bool,
}

#[derive(Debug)]
struct StatusChange {
    order_id: Uuid,
    version: i64,
    status: &'static str,
    at: DateTime<Utc>,
    reason: Option<String>,
}

/// A row of `sales_intervals`.
#[derive(Debug, Default, Clone, Copy)]
struct Sales {
    orders: i32,
    revenue: i64,
    tax: i64,
    tips: i64,
    refunds: i64,
}

impl Sales {
    /// With an order of `[subtotal, tax, tip]` added; `None` on overflow.
    fn with_order(self, [subtotal, tax, tip]: [i64; 3]) -> Option<Sales> {
        Some(Sales {
            orders: self.orders.checked_add(1)?,
            revenue: self.revenue.checked_add(subtotal)?,
            tax: self.tax.checked_add(tax)?,
            tips: self.tips.checked_add(tip)?,
            refunds: self.refunds,
        })
    }

    /// With an order of `[subtotal, tax, tip]` taken out; `None` on overflow.
    fn without_order(self, [subtotal, tax, tip]: [i64; 3]) -> Option<Sales> {
        Some(Sales {
            orders: self.orders.checked_sub(1)?,
            revenue: self.revenue.checked_sub(subtotal)?,
            tax: self.tax.checked_sub(tax)?,
            tips: self.tips.checked_sub(tip)?,
            refunds: self.refunds,
        })
    }

    fn with_refund(self, amount: i64) -> Option<Sales> {
        Some(Sales {
            refunds: self.refunds.checked_add(amount)?,
            ..self
        })
    }
}

/// A row of `sales_intervals`: a store and the start of an interval.
type SalesKey = (String, DateTime<Utc>);

/// The rows a batch reads and writes, keyed so that writing them back is
/// deterministic (sorted keys also keep concurrent writers from deadlocking).
#[derive(Debug, Default)]
struct Models {
    stores: BTreeMap<String, StoreRow>,
    menus: BTreeMap<String, MenuRow>,
    orders: BTreeMap<Uuid, OrderRow>,
    changed_stores: BTreeSet<String>,
    changed_menus: BTreeSet<String>,
    changed_orders: BTreeSet<Uuid>,
    status_changes: Vec<StatusChange>,
    /// The sales rows the batch may touch, as stored before it (a key that is
    /// absent has no row yet) and then as the fold leaves them.
    sales: BTreeMap<SalesKey, Sales>,
    changed_sales: BTreeSet<SalesKey>,
}

/// Applies `events` (in log order) to the read models within `tx`, and
/// answers the ones that could not be applied.
pub async fn apply_batch(
    tx: &Transaction<'_>,
    events: &[(usize, &Event)],
) -> anyhow::Result<Vec<Unapplied>> {
    let mut models = Models::load(tx, events).await?;
    let mut unapplied = Vec::new();
    for &(index, event) in events {
        if let Err(Rejection { cause, reason }) = models.apply(event) {
            unapplied.push(Unapplied {
                index,
                cause,
                reason,
            });
        }
    }
    models.save(tx).await?;
    Ok(unapplied)
}

fn version_of(event: &Event) -> Result<i64, String> {
    i64::try_from(event.meta.version).map_err(|_| "the aggregate version is out of range".into())
}

/// The order an order event is about, or `None` for a store event.
fn order_of(data: &EventData) -> Option<Uuid> {
    match data {
        EventData::StoreConfigured(_)
        | EventData::MenuPublished(_)
        | EventData::AvailabilityChanged(_)
        | EventData::StatusChanged(_) => None,
        EventData::OrderPlaced(e) => Some(e.order_id),
        EventData::PaymentAuthorized(e) => Some(e.order_id),
        EventData::OrderAccepted(e) => Some(e.order_id),
        EventData::OrderRejected(e) => Some(e.order_id),
        EventData::PreparationStarted(e)
        | EventData::OrderReady(e)
        | EventData::OrderCompleted(e) => Some(e.order_id),
        EventData::OrderCancelled(e) => Some(e.order_id),
        EventData::PaymentCaptured(e) => Some(e.order_id),
        EventData::PaymentVoided(e) => Some(e.order_id),
        EventData::PaymentRefunded(e) => Some(e.order_id),
    }
}

impl Models {
    async fn load(tx: &Transaction<'_>, events: &[(usize, &Event)]) -> anyhow::Result<Models> {
        let mut store_ids = BTreeSet::new();
        let mut menu_ids = BTreeSet::new();
        let mut order_ids = BTreeSet::new();
        for (_, event) in events {
            match order_of(&event.data) {
                Some(order_id) => {
                    order_ids.insert(order_id);
                }
                None => {
                    store_ids.insert(event.meta.store_id.clone());
                    if matches!(event.data, EventData::MenuPublished(_)) {
                        menu_ids.insert(event.meta.store_id.clone());
                    }
                }
            }
        }
        let mut models = Models::default();
        if !store_ids.is_empty() {
            let ids: Vec<String> = store_ids.into_iter().collect();
            for row in tx
                .query(
                    "select store_id, name, timezone, currency, tax_rate_bps, hours, pickup, version, \
                            updated_at, accepting_orders, busy_minutes, unavailable \
                     from stores where store_id = any($1) for update",
                    &[&ids],
                )
                .await
                .context("reading stores")?
            {
                let store = StoreRow {
                    store_id: row.get(0),
                    name: row.get(1),
                    timezone: row.get(2),
                    currency: row.get(3),
                    tax_rate_bps: row.get(4),
                    hours: row.get(5),
                    pickup: row.get(6),
                    version: row.get(7),
                    updated_at: row.get(8),
                    accepting_orders: row.get(9),
                    busy_minutes: row.get(10),
                    unavailable: row.get(11),
                };
                models.stores.insert(store.store_id.clone(), store);
            }
        }
        if !menu_ids.is_empty() {
            let ids: Vec<String> = menu_ids.into_iter().collect();
            for row in tx
                .query(
                    "select store_id, menu_version, categories, published_at \
                     from menus where store_id = any($1) for update",
                    &[&ids],
                )
                .await
                .context("reading menus")?
            {
                let menu = MenuRow {
                    store_id: row.get(0),
                    menu_version: row.get(1),
                    categories: row.get(2),
                    published_at: row.get(3),
                };
                models.menus.insert(menu.store_id.clone(), menu);
            }
        }
        if !order_ids.is_empty() {
            let ids: Vec<Uuid> = order_ids.into_iter().collect();
            let statement = tx
                .prepare_cached(
                    "select order_id, store_id, status, version, placed_at, \
                            (totals->'subtotal'->>'amount')::bigint, \
                            (totals->'tax'->>'amount')::bigint, (totals->'tip'->>'amount')::bigint, \
                            updated_at, payment_status, captured_amount, refunded_amount, ready_at \
                     from orders where order_id = any($1) for update",
                )
                .await
                .context("preparing to read orders")?;
            for row in tx
                .query(&statement, &[&ids])
                .await
                .context("reading orders")?
            {
                let status: String = row.get(2);
                let payment_status: Option<String> = row.get(9);
                let order = OrderRow {
                    order_id: row.get(0),
                    store_id: row.get(1),
                    status: known_status(&status)?,
                    version: row.get(3),
                    placed_at: row.get(4),
                    sale: [row.get(5), row.get(6), row.get(7)],
                    updated_at: row.get(8),
                    payment_status: payment_status.as_deref().map(known_payment).transpose()?,
                    captured_amount: row.get(10),
                    refunded_amount: row.get(11),
                    ready_at: row.get(12),
                    placement: None,
                };
                models.orders.insert(order.order_id, order);
            }
        }
        models.load_sales(tx, events).await?;
        Ok(models)
    }

    /// Reads every sales row the batch's events may change: the interval each
    /// placement falls in, the one of each refund, and for a rejection or a
    /// cancellation the interval of each placement of its order that the
    /// fold may find (the stored one, or one in the batch). A superset of what
    /// the fold touches, so a sum it writes back is always the stored one plus
    /// the batch's changes.
    async fn load_sales(
        &mut self,
        tx: &Transaction<'_>,
        events: &[(usize, &Event)],
    ) -> anyhow::Result<()> {
        let mut placements: BTreeMap<Uuid, Vec<(&str, DateTime<Utc>)>> = BTreeMap::new();
        for order in self.orders.values() {
            placements
                .entry(order.order_id)
                .or_default()
                .push((&order.store_id, order.placed_at));
        }
        for (_, event) in events {
            if let EventData::OrderPlaced(e) = &event.data {
                placements
                    .entry(e.order_id)
                    .or_default()
                    .push((&e.store_id, e.placed_at));
            }
        }
        let mut keys: BTreeSet<SalesKey> = BTreeSet::new();
        for (_, event) in events {
            let (order_id, refunded_at) = match &event.data {
                EventData::OrderPlaced(e) => {
                    keys.insert((e.store_id.clone(), sales_interval(e.placed_at)));
                    continue;
                }
                EventData::PaymentRefunded(e) => (e.order_id, Some(e.at)),
                EventData::OrderRejected(e) => (e.order_id, None),
                EventData::OrderCancelled(e) => (e.order_id, None),
                _ => continue,
            };
            for &(store_id, placed_at) in placements.get(&order_id).into_iter().flatten() {
                let at = refunded_at.unwrap_or(placed_at);
                keys.insert((store_id.to_owned(), sales_interval(at)));
            }
        }
        if keys.is_empty() {
            return Ok(());
        }
        let (stores, starts): (Vec<String>, Vec<DateTime<Utc>>) = keys.into_iter().unzip();
        let statement = tx
            .prepare_cached(
                "select store_id, interval_start, orders, revenue, tax, tips, refunds \
                 from sales_intervals \
                 where (store_id, interval_start) in \
                       (select * from unnest($1::text[], $2::timestamptz[])) \
                 for update",
            )
            .await
            .context("preparing to read sales")?;
        for row in tx
            .query(&statement, &[&stores, &starts])
            .await
            .context("reading sales")?
        {
            let sales = Sales {
                orders: row.get(2),
                revenue: row.get(3),
                tax: row.get(4),
                tips: row.get(5),
                refunds: row.get(6),
            };
            self.sales.insert((row.get(0), row.get(1)), sales);
        }
        Ok(())
    }

    /// Folds one event into the rows; `Err` says why it cannot be applied,
    /// and then the event has changed nothing.
    fn apply(&mut self, event: &Event) -> Result<(), Rejection> {
        let version = version_of(event)?;
        let time = event.meta.time;
        match &event.data {
            EventData::StoreConfigured(e) => {
                let hours = serde_json::to_value(&e.hours).map_err(|e| e.to_string())?;
                let pickup = serde_json::to_value(&e.pickup).map_err(|e| e.to_string())?;
                let tax_rate_bps =
                    i32::try_from(e.tax_rate_bps).map_err(|_| "tax rate out of range")?;
                match self.stores.get_mut(&e.store_id) {
                    Some(store) if store.version >= version => return Ok(()),
                    Some(store) => {
                        store.name.clone_from(&e.name);
                        store.timezone.clone_from(&e.timezone);
                        store.currency.clone_from(&e.currency);
                        store.tax_rate_bps = tax_rate_bps;
                        store.hours = hours;
                        store.pickup = pickup;
                        store.version = version;
                        store.updated_at = time;
                    }
                    None => {
                        self.stores.insert(
                            e.store_id.clone(),
                            StoreRow {
                                store_id: e.store_id.clone(),
                                name: e.name.clone(),
                                timezone: e.timezone.clone(),
                                currency: e.currency.clone(),
                                tax_rate_bps,
                                hours,
                                pickup,
                                version,
                                updated_at: time,
                                accepting_orders: true,
                                busy_minutes: 0,
                                unavailable: Vec::new(),
                            },
                        );
                    }
                }
                self.changed_stores.insert(e.store_id.clone());
            }
            EventData::MenuPublished(e) => {
                let Some(store) = self.store(&e.store_id, version)? else {
                    return Ok(());
                };
                store.version = version;
                store.updated_at = time;
                // As the domain does: what the new menu no longer has cannot
                // stay taken off.
                let ids: std::collections::HashSet<&str> = e
                    .categories
                    .iter()
                    .flat_map(|c| &c.items)
                    .flat_map(|i| {
                        std::iter::once(i.id.as_str()).chain(
                            i.modifier_groups
                                .iter()
                                .flat_map(|g| g.options.iter().map(|o| o.id.as_str())),
                        )
                    })
                    .collect();
                store.unavailable.retain(|id| ids.contains(id.as_str()));
                let menu = MenuRow {
                    store_id: e.store_id.clone(),
                    menu_version: i32::try_from(e.menu_version)
                        .map_err(|_| "menu version out of range")?,
                    categories: serde_json::to_value(&e.categories).map_err(|e| e.to_string())?,
                    published_at: time,
                };
                self.menus.insert(e.store_id.clone(), menu);
                self.changed_stores.insert(e.store_id.clone());
                self.changed_menus.insert(e.store_id.clone());
            }
            EventData::AvailabilityChanged(e) => {
                let Some(store) = self.store(&e.store_id, version)? else {
                    return Ok(());
                };
                store.unavailable.retain(|id| id != &e.id);
                if !e.available {
                    store.unavailable.push(e.id.clone());
                }
                store.version = version;
                store.updated_at = time;
                self.changed_stores.insert(e.store_id.clone());
            }
            EventData::StatusChanged(e) => {
                let Some(store) = self.store(&e.store_id, version)? else {
                    return Ok(());
                };
                store.accepting_orders = e.accepting_orders;
                store.busy_minutes =
                    i32::try_from(e.busy_minutes).map_err(|_| "busy minutes out of range")?;
                store.version = version;
                store.updated_at = time;
                self.changed_stores.insert(e.store_id.clone());
            }
            EventData::OrderPlaced(e) => {
                if self.orders.contains_key(&e.order_id) {
                    // The first event of an order: one the models hold already.
                    return Ok(());
                }
                let lines = serde_json::to_value(&e.lines).map_err(|e| e.to_string())?;
                let totals = serde_json::to_value(&e.totals).map_err(|e| e.to_string())?;
                let sale = [
                    e.totals.subtotal.amount,
                    e.totals.tax.amount,
                    e.totals.tip.amount,
                ];
                let (key, sales) = self.sales_at(&e.store_id, e.placed_at);
                let sales = sales.with_order(sale).ok_or_else(|| sales_overflow(&key))?;
                self.orders.insert(
                    e.order_id,
                    OrderRow {
                        order_id: e.order_id,
                        store_id: e.store_id.clone(),
                        status: "placed",
                        version,
                        placed_at: e.placed_at,
                        sale,
                        updated_at: time,
                        payment_status: None,
                        captured_amount: 0,
                        refunded_amount: 0,
                        ready_at: None,
                        placement: Some(Placement {
                            customer_id: e.customer_id.clone(),
                            lines,
                            totals,
                            pickup_at: e.pickup_at,
                            slot: e.slot,
                            asap: e.asap,
                        }),
                    },
                );
                self.changed_orders.insert(e.order_id);
                self.status_changes.push(StatusChange {
                    order_id: e.order_id,
                    version,
                    status: "placed",
                    at: e.placed_at,
                    reason: None,
                });
                self.set_sales(key, sales);
            }
            EventData::PaymentAuthorized(e) => {
                self.payment(e.order_id, version, time, "authorized", None)?;
            }
            EventData::PaymentCaptured(e) => {
                self.payment(e.order_id, version, time, "captured", Some(e.amount.amount))?;
            }
            EventData::PaymentVoided(e) => {
                self.payment(e.order_id, version, time, "voided", None)?;
            }
            EventData::PaymentRefunded(e) => {
                let Some(order) = self.unapplied(e.order_id, version)? else {
                    return Ok(());
                };
                let refunded = order
                    .refunded_amount
                    .checked_add(e.amount.amount)
                    .ok_or_else(|| Rejection::overflow(format!("the refunds of {}", e.order_id)))?;
                let (key, sales) = self.sales_at(&order.store_id, e.at);
                let sales = sales
                    .with_refund(e.amount.amount)
                    .ok_or_else(|| sales_overflow(&key))?;
                if let Some(order) = self.order(e.order_id, version, time)? {
                    order.refunded_amount = refunded;
                    order.payment_status = Some(if refunded >= order.captured_amount {
                        "refunded"
                    } else {
                        "partially_refunded"
                    });
                }
                self.set_sales(key, sales);
            }
            EventData::OrderAccepted(e) => {
                if let Some(order) = self.order(e.order_id, version, time)? {
                    order.ready_at = e.ready_at;
                    self.status(e.order_id, version, "accepted", e.at, None);
                }
            }
            EventData::OrderRejected(e) => {
                let reason = Some(e.reason.clone());
                self.end(e.order_id, version, time, "rejected", e.at, reason)?;
            }
            EventData::PreparationStarted(e) => {
                if self.order(e.order_id, version, time)?.is_some() {
                    self.status(e.order_id, version, "in_preparation", e.at, None);
                }
            }
            EventData::OrderReady(e) => {
                if self.order(e.order_id, version, time)?.is_some() {
                    self.status(e.order_id, version, "ready", e.at, None);
                }
            }
            EventData::OrderCompleted(e) => {
                if self.order(e.order_id, version, time)?.is_some() {
                    self.status(e.order_id, version, "completed", e.at, None);
                }
            }
            EventData::OrderCancelled(e) => {
                let reason = Some(e.reason.clone());
                self.end(e.order_id, version, time, "cancelled", e.at, reason)?;
            }
        }
        Ok(())
    }

    /// The store a store event changes, or `None` when the event is one the
    /// models already hold.
    fn store(&mut self, store_id: &str, version: i64) -> Result<Option<&mut StoreRow>, String> {
        match self.stores.get_mut(store_id) {
            None => Err(format!("the store {store_id} was never configured")),
            Some(store) if store.version >= version => Ok(None),
            Some(store) => Ok(Some(store)),
        }
    }

    /// The order an order event is about, unchanged, or `None` when the event
    /// is one the models already hold.
    fn unapplied(&self, order_id: Uuid, version: i64) -> Result<Option<&OrderRow>, String> {
        match self.orders.get(&order_id) {
            None => Err(format!("the order {order_id} was never placed")),
            Some(order) if order.version >= version => Ok(None),
            Some(order) => Ok(Some(order)),
        }
    }

    /// The order an order event changes, with its version and time already
    /// moved on, or `None` when the event is one the models already hold.
    fn order(
        &mut self,
        order_id: Uuid,
        version: i64,
        time: DateTime<Utc>,
    ) -> Result<Option<&mut OrderRow>, String> {
        match self.orders.get_mut(&order_id) {
            None => Err(format!("the order {order_id} was never placed")),
            Some(order) if order.version >= version => Ok(None),
            Some(order) => {
                order.version = version;
                order.updated_at = time;
                self.changed_orders.insert(order_id);
                Ok(Some(order))
            }
        }
    }

    fn payment(
        &mut self,
        order_id: Uuid,
        version: i64,
        time: DateTime<Utc>,
        status: &'static str,
        captured: Option<i64>,
    ) -> Result<(), String> {
        if let Some(order) = self.order(order_id, version, time)? {
            order.payment_status = Some(status);
            if let Some(amount) = captured {
                order.captured_amount = amount;
            }
        }
        Ok(())
    }

    fn status(
        &mut self,
        order_id: Uuid,
        version: i64,
        status: &'static str,
        at: DateTime<Utc>,
        reason: Option<String>,
    ) {
        if let Some(order) = self.orders.get_mut(&order_id) {
            order.status = status;
        }
        self.status_changes.push(StatusChange {
            order_id,
            version,
            status,
            at,
            reason,
        });
    }

    /// A rejection or a cancellation: the order ends in `status`, and stops
    /// counting in the sales of the interval it was placed in.
    fn end(
        &mut self,
        order_id: Uuid,
        version: i64,
        time: DateTime<Utc>,
        status: &'static str,
        at: DateTime<Utc>,
        reason: Option<String>,
    ) -> Result<(), Rejection> {
        let Some(order) = self.unapplied(order_id, version)? else {
            return Ok(());
        };
        let sale = order.sale;
        let (key, sales) = self.sales_at(&order.store_id, order.placed_at);
        let sales = sales
            .without_order(sale)
            .ok_or_else(|| sales_overflow(&key))?;
        self.order(order_id, version, time)?;
        self.set_sales(key, sales);
        self.status(order_id, version, status, at, reason);
        Ok(())
    }

    /// The sales of the interval of `store_id` holding `at`, as they stand.
    fn sales_at(&self, store_id: &str, at: DateTime<Utc>) -> (SalesKey, Sales) {
        let key = (store_id.to_owned(), sales_interval(at));
        let sales = self.sales.get(&key).copied().unwrap_or_default();
        (key, sales)
    }

    fn set_sales(&mut self, key: SalesKey, sales: Sales) {
        self.sales.insert(key.clone(), sales);
        self.changed_sales.insert(key);
    }

    async fn save(self, tx: &Transaction<'_>) -> anyhow::Result<()> {
        self.save_stores(tx).await?;
        self.save_menus(tx).await?;
        self.save_orders(tx).await?;
        self.save_status_changes(tx).await?;
        self.save_sales(tx).await
    }

    async fn save_stores(&self, tx: &Transaction<'_>) -> anyhow::Result<()> {
        if self.changed_stores.is_empty() {
            return Ok(());
        }
        let rows: Vec<&StoreRow> = self
            .changed_stores
            .iter()
            .filter_map(|id| self.stores.get(id))
            .collect();
        // A text[] column cannot travel inside unnest (it would flatten), so
        // each store's unavailable ids go as one JSON array.
        let unavailable: Vec<Value> = rows
            .iter()
            .map(|s| Value::from(s.unavailable.clone()))
            .collect();
        execute(
            tx,
            "insert into stores (store_id, name, timezone, currency, tax_rate_bps, hours, pickup, \
                                 version, updated_at, accepting_orders, busy_minutes, unavailable) \
             select s.store_id, s.name, s.timezone, s.currency, s.tax_rate_bps, s.hours, s.pickup, \
                    s.version, s.updated_at, s.accepting_orders, s.busy_minutes, \
                    array(select jsonb_array_elements_text(s.unavailable)) \
             from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[], \
                         $7::jsonb[], $8::bigint[], $9::timestamptz[], $10::bool[], $11::int[], \
                         $12::jsonb[]) \
                  as s(store_id, name, timezone, currency, tax_rate_bps, hours, pickup, version, \
                       updated_at, accepting_orders, busy_minutes, unavailable) \
             on conflict (store_id) do update set \
               name = excluded.name, timezone = excluded.timezone, currency = excluded.currency, \
               tax_rate_bps = excluded.tax_rate_bps, hours = excluded.hours, \
               pickup = excluded.pickup, version = excluded.version, \
               updated_at = excluded.updated_at, accepting_orders = excluded.accepting_orders, \
               busy_minutes = excluded.busy_minutes, unavailable = excluded.unavailable \
             where stores.version < excluded.version",
            &[
                &column(&rows, |s| s.store_id.clone()),
                &column(&rows, |s| s.name.clone()),
                &column(&rows, |s| s.timezone.clone()),
                &column(&rows, |s| s.currency.clone()),
                &column(&rows, |s| s.tax_rate_bps),
                &column(&rows, |s| s.hours.clone()),
                &column(&rows, |s| s.pickup.clone()),
                &column(&rows, |s| s.version),
                &column(&rows, |s| s.updated_at),
                &column(&rows, |s| s.accepting_orders),
                &column(&rows, |s| s.busy_minutes),
                &unavailable,
            ],
        )
        .await
        .context("writing stores")?;
        Ok(())
    }

    async fn save_menus(&self, tx: &Transaction<'_>) -> anyhow::Result<()> {
        if self.changed_menus.is_empty() {
            return Ok(());
        }
        let rows: Vec<&MenuRow> = self
            .changed_menus
            .iter()
            .filter_map(|id| self.menus.get(id))
            .collect();
        execute(
            tx,
            "insert into menus (store_id, menu_version, categories, published_at) \
             select * from unnest($1::text[], $2::int[], $3::jsonb[], $4::timestamptz[]) \
             on conflict (store_id) do update set \
               menu_version = excluded.menu_version, categories = excluded.categories, \
               published_at = excluded.published_at \
             where menus.menu_version < excluded.menu_version",
            &[
                &column(&rows, |m| m.store_id.clone()),
                &column(&rows, |m| m.menu_version),
                &column(&rows, |m| m.categories.clone()),
                &column(&rows, |m| m.published_at),
            ],
        )
        .await
        .context("writing menus")?;
        Ok(())
    }

    async fn save_orders(&self, tx: &Transaction<'_>) -> anyhow::Result<()> {
        let (placed, changed): (Vec<&OrderRow>, Vec<&OrderRow>) = self
            .changed_orders
            .iter()
            .filter_map(|id| self.orders.get(id))
            .partition(|o| o.placement.is_some());
        let placements: Vec<(&OrderRow, &Placement)> = placed
            .iter()
            .filter_map(|o| o.placement.as_ref().map(|p| (*o, p)))
            .collect();
        if !placements.is_empty() {
            execute(
                tx,
                "insert into orders (order_id, store_id, customer_id, status, version, lines, totals, \
                                     pickup_at, slot, asap, placed_at, updated_at, payment_status, \
                                     captured_amount, refunded_amount, ready_at) \
                 select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], \
                                      $6::jsonb[], $7::jsonb[], $8::timestamptz[], $9::timestamptz[], \
                                      $10::bool[], $11::timestamptz[], $12::timestamptz[], $13::text[], \
                                      $14::bigint[], $15::bigint[], $16::timestamptz[]) \
                 on conflict (order_id) do nothing",
                &[
                    &column(&placements, |(o, _)| o.order_id),
                    &column(&placements, |(o, _)| o.store_id.as_str()),
                    &column(&placements, |(_, p)| p.customer_id.as_deref()),
                    &column(&placements, |(o, _)| o.status),
                    &column(&placements, |(o, _)| o.version),
                    &column(&placements, |(_, p)| &p.lines),
                    &column(&placements, |(_, p)| &p.totals),
                    &column(&placements, |(_, p)| p.pickup_at),
                    &column(&placements, |(_, p)| p.slot),
                    &column(&placements, |(_, p)| p.asap),
                    &column(&placements, |(o, _)| o.placed_at),
                    &column(&placements, |(o, _)| o.updated_at),
                    &column(&placements, |(o, _)| o.payment_status),
                    &column(&placements, |(o, _)| o.captured_amount),
                    &column(&placements, |(o, _)| o.refunded_amount),
                    &column(&placements, |(o, _)| o.ready_at),
                ],
            )
            .await
            .context("inserting orders")?;
        }
        if !changed.is_empty() {
            // Only what an event after the placement changes.
            execute(
                tx,
                "update orders o set status = u.status, version = u.version, \
                   updated_at = u.updated_at, payment_status = u.payment_status, \
                   captured_amount = u.captured_amount, refunded_amount = u.refunded_amount, \
                   ready_at = u.ready_at \
                 from unnest($1::uuid[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[], \
                             $6::bigint[], $7::bigint[], $8::timestamptz[]) \
                   as u(order_id, status, version, updated_at, payment_status, captured_amount, \
                        refunded_amount, ready_at) \
                 where o.order_id = u.order_id and o.version < u.version",
                &[
                    &column(&changed, |o| o.order_id),
                    &column(&changed, |o| o.status),
                    &column(&changed, |o| o.version),
                    &column(&changed, |o| o.updated_at),
                    &column(&changed, |o| o.payment_status),
                    &column(&changed, |o| o.captured_amount),
                    &column(&changed, |o| o.refunded_amount),
                    &column(&changed, |o| o.ready_at),
                ],
            )
            .await
            .context("updating orders")?;
        }
        Ok(())
    }

    async fn save_status_changes(&self, tx: &Transaction<'_>) -> anyhow::Result<()> {
        if self.status_changes.is_empty() {
            return Ok(());
        }
        let rows: Vec<&StatusChange> = self.status_changes.iter().collect();
        execute(
            tx,
            "insert into order_status_changes (order_id, version, status, at, reason) \
             select * from unnest($1::uuid[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[]) \
             on conflict (order_id, version) do nothing",
            &[
                &column(&rows, |c| c.order_id),
                &column(&rows, |c| c.version),
                &column(&rows, |c| c.status),
                &column(&rows, |c| c.at),
                &column(&rows, |c| c.reason.clone()),
            ],
        )
        .await
        .context("writing status changes")?;
        Ok(())
    }

    /// Writes the changed sales rows whole: they were read for update, so
    /// each holds the stored sums plus the batch's changes.
    async fn save_sales(&self, tx: &Transaction<'_>) -> anyhow::Result<()> {
        let rows: Vec<(&SalesKey, &Sales)> = self
            .changed_sales
            .iter()
            .filter_map(|key| Some((key, self.sales.get(key)?)))
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        execute(
            tx,
            "insert into sales_intervals (store_id, interval_start, orders, revenue, tax, tips, refunds) \
             select * from unnest($1::text[], $2::timestamptz[], $3::int[], $4::bigint[], \
                                  $5::bigint[], $6::bigint[], $7::bigint[]) \
             on conflict (store_id, interval_start) do update set \
               orders = excluded.orders, revenue = excluded.revenue, tax = excluded.tax, \
               tips = excluded.tips, refunds = excluded.refunds",
            &[
                &column(&rows, |((store, _), _)| store.clone()),
                &column(&rows, |((_, start), _)| *start),
                &column(&rows, |(_, s)| s.orders),
                &column(&rows, |(_, s)| s.revenue),
                &column(&rows, |(_, s)| s.tax),
                &column(&rows, |(_, s)| s.tips),
                &column(&rows, |(_, s)| s.refunds),
            ],
        )
        .await
        .context("writing sales")?;
        Ok(())
    }
}

fn sales_overflow((store_id, start): &SalesKey) -> Rejection {
    Rejection::overflow(format!(
        "the sales of store {store_id} in the interval from {start}"
    ))
}

/// Runs `sql` as a statement prepared once per connection.
async fn execute(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> anyhow::Result<u64> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&statement, params).await?)
}

/// One column of a multi-row statement.
fn column<R, T>(rows: &[R], field: impl Fn(&R) -> T) -> Vec<T> {
    rows.iter().map(field).collect()
}

fn known_status(status: &str) -> anyhow::Result<&'static str> {
    const STATUSES: [&str; 7] = [
        "placed",
        "accepted",
        "rejected",
        "in_preparation",
        "ready",
        "completed",
        "cancelled",
    ];
    STATUSES
        .into_iter()
        .find(|s| *s == status)
        .with_context(|| format!("an order row has the unknown status {status:?}"))
}

fn known_payment(status: &str) -> anyhow::Result<&'static str> {
    const STATUSES: [&str; 5] = [
        "authorized",
        "captured",
        "voided",
        "partially_refunded",
        "refunded",
    ];
    STATUSES
        .into_iter()
        .find(|s| *s == status)
        .with_context(|| format!("an order row has the unknown payment status {status:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sales_intervals_are_quarters_of_an_hour_in_utc() {
        let at: DateTime<Utc> = "2026-11-01T05:44:59.999Z".parse().unwrap();
        let start: DateTime<Utc> = "2026-11-01T05:30:00Z".parse().unwrap();
        assert_eq!(sales_interval(at), start);
        assert_eq!(sales_interval(start), start);
    }

    #[test]
    fn a_sum_out_of_range_is_refused_not_wrapped() {
        let half = 1_i64 << 62;
        let once = Sales::default().with_order([0, 0, half]).unwrap();
        assert_eq!(once.tips, half);
        assert!(once.with_order([0, 0, half]).is_none(), "2^63 tips");
        assert!(once.without_order([0, 0, -half]).is_none(), "2^63 tips");
        assert!(
            Sales::default()
                .with_order([i64::MIN, 0, 0])
                .unwrap()
                .without_order([1, 0, 0])
                .is_none()
        );
        assert!(once.with_refund(i64::MAX).unwrap().with_refund(1).is_none());
        let full = Sales {
            orders: i32::MAX,
            ..Sales::default()
        };
        assert!(full.with_order([0, 0, 0]).is_none(), "orders count");
    }
}
