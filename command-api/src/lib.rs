//! command-api: takes commands over HTTP, decides them against the state of the
//! store's partition, and appends the resulting events to Kafka in transactions,
//! with one writer per partition.
//!
//! Entry point: [`run`], which takes a bound listener and a shutdown future, so
//! tests start the service in process on port 0.

mod config;
mod dto;
mod error;
mod limits;
mod membership;
mod openapi;
mod payments;
mod routes;
mod server;
mod writer;

pub use config::Config;
pub use limits::Limits;
pub use openapi::ApiDoc;
pub use server::{app, run};
