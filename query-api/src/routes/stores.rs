//! Reads about stores: profile and slots, menu, kitchen queue.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::Client;
use domain::{StoreProfile, next_slot_at_or_after, slot_start};
use platform::{Caller, Problem, ProblemBody, Role};
use schemas::{CategoryV1, HoursV1, OrderStatus, PickupV1, StoreConfiguredV1};
use serde::Deserialize;
use uuid::Uuid;

use super::http::{
    Conditional, StorePath, conditional, etag_of, internal, invalid_query, json_bytes, local,
    not_found, parse_store_id,
};
use super::order_record::ORDER_COLUMNS;
use super::paging::{cursor, limit, page};
use super::state::{AppState, RENDERED_MAX, Rendered};
use crate::dto::{
    MenuCategory, MenuGroup, MenuItem, MenuOption, MenuView, Money, OpeningHours, OrderPage,
    Pickup, Slot, StoreView,
};
use crate::params::Params;

/// How many upcoming slots a store's profile lists.
const SLOTS_SHOWN: usize = 8;

#[utoipa::path(
    get,
    path = "/v1/stores/{store_id}",
    params(StorePath, Conditional),
    responses(
        (status = 200, description = "The profile, open now or not, accepting or busy, and the next pickup slots with room (anyone)", body = StoreView, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the `If-None-Match` tag", headers(("ETag" = String))),
        (status = 404, description = "`store_not_found`: no such store (an id not of the id form names none)", body = ProblemBody, content_type = "application/problem+json"),
        platform::Overload,
    )
)]
pub(crate) async fn get_store(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let store_id = parse_store_id(store_id, "store_not_found")?;
    let client = platform::connection(&state.pool).await?;
    let statement = client
        .prepare_cached(
            "select name, timezone, currency, tax_rate_bps, hours, pickup, version, \
                    accepting_orders, busy_minutes \
             from stores where store_id = $1",
        )
        .await
        .map_err(internal)?;
    let row = client
        .query_opt(&statement, &[&store_id])
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found("store_not_found", "the store"))?;
    let configured = StoreConfiguredV1 {
        store_id: store_id.clone(),
        name: row.get(0),
        timezone: row.get(1),
        currency: row.get(2),
        tax_rate_bps: u32::try_from(row.get::<_, i32>(3)).map_err(internal)?,
        hours: serde_json::from_value(row.get(4)).map_err(internal)?,
        pickup: serde_json::from_value(row.get(5)).map_err(internal)?,
    };
    let profile = configured.to_domain().map_err(internal)?;
    let accepting_orders: bool = row.get(7);
    let busy_minutes = u32::try_from(row.get::<_, i32>(8)).map_err(internal)?;
    let now = Utc::now();
    let next_pickup_slots = if accepting_orders {
        open_slots(&client, &store_id, &profile, busy_minutes, now).await?
    } else {
        Vec::new()
    };
    let body = StoreView {
        open_now: profile.hours.is_open(profile.timezone, now),
        store_id,
        name: configured.name,
        timezone: configured.timezone,
        currency: configured.currency,
        tax_rate_bps: configured.tax_rate_bps,
        hours: configured.hours.iter().map(opening_hours).collect(),
        pickup: pickup(&configured.pickup),
        accepting_orders,
        busy_minutes,
        next_pickup_slots,
        version: row.get(6),
    };
    // Open or not and the slots change with the clock and with orders, so the
    // tag is of the whole body.
    let bytes = serde_json::to_vec(&body).map_err(internal)?;
    Ok(conditional(
        &headers,
        &etag_of(&[&bytes]),
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            bytes,
        ),
    ))
}

fn opening_hours(h: &HoursV1) -> OpeningHours {
    let day = serde_json::to_value(h.day)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    OpeningHours {
        day,
        open: h.open.clone(),
        close: h.close.clone(),
    }
}

fn pickup(p: &PickupV1) -> Pickup {
    Pickup {
        slot_minutes: p.slot_minutes,
        lead_minutes: p.lead_minutes,
        max_orders_per_slot: p.max_orders_per_slot,
        max_days_ahead: p.max_days_ahead,
    }
}

