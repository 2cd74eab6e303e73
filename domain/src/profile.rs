//! What a store is: its profile, its pickup settings and whether it takes orders.

use chrono_tz::Tz;

use crate::{Currency, Money, WeeklyHours};

/// How pickup times are offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickupSettings {
    /// Length of a pickup slot; slots are counted from local midnight.
    pub slot_minutes: u32,
    /// The least time between placing an order and picking it up.
    pub lead_minutes: u32,
    /// Live orders one slot takes.
    pub max_orders_per_slot: u32,
    /// How many days ahead a pickup may be scheduled.
    pub max_days_ahead: u32,
}

/// What an admin sets with `PUT /v1/stores/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreProfile {
    pub name: String,
    pub timezone: Tz,
    pub currency: Currency,
    /// Sales tax in hundredths of a percent: 875 is 8.75 %.
    pub tax_rate_bps: u32,
    pub hours: WeeklyHours,
    pub pickup: PickupSettings,
    pub limits: OrderLimits,
}

/// What one order may cost at a store, so that no order a customer can place
/// carries amounts the books (and the read models' sums) cannot hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLimits {
    /// The most an order's total (subtotal + tax + tip) may be.
    pub max_order_total: Money,
    /// The tip may be the larger of the subtotal (100 %) and this amount.
    pub max_tip: Money,
}

/// The default cap on an order's total, in minor units: 1,000.00 of a
/// currency with two decimals.
pub const DEFAULT_MAX_ORDER_TOTAL: i64 = 100_000;
/// The default store amount of the tip cap, in minor units: 50.00 of a
/// currency with two decimals.
pub const DEFAULT_MAX_TIP: i64 = 5_000;
/// The highest cap a store may set, in minor units: sums of a hundred million
/// such orders still fit in an `i64`.
pub const MAX_LIMIT: i64 = 10_000_000_000;

impl OrderLimits {
    /// The limits of a store that sets none (and of stores configured before
    /// limits existed).
    pub fn defaults(currency: Currency) -> Self {
        OrderLimits {
            max_order_total: Money::new(DEFAULT_MAX_ORDER_TOTAL, currency),
            max_tip: Money::new(DEFAULT_MAX_TIP, currency),
        }
    }

    fn validate(&self, currency: Currency) -> Result<(), String> {
        for (name, limit) in [
            ("max_order_total", self.max_order_total),
            ("max_tip", self.max_tip),
        ] {
            if limit.currency != currency {
                return Err(format!(
                    "limits.{name} is in {}, the store in {currency}",
                    limit.currency
                ));
            }
            if limit.amount <= 0 || limit.amount > MAX_LIMIT {
                return Err(format!("limits.{name} must be 1-{MAX_LIMIT} minor units"));
            }
        }
        Ok(())
    }
}

/// Whether the store takes orders, as its staff set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreStatus {
    #[default]
    Accepting,
    /// Takes no orders until set back.
    Paused,
    /// Takes orders, but adds minutes to every pickup time.
    Busy { extra_minutes: u32 },
}

impl StoreStatus {
    pub fn accepts_orders(self) -> bool {
        !matches!(self, StoreStatus::Paused)
    }

    pub fn extra_minutes(self) -> u32 {
        match self {
            StoreStatus::Busy { extra_minutes } => extra_minutes,
            _ => 0,
        }
    }
}

/// The most minutes a busy store may add.
pub const MAX_BUSY_MINUTES: u32 = 240;
/// The longest slot, lead time and scheduling horizon a store may set.
pub const MAX_SLOT_MINUTES: u32 = 240;
pub const MAX_LEAD_MINUTES: u32 = 24 * 60;
pub const MAX_DAYS_AHEAD: u32 = 60;

impl StoreProfile {
    /// Checks the rules every profile keeps; the reason names the culprit.
    pub fn validate(&self) -> Result<(), String> {
        let p = &self.pickup;
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return Err("name must have 1-200 characters".into());
        }
        if self.tax_rate_bps > 10_000 {
            return Err("tax_rate_bps must be 0-10000".into());
        }
        if p.slot_minutes == 0 || p.slot_minutes > MAX_SLOT_MINUTES {
            return Err(format!("pickup.slot_minutes must be 1-{MAX_SLOT_MINUTES}"));
        }
        if p.lead_minutes > MAX_LEAD_MINUTES {
            return Err(format!("pickup.lead_minutes must be 0-{MAX_LEAD_MINUTES}"));
        }
        if p.max_orders_per_slot == 0 {
            return Err("pickup.max_orders_per_slot must be positive".into());
        }
        if p.max_days_ahead > MAX_DAYS_AHEAD {
            return Err(format!("pickup.max_days_ahead must be 0-{MAX_DAYS_AHEAD}"));
        }
        self.limits.validate(self.currency)
    }
}
