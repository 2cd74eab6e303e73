//! A JSON body extractor whose every rejection is a problem+json answer.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::Problem;

/// The largest request body any service accepts (`413` beyond it).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Like `axum::Json`, but a malformed body, an unknown field (with
/// `#[serde(deny_unknown_fields)]` on the target), a wrong content type or an
/// oversized body answers problem+json.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(problem_of(&rejection)),
        }
    }
}

fn problem_of(rejection: &JsonRejection) -> Problem {
    let status = rejection.status();
    let (status, code) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (status, "payload_too_large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (status, "unsupported_media_type"),
        // Syntax errors, unknown fields and wrong types alike.
        _ => (StatusCode::BAD_REQUEST, "malformed_body"),
    };
    Problem::new(status, code, rejection.body_text())
}
