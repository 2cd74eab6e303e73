//! Commands on a placed order that are not the kitchen's steps: cancelling
//! (the customer before acceptance, staff, admin) and refunding (staff,
//! admin); and how every order command runs, the kitchen's included.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::{OrderCommand, OrderId, RefundId};
use platform::{Caller, JsonRequest, Problem, Role};
use uuid::Uuid;

use super::command::{CommandRequest, order_response};
use super::headers::{IdempotencyKey, IfMatch};
use super::problems::{CommandProblems, Conflict, Gone, invalid, order_not_found};
use super::settlement::settle_payments;
use super::state::AppState;
use crate::dto::{OrderReceipt, ReasonBody, RefundBody, parse_reason};

/// Runs an order command: finds the order's store, checks the caller may act
/// on it, decides, and then carries out at the gateway what the committed
/// events decided (capture, void, refund).
pub(super) async fn order_command(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    fingerprint: &str,
    order_id: &str,
    roles: &[Role],
    command: OrderCommand,
) -> Result<Response, Problem> {
    caller.require(roles)?;
    let order_id = parse_order_id(order_id)?;
    let store_id = state
        .writers
        .store_of(order_id)
        .ok_or_else(order_not_found)?;
    if caller.role() != Role::Customer {
        caller.require_store(store_id.as_str())?;
    }
    let incoming = CommandRequest {
        caller,
        headers,
        fingerprint,
        store_id: store_id.clone(),
    };
    let answer = incoming.decide_order(state, order_id, command).await?;
    let response = order_response(StatusCode::OK, &store_id, &answer);
    settle_payments(state, &answer.committed).await;
    Ok(response)
}

/// An order id that is not a UUID names no order.
fn parse_order_id(raw: &str) -> Result<OrderId, Problem> {
    raw.parse::<Uuid>()
        .map(OrderId)
        .map_err(|_| order_not_found())
}

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/cancel",
    request_body = ReasonBody,
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Cancelled; voided (customer before acceptance, staff, admin)", body = OrderReceipt, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
    security(("bearer" = []))
)]
pub(crate) async fn cancel_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    request: JsonRequest<ReasonBody>,
) -> Result<Response, Problem> {
    let reason = parse_reason(request.body.reason).map_err(invalid)?;
    let roles = &[Role::Customer, Role::Staff, Role::Admin];
    order_command(
        &state,
        &caller,
        &headers,
        &request.fingerprint,
        &order_id,
        roles,
        OrderCommand::Cancel { reason },
    )
    .await
}

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/refunds",
    request_body = RefundBody,
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Refunded up to what was captured (staff, admin)", body = OrderReceipt, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
    security(("bearer" = []))
)]
pub(crate) async fn refund_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    request: JsonRequest<RefundBody>,
) -> Result<Response, Problem> {
    let (amount, reason) = request.body.parse().map_err(invalid)?;
    let refund_id = RefundId(Uuid::now_v7());
    order_command(
        &state,
        &caller,
        &headers,
        &request.fingerprint,
        &order_id,
        &[Role::Staff, Role::Admin],
        OrderCommand::Refund {
            refund_id,
            amount,
            reason,
        },
    )
    .await
}
