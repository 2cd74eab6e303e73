//! test-system: the one way a test (or a benchmark) runs the system in its own
//! process. `System::builder().with_bridge().start().await?` creates a unique
//! database and unique topic names (a [`testkit::Scratch`]), starts each
//! service the test asks for on port 0 with test settings, and returns once
//! every one answers `/readyz`; `system.stop().await?` stops them, checks that
//! each stopped cleanly, and removes the database and topics.
//!
//! By default the builder starts command-api, the projector and query-api;
//! `with_bridge()` adds pos-bridge (the test store's kitchen is a printer the
//! test holds), `only([...])` starts fewer. A test that starts more
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
//! # Adding a service (identity is next)
//!
//! 1. `services.rs`: a variant of [`Service`] with its name, and a function
//!    that makes its test settings from the scratch and its address, like
//!    `command_api_config`.
//! 2. `builder.rs`: start it in `Builder::start` where the others start
//!    (`spawn(Service::X, x::run(config, listener, ...))`); add it to the
//!    defaults in `Builder::new` if most tests want it, otherwise a
//!    `with_x()`; a `x_config(tune)` setter if tests change its settings.
//! 3. `system.rs`: a `x()` accessor for its URL
//!    (`self.url(Service::X)`), and request helpers if tests call it often.
//! 4. The service's crate in this crate's `Cargo.toml`.

// Test support: a request that cannot be sent or read fails the test, as a
// panic, like the tests it serves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod builder;
mod instance;
mod services;
mod system;

pub use builder::{Builder, Tuner};
pub use instance::{Instance, PATIENCE, eventually};
pub use services::{Service, store_settings};
pub use system::System;
pub use testkit::fixtures;
