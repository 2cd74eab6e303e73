//! A signed-in session as the routes hand it out: the access token a user
//! gets, a new refresh-token family, and the web clients' variant that keeps
//! the refresh token in an `HttpOnly` cookie instead of the body.
//!
//! A client says it is a browser app with `X-Client: web`. Then the refresh
//! token is set as `qsr_refresh` (`HttpOnly; Secure; SameSite=Strict;
//! Path=/v1/auth`), out of reach of the page's scripts, and left out of the
//! body; refresh and logout read it from the cookie when the body has none.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use deadpool_postgres::GenericClient;
use platform::Problem;
use serde::Serialize;
use uuid::Uuid;

use super::http::internal;
use super::state::AppState;
use crate::db::{self, REFRESH_TOKEN_DAYS, User};
use crate::keys::{ACCESS_TOKEN_SECONDS, Grant};
use crate::role::AccountRole;

/// The cookie a web client's refresh token travels in.
pub const REFRESH_COOKIE: &str = "qsr_refresh";
/// The header by which a client says it is a browser app (`web`).
pub const CLIENT_HEADER: &str = "x-client";

/// The answer of a login, a registration, a refresh, an accepted invitation
/// and a password change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// An ES256 JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds the access token lives (900).
    pub expires_in: i64,
    /// Opaque; exchange it at `POST /v1/auth/refresh` once. Absent for a
    /// client that sent `X-Client: web`: it is in the `qsr_refresh` cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Whether the client sent `X-Client: web`.
#[derive(Debug, Clone, Copy)]
pub struct WebClient(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for WebClient {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let web = parts
            .headers
            .get(CLIENT_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("web"));
        Ok(WebClient(web))
    }
}

/// The refresh token of the `qsr_refresh` cookie, if one was sent.
pub fn refresh_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == REFRESH_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

fn cookie(value: &str, max_age: i64) -> Result<HeaderValue, Problem> {
    HeaderValue::from_str(&format!(
        "{REFRESH_COOKIE}={value}; HttpOnly; Secure; SameSite=Strict; Path=/v1/auth; \
         Max-Age={max_age}"
    ))
    .map_err(internal)
}

/// The `Set-Cookie` that removes the refresh cookie.
pub fn cleared_cookie() -> Result<HeaderValue, Problem> {
    cookie("", 0)
}

/// An access token for `user`. A customer's carries `email_verified` only
/// when unverified customers may not order, for the order service to
/// refuse `false`.
pub fn access_token(state: &AppState, user: &User) -> Result<String, Problem> {
    let email_verified = (user.role == AccountRole::Customer.as_str()
        && !state.settings.allow_unverified_orders)
        .then_some(user.email_verified);
    state
        .signer
        .access_token(&Grant {
            sub: user.id,
            role: &user.role,
            stores: &user.stores,
            email_verified,
            lifetime_seconds: ACCESS_TOKEN_SECONDS,
        })
        .map_err(internal)
}

/// An access token and the first refresh token of a new family for `user`,
/// the latter stored on `client`.
pub async fn new_session(
    state: &AppState,
    client: &impl GenericClient,
    user: &User,
) -> Result<(String, String), Problem> {
    let access = access_token(state, user)?;
    let refresh = db::issue_refresh(client, user.id, Uuid::new_v4())
        .await
        .map_err(internal)?;
    Ok((access, refresh))
}

/// The answer carrying a session: the refresh token in the body, or for a
/// web client in the cookie.
pub fn answer(
    status: StatusCode,
    access: String,
    refresh: String,
    web: bool,
) -> Result<Response, Problem> {
    let body = TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECONDS,
        refresh_token: (!web).then(|| refresh.clone()),
    };
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if web {
        headers.insert(
            header::SET_COOKIE,
            cookie(&refresh, REFRESH_TOKEN_DAYS * 24 * 60 * 60)?,
        );
    }
    Ok(response)
}
