//! projector: reads the event log (read_committed) and keeps the Postgres read
//! models, applying each polled batch and the offsets past it in one Postgres
//! transaction, so every event changes the read models exactly once.
//!
//! Entry point: [`run`].

mod apply;
mod config;
mod consume;
mod server;

pub use config::Config;
pub use server::{migrate, run};
