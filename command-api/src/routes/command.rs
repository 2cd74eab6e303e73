//! What every command route does once its body is parsed: turn the request
//! into a domain command (the caller as its actor, its scoped idempotency
//! key, its `If-Match`), hand it to the writer of the store's partition, and
//! answer what the writer read back, with the aggregate's version as `ETag`.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use domain::{Action, Actor, Command, CustomerId, OrderCommand, OrderId, StoreCommand, StoreId};
use platform::{Caller, Problem, Role};

use super::headers::{command_meta, idempotency, if_match};
use super::state::AppState;
use crate::dto::OrderReceipt;
use crate::writer::{OrderAnswer, StoreAnswer};

/// A command as its request states it, not yet decided: who sends it, the
/// headers and body fingerprint it came with, and the store it is for.
pub(super) struct CommandRequest<'a> {
    pub caller: &'a Caller,
    pub headers: &'a HeaderMap,
    pub fingerprint: &'a str,
    pub store_id: StoreId,
}

impl CommandRequest<'_> {
    /// Has the writer decide a command on the store itself.
    pub async fn decide_store(
        self,
        state: &AppState,
        command: StoreCommand,
    ) -> Result<StoreAnswer, Problem> {
        let (command, expected_version) = self.command(Action::Store(command))?;
        let meta = command_meta(self.headers);
        Ok(state
            .writers
            .decide_store(command, expected_version, meta)
            .await?)
    }

    /// Has the writer decide a command on the order `order_id`.
    pub async fn decide_order(
        self,
        state: &AppState,
        order_id: OrderId,
        command: OrderCommand,
    ) -> Result<OrderAnswer, Problem> {
        let (command, expected_version) = self.command(Action::Order { order_id, command })?;
        let meta = command_meta(self.headers);
        Ok(state
            .writers
            .decide_order(command, expected_version, meta)
            .await?)
    }

    /// The domain command, and the version `If-Match` expects.
    fn command(&self, action: Action) -> Result<(Command, Option<u64>), Problem> {
        let command = Command {
            store_id: self.store_id.clone(),
            actor: actor(self.caller)?,
            now: Utc::now(),
            idempotency: idempotency(self.caller, &self.store_id, self.headers, self.fingerprint)?,
            action,
        };
        Ok((command, if_match(self.headers)?))
    }
}

/// The domain's view of the caller.
pub(super) fn actor(caller: &Caller) -> Result<Actor, Problem> {
    Ok(match caller.role() {
        Role::Customer => Actor::Customer(CustomerId::parse(caller.sub()).map_err(|_| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "the token's sub is not a customer id",
            )
        })?),
        Role::Staff => Actor::Staff,
        Role::Pos => Actor::Pos,
        Role::Admin => Actor::Admin,
    })
}

/// `body` with the aggregate's `version` as its `ETag`.
pub(super) fn with_etag(status: StatusCode, version: u64, body: impl serde::Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// The answer to an order command: the order, its version as `ETag`, and
/// where to read it.
pub(super) fn order_response(
    status: StatusCode,
    store_id: &StoreId,
    answer: &OrderAnswer,
) -> Response {
    let order = &answer.order;
    let receipt = OrderReceipt::new(store_id, order, answer.timezone);
    let mut response = with_etag(status, order.version, receipt);
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/orders/{}", order.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
