//! pos-bridge: sends each store's orders to its kitchen, as a ticket to a
//! printer over raw TCP, in the order they were placed. It never writes events:
//! kitchen feedback will reach command-api over HTTP like any client's.
//!
//! Entry points: [`run`] for the daemon, [`print_sink`] for a development
//! stand-in of a kitchen printer.

mod bridge;
mod config;
mod sink;
mod ticket;

pub use bridge::run;
pub use config::{Cli, Config, SinkArgs, Subcommand};
pub use sink::print_sink;
pub use ticket::render_ticket;
