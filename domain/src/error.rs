//! Why a command was refused. One enum per aggregate; each variant is one
//! stable `code` of the public API (see `code()`), so the edge maps them
//! without interpreting messages.

use chrono::{DateTime, Utc};

use crate::{CatalogId, Money, MoneyError, OrderStatus};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the store does not exist")]
    NotFound,
    #[error("invalid store: {0}")]
    InvalidProfile(String),
    #[error("invalid menu: {0}")]
    InvalidMenu(String),
    #[error("the store has no menu yet")]
    NoMenu,
    #[error("{0} is neither an item nor a modifier option of the menu")]
    UnknownCatalogId(CatalogId),
    #[error("invalid status: {0}")]
    InvalidStatus(String),
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound => "store_not_found",
            StoreError::InvalidProfile(_) => "invalid_store",
            StoreError::InvalidMenu(_) => "invalid_menu",
            StoreError::NoMenu => "menu_not_published",
            StoreError::UnknownCatalogId(_) => "item_not_found",
            StoreError::InvalidStatus(_) => "invalid_status",
            StoreError::IdempotencyKeyReused => "idempotency_key_reused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("the store does not exist")]
    StoreNotFound,
    #[error("the store is not taking orders right now")]
    StoreNotAccepting,
    #[error("the store has no menu yet")]
    NoMenu,
    #[error("the store is closed at {0}")]
    StoreClosed(DateTime<Utc>),
    #[error("this order exists already")]
    OrderExists,
    #[error("the order does not exist")]
    OrderNotFound,
    #[error("an order needs at least one line")]
    EmptyOrder,
    #[error("an order has at most {} lines", crate::MAX_LINES)]
    TooManyLines,
    #[error("line {line}: quantity must be 1-{}", crate::MAX_QUANTITY)]
    InvalidQuantity { line: usize },
    #[error("line {line}: item {item} is not on the menu")]
    ItemNotFound { line: usize, item: CatalogId },
    #[error("line {line}: item {item} is not available")]
    ItemUnavailable { line: usize, item: CatalogId },
    #[error("line {line}: option {option} is not offered with this item")]
    ModifierNotFound { line: usize, option: CatalogId },
    #[error("line {line}: option {option} is not available")]
    ModifierUnavailable { line: usize, option: CatalogId },
    #[error("line {line}: option {option} is chosen twice")]
    DuplicateModifier { line: usize, option: CatalogId },
    #[error("line {line}: choose {min}-{max} of {group}")]
    ModifierCount {
        line: usize,
        group: CatalogId,
        min: u32,
        max: u32,
    },
    #[error("the pickup time is in the past")]
    PickupInPast,
    #[error("the earliest pickup time is {earliest}")]
    PickupTooSoon { earliest: DateTime<Utc> },
    #[error("pickup can be scheduled until {latest}")]
    PickupTooFar { latest: DateTime<Utc> },
    #[error("the pickup slot at {slot} is full")]
    SlotFull { slot: DateTime<Utc> },
    #[error("amounts must be in {expected}")]
    CurrencyMismatch { expected: crate::Currency },
    #[error("the tip must not be negative")]
    InvalidTip,
    #[error("{0}")]
    AmountOutOfRange(MoneyError),
    /// The cap is the larger of the subtotal and the store's `max_tip`.
    #[error(
        "the tip may be at most {cap} (minor units): the larger of the subtotal and the store's max_tip"
    )]
    TipTooLarge { cap: Money },
    #[error("the order's total may be at most {cap} (minor units), the store's max_order_total")]
    OrderTotalTooLarge { cap: Money },
    #[error("the payment authorised {authorized:?}, but the order costs {total:?}")]
    PaymentMismatch { authorized: Money, total: Money },
    #[error("an order that is {} cannot be {action}", from.as_str())]
    InvalidTransition {
        from: OrderStatus,
        action: &'static str,
    },
    #[error("a customer can cancel only before the store accepts the order")]
    CustomerCannotCancel,
    #[error("the payment has not been captured")]
    NotCaptured,
    #[error("a refund must be positive")]
    InvalidRefund,
    #[error("at most {refundable:?} can still be refunded")]
    RefundExceedsCaptured { refundable: Money },
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
}

impl OrderError {
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::StoreNotFound => "store_not_found",
            OrderError::StoreNotAccepting => "store_not_accepting",
            OrderError::NoMenu => "menu_not_published",
            OrderError::StoreClosed(_) => "store_closed",
            OrderError::OrderExists => "order_exists",
            OrderError::OrderNotFound => "order_not_found",
            OrderError::EmptyOrder => "empty_order",
            OrderError::TooManyLines => "too_many_lines",
            OrderError::InvalidQuantity { .. } => "invalid_quantity",
            OrderError::ItemNotFound { .. } => "item_not_found",
            OrderError::ItemUnavailable { .. } => "item_unavailable",
            OrderError::ModifierNotFound { .. } => "modifier_not_found",
            OrderError::ModifierUnavailable { .. } => "modifier_unavailable",
            OrderError::DuplicateModifier { .. } => "duplicate_modifier",
            OrderError::ModifierCount { .. } => "modifier_count",
            OrderError::PickupInPast => "pickup_in_past",
            OrderError::PickupTooSoon { .. } => "pickup_too_soon",
            OrderError::PickupTooFar { .. } => "pickup_too_far",
            OrderError::SlotFull { .. } => "slot_full",
            OrderError::CurrencyMismatch { .. } => "currency_mismatch",
            OrderError::InvalidTip => "invalid_tip",
            OrderError::AmountOutOfRange(_) => "amount_out_of_range",
            OrderError::TipTooLarge { .. } => "tip_too_large",
            OrderError::OrderTotalTooLarge { .. } => "order_total_too_large",
            OrderError::PaymentMismatch { .. } => "payment_amount_mismatch",
            OrderError::InvalidTransition { .. } => "invalid_transition",
            OrderError::CustomerCannotCancel => "cancel_not_allowed",
            OrderError::NotCaptured => "payment_not_captured",
            OrderError::InvalidRefund => "invalid_refund_amount",
            OrderError::RefundExceedsCaptured { .. } => "refund_exceeds_captured",
            OrderError::IdempotencyKeyReused => "idempotency_key_reused",
        }
    }
}

/// A refused command, on the store or on one of its orders.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Order(#[from] OrderError),
}

impl DomainError {
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Store(e) => e.code(),
            DomainError::Order(e) => e.code(),
        }
    }
}
