//! Integration tests of pos-bridge against the real Kafka, Postgres and
//! command-api (with the projector and query-api for reads); the printers and
//! kitchen displays are small test servers that speak ESC/POS over TCP and
//! signed HTTP webhooks. One binary, so linking happens once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod dead_letter;
mod helpers;
mod isolation;
mod kds;
mod kitchen;
mod poison;
mod postgres_fails;
mod printer;
mod schedule;
mod standby;
