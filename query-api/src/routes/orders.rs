//! Reads about orders: one order (with read-your-writes), its live status
//! changes, and a customer's history.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use futures::Stream;
use platform::{Caller, Problem, ProblemBody, Role};
use serde::Deserialize;
use tokio::time::Instant;
use uuid::Uuid;

use super::http::{
    Conditional, OrderPath, Resume, conditional, internal, invalid_query, local, not_found,
};
use super::order_record::{ORDER_COLUMNS, ORDER_WITH_TIMELINE, OrderRecord, TimelineRow};
use super::paging::{cursor, limit, page};
use super::state::AppState;
use crate::dto::{OrderPage, OrderView, StatusEvent};
use crate::params::Params;
use crate::streams::StreamSlot;

/// How long a read waits for a version by default, and at most.
const DEFAULT_WAIT_MS: u64 = 2_000;
const MAX_WAIT_MS: u64 = 10_000;

fn parse_order_id(order_id: &str) -> Result<Uuid, Problem> {
    // An id that is not a UUID names no order.
    order_id
        .parse()
        .map_err(|_| not_found("order_not_found", "the order"))
}

async fn load(state: &AppState, order_id: Uuid) -> Result<Option<OrderRecord>, Problem> {
    let client = platform::connection(&state.pool).await?;
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
        platform::Overload,
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
        platform::Overload,
        (status = 404, description = "`order_not_found`", body = ProblemBody, content_type = "application/problem+json"),
        platform::TooMany,
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
    let slot = state.streams.open(&caller)?;
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
    if order.status.is_terminal()
        && changes_after(&state, order_id, after)
            .await
            .map_err(internal)?
            .is_empty()
    {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(
        Sse::new(status_changes(state, order_id, after, order.tz, slot))
            .keep_alive(KeepAlive::default())
            .into_response(),
    )
}

/// The order's status changes after version `after`, as they are projected,
/// until a final one.
fn status_changes(
    state: AppState,
    order_id: Uuid,
    after: i64,
    tz: Tz,
    slot: StreamSlot,
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
                follow.done = change.status.is_terminal();
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
    Counted(Box::pin(stream), slot)
}

/// A stream counted in `qsr_query_event_streams` while it is open, holding
/// its caller's slot.
struct Counted<S>(S, #[allow(dead_code)] StreamSlot);

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
    client
        .query(&statement, &[&order_id, &after])
        .await?
        .iter()
        .map(|r| {
            let status: String = r.get(0);
            Ok(TimelineRow {
                status: status.parse()?,
                at: r.get(1),
                version: r.get(2),
                reason: r.get(3),
            })
        })
        .collect()
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
        platform::Overload,
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
    let client = platform::connection(&state.pool).await?;
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
