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
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use uuid::Uuid;

// What the document states of each field, kept next to the parsing that
// enforces it. utoipa takes patterns as literals only, so the id pattern
// `^[a-z0-9][a-z0-9-]{0,63}$` (`CatalogId`/`StoreId`), the currency pattern
// `^[A-Z]{3}$` and the "not blank" pattern (a character outside Unicode's
// White_Space, what `str::trim` removes) are repeated in the attributes.

/// The id form of the public API: stores, categories, items, groups, options.
pub(crate) const ID_PATTERN: &str = "^[a-z0-9][a-z0-9-]{0,63}$";

/// Integers as the document's `integer` means them: JSON Schema counts `64.0`
/// as the integer 64 (the data model has no other), so the bodies take a
/// whole number written with a fraction of zero as that number; `64.5`, or a
/// number outside the field's type, is still malformed.
mod whole {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};

    fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i128, D::Error> {
        let n = serde_json::Number::deserialize(deserializer)?;
        if let Some(i) = n.as_i64() {
            return Ok(i.into());
        }
        if let Some(u) = n.as_u64() {
            return Ok(u.into());
        }
        // serde_json's float parsing (without `float_roundtrip`) may land a
        // unit in the last place away from the written value: `x.0` above
        // 2^50 can read as `x.2`. A float within two units of a whole number
        // is that number; below 2^100 the cast of a whole f64 is exact, and
        // beyond it is out of range anyway.
        match n.as_f64() {
            Some(f) if f.abs() < 2f64.powi(100) => {
                let whole = f.round();
                if (f - whole).abs() <= 2.0 * f.abs() * f64::EPSILON {
                    Ok(whole as i128)
                } else {
                    Err(D::Error::custom(format!("{n} is not an integer")))
                }
            }
            _ => Err(D::Error::custom(format!("{n} is not an integer"))),
        }
    }

    fn fit<T: TryFrom<i128>, E: Error>(n: i128) -> Result<T, E> {
        T::try_from(n).map_err(|_| E::custom(format!("{n} is out of range")))
    }

    pub fn i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        fit(number(deserializer)?)
    }

    pub fn u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
        fit(number(deserializer)?)
    }

    /// An optional `u32` (use with `#[serde(default)]`): `null` is `None`.
    pub fn option_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
        #[derive(Deserialize)]
        struct Whole(#[serde(deserialize_with = "u32")] u32);
        Ok(Option::<Whole>::deserialize(deserializer)?.map(|Whole(n)| n))
    }
}

/// A list of menu ids (a line's modifiers).
fn catalog_ids() -> ArrayBuilder {
    ArrayBuilder::new().items(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(ID_PATTERN)),
    )
}

/// The IANA time zones the server knows (chrono-tz's database), exactly.
fn timezones() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("An IANA time zone, e.g. `America/New_York`"))
        .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
}

/// A day of the week.
fn days() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(DAYS.iter().map(|(name, _)| *name)))
}

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

/// An amount of money in minor units (cents for USD) of an ISO 4217 currency.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyBody {
    #[serde(deserialize_with = "whole::i64")]
    #[schema(minimum = -9223372036854775808i64, maximum = 9223372036854775807i64)]
    pub amount: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
}

// The documented shapes of the amounts a request sends, each with the range
// the server takes (a `MoneyBody` on the wire; never built).

/// A price or a price difference of a menu: not negative, in the store's
/// currency (else `422 invalid_menu`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Price {
    #[schema(minimum = 0, maximum = 9223372036854775807i64)]
    amount: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: String,
}

/// A tip: not negative (else `422 invalid_tip`), in the store's currency
/// (else `422 currency_mismatch`), at most the larger of the subtotal and the
/// store's `max_tip` (else `422 tip_too_large`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Tip {
    #[schema(minimum = 0, maximum = 9223372036854775807i64)]
    amount: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: String,
}

/// A limit of the store: 1 to 10^10 minor units, in the store's currency
/// (else `422 invalid_store`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Limit {
    #[schema(minimum = 1, maximum = 10000000000i64)]
    amount: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: String,
}

