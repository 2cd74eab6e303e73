//! The bridge's Postgres tables: the durable queue of tickets per sink, which
//! holds scheduled tickets until they fire and records each delivery, and the
//! stores' time zones.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use deadpool_postgres::{Pool, Transaction};
use uuid::Uuid;

use crate::ticket::Ticket;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The migration history table: the projector's migrations share the
/// database and keep their own history under refinery's default name.
const HISTORY_TABLE: &str = "pos_bridge_schema_history";

/// Creates or updates the bridge's tables.
pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    platform::migrate(
        pool,
        embedded::migrations::runner(),
        HISTORY_TABLE,
        "the bridge's tables",
    )
    .await
}

/// A ticket to queue for one sink.
#[derive(Debug, Clone)]
pub struct NewRow {
    pub ticket: Ticket,
    pub sink: String,
    pub due_at: DateTime<Utc>,
}

/// A queued ticket that is due.
#[derive(Debug, Clone)]
pub struct QueuedRow {
    pub seq: i64,
    pub ticket: Ticket,
    pub due_at: DateTime<Utc>,
    /// Failed attempts so far (kept across restarts).
    pub attempts: u32,
}

pub async fn load_timezones(pool: &Pool) -> anyhow::Result<HashMap<String, Tz>> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    let rows = client
        .query("select store_id, timezone from bridge_stores", &[])
        .await
        .context("reading the stores' time zones")?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let tz: Tz = r.get::<_, String>(1).parse().ok()?;
            Some((r.get(0), tz))
        })
        .collect())
}

pub async fn upsert_timezone(tx: &Transaction<'_>, store_id: &str, tz: Tz) -> anyhow::Result<()> {
    tx.execute(
        "insert into bridge_stores (store_id, timezone) values ($1, $2)
         on conflict (store_id) do update set timezone = excluded.timezone",
        &[&store_id, &tz.name()],
    )
    .await
    .context("recording a store's time zone")?;
    Ok(())
}

/// Queues `rows` in their order; a ticket already queued for a sink (a record
/// read again after a restart) is left as it is.
pub async fn insert_rows(tx: &Transaction<'_>, rows: &[NewRow]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut sinks = Vec::with_capacity(rows.len());
    let mut stores = Vec::with_capacity(rows.len());
    let mut orders = Vec::with_capacity(rows.len());
    let mut kinds = Vec::with_capacity(rows.len());
    let mut bodies = Vec::with_capacity(rows.len());
    let mut due = Vec::with_capacity(rows.len());
    for row in rows {
        ids.push(row.ticket.ticket_id.as_str());
        sinks.push(row.sink.as_str());
        stores.push(row.ticket.store_id.as_str());
        orders.push(row.ticket.order_id);
        kinds.push(row.ticket.kind.as_str());
        bodies.push(serde_json::to_value(&row.ticket).context("encoding a ticket")?);
        due.push(row.due_at);
    }
    tx.execute(
        "insert into bridge_tickets (ticket_id, sink, store_id, order_id, kind, body, due_at)
         select t.id, t.sink, t.store, t.order_id, t.kind, t.body, t.due
         from unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::jsonb[],
                     $7::timestamptz[])
              with ordinality as t(id, sink, store, order_id, kind, body, due, n)
         order by t.n
         on conflict (ticket_id, sink) do nothing",
        &[&ids, &sinks, &stores, &orders, &kinds, &bodies, &due],
    )
    .await
    .context("queueing tickets")?;
    Ok(())
}

/// An order was cancelled or rejected: its kitchen tickets that have not fired
/// yet are dropped, and if one fired (whether or not its printer has taken it
/// yet) that ticket is returned, so a CANCELLED ticket can follow it.
pub async fn cancel_kitchen(
    tx: &Transaction<'_>,
    order_id: Uuid,
) -> anyhow::Result<Option<Ticket>> {
    tx.execute(
        "update bridge_tickets set state = 'dropped'
         where order_id = $1 and kind = 'kitchen' and state = 'pending' and due_at > now()",
        &[&order_id],
    )
    .await
    .context("dropping kitchen tickets that have not fired")?;
    let fired = tx
        .query_opt(
            "select body from bridge_tickets
             where order_id = $1 and kind = 'kitchen' and state <> 'dropped'
             order by seq limit 1",
            &[&order_id],
        )
        .await
        .context("looking for a fired kitchen ticket")?;
    fired
        .map(|row| serde_json::from_value(row.get(0)).context("decoding a queued ticket"))
        .transpose()
}

