//! The request headers a command reads, and their OpenAPI descriptions:
//! `Idempotency-Key` (scoped to its caller), `If-Match` and
//! `X-Correlation-Id`.

use axum::http::{HeaderMap, header};
use domain::{Idempotency, StoreId};
use platform::{Caller, Problem, Role};
use uuid::Uuid;

use super::problems::field_error;
use crate::dto::is_visible_ascii_key;
use crate::writer::CommandMeta;

/// The `Idempotency-Key` request header.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Never built: the handlers read the header themselves.
pub(crate) struct IdempotencyKey {
    /// 1-255 visible ASCII characters; a retry with the same key and body
    /// gets the first answer. A key is the caller's own (scoped to the
    /// token's role and subject, and for a POS token to the store): another
    /// caller's key is another key.
    #[param(
        rename = "Idempotency-Key",
        nullable = false,
        pattern = "^[!-~]{1,255}$"
    )]
    key: Option<String>,
}

/// The `If-Match` request header.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Never built: the handlers read the header themselves.
pub(crate) struct IfMatch {
    /// The version this command expects, quoted as its `ETag`, e.g. `"3"`
    /// (`W/"3"` and a bare `3` are taken too);
    /// another version than the aggregate's: `409 version_conflict`.
    #[param(
        rename = "If-Match",
        nullable = false,
        pattern = "^(W/)?(\"[0-9]{1,19}\"|[0-9]{1,19})$"
    )]
    version: Option<String>,
}

/// Whose keys a key is among: the caller's scope (role and subject, see
/// [`Caller::scope`]), and for a POS also the store. Another caller's key is
/// another key, so no caller can read or pre-empt another's request. The
/// first `/` of a scoped key ends its scope.
fn key_scope(caller: &Caller, store_id: &StoreId) -> String {
    match caller.role() {
        Role::Pos => format!("{}:{store_id}", caller.scope()),
        Role::Customer | Role::Staff | Role::Admin => caller.scope(),
    }
}

/// The request's `Idempotency-Key`, scoped to its caller
/// (`<scope>/<client key>`, see [`key_scope`]), with the fingerprint of its
/// body.
pub(super) fn idempotency(
    caller: &Caller,
    store_id: &StoreId,
    headers: &HeaderMap,
    fingerprint: &str,
) -> Result<Option<Idempotency>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| is_visible_ascii_key(k))
        .ok_or_else(|| field_error("Idempotency-Key", "must be 1-255 visible ASCII characters"))?;
    Ok(Some(Idempotency {
        key: format!("{}/{key}", key_scope(caller, store_id)),
        fingerprint: fingerprint.to_owned(),
    }))
}

/// The version in `If-Match: "N"` (or `W/"N"`, or a bare `N`), 1-19 digits,
/// if any: what the document's pattern states.
pub(super) fn if_match(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim())
        .map(|v| v.strip_prefix("W/").unwrap_or(v))
        .map(|v| {
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v)
        })
        .filter(|v| (1..=19).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            field_error(
                "If-Match",
                "must be the quoted version of an ETag, e.g. \"3\"",
            )
        })
}

/// The command's id and its correlation id (from `X-Correlation-Id` or new).
pub(super) fn command_meta(headers: &HeaderMap) -> CommandMeta {
    let command_id = Uuid::now_v7();
    let correlation_id = headers
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map_or_else(|| command_id.to_string(), str::to_owned);
    CommandMeta {
        command_id,
        correlation_id,
    }
}
