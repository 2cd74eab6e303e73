//! Placing an order, and quoting a cart as placing it would. A placement
//! prices its cart, authorises the total at the payment gateway outside the
//! partition's critical section, then has the writer decide the order with
//! the authorisation; an authorisation no order uses is voided.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use domain::{Action, Authorization, Command, OrderCommand, OrderId, PaymentId};
use platform::{Caller, JsonRequest, Problem, ProblemBody, Role};
use uuid::Uuid;

use super::command::{actor, order_response};
use super::headers::{IdempotencyKey, command_meta, idempotency};
use super::problems::{CommandProblems, Conflict, refused_cart};
use super::state::AppState;
use crate::dto::{OrderReceipt, PlaceOrderBody, QuoteBody, QuoteView};
use crate::payments::within;
use crate::writer::{PlacementPrice, Pricing, QuoteAnswer};

/// Prices a cart as placing it would; no payment, nothing written.
#[utoipa::path(
    post,
    path = "/v1/orders/quote",
    request_body = QuoteBody,
    responses((status = 200, description = "What the cart costs and when it could be picked up (customer)", body = QuoteView), platform::Refusals, CommandProblems, (status = 422, description = "A rule the cart breaks, with its `code`: `validation_failed` (with the invalid fields), `order_id_not_accepted` (the body has an `order_id`: the server assigns order ids), `tip_too_large` (above the larger of the subtotal and the store's `max_tip`), `order_total_too_large` (above the store's `max_order_total`), `item_unavailable`, `store_closed`, `slot_full` and the other rules of placing", body = ProblemBody, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
pub(crate) async fn quote_order(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    request: JsonRequest<QuoteBody>,
) -> Result<Response, Problem> {
    caller.require(&[Role::Customer])?;
    let quoting = request.body.parse().map_err(refused_cart)?;
    let pricing = Pricing {
        store_id: quoting.store_id.clone(),
        cart: quoting.cart,
        now: Utc::now(),
    };
    let QuoteAnswer { quote, timezone } =
        state.writers.quote(pricing, command_meta(&headers)).await?;
    Ok((
        StatusCode::OK,
        axum::Json(QuoteView::new(&quoting.store_id, &quote, timezone)),
    )
        .into_response())
}

/// Prices the cart, authorises the payment outside the partition's critical
/// section, then places the order with the authorisation. If the order is not
/// appended, the authorisation is voided. The order's id is the server's (a
/// UUID v7, unique across stores); a retry with the same `Idempotency-Key` and
/// body gets the first order back.
#[utoipa::path(
    post,
    path = "/v1/orders",
    request_body = PlaceOrderBody,
    params(IdempotencyKey),
    responses((status = 201, description = "The order, placed and paid, with the id the server assigned (customer)", body = OrderReceipt, headers(("ETag" = String, description = "The aggregate's new version"), ("Location" = String, description = "`/v1/orders/{order_id}`"))), (status = 402, description = "`payment_declined` or `insufficient_funds`", body = ProblemBody, content_type = "application/problem+json"), platform::Refusals, CommandProblems, (status = 422, description = "A rule the order breaks, with its `code`: `validation_failed` (with the invalid fields), `order_id_not_accepted` (the body has an `order_id`: the server assigns order ids; send the body without it, and retry a placement with the same Idempotency-Key), `idempotency_key_reused` (this caller sent the key with another body), `tip_too_large` (above the larger of the subtotal and the store's `max_tip`), `order_total_too_large` (above the store's `max_order_total`), `invalid_payment_token`, `item_unavailable`, `store_closed`, `slot_full` and the other rules of placing", body = ProblemBody, content_type = "application/problem+json"), Conflict, platform::TooMany),
    security(("bearer" = []))
)]
pub(crate) async fn place_order(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    request: JsonRequest<PlaceOrderBody>,
) -> Result<Response, Problem> {
    caller.require(&[Role::Customer])?;
    if caller.0.email_verified == Some(false) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "email_unverified",
            "confirm your email address (the link in the mail we sent) before ordering, \
             then refresh your token",
        ));
    }
    let placing = request.body.parse().map_err(refused_cart)?;
    let store_id = placing.store_id.clone();
    let idempotency = idempotency(&caller, &store_id, &headers, &request.fingerprint)?;
    let meta = command_meta(&headers);
    let now = Utc::now();
    // Price from the store's published catalog, without a trip through the
    // writer's queue; the writer's own quote answers a known key (the first
    // answer again) and anything the catalog refuses (it may be a batch old).
    let known_key = idempotency
        .as_ref()
        .is_some_and(|i| state.writers.placed_with(&i.key));
    let from_catalog = state
        .writers
        .catalog(&store_id)
        .filter(|_| !known_key)
        .and_then(|catalog| catalog.quote(&placing.cart, now).ok())
        .map(|quote| quote.totals.total);
    let total = match from_catalog {
        Some(total) => total,
        None => {
            let pricing = Pricing {
                store_id: store_id.clone(),
                cart: placing.cart.clone(),
                now,
            };
            let price = state
                .writers
                .price_placement(pricing, idempotency.clone(), meta.clone())
                .await?;
            match price {
                PlacementPrice::Quoted(answer) => answer.quote.totals.total,
                // This key placed its order already: the first answer again.
                PlacementPrice::AlreadyPlaced(order) => {
                    return Ok(order_response(StatusCode::CREATED, &store_id, &order));
                }
            }
        }
    };
    let payment_id = PaymentId(Uuid::now_v7());
    let authorized = within(
        state.gateway_timeout,
        state
            .gateway
            .authorize(payment_id, placing.token.expose(), total),
    )
    .await?;
    let payment = Authorization {
        payment_id,
        amount: total,
        reference: authorized.reference,
    };
    let command = Command {
        store_id: store_id.clone(),
        actor: actor(&caller)?,
        now,
        idempotency,
        action: Action::Order {
            order_id: OrderId(Uuid::now_v7()),
            command: OrderCommand::Place {
                cart: placing.cart,
                payment,
            },
        },
    };
    match state.writers.decide_order(command, None, meta).await {
        Ok(answer) => {
            // A retry that raced its first request to the writer gets the
            // first order; its own authorisation is not needed.
            if answer
                .order
                .payment
                .as_ref()
                .is_some_and(|p| p.id != payment_id)
            {
                void(&state, payment_id).await;
            }
            Ok(order_response(StatusCode::CREATED, &store_id, &answer))
        }
        Err(error) => {
            void(&state, payment_id).await;
            Err(error.into())
        }
    }
}

/// Releases an authorisation that no order uses.
async fn void(state: &AppState, payment_id: PaymentId) {
    if let Err(error) = within(state.gateway_timeout, state.gateway.void(payment_id)).await {
        tracing::error!(payment_id = %payment_id, error = %error, "voiding an unused authorisation");
    }
}
