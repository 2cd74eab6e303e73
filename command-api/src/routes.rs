//! The HTTP routes of the command API and their handlers.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use chrono::Utc;
use domain::{Action, Actor, Authorization, Command, Idempotency, PaymentId, StoreId};
use platform::{FieldError, JsonRequest, KafkaArgs, Problem, ReadyCheck};
use uuid::Uuid;

use crate::dto::{MenuBody, OrderView, PlaceOrderBody, QuoteView, StoreBody, StoreView};
use crate::payments::{Gateway, authorize_within};
use crate::writer::{CommandMeta, Outcome, Work, Writers};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub writers: Writers,
    pub kafka: KafkaArgs,
    pub gateway: Arc<dyn Gateway>,
    pub gateway_timeout: Duration,
}

/// The whole HTTP surface of the service.
pub fn app(state: AppState) -> Router {
    let ready_state = state.clone();
    let ready: ReadyCheck = Arc::new(move || {
        let state = ready_state.clone();
        Box::pin(async move {
            platform::kafka_ready(&state.kafka).await?;
            anyhow::ensure!(
                state.writers.all_ready(),
                "partitions are still being rebuilt"
            );
            Ok(())
        })
    });
    Router::new()
        .route("/v1/stores/{store_id}", put(put_store))
        .route("/v1/stores/{store_id}/menu", put(put_menu))
        .route("/v1/orders/quote", post(quote_order))
        .route("/v1/orders", post(place_order))
        .layer(DefaultBodyLimit::max(platform::BODY_LIMIT))
        .with_state(state)
        .merge(platform::health_routes(ready))
}

fn invalid(errors: Vec<FieldError>) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "the request has invalid fields",
    )
    .with_errors(errors)
}

fn parse_store_id(raw: &str) -> Result<StoreId, Problem> {
    StoreId::parse(raw).map_err(|e| {
        invalid(vec![FieldError {
            field: "store_id".into(),
            message: e.to_string(),
        }])
    })
}

/// The request's `Idempotency-Key` with the fingerprint of its body.
fn idempotency(headers: &HeaderMap, fingerprint: &str) -> Result<Option<Idempotency>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            invalid(vec![FieldError {
                field: "Idempotency-Key".into(),
                message: "must be 1-255 visible ASCII characters".into(),
            }])
        })?;
    Ok(Some(Idempotency {
        key: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
    }))
}

/// The command's id and its correlation id (from `X-Correlation-Id` or new).
fn command_meta(headers: &HeaderMap) -> CommandMeta {
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

/// Until tokens arrive (issue 4), every request acts as an admin and orders
/// are guest orders.
fn actor() -> Actor {
    Actor::Admin
}

fn with_etag(status: StatusCode, version: u64, body: impl serde::Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

async fn store_command(
    state: &AppState,
    headers: &HeaderMap,
    store_id: StoreId,
    fingerprint: &str,
    action: Action,
) -> Result<Response, Problem> {
    let command = Command {
        store_id: store_id.clone(),
        actor: actor(),
        now: Utc::now(),
        idempotency: idempotency(headers, fingerprint)?,
        action,
    };
    match state
        .writers
        .submit(&store_id, Work::Decide(command), command_meta(headers))
        .await?
    {
        Outcome::Store {
            version,
            menu_version,
        } => Ok(with_etag(
            StatusCode::OK,
            version,
            StoreView {
                store_id: store_id.to_string(),
                version,
                menu_version: (menu_version > 0).then_some(menu_version),
            },
        )),
        Outcome::Order { .. } | Outcome::Quote { .. } => Err(Problem::internal()),
    }
}

async fn put_store(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    request: JsonRequest<StoreBody>,
) -> Result<Response, Problem> {
    let store_id = parse_store_id(&store_id)?;
    let profile = request.body.parse().map_err(invalid)?;
    store_command(
        &state,
        &headers,
        store_id,
        &request.fingerprint,
        Action::ConfigureStore(profile),
    )
    .await
}

async fn put_menu(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    request: JsonRequest<MenuBody>,
) -> Result<Response, Problem> {
    let store_id = parse_store_id(&store_id)?;
    let menu = request.body.parse().map_err(invalid)?;
    store_command(
        &state,
        &headers,
        store_id,
        &request.fingerprint,
        Action::PublishMenu(menu),
    )
    .await
}

fn order_created(store_id: &StoreId, outcome: Outcome) -> Result<Response, Problem> {
    let Outcome::Order { order, timezone } = outcome else {
        return Err(Problem::internal());
    };
    let view = OrderView::new(store_id, &order, timezone);
    let mut response = with_etag(StatusCode::CREATED, order.version, view);
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/orders/{}", order.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn quote_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: JsonRequest<PlaceOrderBody>,
) -> Result<Response, Problem> {
    let placing = request.body.parse().map_err(invalid)?;
    let work = Work::Quote {
        store_id: placing.store_id.clone(),
        cart: placing.cart,
        now: Utc::now(),
        idempotency: None,
    };
    match state
        .writers
        .submit(&placing.store_id, work, command_meta(&headers))
        .await?
    {
        Outcome::Quote { quote, timezone } => Ok((
            StatusCode::OK,
            axum::Json(QuoteView::new(&placing.store_id, &quote, timezone)),
        )
            .into_response()),
        Outcome::Store { .. } | Outcome::Order { .. } => Err(Problem::internal()),
    }
}

/// Prices the cart, authorises the payment outside the partition's critical
/// section, then places the order with the authorisation.
async fn place_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: JsonRequest<PlaceOrderBody>,
) -> Result<Response, Problem> {
    let placing = request.body.parse().map_err(invalid)?;
    let idempotency = idempotency(&headers, &request.fingerprint)?;
    let meta = command_meta(&headers);
    let store_id = placing.store_id.clone();
    let now = Utc::now();
    let work = Work::Quote {
        store_id: store_id.clone(),
        cart: placing.cart.clone(),
        now,
        idempotency: idempotency.clone(),
    };
    let total = match state.writers.submit(&store_id, work, meta.clone()).await? {
        Outcome::Quote { quote, .. } => quote.totals.total,
        // This key placed its order already: the first answer again.
        replay @ Outcome::Order { .. } => return order_created(&store_id, replay),
        Outcome::Store { .. } => return Err(Problem::internal()),
    };
    let payment_id = PaymentId(Uuid::now_v7());
    let authorized = authorize_within(
        state.gateway.as_ref(),
        state.gateway_timeout,
        payment_id,
        &placing.token,
        total,
    )
    .await?;
    let payment = Authorization {
        payment_id,
        amount: total,
        reference: authorized.reference,
    };
    let command = Command {
        store_id: store_id.clone(),
        actor: actor(),
        now,
        idempotency,
        action: Action::PlaceOrder {
            order_id: placing.order_id,
            cart: placing.cart,
            payment,
        },
    };
    let outcome = state
        .writers
        .submit(&store_id, Work::Decide(command), meta)
        .await?;
    order_created(&store_id, outcome)
}
