//! How each event changes the read models. Every write is guarded by the
//! aggregate version, so applying an event the models already hold changes
//! nothing.

use anyhow::Context;
use schemas::{Event, EventData};
use tokio_postgres::Transaction;

pub async fn apply(tx: &Transaction<'_>, event: &Event) -> anyhow::Result<()> {
    let version = i64::try_from(event.meta.version).context("aggregate version out of range")?;
    match &event.data {
        EventData::StoreConfigured(e) => {
            tx.execute(
                "insert into stores (store_id, name, timezone, currency, tax_rate_bps, hours, pickup, \
                                     version, updated_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 on conflict (store_id) do update set \
                   name = excluded.name, timezone = excluded.timezone, currency = excluded.currency, \
                   tax_rate_bps = excluded.tax_rate_bps, hours = excluded.hours, \
                   pickup = excluded.pickup, version = excluded.version, \
                   updated_at = excluded.updated_at \
                 where stores.version < excluded.version",
                &[
                    &e.store_id,
                    &e.name,
                    &e.timezone,
                    &e.currency,
                    &i32::try_from(e.tax_rate_bps).context("tax rate out of range")?,
                    &serde_json::to_value(&e.hours)?,
                    &serde_json::to_value(&e.pickup)?,
                    &version,
                    &event.meta.time,
                ],
            )
            .await
            .context("upserting a store")?;
        }
        EventData::MenuPublished(e) => {
            tx.execute(
                "insert into menus (store_id, menu_version, categories, published_at) \
                 values ($1, $2, $3, $4) \
                 on conflict (store_id) do update set \
                   menu_version = excluded.menu_version, categories = excluded.categories, \
                   published_at = excluded.published_at \
                 where menus.menu_version < excluded.menu_version",
                &[
                    &e.store_id,
                    &i32::try_from(e.menu_version).context("menu version out of range")?,
                    &serde_json::to_value(&e.categories)?,
                    &event.meta.time,
                ],
            )
            .await
            .context("upserting a menu")?;
            tx.execute(
                "update stores set version = $2, updated_at = $3 \
                 where store_id = $1 and version < $2",
                &[&e.store_id, &version, &event.meta.time],
            )
            .await
            .context("bumping a store's version")?;
        }
        EventData::OrderPlaced(e) => {
            tx.execute(
                "insert into orders (order_id, store_id, status, version, lines, totals, pickup_at, \
                                     asap, placed_at, updated_at) \
                 values ($1, $2, 'placed', $3, $4, $5, $6, $7, $8, $9) \
                 on conflict (order_id) do nothing",
                &[
                    &e.order_id,
                    &e.store_id,
                    &version,
                    &serde_json::to_value(&e.lines)?,
                    &serde_json::to_value(&e.totals)?,
                    &e.pickup_at,
                    &e.asap,
                    &e.placed_at,
                    &event.meta.time,
                ],
            )
            .await
            .context("inserting an order")?;
        }
    }
    Ok(())
}
