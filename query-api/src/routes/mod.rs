//! The HTTP routes of the query API and what they share.

pub(crate) mod orders;
pub(crate) mod stores;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::FromRef;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use dashmap::DashMap;
use deadpool_postgres::Pool;
use platform::{JwtKeys, Problem, ReadyCheck};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::notify::Changes;

pub(crate) use orders::{customer_orders, get_order, order_events};
pub(crate) use stores::{get_menu, get_sales, get_store, kitchen_queue};

/// What every handler reaches.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: Pool,
    pub keys: JwtKeys,
    pub changes: Changes,
    /// Cancelled when the server shuts down: event streams end then.
    pub shutdown: CancellationToken,
    /// Menus as last rendered, valid while no change came in since.
    pub menus: Arc<DashMap<String, Rendered>>,
}

/// A rendered body and its tag, as of a generation of the read models (see
/// [`Changes::generation`]).
#[derive(Debug, Clone)]
pub struct Rendered {
    generation: u64,
    etag: String,
    body: Bytes,
}

/// How many rendered menus are kept before the cache starts over.
const RENDERED_MAX: usize = 10_000;

impl FromRef<AppState> for JwtKeys {
    fn from_ref(state: &AppState) -> JwtKeys {
        state.keys.clone()
    }
}

/// The whole HTTP surface of the service.
pub fn app(state: AppState) -> Router {
    let ready_pool = state.pool.clone();
    let ready: ReadyCheck = Arc::new(move || {
        let pool = ready_pool.clone();
        Box::pin(async move { platform::postgres_ready(&pool).await })
    });
    let router = Router::new()
        .route("/v1/stores/{store_id}", get(get_store))
        .route("/v1/stores/{store_id}/menu", get(get_menu))
        .route("/v1/stores/{store_id}/orders", get(kitchen_queue))
        .route("/v1/stores/{store_id}/sales", get(get_sales))
        .route("/v1/orders/{order_id}", get(get_order))
        .route("/v1/orders/{order_id}/events", get(order_events))
        .route("/v1/customers/me/orders", get(customer_orders))
        .merge(platform::openapi_route::<_, crate::ApiDoc>())
        .layer(axum::middleware::from_fn(platform::track_requests))
        .with_state(state)
        .merge(platform::health_routes(ready));
    platform::with_problem_fallbacks(router)
}

/// A failure of ours: logged here with its cause, answered as a generic 500.
fn internal(error: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %error, "query failed");
    Problem::internal()
}

fn not_found(code: &'static str, what: &str) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        code,
        format!("{what} does not exist"),
    )
}

/// A store id from the path. One not of the id form names no store: `404`
/// with `code`, before it reaches the database.
fn parse_store_id(raw: String, code: &'static str) -> Result<String, Problem> {
    match domain::StoreId::parse(&raw) {
        Ok(_) => Ok(raw),
        Err(_) => Err(not_found(code, "the store")),
    }
}

/// The path of a store's resources, as the documents state it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Never built: handlers take `Path<String>` and parse it.
pub(crate) struct StorePath {
    /// The store's id.
    #[param(
        pattern = r"^[a-z0-9][a-z0-9-]{0,63}$",
        min_length = 1,
        max_length = 64
    )]
    store_id: String,
}

/// The path of an order's resources.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Never built: an id that is not a UUID is a `404`.
pub(crate) struct OrderPath {
    /// The order's id.
    order_id: uuid::Uuid,
}

/// A conditional read: `304 Not Modified` when the tag still matches.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Never built: `conditional` reads the header.
pub(crate) struct Conditional {
    /// An `ETag` of an earlier answer (or a comma-separated list of them, or `*`).
    #[param(rename = "If-None-Match", required = false)]
    if_none_match: String,
}

/// Where an event stream resumes.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Never built: `order_events` reads the header.
pub(crate) struct Resume {
    /// Resume after this event id (an order version).
    #[param(rename = "Last-Event-ID", required = false, minimum = 0)]
    last_event_id: i64,
}

fn invalid_query(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_query", detail)
}

/// A store's time zone; the read model holds only zones the domain accepted,
/// so an unknown one (never expected) falls back to UTC.
fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

fn local(time: DateTime<Utc>, tz: Tz) -> String {
    time.with_timezone(&tz).to_rfc3339()
}

/// An entity tag from what a response is made of.
fn etag_of(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    format!("\"{}\"", hex::encode(&hasher.finalize()[..12]))
}

/// A JSON body already serialised.
fn json_bytes(body: impl Into<Bytes>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body.into()).into_response()
}

/// `body` with `etag`, or `304 Not Modified` when the request's
/// `If-None-Match` names it (or is `*`).
fn conditional(request: &HeaderMap, etag: &str, body: impl IntoResponse) -> Response {
    let matches = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag);
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body.into_response()
    };
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}
