//! The OpenAPI 3.1 document of the query API, generated from the handlers'
//! and bodies' annotations and served at `/openapi.json`.

use platform::BearerAuth;
use utoipa::OpenApi;

use crate::routes;

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "QSR query API",
        description = "Reads of the quick-service-restaurant ordering system, from read models the \
                       projector keeps: stores, menus with live availability, orders with \
                       read-your-writes (`min_version`) and live status events, kitchen queues, \
                       customers' histories and hourly sales. Errors are RFC 9457 problem+json \
                       with a stable `code`.",
    ),
    paths(
        routes::stores::get_store,
        routes::stores::get_menu,
        routes::stores::kitchen_queue,
        routes::sales::get_sales,
        routes::orders::get_order,
        routes::orders::order_events,
        routes::orders::customer_orders,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    /// The document lists every query route of the router, as OpenAPI 3.1.
    #[test]
    fn documents_every_query_route() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/v1/stores/{store_id}",
            "/v1/stores/{store_id}/menu",
            "/v1/stores/{store_id}/orders",
            "/v1/stores/{store_id}/sales",
            "/v1/orders/{order_id}",
            "/v1/orders/{order_id}/events",
            "/v1/customers/me/orders",
        ] {
            assert!(
                paths[path]["get"].is_object(),
                "GET {path} is not documented"
            );
        }
        // Token routes document their refusals as problems.
        let refusals = &doc["paths"]["/v1/stores/{store_id}/orders"]["get"]["responses"];
        for status in ["401", "403"] {
            let problem = &refusals[status]["content"]["application/problem+json"]["schema"];
            assert_eq!(
                problem["$ref"], "#/components/schemas/Problem",
                "{status}: {refusals}"
            );
        }
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for schema in [
            "StoreView",
            "MenuView",
            "OrderView",
            "OrderPage",
            "SalesView",
            "Problem",
        ] {
            assert!(schemas.contains_key(schema), "no schema {schema}");
        }
    }

    /// The parameter `name` of `GET path`, as the document states it.
    fn parameter(doc: &serde_json::Value, path: &str, name: &str) -> serde_json::Value {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("GET {path} has no parameter {name}"))
            .clone()
    }

    /// Generated clients learn from the document what the server accepts:
    /// every rule the handlers enforce is stated (the contract fuzz in
    /// `e2e/tests/system/fuzz.rs` checks the document against the server).
    #[test]
    fn states_the_rules_the_server_enforces() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for path in [
            "/v1/stores/{store_id}",
            "/v1/stores/{store_id}/menu",
            "/v1/stores/{store_id}/orders",
            "/v1/stores/{store_id}/sales",
        ] {
            let store = parameter(&doc, path, "store_id");
            assert_eq!(store["in"], "path");
            assert_eq!(
                store["schema"]["pattern"], "^[a-z0-9][a-z0-9-]{0,63}$",
                "{path}"
            );
        }
        for path in ["/v1/orders/{order_id}", "/v1/orders/{order_id}/events"] {
            assert_eq!(
                parameter(&doc, path, "order_id")["schema"]["format"],
                "uuid"
            );
        }
        for path in ["/v1/stores/{store_id}/orders", "/v1/customers/me/orders"] {
            let limit = &parameter(&doc, path, "limit")["schema"];
            assert_eq!(
                (&limit["minimum"], &limit["maximum"]),
                (&1.into(), &200.into())
            );
            assert_eq!(parameter(&doc, path, "after")["schema"]["format"], "uuid");
        }
        let status = parameter(&doc, "/v1/stores/{store_id}/orders", "status");
        assert_eq!(
            (&status["style"], &status["explode"]),
            (&"form".into(), &false.into())
        );
        assert_eq!(status["schema"]["minItems"], 1);
        let order = "/v1/orders/{order_id}";
        assert_eq!(
            parameter(&doc, order, "wait_ms")["schema"]["maximum"],
            10_000
        );
        assert_eq!(
            parameter(&doc, order, "min_version")["schema"]["minimum"],
            0
        );
        let resume = parameter(&doc, "/v1/orders/{order_id}/events", "Last-Event-ID");
        assert_eq!(resume["schema"]["minimum"], 0);
        assert_eq!(
            parameter(&doc, "/v1/stores/{store_id}/sales", "date")["schema"]["format"],
            "date"
        );
        let statuses = doc["components"]["schemas"]["OrderStatus"]["enum"].clone();
        assert_eq!(
            statuses,
            serde_json::json!([
                "placed",
                "accepted",
                "in_preparation",
                "ready",
                "completed",
                "rejected",
                "cancelled"
            ])
        );
    }
}