/// A refund: positive, in the order's currency, at most what was captured
/// and not yet refunded (else `422 invalid_refund_amount`,
/// `refund_exceeds_captured`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct RefundAmount {
    #[schema(minimum = 1, maximum = 9223372036854775807i64)]
    amount: i64,
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: String,
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
    #[schema(schema_with = days)]
    pub day: String,
    /// `HH:MM`, the store's local time.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub open: String,
    /// `HH:MM`; at or before `open`, the hours run past midnight.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub close: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickupBody {
    #[serde(deserialize_with = "whole::u32")]
    #[schema(minimum = 1, maximum = 240)]
    pub slot_minutes: u32,
    #[serde(deserialize_with = "whole::u32")]
    #[schema(minimum = 0, maximum = 1440)]
    pub lead_minutes: u32,
    #[serde(deserialize_with = "whole::u32")]
    #[schema(minimum = 1, maximum = 4294967295u32)]
    pub max_orders_per_slot: u32,
    #[serde(deserialize_with = "whole::u32")]
    #[schema(minimum = 0, maximum = 60)]
    pub max_days_ahead: u32,
}

/// What one order may cost at the store; each amount in the store's
/// currency, 1 to 10^10 minor units. An absent field takes its default.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsBody {
    /// The most an order's total may be; by default 100000 minor units
    /// (1,000.00 of a currency with two decimals). Above it: `422 order_total_too_large`.
    #[schema(value_type = Option<Limit>)]
    pub max_order_total: Option<MoneyBody>,
    /// The tip may be the larger of the order's subtotal and this amount; by
    /// default 5000 minor units. Above it: `422 tip_too_large`.
    #[schema(value_type = Option<Limit>)]
    pub max_tip: Option<MoneyBody>,
}

/// `PUT /v1/stores/{store_id}`. Amounts (`limits`) in `currency`, and at
/// most one entry of `hours` per day, else `422 invalid_store`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreBody {
    /// 1-200 characters, not only white space.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub name: String,
    #[schema(schema_with = timezones)]
    pub timezone: String,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// The sales tax in basis points (875 = 8.75%).
    #[serde(deserialize_with = "whole::u32")]
    #[schema(minimum = 0, maximum = 10000)]
    pub tax_rate_bps: u32,
    /// At most one entry per day; a day without one is closed.
    #[serde(default)]
    #[schema(max_items = 7)]
    pub hours: Vec<HoursBody>,
    pub pickup: PickupBody,
    /// Absent: the default limits.
    pub limits: Option<LimitsBody>,
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

fn parse_day(s: &str) -> Result<Weekday, String> {
    DAYS.iter()
        .find(|(name, _)| *name == s)
        .map(|(_, d)| *d)
        .ok_or_else(|| format!("`{s}` is not one of mon..sun"))
}

/// `HH:MM` exactly, two digits each (chrono alone also takes `9:05`).
fn parse_time(s: &str) -> Result<NaiveTime, String> {
    let refused = || format!("`{s}` is not a time of day HH:MM");
    let b = s.as_bytes();
    let digits = [0, 1, 3, 4]
        .iter()
        .all(|&i| b.get(i).is_some_and(u8::is_ascii_digit));
    if b.len() != 5 || b[2] != b':' || !digits {
        return Err(refused());
    }
    NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| refused())
}

/// Why a store's body is refused.
#[derive(Debug)]
pub enum StoreRefusal {
    /// `422 validation_failed` with these fields.
    Invalid(Vec<FieldError>),
    /// A rule across fields (`422 invalid_store`), as the domain's.
    Rule(String),
}

