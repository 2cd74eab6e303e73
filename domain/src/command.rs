//! What is asked: commands on a store and its orders. Everything a decision
//! needs from outside (the time, the caller, the payment's outcome) is inside.

use chrono::{DateTime, Utc};

use crate::{
    CatalogId, CustomerId, Idempotency, Menu, Money, OrderId, PaymentId, RefundId, StoreId,
    StoreProfile,
};

/// Who sends the command. Which stores a staff or POS token may touch is
/// checked at the edge; the domain applies only business rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Customer(CustomerId),
    Staff,
    Pos,
    Admin,
}

impl Actor {
    pub fn role(&self) -> crate::Role {
        match self {
            Actor::Customer(_) => crate::Role::Customer,
            Actor::Staff => crate::Role::Staff,
            Actor::Pos => crate::Role::Pos,
            Actor::Admin => crate::Role::Admin,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub store_id: StoreId,
    pub actor: Actor,
    /// When the command arrived.
    pub now: DateTime<Utc>,
    pub idempotency: Option<Idempotency>,
    pub action: Action,
}

/// One line of a cart, as the customer chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub item_id: CatalogId,
    pub quantity: u32,
    pub modifiers: Vec<CatalogId>,
    pub note: Option<String>,
}

/// A cart to price: what `POST /v1/orders/quote` and placing have in common.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    pub tip: Option<Money>,
    /// `None`: as soon as possible.
    pub pickup_at: Option<DateTime<Utc>>,
}

/// A payment the gateway authorised before the order was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub payment_id: PaymentId,
    pub amount: Money,
    /// The gateway's id of the authorisation.
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    ConfigureStore(StoreProfile),
    PublishMenu(Menu),
    SetAvailability {
        id: CatalogId,
        available: bool,
    },
    SetStatus {
        accepting_orders: bool,
        busy_minutes: Option<u32>,
    },
    PlaceOrder {
        order_id: OrderId,
        cart: Cart,
        payment: Authorization,
    },
    AcceptOrder {
        order_id: OrderId,
        ready_at: Option<DateTime<Utc>>,
    },
    RejectOrder {
        order_id: OrderId,
        reason: String,
    },
    StartOrder {
        order_id: OrderId,
    },
    MarkReady {
        order_id: OrderId,
    },
    CompleteOrder {
        order_id: OrderId,
    },
    CancelOrder {
        order_id: OrderId,
        reason: String,
    },
    RefundOrder {
        order_id: OrderId,
        refund_id: RefundId,
        amount: Money,
        reason: String,
    },
}

impl Action {
    /// The order the action is about, if any.
    pub fn order_id(&self) -> Option<OrderId> {
        match self {
            Action::PlaceOrder { order_id, .. }
            | Action::AcceptOrder { order_id, .. }
            | Action::RejectOrder { order_id, .. }
            | Action::StartOrder { order_id }
            | Action::MarkReady { order_id }
            | Action::CompleteOrder { order_id }
            | Action::CancelOrder { order_id, .. }
            | Action::RefundOrder { order_id, .. } => Some(*order_id),
            Action::ConfigureStore(_)
            | Action::PublishMenu(_)
            | Action::SetAvailability { .. }
            | Action::SetStatus { .. } => None,
        }
    }
}