/// The next slots a customer could pick, by the rules the domain places
/// orders with: from now plus lead and busy minutes, within the hours and the
/// days ahead, with fewer live orders than the slot takes.
async fn open_slots(
    client: &Client,
    store_id: &str,
    profile: &StoreProfile,
    busy_minutes: u32,
    now: DateTime<Utc>,
) -> Result<Vec<Slot>, Problem> {
    let (tz, settings) = (profile.timezone, profile.pickup);
    let earliest = now + Duration::minutes(i64::from(settings.lead_minutes + busy_minutes));
    let latest = now + Duration::days(i64::from(settings.max_days_ahead));
    let statement = client
        .prepare_cached(
            "select slot, count(*) from orders \
             where store_id = $1 and slot >= $2 and slot <= $3 \
               and status <> all($4) \
             group by slot",
        )
        .await
        .map_err(internal)?;
    let taken: HashMap<DateTime<Utc>, i64> = client
        .query(
            &statement,
            &[
                &store_id,
                &slot_start(tz, settings.slot_minutes, earliest),
                &latest,
                &slot_free_statuses(),
            ],
        )
        .await
        .map_err(internal)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let capacity = i64::from(settings.max_orders_per_slot);
    let mut slots = Vec::new();
    let mut at = next_slot_at_or_after(tz, settings.slot_minutes, earliest);
    while slots.len() < SLOTS_SHOWN && at <= latest {
        let remaining = capacity - taken.get(&at).copied().unwrap_or(0);
        if remaining > 0 && profile.hours.is_open(tz, at) {
            slots.push(Slot {
                start: local(at, tz),
                remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            });
        }
        at = next_slot_at_or_after(tz, settings.slot_minutes, at + Duration::seconds(1));
    }
    Ok(slots)
}

#[utoipa::path(
    get,
    path = "/v1/stores/{store_id}/menu",
    params(StorePath, Conditional),
    responses(
        (status = 200, description = "The menu with live availability (anyone)", body = MenuView, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the `If-None-Match` tag", headers(("ETag" = String))),
        (status = 404, description = "`menu_not_found`: no such store, or no menu published", body = ProblemBody, content_type = "application/problem+json"),
        platform::Overload,
    )
)]
pub(crate) async fn get_menu(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let store_id = parse_store_id(store_id, "menu_not_found")?;
    // Read before the database: a change after this makes the entry stale.
    let generation = state.changes.generation();
    if let Some(hit) = generation.and_then(|g| {
        state
            .menus
            .get(&store_id)
            .filter(|m| m.generation == g)
            .map(|m| m.clone())
    }) {
        return Ok(conditional(&headers, &hit.etag, json_bytes(hit.body)));
    }
    let client = platform::connection(&state.pool).await?;
    let statement = client
        .prepare_cached(
            "select m.menu_version, s.unavailable, m.categories \
             from menus m join stores s using (store_id) where m.store_id = $1",
        )
        .await
        .map_err(internal)?;
    let row = client
        .query_opt(&statement, &[&store_id])
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found("menu_not_found", "a menu of this store"))?;
    let menu_version: i32 = row.get(0);
    let mut unavailable: Vec<String> = row.get(1);
    unavailable.sort();
    let etag = etag_of(&[
        &menu_version.to_be_bytes(),
        unavailable.join("\n").as_bytes(),
    ]);
    let categories: Vec<CategoryV1> = serde_json::from_value(row.get(2)).map_err(internal)?;
    let body = MenuView {
        store_id: store_id.clone(),
        menu_version,
        categories: live(categories, &unavailable),
    };
    let body = Bytes::from(serde_json::to_vec(&body).map_err(internal)?);
    if let Some(generation) = generation {
        if state.menus.len() >= RENDERED_MAX {
            state.menus.clear();
        }
        let rendered = Rendered {
            generation,
            etag: etag.clone(),
            body: body.clone(),
        };
        state.menus.insert(store_id, rendered);
    }
    Ok(conditional(&headers, &etag, json_bytes(body)))
}

