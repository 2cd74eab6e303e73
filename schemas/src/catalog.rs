//! Every event type and version the log may hold, with what it means and its
//! JSON Schema. `schemas/json/` and `schemas/EVENTS.md` are generated from this
//! table (a test fails when they are out of date).

use schemars::{JsonSchema, Schema};

use crate::envelope::Wire;
use crate::event_type::{EventType, dataschema};
use crate::payloads::*;

/// What the catalog says of one event type at one version.
#[derive(Debug, Clone, Copy)]
pub struct CatalogEntry {
    /// The CloudEvents `type`.
    pub event_type: EventType,
    /// Its name: `event_type.as_str()`.
    pub name: &'static str,
    /// When the event happens.
    pub description: &'static str,
    /// Whether the code still writes it; older versions are only read.
    pub current: bool,
    schema: fn() -> Schema,
}

fn schema_of<T: JsonSchema>() -> Schema {
    schemars::SchemaGenerator::default().into_root_schema_for::<T>()
}

const fn current(
    event_type: EventType,
    description: &'static str,
    schema: fn() -> Schema,
) -> CatalogEntry {
    CatalogEntry {
        event_type,
        name: event_type.as_str(),
        description,
        current: true,
        schema,
    }
}

/// A version the code no longer writes, only reads.
const fn legacy(
    event_type: EventType,
    description: &'static str,
    schema: fn() -> Schema,
) -> CatalogEntry {
    CatalogEntry {
        current: false,
        ..current(event_type, description, schema)
    }
}

/// All of them, in the order EVENTS.md lists them.
pub const EVENT_TYPES: &[CatalogEntry] = &[
    legacy(
        EventType::StoreConfiguredV1,
        "An admin created a store or changed its profile (version without order limits). No longer written; read as qsr.store.configured.v2 with the default limits (max_order_total 100000, max_tip 5000 minor units of the store's currency).",
        schema_of::<StoreConfiguredV1>,
    ),
    current(
        EventType::StoreConfiguredV2,
        "An admin created a store or changed its profile: name, time zone, currency, tax rate, weekly hours, pickup settings and order limits (the most an order's total may be; the tip may be the larger of the subtotal and max_tip).",
        schema_of::<StoreConfiguredV2>,
    ),
    current(
        EventType::MenuPublishedV1,
        "An admin published the store's whole menu; it replaces the previous one and gets the next menu version.",
        schema_of::<MenuPublishedV1>,
    ),
    current(
        EventType::AvailabilityChangedV1,
        "Staff or the POS took an item or modifier option off the menu (86) or put it back.",
        schema_of::<AvailabilityChangedV1>,
    ),
    current(
        EventType::StatusChangedV1,
        "Staff or the POS paused the store, resumed it, or set it busy with extra minutes on every pickup time.",
        schema_of::<StatusChangedV1>,
    ),
    legacy(
        EventType::OrderPlacedV1,
        "A customer placed an order (walking-skeleton version, without customer or slot). No longer written; read as qsr.order.placed.v2.",
        schema_of::<OrderPlacedV1>,
    ),
    current(
        EventType::OrderPlacedV2,
        "A customer placed an order and the server priced it from the menu; always followed in the same transaction by qsr.order.payment_authorized.v1.",
        schema_of::<OrderPlacedV2>,
    ),
    current(
        EventType::PaymentAuthorizedV1,
        "The payment gateway authorised the order's total, before the order was appended.",
        schema_of::<PaymentAuthorizedV1>,
    ),
    current(
        EventType::OrderAcceptedV1,
        "The store accepted a placed order, perhaps with an estimate of when it will be ready.",
        schema_of::<OrderAcceptedV1>,
    ),
    current(
        EventType::OrderRejectedV1,
        "The store rejected a placed order; its payment is voided in the same transaction.",
        schema_of::<OrderRejectedV1>,
    ),
    current(
        EventType::PreparationStartedV1,
        "The kitchen started preparing an accepted order.",
        schema_of::<OrderStepV1>,
    ),
    current(
        EventType::OrderReadyV1,
        "The order is ready for pickup (the kitchen bumped it).",
        schema_of::<OrderStepV1>,
    ),
    current(
        EventType::OrderCompletedV1,
        "The customer picked the order up; its payment is captured in the same transaction.",
        schema_of::<OrderStepV1>,
    ),
    current(
        EventType::OrderCancelledV1,
        "The order was cancelled before completion: by the customer before acceptance, or by staff or an admin.",
        schema_of::<OrderCancelledV1>,
    ),
    current(
        EventType::PaymentCapturedV1,
        "The authorised amount was captured, on completion.",
        schema_of::<PaymentCapturedV1>,
    ),
    current(
        EventType::PaymentVoidedV1,
        "The authorisation was released, on rejection or cancellation before capture.",
        schema_of::<PaymentVoidedV1>,
    ),
    current(
        EventType::PaymentRefundedV1,
        "Staff or an admin refunded part or all of a captured payment.",
        schema_of::<PaymentRefundedV1>,
    ),
];

/// The file name of the envelope's schema.
pub const ENVELOPE_FILE: &str = "cloudevent.json";

fn with_header(mut schema: Schema, id: String, title: &str, description: &str) -> Schema {
    schema.insert("$id".into(), id.into());
    schema.insert("title".into(), title.into());
    schema.insert("description".into(), description.into());
    schema
}

impl CatalogEntry {
    /// The JSON Schema (draft 2020-12) of the event's `data`.
    pub fn json_schema(&self) -> Schema {
        with_header(
            (self.schema)(),
            dataschema(self.name),
            self.name,
            self.description,
        )
    }
}

/// The JSON Schema of the envelope every record holds.
pub fn envelope_schema() -> Schema {
    with_header(
        schema_of::<Wire>(),
        format!("urn:qsr:schemas/json/{ENVELOPE_FILE}"),
        "QSR CloudEvent",
        "The envelope of every record of qsr.stores and qsr.orders: a CloudEvents 1.0 event in \
         structured JSON mode with the QSR extension attributes. Written by command-api each \
         time it commits a command's events.",
    )
}

/// What the catalog says of the event type named `name`, if the log may hold
/// it.
pub fn event_type(name: &str) -> Option<&'static CatalogEntry> {
    EVENT_TYPES.iter().find(|t| t.name == name)
}
