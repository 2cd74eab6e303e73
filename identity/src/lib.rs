//! identity: accounts (email, password, name, phone, role, stores), logins,
//! refresh-token rotation, and the ES256 access tokens every service
//! verifies against the keys it publishes at `/.well-known/jwks.json`.
//! Personal data lives only in its database; other services know a user by
//! the opaque `sub` alone.
//!
//! Entry point: [`run`].

mod app;
mod config;
mod db;
mod keys;
mod openapi;
mod password;
mod routes;
mod server;

pub use config::Config;
pub use openapi::ApiDoc;
pub use server::run;
