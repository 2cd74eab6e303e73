//! Loading a batch: the rows of the read models its events touch, read once
//! and locked (`for update`) within the batch's transaction.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use schemas::{Event, EventData, OrderStatus, PaymentStatus};
use uuid::Uuid;

use super::rows::{MenuRow, Models, OrderRow, Sales, SalesKey, StoreRow, sales_interval};

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
    /// Reads, and locks for the transaction, every row `events` may change.
    pub(super) async fn load(
        tx: &Transaction<'_>,
        events: &[(usize, &Event)],
    ) -> anyhow::Result<Models> {
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
                    status: status.parse::<OrderStatus>().ok().with_context(|| {
                        format!("an order row has the unknown status {status:?}")
                    })?,
                    version: row.get(3),
                    placed_at: row.get(4),
                    sale: [row.get(5), row.get(6), row.get(7)],
                    updated_at: row.get(8),
                    payment_status: payment_status
                        .as_deref()
                        .map(|status| {
                            status.parse::<PaymentStatus>().ok().with_context(|| {
                                format!("an order row has the unknown payment status {status:?}")
                            })
                        })
                        .transpose()?,
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
}
