//! query-api: answers reads from the Postgres read models the projector keeps,
//! and follows the projector's notifications for read-your-writes and live
//! updates. It never touches Kafka.
//!
//! Entry point: [`run`].

mod app;
mod config;
mod dto;
mod notify;
mod openapi;
mod params;
mod routes;
mod server;
mod streams;

pub use config::Config;
pub use openapi::ApiDoc;
pub use server::run;
