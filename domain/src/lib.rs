//! The business rules of the ordering system, with no IO: commands come in with
//! everything they need (including the time), and decisions come out as events.
//!
//! This is the walking skeleton's domain: stores with a profile and a menu, and
//! the placing of a priced order. The full rules (hours, slots, the order state
//! machine, payments) grow here without changing that shape.

mod ids;
mod money;
mod order;
mod store;

pub use ids::{CatalogId, IdError, OrderId, StoreId};
pub use money::{Currency, Money, MoneyError};
pub use order::{
    Order, OrderError, OrderLine, OrderPlaced, OrderStatus, PlaceOrder, PricedLine, PricedModifier,
    Totals, place_order,
};
pub use store::{
    Category, Menu, MenuItem, ModifierGroup, ModifierOption, OpeningHours, PickupSettings, Store,
    StoreError, StoreEvent, StoreProfile, configure_store, publish_menu,
};
