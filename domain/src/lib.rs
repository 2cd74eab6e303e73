//! The business rules of the ordering system, with no IO: commands come in with
//! everything they need (the time, the caller, the payment's outcome), and
//! decisions come out as events.
//!
//! The store is the unit of consistency: [`Store::decide`] decides the store's
//! own commands and those of its orders; [`Store::evolve`] folds an event in.

mod command;
mod error;
mod event;
mod hours;
mod ids;
mod menu;
mod money;
mod order;
mod pricing;
mod profile;
mod store;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use command::{
    Action, Actor, Authorization, Cart, CartLine, Command, OrderCommand, StoreCommand,
};
pub use error::{DomainError, OrderError, StoreError};
pub use event::{
    ActorKind, Change, Event, Idempotency, OrderEvent, OrderPlaced, PricedLine, PricedModifier,
    StoreEvent, Totals,
};
pub use hours::{DuplicateDay, OpeningHours, WeeklyHours, next_slot_at_or_after, slot_start};
pub use ids::{CatalogId, CustomerId, IdError, OrderId, PaymentId, RefundId, StoreId};
pub use menu::{Category, Menu, MenuItem, ModifierGroup, ModifierOption};
pub use money::{Currency, Money, MoneyError};
pub use order::{Order, OrderStatus, Payment, PaymentStatus};
pub use pricing::{MAX_LINES, MAX_QUANTITY};
pub use profile::{
    DEFAULT_MAX_ORDER_TOTAL, DEFAULT_MAX_TIP, MAX_BUSY_MINUTES, MAX_DAYS_AHEAD, MAX_LEAD_MINUTES,
    MAX_LIMIT, MAX_SLOT_MINUTES, OrderLimits, PickupSettings, StoreProfile, StoreStatus,
};
pub use store::{Quote, Seen, Store};
