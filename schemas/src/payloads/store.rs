//! Store events.

use chrono::{NaiveTime, Weekday};
use domain::{
    CatalogId, Category, Currency, Menu, MenuItem, ModifierGroup, ModifierOption, Money,
    OpeningHours, OrderLimits, PickupSettings, StoreProfile, StoreStatus, WeeklyHours,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{ConversionError, MoneyV1};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DayV1 {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl From<Weekday> for DayV1 {
    fn from(day: Weekday) -> Self {
        match day {
            Weekday::Mon => DayV1::Mon,
            Weekday::Tue => DayV1::Tue,
            Weekday::Wed => DayV1::Wed,
            Weekday::Thu => DayV1::Thu,
            Weekday::Fri => DayV1::Fri,
            Weekday::Sat => DayV1::Sat,
            Weekday::Sun => DayV1::Sun,
        }
    }
}

impl From<DayV1> for Weekday {
    fn from(day: DayV1) -> Self {
        match day {
            DayV1::Mon => Weekday::Mon,
            DayV1::Tue => Weekday::Tue,
            DayV1::Wed => Weekday::Wed,
            DayV1::Thu => Weekday::Thu,
            DayV1::Fri => Weekday::Fri,
            DayV1::Sat => Weekday::Sat,
            DayV1::Sun => Weekday::Sun,
        }
    }
}

/// One day's hours in the store's time zone; a `close` at or before `open`
/// runs past midnight into the next day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursV1 {
    pub day: DayV1,
    /// `HH:MM`.
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub open: String,
    /// `HH:MM`.
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub close: String,
}

fn hhmm(time: NaiveTime) -> String {
    time.format("%H:%M").to_string()
}

fn parse_hhmm(s: &str) -> Result<NaiveTime, ConversionError> {
    NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| ConversionError::Time(s.to_owned()))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PickupV1 {
    pub slot_minutes: u32,
    pub lead_minutes: u32,
    pub max_orders_per_slot: u32,
    pub max_days_ahead: u32,
}

/// `qsr.store.configured.v1`: no longer written; read as v2 with the default
/// limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreConfiguredV1 {
    pub store_id: String,
    pub name: String,
    /// IANA time zone, e.g. `America/New_York`.
    pub timezone: String,
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    pub currency: String,
    /// Sales tax in hundredths of a percent: 875 is 8.75 %.
    pub tax_rate_bps: u32,
    /// A day without an entry is closed.
    pub hours: Vec<HoursV1>,
    pub pickup: PickupV1,
}

impl StoreConfiguredV1 {
    /// The profile a v1 record configures, with the default limits.
    pub fn to_domain(&self) -> Result<StoreProfile, ConversionError> {
        StoreConfiguredV2::from_v1(self.clone()).to_domain()
    }
}

/// What one order may cost at the store, in the store's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsV1 {
    /// The most an order's total may be.
    pub max_order_total: MoneyV1,
    /// The tip may be the larger of the order's subtotal and this amount.
    pub max_tip: MoneyV1,
}

/// `qsr.store.configured.v2`: v1 with the store's order limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreConfiguredV2 {
    pub store_id: String,
    pub name: String,
    /// IANA time zone, e.g. `America/New_York`.
    pub timezone: String,
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    pub currency: String,
    /// Sales tax in hundredths of a percent: 875 is 8.75 %.
    pub tax_rate_bps: u32,
    /// A day without an entry is closed.
    pub hours: Vec<HoursV1>,
    pub pickup: PickupV1,
    pub limits: LimitsV1,
}

impl StoreConfiguredV2 {
    /// Upcasts a v1 record: a store configured before limits existed has the
    /// default limits in its currency.
    pub fn from_v1(v1: StoreConfiguredV1) -> Self {
        let default = |amount| MoneyV1 {
            amount,
            currency: v1.currency.clone(),
        };
        let limits = LimitsV1 {
            max_order_total: default(domain::DEFAULT_MAX_ORDER_TOTAL),
            max_tip: default(domain::DEFAULT_MAX_TIP),
        };
        StoreConfiguredV2 {
            store_id: v1.store_id,
            name: v1.name,
            timezone: v1.timezone,
            currency: v1.currency,
            tax_rate_bps: v1.tax_rate_bps,
            hours: v1.hours,
            pickup: v1.pickup,
            limits,
        }
    }

