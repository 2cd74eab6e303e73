//! identity: accounts (email, password, name, phone, role, stores), logins,
//! refresh-token rotation, mailed verification, reset and invitation
//! tokens, POS client credentials, and the ES256 access tokens every
//! service verifies against the keys it publishes at
//! `/.well-known/jwks.json`. Personal data lives only in its database;
//! other services know a user by the opaque `sub` alone.
//!
//! Entry points: [`run`] serves; [`cli`] is the binary's subcommands;
//! [`accounts::create`] makes an account directly.

pub mod accounts;
mod app;
pub mod cli;
mod config;
mod db;
mod email_tokens;
mod invitations;
pub mod key_store;
mod keys;
mod mail;
mod mailer;
mod openapi;
mod outbox;
mod password;
mod pos_clients;
mod role;
mod routes;
mod secret_token;
mod server;
mod throttle;
mod validate;

pub use config::{Config, MailArgs};
pub use openapi::ApiDoc;
pub use role::AccountRole;
pub use server::run;
