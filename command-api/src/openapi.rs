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
            let operation = &paths[path][method];
            assert!(operation.is_object(), "{method} {path} is not documented");
            let mut refusals = vec!["400", "401", "403", "404", "413", "415", "422", "503"];
            if path != "/v1/orders/quote" {
                refusals.push("409");
            }
            for status in refusals {
                assert_eq!(
                    operation["responses"][status]["content"]["application/problem+json"]["schema"]
                        ["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} does not describe its {status}"
                );
            }
        }
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for schema in ["PlaceOrderBody", "OrderView", "Problem", "MenuBody"] {
            assert!(schemas.contains_key(schema), "no schema {schema}");
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        // The server assigns order ids; a quote takes no payment.
        let place = &schemas["PlaceOrderBody"]["properties"];
        assert!(place["order_id"].is_null() && place["payment"].is_object());
        let quote = &schemas["QuoteBody"]["properties"];
        assert!(quote["order_id"].is_null() && quote["payment"].is_null());
        assert_eq!(
            doc["paths"]["/v1/orders/quote"]["post"]["requestBody"]["content"]["application/json"]
                ["schema"]["$ref"],
            "#/components/schemas/QuoteBody"
        );
        assert!(schemas["StoreBody"]["properties"]["limits"].is_object());
    }

    /// The rules the handlers enforce are in the document (a sample of each
    /// kind: patterns, enums, ranges, lengths, closed objects, headers, paths).
    #[test]
    fn states_the_rules_the_server_enforces() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let id = "^[a-z0-9][a-z0-9-]{0,63}$";
        let place = &schemas["PlaceOrderBody"];
        assert_eq!(place["additionalProperties"], false);
        assert_eq!(place["properties"]["store_id"]["pattern"], id);
        assert_eq!(place["properties"]["lines"]["maxItems"], 100);
        let line = &schemas["LineBody"]["properties"];
        assert_eq!(line["quantity"]["minimum"], 1);
        assert_eq!(line["quantity"]["maximum"], 99);
        assert_eq!(line["modifiers"]["items"]["pattern"], id);
        let store = &schemas["StoreBody"]["properties"];
        assert_eq!(store["tax_rate_bps"]["maximum"], 10000);
        assert_eq!(store["currency"]["pattern"], "^[A-Z]{3}$");
        let zones = store["timezone"]["enum"].as_array().unwrap();
        assert!(zones.contains(&"America/New_York".into()), "{zones:?}");
        assert_eq!(zones.len(), chrono_tz::TZ_VARIANTS.len());
        assert_eq!(
            schemas["Limit"]["properties"]["amount"]["maximum"],
            10_000_000_000_i64
        );
        assert_eq!(
            schemas["StatusBody"]["properties"]["busy_minutes"]["maximum"],
            240
        );
        let accept = &doc["paths"]["/v1/orders/{order_id}/accept"]["post"];
        let param = |name: &str| {
            accept["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .cloned()
                .unwrap_or_else(|| panic!("no parameter {name}"))
        };
        assert_eq!(param("order_id")["schema"]["format"], "uuid");
        assert_eq!(
            param("Idempotency-Key")["schema"]["pattern"],
            "^[!-~]{1,255}$"
        );
        assert!(param("If-Match")["schema"]["pattern"].is_string());
        assert!(accept["responses"]["410"].is_object());
    }
}
