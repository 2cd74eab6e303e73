//! pos-bridge: sends each store's orders to its kitchen, as ESC/POS tickets to
//! printers over raw TCP and as signed JSON webhooks to kitchen displays, and
//! turns the kitchen's feedback into command-api calls. It never writes
//! events: it sends commands over HTTP like any client.
//!
//! Entry points: [`run`] for the daemon (`bridge.rs` wires it: `consumer.rs`
//! queues tickets in Postgres, `delivery.rs` sends them per store and sink),
//! [`replay`] for reprints, [`print_sink`] for a development printer.

mod bridge;
mod cli;
mod config;
mod consumer;
mod db;
mod delivery;
pub mod escpos;
mod feedback;
mod pos_tokens;
mod replay;
pub mod signing;
mod sinks;
mod stand_in_printer;
mod ticket;

pub use bridge::run;
pub use cli::{Cli, Config, ReplayArgs, SinkArgs, Subcommand};
pub use config::{KdsSettings, PosClient, Secret, Settings, StoreSettings};
pub use db::migrate;
pub use delivery::backoff;
pub use feedback::KdsEvent;
pub use replay::{Replayed, replay};
pub use stand_in_printer::print_sink;
pub use ticket::{OrderDetails, Ticket, TicketKind, TicketLine, order_number};
