//! The CloudEvents 1.0 envelope (structured JSON mode) with our extension
//! attributes, and the typed decoding of its `data`, upcasting old versions.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event_type::EventType;
use crate::payloads::*;

/// The CloudEvents version every record carries.
pub const SPEC_VERSION: &str = "1.0";
/// The Kafka `content-type` header of a structured-mode CloudEvent.
pub const CONTENT_TYPE: &str = "application/cloudevents+json";
/// The Kafka header that repeats the event type, so consumers can filter
/// without parsing the body.
pub const TYPE_HEADER: &str = "ce_type";

/// The Kafka headers of a record holding an event of `event_type`, beside its
/// body: the content type and [`TYPE_HEADER`].
pub fn record_headers(event_type: &'static str) -> [(&'static str, &'static str); 2] {
    [("content-type", CONTENT_TYPE), (TYPE_HEADER, event_type)]
}

/// Everything about an event except its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    pub id: Uuid,
    /// The service that wrote it, e.g. `/command-api`.
    pub source: String,
    /// The aggregate: an order id or a store id.
    pub subject: String,
    pub time: DateTime<Utc>,
    /// The record key; the partition is derived from it.
    pub store_id: String,
    /// The aggregate's version after this event: 1, 2, 3… gapless.
    pub version: u64,
    pub correlation_id: String,
    /// The id of the command that caused the event.
    pub causation_id: String,
    pub idempotency_key: Option<String>,
    /// A fingerprint of the request that carried `idempotency_key`.
    pub request_hash: Option<String>,
}

/// The payload of each event type, at its current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventData {
    StoreConfigured(StoreConfiguredV2),
    MenuPublished(MenuPublishedV1),
    AvailabilityChanged(AvailabilityChangedV1),
    StatusChanged(StatusChangedV1),
    OrderPlaced(OrderPlacedV2),
    PaymentAuthorized(PaymentAuthorizedV1),
    OrderAccepted(OrderAcceptedV1),
    OrderRejected(OrderRejectedV1),
    PreparationStarted(OrderStepV1),
    OrderReady(OrderStepV1),
    OrderCompleted(OrderStepV1),
    OrderCancelled(OrderCancelledV1),
    PaymentCaptured(PaymentCapturedV1),
    PaymentVoided(PaymentVoidedV1),
    PaymentRefunded(PaymentRefundedV1),
}

impl EventData {
    /// The CloudEvents `type`, versioned: always the current version.
    pub fn kind(&self) -> EventType {
        match self {
            EventData::StoreConfigured(_) => EventType::StoreConfiguredV2,
            EventData::MenuPublished(_) => EventType::MenuPublishedV1,
            EventData::AvailabilityChanged(_) => EventType::AvailabilityChangedV1,
            EventData::StatusChanged(_) => EventType::StatusChangedV1,
            EventData::OrderPlaced(_) => EventType::OrderPlacedV2,
            EventData::PaymentAuthorized(_) => EventType::PaymentAuthorizedV1,
            EventData::OrderAccepted(_) => EventType::OrderAcceptedV1,
            EventData::OrderRejected(_) => EventType::OrderRejectedV1,
            EventData::PreparationStarted(_) => EventType::PreparationStartedV1,
            EventData::OrderReady(_) => EventType::OrderReadyV1,
            EventData::OrderCompleted(_) => EventType::OrderCompletedV1,
            EventData::OrderCancelled(_) => EventType::OrderCancelledV1,
            EventData::PaymentCaptured(_) => EventType::PaymentCapturedV1,
            EventData::PaymentVoided(_) => EventType::PaymentVoidedV1,
            EventData::PaymentRefunded(_) => EventType::PaymentRefundedV1,
        }
    }

    /// The name of [`Self::kind`], e.g. `qsr.order.placed.v2`, for headers
    /// and logs.
    pub fn event_type(&self) -> &'static str {
        self.kind().as_str()
    }

    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            EventData::StoreConfigured(d) => serde_json::to_value(d),
            EventData::MenuPublished(d) => serde_json::to_value(d),
            EventData::AvailabilityChanged(d) => serde_json::to_value(d),
            EventData::StatusChanged(d) => serde_json::to_value(d),
            EventData::OrderPlaced(d) => serde_json::to_value(d),
            EventData::PaymentAuthorized(d) => serde_json::to_value(d),
            EventData::OrderAccepted(d) => serde_json::to_value(d),
            EventData::OrderRejected(d) => serde_json::to_value(d),
            EventData::PreparationStarted(d)
            | EventData::OrderReady(d)
            | EventData::OrderCompleted(d) => serde_json::to_value(d),
            EventData::OrderCancelled(d) => serde_json::to_value(d),
            EventData::PaymentCaptured(d) => serde_json::to_value(d),
            EventData::PaymentVoided(d) => serde_json::to_value(d),
            EventData::PaymentRefunded(d) => serde_json::to_value(d),
        }
    }
}

/// One event of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub meta: EventMeta,
    pub data: EventData,
}

