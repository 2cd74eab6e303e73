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
pub mod examples;
mod partition;
mod payloads;

pub use catalog::{
    ENVELOPE_FILE, EVENT_TYPES, EventType, dataschema, envelope_schema, event_type, schema_file,
};
pub use convert::{Provenance, to_wire};
pub use envelope::{
    CONTENT_TYPE, DecodeError, EncodeError, Event, EventData, EventMeta, SPEC_VERSION, TYPE_HEADER,
    decode, encode, record_headers,
};
pub use partition::partition_for;
pub use payloads::*;
