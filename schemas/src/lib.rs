//! The wire contract of the event log: every record of `qsr.stores` and
//! `qsr.orders` is one CloudEvents 1.0 event in structured JSON mode, keyed by
//! store id and placed in the partition `partition_for` computes.
//!
//! Domain types never touch serde; this crate converts them both ways, so that a
//! change to the domain never silently changes what is in the log.

mod envelope;
mod partition;
mod payloads;

pub use envelope::{
    CONTENT_TYPE, DecodeError, EncodeError, Event, EventData, EventMeta, SPEC_VERSION, TYPE_HEADER,
    decode, encode,
};
pub use partition::partition_for;
pub use payloads::{
    CategoryV1, ConversionError, HoursV1, MenuItemV1, MenuPublishedV1, ModifierGroupV1,
    ModifierOptionV1, MoneyV1, OrderPlacedV1, PickupV1, PricedLineV1, PricedModifierV1,
    StoreConfiguredV1, TotalsV1,
};
