//! RFC 9457 `application/problem+json` bodies with a stable machine-readable `code`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An error answer. `detail` must never hold internals (SQL, stack traces):
/// those are logged, not sent.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    /// Stable and machine-readable, e.g. `slot_full`.
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds for `Retry-After`, as a `503` during a rebuild has.
    pub retry_after: Option<u32>,
    /// The version a resource is at, for a `409` that asked for another.
    pub current_version: Option<i64>,
}

/// An error, as RFC 9457 lays it out (`application/problem+json`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody<'a> {
    /// `urn:qsr:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: &'a str,
    pub status: u16,
    pub detail: &'a str,
    /// Stable and machine-readable, e.g. `slot_full`.
    pub code: &'a str,
    /// Each invalid field, for `validation_failed`.
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    pub errors: &'a [FieldError],
    /// The version the resource is at, when the request asked for another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            current_version: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with_current_version(mut self, version: i64) -> Self {
        self.current_version = Some(version);
        self
    }

    /// The generic answer to a failure of ours; the cause is logged by the caller.
    pub fn internal() -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = ProblemBody {
            problem_type: format!("urn:qsr:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
            errors: &self.errors,
            current_version: self.current_version,
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Gives `router` problem+json answers for what no route takes: `404
/// not_found` for a path it does not serve, `405 method_not_allowed` for a
/// method a path does not take. Call it on the finished router: merged
/// routers may carry only one fallback.
pub fn with_problem_fallbacks(router: axum::Router) -> axum::Router {
    router
        .fallback(|| async {
            Problem::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no resource at this path",
            )
        })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "the resource does not take this method",
            )
        })
}
