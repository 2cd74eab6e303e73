//! What the handlers share about HTTP: problems, the token answer, and the
//! caller a bearer token names.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use platform::{FieldError, Problem};
use serde::Serialize;
use uuid::Uuid;

use super::state::AppState;
use crate::keys::ACCESS_TOKEN_SECONDS;

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

/// The answer of a login, a registration and a refresh.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// An ES256 JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds the access token lives (900).
    pub expires_in: i64,
    /// Opaque; exchange it at `POST /v1/auth/refresh` once.
    pub refresh_token: String,
}

impl TokenResponse {
    pub(super) fn new(access_token: String, refresh_token: String) -> Self {
        TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ACCESS_TOKEN_SECONDS,
            refresh_token,
        }
    }
}

/// The user an access token of this service names.
#[derive(Debug, Clone, Copy)]
pub struct Subject(pub Uuid);

impl FromRequestParts<AppState> for Subject {
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
            .map(|claims| Subject(claims.sub))
            .ok_or_else(|| unauthenticated("the token is invalid or expired"))
    }
}
