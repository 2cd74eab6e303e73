//! The rows of the read models a batch touches, as the fold holds them in
//! memory between loading and saving them, and the checked arithmetic of the
//! sales sums.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use schemas::{OrderStatus, PaymentStatus};
use serde_json::Value;
use uuid::Uuid;

/// The length of a sales interval (see `V3__query_models.sql`).
pub const SALES_INTERVAL_MINUTES: i64 = 15;

/// The start of the sales interval holding `at`.
pub fn sales_interval(at: DateTime<Utc>) -> DateTime<Utc> {
    // Truncating a UTC instant to 15 minutes cannot fail: the duration is
    // positive and far below the range of a timestamp.
    at.duration_trunc(TimeDelta::minutes(SALES_INTERVAL_MINUTES))
        .unwrap_or(at)
}

#[derive(Debug, Clone)]
pub(super) struct StoreRow {
    pub(super) store_id: String,
    pub(super) name: String,
    pub(super) timezone: String,
    pub(super) currency: String,
    pub(super) tax_rate_bps: i32,
    pub(super) hours: Value,
    pub(super) pickup: Value,
    pub(super) version: i64,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) accepting_orders: bool,
    pub(super) busy_minutes: i32,
    pub(super) unavailable: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct MenuRow {
    pub(super) store_id: String,
    pub(super) menu_version: i32,
    pub(super) categories: Value,
    pub(super) published_at: DateTime<Utc>,
}

/// What the fold needs of an order: its state, and what its sales were.
#[derive(Debug, Clone)]
pub(super) struct OrderRow {
    pub(super) order_id: Uuid,
    pub(super) store_id: String,
    pub(super) status: OrderStatus,
    pub(super) version: i64,
    pub(super) placed_at: DateTime<Utc>,
    /// Subtotal, tax and tip: what a rejection or cancellation withdraws.
    pub(super) sale: [i64; 3],
    pub(super) updated_at: DateTime<Utc>,
    pub(super) payment_status: Option<PaymentStatus>,
    pub(super) captured_amount: i64,
    pub(super) refunded_amount: i64,
    pub(super) ready_at: Option<DateTime<Utc>>,
    /// What never changes after placement, for an order placed in this batch
    /// only: the rows of earlier ones are updated, never rewritten whole.
    pub(super) placement: Option<Placement>,
}

#[derive(Debug, Clone)]
pub(super) struct Placement {
    pub(super) customer_id: Option<String>,
    pub(super) lines: Value,
    pub(super) totals: Value,
    pub(super) pickup_at: DateTime<Utc>,
    pub(super) slot: DateTime<Utc>,
    pub(super) asap: bool,
}

#[derive(Debug)]
pub(super) struct StatusChange {
    pub(super) order_id: Uuid,
    pub(super) version: i64,
    pub(super) status: OrderStatus,
    pub(super) at: DateTime<Utc>,
    pub(super) reason: Option<String>,
}

/// A row of `sales_intervals`.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Sales {
    pub(super) orders: i32,
    pub(super) revenue: i64,
    pub(super) tax: i64,
    pub(super) tips: i64,
    pub(super) refunds: i64,
}

impl Sales {
    /// With an order of `[subtotal, tax, tip]` added; `None` on overflow.
    pub(super) fn with_order(self, [subtotal, tax, tip]: [i64; 3]) -> Option<Sales> {
        Some(Sales {
            orders: self.orders.checked_add(1)?,
            revenue: self.revenue.checked_add(subtotal)?,
            tax: self.tax.checked_add(tax)?,
            tips: self.tips.checked_add(tip)?,
            refunds: self.refunds,
        })
    }

    /// With an order of `[subtotal, tax, tip]` taken out; `None` on overflow.
    pub(super) fn without_order(self, [subtotal, tax, tip]: [i64; 3]) -> Option<Sales> {
        Some(Sales {
            orders: self.orders.checked_sub(1)?,
            revenue: self.revenue.checked_sub(subtotal)?,
            tax: self.tax.checked_sub(tax)?,
            tips: self.tips.checked_sub(tip)?,
            refunds: self.refunds,
        })
    }

    pub(super) fn with_refund(self, amount: i64) -> Option<Sales> {
        Some(Sales {
            refunds: self.refunds.checked_add(amount)?,
            ..self
        })
    }
}

/// A row of `sales_intervals`: a store and the start of an interval.
pub(super) type SalesKey = (String, DateTime<Utc>);

/// The rows a batch reads and writes, keyed so that writing them back is
/// deterministic (sorted keys also keep concurrent writers from deadlocking).
#[derive(Debug, Default)]
pub(super) struct Models {
    pub(super) stores: BTreeMap<String, StoreRow>,
    pub(super) menus: BTreeMap<String, MenuRow>,
    pub(super) orders: BTreeMap<Uuid, OrderRow>,
    pub(super) changed_stores: BTreeSet<String>,
    pub(super) changed_menus: BTreeSet<String>,
    pub(super) changed_orders: BTreeSet<Uuid>,
    pub(super) status_changes: Vec<StatusChange>,
    /// The sales rows the batch may touch, as stored before it (a key that is
    /// absent has no row yet) and then as the fold leaves them.
    pub(super) sales: BTreeMap<SalesKey, Sales>,
    pub(super) changed_sales: BTreeSet<SalesKey>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sales_intervals_are_quarters_of_an_hour_in_utc() {
        let at: DateTime<Utc> = "2026-11-01T05:44:59.999Z".parse().unwrap();
        let start: DateTime<Utc> = "2026-11-01T05:30:00Z".parse().unwrap();
        assert_eq!(sales_interval(at), start);
        assert_eq!(sales_interval(start), start);
    }

    #[test]
    fn a_sum_out_of_range_is_refused_not_wrapped() {
        let half = 1_i64 << 62;
        let once = Sales::default().with_order([0, 0, half]).unwrap();
        assert_eq!(once.tips, half);
        assert!(once.with_order([0, 0, half]).is_none(), "2^63 tips");
        assert!(once.without_order([0, 0, -half]).is_none(), "2^63 tips");
        assert!(
            Sales::default()
                .with_order([i64::MIN, 0, 0])
                .unwrap()
                .without_order([1, 0, 0])
                .is_none()
        );
        assert!(once.with_refund(i64::MAX).unwrap().with_refund(1).is_none());
        let full = Sales {
            orders: i32::MAX,
            ..Sales::default()
        };
        assert!(full.with_order([0, 0, 0]).is_none(), "orders count");
    }
}
