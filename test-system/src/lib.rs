//! test-system: the one way a test (or a benchmark) runs the system in its own
//! process. `System::builder().with_bridge().start().await?` creates a unique
//! database and unique topic names (a [`testkit::Scratch`]), starts each
//! service the test asks for on port 0 with test settings, and returns once
//! every one answers `/readyz`; `system.stop().await?` stops them, checks that
//! each stopped cleanly, and removes the database and topics.
//!
//! By default the builder starts command-api, the projector and query-api;
//! `with_bridge()` adds pos-bridge (the test store's kitchen is a printer the
//! test holds), `with_identity()` the identity service (started first; the
//! others then trust its tokens instead of the test issuer's), `only([...])`
//! starts fewer. A test that starts more
//! instances as it goes (`spawn_command_api`, `spawn_query_api`,
//! `start_bridge`) gets an [`Instance`] to stop. What the requests carry
//! (store profile, menu, order bodies, tokens) is in [`testkit::fixtures`],
//! re-exported here as [`fixtures`].
//!
//! This crate depends on every service, so a service's own crate uses it
//! only from its integration tests and examples (never from its unit tests:
//! those would link the service twice); what needs no service lives in
//! `testkit`.
//!
//! # Adding a service
//!
//! 1. `services.rs`: a variant of [`Service`] with its name, and a function
//!    that makes its test settings from the scratch and its address, like
//!    `command_api_config` (names from `scratch.name("x")`, topics from
//!    `scratch.topic("x")`, the database `scratch.postgres`).
//! 2. `builder.rs`: in `Builder::start`, where the others start,
//!    `running.push(Instance::spawn(Service::X, listener, |l, stop| x::run(config, l, stop))?)`;
//!    put it in `Builder::new`'s defaults if most tests want it, else add a
//!    `with_x()`; and an `x_config(tune)` setter if tests change its
//!    settings. `start` already waits until it answers `/readyz`.
//! 3. `system.rs`: an `x()` accessor for its URL (`self.url(Service::X)`),
//!    request helpers if tests call it often, and its own topics, if any, in
//!    the list `stop` deletes.
//! 4. The service's crate in this crate's `Cargo.toml`.

// Test support: a request that cannot be sent or read fails the test, as a
// panic, like the tests it serves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod builder;
mod identity_service;
mod instance;
mod services;
mod system;

pub use builder::{Builder, Tuner};
pub use identity_service::{TEST_PASSWORD, pos_client, pos_token};
pub use instance::{Instance, PATIENCE, eventually};
pub use services::{Service, store_settings};
pub use system::System;
pub use testkit::fixtures;
