//! An order's state: its status, its payment, and the state machine of both.

use chrono::{DateTime, Utc};

use crate::{CustomerId, Money, OrderId, OrderPlaced, PaymentId};

/// `placed` -> `accepted` -> `in_preparation` -> `ready` -> `completed`;
/// `placed` -> `rejected`; any state before `completed` -> `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Placed,
    Accepted,
    InPreparation,
    Ready,
    Completed,
    Rejected,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Accepted => "accepted",
            OrderStatus::InPreparation => "in_preparation",
            OrderStatus::Ready => "ready",
            OrderStatus::Completed => "completed",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Ended: no status follows.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Completed | OrderStatus::Rejected | OrderStatus::Cancelled
        )
    }

    /// Whether the order still takes its pickup slot.
    pub fn holds_slot(self) -> bool {
        !matches!(self, OrderStatus::Rejected | OrderStatus::Cancelled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Authorized,
    Captured,
    Voided,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Captured => "captured",
            PaymentStatus::Voided => "voided",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub status: PaymentStatus,
    pub authorized: Money,
    pub captured: Money,
    pub refunded: Money,
}

impl Payment {
    /// What a refund may still return.
    pub fn refundable(&self) -> Money {
        Money::new(
            self.captured.amount.saturating_sub(self.refunded.amount),
            self.captured.currency,
        )
    }
}

/// An order as its store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub status: OrderStatus,
    /// Gapless, starting at 1 with `Placed`.
    pub version: u64,
    pub placed: OrderPlaced,
    pub payment: Option<Payment>,
    pub ready_at: Option<DateTime<Utc>>,
    /// When it reached a terminal status.
    pub ended_at: Option<DateTime<Utc>>,
}

impl Order {
    pub fn customer_id(&self) -> Option<&CustomerId> {
        self.placed.customer_id.as_ref()
    }
}
