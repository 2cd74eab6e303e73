//! The bodies' parsing: what is taken, what is refused, and what is never
//! printed.

use domain::{Currency, Money, OrderLimits};
use serde_json::{Value, json};

use super::cart::LineBody;
use super::fields::is_visible_ascii_key;
use super::money::MoneyBody;
use super::store::parse_time;
use super::*;

fn placing_body() -> Value {
    json!({
        "store_id": "downtown-42",
        "fulfillment": {"type": "pickup", "pickup_at": null},
        "lines": [{"item_id": "classic", "quantity": 1, "modifiers": []}],
        "payment": {"token": "tok_secret_4242"}
    })
}

#[test]
fn a_placing_never_prints_its_payment_token() {
    let body: PlaceOrderBody = serde_json::from_value(placing_body()).unwrap();
    assert!(!format!("{body:?}").contains("tok_secret"), "{body:?}");
    let placing = body.parse().unwrap();
    assert!(
        !format!("{placing:?}").contains("tok_secret"),
        "{placing:?}"
    );
    assert_eq!(placing.token.expose(), "tok_secret_4242");
}

#[test]
fn a_body_that_sends_an_order_id_is_refused_even_a_null_one() {
    for sent in [json!("0193a0c4-7b1e-7cc0-8f8e-000000000001"), Value::Null] {
        let mut body = placing_body();
        body["order_id"] = sent.clone();
        let placing: PlaceOrderBody = serde_json::from_value(body.clone()).unwrap();
        assert!(matches!(placing.parse(), Err(CartRefusal::OrderIdSent)));
        body.as_object_mut().unwrap().remove("payment");
        let quoting: QuoteBody = serde_json::from_value(body).unwrap();
        assert!(matches!(quoting.parse(), Err(CartRefusal::OrderIdSent)));
    }
}

#[test]
fn a_quote_takes_the_cart_without_payment_and_refuses_one() {
    let mut body = placing_body();
    assert!(serde_json::from_value::<QuoteBody>(body.clone()).is_err());
    body.as_object_mut().unwrap().remove("payment");
    let quoting = serde_json::from_value::<QuoteBody>(body)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(quoting.store_id.as_str(), "downtown-42");
    assert_eq!(quoting.cart.lines.len(), 1);
}

#[test]
fn integers_written_with_a_zero_fraction_are_integers() {
    let line = |quantity: Value| {
        serde_json::from_value::<LineBody>(json!({"item_id": "classic", "quantity": quantity}))
            .map(|l| l.quantity)
    };
    assert_eq!(line(json!(64)).unwrap(), 64);
    assert_eq!(line(json!(64.0)).unwrap(), 64);
    assert!(line(json!(64.5)).is_err());
    assert!(line(json!(-1)).is_err());
    assert!(line(json!(4294967296.0)).is_err());
    let amount = |amount: Value| {
        serde_json::from_value::<MoneyBody>(json!({"amount": amount, "currency": "USD"}))
            .map(|m| m.amount)
    };
    assert_eq!(amount(json!(11699752078.0)).unwrap(), 11_699_752_078);
    // Read from text, serde_json takes this one for 1822223428611291.2.
    let text = r#"{"amount": 1822223428611291.0, "currency": "USD"}"#;
    let money: MoneyBody = serde_json::from_str(text).unwrap();
    assert_eq!(money.amount, 1_822_223_428_611_291);
    assert!(serde_json::from_str::<MoneyBody>(r#"{"amount": 3.5, "currency": "USD"}"#).is_err());
    assert_eq!(amount(json!(i64::MIN)).unwrap(), i64::MIN);
    assert!(amount(json!(9.223372036854776e18)).is_err());
    let busy = |body: Value| serde_json::from_value::<StatusBody>(body).map(|b| b.busy_minutes);
    assert_eq!(busy(json!({"accepting_orders": true})).unwrap(), None);
    assert_eq!(
        busy(json!({"accepting_orders": true, "busy_minutes": null})).unwrap(),
        None
    );
    assert_eq!(
        busy(json!({"accepting_orders": true, "busy_minutes": 44.0})).unwrap(),
        Some(44)
    );
}

#[test]
fn times_are_two_digits_each_as_documented() {
    assert!(parse_time("09:05").is_ok());
    for refused in ["9:05", "09:5", "24:00", "09:05:00", " 9:05"] {
        assert!(parse_time(refused).is_err(), "{refused}");
    }
}

#[test]
fn two_entries_for_a_day_break_a_rule_of_the_store_not_a_field() {
    let hours = json!({"day": "mon", "open": "08:00", "close": "20:00"});
    let store = json!({
        "name": "Downtown 42",
        "timezone": "America/New_York",
        "currency": "USD",
        "tax_rate_bps": 875,
        "hours": [hours, hours],
        "pickup": {"slot_minutes": 15, "lead_minutes": 10, "max_orders_per_slot": 20, "max_days_ahead": 7}
    });
    let refusal = serde_json::from_value::<StoreBody>(store)
        .unwrap()
        .parse()
        .unwrap_err();
    assert!(matches!(refusal, StoreRefusal::Rule(_)), "{refusal:?}");
}

#[test]
fn tokens_and_keys_are_visible_ascii() {
    assert!(is_visible_ascii_key("tok_visa"));
    assert!(is_visible_ascii_key(&"k".repeat(255)));
    for refused in [String::new(), "k".repeat(256), "a b".into(), "é".into()] {
        assert!(!is_visible_ascii_key(&refused), "{refused}");
    }
}

#[test]
fn store_limits_default_and_are_parsed_in_minor_units() {
    let mut store = json!({
        "name": "Downtown 42",
        "timezone": "America/New_York",
        "currency": "USD",
        "tax_rate_bps": 875,
        "pickup": {"slot_minutes": 15, "lead_minutes": 10, "max_orders_per_slot": 20, "max_days_ahead": 7}
    });
    let usd = Currency::parse("USD").unwrap();
    let profile = serde_json::from_value::<StoreBody>(store.clone())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(profile.limits, OrderLimits::defaults(usd));
    store["limits"] = json!({"max_tip": {"amount": 900, "currency": "USD"}});
    let profile = serde_json::from_value::<StoreBody>(store)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(profile.limits.max_tip, Money::new(900, usd));
    assert_eq!(
        profile.limits.max_order_total,
        OrderLimits::defaults(usd).max_order_total
    );
}
