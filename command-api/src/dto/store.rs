//! The bodies of the store's own commands: its profile (`PUT
//! /v1/stores/{store_id}`), availability and status.

use chrono::{NaiveTime, Weekday};
use domain::{Currency, OpeningHours, OrderLimits, PickupSettings, StoreProfile, WeeklyHours};
use platform::FieldError;
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::fields::{Fields, whole};
use super::money::{Limit, MoneyBody};

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
pub(super) fn parse_time(s: &str) -> Result<NaiveTime, String> {
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