impl StoreBody {
    pub fn parse(self) -> Result<StoreProfile, StoreRefusal> {
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
        // Two entries for a day is a rule across entries, not a malformed
        // field: the domain's `invalid_store`, once the fields are valid.
        let hours = match WeeklyHours::new(hours) {
            Ok(hours) => Some(hours),
            Err(duplicate) if f.0.is_empty() => {
                return Err(StoreRefusal::Rule(format!("hours: {duplicate}")));
            }
            Err(_) => None,
        };
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
        f.finish(profile).map_err(StoreRefusal::Invalid)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionBody {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub id: String,
    pub name: String,
    #[schema(value_type = Price)]
    pub price_delta: MoneyBody,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub id: String,
    pub name: String,
    /// At most `max` (else `422 invalid_menu`).
    #[serde(deserialize_with = "whole::u32")]
    #[schema(minimum = 0, maximum = 4294967295u32)]
    pub min: u32,
    /// At most the number of `options` (else `422 invalid_menu`).
    #[serde(deserialize_with = "whole::u32")]
    #[schema(minimum = 0, maximum = 4294967295u32)]
    pub max: u32,
    /// Each option id once in the group (else `422 invalid_menu`).
    pub options: Vec<OptionBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    /// Unique across the menu (else `422 invalid_menu`).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub id: String,
    pub name: String,
    #[schema(value_type = Price)]
    pub price: MoneyBody,
    /// Each group id once on the item (else `422 invalid_menu`).
    #[serde(default)]
    pub modifier_groups: Vec<GroupBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    /// Unique across the menu's categories (else `422 invalid_menu`).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub id: String,
    pub name: String,
    pub items: Vec<ItemBody>,
}

/// `PUT /v1/stores/{store_id}/menu`. The rules across fields answer `422
/// invalid_menu`: at least one item, ids unique, a group's `min <= max <=`
/// its options, prices in the store's currency. A store that was never
/// configured: `404 store_not_found`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuBody {
    #[schema(min_items = 1)]
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
    /// Only pickup is offered.
    #[serde(rename = "type")]
    #[schema(schema_with = pickup_only)]
    pub kind: String,
    /// When to pick up (RFC 3339); absent or `null`: as soon as possible.
    /// Within the store's hours, lead time and horizon, in a slot with room
    /// (else `422 pickup_too_soon`, `store_closed`, `slot_full`, ...).
    pub pickup_at: Option<DateTime<FixedOffset>>,
}

fn pickup_only() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["pickup"]))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub item_id: String,
    #[serde(deserialize_with = "whole::u32")]
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: u32,
    /// The chosen options' ids.
    #[serde(default)]
    #[schema(schema_with = catalog_ids)]
    pub modifiers: Vec<String>,
    #[schema(max_length = 200)]
    pub note: Option<String>,
}

/// A payment token of the gateway: 1-255 visible ASCII characters. It
/// stands for a card, so it never appears in `Debug` output (logs, traces,
/// panics).
#[derive(Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, pattern = "^[!-~]{1,255}$")]
pub struct PaymentToken(String);

/// Whether `s` is 1-255 visible ASCII characters (`!` to `~`): payment
/// tokens and idempotency keys.
pub(crate) fn is_visible_ascii_key(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

impl PaymentToken {
    fn check(&self) -> Result<(), &'static str> {
        if !is_visible_ascii_key(&self.0) {
            return Err("must have 1-255 visible ASCII characters");
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
    /// The gateway's token for the customer's payment method, 1-255 visible
    /// ASCII characters (else `422 invalid_payment_token` if the gateway
    /// does not know it).
    #[schema(pattern = "^[!-~]{1,255}$")]
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
    /// A configured store (else `404 store_not_found`).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub store_id: String,
    pub fulfillment: FulfillmentBody,
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<LineBody>,
    #[schema(value_type = Option<Tip>)]
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
    /// A configured store (else `404 store_not_found`).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub store_id: String,
    pub fulfillment: FulfillmentBody,
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<LineBody>,
    #[schema(value_type = Option<Tip>)]
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
    /// Minutes added to every pickup time while accepting; absent, `null`
    /// or 0: not busy.
    #[serde(default, deserialize_with = "whole::option_u32")]
    #[schema(minimum = 0, maximum = 240)]
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
    /// 1-500 characters, not only white space.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub reason: String,
}

/// `POST /v1/orders/{order_id}/refunds`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    #[schema(value_type = RefundAmount)]
    pub amount: MoneyBody,
    /// 1-500 characters, not only white space.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    pub reason: String,
}

/// The most characters of a reason.
const MAX_REASON: usize = 500;

/// A reason a person gave: 1-500 characters, not only white space; kept
/// trimmed.
pub fn parse_reason(reason: String) -> Result<String, Vec<FieldError>> {
    let mut f = Fields::default();
    let trimmed = reason.trim().to_owned();
    if trimmed.is_empty() || reason.chars().count() > MAX_REASON {
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
        assert!(
            serde_json::from_str::<MoneyBody>(r#"{"amount": 3.5, "currency": "USD"}"#).is_err()
        );
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
}
