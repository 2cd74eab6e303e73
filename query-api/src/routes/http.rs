//! What the handlers share about HTTP: problems, path and header parameters
//! as the documents state them, times in a store's zone, and entity tags
//! with conditional answers.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use platform::Problem;
use sha2::{Digest, Sha256};

/// A failure of ours: logged here with its cause, answered as a generic 500.
pub(super) fn internal(error: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %error, "query failed");
    Problem::internal()
}

pub(super) fn not_found(code: &'static str, what: &str) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        code,
        format!("{what} does not exist"),
    )
}

/// A store id from the path. One not of the id form names no store: `404`
/// with `code`, before it reaches the database.
pub(super) fn parse_store_id(raw: String, code: &'static str) -> Result<String, Problem> {
    match domain::StoreId::parse(&raw) {
        Ok(_) => Ok(raw),
        Err(_) => Err(not_found(code, "the store")),
    }
}

/// The path of a store's resources, as the documents state it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Never built: handlers take `Path<String>` and parse it.
pub(crate) struct StorePath {
    /// The store's id.
    #[param(
        pattern = r"^[a-z0-9][a-z0-9-]{0,63}$",
        min_length = 1,
        max_length = 64
    )]
    store_id: String,
}

/// The path of an order's resources.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Never built: an id that is not a UUID is a `404`.
pub(crate) struct OrderPath {
    /// The order's id.
    order_id: uuid::Uuid,
}

/// A conditional read: `304 Not Modified` when the tag still matches.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Never built: `conditional` reads the header.
pub(crate) struct Conditional {
    /// An `ETag` of an earlier answer (or a comma-separated list of them, or `*`).
    #[param(rename = "If-None-Match", required = false)]
    if_none_match: String,
}

/// Where an event stream resumes.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Never built: `order_events` reads the header.
pub(crate) struct Resume {
    /// Resume after this event id (an order version).
    #[param(rename = "Last-Event-ID", required = false, minimum = 0)]
    last_event_id: i64,
}

pub(super) fn invalid_query(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_query", detail)
}

/// A store's time zone; the read model holds only zones the domain accepted,
/// so an unknown one (never expected) falls back to UTC.
pub(super) fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

pub(super) fn local(time: DateTime<Utc>, tz: Tz) -> String {
    time.with_timezone(&tz).to_rfc3339()
}

/// An entity tag from what a response is made of.
pub(super) fn etag_of(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    format!("\"{}\"", hex::encode(&hasher.finalize()[..12]))
}

/// A JSON body already serialised.
pub(super) fn json_bytes(body: impl Into<Bytes>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body.into()).into_response()
}

/// `body` with `etag`, or `304 Not Modified` when the request's
/// `If-None-Match` names it (or is `*`).
pub(super) fn conditional(request: &HeaderMap, etag: &str, body: impl IntoResponse) -> Response {
    let matches = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag);
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body.into_response()
    };
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}
