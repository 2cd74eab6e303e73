//! The request bodies and tokens every suite and benchmark builds the same
//! way: a store's profile, its menu, a place-order body and a token per role.
//! Plain data with defaults; a test changes what it is about with struct
//! update syntax, e.g. `StoreProfile { max_orders_per_slot: 20, ..StoreProfile::named("X") }`.

use chrono::{DateTime, Utc};
use platform::Role;
use serde_json::{Value, json};

/// The store the test tokens' staff and pos roles work at.
pub const STORE: &str = "e2e-downtown";

/// The secret a test bridge's stores sign (and check) kitchen feedback with.
pub const FEEDBACK_SECRET: &str = "test-feedback-secret-0123456789";

/// The secret of every test kitchen display's webhooks.
pub const KDS_SECRET: &str = "test-kds-secret-0123456789";

/// `amount` US cents, as the API writes money.
pub fn usd(amount: i64) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

/// A store's profile (`PUT /v1/stores/{id}`): open around the clock every
/// day, so a test passes whenever it runs.
#[derive(Debug, Clone)]
pub struct StoreProfile {
    pub name: String,
    pub timezone: String,
    pub tax_rate_bps: u32,
    pub slot_minutes: u32,
    pub lead_minutes: u32,
    pub max_orders_per_slot: u32,
    pub max_days_ahead: u32,
}

impl StoreProfile {
    /// New York, 8.75 % tax, 15-minute slots from 10 minutes ahead, 1000
    /// orders a slot, a week ahead.
    pub fn named(name: impl Into<String>) -> StoreProfile {
        StoreProfile {
            name: name.into(),
            timezone: "America/New_York".into(),
            tax_rate_bps: 875,
            slot_minutes: 15,
            lead_minutes: 10,
            max_orders_per_slot: 1000,
            max_days_ahead: 7,
        }
    }

    pub fn body(&self) -> Value {
        let hours = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .map(|day| json!({"day": day, "open": "00:00", "close": "00:00"}));
        json!({
            "name": self.name,
            "timezone": self.timezone,
            "currency": "USD",
            "tax_rate_bps": self.tax_rate_bps,
            "hours": hours,
            "pickup": {
                "slot_minutes": self.slot_minutes,
                "lead_minutes": self.lead_minutes,
                "max_orders_per_slot": self.max_orders_per_slot,
                "max_days_ahead": self.max_days_ahead
            }
        })
    }
}

/// The test menu (`PUT /v1/stores/{id}/menu`): a classic burger at $8.99
/// with an optional cheese, cheddar (+$1.00) or swiss (+$1.20).
pub fn menu() -> Value {
    json!({"categories": [{
        "id": "burgers", "name": "Burgers",
        "items": [{
            "id": "classic", "name": "Classic Burger", "price": usd(899),
            "modifier_groups": [{"id": "cheese", "name": "Cheese", "min": 0, "max": 1, "options": [
                {"id": "cheddar", "name": "Cheddar", "price_delta": usd(100)},
                {"id": "swiss", "name": "Swiss", "price_delta": usd(120)}
            ]}]
        }]
    }]})
}

/// A place-order body (`POST /v1/orders`) for pickup.
#[derive(Debug, Clone)]
pub struct Order {
    pub store_id: String,
    /// The `lines` array as the API takes it.
    pub lines: Value,
    /// In US cents; no `tip` field when `None`.
    pub tip: Option<i64>,
    /// `None`: as soon as possible.
    pub pickup_at: Option<DateTime<Utc>>,
    /// One of the payment sandbox's test tokens.
    pub payment: String,
}

impl Order {
    /// One classic burger without cheese at `store`, as soon as possible,
    /// paid with `tok_visa`.
    pub fn at(store: &str) -> Order {
        Order {
            store_id: store.to_owned(),
            lines: json!([{"item_id": "classic", "quantity": 1, "modifiers": []}]),
            tip: None,
            pickup_at: None,
            payment: "tok_visa".to_owned(),
        }
    }

    pub fn body(&self) -> Value {
        let mut body = json!({
            "store_id": self.store_id,
            "fulfillment": {"type": "pickup", "pickup_at": self.pickup_at},
            "lines": self.lines,
            "payment": {"token": self.payment}
        });
        if let Some(tip) = self.tip {
            body["tip"] = usd(tip);
        }
        body
    }
}

/// A token for each role the API knows; staff and pos tokens are for
/// [`STORE`].
#[derive(Debug, Clone)]
pub struct Tokens {
    /// `cust-1`.
    pub customer: String,
    /// `cust-2`, for what one customer may not do to another's order.
    pub other_customer: String,
    pub staff: String,
    pub pos: String,
    pub admin: String,
}

impl Tokens {
    pub fn new() -> anyhow::Result<Tokens> {
        Ok(Tokens {
            customer: crate::token(Role::Customer, "cust-1", &[])?,
            other_customer: crate::token(Role::Customer, "cust-2", &[])?,
            staff: crate::token(Role::Staff, "staff-1", &[STORE])?,
            pos: crate::token(Role::Pos, "pos-1", &[STORE])?,
            admin: crate::token(Role::Admin, "admin-1", &[])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_has_a_tip_only_when_given_one() {
        let plain = Order::at("s").body();
        assert!(plain.get("tip").is_none());
        assert_eq!(plain["fulfillment"]["pickup_at"], Value::Null);
        let tipped = Order {
            tip: Some(200),
            ..Order::at("s")
        }
        .body();
        assert_eq!(tipped["tip"], usd(200));
    }
}