/// The published categories with each item and option marked available or
/// not; `unavailable` is sorted.
fn live(categories: Vec<CategoryV1>, unavailable: &[String]) -> Vec<MenuCategory> {
    let available = |id: &str| {
        unavailable
            .binary_search_by(|u| u.as_str().cmp(id))
            .is_err()
    };
    categories
        .into_iter()
        .map(|c| MenuCategory {
            id: c.id,
            name: c.name,
            items: c
                .items
                .into_iter()
                .map(|i| MenuItem {
                    available: available(&i.id),
                    id: i.id,
                    name: i.name,
                    price: Money::from(&i.price),
                    modifier_groups: i
                        .modifier_groups
                        .into_iter()
                        .map(|g| MenuGroup {
                            id: g.id,
                            name: g.name,
                            min: g.min,
                            max: g.max,
                            options: g
                                .options
                                .into_iter()
                                .map(|o| MenuOption {
                                    available: available(&o.id),
                                    price_delta: Money::from(&o.price_delta),
                                    id: o.id,
                                    name: o.name,
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// The statuses of the orders a kitchen works on: those not ended.
fn active() -> Vec<&'static str> {
    OrderStatus::ALL
        .into_iter()
        .filter(|s| !s.is_terminal())
        .map(OrderStatus::as_str)
        .collect()
}

/// The statuses of the orders that no longer take their pickup slot.
fn slot_free_statuses() -> Vec<&'static str> {
    OrderStatus::ALL
        .into_iter()
        .filter(|s| !s.holds_slot())
        .map(OrderStatus::as_str)
        .collect()
}

/// A status of the `status` filter.
fn parse_status(name: &str) -> Result<OrderStatus, Problem> {
    use serde::de::IntoDeserializer;
    let name: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        name.into_deserializer();
    OrderStatus::deserialize(name).map_err(|e| invalid_query(format!("status: {e}")))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct QueueParams {
    /// Comma-separated statuses (`status=placed,ready`); by default the
    /// active ones (`placed`, `accepted`, `in_preparation`, `ready`).
    #[param(value_type = Vec<OrderStatus>, required = false, style = Form, explode = false, min_items = 1)]
    status: Option<String>,
    /// The `next_after` of the previous page.
    #[param(nullable = false)]
    after: Option<Uuid>,
    /// 1-200, default 50.
    #[param(minimum = 1, maximum = 200, nullable = false)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/v1/stores/{store_id}/orders",
    params(StorePath, QueueParams),
    responses(
        (status = 200, description = "The kitchen queue, oldest first (staff and pos of the store, admin)", body = OrderPage),
        (status = 400, description = "`invalid_query`: a parameter the document does not allow; `invalid_cursor`: `after` names no order of this queue", body = ProblemBody, content_type = "application/problem+json"),
        platform::Refusals,
        (status = 404, description = "`store_not_found`: the id is not of the id form", body = ProblemBody, content_type = "application/problem+json"),
        platform::Overload,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn kitchen_queue(
    State(state): State<AppState>,
    caller: Caller,
    Path(store_id): Path<String>,
    Params(params): Params<QueueParams>,
) -> Result<Json<OrderPage>, Problem> {
    caller.require(&[Role::Staff, Role::Pos, Role::Admin])?;
    caller.require_store(&store_id)?;
    let store_id = parse_store_id(store_id, "store_not_found")?;
    let limit = limit(params.limit)?;
    let statuses: Vec<&str> = match &params.status {
        None => active(),
        Some(list) => list
            .split(',')
            .map(|s| parse_status(s).map(OrderStatus::as_str))
            .collect::<Result<_, _>>()?,
    };
    let client = platform::connection(&state.pool).await?;
    let cursor = match params.after {
        None => None,
        Some(after) => Some(cursor(&client, after, |o| o.store_id == store_id).await?),
    };
    let statement = client
        .prepare_cached(&format!(
            "select {ORDER_COLUMNS} from orders o left join stores s using (store_id) \
             where o.store_id = $1 and o.status = any($2) \
               and ($3::timestamptz is null or (o.placed_at, o.order_id) > ($3, $4)) \
             order by o.placed_at, o.order_id limit $5"
        ))
        .await
        .map_err(internal)?;
    let (after_time, after_id) = cursor.unzip();
    let rows = client
        .query(
            &statement,
            &[&store_id, &statuses, &after_time, &after_id, &(limit + 1)],
        )
        .await
        .map_err(internal)?;
    page(rows, limit).map(Json)
}
