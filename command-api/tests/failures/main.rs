//! command-api as a process, failing for real: killed with SIGKILL between a
//! command and its retry, and facing a broker that dies mid-batch. Needs the
//! local stack's Kafka (`make test` starts it) and its jars for a broker of the
//! test's own.

// A test fails by panicking; helpers unwrap like the tests they serve.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod broker_dies;
mod process;
mod restart;
