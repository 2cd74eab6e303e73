//! `POST /v1/auth/token`: the OAuth 2.0 client credentials grant (RFC 6749
//! §4.4) by which a store's POS device gets its access tokens. Its errors
//! are RFC 6749 §5.2's JSON, not problem+json, as OAuth clients expect.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use uuid::Uuid;

use super::state::AppState;
use crate::keys::Grant;
use crate::pos_clients;
use crate::role::POS_ROLE;

/// The form of `POST /v1/auth/token`
/// (`application/x-www-form-urlencoded`).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // Parsed by hand, for RFC 6749's errors: here for the document.
pub struct TokenForm {
    /// Must be `client_credentials`.
    #[schema(example = "client_credentials")]
    pub grant_type: String,
    /// With `client_secret`, when the client does not authenticate with
    /// HTTP Basic (not both).
    pub client_id: Option<Uuid>,
    pub client_secret: Option<String>,
    /// Ignored: a POS token's scope is its store.
    pub scope: Option<String>,
}

/// A POS device's token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClientTokenResponse {
    /// An ES256 JWT with role `pos`, `stores` [the client's store] and `sub`
    /// the client id.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds the token lives (600 unless configured otherwise).
    pub expires_in: i64,
}

/// An RFC 6749 §5.2 error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client` or `unsupported_grant_type`.
    pub error: &'static str,
    pub error_description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: &str) -> OAuthError {
        OAuthError {
            error,
            error_description: description.to_owned(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let client = self.error == "invalid_client";
        let status = if client {
            StatusCode::UNAUTHORIZED
        } else if self.error == "server_error" {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::BAD_REQUEST
        };
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if client {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"qsr\""),
            );
        }
        response
    }
}

fn invalid_client() -> OAuthError {
    OAuthError::new("invalid_client", "unknown client or wrong secret")
}

fn server_error(error: impl std::fmt::Display) -> OAuthError {
    tracing::error!(%error, "issuing a client token failed");
    OAuthError::new("server_error", "an internal error occurred")
}

/// RFC 6749 §2.3.1: each half of Basic credentials is form-urlencoded.
fn form_decoded(part: &str) -> String {
    form_urlencoded::parse(part.as_bytes())
        .next()
        .map(|(key, _)| key.into_owned())
        .unwrap_or_default()
}

/// The client id and secret of an `Authorization: Basic` header, if one
/// was sent.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::new("invalid_client", "malformed Basic credentials");
    let encoded = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .ok_or_else(malformed)?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some((form_decoded(id), form_decoded(secret))))
}

/// The parameters this endpoint reads; RFC 6749 §3.2 has each at most once
/// and every other one ignored.
const PARAMETERS: &[&str] = &["grant_type", "client_id", "client_secret", "scope"];

/// The form's fields; one of [`PARAMETERS`] given twice is `invalid_request`,
/// others are ignored.
fn form_fields(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(OAuthError::new(
            "invalid_request",
            "expected `Content-Type: application/x-www-form-urlencoded`",
        ));
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(body) {
        if !PARAMETERS.contains(&name.as_ref()) {
            continue;
        }
        if fields.iter().any(|(seen, _)| *seen == name) {
            return Err(OAuthError::new(
                "invalid_request",
                &format!("`{name}` is given more than once"),
            ));
        }
        fields.push((name.into_owned(), value.into_owned()));
    }
    Ok(fields)
}

async fn issue(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let fields = form_fields(headers, body)?;
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    match get("grant_type").as_deref() {
        None => {
            return Err(OAuthError::new(
                "invalid_request",
                "`grant_type` is missing",
            ));
        }
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                "only `client_credentials` is granted here",
            ));
        }
    }
    let posted = (get("client_id"), get("client_secret"));
    let (id, secret) = match (basic_credentials(headers)?, posted) {
        (Some(_), (Some(_), _) | (_, Some(_))) => {
            return Err(OAuthError::new(
                "invalid_request",
                "credentials in both the Authorization header and the body",
            ));
        }
        (Some(basic), _) => basic,
        (None, (Some(id), Some(secret))) => (id, secret),
        (None, _) => {
            return Err(OAuthError::new(
                "invalid_client",
                "no client authentication: HTTP Basic, or `client_id` and `client_secret`",
            ));
        }
    };
    let id = Uuid::parse_str(&id).map_err(|_| invalid_client())?;
    let client = state.pool.get().await.map_err(server_error)?;
    let store = pos_clients::authenticate(&client, id, &secret)
        .await
        .map_err(server_error)?
        .ok_or_else(invalid_client)?;
    drop(client);
    let stores = [store];
    let lifetime_seconds = state.settings.pos_token_seconds;
    let access_token = state
        .signer
        .access_token(&Grant {
            sub: id,
            role: POS_ROLE,
            stores: &stores,
            email_verified: None,
            lifetime_seconds,
        })
        .map_err(server_error)?;
    metrics::counter!("qsr_identity_client_tokens_total").increment(1);
    let body = ClientTokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime_seconds,
    };
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Issues a POS device's access token for its client credentials (RFC 6749
/// §4.4), given as HTTP Basic (RFC 6749 §2.3.1) or as `client_id` and
/// `client_secret` form fields. The token has role `pos`, the client's
/// store, `sub` the client id, and lives 10 minutes; there is no refresh
/// token: the device asks again.
#[utoipa::path(post, path = "/v1/auth/token", tag = "pos",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A token (`Cache-Control: no-store`)",
         body = ClientTokenResponse),
        (status = 400, description = "`invalid_request` (missing or repeated field, wrong \
         content type, credentials given twice) or `unsupported_grant_type`",
         body = OAuthError),
        (status = 401, description = "`invalid_client`, with `WWW-Authenticate: Basic`",
         body = OAuthError),
    ))]
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match issue(&state, &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}
