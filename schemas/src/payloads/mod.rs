//! The `data` of each event type and version. Field names are the contract:
//! renaming one is a new version, never an edit.

mod common;
mod order;
mod store;

pub use common::*;
pub use order::*;
pub use store::*;
