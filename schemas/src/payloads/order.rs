//! Order and payment events.

use chrono::{DateTime, Utc};
use domain::{
    ActorKind, CatalogId, CustomerId, Money, OrderPlaced, PricedLine, PricedModifier, Totals,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::common::{ConversionError, MoneyV1};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PricedModifierV1 {
    pub id: String,
    pub name: String,
    pub price_delta: MoneyV1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PricedLineV1 {
    pub item_id: String,
    pub name: String,
    /// 1-99.
    pub quantity: u32,
    pub modifiers: Vec<PricedModifierV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The item's price plus its options' deltas.
    pub unit_price: MoneyV1,
    /// `unit_price` times `quantity`.
    pub total: MoneyV1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TotalsV1 {
    pub subtotal: MoneyV1,
    pub tax: MoneyV1,
    pub tip: MoneyV1,
    pub total: MoneyV1,
}

/// `qsr.order.placed.v1`, as the walking skeleton wrote it: no customer and no
/// slot. Read as v2 (see `OrderPlacedV2::from_v1`); never written any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderPlacedV1 {
    pub order_id: Uuid,
    pub store_id: String,
    pub lines: Vec<PricedLineV1>,
    pub totals: TotalsV1,
    pub pickup_at: DateTime<Utc>,
    pub asap: bool,
    pub placed_at: DateTime<Utc>,
}

/// `qsr.order.placed.v2`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderPlacedV2 {
    pub order_id: Uuid,
    pub store_id: String,
    /// The customer's id (their token's `sub`); null for a guest order of v1.
    pub customer_id: Option<String>,
    pub lines: Vec<PricedLineV1>,
    pub totals: TotalsV1,
    pub pickup_at: DateTime<Utc>,
    /// The start of the pickup slot the order takes.
    pub slot: DateTime<Utc>,
    /// Whether the customer asked for as soon as possible.
    pub asap: bool,
    pub placed_at: DateTime<Utc>,
}

impl OrderPlacedV2 {
    /// Upcasts a v1 record: it had no customer (a guest order), and its slot is
    /// taken to start at its pickup time, as it did for the as-soon-as-possible
    /// orders that were the only ones v1 could place.
    pub fn from_v1(v1: OrderPlacedV1) -> Self {
        OrderPlacedV2 {
            order_id: v1.order_id,
            store_id: v1.store_id,
            customer_id: None,
            lines: v1.lines,
            totals: v1.totals,
            pickup_at: v1.pickup_at,
            slot: v1.pickup_at,
            asap: v1.asap,
            placed_at: v1.placed_at,
        }
    }

    pub fn from_domain(order_id: Uuid, store_id: &str, e: &OrderPlaced) -> Self {
        OrderPlacedV2 {
            order_id,
            store_id: store_id.to_owned(),
            customer_id: e.customer_id.as_ref().map(|c| c.as_str().to_owned()),
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
            slot: e.slot,
            asap: e.asap,
            placed_at: e.placed_at,
        }
    }

    pub fn to_domain(&self) -> Result<OrderPlaced, ConversionError> {
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
            customer_id: self
                .customer_id
                .as_deref()
                .map(CustomerId::parse)
                .transpose()?,
            lines: self.lines.iter().map(line).collect::<Result<_, _>>()?,
            totals: Totals {
                subtotal: Money::try_from(&self.totals.subtotal)?,
                tax: Money::try_from(&self.totals.tax)?,
                tip: Money::try_from(&self.totals.tip)?,
                total: Money::try_from(&self.totals.total)?,
            },
            pickup_at: self.pickup_at,
            slot: self.slot,
            asap: self.asap,
            placed_at: self.placed_at,
        })
    }
}

/// `qsr.order.payment_authorized.v1`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentAuthorizedV1 {
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub amount: MoneyV1,
    /// The gateway's id of the authorisation (never card data).
    pub reference: String,
    pub at: DateTime<Utc>,
}

/// `qsr.order.accepted.v1`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderAcceptedV1 {
    pub order_id: Uuid,
    /// The store's estimate of when the order will be ready.
    pub ready_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

/// `qsr.order.rejected.v1`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRejectedV1 {
    pub order_id: Uuid,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// `qsr.order.preparation_started.v1`, `qsr.order.ready.v1` and
/// `qsr.order.completed.v1`: a status reached at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderStepV1 {
    pub order_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleV1 {
    Customer,
    Staff,
    Pos,
    Admin,
}

impl From<ActorKind> for RoleV1 {
    fn from(role: ActorKind) -> Self {
        match role {
            ActorKind::Customer => RoleV1::Customer,
            ActorKind::Staff => RoleV1::Staff,
            ActorKind::Pos => RoleV1::Pos,
            ActorKind::Admin => RoleV1::Admin,
        }
    }
}

impl From<RoleV1> for ActorKind {
    fn from(role: RoleV1) -> Self {
        match role {
            RoleV1::Customer => ActorKind::Customer,
            RoleV1::Staff => ActorKind::Staff,
            RoleV1::Pos => ActorKind::Pos,
            RoleV1::Admin => ActorKind::Admin,
        }
    }
}

/// `qsr.order.cancelled.v1`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderCancelledV1 {
    pub order_id: Uuid,
    pub reason: String,
    pub cancelled_by: RoleV1,
    pub at: DateTime<Utc>,
}

/// `qsr.order.payment_captured.v1`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentCapturedV1 {
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub amount: MoneyV1,
    pub at: DateTime<Utc>,
}

/// `qsr.order.payment_voided.v1`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentVoidedV1 {
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub at: DateTime<Utc>,
}

/// `qsr.order.payment_refunded.v1`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRefundedV1 {
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub refund_id: Uuid,
    pub amount: MoneyV1,
    pub reason: String,
    pub at: DateTime<Utc>,
}
