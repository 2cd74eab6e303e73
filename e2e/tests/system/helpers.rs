//! What the end-to-end tests share beyond `test_system`: the test store's
//! profile, tokens for other callers, and assertions on problem answers.

use platform::Role;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub use test_system::fixtures::{FEEDBACK_SECRET, Order, STORE, StoreProfile, menu};
pub use test_system::{PATIENCE, Service, System};

/// A token for the test services; see `testkit::token`.
pub fn token(role: Role, sub: &str, stores: &[&str]) -> String {
    testkit::token(role, sub, stores).unwrap()
}

/// The profile of the test store, [`STORE`], with room for
/// `max_orders_per_slot` orders in each 15-minute slot.
pub fn store_body(max_orders_per_slot: u32) -> Value {
    StoreProfile {
        max_orders_per_slot,
        ..StoreProfile::named("E2E Downtown")
    }
    .body()
}

/// What no route of the service at `base` takes is a problem too: `404
/// not_found` for an unknown path, `405 method_not_allowed` for `method` on
/// `path`.
pub async fn expect_fallbacks(http: &reqwest::Client, base: &str, method: Method, path: &str) {
    let unknown = http.get(format!("{base}/v1/nowhere")).send().await.unwrap();
    expect(unknown, StatusCode::NOT_FOUND, Some("not_found")).await;
    let wrong = http
        .request(method, format!("{base}{path}"))
        .send()
        .await
        .unwrap();
    expect(
        wrong,
        StatusCode::METHOD_NOT_ALLOWED,
        Some("method_not_allowed"),
    )
    .await;
}

/// Asserts the status and `code` of an answer, and returns its body.
pub async fn expect(response: reqwest::Response, status: StatusCode, code: Option<&str>) -> Value {
    let actual = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{body}");
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(
            content_type.as_deref(),
            Some("application/problem+json"),
            "{status}: {body}"
        );
    }
    if let Some(code) = code {
        assert_eq!(body["code"], code, "{body}");
    }
    body
}
