//! The OpenAPI 3.1 document of the command API, generated from the handlers'
//! and bodies' annotations and served at `/openapi.json`.

use platform::BearerAuth;
use utoipa::OpenApi;

use crate::routes;

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "QSR command API",
        description = "Commands of the quick-service-restaurant ordering system: stores, menus, \
                       availability, and orders from placement to refund. Errors are RFC 9457 \
                       problem+json with a stable `code`. Every request needs an HS256 bearer token.",
    ),
    paths(
        routes::put_store,
        routes::put_menu,
        routes::put_availability,
        routes::put_status,
        routes::quote_order,
        routes::place_order,
        routes::accept_order,
        routes::reject_order,
        routes::start_order,
        routes::ready_order,
        routes::complete_order,
        routes::cancel_order,
        routes::refund_order,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    /// The document lists every command route of the router, as OpenAPI 3.1.
    #[test]
    fn documents_every_command_route() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for (path, method) in [
            ("/v1/stores/{store_id}", "put"),
            ("/v1/stores/{store_id}/menu", "put"),
            ("/v1/stores/{store_id}/items/{item_id}/availability", "put"),
            ("/v1/stores/{store_id}/status", "put"),
            ("/v1/orders/quote", "post"),
            ("/v1/orders", "post"),
            ("/v1/orders/{order_id}/accept", "post"),
            ("/v1/orders/{order_id}/reject", "post"),
            ("/v1/orders/{order_id}/start", "post"),
            ("/v1/orders/{order_id}/ready", "post"),
            ("/v1/orders/{order_id}/complete", "post"),
            ("/v1/orders/{order_id}/cancel", "post"),
            ("/v1/orders/{order_id}/refunds", "post"),
        ] {
            assert!(
                paths[path][method].is_object(),
                "{method} {path} is not documented"
            );
        }
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for schema in ["PlaceOrderBody", "OrderView", "Problem", "MenuBody"] {
            assert!(schemas.contains_key(schema), "no schema {schema}");
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }
}
