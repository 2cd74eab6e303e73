//! The HTTP routes of the identity service: one file per group of routes
//! (`auth`, `me`, `well_known`), over what they share (`state`, `http`).
//! Modules import downward only: a route file never imports another route
//! file.

pub(crate) mod auth;
mod http;
pub(crate) mod me;
mod state;
pub(crate) mod well_known;

use axum::Router;
use axum::routing::{get, post};

pub use state::AppState;

/// The API's routes, without the probes, the OpenAPI document or the layers
/// around them (see `app.rs`).
pub(crate) fn api() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/register", post(auth::register))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/me", get(me::get_me).patch(me::patch_me))
        .route("/.well-known/jwks.json", get(well_known::jwks))
        .route(
            "/.well-known/openid-configuration",
            get(well_known::openid_configuration),
        )
}
