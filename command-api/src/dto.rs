//! The HTTP bodies of the command API (see API.md) and their parsing into
//! domain commands. Unknown fields are rejected; every invalid field is
//! reported, not only the first.

use chrono::{DateTime, FixedOffset, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use domain::{
    Cart, CartLine, CatalogId, Category, Currency, Menu, MenuItem, ModifierGroup, ModifierOption,
    Money, OpeningHours, Order, OrderId, PickupSettings, PricedLine, Quote, StoreId, StoreProfile,
    Totals, WeeklyHours,
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    pub token: String,
}

/// `POST /v1/orders`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderBody {
    pub order_id: Option<Uuid>,
    pub store_id: String,
    pub fulfillment: FulfillmentBody,
    pub lines: Vec<LineBody>,
    pub tip: Option<MoneyBody>,
    pub payment: PaymentBody,
}

/// The most characters of a line's note.
const MAX_NOTE: usize = 200;

/// A placing request, parsed.
#[derive(Debug)]
pub struct Placing {
    pub order_id: OrderId,
    pub store_id: StoreId,
    pub cart: Cart,
    pub token: String,
}

impl PlaceOrderBody {
    pub fn parse(self) -> Result<Placing, Vec<FieldError>> {
        let mut f = Fields::default();
        let store_id = f.check("store_id", StoreId::parse(&self.store_id));
        if self.fulfillment.kind != "pickup" {
            f.check::<(), _>("fulfillment.type", Err("only `pickup` is offered"));
        }
        if self.payment.token.is_empty() || self.payment.token.len() > 255 {
            f.check::<(), _>("payment.token", Err("must have 1-255 characters"));
        }
        let tip = self.tip.as_ref().and_then(|t| f.check("tip", t.parse()));
        let mut lines = Vec::new();
        for (i, line) in self.lines.into_iter().enumerate() {
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
                lines.push(CartLine {
                    item_id,
                    quantity: line.quantity,
                    modifiers,
                    note: line.note,
                });
            }
        }
        let placing = store_id.map(|store_id| Placing {
            order_id: OrderId(self.order_id.unwrap_or_else(Uuid::now_v7)),
            store_id,
            cart: Cart {
                lines,
                tip,
                pickup_at: self.fulfillment.pickup_at.map(|t| t.with_timezone(&Utc)),
            },
            token: self.payment.token,
        });
        f.finish(placing)
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
