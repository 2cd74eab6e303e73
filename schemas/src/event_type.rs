//! The CloudEvents `type` of every event and version the log may hold: one
//! type for every crate that names or matches event types, spelled once, here,
//! with the names of the schema files derived from it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An event type at one version, e.g. `qsr.order.placed.v2`. Serialised as its
/// name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum EventType {
    StoreConfiguredV1,
    StoreConfiguredV2,
    MenuPublishedV1,
    AvailabilityChangedV1,
    StatusChangedV1,
    OrderPlacedV1,
    OrderPlacedV2,
    PaymentAuthorizedV1,
    OrderAcceptedV1,
    OrderRejectedV1,
    PreparationStartedV1,
    OrderReadyV1,
    OrderCompletedV1,
    OrderCancelledV1,
    PaymentCapturedV1,
    PaymentVoidedV1,
    PaymentRefundedV1,
}

impl EventType {
    /// Every event type, in the order EVENTS.md lists them.
    pub const ALL: [EventType; 17] = [
        EventType::StoreConfiguredV1,
        EventType::StoreConfiguredV2,
        EventType::MenuPublishedV1,
        EventType::AvailabilityChangedV1,
        EventType::StatusChangedV1,
        EventType::OrderPlacedV1,
        EventType::OrderPlacedV2,
        EventType::PaymentAuthorizedV1,
        EventType::OrderAcceptedV1,
        EventType::OrderRejectedV1,
        EventType::PreparationStartedV1,
        EventType::OrderReadyV1,
        EventType::OrderCompletedV1,
        EventType::OrderCancelledV1,
        EventType::PaymentCapturedV1,
        EventType::PaymentVoidedV1,
        EventType::PaymentRefundedV1,
    ];

    /// The CloudEvents `type`, as records and the `ce_type` header hold it.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::StoreConfiguredV1 => "qsr.store.configured.v1",
            EventType::StoreConfiguredV2 => "qsr.store.configured.v2",
            EventType::MenuPublishedV1 => "qsr.store.menu_published.v1",
            EventType::AvailabilityChangedV1 => "qsr.store.availability_changed.v1",
            EventType::StatusChangedV1 => "qsr.store.status_changed.v1",
            EventType::OrderPlacedV1 => "qsr.order.placed.v1",
            EventType::OrderPlacedV2 => "qsr.order.placed.v2",
            EventType::PaymentAuthorizedV1 => "qsr.order.payment_authorized.v1",
            EventType::OrderAcceptedV1 => "qsr.order.accepted.v1",
            EventType::OrderRejectedV1 => "qsr.order.rejected.v1",
            EventType::PreparationStartedV1 => "qsr.order.preparation_started.v1",
            EventType::OrderReadyV1 => "qsr.order.ready.v1",
            EventType::OrderCompletedV1 => "qsr.order.completed.v1",
            EventType::OrderCancelledV1 => "qsr.order.cancelled.v1",
            EventType::PaymentCapturedV1 => "qsr.order.payment_captured.v1",
            EventType::PaymentVoidedV1 => "qsr.order.payment_voided.v1",
            EventType::PaymentRefundedV1 => "qsr.order.payment_refunded.v1",
        }
    }

    /// Its `dataschema`: it names the schema's file.
    pub fn dataschema(self) -> String {
        dataschema(self.as_str())
    }
}

/// The `dataschema` of an event type: it names the schema's file.
pub fn dataschema(event_type: &str) -> String {
    format!("urn:qsr:schemas/json/{event_type}.json")
}

/// The file name, under `schemas/json/`, of an event type's schema.
pub fn schema_file(event_type: &str) -> String {
    format!("{event_type}.json")
}

/// A name that is no event type the log may hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type `{0}`")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    fn from_str(name: &str) -> Result<Self, UnknownEventType> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| UnknownEventType(name.to_owned()))
    }
}

impl TryFrom<String> for EventType {
    type Error = UnknownEventType;

    fn try_from(name: String) -> Result<Self, UnknownEventType> {
        name.parse()
    }
}

impl From<EventType> for &'static str {
    fn from(event_type: EventType) -> Self {
        event_type.as_str()
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_reads_back_from_its_name_and_its_json() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
            let json = serde_json::to_value(t).unwrap();
            assert_eq!(json, t.as_str());
            assert_eq!(serde_json::from_value::<EventType>(json).unwrap(), t);
        }
        assert!("qsr.order.teleported.v1".parse::<EventType>().is_err());
    }
}
