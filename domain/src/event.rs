//! What happened: the events a store and its orders emit.

use chrono::{DateTime, Utc};

use crate::{
    CatalogId, CustomerId, Menu, Money, OrderId, PaymentId, RefundId, StoreId, StoreProfile,
    StoreStatus,
};

/// A recognised request: its `Idempotency-Key` and a fingerprint of its body,
/// so that a retry is told from a different request with the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: String,
}

/// One event of a store's stream, with the request that caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub store_id: StoreId,
    pub change: Change,
    pub idempotency: Option<Idempotency>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Store(StoreEvent),
    Order {
        order_id: OrderId,
        event: OrderEvent,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum StoreEvent {
    /// An admin created the store or changed its profile.
    Configured(StoreProfile),
    /// An admin published a whole new menu.
    MenuPublished { menu_version: u32, menu: Menu },
    /// An item or modifier option was taken off ("86") or put back.
    AvailabilityChanged { id: CatalogId, available: bool },
    /// The store paused, resumed or went busy.
    StatusChanged(StoreStatus),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedModifier {
    pub id: CatalogId,
    pub name: String,
    pub price_delta: Money,
}

/// A line as the server priced it from the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub item_id: CatalogId,
    pub name: String,
    pub quantity: u32,
    pub modifiers: Vec<PricedModifier>,
    pub note: Option<String>,
    /// The item's price plus its options' deltas.
    pub unit_price: Money,
    /// `unit_price * quantity`.
    pub total: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: Money,
    pub tax: Money,
    pub tip: Money,
    pub total: Money,
}

/// The fact of an order placed, with everything the kitchen and the books need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlaced {
    /// `None` for orders placed before customers had accounts (v1 records).
    pub customer_id: Option<CustomerId>,
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
    pub pickup_at: DateTime<Utc>,
    /// The start of the pickup slot the order takes.
    pub slot: DateTime<Utc>,
    /// Whether the customer asked for as soon as possible.
    pub asap: bool,
    pub placed_at: DateTime<Utc>,
}

/// Which kind of actor made a change, where the domain's rules depend on it
/// (who cancelled an order). Not a token's role (`platform::Role`): an event
/// records the actor of a change, whoever authenticated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    Customer,
    Staff,
    Pos,
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    Placed(OrderPlaced),
    /// The gateway authorised the order's total; appended with `Placed`.
    PaymentAuthorized {
        payment_id: PaymentId,
        amount: Money,
        reference: String,
        at: DateTime<Utc>,
    },
    Accepted {
        ready_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    },
    Rejected {
        reason: String,
        at: DateTime<Utc>,
    },
    PreparationStarted {
        at: DateTime<Utc>,
    },
    Ready {
        at: DateTime<Utc>,
    },
    Completed {
        at: DateTime<Utc>,
    },
    Cancelled {
        reason: String,
        by: ActorKind,
        at: DateTime<Utc>,
    },
    /// The authorised amount was captured: on completion.
    PaymentCaptured {
        payment_id: PaymentId,
        amount: Money,
        at: DateTime<Utc>,
    },
    /// The authorisation was released: on rejection or cancellation before capture.
    PaymentVoided {
        payment_id: PaymentId,
        at: DateTime<Utc>,
    },
    PaymentRefunded {
        payment_id: PaymentId,
        refund_id: RefundId,
        amount: Money,
        reason: String,
        at: DateTime<Utc>,
    },
}
