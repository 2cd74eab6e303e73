//! query-api: answers reads from the Postgres read models the projector keeps.
//! It never touches Kafka.
//!
//! Entry point: [`run`].

mod config;
mod routes;
mod server;

pub use config::Config;
pub use routes::app;
pub use server::run;
