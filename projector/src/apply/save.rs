//! Saving a batch: the rows its fold changed, written back with one
//! multi-row (`unnest`) statement per table within the batch's transaction.

use anyhow::Context;
use deadpool_postgres::Transaction;
use schemas::PaymentStatus;
use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::rows::{MenuRow, Models, OrderRow, Placement, Sales, SalesKey, StatusChange, StoreRow};

impl Models {
    pub(super) async fn save(self, tx: &Transaction<'_>) -> anyhow::Result<()> {
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
                    &column(&placements, |(o, _)| o.status.as_str()),
                    &column(&placements, |(o, _)| o.version),
                    &column(&placements, |(_, p)| &p.lines),
                    &column(&placements, |(_, p)| &p.totals),
                    &column(&placements, |(_, p)| p.pickup_at),
                    &column(&placements, |(_, p)| p.slot),
                    &column(&placements, |(_, p)| p.asap),
                    &column(&placements, |(o, _)| o.placed_at),
                    &column(&placements, |(o, _)| o.updated_at),
                    &column(&placements, |(o, _)| o.payment_status.map(PaymentStatus::as_str)),
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
                    &column(&changed, |o| o.status.as_str()),
                    &column(&changed, |o| o.version),
                    &column(&changed, |o| o.updated_at),
                    &column(&changed, |o| o.payment_status.map(PaymentStatus::as_str)),
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
                &column(&rows, |c| c.status.as_str()),
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
