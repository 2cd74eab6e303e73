//! The CloudEvents 1.0 envelope (structured JSON mode) with our extension
//! attributes, and the typed decoding of its `data` by event type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{MenuPublishedV1, OrderPlacedV1, StoreConfiguredV1};

/// The CloudEvents version every record carries.
pub const SPEC_VERSION: &str = "1.0";
/// The Kafka `content-type` header of a structured-mode CloudEvent.
pub const CONTENT_TYPE: &str = "application/cloudevents+json";
/// The Kafka header that repeats the event type, so consumers can filter
/// without parsing the body.
pub const TYPE_HEADER: &str = "ce_type";

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
}

/// The payload of each event type and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventData {
    StoreConfigured(StoreConfiguredV1),
    MenuPublished(MenuPublishedV1),
    OrderPlaced(OrderPlacedV1),
}

impl EventData {
    /// The CloudEvents `type`, versioned.
    pub fn event_type(&self) -> &'static str {
        match self {
            EventData::StoreConfigured(_) => "qsr.store.configured.v1",
            EventData::MenuPublished(_) => "qsr.store.menu_published.v1",
            EventData::OrderPlaced(_) => "qsr.order.placed.v1",
        }
    }
}

/// One event of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub meta: EventMeta,
    pub data: EventData,
}

/// The envelope as it is on the wire.
#[derive(Serialize, Deserialize)]
struct Wire {
    specversion: String,
    id: Uuid,
    source: String,
    #[serde(rename = "type")]
    event_type: String,
    subject: String,
    time: DateTime<Utc>,
    datacontenttype: String,
    storeid: String,
    aggversion: u64,
    correlationid: String,
    causationid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idempotencykey: Option<String>,
    data: serde_json::Value,
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
    let data = match &event.data {
        EventData::StoreConfigured(d) => serde_json::to_value(d)?,
        EventData::MenuPublished(d) => serde_json::to_value(d)?,
        EventData::OrderPlaced(d) => serde_json::to_value(d)?,
    };
    let m = &event.meta;
    let wire = Wire {
        specversion: SPEC_VERSION.to_owned(),
        id: m.id,
        source: m.source.clone(),
        event_type: event.data.event_type().to_owned(),
        subject: m.subject.clone(),
        time: m.time,
        datacontenttype: "application/json".to_owned(),
        storeid: m.store_id.clone(),
        aggversion: m.version,
        correlationid: m.correlation_id.clone(),
        causationid: m.causation_id.clone(),
        idempotencykey: m.idempotency_key.clone(),
        data,
    };
    Ok(serde_json::to_vec(&wire)?)
}

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
    let payload = match wire.event_type.as_str() {
        "qsr.store.configured.v1" => EventData::StoreConfigured(data(&wire)?),
        "qsr.store.menu_published.v1" => EventData::MenuPublished(data(&wire)?),
        "qsr.order.placed.v1" => EventData::OrderPlaced(data(&wire)?),
        _ => return Err(DecodeError::UnknownType(wire.event_type)),
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
        },
        data: payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MoneyV1, TotalsV1};

    fn money(amount: i64) -> MoneyV1 {
        MoneyV1 {
            amount,
            currency: "USD".into(),
        }
    }

    fn placed() -> Event {
        let time = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
        Event {
            meta: EventMeta {
                id: Uuid::now_v7(),
                source: "/command-api".into(),
                subject: "0193a0c4-7b1e-7cc0-8f8e-3f2b6a1d9e01".into(),
                time,
                store_id: "downtown-42".into(),
                version: 1,
                correlation_id: "c-1".into(),
                causation_id: "k-1".into(),
                idempotency_key: Some("key-1".into()),
            },
            data: EventData::OrderPlaced(OrderPlacedV1 {
                order_id: Uuid::now_v7(),
                store_id: "downtown-42".into(),
                lines: vec![],
                totals: TotalsV1 {
                    subtotal: money(0),
                    tax: money(0),
                    tip: money(0),
                    total: money(0),
                },
                pickup_at: time,
                asap: true,
                placed_at: time,
            }),
        }
    }

    #[test]
    fn an_event_round_trips_through_the_wire_format() {
        let event = placed();
        assert_eq!(decode(&encode(&event).unwrap()).unwrap(), event);
    }

    #[test]
    fn the_wire_format_is_a_structured_cloudevent() {
        let json: serde_json::Value = serde_json::from_slice(&encode(&placed()).unwrap()).unwrap();
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "qsr.order.placed.v1");
        assert_eq!(json["storeid"], "downtown-42");
        assert_eq!(json["aggversion"], 1);
        assert_eq!(json["data"]["asap"], true);
    }

    #[test]
    fn bad_records_give_typed_errors() {
        assert!(matches!(decode(b"not json"), Err(DecodeError::Envelope(_))));
        let mut json: serde_json::Value =
            serde_json::from_slice(&encode(&placed()).unwrap()).unwrap();
        json["type"] = "qsr.order.teleported.v1".into();
        let bytes = serde_json::to_vec(&json).unwrap();
        assert!(
            matches!(decode(&bytes), Err(DecodeError::UnknownType(t)) if t == "qsr.order.teleported.v1")
        );
        json["type"] = "qsr.order.placed.v1".into();
        json["data"]["lines"] = "many".into();
        let bytes = serde_json::to_vec(&json).unwrap();
        assert!(matches!(decode(&bytes), Err(DecodeError::Data { .. })));
    }
}
