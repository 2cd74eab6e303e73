//! Version 1 of each event's `data`, and its conversion to and from the domain.

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use domain::{
    CatalogId, Category, Currency, IdError, Menu, MenuItem, ModifierGroup, ModifierOption, Money,
    MoneyError, OpeningHours, OrderId, OrderPlaced, PickupSettings, PricedLine, PricedModifier,
    StoreId, StoreProfile, Totals,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a well-formed payload does not make a valid domain value.
#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    #[error(transparent)]
    Id(#[from] IdError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("unknown time zone `{0}`")]
    TimeZone(String),
    #[error("`{0}` is not a day of the week (mon..sun)")]
    Day(String),
    #[error("`{0}` is not a time of day (HH:MM)")]
    Time(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyV1 {
    pub amount: i64,
    pub currency: String,
}

impl From<Money> for MoneyV1 {
    fn from(m: Money) -> Self {
        MoneyV1 {
            amount: m.amount,
            currency: m.currency.as_str().to_owned(),
        }
    }
}

impl TryFrom<&MoneyV1> for Money {
    type Error = ConversionError;
    fn try_from(m: &MoneyV1) -> Result<Self, Self::Error> {
        Ok(Money::new(m.amount, Currency::parse(&m.currency)?))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoursV1 {
    /// `mon`, `tue`, … `sun`.
    pub day: String,
    /// `HH:MM` in the store's time zone.
    pub open: String,
    pub close: String,
}

impl HoursV1 {
    pub fn from_domain(h: &OpeningHours) -> Self {
        HoursV1 {
            day: day_name(h.day).to_owned(),
            open: h.open.format("%H:%M").to_string(),
            close: h.close.format("%H:%M").to_string(),
        }
    }

    pub fn to_domain(&self) -> Result<OpeningHours, ConversionError> {
        let time = |s: &str| {
            NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| ConversionError::Time(s.to_owned()))
        };
        Ok(OpeningHours {
            day: parse_day(&self.day)?,
            open: time(&self.open)?,
            close: time(&self.close)?,
        })
    }
}

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

fn parse_day(s: &str) -> Result<Weekday, ConversionError> {
    Ok(match s {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return Err(ConversionError::Day(s.to_owned())),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickupV1 {
    pub slot_minutes: u32,
    pub lead_minutes: u32,
    pub max_orders_per_slot: u32,
    pub max_days_ahead: u32,
}

/// `qsr.store.configured.v1`: an admin created a store or changed its profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreConfiguredV1 {
    pub store_id: String,
    pub name: String,
    pub timezone: String,
    pub currency: String,
    pub tax_rate_bps: u32,
    pub hours: Vec<HoursV1>,
    pub pickup: PickupV1,
}

impl StoreConfiguredV1 {
    pub fn from_domain(store_id: &StoreId, p: &StoreProfile) -> Self {
        StoreConfiguredV1 {
            store_id: store_id.to_string(),
            name: p.name.clone(),
            timezone: p.timezone.name().to_owned(),
            currency: p.currency.as_str().to_owned(),
            tax_rate_bps: p.tax_rate_bps,
            hours: p.hours.iter().map(HoursV1::from_domain).collect(),
            pickup: PickupV1 {
                slot_minutes: p.pickup.slot_minutes,
                lead_minutes: p.pickup.lead_minutes,
                max_orders_per_slot: p.pickup.max_orders_per_slot,
                max_days_ahead: p.pickup.max_days_ahead,
            },
        }
    }

    pub fn to_domain(&self) -> Result<(StoreId, StoreProfile), ConversionError> {
        let timezone = self
            .timezone
            .parse()
            .map_err(|_| ConversionError::TimeZone(self.timezone.clone()))?;
        let profile = StoreProfile {
            name: self.name.clone(),
            timezone,
            currency: Currency::parse(&self.currency)?,
            tax_rate_bps: self.tax_rate_bps,
            hours: self
                .hours
                .iter()
                .map(HoursV1::to_domain)
                .collect::<Result<_, _>>()?,
            pickup: PickupSettings {
                slot_minutes: self.pickup.slot_minutes,
                lead_minutes: self.pickup.lead_minutes,
                max_orders_per_slot: self.pickup.max_orders_per_slot,
                max_days_ahead: self.pickup.max_days_ahead,
            },
        };
        Ok((StoreId::parse(&self.store_id)?, profile))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifierOptionV1 {
    pub id: String,
    pub name: String,
    pub price_delta: MoneyV1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifierGroupV1 {
    pub id: String,
    pub name: String,
    pub min: u32,
    pub max: u32,
    pub options: Vec<ModifierOptionV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItemV1 {
    pub id: String,
    pub name: String,
    pub price: MoneyV1,
    pub modifier_groups: Vec<ModifierGroupV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryV1 {
    pub id: String,
    pub name: String,
    pub items: Vec<MenuItemV1>,
}

/// `qsr.store.menu_published.v1`: an admin published a store's whole menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuPublishedV1 {
    pub store_id: String,
    pub menu_version: u32,
    pub categories: Vec<CategoryV1>,
}

impl MenuPublishedV1 {
    pub fn from_domain(store_id: &StoreId, menu_version: u32, menu: &Menu) -> Self {
        let option = |o: &ModifierOption| ModifierOptionV1 {
            id: o.id.to_string(),
            name: o.name.clone(),
            price_delta: o.price_delta.into(),
        };
        let group = |g: &ModifierGroup| ModifierGroupV1 {
            id: g.id.to_string(),
            name: g.name.clone(),
            min: g.min,
            max: g.max,
            options: g.options.iter().map(option).collect(),
        };
        let item = |i: &MenuItem| MenuItemV1 {
            id: i.id.to_string(),
            name: i.name.clone(),
            price: i.price.into(),
            modifier_groups: i.modifier_groups.iter().map(group).collect(),
        };
        MenuPublishedV1 {
            store_id: store_id.to_string(),
            menu_version,
            categories: menu
                .categories
                .iter()
                .map(|c| CategoryV1 {
                    id: c.id.to_string(),
                    name: c.name.clone(),
                    items: c.items.iter().map(item).collect(),
                })
                .collect(),
        }
    }

    pub fn to_domain(&self) -> Result<(StoreId, u32, Menu), ConversionError> {
        let option = |o: &ModifierOptionV1| -> Result<_, ConversionError> {
            Ok(ModifierOption {
                id: CatalogId::parse(&o.id)?,
                name: o.name.clone(),
                price_delta: Money::try_from(&o.price_delta)?,
            })
        };
        let group = |g: &ModifierGroupV1| -> Result<_, ConversionError> {
            Ok(ModifierGroup {
                id: CatalogId::parse(&g.id)?,
                name: g.name.clone(),
                min: g.min,
                max: g.max,
                options: g.options.iter().map(option).collect::<Result<_, _>>()?,
            })
        };
        let item = |i: &MenuItemV1| -> Result<_, ConversionError> {
            Ok(MenuItem {
                id: CatalogId::parse(&i.id)?,
                name: i.name.clone(),
                price: Money::try_from(&i.price)?,
                modifier_groups: i
                    .modifier_groups
                    .iter()
                    .map(group)
                    .collect::<Result<_, _>>()?,
            })
        };
        let categories = self
            .categories
            .iter()
            .map(|c| {
                Ok(Category {
                    id: CatalogId::parse(&c.id)?,
                    name: c.name.clone(),
                    items: c
                        .items
                        .iter()
                        .map(item)
                        .collect::<Result<_, ConversionError>>()?,
                })
            })
            .collect::<Result<_, ConversionError>>()?;
        Ok((
            StoreId::parse(&self.store_id)?,
            self.menu_version,
            Menu { categories },
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedModifierV1 {
    pub id: String,
    pub name: String,
    pub price_delta: MoneyV1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLineV1 {
    pub item_id: String,
    pub name: String,
    pub quantity: u32,
    pub modifiers: Vec<PricedModifierV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub unit_price: MoneyV1,
    pub total: MoneyV1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalsV1 {
    pub subtotal: MoneyV1,
    pub tax: MoneyV1,
    pub tip: MoneyV1,
    pub total: MoneyV1,
}

/// `qsr.order.placed.v1`: a customer placed an order and the server priced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlacedV1 {
    pub order_id: Uuid,
    pub store_id: String,
    pub lines: Vec<PricedLineV1>,
    pub totals: TotalsV1,
    pub pickup_at: DateTime<Utc>,
    pub asap: bool,
    pub placed_at: DateTime<Utc>,
}

impl From<&OrderPlaced> for OrderPlacedV1 {
    fn from(e: &OrderPlaced) -> Self {
        OrderPlacedV1 {
            order_id: e.order_id.0,
            store_id: e.store_id.to_string(),
            lines: e
                .lines
                .iter()
                .map(|l| PricedLineV1 {
                    item_id: l.item_id.to_string(),
                    name: l.name.clone(),
                    quantity: l.quantity,
                    modifiers: l
                        .modifiers
                        .iter()
                        .map(|m| PricedModifierV1 {
                            id: m.id.to_string(),
                            name: m.name.clone(),
                            price_delta: m.price_delta.into(),
                        })
                        .collect(),
                    note: l.note.clone(),
                    unit_price: l.unit_price.into(),
                    total: l.total.into(),
                })
                .collect(),
            totals: TotalsV1 {
                subtotal: e.totals.subtotal.into(),
                tax: e.totals.tax.into(),
                tip: e.totals.tip.into(),
                total: e.totals.total.into(),
            },
            pickup_at: e.pickup_at,
            asap: e.asap,
            placed_at: e.placed_at,
        }
    }
}

impl TryFrom<&OrderPlacedV1> for OrderPlaced {
    type Error = ConversionError;
    fn try_from(e: &OrderPlacedV1) -> Result<Self, Self::Error> {
        let line = |l: &PricedLineV1| -> Result<_, ConversionError> {
            Ok(PricedLine {
                item_id: CatalogId::parse(&l.item_id)?,
                name: l.name.clone(),
                quantity: l.quantity,
                modifiers: l
                    .modifiers
                    .iter()
                    .map(|m| {
                        Ok(PricedModifier {
                            id: CatalogId::parse(&m.id)?,
                            name: m.name.clone(),
                            price_delta: Money::try_from(&m.price_delta)?,
                        })
                    })
                    .collect::<Result<_, ConversionError>>()?,
                note: l.note.clone(),
                unit_price: Money::try_from(&l.unit_price)?,
                total: Money::try_from(&l.total)?,
            })
        };
        Ok(OrderPlaced {
            order_id: OrderId(e.order_id),
            store_id: StoreId::parse(&e.store_id)?,
            lines: e.lines.iter().map(line).collect::<Result<_, _>>()?,
            totals: Totals {
                subtotal: Money::try_from(&e.totals.subtotal)?,
                tax: Money::try_from(&e.totals.tax)?,
                tip: Money::try_from(&e.totals.tip)?,
                total: Money::try_from(&e.totals.total)?,
            },
            pickup_at: e.pickup_at,
            asap: e.asap,
            placed_at: e.placed_at,
        })
    }
}
