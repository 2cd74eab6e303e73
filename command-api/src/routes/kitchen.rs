//! The kitchen's steps of an order, by staff and POS tokens of its store:
//! accept or reject, start, ready, complete (which captures the payment).

use axum::response::Response;
use chrono::Utc;
use domain::OrderCommand;
use platform::{JsonRequest, Problem, Role};

use super::headers::{IdempotencyKey, IfMatch};
use super::orders::OrderCall;
use super::problems::{CommandProblems, Conflict, Gone, invalid};
use crate::dto::{AcceptBody, EmptyBody, OrderReceipt, ReasonBody, parse_reason};

/// Who takes an order's kitchen steps.
const STORE_ROLES: &[Role] = &[Role::Staff, Role::Pos];

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/accept",
    request_body = AcceptBody,
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Accepted (staff, pos)", body = OrderReceipt, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
    security(("bearer" = []))
)]
pub(crate) async fn accept_order(
    order: OrderCall,
    request: JsonRequest<AcceptBody>,
) -> Result<Response, Problem> {
    let ready_at = request.body.ready_at.map(|t| t.with_timezone(&Utc));
    order
        .decide(
            &request.fingerprint,
            STORE_ROLES,
            OrderCommand::Accept { ready_at },
        )
        .await
}

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/reject",
    request_body = ReasonBody,
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Rejected; the payment is voided (staff, pos)", body = OrderReceipt, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
    security(("bearer" = []))
)]
pub(crate) async fn reject_order(
    order: OrderCall,
    request: JsonRequest<ReasonBody>,
) -> Result<Response, Problem> {
    let reason = parse_reason(request.body.reason).map_err(invalid)?;
    order
        .decide(
            &request.fingerprint,
            STORE_ROLES,
            OrderCommand::Reject { reason },
        )
        .await
}

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/start",
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Preparation started (staff, pos)", body = OrderReceipt, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
    security(("bearer" = []))
)]
pub(crate) async fn start_order(
    order: OrderCall,
    request: JsonRequest<EmptyBody>,
) -> Result<Response, Problem> {
    order
        .decide(&request.fingerprint, STORE_ROLES, OrderCommand::Start)
        .await
}

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/ready",
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Ready for pickup (staff, pos)", body = OrderReceipt, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
    security(("bearer" = []))
)]
pub(crate) async fn ready_order(
    order: OrderCall,
    request: JsonRequest<EmptyBody>,
) -> Result<Response, Problem> {
    order
        .decide(&request.fingerprint, STORE_ROLES, OrderCommand::MarkReady)
        .await
}

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/complete",
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Picked up; the payment is captured (staff, pos)", body = OrderReceipt, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
    security(("bearer" = []))
)]
pub(crate) async fn complete_order(
    order: OrderCall,
    request: JsonRequest<EmptyBody>,
) -> Result<Response, Problem> {
    order
        .decide(&request.fingerprint, STORE_ROLES, OrderCommand::Complete)
        .await
}
