//! How each event changes the read models. Every write is guarded by the
//! aggregate version, so applying an event the models already hold changes
//! nothing.

use anyhow::Context;
use schemas::{Event, EventData};
use tokio_postgres::Transaction;
use uuid::Uuid;

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
                "insert into orders (order_id, store_id, customer_id, status, version, lines, totals, \
                                     pickup_at, slot, asap, placed_at, updated_at) \
                 values ($1, $2, $3, 'placed', $4, $5, $6, $7, $8, $9, $10, $11) \
                 on conflict (order_id) do nothing",
                &[
                    &e.order_id,
                    &e.store_id,
                    &e.customer_id,
                    &version,
                    &serde_json::to_value(&e.lines)?,
                    &serde_json::to_value(&e.totals)?,
                    &e.pickup_at,
                    &e.slot,
                    &e.asap,
                    &e.placed_at,
                    &event.meta.time,
                ],
            )
            .await
            .context("inserting an order")?;
        }
        EventData::AvailabilityChanged(e) => {
            tx.execute(
                "update stores set \
                   unavailable = case when $2 then array_remove(unavailable, $3) \
                                 else array_append(array_remove(unavailable, $3), $3) end, \
                   version = $4, updated_at = $5 \
                 where store_id = $1 and version < $4",
                &[&e.store_id, &e.available, &e.id, &version, &event.meta.time],
            )
            .await
            .context("changing availability")?;
        }
        EventData::StatusChanged(e) => {
            let busy = i32::try_from(e.busy_minutes).context("busy minutes out of range")?;
            tx.execute(
                "update stores set accepting_orders = $2, busy_minutes = $3, version = $4, updated_at = $5 \
                 where store_id = $1 and version < $4",
                &[&e.store_id, &e.accepting_orders, &busy, &version, &event.meta.time],
            )
            .await
            .context("changing a store's status")?;
        }
        EventData::PaymentAuthorized(e) => {
            payment(tx, e.order_id, "authorized", None, version, event).await?;
        }
        EventData::PaymentCaptured(e) => {
            payment(
                tx,
                e.order_id,
                "captured",
                Some(e.amount.amount),
                version,
                event,
            )
            .await?;
        }
        EventData::PaymentVoided(e) => {
            payment(tx, e.order_id, "voided", None, version, event).await?
        }
        EventData::PaymentRefunded(e) => {
            tx.execute(
                "update orders set refunded_amount = refunded_amount + $2, \
                   payment_status = case when refunded_amount + $2 >= captured_amount \
                                    then 'refunded' else 'partially_refunded' end, \
                   version = $3, updated_at = $4 \
                 where order_id = $1 and version < $3",
                &[&e.order_id, &e.amount.amount, &version, &event.meta.time],
            )
            .await
            .context("refunding a payment")?;
        }
        EventData::OrderAccepted(e) => status(tx, e.order_id, "accepted", version, event).await?,
        EventData::OrderRejected(e) => status(tx, e.order_id, "rejected", version, event).await?,
        EventData::PreparationStarted(e) => {
            status(tx, e.order_id, "in_preparation", version, event).await?
        }
        EventData::OrderReady(e) => status(tx, e.order_id, "ready", version, event).await?,
        EventData::OrderCompleted(e) => status(tx, e.order_id, "completed", version, event).await?,
        EventData::OrderCancelled(e) => status(tx, e.order_id, "cancelled", version, event).await?,
    }
    Ok(())
}

async fn status(
    tx: &Transaction<'_>,
    order_id: Uuid,
    status: &str,
    version: i64,
    event: &Event,
) -> anyhow::Result<()> {
    tx.execute(
        "update orders set status = $2, version = $3, updated_at = $4 where order_id = $1 and version < $3",
        &[&order_id, &status, &version, &event.meta.time],
    )
    .await
    .with_context(|| format!("setting an order {status}"))?;
    Ok(())
}

async fn payment(
    tx: &Transaction<'_>,
    order_id: Uuid,
    status: &str,
    captured_amount: Option<i64>,
    version: i64,
    event: &Event,
) -> anyhow::Result<()> {
    tx.execute(
        "update orders set payment_status = $2, captured_amount = coalesce($3, captured_amount), \
           version = $4, updated_at = $5 \
         where order_id = $1 and version < $4",
        &[
            &order_id,
            &status,
            &captured_amount,
            &version,
            &event.meta.time,
        ],
    )
    .await
    .with_context(|| format!("setting a payment {status}"))?;
    Ok(())
}
