//! The feedback endpoints: kitchen displays report that an order was started,
//! bumped (ready) or picked up, and POS systems that an item or option ran out
//! or is back. Each request is signed like the webhooks (HMAC-SHA256 over
//! timestamp and body, with the store's feedback secret or one of its display
//! secrets) and becomes a command-api call with the store's `pos` token.
//! Each carries an idempotency key, so command-api answers a repeated request
//! (a retry, or a replay within the signature's tolerance) without deciding
//! it again. command-api's answer is passed on as it is; everything else
//! answers problem+json.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use platform::Problem;
use serde::Deserialize;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::config::Secret;
use crate::consumer::StoreRuntime;
use crate::pos_tokens::{PosTokens, TokenError};
use crate::signing::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct FeedbackState {
    pub stores: Arc<BTreeMap<String, StoreRuntime>>,
    pub http: reqwest::Client,
    pub command_api_url: String,
    pub tolerance_secs: u64,
    /// The stores' `pos` tokens for command-api.
    pub tokens: Arc<PosTokens>,
}

/// `POST /v1/feedback/{store_id}/kds`, `POST /v1/feedback/{store_id}/stock`
/// and the OpenAPI document of both at `/openapi.json`.
pub fn routes(state: FeedbackState) -> Router {
    Router::new()
        .route("/v1/feedback/{store_id}/kds", post(kds))
        .route("/v1/feedback/{store_id}/stock", post(stock))
        .merge(platform::openapi_route::<_, ApiDoc>())
        .layer(DefaultBodyLimit::max(platform::BODY_LIMIT))
        .with_state(state)
}

/// What happened to an order at the kitchen display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KdsEvent {
    /// The kitchen started it: `start`.
    Started,
    /// Bumped off the screen: `ready`.
    Bumped,
    /// Handed to the customer: `complete`.
    PickedUp,
}

/// A kitchen display's report on an order.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct KdsCallback {
    order_id: Uuid,
    event: KdsEvent,
    /// The ticket the display shows, for the logs.
    #[serde(default)]
    #[schema(max_length = 128)]
    ticket_id: Option<String>,
}

/// The longest `ticket_id` a display may send.
const TICKET_ID_MAX: usize = 128;

/// A POS system's report that an item or option ran out or is back.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StockUpdate {
    /// An item or modifier option id.
    #[schema(pattern = r"^[a-z0-9][a-z0-9-]{0,63}$")]
    id: String,
    available: bool,
}

/// Whether `id` is of the id form of the public API,
/// `^[a-z0-9][a-z0-9-]{0,63}$`.
fn is_catalog_id(id: &str) -> bool {
    let lower_or_digit = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    id.len() <= 64
        && id.starts_with(lower_or_digit)
        && id.chars().all(|c| lower_or_digit(c) || c == '-')
}

#[utoipa::path(
    post,
    path = "/v1/feedback/{store_id}/kds",
    request_body = KdsCallback,
    params(StorePath, Signed),
    responses(FeedbackAnswers),
)]
async fn kds(
    State(state): State<FeedbackState>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let Authentic { body: callback, .. } =
        authentic::<KdsCallback>(&state, &store_id, &headers, body)?;
    if callback
        .ticket_id
        .as_ref()
        .is_some_and(|t| t.chars().count() > TICKET_ID_MAX)
    {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            format!("ticket_id must be at most {TICKET_ID_MAX} characters"),
        ));
    }
    let action = match callback.event {
        KdsEvent::Started => "start",
        KdsEvent::Bumped => "ready",
        KdsEvent::PickedUp => "complete",
    };
    tracing::info!(store_id, order_id = %callback.order_id, ticket_id = callback.ticket_id,
        action, "kitchen display feedback");
    let request = state
        .http
        .post(format!(
            "{}/v1/orders/{}/{action}",
            state.command_api_url.trim_end_matches('/'),
            callback.order_id
        ))
        .header(
            "idempotency-key",
            format!("pos-bridge-kds-{}-{action}", callback.order_id),
        )
        .json(&serde_json::json!({}));
    forward(&state, &store_id, request, "kds").await
}