    pub fn from_domain(store_id: &str, p: &StoreProfile) -> Self {
        StoreConfiguredV2 {
            store_id: store_id.to_owned(),
            name: p.name.clone(),
            timezone: p.timezone.name().to_owned(),
            currency: p.currency.as_str().to_owned(),
            tax_rate_bps: p.tax_rate_bps,
            hours: p
                .hours
                .entries()
                .iter()
                .map(|h| HoursV1 {
                    day: h.day.into(),
                    open: hhmm(h.open),
                    close: hhmm(h.close),
                })
                .collect(),
            pickup: PickupV1 {
                slot_minutes: p.pickup.slot_minutes,
                lead_minutes: p.pickup.lead_minutes,
                max_orders_per_slot: p.pickup.max_orders_per_slot,
                max_days_ahead: p.pickup.max_days_ahead,
            },
            limits: limits_v1(&p.limits),
        }
    }

    pub fn to_domain(&self) -> Result<StoreProfile, ConversionError> {
        let timezone = self
            .timezone
            .parse()
            .map_err(|_| ConversionError::TimeZone(self.timezone.clone()))?;
        let hours = self
            .hours
            .iter()
            .map(|h| {
                Ok(OpeningHours {
                    day: h.day.into(),
                    open: parse_hhmm(&h.open)?,
                    close: parse_hhmm(&h.close)?,
                })
            })
            .collect::<Result<Vec<_>, ConversionError>>()?;
        Ok(StoreProfile {
            name: self.name.clone(),
            timezone,
            currency: Currency::parse(&self.currency)?,
            tax_rate_bps: self.tax_rate_bps,
            hours: WeeklyHours::new(hours).map_err(|e| ConversionError::Invalid(e.to_string()))?,
            pickup: PickupSettings {
                slot_minutes: self.pickup.slot_minutes,
                lead_minutes: self.pickup.lead_minutes,
                max_orders_per_slot: self.pickup.max_orders_per_slot,
                max_days_ahead: self.pickup.max_days_ahead,
            },
            limits: OrderLimits {
                max_order_total: Money::try_from(&self.limits.max_order_total)?,
                max_tip: Money::try_from(&self.limits.max_tip)?,
            },
        })
    }
}

fn limits_v1(limits: &OrderLimits) -> LimitsV1 {
    LimitsV1 {
        max_order_total: limits.max_order_total.into(),
        max_tip: limits.max_tip.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModifierOptionV1 {
    pub id: String,
    pub name: String,
    pub price_delta: MoneyV1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModifierGroupV1 {
    pub id: String,
    pub name: String,
    /// The least options a customer must choose.
    pub min: u32,
    /// The most options a customer may choose.
    pub max: u32,
    pub options: Vec<ModifierOptionV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuItemV1 {
    pub id: String,
    pub name: String,
    pub price: MoneyV1,
    pub modifier_groups: Vec<ModifierGroupV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryV1 {
    pub id: String,
    pub name: String,
    pub items: Vec<MenuItemV1>,
}

/// `qsr.store.menu_published.v1`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuPublishedV1 {
    pub store_id: String,
    /// 1 for the store's first menu, then one more for each.
    pub menu_version: u32,
    pub categories: Vec<CategoryV1>,
}

impl MenuPublishedV1 {
    pub fn from_domain(store_id: &str, menu_version: u32, menu: &Menu) -> Self {
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
            store_id: store_id.to_owned(),
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

    pub fn to_domain(&self) -> Result<Menu, ConversionError> {
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
        Ok(Menu { categories })
    }
}

/// `qsr.store.availability_changed.v1`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityChangedV1 {
    pub store_id: String,
    /// An item or a modifier option id of the menu.
    pub id: String,
    pub available: bool,
}

/// `qsr.store.status_changed.v1`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChangedV1 {
    pub store_id: String,
    pub accepting_orders: bool,
    /// Minutes added to every pickup time while busy; 0 when not busy.
    pub busy_minutes: u32,
}

impl StatusChangedV1 {
    pub fn from_domain(store_id: &str, status: StoreStatus) -> Self {
        StatusChangedV1 {
            store_id: store_id.to_owned(),
            accepting_orders: status.accepts_orders(),
            busy_minutes: status.extra_minutes(),
        }
    }

    pub fn to_domain(&self) -> StoreStatus {
        match (self.accepting_orders, self.busy_minutes) {
            (false, _) => StoreStatus::Paused,
            (true, 0) => StoreStatus::Accepting,
            (true, extra_minutes) => StoreStatus::Busy { extra_minutes },
        }
    }
}
