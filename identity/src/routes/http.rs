//! What the handlers share about HTTP: problems, the caller a bearer token
//! names, the client's address, and running password work off the async
//! threads.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use platform::{FieldError, Problem};
use uuid::Uuid;

use super::state::AppState;
use crate::role::AccountRole;

/// A failure of ours: logged here with its cause, answered as a generic 500.
pub(super) fn internal(error: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %error, "identity request failed");
    Problem::internal()
}

/// `422 validation_failed` with the invalid fields.
pub(super) fn invalid(errors: Vec<FieldError>) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "the request has invalid fields",
    )
    .with_errors(errors)
}

pub(super) fn field(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// `401 unauthenticated`.
pub(super) fn unauthenticated(detail: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
}

/// `403 forbidden`.
pub(super) fn forbidden(detail: &str) -> Problem {
    Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
}

/// `400 invalid_token`: a mailed token that is unknown, spent or expired.
pub(super) fn invalid_token() -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_token",
        "the token is unknown, used already or expired",
    )
}

/// `422 weak_password` with the estimator's feedback.
pub(super) fn weak_password(detail: String) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "weak_password", detail)
}

/// `409 email_taken`.
pub(super) fn email_taken() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "email_taken",
        "an account with this email exists",
    )
}

/// Runs CPU-heavy password work off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(work).await.map_err(internal)
}

/// Who an access token of this service names: a user (or a POS client),
/// with the token's role.
#[derive(Debug, Clone)]
pub struct Caller {
    pub sub: Uuid,
    pub role: String,
}

impl Caller {
    /// `403 forbidden` unless the token is an admin's.
    pub(super) fn admin(&self) -> Result<(), Problem> {
        if self.role == AccountRole::Admin.as_str() {
            Ok(())
        } else {
            Err(forbidden("only an admin may do this"))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| unauthenticated("missing `Authorization: Bearer <token>`"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| unauthenticated("expected `Authorization: Bearer <token>`"))?;
        state
            .signer
            .verify(token.trim())
            .map(|claims| Caller {
                sub: claims.sub,
                role: claims.role,
            })
            .ok_or_else(|| unauthenticated("the token is invalid or expired"))
    }
}

/// The client's address, as login throttling counts it: the connection's
/// peer, or, when the peer is a trusted proxy, the last address its
/// `X-Forwarded-For` names (the one the proxy itself saw).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        // Without a peer (a router called in process) every request counts
        // as one unknown address.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        if !state.settings.trusted_proxies.contains(&peer) {
            return Ok(ClientAddr(peer));
        }
        // The last hop is the one the trusted proxy added; the ones before
        // it are the client's to write, so they are not read.
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|hop| hop.trim().parse::<IpAddr>().ok());
        Ok(ClientAddr(forwarded.unwrap_or(peer)))
    }
}
