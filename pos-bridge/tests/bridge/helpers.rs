//! What the bridge's tests share beyond `test_system`: the system around the
//! bridge (each test starts its own bridges), the stores they open, and the
//! order they place.

use chrono::{DateTime, Utc};
use platform::Role;
use serde_json::{Value, json};
use test_system::fixtures::{Order, StoreProfile};
use tokio::net::TcpListener;

pub use test_system::fixtures::{FEEDBACK_SECRET, KDS_SECRET};
pub use test_system::{PATIENCE, System, eventually, store_settings};

/// A token for the test services; see `testkit::token`.
pub fn token(role: Role, sub: &str, stores: &[&str]) -> String {
    testkit::token(role, sub, stores).unwrap()
}

pub async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// command-api, the projector and query-api, without a bridge.
pub async fn spawn_env() -> System {
    System::builder()
        .prefix("bridge-test")
        .db_pool_size(8)
        .start()
        .await
        .unwrap()
}

/// A store open around the clock with one-minute slots and no lead time.
pub fn store_profile(store_id: &str) -> Value {
    StoreProfile {
        slot_minutes: 1,
        lead_minutes: 0,
        ..StoreProfile::named(format!("Store {store_id}"))
    }
    .body()
}

/// Places two classic burgers with cheddar and a note; answers the
/// response's status and body.
pub async fn try_place(
    env: &System,
    store_id: &str,
    pickup_at: Option<DateTime<Utc>>,
) -> (u16, Value) {
    let body = Order {
        lines: json!([{"item_id": "classic", "quantity": 2, "modifiers": ["cheddar"], "note": "no onions"}]),
        pickup_at,
        ..Order::at(store_id)
    }
    .body();
    let response = env.post("/v1/orders", &env.tokens.customer, &body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Places an order; answers its id.
pub async fn place(env: &System, store_id: &str, pickup_at: Option<DateTime<Utc>>) -> uuid::Uuid {
    let (status, body) = try_place(env, store_id, pickup_at).await;
    assert_eq!(status, 201, "{body}");
    body["order_id"].as_str().unwrap().parse().unwrap()
}
