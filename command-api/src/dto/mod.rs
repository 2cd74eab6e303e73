//! The HTTP bodies of the command API (see API.md) and their parsing into
//! domain commands. Unknown fields are rejected; every invalid field is
//! reported, not only the first. One file per group of routes: the store's
//! own commands, its menu, placing and quoting, the order commands, and the
//! answers; `fields.rs` and `money.rs` hold what they share.

mod cart;
mod fields;
mod menu;
mod money;
mod order;
mod store;
mod views;

#[cfg(test)]
mod tests;

pub use cart::{CartRefusal, PlaceOrderBody, QuoteBody};
pub(crate) use fields::is_visible_ascii_key;
pub use menu::MenuBody;
pub use order::{AcceptBody, EmptyBody, ReasonBody, RefundBody, parse_reason};
pub use store::{AvailabilityBody, StatusBody, StoreBody, StoreRefusal};
pub use views::{OrderReceipt, QuoteView, StoreView};
