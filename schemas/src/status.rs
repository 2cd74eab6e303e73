//! The status of an order and of its payment, as the read models store them
//! and the APIs show them: one type each for every crate that reads or writes
//! that text (projector, query-api, pos-bridge), spelled once, here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

// `placed` -> `accepted` -> `in_preparation` -> `ready` -> `completed`;
// `placed` -> `rejected`; any state before `completed` -> `cancelled`. The
// domain's `domain::OrderStatus` holds the rules; this is its stored name.
/// An order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
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
    /// Every status, in the order of the state machine.
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Placed,
        OrderStatus::Accepted,
        OrderStatus::InPreparation,
        OrderStatus::Ready,
        OrderStatus::Completed,
        OrderStatus::Rejected,
        OrderStatus::Cancelled,
    ];

    /// The name the read models store and the APIs show (serde's name too).
    pub const fn as_str(self) -> &'static str {
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

    /// Ended: no status follows (the domain's rule).
    pub fn is_terminal(self) -> bool {
        domain::OrderStatus::from(self).is_terminal()
    }

    /// Whether the order still takes its pickup slot (the domain's rule).
    pub fn holds_slot(self) -> bool {
        domain::OrderStatus::from(self).holds_slot()
    }
}

impl From<domain::OrderStatus> for OrderStatus {
    fn from(status: domain::OrderStatus) -> Self {
        match status {
            domain::OrderStatus::Placed => OrderStatus::Placed,
            domain::OrderStatus::Accepted => OrderStatus::Accepted,
            domain::OrderStatus::InPreparation => OrderStatus::InPreparation,
            domain::OrderStatus::Ready => OrderStatus::Ready,
            domain::OrderStatus::Completed => OrderStatus::Completed,
            domain::OrderStatus::Rejected => OrderStatus::Rejected,
            domain::OrderStatus::Cancelled => OrderStatus::Cancelled,
        }
    }
}

impl From<OrderStatus> for domain::OrderStatus {
    fn from(status: OrderStatus) -> Self {
        match status {
            OrderStatus::Placed => domain::OrderStatus::Placed,
            OrderStatus::Accepted => domain::OrderStatus::Accepted,
            OrderStatus::InPreparation => domain::OrderStatus::InPreparation,
            OrderStatus::Ready => domain::OrderStatus::Ready,
            OrderStatus::Completed => domain::OrderStatus::Completed,
            OrderStatus::Rejected => domain::OrderStatus::Rejected,
            OrderStatus::Cancelled => domain::OrderStatus::Cancelled,
        }
    }
}

/// An order's payment status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Authorized,
    Captured,
    Voided,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    /// Every payment status.
    pub const ALL: [PaymentStatus; 5] = [
        PaymentStatus::Authorized,
        PaymentStatus::Captured,
        PaymentStatus::Voided,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
    ];

    /// The name the read models store and the APIs show (serde's name too).
    pub const fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Captured => "captured",
            PaymentStatus::Voided => "voided",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
        }
    }
}

impl From<domain::PaymentStatus> for PaymentStatus {
    fn from(status: domain::PaymentStatus) -> Self {
        match status {
            domain::PaymentStatus::Authorized => PaymentStatus::Authorized,
            domain::PaymentStatus::Captured => PaymentStatus::Captured,
            domain::PaymentStatus::Voided => PaymentStatus::Voided,
            domain::PaymentStatus::PartiallyRefunded => PaymentStatus::PartiallyRefunded,
            domain::PaymentStatus::Refunded => PaymentStatus::Refunded,
        }
    }
}

/// A name that is no status of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{name}`")]
pub struct UnknownStatus {
    kind: &'static str,
    name: String,
}

macro_rules! text {
    ($type:ty, $kind:literal) => {
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $type {
            type Err = UnknownStatus;

            fn from_str(name: &str) -> Result<Self, UnknownStatus> {
                <$type>::ALL
                    .into_iter()
                    .find(|status| status.as_str() == name)
                    .ok_or_else(|| UnknownStatus {
                        kind: $kind,
                        name: name.to_owned(),
                    })
            }
        }
    };
}

text!(OrderStatus, "order status");
text!(PaymentStatus, "payment status");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_the_text_and_the_domain_agree_on_every_status() {
        for status in OrderStatus::ALL {
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json, status.as_str());
            assert_eq!(status.as_str().parse::<OrderStatus>(), Ok(status));
            assert_eq!(domain::OrderStatus::from(status).as_str(), status.as_str());
            assert_eq!(OrderStatus::from(domain::OrderStatus::from(status)), status);
        }
        for status in PaymentStatus::ALL {
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json, status.as_str());
            assert_eq!(status.as_str().parse::<PaymentStatus>(), Ok(status));
        }
        assert!("shipped".parse::<OrderStatus>().is_err());
    }
}
