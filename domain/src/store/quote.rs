//! What a cart costs at a store and when it could be picked up: placing an
//! order prices its cart this way, and so does a quote, which writes nothing.

use chrono::{DateTime, Duration, Utc};

use super::Store;
use crate::hours::{next_slot_at_or_after, slot_start};
use crate::pricing::{PriceList, price};
use crate::{Cart, OrderError, PricedLine, Totals};

/// What a cart would cost and when it could be picked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
    pub pickup_at: DateTime<Utc>,
    pub slot: DateTime<Utc>,
    pub asap: bool,
}

impl Store {
    /// Prices a cart and finds its pickup time, as placing it would.
    pub fn quote(&self, cart: &Cart, now: DateTime<Utc>) -> Result<Quote, OrderError> {
        let profile = self.profile.as_ref().ok_or(OrderError::StoreNotFound)?;
        if !self.status.accepts_orders() {
            return Err(OrderError::StoreNotAccepting);
        }
        let menu = self.menu.as_ref().ok_or(OrderError::NoMenu)?;
        let list = PriceList {
            menu,
            unavailable: &self.unavailable,
            currency: profile.currency,
            tax_rate_bps: profile.tax_rate_bps,
            limits: profile.limits,
        };
        let (lines, totals) = price(list, &cart.lines, cart.tip)?;
        let pickup = profile.pickup;
        let tz = profile.timezone;
        let wait = i64::from(pickup.lead_minutes) + i64::from(self.status.extra_minutes());
        let earliest = now + Duration::minutes(wait);
        let (pickup_at, asap) = match cart.pickup_at {
            None => (
                next_slot_at_or_after(tz, pickup.slot_minutes, earliest),
                true,
            ),
            Some(at) if at < now => return Err(OrderError::PickupInPast),
            Some(at) if at < earliest => return Err(OrderError::PickupTooSoon { earliest }),
            Some(at) => {
                let latest = now + Duration::days(i64::from(pickup.max_days_ahead));
                if at > latest {
                    return Err(OrderError::PickupTooFar { latest });
                }
                (at, false)
            }
        };
        if !profile.hours.is_open(tz, pickup_at) {
            return Err(OrderError::StoreClosed(pickup_at));
        }
        let slot = slot_start(tz, pickup.slot_minutes, pickup_at);
        if self.slot_load(slot) >= pickup.max_orders_per_slot {
            return Err(OrderError::SlotFull { slot });
        }
        Ok(Quote {
            lines,
            totals,
            pickup_at,
            slot,
            asap,
        })
    }
}