/// A CloudEvents 1.0 event of the QSR ordering system, in structured JSON
/// mode, as every record of `qsr.stores` and `qsr.orders` holds it.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Wire {
    #[schemars(regex(pattern = r"^1\.0$"))]
    pub specversion: String,
    /// Unique per event (UUID v7).
    pub id: Uuid,
    /// The service that wrote the event, e.g. `/command-api`.
    pub source: String,
    /// The versioned event type, e.g. `qsr.order.placed.v2`.
    #[serde(rename = "type")]
    #[schemars(regex(pattern = r"^qsr\.(store|order)\.[a-z_]+\.v[0-9]+$"))]
    pub event_type: String,
    /// The aggregate: an order id for order events, a store id for store events.
    pub subject: String,
    pub time: DateTime<Utc>,
    #[schemars(regex(pattern = r"^application/json$"))]
    pub datacontenttype: String,
    /// The JSON Schema of `data`: `urn:qsr:schemas/json/<type>.json`. Always
    /// written; absent only from the walking skeleton's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataschema: Option<String>,
    /// The store: the record's key.
    pub storeid: String,
    /// The aggregate's version after this event: 1, 2, 3… gapless per subject.
    #[schemars(range(min = 1))]
    pub aggversion: u64,
    /// Follows a request from HTTP through the events to the read models.
    pub correlationid: String,
    /// The id of the command that caused the event.
    pub causationid: String,
    /// The `Idempotency-Key` of the request, if it had one, scoped to its
    /// caller: `<role>:<sub>/<key>`, `pos:<sub>:<store>/<key>` for a POS
    /// (records written before keys were scoped hold the bare key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotencykey: Option<String>,
    /// A fingerprint of that request, to tell a retry from another request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requesthash: Option<String>,
    /// The payload, as `dataschema` describes it.
    pub data: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot encode event: {0}")]
pub struct EncodeError(#[from] serde_json::Error);

/// Why a record is not an event we can read. Never a panic: a bad record is
/// dead-lettered, not fatal.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a CloudEvent in JSON: {0}")]
    Envelope(serde_json::Error),
    #[error("unsupported CloudEvents specversion `{0}`")]
    SpecVersion(String),
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    #[error("`data` of {event_type} does not match its schema: {source}")]
    Data {
        event_type: String,
        source: serde_json::Error,
    },
}

pub fn encode(event: &Event) -> Result<Vec<u8>, EncodeError> {
    let m = &event.meta;
    let event_type = event.data.kind();
    let wire = Wire {
        specversion: SPEC_VERSION.to_owned(),
        id: m.id,
        source: m.source.clone(),
        event_type: event_type.as_str().to_owned(),
        subject: m.subject.clone(),
        time: m.time,
        datacontenttype: "application/json".to_owned(),
        dataschema: Some(event_type.dataschema()),
        storeid: m.store_id.clone(),
        aggversion: m.version,
        correlationid: m.correlation_id.clone(),
        causationid: m.causation_id.clone(),
        idempotencykey: m.idempotency_key.clone(),
        requesthash: m.request_hash.clone(),
        data: event.data.to_json()?,
    };
    Ok(serde_json::to_vec(&wire)?)
}

/// Reads any version of any event type the log may hold; old versions are
/// upcast to the current one.
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    let wire: Wire = serde_json::from_slice(bytes).map_err(DecodeError::Envelope)?;
    if wire.specversion != SPEC_VERSION {
        return Err(DecodeError::SpecVersion(wire.specversion));
    }
    fn data<T: serde::de::DeserializeOwned>(wire: &Wire) -> Result<T, DecodeError> {
        T::deserialize(&wire.data).map_err(|source| DecodeError::Data {
            event_type: wire.event_type.clone(),
            source,
        })
    }
    let Ok(event_type) = wire.event_type.parse::<EventType>() else {
        return Err(DecodeError::UnknownType(wire.event_type));
    };
    let payload = match event_type {
        EventType::StoreConfiguredV1 => {
            EventData::StoreConfigured(StoreConfiguredV2::from_v1(data(&wire)?))
        }
        EventType::StoreConfiguredV2 => EventData::StoreConfigured(data(&wire)?),
        EventType::MenuPublishedV1 => EventData::MenuPublished(data(&wire)?),
        EventType::AvailabilityChangedV1 => EventData::AvailabilityChanged(data(&wire)?),
        EventType::StatusChangedV1 => EventData::StatusChanged(data(&wire)?),
        EventType::OrderPlacedV1 => EventData::OrderPlaced(OrderPlacedV2::from_v1(data(&wire)?)),
        EventType::OrderPlacedV2 => EventData::OrderPlaced(data(&wire)?),
        EventType::PaymentAuthorizedV1 => EventData::PaymentAuthorized(data(&wire)?),
        EventType::OrderAcceptedV1 => EventData::OrderAccepted(data(&wire)?),
        EventType::OrderRejectedV1 => EventData::OrderRejected(data(&wire)?),
        EventType::PreparationStartedV1 => EventData::PreparationStarted(data(&wire)?),
        EventType::OrderReadyV1 => EventData::OrderReady(data(&wire)?),
        EventType::OrderCompletedV1 => EventData::OrderCompleted(data(&wire)?),
        EventType::OrderCancelledV1 => EventData::OrderCancelled(data(&wire)?),
        EventType::PaymentCapturedV1 => EventData::PaymentCaptured(data(&wire)?),
        EventType::PaymentVoidedV1 => EventData::PaymentVoided(data(&wire)?),
        EventType::PaymentRefundedV1 => EventData::PaymentRefunded(data(&wire)?),
    };
    Ok(Event {
        meta: EventMeta {
            id: wire.id,
            source: wire.source,
            subject: wire.subject,
            time: wire.time,
            store_id: wire.storeid,
            version: wire.aggversion,
            correlation_id: wire.correlationid,
            causation_id: wire.causationid,
            idempotency_key: wire.idempotencykey,
            request_hash: wire.requesthash,
        },
        data: payload,
    })
}