#[utoipa::path(
    post,
    path = "/v1/feedback/{store_id}/stock",
    request_body = StockUpdate,
    params(StorePath, Signed),
    responses(FeedbackAnswers),
)]
async fn stock(
    State(state): State<FeedbackState>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let Authentic {
        body: update,
        request_id,
    } = authentic::<StockUpdate>(&state, &store_id, &headers, body)?;
    if !is_catalog_id(&update.id) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "id must be an item or option id: a lower-case letter or digit, then up to 63 \
             lower-case letters, digits and `-`",
        ));
    }
    tracing::info!(
        store_id,
        id = update.id,
        available = update.available,
        "stock update"
    );
    let request = state
        .http
        .put(format!(
            "{}/v1/stores/{store_id}/items/{}/availability",
            state.command_api_url.trim_end_matches('/'),
            update.id
        ))
        // "Out" and "back" are not idempotent in sequence: a captured "out"
        // replayed (within the signature's tolerance) after "back" would take
        // the item off again. Named by its signature, the replay is the same
        // request to command-api, which answers it without deciding it again.
        .header("idempotency-key", format!("pos-bridge-stock-{request_id}"))
        .json(&serde_json::json!({"available": update.available}));
    forward(&state, &store_id, request, "stock").await
}

/// A feedback request whose signature checked out.
struct Authentic<T> {
    body: T,
    /// The same for the request and a replay of it: see `Verified::request_id`.
    request_id: String,
}

/// The body and the request's id once its signature checks out.
fn authentic<T: serde::de::DeserializeOwned>(
    state: &FeedbackState,
    store_id: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Authentic<T>, Problem> {
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "malformed_body"
        };
        Problem::new(status, code, rejection.body_text())
    })?;
    let store = state.stores.get(store_id).ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "unknown_store",
            "this bridge does not serve that store",
        )
    })?;
    let mut secrets: Vec<&str> = store
        .settings
        .kds
        .iter()
        .map(|k| k.secret.expose())
        .collect();
    if let Some(secret) = &store.settings.feedback_secret {
        secrets.push(secret.expose());
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let verified = verify(
        &secrets,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        chrono::Utc::now().timestamp(),
        state.tolerance_secs,
    )
    .map_err(|e| Problem::new(StatusCode::UNAUTHORIZED, "invalid_signature", e.to_string()))?;
    let parsed = serde_json::from_slice(&body)
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "malformed_body", e.to_string()))?;
    Ok(Authentic {
        body: parsed,
        request_id: verified.request_id(),
    })
}

/// A `pos` token of `store_id`, or why there is none.
async fn pos_token(state: &FeedbackState, store_id: &str) -> Result<Secret, Problem> {
    state
        .tokens
        .token(store_id)
        .await
        .map_err(|error| match error {
            TokenError::NoCredential(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "pos_token_missing",
                "the bridge has no POS client credential for this store",
            ),
            error => {
                tracing::warn!(store_id, error = %error, "no pos token");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "pos_token_unavailable",
                    "the bridge could not get a pos token from the identity service; try again",
                )
                .retry_after(1)
            }
        })
}

/// Sends the command with the store's `pos` token and passes the answer on.
/// A token command-api refuses (`401`) is replaced and the command sent once
/// more with the new one.
async fn forward(
    state: &FeedbackState,
    store_id: &str,
    request: reqwest::RequestBuilder,
    kind: &'static str,
) -> Result<Response, Problem> {
    let mut token = pos_token(state, store_id).await?;
    let mut response = send(request.try_clone(), &token, kind).await?;
    if response.status() == reqwest::StatusCode::UNAUTHORIZED {
        state.tokens.refused(store_id, &token).await;
        token = pos_token(state, store_id).await?;
        response = send(Some(request), &token, kind).await?;
    }
    pass_on(response, kind).await
}

/// One attempt at sending `request` with `token`; a body that cannot be
/// cloned (never: the bodies are JSON) is an internal error.
async fn send(
    request: Option<reqwest::RequestBuilder>,
    token: &Secret,
    kind: &'static str,
) -> Result<reqwest::Response, Problem> {
    let request = request.ok_or_else(|| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the command could not be sent again",
        )
    })?;
    request
        .bearer_auth(token.expose())
        .send()
        .await
        .map_err(|error| {
            tracing::warn!(%error, "command-api unreachable");
            metrics::counter!("qsr_bridge_feedback_total", "kind" => kind, "status" => "502")
                .increment(1);
            Problem::new(
                StatusCode::BAD_GATEWAY,
                "command_api_unavailable",
                "command-api could not be reached; try again",
            )
        })
}

