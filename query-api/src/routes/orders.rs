//! Reads about orders: one order (with read-your-writes), its live status
//! changes, and a customer's history.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::Stream;
use platform::{Caller, Problem, ProblemBody, Role};
use schemas::{PricedLineV1, TotalsV1};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;
use tokio_postgres::Row;
use uuid::Uuid;

use super::stores::{cursor, limit, money};
use super::{
    AppState, Conditional, OrderPath, Resume, conditional, internal, invalid_query, local,
    not_found, zone,
};
use crate::dto::{
    LineModifier, OrderLine, OrderPage, OrderView, StatusEvent, TimelineEntry, Totals,
};
use crate::params::Params;

/// The columns `OrderRecord::from_row` reads, from `orders o` joined with
/// `stores s`.
pub(crate) const ORDER_COLUMNS: &str = "o.order_id, o.store_id, o.customer_id, o.status, \
     o.payment_status, o.version, o.lines, o.totals, o.pickup_at, o.asap, o.placed_at, \
     o.ready_at, coalesce(s.timezone, 'UTC')";

/// The same, with the order's timeline as a JSON array.
const ORDER_WITH_TIMELINE: &str = "select o.order_id, o.store_id, o.customer_id, o.status, \
     o.payment_status, o.version, o.lines, o.totals, o.pickup_at, o.asap, o.placed_at, \
     o.ready_at, coalesce(s.timezone, 'UTC'), \
     (select jsonb_agg(jsonb_build_object('status', c.status, 'at', c.at, 'version', c.version, \
                                          'reason', c.reason) order by c.version) \
      from order_status_changes c where c.order_id = o.order_id) \
     from orders o left join stores s using (store_id) where o.order_id = $1";

/// How long a read waits for a version by default, and at most.
const DEFAULT_WAIT_MS: u64 = 2_000;
const MAX_WAIT_MS: u64 = 10_000;

#[derive(Debug)]
pub(crate) struct OrderRecord {
    pub order_id: Uuid,
    pub store_id: String,
    pub customer_id: Option<String>,
    status: String,
    payment_status: Option<String>,
    pub version: i64,
    lines: Value,
    totals: Value,
    pickup_at: DateTime<Utc>,
    asap: bool,
    pub placed_at: DateTime<Utc>,
    ready_at: Option<DateTime<Utc>>,
    tz: Tz,
    timeline: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct TimelineRow {
    status: String,
    at: DateTime<Utc>,
    version: i64,
    reason: Option<String>,
}

impl OrderRecord {
    pub(crate) fn from_row(row: &Row) -> Result<OrderRecord, Problem> {
        let timezone: String = row.get(12);
        Ok(OrderRecord {
            order_id: row.get(0),
            store_id: row.get(1),
            customer_id: row.get(2),
            status: row.get(3),
            payment_status: row.get(4),
            version: row.get(5),
            lines: row.get(6),
            totals: row.get(7),
            pickup_at: row.get(8),
            asap: row.get(9),
            placed_at: row.get(10),
            ready_at: row.get(11),
            tz: zone(&timezone),
            timeline: if row.len() > 13 { row.get(13) } else { None },
        })
    }

    /// Whether `caller` may read it: its customer, the store's staff, admin.
    fn visible_to(&self, caller: &Caller) -> bool {
        match caller.role() {
            Role::Admin => true,
            Role::Staff => caller.0.stores.iter().any(|s| s == &self.store_id),
            Role::Customer => self.customer_id.as_deref() == Some(caller.sub()),
            Role::Pos => false,
        }
    }

