//! End-to-end tests: the four services in process, against the real Kafka and
//! Postgres of the local stack (`make test` starts them), each test with its
//! own topics and its own database.

// A test fails by panicking; helpers unwrap like the tests they serve.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod commands;
mod compose;
mod fuzz;
mod gateway;
mod helpers;
mod holes;
mod limits;
mod ownership;
mod poison;
mod reads;
mod tokens;
mod walking_skeleton;
