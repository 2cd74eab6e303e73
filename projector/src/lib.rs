//! projector: reads the event log (read_committed) and keeps the Postgres read
//! models, applying each polled batch and the offsets past it in one Postgres
//! transaction, so every event changes the read models exactly once.
//!
//! Entry point: [`run`].

mod apply;
mod config;
mod consume;
mod dead_letter;
mod server;

pub use apply::{SALES_INTERVAL_MINUTES, sales_interval};
pub use config::Config;
pub use consume::NOTIFY_CHANNEL;
pub use dead_letter::{
    OFFSET_HEADER, PARTITION_HEADER, REASON_HEADER, SERVICE_HEADER, TOPIC_HEADER,
};
pub use server::{migrate, run};