/// The due tickets of one sink, oldest first, and how many are due in all.
pub async fn next_due(
    pool: &Pool,
    store_id: &str,
    sink: &str,
    limit: i64,
) -> anyhow::Result<(Vec<QueuedRow>, i64)> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    let rows = client
        .query(
            "select seq, body, due_at, attempts, count(*) over () from bridge_tickets
             where store_id = $1 and sink = $2 and state = 'pending' and due_at <= now()
             order by seq limit $3",
            &[&store_id, &sink, &limit],
        )
        .await
        .context("reading the queue")?;
    let depth = rows.first().map_or(0, |r| r.get::<_, i64>(4));
    let queued = rows
        .iter()
        .map(|r| {
            Ok(QueuedRow {
                seq: r.get(0),
                ticket: serde_json::from_value(r.get(1)).context("decoding a queued ticket")?,
                due_at: r.get(2),
                attempts: u32::try_from(r.get::<_, i32>(3)).unwrap_or(0),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((queued, depth))
}

/// How many of the sink's tickets are due and waiting: the queue depth that
/// `next_due` answers with its rows, without the rows.
pub async fn count_due(pool: &Pool, store_id: &str, sink: &str) -> anyhow::Result<i64> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    let row = client
        .query_one(
            "select count(*) from bridge_tickets
             where store_id = $1 and sink = $2 and state = 'pending' and due_at <= now()",
            &[&store_id, &sink],
        )
        .await
        .context("counting the due tickets")?;
    Ok(row.get(0))
}

/// When the sink's earliest pending ticket is due, if any is pending: a held
/// ticket's fire time, or a time already past for a ticket that fell due
/// since the queue was read.
pub async fn next_fire(
    pool: &Pool,
    store_id: &str,
    sink: &str,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    let row = client
        .query_one(
            "select min(due_at) from bridge_tickets
             where store_id = $1 and sink = $2 and state = 'pending'",
            &[&store_id, &sink],
        )
        .await
        .context("reading the next fire time")?;
    Ok(row.get(0))
}

pub async fn mark_delivered(pool: &Pool, seq: i64) -> anyhow::Result<()> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    client
        .execute(
            "update bridge_tickets set state = 'delivered', delivered_at = now(),
                    attempts = attempts + 1
             where seq = $1",
            &[&seq],
        )
        .await
        .context("recording a delivery")?;
    Ok(())
}

/// Records a failed attempt, so the count survives a restart.
pub async fn mark_failed(pool: &Pool, seq: i64, attempts: u32, error: &str) -> anyhow::Result<()> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
    client
        .execute(
            "update bridge_tickets set attempts = $2, last_error = $3 where seq = $1",
            &[&seq, &attempts, &error],
        )
        .await
        .context("recording a failed attempt")?;
    Ok(())
}

pub async fn mark_dead(pool: &Pool, seq: i64, attempts: u32, reason: &str) -> anyhow::Result<()> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
    client
        .execute(
            "update bridge_tickets set state = 'dead', attempts = $2, last_error = $3 where seq = $1",
            &[&seq, &attempts, &reason],
        )
        .await
        .context("recording a dead-lettered ticket")?;
    Ok(())
}

/// Queues a REPRINT copy of each kitchen and CANCELLED ticket of `store_id`
/// that fired at or after `since` and has left the queue (delivered or
/// dead-lettered), for the same sinks, due now. Answers the new rows' seqs.
pub async fn queue_reprints(
    pool: &Pool,
    store_id: &str,
    since: DateTime<Utc>,
    replay_id: Uuid,
) -> anyhow::Result<Vec<i64>> {
    let mut client = pool.get().await.context("getting a Postgres connection")?;
    let tx = client
        .transaction()
        .await
        .context("starting a transaction")?;
    let rows = tx
        .query(
            "select body, sink from bridge_tickets
             where store_id = $1 and kind in ('kitchen', 'cancelled') and due_at >= $2
               and state in ('delivered', 'dead') and not (body ? 'reprint' and (body->>'reprint')::boolean)
             order by seq",
            &[&store_id, &since],
        )
        .await
        .context("reading the tickets to replay")?;
    let mut new_rows = Vec::with_capacity(rows.len());
    for row in &rows {
        let ticket: Ticket = serde_json::from_value(row.get(0)).context("decoding a ticket")?;
        new_rows.push(NewRow {
            ticket: ticket.reprint(replay_id),
            sink: row.get(1),
            due_at: Utc::now(),
        });
    }
    insert_rows(&tx, &new_rows).await?;
    let ids: Vec<&str> = new_rows
        .iter()
        .map(|r| r.ticket.ticket_id.as_str())
        .collect();
    let seqs = tx
        .query(
            "select seq from bridge_tickets where ticket_id = any($1) order by seq",
            &[&ids],
        )
        .await
        .context("reading the queued reprints")?
        .iter()
        .map(|r| r.get(0))
        .collect();
    tx.commit().await.context("committing the reprints")?;
    Ok(seqs)
}

/// How many of `seqs` are still waiting for their sink.
pub async fn count_pending(pool: &Pool, seqs: &[i64]) -> anyhow::Result<i64> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    let row = client
        .query_one(
            "select count(*) from bridge_tickets where seq = any($1) and state = 'pending'",
            &[&seqs],
        )
        .await
        .context("counting pending reprints")?;
    Ok(row.get(0))
}

/// Deletes tickets that left the queue more than `days` ago; answers how many.
pub async fn prune(pool: &Pool, days: u32) -> anyhow::Result<u64> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    let days = i32::try_from(days).unwrap_or(i32::MAX);
    client
        .execute(
            "delete from bridge_tickets
             where state <> 'pending' and created_at < now() - make_interval(days => $1)",
            &[&days],
        )
        .await
        .context("pruning old tickets")
}
