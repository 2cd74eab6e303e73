//! The HTTP routes of the identity service: one file per group of routes
//! (`auth`, `recovery`, `me`, `invitations`, `pos_clients`, `oauth_token`,
//! `well_known`), over what they share (`session`, `http`, `state`).
//! Modules import downward only: a route file never imports another route
//! file.

pub(crate) mod auth;
mod http;
pub(crate) mod invitations;
pub(crate) mod me;
pub(crate) mod oauth_token;
pub(crate) mod pos_clients;
pub(crate) mod recovery;
pub(crate) mod session;
mod state;
pub(crate) mod well_known;

use axum::Router;
use axum::routing::{delete, get, post};

pub use state::{AppState, RouteSettings};

/// The API's routes, without the probes, the OpenAPI document or the layers
/// around them (see `app.rs`).
pub(crate) fn api() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/register", post(auth::register))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/auth/verify-email", post(recovery::verify_email))
        .route("/v1/auth/password-reset", post(recovery::password_reset))
        .route(
            "/v1/auth/password-reset/confirm",
            post(recovery::password_reset_confirm),
        )
        .route(
            "/v1/auth/invitations/accept",
            post(invitations::accept_invitation),
        )
        .route("/v1/auth/token", post(oauth_token::token))
        .route(
            "/v1/me",
            get(me::get_me).patch(me::patch_me).delete(me::delete_me),
        )
        .route("/v1/me/password", post(me::change_password))
        .route("/v1/invitations", post(invitations::create_invitation))
        .route(
            "/v1/stores/{store_id}/pos-clients",
            post(pos_clients::create_pos_client),
        )
        .route(
            "/v1/stores/{store_id}/pos-clients/{client_id}",
            delete(pos_clients::revoke_pos_client),
        )
        .route("/.well-known/jwks.json", get(well_known::jwks))
        .route(
            "/.well-known/openid-configuration",
            get(well_known::openid_configuration),
        )
}
