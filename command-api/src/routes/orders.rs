//! Commands on a placed order that are not the kitchen's steps: cancelling
//! (the customer before acceptance, staff, admin) and refunding (staff,
//! admin); and how every order command runs, the kitchen's included.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{OrderCommand, OrderId, RefundId};
use platform::{Caller, JsonRequest, Problem, Role};
use uuid::Uuid;

use super::command::{CommandRequest, order_response};
use super::headers::{IdempotencyKey, IfMatch};
use super::problems::{CommandProblems, Conflict, Gone, invalid, order_not_found};
use super::settlement::settle_payments;
use super::state::AppState;
use crate::dto::{OrderReceipt, ReasonBody, RefundBody, parse_reason};

/// What every order command's handler starts from: the caller, the order
/// named in the path and the request's headers, extracted in that order.
pub(crate) struct OrderCall {
    state: AppState,
    caller: Caller,
    order_id: String,
    headers: HeaderMap,
}

impl FromRequestParts<AppState> for OrderCall {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = Caller::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(order_id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(OrderCall {
            state: state.clone(),
            caller,
            order_id,
            headers: parts.headers.clone(),
        })
    }
}

impl OrderCall {
    /// Runs an order command: finds the order's store, checks the caller may
    /// act on it, decides, and then carries out at the gateway what the
    /// committed events decided (capture, void, refund).
    pub(crate) async fn decide(
        self,
        fingerprint: &str,
        roles: &[Role],
        command: OrderCommand,
    ) -> Result<Response, Problem> {
        let OrderCall {
            state,
            caller,
            order_id,
            headers,
        } = self;
        caller.require(roles)?;
        let order_id = parse_order_id(&order_id)?;
        let store_id = state
            .writers
            .store_of(order_id)
            .ok_or_else(order_not_found)?;
        if caller.role() != Role::Customer {
            caller.require_store(store_id.as_str())?;
        }
        let incoming = CommandRequest {
            caller: &caller,
            headers: &headers,
            fingerprint,
            store_id: store_id.clone(),
        };
        let answer = incoming.decide_order(&state, order_id, command).await?;
        let response = order_response(StatusCode::OK, &store_id, &answer);
        settle_payments(&state, &answer.committed).await;
        Ok(response)
    }
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
    order: OrderCall,
    request: JsonRequest<ReasonBody>,
) -> Result<Response, Problem> {
    let reason = parse_reason(request.body.reason).map_err(invalid)?;
    let roles = &[Role::Customer, Role::Staff, Role::Admin];
    order
        .decide(&request.fingerprint, roles, OrderCommand::Cancel { reason })
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
    order: OrderCall,
    request: JsonRequest<RefundBody>,
) -> Result<Response, Problem> {
    let (amount, reason) = request.body.parse().map_err(invalid)?;
    let refund_id = RefundId(Uuid::now_v7());
    order
        .decide(
            &request.fingerprint,
            &[Role::Staff, Role::Admin],
            OrderCommand::Refund {
                refund_id,
                amount,
                reason,
            },
        )
        .await
}
