//! The HTTP routes of the command API. Each handler authenticates its
//! caller, checks the role and the store, parses its body into a domain
//! command, and hands it to the writer of the store's partition: the store's
//! own commands in `stores.rs`, placing and quoting in `placing.rs`, the
//! kitchen's steps in `kitchen.rs`, cancelling and refunding in `orders.rs`.

mod command;
mod headers;
mod kitchen;
mod orders;
mod placing;
mod problems;
mod settlement;
mod state;
mod stores;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{post, put};

use crate::limits::limit_placements;

pub use state::AppState;

// The handlers by name, with the path items their annotations generate, for
// the OpenAPI document (`openapi.rs`), which tags each operation with the
// module it names: `routes`.
pub(crate) use kitchen::{
    __path_accept_order, __path_complete_order, __path_ready_order, __path_reject_order,
    __path_start_order, accept_order, complete_order, ready_order, reject_order, start_order,
};
pub(crate) use orders::{__path_cancel_order, __path_refund_order, cancel_order, refund_order};
pub(crate) use placing::{__path_place_order, __path_quote_order, place_order, quote_order};
pub(crate) use stores::{
    __path_put_availability, __path_put_menu, __path_put_status, __path_put_store,
    put_availability, put_menu, put_status, put_store,
};

/// The API's routes; `server::app` adds the document, the probes and the
/// limits around them.
pub fn api(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/stores/{store_id}", put(put_store))
        .route("/v1/stores/{store_id}/menu", put(put_menu))
        .route(
            "/v1/stores/{store_id}/items/{item_id}/availability",
            put(put_availability),
        )
        .route("/v1/stores/{store_id}/status", put(put_status))
        .route("/v1/orders/quote", post(quote_order))
        .route(
            "/v1/orders",
            post(place_order).route_layer(from_fn_with_state(
                state.clone(),
                limit_placements::<AppState>,
            )),
        )
        .route("/v1/orders/{order_id}/accept", post(accept_order))
        .route("/v1/orders/{order_id}/reject", post(reject_order))
        .route("/v1/orders/{order_id}/start", post(start_order))
        .route("/v1/orders/{order_id}/ready", post(ready_order))
        .route("/v1/orders/{order_id}/complete", post(complete_order))
        .route("/v1/orders/{order_id}/cancel", post(cancel_order))
        .route("/v1/orders/{order_id}/refunds", post(refund_order))
}