    fn view(self) -> Result<OrderView, Problem> {
        let tz = self.tz;
        let lines: Vec<PricedLineV1> = serde_json::from_value(self.lines).map_err(internal)?;
        let totals: TotalsV1 = serde_json::from_value(self.totals).map_err(internal)?;
        let timeline = match self.timeline {
            None => None,
            Some(value) => {
                let rows: Vec<TimelineRow> = serde_json::from_value(value).map_err(internal)?;
                Some(
                    rows.into_iter()
                        .map(|c| TimelineEntry {
                            status: c.status,
                            at: local(c.at, tz),
                            version: c.version,
                            reason: c.reason,
                        })
                        .collect(),
                )
            }
        };
        Ok(OrderView {
            order_id: self.order_id.to_string(),
            store_id: self.store_id,
            status: self.status,
            payment_status: self.payment_status,
            version: self.version,
            lines: lines
                .iter()
                .map(|l| OrderLine {
                    item_id: l.item_id.clone(),
                    name: l.name.clone(),
                    quantity: l.quantity,
                    modifiers: l
                        .modifiers
                        .iter()
                        .map(|m| LineModifier {
                            id: m.id.clone(),
                            name: m.name.clone(),
                        })
                        .collect(),
                    note: l.note.clone(),
                    unit_price: money(&l.unit_price),
                    total: money(&l.total),
                })
                .collect(),
            totals: Totals {
                subtotal: money(&totals.subtotal),
                tax: money(&totals.tax),
                tip: money(&totals.tip),
                total: money(&totals.total),
            },
            pickup_at: local(self.pickup_at, tz),
            asap: self.asap,
            placed_at: local(self.placed_at, tz),
            ready_at: self.ready_at.map(|t| local(t, tz)),
            timeline,
        })
    }
}

/// A page of `limit` orders from rows fetched with one more than that.
pub(crate) fn page(rows: Vec<Row>, limit: i64) -> Result<OrderPage, Problem> {
    let mut records = rows
        .iter()
        .map(OrderRecord::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let more = records.len() as i64 > limit;
    records.truncate(usize::try_from(limit).unwrap_or(0));
    let next_after = if more {
        records.last().map(|o| o.order_id.to_string())
    } else {
        None
    };
    Ok(OrderPage {
        orders: records
            .into_iter()
            .map(OrderRecord::view)
            .collect::<Result<_, _>>()?,
        next_after,
    })
}

fn parse_order_id(order_id: &str) -> Result<Uuid, Problem> {
    // An id that is not a UUID names no order.
    order_id
        .parse()
        .map_err(|_| not_found("order_not_found", "the order"))
}

async fn load(state: &AppState, order_id: Uuid) -> Result<Option<OrderRecord>, Problem> {
    let client = state.pool.get().await.map_err(internal)?;
    let statement = client
        .prepare_cached(ORDER_WITH_TIMELINE)
        .await
        .map_err(internal)?;
    client
        .query_opt(&statement, &[&order_id])
        .await
        .map_err(internal)?
        .map(|row| OrderRecord::from_row(&row))
        .transpose()
}

/// The order once the read model holds at least `min_version` of it, waiting
/// on the projector's notifications until `deadline`. `404` for an order the
/// caller may not see, exactly as for one that does not exist.
async fn await_order(
    state: &AppState,
    caller: &Caller,
    order_id: Uuid,
    min_version: i64,
    deadline: Instant,
) -> Result<OrderRecord, Problem> {
    let mut changes = state.changes.clone();
    loop {
        // Seen before reading: a change landing after the read wakes the wait.
        changes.mark_seen();
        let order = load(state, order_id).await?;
        match order {
            Some(order) if !order.visible_to(caller) => {
                return Err(not_found("order_not_found", "the order"));
            }
            Some(order) if order.version >= min_version => return Ok(order),
            found if Instant::now() >= deadline => {
                return Err(match found {
                    None => not_found("order_not_found", "the order"),
                    Some(order) => Problem::new(
                        StatusCode::CONFLICT,
                        "version_not_reached",
                        format!(
                            "the order is at version {}, not yet {min_version}",
                            order.version
                        ),
                    )
                    .with_current_version(order.version),
                });
            }
            _ => {}
        }
        tokio::select! {
            () = changes.next() => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}

fn reader(caller: &Caller) -> Result<(), Problem> {
    caller.require(&[Role::Customer, Role::Staff, Role::Admin])
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrderParams {
    /// Wait until the read model holds this version of the order (the
    /// `version` a command answered with).
    #[param(minimum = 0, nullable = false)]
    min_version: Option<i64>,
    /// How long to wait for `min_version`, in milliseconds: default 2000, at
    /// most 10000.
    #[param(maximum = 10000, nullable = false)]
    wait_ms: Option<u64>,
}

/// `min_version`, which is never negative.
fn min_version(requested: Option<i64>) -> Result<Option<i64>, Problem> {
    match requested {
        Some(n) if n < 0 => Err(invalid_query(format!(
            "min_version must be at least 0, not {n}"
        ))),
        n => Ok(n),
    }
}

fn wait(wait_ms: Option<u64>) -> Result<Duration, Problem> {
    match wait_ms.unwrap_or(DEFAULT_WAIT_MS) {
        ms @ 0..=MAX_WAIT_MS => Ok(Duration::from_millis(ms)),
        ms => Err(invalid_query(format!(
            "wait_ms must be at most {MAX_WAIT_MS}, not {ms}"
        ))),
    }
}

#[utoipa::path(
    get,
    path = "/v1/orders/{order_id}",
    params(OrderPath, OrderParams, Conditional),
    responses(
        (status = 200, description = "The order with its timeline (its customer, the store's staff, admin)", body = OrderView, headers(("ETag" = String, description = "The order's version"))),
        (status = 304, description = "Unchanged since the `If-None-Match` version", headers(("ETag" = String, description = "The order's version"))),
        (status = 400, description = "`invalid_query`: a parameter the document does not allow", body = ProblemBody, content_type = "application/problem+json"),
        platform::Refusals,
        (status = 404, description = "`order_not_found`: no such order, or not one the caller may see", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`version_not_reached` within `wait_ms`, with `current_version`", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    Params(params): Params<OrderParams>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    reader(&caller)?;
    let wait = wait(params.wait_ms)?;
    let min_version = min_version(params.min_version)?;
    let order_id = parse_order_id(&order_id)?;
    let order = match min_version {
        Some(min_version) => {
            await_order(
                &state,
                &caller,
                order_id,
                min_version,
                Instant::now() + wait,
            )
            .await?
        }
        None => load(&state, order_id)
            .await?
            .filter(|o| o.visible_to(&caller))
            .ok_or_else(|| not_found("order_not_found", "the order"))?,
    };
    let etag = format!("\"{}\"", order.version);
    Ok(conditional(&headers, &etag, Json(order.view()?)))
}

#[utoipa::path(
    get,
    path = "/v1/orders/{order_id}/events",
    params(OrderPath, Resume),
    responses(
        (status = 200, description = "Server-sent events (`text/event-stream`): one `status` event per status change, in order, with the order's version as its id; the stream ends after a final status", content_type = "text/event-stream", body = StatusEvent),
        (status = 204, description = "The order has ended and nothing follows `Last-Event-ID`: stop reconnecting"),
        (status = 400, description = "`invalid_last_event_id`: not an integer of at least 0", body = ProblemBody, content_type = "application/problem+json"),
        platform::Refusals,
        (status = 404, description = "`order_not_found`", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn order_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    reader(&caller)?;
    let order_id = parse_order_id(&order_id)?;
    let after = match headers.get("last-event-id") {
        None => 0,
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|after| *after >= 0)
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_last_event_id",
                    "Last-Event-ID must be an event id this stream sent (an integer of at least 0)",
                )
            })?,
    };
    // A client may subscribe right after placing: give the projector the
    // usual read-your-writes wait to catch up.
    let deadline = Instant::now() + Duration::from_millis(DEFAULT_WAIT_MS);
    let order = await_order(&state, &caller, order_id, 1, deadline).await?;
    // An order that ended sends nothing more. `204` tells an EventSource
    // that reconnects after the final status to stop reconnecting.
    if FINAL.contains(&order.status.as_str())
        && changes_after(&state, order_id, after)
            .await
            .map_err(internal)?
            .is_empty()
    {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Sse::new(status_changes(state, order_id, after, order.tz))
        .keep_alive(KeepAlive::default())
        .into_response())
}

const FINAL: [&str; 3] = ["completed", "rejected", "cancelled"];

/// The order's status changes after version `after`, as they are projected,
/// until a final one.
fn status_changes(
    state: AppState,
    order_id: Uuid,
    after: i64,
    tz: Tz,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    struct Follow {
        state: AppState,
        after: i64,
        pending: std::collections::VecDeque<TimelineRow>,
        done: bool,
    }
    let start = Follow {
        state,
        after,
        pending: Default::default(),
        done: false,
    };
    metrics::gauge!("qsr_query_event_streams").increment(1.0);
    let stream = futures::stream::unfold(start, move |mut follow| async move {
        let mut changes = follow.state.changes.clone();
        loop {
            if let Some(change) = follow.pending.pop_front() {
                follow.after = change.version;
                follow.done = FINAL.contains(&change.status.as_str());
                let data = serde_json::json!({
                    "order_id": order_id,
                    "status": change.status,
                    "at": local(change.at, tz),
                    "version": change.version,
                    "reason": change.reason,
                });
                let event = SseEvent::default()
                    .id(change.version.to_string())
                    .event("status")
                    .data(data.to_string());
                return Some((Ok(event), follow));
            }
            if follow.done {
                return None;
            }
            changes.mark_seen();
            match changes_after(&follow.state, order_id, follow.after).await {
                Ok(rows) if !rows.is_empty() => follow.pending.extend(rows),
                Ok(_) => tokio::select! {
                    () = changes.next() => {}
                    () = follow.state.shutdown.cancelled() => return None,
                },
                Err(error) => {
                    // The client reconnects with Last-Event-ID and loses nothing.
                    tracing::warn!(error = %error, %order_id, "ending an event stream");
                    return None;
                }
            }
        }
    });
    Counted(Box::pin(stream))
}

/// A stream counted in `qsr_query_event_streams` while it is open.
struct Counted<S>(S);

impl<S: Stream + Unpin> Stream for Counted<S> {
    type Item = S::Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        std::pin::Pin::new(&mut self.0).poll_next(cx)
    }
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        metrics::gauge!("qsr_query_event_streams").decrement(1.0);
    }
}

async fn changes_after(
    state: &AppState,
    order_id: Uuid,
    after: i64,
) -> anyhow::Result<Vec<TimelineRow>> {
    let client = state.pool.get().await?;
    let statement = client
        .prepare_cached(
            "select status, at, version, reason from order_status_changes \
             where order_id = $1 and version > $2 order by version",
        )
        .await?;
    Ok(client
        .query(&statement, &[&order_id, &after])
        .await?
        .iter()
        .map(|r| TimelineRow {
            status: r.get(0),
            at: r.get(1),
            version: r.get(2),
            reason: r.get(3),
        })
        .collect())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryParams {
    /// The `next_after` of the previous page.
    #[param(nullable = false)]
    after: Option<Uuid>,
    /// 1-200, default 50.
    #[param(minimum = 1, maximum = 200, nullable = false)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/v1/customers/me/orders",
    params(HistoryParams),
    responses(
        (status = 200, description = "The calling customer's orders, newest first", body = OrderPage),
        (status = 400, description = "`invalid_query`: a parameter the document does not allow; `invalid_cursor`: `after` names no order of the customer's", body = ProblemBody, content_type = "application/problem+json"),
        platform::Refusals,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn customer_orders(
    State(state): State<AppState>,
    caller: Caller,
    Params(params): Params<HistoryParams>,
) -> Result<Json<OrderPage>, Problem> {
    caller.require(&[Role::Customer])?;
    let limit = limit(params.limit)?;
    let client = state.pool.get().await.map_err(internal)?;
    let customer = caller.sub().to_owned();
    let cursor = match params.after {
        None => None,
        Some(after) => Some(
            cursor(&client, after, |o| {
                o.customer_id.as_deref() == Some(customer.as_str())
            })
            .await?,
        ),
    };
    let (after_time, after_id) = cursor.unzip();
    let statement = client
        .prepare_cached(&format!(
            "select {ORDER_COLUMNS} from orders o left join stores s using (store_id) \
             where o.customer_id = $1 \
               and ($2::timestamptz is null or (o.placed_at, o.order_id) < ($2, $3)) \
             order by o.placed_at desc, o.order_id desc limit $4"
        ))
        .await
        .map_err(internal)?;
    let rows = client
        .query(
            &statement,
            &[&customer, &after_time, &after_id, &(limit + 1)],
        )
        .await
        .map_err(internal)?;
    page(rows, limit).map(Json)
}
