//! The HTTP routes of the query API and their handlers.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use platform::{Problem, ReadyCheck};
use serde_json::{Value, json};
use uuid::Uuid;

/// The whole HTTP surface of the service.
pub fn app(pool: Pool) -> Router {
    let ready_pool = pool.clone();
    let ready: ReadyCheck = Arc::new(move || {
        let pool = ready_pool.clone();
        Box::pin(async move { platform::postgres_ready(&pool).await })
    });
    Router::new()
        .route("/v1/orders/{order_id}", get(get_order))
        .route("/v1/stores/{store_id}", get(get_store))
        .route("/v1/stores/{store_id}/menu", get(get_menu))
        .with_state(pool)
        .merge(platform::health_routes(ready))
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

fn rfc3339_in(time: DateTime<Utc>, timezone: &str) -> String {
    match timezone.parse::<chrono_tz::Tz>() {
        Ok(tz) => time.with_timezone(&tz).to_rfc3339(),
        Err(_) => time.to_rfc3339(),
    }
}

async fn get_order(
    State(pool): State<Pool>,
    Path(order_id): Path<String>,
) -> Result<Response, Problem> {
    // An id that is not a UUID names no order.
    let Ok(order_id) = order_id.parse::<Uuid>() else {
        return Err(not_found("order_not_found", "the order"));
    };
    let client = pool.get().await.map_err(internal)?;
    let row = client
        .query_opt(
            "select o.store_id, o.status, o.version, o.lines, o.totals, o.pickup_at, o.placed_at, \
                    coalesce(s.timezone, 'UTC'), o.payment_status \
             from orders o left join stores s using (store_id) where o.order_id = $1",
            &[&order_id],
        )
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found("order_not_found", "the order"))?;
    let timezone: String = row.get(7);
    let version: i64 = row.get(2);
    let body = json!({
        "order_id": order_id.to_string(),
        "store_id": row.get::<_, String>(0),
        "status": row.get::<_, String>(1),
        "payment_status": row.get::<_, Option<String>>(8),
        "version": version,
        "lines": row.get::<_, Value>(3),
        "totals": row.get::<_, Value>(4),
        "pickup_at": rfc3339_in(row.get(5), &timezone),
        "placed_at": rfc3339_in(row.get(6), &timezone),
    });
    Ok(with_etag(&format!("\"{version}\""), axum::Json(body)))
}

async fn get_store(
    State(pool): State<Pool>,
    Path(store_id): Path<String>,
) -> Result<Response, Problem> {
    let client = pool.get().await.map_err(internal)?;
    let row = client
        .query_opt(
            "select name, timezone, currency, tax_rate_bps, hours, pickup, version \
             from stores where store_id = $1",
            &[&store_id],
        )
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found("store_not_found", "the store"))?;
    let version: i64 = row.get(6);
    let body = json!({
        "store_id": store_id,
        "name": row.get::<_, String>(0),
        "timezone": row.get::<_, String>(1),
        "currency": row.get::<_, String>(2),
        "tax_rate_bps": row.get::<_, i32>(3),
        "hours": row.get::<_, Value>(4),
        "pickup": row.get::<_, Value>(5),
        "version": version,
    });
    Ok(with_etag(&format!("\"{version}\""), axum::Json(body)))
}

async fn get_menu(
    State(pool): State<Pool>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let client = pool.get().await.map_err(internal)?;
    let row = client
        .query_opt(
            "select menu_version, categories from menus where store_id = $1",
            &[&store_id],
        )
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found("menu_not_found", "a menu of this store"))?;
    let menu_version: i32 = row.get(0);
    let etag = format!("\"menu-{menu_version}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return Ok(with_etag(&etag, StatusCode::NOT_MODIFIED));
    }
    let body = json!({
        "store_id": store_id,
        "menu_version": menu_version,
        "categories": row.get::<_, Value>(1),
    });
    Ok(with_etag(&etag, axum::Json(body)))
}

fn with_etag(etag: &str, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}
