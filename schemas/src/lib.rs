//! The wire contract of the event log: every record of `qsr.stores` and
//! `qsr.orders` is one CloudEvents 1.0 event in structured JSON mode, keyed by
//! store id and placed in the partition `partition_for` computes.
//!
//! Domain types never touch serde; this crate converts them both ways
//! (`to_wire`, `Event::to_domain`), so a change to the domain never silently
//! changes what is in the log. Old versions are read and upcast, never deleted.

mod catalog;
mod convert;
mod envelope;
mod event_type;
pub mod examples;
mod partition;
mod payloads;
mod status;

pub use catalog::{CatalogEntry, ENVELOPE_FILE, EVENT_TYPES, envelope_schema, event_type};
pub use convert::{Provenance, to_wire};
pub use envelope::{
    CONTENT_TYPE, DecodeError, EncodeError, Event, EventData, EventMeta, SPEC_VERSION, TYPE_HEADER,
    decode, encode, record_headers,
};
pub use event_type::{EventType, UnknownEventType, dataschema, schema_file};
pub use partition::partition_for;
pub use payloads::*;
pub use status::{OrderStatus, PaymentStatus, UnknownStatus};
