//! Every command's success and every error, as given / when / then; then the
//! properties no list of examples covers.

use chrono::Duration;

use crate::testing::*;
use crate::*;

mod carts;
mod lifecycle;
mod memory;
mod placing;
mod properties;
mod store_commands;
mod time_zones;

/// The events of order commands, without their envelope.
fn order_events(events: &[Event]) -> Vec<OrderEvent> {
    events
        .iter()
        .map(|e| match &e.change {
            Change::Order { event, .. } => event.clone(),
            Change::Store(s) => panic!("a store event: {s:?}"),
        })
        .collect()
}

/// Asserts that `command`, after `history`, is refused with `error`.
fn refuses(history: Vec<Event>, command: Command, error: OrderError) {
    given(history).when(command).then_err(error);
}

/// Places order 1 with `cart` as the customer, paid `total`.
fn with_cart(cart: Cart, total: i64) -> Command {
    as_customer(Action::Order {
        order_id: order_id(1),
        command: OrderCommand::Place {
            cart,
            payment: paid(1, usd(total)),
        },
    })
}
