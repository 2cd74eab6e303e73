//! An order as the read model holds it: the columns a read selects, the
//! record they make, who may see it, and its view in the API's shape.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use platform::{Caller, Problem, Role};
use schemas::{OrderStatus, PaymentStatus, PricedLineV1, TotalsV1};
use serde::Deserialize;
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use super::http::{internal, local, zone};
use crate::dto::{LineModifier, Money, OrderLine, OrderView, TimelineEntry, Totals};

/// The columns `OrderRecord::from_row` reads, from `orders o` joined with
/// `stores s`.
pub(crate) const ORDER_COLUMNS: &str = "o.order_id, o.store_id, o.customer_id, o.status, \
     o.payment_status, o.version, o.lines, o.totals, o.pickup_at, o.asap, o.placed_at, \
     o.ready_at, coalesce(s.timezone, 'UTC')";

/// The same, with the order's timeline as a JSON array.
pub(super) const ORDER_WITH_TIMELINE: &str = "select o.order_id, o.store_id, o.customer_id, o.status, \
     o.payment_status, o.version, o.lines, o.totals, o.pickup_at, o.asap, o.placed_at, \
     o.ready_at, coalesce(s.timezone, 'UTC'), \
     (select jsonb_agg(jsonb_build_object('status', c.status, 'at', c.at, 'version', c.version, \
                                          'reason', c.reason) order by c.version) \
      from order_status_changes c where c.order_id = o.order_id) \
     from orders o left join stores s using (store_id) where o.order_id = $1";

#[derive(Debug)]
pub(crate) struct OrderRecord {
    pub order_id: Uuid,
    pub store_id: String,
    pub customer_id: Option<String>,
    pub status: OrderStatus,
    payment_status: Option<PaymentStatus>,
    pub version: i64,
    lines: Value,
    totals: Value,
    pickup_at: DateTime<Utc>,
    asap: bool,
    pub placed_at: DateTime<Utc>,
    ready_at: Option<DateTime<Utc>>,
    pub tz: Tz,
    timeline: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct TimelineRow {
    pub(super) status: OrderStatus,
    pub(super) at: DateTime<Utc>,
    pub(super) version: i64,
    pub(super) reason: Option<String>,
}

impl OrderRecord {
    pub(crate) fn from_row(row: &Row) -> Result<OrderRecord, Problem> {
        let timezone: String = row.get(12);
        let status: String = row.get(3);
        let payment_status: Option<String> = row.get(4);
        Ok(OrderRecord {
            order_id: row.get(0),
            store_id: row.get(1),
            customer_id: row.get(2),
            status: status.parse().map_err(internal)?,
            payment_status: payment_status
                .map(|s| s.parse())
                .transpose()
                .map_err(internal)?,
            version: row.get(5),
            lines: row.get(6),
            totals: row.get(7),
            pickup_at: row.get(8),
            asap: row.get(9),
            placed_at: row.get(10),
            ready_at: row.get(11),
            tz: zone(&timezone),
            timeline: if row.len() > 13 { row.get(13) } else { None },
        })
    }

    /// Whether `caller` may read it: its customer, the store's staff, admin.
    pub(super) fn visible_to(&self, caller: &Caller) -> bool {
        match caller.role() {
            Role::Admin => true,
            Role::Staff => caller.0.stores.iter().any(|s| s == &self.store_id),
            Role::Customer => self.customer_id.as_deref() == Some(caller.sub()),
            Role::Pos => false,
        }
    }

    pub(super) fn view(self) -> Result<OrderView, Problem> {
        let tz = self.tz;
        let lines: Vec<PricedLineV1> = serde_json::from_value(self.lines).map_err(internal)?;
        let totals: TotalsV1 = serde_json::from_value(self.totals).map_err(internal)?;
        let timeline = match self.timeline {
            None => None,
            Some(value) => {
                let rows: Vec<TimelineRow> = serde_json::from_value(value).map_err(internal)?;
                Some(
                    rows.into_iter()
                        .map(|c| TimelineEntry {
                            status: c.status,
                            at: local(c.at, tz),
                            version: c.version,
                            reason: c.reason,
                        })
                        .collect(),
                )
            }
        };
        Ok(OrderView {
            order_id: self.order_id.to_string(),
            store_id: self.store_id,
            status: self.status,
            payment_status: self.payment_status,
            version: self.version,
            lines: lines
                .iter()
                .map(|l| OrderLine {
                    item_id: l.item_id.clone(),
                    name: l.name.clone(),
                    quantity: l.quantity,
                    modifiers: l
                        .modifiers
                        .iter()
                        .map(|m| LineModifier {
                            id: m.id.clone(),
                            name: m.name.clone(),
                        })
                        .collect(),
                    note: l.note.clone(),
                    unit_price: Money::from(&l.unit_price),
                    total: Money::from(&l.total),
                })
                .collect(),
            totals: Totals {
                subtotal: Money::from(&totals.subtotal),
                tax: Money::from(&totals.tax),
                tip: Money::from(&totals.tip),
                total: Money::from(&totals.total),
            },
            pickup_at: local(self.pickup_at, tz),
            asap: self.asap,
            placed_at: local(self.placed_at, tz),
            ready_at: self.ready_at.map(|t| local(t, tz)),
            timeline,
        })
    }
}
