//! What is asked: commands on a store and its orders. Everything a decision
//! needs from outside (the time, the caller, the payment's outcome) is inside.

use chrono::{DateTime, Utc};

use crate::{
    ActorKind, CatalogId, CustomerId, Idempotency, Menu, Money, OrderId, PaymentId, RefundId,
    StoreId, StoreProfile,
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
    /// Which kind of actor this is, without who.
    pub fn kind(&self) -> ActorKind {
        match self {
            Actor::Customer(_) => ActorKind::Customer,
            Actor::Staff => ActorKind::Staff,
            Actor::Pos => ActorKind::Pos,
            Actor::Admin => ActorKind::Admin,
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

/// What a command asks, split as the events are ([`crate::Change`]): a
/// change to the store itself, or to one of its orders.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Store(StoreCommand),
    Order {
        order_id: OrderId,
        command: OrderCommand,
    },
}

impl From<StoreCommand> for Action {
    fn from(command: StoreCommand) -> Action {
        Action::Store(command)
    }
}

impl Action {
    /// The order the action is about, if any.
    pub fn order_id(&self) -> Option<OrderId> {
        match self {
            Action::Order { order_id, .. } => Some(*order_id),
            Action::Store(_) => None,
        }
    }
}

/// A command on the store itself: its profile, menu, availability, status.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreCommand {
    Configure(StoreProfile),
    PublishMenu(Menu),
    SetAvailability {
        id: CatalogId,
        available: bool,
    },
    SetStatus {
        accepting_orders: bool,
        busy_minutes: Option<u32>,
    },
}

/// A command on one order of the store, from its placing to its refunds.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderCommand {
    Place {
        cart: Cart,
        payment: Authorization,
    },
    Accept {
        ready_at: Option<DateTime<Utc>>,
    },
    Reject {
        reason: String,
    },
    Start,
    MarkReady,
    Complete,
    Cancel {
        reason: String,
    },
    Refund {
        refund_id: RefundId,
        amount: Money,
        reason: String,
    },
}