/// command-api's answer, as it is.
async fn pass_on(response: reqwest::Response, kind: &'static str) -> Result<Response, Problem> {
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    metrics::counter!("qsr_bridge_feedback_total", "kind" => kind, "status" => status.as_str().to_owned())
        .increment(1);
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .cloned();
    let bytes = response.bytes().await.map_err(|error| {
        tracing::warn!(%error, "reading command-api's answer");
        Problem::new(
            StatusCode::BAD_GATEWAY,
            "command_api_unavailable",
            "command-api's answer broke off; try again",
        )
    })?;
    let mut answer = (status, Body::from(bytes)).into_response();
    if let Some(content_type) = content_type
        && let Ok(value) = header::HeaderValue::from_bytes(content_type.as_bytes())
    {
        answer.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    Ok(answer)
}

/// The store of a feedback route.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Never built: the handlers take `Path<String>`.
struct StorePath {
    /// The store's id; one the bridge does not serve is `404 unknown_store`.
    #[param(
        pattern = r"^[a-z0-9][a-z0-9-]{0,63}$",
        min_length = 1,
        max_length = 64
    )]
    store_id: String,
}

/// The signature headers of every feedback request.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Never built: `authentic` reads the headers itself.
struct Signed {
    /// Unix seconds when the request was signed; more than the bridge's
    /// tolerance (300 s by default) from its clock is `401`.
    #[param(rename = "x-qsr-timestamp", pattern = "^[0-9]{1,12}$")]
    timestamp: String,
    /// `v1=` and the hex HMAC-SHA256 of `{timestamp}.{body}` with the store's feedback secret or one of its display secrets.
    #[param(rename = "x-qsr-signature", pattern = "^v1=[0-9a-f]{64}$")]
    signature: String,
}

/// The answers of both feedback routes.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Never built: it only describes answers.
enum FeedbackAnswers {
    /// command-api's answer, passed on: the order's or the store's new
    /// version.
    #[response(status = 200)]
    Passed,
    /// `malformed_body` or `validation_failed`.
    #[response(status = 400, content_type = "application/problem+json")]
    Malformed(platform::ProblemBody<'static>),
    /// `invalid_signature`: missing, wrong or stale signature.
    #[response(status = 401, content_type = "application/problem+json")]
    Unsigned(platform::ProblemBody<'static>),
    /// command-api's refusal of the store's `pos` token, passed on.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(platform::ProblemBody<'static>),
    /// `unknown_store`: the bridge does not serve the store; or command-api's
    /// `order_not_found` or `store_not_found`, passed on.
    #[response(status = 404, content_type = "application/problem+json")]
    UnknownStore(platform::ProblemBody<'static>),
    /// command-api's refusal, e.g. `invalid_transition`, passed on.
    #[response(status = 409, content_type = "application/problem+json")]
    Refused(platform::ProblemBody<'static>),
    /// `order_gone`: command-api no longer changes the order, passed on.
    #[response(status = 410, content_type = "application/problem+json")]
    Gone(platform::ProblemBody<'static>),
    /// `payload_too_large`: a body over 64 KiB.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(platform::ProblemBody<'static>),
    /// command-api's refusal of the command's content, e.g.
    /// `item_not_found` for an id the store's menu lacks, passed on.
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(platform::ProblemBody<'static>),
    /// `command_api_unavailable`.
    #[response(status = 502, content_type = "application/problem+json")]
    Unreachable(platform::ProblemBody<'static>),
    /// `pos_token_missing` (no client credential for the store),
    /// `pos_token_unavailable` (the identity service gave no token);
    /// command-api's `unavailable`, passed on; or the
    /// server's limits (see `platform::Overload`): `overloaded`, `timeout`,
    /// with `Retry-After`.
    #[response(status = 503, content_type = "application/problem+json")]
    NoToken(platform::ProblemBody<'static>),
}

/// The OpenAPI 3.1 document of the feedback endpoints.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "QSR pos-bridge feedback API",
        description = "Kitchen displays and POS systems report back to the ordering system. Each \
                       request is signed: HMAC-SHA256 over `{timestamp}.{body}`. Errors are RFC 9457 \
                       problem+json with a stable `code`; command-api's answers are passed on.",
    ),
    paths(kds, stock),
    // The answers name it only through `FeedbackAnswers`, which does not
    // register it.
    components(schemas(platform::ProblemBody))
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_both_feedback_routes() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for path in [
            "/v1/feedback/{store_id}/kds",
            "/v1/feedback/{store_id}/stock",
        ] {
            let operation = &doc["paths"][path]["post"];
            assert!(operation.is_object(), "{path} is missing");
            for status in ["400", "401", "404", "409", "502", "503"] {
                assert_eq!(
                    operation["responses"][status]["content"]["application/problem+json"]["schema"]
                        ["$ref"],
                    "#/components/schemas/Problem",
                    "{path} does not describe its {status}"
                );
            }
            let headers: Vec<_> = operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "header" && p["required"] == true)
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(headers, ["x-qsr-timestamp", "x-qsr-signature"]);
        }
        assert!(doc["components"]["schemas"]["Problem"].is_object());
    }
}
