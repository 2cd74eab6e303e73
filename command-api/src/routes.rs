//! The HTTP routes of the command API and their handlers.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Router, extract::DefaultBodyLimit};
use chrono::Utc;
use domain::StoreId;
use platform::{FieldError, Json, KafkaArgs, Problem, ReadyCheck};
use uuid::Uuid;

use crate::dto::{MenuBody, OrderPlacedView, PlaceOrderBody, StoreBody, StoreView};
use crate::writer::{Command, CommandMeta, Outcome, Writers};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub writers: Writers,
    pub kafka: KafkaArgs,
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

/// The command's id, its correlation id (from `X-Correlation-Id` or new) and
/// its `Idempotency-Key`.
fn command_meta(headers: &HeaderMap) -> Result<CommandMeta, Problem> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let idempotency_key = text("idempotency-key");
    if idempotency_key
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.len() > 255)
    {
        return Err(invalid(vec![FieldError {
            field: "Idempotency-Key".into(),
            message: "must be 1-255 characters".into(),
        }]));
    }
    let command_id = Uuid::now_v7();
    Ok(CommandMeta {
        command_id,
        correlation_id: text("x-correlation-id").unwrap_or_else(|| command_id.to_string()),
        idempotency_key,
    })
}

fn with_etag(status: StatusCode, version: u64, body: impl serde::Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

async fn put_store(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<StoreBody>,
) -> Result<Response, Problem> {
    let store_id = parse_store_id(&store_id)?;
    let profile = body.parse().map_err(invalid)?;
    let meta = command_meta(&headers)?;
    let command = Command::ConfigureStore {
        store_id: store_id.clone(),
        profile,
    };
    store_answer(state.writers.submit(&store_id, command, meta).await?)
}

async fn put_menu(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<MenuBody>,
) -> Result<Response, Problem> {
    let store_id = parse_store_id(&store_id)?;
    let menu = body.parse().map_err(invalid)?;
    let meta = command_meta(&headers)?;
    let command = Command::PublishMenu {
        store_id: store_id.clone(),
        menu,
    };
    store_answer(state.writers.submit(&store_id, command, meta).await?)
}

fn store_answer(outcome: Outcome) -> Result<Response, Problem> {
    match outcome {
        Outcome::Store {
            store_id,
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
        Outcome::OrderPlaced { .. } => Err(Problem::internal()),
    }
}

async fn place_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<PlaceOrderBody>,
) -> Result<Response, Problem> {
    let cmd = body.parse(Utc::now()).map_err(invalid)?;
    let meta = command_meta(&headers)?;
    let store_id = cmd.store_id.clone();
    match state
        .writers
        .submit(&store_id, Command::PlaceOrder(cmd), meta)
        .await?
    {
        Outcome::OrderPlaced {
            placed,
            version,
            timezone,
        } => {
            let view = OrderPlacedView::new(&placed, version, timezone);
            let mut response = with_etag(StatusCode::CREATED, version, view);
            if let Ok(location) = HeaderValue::from_str(&format!("/v1/orders/{}", placed.order_id))
            {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok(response)
        }
        Outcome::Store { .. } => Err(Problem::internal()),
    }
}
