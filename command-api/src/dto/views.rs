//! The answers of the commands: an order, a quote, a store's versions.

use chrono_tz::Tz;
use domain::{Order, PricedLine, Quote, StoreId, Totals};
use serde::Serialize;
use uuid::Uuid;

use super::money::MoneyBody;

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

// A receipt, not the query API's `OrderView` (the order with its timeline):
// the document keeps the name `OrderView` it has always given this schema.
/// An order as a command answers it (`201` of `POST /v1/orders` and the other
/// order commands).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = OrderView)]
pub struct OrderReceipt {
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

impl OrderReceipt {
    pub fn new(store_id: &StoreId, order: &Order, timezone: Tz) -> Self {
        OrderReceipt {
            order_id: order.id.0,
            store_id: store_id.to_string(),
            version: order.version,
            status: schemas::OrderStatus::from(order.status).as_str(),
            payment_status: order
                .payment
                .as_ref()
                .map(|p| schemas::PaymentStatus::from(p.status).as_str()),
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
