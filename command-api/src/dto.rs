//! The HTTP bodies of the command API (see API.md) and their parsing into
//! domain commands. Unknown fields are rejected; every invalid field is
//! reported, not only the first.

use chrono::{DateTime, FixedOffset, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use domain::{
    Cart, CartLine, CatalogId, Category, Currency, Menu, MenuItem, ModifierGroup, ModifierOption,
    Money, OpeningHours, Order, OrderLimits, PickupSettings, PricedLine, Quote, StoreId,
    StoreProfile, Totals, WeeklyHours,
};
use platform::FieldError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Collects field errors while parsing a body.
#[derive(Debug, Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    fn check<T, E: std::fmt::Display>(
        &mut self,
        field: impl Into<String>,
        r: Result<T, E>,
    ) -> Option<T> {
        r.map_err(|e| {
            self.0.push(FieldError {
                field: field.into(),
                message: e.to_string(),
            })
        })
        .ok()
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(self.0),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyBody {
    pub amount: i64,
    pub currency: String,
}

impl MoneyBody {
    fn parse(&self) -> Result<Money, domain::MoneyError> {
        Ok(Money::new(self.amount, Currency::parse(&self.currency)?))
    }
}

impl From<Money> for MoneyBody {
    fn from(m: Money) -> Self {
        MoneyBody {
            amount: m.amount,
            currency: m.currency.to_string(),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursBody {
    pub day: String,
    pub open: String,
    pub close: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickupBody {
    pub slot_minutes: u32,
    pub lead_minutes: u32,
    pub max_orders_per_slot: u32,
    pub max_days_ahead: u32,
}

/// What one order may cost at the store; each amount in the store's
/// currency, 1 to 10^10 minor units. An absent field takes its default.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsBody {
    /// The most an order's total may be; by default 100000 minor units
    /// (1,000.00 of a currency with two decimals). Above it: `422 order_total_too_large`.
    pub max_order_total: Option<MoneyBody>,
    /// The tip may be the larger of the order's subtotal and this amount; by
    /// default 5000 minor units. Above it: `422 tip_too_large`.
    pub max_tip: Option<MoneyBody>,
}

/// `PUT /v1/stores/{store_id}`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreBody {
    pub name: String,
    pub timezone: String,
    pub currency: String,
    pub tax_rate_bps: u32,
    #[serde(default)]
    pub hours: Vec<HoursBody>,
    pub pickup: PickupBody,
    /// Absent: the default limits.
    pub limits: Option<LimitsBody>,
}

fn parse_day(s: &str) -> Result<Weekday, String> {
    const DAYS: [(&str, Weekday); 7] = [
        ("mon", Weekday::Mon),
        ("tue", Weekday::Tue),
        ("wed", Weekday::Wed),
        ("thu", Weekday::Thu),
        ("fri", Weekday::Fri),
        ("sat", Weekday::Sat),
        ("sun", Weekday::Sun),
    ];
    DAYS.iter()
        .find(|(name, _)| *name == s)
        .map(|(_, d)| *d)
        .ok_or_else(|| format!("`{s}` is not one of mon..sun"))
}

fn parse_time(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| format!("`{s}` is not a time of day HH:MM"))
}

impl StoreBody {
    pub fn parse(self) -> Result<StoreProfile, Vec<FieldError>> {
        let mut f = Fields::default();
        let timezone = f.check(
            "timezone",
            self.timezone
                .parse::<chrono_tz::Tz>()
                .map_err(|_| format!("`{}` is not an IANA time zone", self.timezone)),
        );
        let currency = f.check("currency", Currency::parse(&self.currency));
        let mut hours = Vec::new();
        for (i, h) in self.hours.iter().enumerate() {
            let day = f.check(format!("hours[{i}].day"), parse_day(&h.day));
            let open = f.check(format!("hours[{i}].open"), parse_time(&h.open));
            let close = f.check(format!("hours[{i}].close"), parse_time(&h.close));
            if let (Some(day), Some(open), Some(close)) = (day, open, close) {
                hours.push(OpeningHours { day, open, close });
            }
        }
        let hours = f.check("hours", WeeklyHours::new(hours));
        let limits = self.limits.unwrap_or_default();
        let max_order_total = limits
            .max_order_total
            .and_then(|m| f.check("limits.max_order_total", m.parse()));
        let max_tip = limits
            .max_tip
            .and_then(|m| f.check("limits.max_tip", m.parse()));
        let profile = match (timezone, currency, hours) {
            (Some(timezone), Some(currency), Some(hours)) => Some(StoreProfile {
                name: self.name,
                timezone,
                currency,
                tax_rate_bps: self.tax_rate_bps,
                hours,
                pickup: PickupSettings {
                    slot_minutes: self.pickup.slot_minutes,
                    lead_minutes: self.pickup.lead_minutes,
                    max_orders_per_slot: self.pickup.max_orders_per_slot,
                    max_days_ahead: self.pickup.max_days_ahead,
                },
                limits: {
                    let defaults = OrderLimits::defaults(currency);
                    OrderLimits {
                        max_order_total: max_order_total.unwrap_or(defaults.max_order_total),
                        max_tip: max_tip.unwrap_or(defaults.max_tip),
                    }
                },
            }),
            _ => None,
        };
        f.finish(profile)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionBody {
    pub id: String,
    pub name: String,
    pub price_delta: MoneyBody,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    pub id: String,
    pub name: String,
    pub min: u32,
    pub max: u32,
    pub options: Vec<OptionBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    pub id: String,
    pub name: String,
    pub price: MoneyBody,
    #[serde(default)]
    pub modifier_groups: Vec<GroupBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    pub id: String,
    pub name: String,
    pub items: Vec<ItemBody>,
}

/// `PUT /v1/stores/{store_id}/menu`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuBody {
    pub categories: Vec<CategoryBody>,
}

impl MenuBody {
    pub fn parse(self) -> Result<Menu, Vec<FieldError>> {
        let mut f = Fields::default();
        let mut categories = Vec::new();
        for (ci, c) in self.categories.into_iter().enumerate() {
            let at = format!("categories[{ci}]");
            let id = f.check(format!("{at}.id"), CatalogId::parse(&c.id));
            let mut items = Vec::new();
            for (ii, item) in c.items.into_iter().enumerate() {
                let at = format!("{at}.items[{ii}]");
                let id = f.check(format!("{at}.id"), CatalogId::parse(&item.id));
                let price = f.check(format!("{at}.price"), item.price.parse());
                let mut groups = Vec::new();
                for (gi, g) in item.modifier_groups.into_iter().enumerate() {
                    let at = format!("{at}.modifier_groups[{gi}]");
                    let id = f.check(format!("{at}.id"), CatalogId::parse(&g.id));
                    let mut options = Vec::new();
                    for (oi, o) in g.options.into_iter().enumerate() {
                        let at = format!("{at}.options[{oi}]");
                        let id = f.check(format!("{at}.id"), CatalogId::parse(&o.id));
                        let delta = f.check(format!("{at}.price_delta"), o.price_delta.parse());
                        if let (Some(id), Some(price_delta)) = (id, delta) {
                            options.push(ModifierOption {
                                id,
                                name: o.name,
                                price_delta,
                            });
                        }
                    }
                    if let Some(id) = id {
                        groups.push(ModifierGroup {
                            id,
                            name: g.name,
                            min: g.min,
                            max: g.max,
                            options,
                        });
                    }
                }
                if let (Some(id), Some(price)) = (id, price) {
                    items.push(MenuItem {
                        id,
                        name: item.name,
                        price,
                        modifier_groups: groups,
                    });
                }
            }
            if let Some(id) = id {
                categories.push(Category {
                    id,
                    name: c.name,
                    items,
                });
            }
        }
        f.finish(Some(Menu { categories }))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfillmentBody {
    #[serde(rename = "type")]
    pub kind: String,
    pub pickup_at: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    pub item_id: String,
    pub quantity: u32,
    #[serde(default)]
    pub modifiers: Vec<String>,
    pub note: Option<String>,
}

/// A payment token of the gateway: 1-255 characters. It stands for a card, so
/// it never appears in `Debug` output (logs, traces, panics).
#[derive(Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String)]
pub struct PaymentToken(String);

impl PaymentToken {
    fn check(&self) -> Result<(), &'static str> {
        if self.0.is_empty() || self.0.len() > 255 {
            return Err("must have 1-255 characters");
        }
        Ok(())
    }

    /// The token itself, for the gateway.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PaymentToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PaymentToken([redacted])")
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    /// The gateway's token for the customer's payment method, 1-255 characters.
    pub token: PaymentToken,
}

/// Whether a field was sent at all, even as `null`.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// `POST /v1/orders`. The server assigns the order's id (a UUID v7): a body
/// with an `order_id` is refused with `422 order_id_not_accepted`; a retry
/// stays safe through its `Idempotency-Key`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderBody {
    /// Refused when present: ids are the server's.
    #[serde(default, deserialize_with = "present")]
    #[schema(ignore)]
    pub order_id: bool,
    pub store_id: String,
    pub fulfillment: FulfillmentBody,
    pub lines: Vec<LineBody>,
    pub tip: Option<MoneyBody>,
    pub payment: PaymentBody,
}

/// `POST /v1/orders/quote`: the placing body without `payment` (a `payment`
/// field is an unknown field, refused like any other).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteBody {
    /// Refused when present, as in placing.
    #[serde(default, deserialize_with = "present")]
    #[schema(ignore)]
    pub order_id: bool,
    pub store_id: String,
    pub fulfillment: FulfillmentBody,
    pub lines: Vec<LineBody>,
    pub tip: Option<MoneyBody>,
}

/// The most characters of a line's note.
const MAX_NOTE: usize = 200;

/// A placing request, parsed. The order's id is assigned when it is placed.
#[derive(Debug)]
pub struct Placing {
    pub store_id: StoreId,
    pub cart: Cart,
    pub token: PaymentToken,
}

/// A quoting request, parsed.
#[derive(Debug)]
pub struct Quoting {
    pub store_id: StoreId,
    pub cart: Cart,
}

/// Why a placing or quoting body is refused.
#[derive(Debug)]
pub enum CartRefusal {
    /// The body names an `order_id`: `422 order_id_not_accepted`.
    OrderIdSent,
    /// `422 validation_failed` with these fields.
    Invalid(Vec<FieldError>),
}

/// Parses what placing and quoting share into the store and the cart.
fn parse_cart(
    f: &mut Fields,
    store_id: &str,
    fulfillment: FulfillmentBody,
    lines: Vec<LineBody>,
    tip: Option<MoneyBody>,
) -> Option<(StoreId, Cart)> {
    let store_id = f.check("store_id", StoreId::parse(store_id));
    if fulfillment.kind != "pickup" {
        f.check::<(), _>("fulfillment.type", Err("only `pickup` is offered"));
    }
    let tip = tip.as_ref().and_then(|t| f.check("tip", t.parse()));
    let mut cart_lines = Vec::new();
    for (i, line) in lines.into_iter().enumerate() {
        let item_id = f.check(
            format!("lines[{i}].item_id"),
            CatalogId::parse(&line.item_id),
        );
        let modifiers: Vec<CatalogId> = line
            .modifiers
            .iter()
            .enumerate()
            .filter_map(|(m, id)| {
                f.check(format!("lines[{i}].modifiers[{m}]"), CatalogId::parse(id))
            })
            .collect();
        if line
            .note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NOTE)
        {
            f.check::<(), _>(
                format!("lines[{i}].note"),
                Err(format!("at most {MAX_NOTE} characters")),
            );
        }
        if let Some(item_id) = item_id {
            cart_lines.push(CartLine {
                item_id,
                quantity: line.quantity,
                modifiers,
                note: line.note,
            });
        }
    }
    store_id.map(|store_id| {
        let cart = Cart {
            lines: cart_lines,
            tip,
            pickup_at: fulfillment.pickup_at.map(|t| t.with_timezone(&Utc)),
        };
        (store_id, cart)
    })
}

impl PlaceOrderBody {
    pub fn parse(self) -> Result<Placing, CartRefusal> {
        if self.order_id {
            return Err(CartRefusal::OrderIdSent);
        }
        let mut f = Fields::default();
        f.check("payment.token", self.payment.token.check());
        let parsed = parse_cart(
            &mut f,
            &self.store_id,
            self.fulfillment,
            self.lines,
            self.tip,
        );
        let placing = parsed.map(|(store_id, cart)| Placing {
            store_id,
            cart,
            token: self.payment.token,
        });
        f.finish(placing).map_err(CartRefusal::Invalid)
    }
}

impl QuoteBody {
    pub fn parse(self) -> Result<Quoting, CartRefusal> {
        if self.order_id {
            return Err(CartRefusal::OrderIdSent);
        }
        let mut f = Fields::default();
        let parsed = parse_cart(
            &mut f,
            &self.store_id,
            self.fulfillment,
            self.lines,
            self.tip,
        );
        let quoting = parsed.map(|(store_id, cart)| Quoting { store_id, cart });
        f.finish(quoting).map_err(CartRefusal::Invalid)
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModifierView {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineView {
    pub item_id: String,
    pub name: String,
    pub quantity: u32,
    pub modifiers: Vec<ModifierView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub unit_price: MoneyBody,
    pub total: MoneyBody,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotalsView {
    pub subtotal: MoneyBody,
    pub tax: MoneyBody,
    pub tip: MoneyBody,
    pub total: MoneyBody,
}

fn line_views(lines: &[PricedLine]) -> Vec<LineView> {
    lines
        .iter()
        .map(|l| LineView {
            item_id: l.item_id.to_string(),
            name: l.name.clone(),
            quantity: l.quantity,
            modifiers: l
                .modifiers
                .iter()
                .map(|m| ModifierView {
                    id: m.id.to_string(),
                    name: m.name.clone(),
                })
                .collect(),
            note: l.note.clone(),
            unit_price: l.unit_price.into(),
            total: l.total.into(),
        })
        .collect()
}

fn totals_view(t: &Totals) -> TotalsView {
    TotalsView {
        subtotal: t.subtotal.into(),
        tax: t.tax.into(),
        tip: t.tip.into(),
        total: t.total.into(),
    }
}

/// An order as a command answers it (`201` of `POST /v1/orders` and the other
/// order commands).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub order_id: Uuid,
    pub store_id: String,
    pub version: u64,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_status: Option<&'static str>,
    /// In the store's time zone.
    pub pickup_at: String,
    pub lines: Vec<LineView>,
    pub totals: TotalsView,
}

impl OrderView {
    pub fn new(store_id: &StoreId, order: &Order, timezone: Tz) -> Self {
        OrderView {
            order_id: order.id.0,
            store_id: store_id.to_string(),
            version: order.version,
            status: order.status.as_str(),
            payment_status: order.payment.as_ref().map(|p| p.status.as_str()),
            pickup_at: order.placed.pickup_at.with_timezone(&timezone).to_rfc3339(),
            lines: line_views(&order.placed.lines),
            totals: totals_view(&order.placed.totals),
        }
    }
}

/// The answer to `POST /v1/orders/quote`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuoteView {
    pub store_id: String,
    /// In the store's time zone.
    pub pickup_at: String,
    pub lines: Vec<LineView>,
    pub totals: TotalsView,
}

impl QuoteView {
    pub fn new(store_id: &StoreId, quote: &Quote, timezone: Tz) -> Self {
        QuoteView {
            store_id: store_id.to_string(),
            pickup_at: quote.pickup_at.with_timezone(&timezone).to_rfc3339(),
            lines: line_views(&quote.lines),
            totals: totals_view(&quote.totals),
        }
    }
}

/// The answer to a store command.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StoreView {
    pub store_id: String,
    pub version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub menu_version: Option<u32>,
}

/// `PUT /v1/stores/{store_id}/items/{item_id}/availability`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityBody {
    pub available: bool,
}

/// `PUT /v1/stores/{store_id}/status`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    pub accepting_orders: bool,
    pub busy_minutes: Option<u32>,
}

/// `POST /v1/orders/{order_id}/accept`
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    pub ready_at: Option<DateTime<FixedOffset>>,
}

/// The body of the order commands without fields: `start`, `ready`, `complete`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

/// `POST /v1/orders/{order_id}/reject` and `/cancel`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

/// `POST /v1/orders/{order_id}/refunds`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    pub amount: MoneyBody,
    pub reason: String,
}

/// The most characters of a reason.
const MAX_REASON: usize = 500;

/// A reason a person gave: 1-500 characters.
pub fn parse_reason(reason: String) -> Result<String, Vec<FieldError>> {
    let mut f = Fields::default();
    let trimmed = reason.trim().to_owned();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_REASON {
        f.check::<(), _>(
            "reason",
            Err(format!("must have 1-{MAX_REASON} characters")),
        );
    }
    f.finish(Some(trimmed))
}

impl RefundBody {
    pub fn parse(self) -> Result<(Money, String), Vec<FieldError>> {
        let mut f = Fields::default();
        let amount = f.check("amount", self.amount.parse());
        let reason = match parse_reason(self.reason) {
            Ok(reason) => Some(reason),
            Err(errors) => {
                f.0.extend(errors);
                None
            }
        };
        f.finish(amount.zip(reason))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

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
}
