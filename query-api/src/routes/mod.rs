//! The HTTP routes of the query API: one file per group of routes (`stores`,
//! `orders`, `sales`), over what they share (`state`, `http`, `order_record`,
//! `paging`). Modules import downward only: a route file never imports
//! another route file.

mod http;
mod order_record;
pub(crate) mod orders;
mod paging;
pub(crate) mod sales;
mod state;
pub(crate) mod stores;

use axum::Router;
use axum::routing::get;

pub use state::AppState;

/// The API's routes, without the probes, the OpenAPI document or the layers
/// around them (see `app.rs`).
pub(crate) fn api() -> Router<AppState> {
    Router::new()
        .route("/v1/stores/{store_id}", get(stores::get_store))
        .route("/v1/stores/{store_id}/menu", get(stores::get_menu))
        .route("/v1/stores/{store_id}/orders", get(stores::kitchen_queue))
        .route("/v1/stores/{store_id}/sales", get(sales::get_sales))
        .route("/v1/orders/{order_id}", get(orders::get_order))
        .route("/v1/orders/{order_id}/events", get(orders::order_events))
        .route("/v1/customers/me/orders", get(orders::customer_orders))
}
