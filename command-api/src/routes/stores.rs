//! The store's own commands: its profile and menu (admin), and what the
//! kitchen takes off and whether it takes orders (staff, POS).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::{CatalogId, StoreCommand, StoreId};
use platform::{Caller, JsonRequest, Problem, Role};

use super::command::{CommandRequest, with_etag};
use super::headers::{IdempotencyKey, IfMatch};
use super::problems::{CommandProblems, Conflict, field_error, invalid, refused_store};
use super::state::AppState;
use crate::dto::{AvailabilityBody, MenuBody, StatusBody, StoreBody, StoreView};

fn parse_store_id(raw: &str) -> Result<StoreId, Problem> {
    StoreId::parse(raw).map_err(|e| field_error("store_id", e))
}

/// Has the writer decide a store command, and answers the store's new
/// versions.
async fn store_command(
    state: &AppState,
    incoming: CommandRequest<'_>,
    command: StoreCommand,
) -> Result<Response, Problem> {
    let store_id = incoming.store_id.to_string();
    let answer = incoming.decide_store(state, command).await?;
    let version = answer.version;
    let menu_version = answer.menu_version;
    Ok(with_etag(
        StatusCode::OK,
        version,
        StoreView {
            store_id,
            version,
            menu_version: (menu_version > 0).then_some(menu_version),
        },
    ))
}

#[utoipa::path(
    put,
    path = "/v1/stores/{store_id}",
    request_body = StoreBody,
    params(("store_id" = String, Path, description = "The store", pattern = "^[a-z0-9][a-z0-9-]{0,63}$"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "The store's new version (admin)", body = StoreView, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict),
    security(("bearer" = []))
)]
pub(crate) async fn put_store(
    State(state): State<AppState>,
    caller: Caller,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    request: JsonRequest<StoreBody>,
) -> Result<Response, Problem> {
    caller.require(&[Role::Admin])?;
    let store_id = parse_store_id(&store_id)?;
    let command = StoreCommand::Configure(request.body.parse().map_err(refused_store)?);
    let incoming = CommandRequest {
        caller: &caller,
        headers: &headers,
        fingerprint: &request.fingerprint,
        store_id,
    };
    store_command(&state, incoming, command).await
}

#[utoipa::path(
    put,
    path = "/v1/stores/{store_id}/menu",
    request_body = MenuBody,
    params(("store_id" = String, Path, description = "The store", pattern = "^[a-z0-9][a-z0-9-]{0,63}$"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "The new store and menu versions (admin)", body = StoreView, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict),
    security(("bearer" = []))
)]
pub(crate) async fn put_menu(
    State(state): State<AppState>,
    caller: Caller,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    request: JsonRequest<MenuBody>,
) -> Result<Response, Problem> {
    caller.require(&[Role::Admin])?;
    let store_id = parse_store_id(&store_id)?;
    let command = StoreCommand::PublishMenu(request.body.parse().map_err(invalid)?);
    let incoming = CommandRequest {
        caller: &caller,
        headers: &headers,
        fingerprint: &request.fingerprint,
        store_id,
    };
    store_command(&state, incoming, command).await
}

#[utoipa::path(
    put,
    path = "/v1/stores/{store_id}/items/{item_id}/availability",
    request_body = AvailabilityBody,
    params(("store_id" = String, Path, description = "The store", pattern = "^[a-z0-9][a-z0-9-]{0,63}$"), ("item_id" = String, Path, description = "An item or modifier option id", pattern = "^[a-z0-9][a-z0-9-]{0,63}$"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Item or option taken off or put back (staff, pos)", body = StoreView, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict),
    security(("bearer" = []))
)]
pub(crate) async fn put_availability(
    State(state): State<AppState>,
    caller: Caller,
    Path((store_id, item_id)): Path<(String, String)>,
    headers: HeaderMap,
    request: JsonRequest<AvailabilityBody>,
) -> Result<Response, Problem> {
    caller.require(&[Role::Staff, Role::Pos])?;
    let store_id = parse_store_id(&store_id)?;
    caller.require_store(store_id.as_str())?;
    let id = CatalogId::parse(&item_id).map_err(|e| field_error("item_id", e))?;
    let command = StoreCommand::SetAvailability {
        id,
        available: request.body.available,
    };
    let incoming = CommandRequest {
        caller: &caller,
        headers: &headers,
        fingerprint: &request.fingerprint,
        store_id,
    };
    store_command(&state, incoming, command).await
}

#[utoipa::path(
    put,
    path = "/v1/stores/{store_id}/status",
    request_body = StatusBody,
    params(("store_id" = String, Path, description = "The store", pattern = "^[a-z0-9][a-z0-9-]{0,63}$"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Paused, resumed or busy (staff, pos)", body = StoreView, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict),
    security(("bearer" = []))
)]
pub(crate) async fn put_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    request: JsonRequest<StatusBody>,
) -> Result<Response, Problem> {
    caller.require(&[Role::Staff, Role::Pos])?;
    let store_id = parse_store_id(&store_id)?;
    caller.require_store(store_id.as_str())?;
    let StatusBody {
        accepting_orders,
        busy_minutes,
    } = request.body;
    let command = StoreCommand::SetStatus {
        accepting_orders,
        busy_minutes,
    };
    let incoming = CommandRequest {
        caller: &caller,
        headers: &headers,
        fingerprint: &request.fingerprint,
        store_id,
    };
    store_command(&state, incoming, command).await
}
