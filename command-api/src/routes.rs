//! The HTTP routes of the command API and their handlers: each authenticates
//! its caller, checks the role and the store, parses its body into a domain
//! command, and hands it to the writer of the store's partition.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use chrono::Utc;
use domain::{
    Action, Actor, Authorization, CatalogId, Command, CustomerId, Idempotency, OrderEvent, OrderId,
    PaymentId, RefundId, StoreId,
};
use platform::{
    Caller, FieldError, JsonRequest, JwtKeys, KafkaArgs, Problem, ProblemBody, ReadyCheck, Role,
};
use uuid::Uuid;

use crate::dto::{
    AcceptBody, AvailabilityBody, CartRefusal, EmptyBody, MenuBody, OrderView, PlaceOrderBody,
    QuoteBody, QuoteView, ReasonBody, RefundBody, StatusBody, StoreBody, StoreRefusal, StoreView,
    is_visible_ascii_key, parse_reason,
};
use crate::openapi::{CommandProblems, Conflict, Gone, IdempotencyKey, IfMatch};
use crate::payments::{Gateway, within};
use crate::writer::{CommandMeta, Outcome, Work, Writers};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub writers: Writers,
    pub kafka: KafkaArgs,
    pub keys: JwtKeys,
    pub gateway: Arc<dyn Gateway>,
    pub gateway_timeout: Duration,
    pub placements: crate::limits::Placements,
}

impl FromRef<AppState> for JwtKeys {
    fn from_ref(state: &AppState) -> JwtKeys {
        state.keys.clone()
    }
}

/// The whole HTTP surface of the service.
pub fn app(state: AppState, limits: &platform::HttpLimits) -> Router {
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
    let router = Router::new()
        .route("/v1/stores/{store_id}", put(put_store))
        .route("/v1/stores/{store_id}/menu", put(put_menu))
        .route(
            "/v1/stores/{store_id}/items/{item_id}/availability",
            put(put_availability),
        )
        .route("/v1/stores/{store_id}/status", put(put_status))
        .route("/v1/orders/quote", post(quote_order))
        .route(
            "/v1/orders",
            post(place_order).route_layer(from_fn_with_state(
                state.clone(),
                crate::limits::limit_placements,
            )),
        )
        .route("/v1/orders/{order_id}/accept", post(accept_order))
        .route("/v1/orders/{order_id}/reject", post(reject_order))
        .route("/v1/orders/{order_id}/start", post(start_order))
        .route("/v1/orders/{order_id}/ready", post(ready_order))
        .route("/v1/orders/{order_id}/complete", post(complete_order))
        .route("/v1/orders/{order_id}/cancel", post(cancel_order))
        .route("/v1/orders/{order_id}/refunds", post(refund_order))
        .merge(platform::openapi_route::<_, crate::ApiDoc>())
        .layer(DefaultBodyLimit::max(platform::BODY_LIMIT))
        .route_layer(axum::middleware::from_fn(platform::track_requests));
    let router = platform::with_limits(router, limits)
        .with_state(state)
        .merge(platform::health_routes(ready));
    platform::with_problem_fallbacks(router)
}

fn invalid(errors: Vec<FieldError>) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "the request has invalid fields",
    )
    .with_errors(errors)
}

fn field_error(field: &str, message: impl ToString) -> Problem {
    invalid(vec![FieldError {
        field: field.into(),
        message: message.to_string(),
    }])
}

fn parse_store_id(raw: &str) -> Result<StoreId, Problem> {
    StoreId::parse(raw).map_err(|e| field_error("store_id", e))
}

/// An order id that is not a UUID names no order.
fn parse_order_id(raw: &str) -> Result<OrderId, Problem> {
    raw.parse::<Uuid>()
        .map(OrderId)
        .map_err(|_| order_not_found())
}

fn order_not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "order_not_found",
        "the order does not exist",
    )
}

/// A store's body that cannot be taken.
fn refused_store(refusal: StoreRefusal) -> Problem {
    match refusal {
        StoreRefusal::Invalid(errors) => invalid(errors),
        StoreRefusal::Rule(detail) => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_store", detail)
        }
    }
}

/// A placing or quoting body that cannot be taken.
fn refused_cart(refusal: CartRefusal) -> Problem {
    match refusal {
        CartRefusal::OrderIdSent => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "order_id_not_accepted",
            "the server assigns order ids: send the body without `order_id`; to retry a \
             placement safely, send it again with the same Idempotency-Key",
        ),
        CartRefusal::Invalid(errors) => invalid(errors),
    }
}

/// Whose keys a key is among: the caller's role and subject, and for a POS
/// also the store. Another caller's key is another key, so no caller can
/// read or pre-empt another's request. `/` and `:` (and `%`) in the subject
/// are percent-encoded, so the first `/` of a scoped key ends its scope.
fn key_scope(caller: &Caller, store_id: &StoreId) -> String {
    let sub = caller
        .sub()
        .replace('%', "%25")
        .replace('/', "%2F")
        .replace(':', "%3A");
    match caller.role() {
        Role::Customer => format!("customer:{sub}"),
        Role::Staff => format!("staff:{sub}"),
        Role::Admin => format!("admin:{sub}"),
        Role::Pos => format!("pos:{sub}:{store_id}"),
    }
}

/// The request's `Idempotency-Key`, scoped to its caller
/// (`<scope>/<client key>`, see [`key_scope`]), with the fingerprint of its
/// body.
fn idempotency(
    caller: &Caller,
    store_id: &StoreId,
    headers: &HeaderMap,
    fingerprint: &str,
) -> Result<Option<Idempotency>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| is_visible_ascii_key(k))
        .ok_or_else(|| field_error("Idempotency-Key", "must be 1-255 visible ASCII characters"))?;
    Ok(Some(Idempotency {
        key: format!("{}/{key}", key_scope(caller, store_id)),
        fingerprint: fingerprint.to_owned(),
    }))
}

/// The version in `If-Match: "N"` (or `W/"N"`, or a bare `N`), 1-19 digits,
/// if any: what the document's pattern states.
fn if_match(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim())
        .map(|v| v.strip_prefix("W/").unwrap_or(v))
        .map(|v| {
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v)
        })
        .filter(|v| (1..=19).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            field_error(
                "If-Match",
                "must be the quoted version of an ETag, e.g. \"3\"",
            )
        })
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

/// The domain's view of the caller.
fn actor(caller: &Caller) -> Result<Actor, Problem> {
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

fn with_etag(status: StatusCode, version: u64, body: impl serde::Serialize) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// A decided command's parts, before it goes to the writer.
struct Decision<'a> {
    caller: &'a Caller,
    headers: &'a HeaderMap,
    fingerprint: &'a str,
    store_id: StoreId,
    action: Action,
}

impl Decision<'_> {
    async fn submit(self, state: &AppState) -> Result<Outcome, Problem> {
        let command = Command {
            store_id: self.store_id.clone(),
            actor: actor(self.caller)?,
            now: Utc::now(),
            idempotency: idempotency(self.caller, &self.store_id, self.headers, self.fingerprint)?,
            action: self.action,
        };
        let work = Work::Decide {
            command,
            expected_version: if_match(self.headers)?,
        };
        Ok(state
            .writers
            .submit(&self.store_id, work, command_meta(self.headers))
            .await?)
    }
}

// Store commands.

async fn store_command(state: &AppState, decision: Decision<'_>) -> Result<Response, Problem> {
    let store_id = decision.store_id.to_string();
    match decision.submit(state).await? {
        Outcome::Store {
            version,
            menu_version,
        } => Ok(with_etag(
            StatusCode::OK,
            version,
            StoreView {
                store_id,
                version,
                menu_version: (menu_version > 0).then_some(menu_version),
            },
        )),
        Outcome::Order { .. } | Outcome::Quote { .. } => Err(Problem::internal()),
    }
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
    let action = Action::ConfigureStore(request.body.parse().map_err(refused_store)?);
    let decision = Decision {
        caller: &caller,
        headers: &headers,
        fingerprint: &request.fingerprint,
        store_id,
        action,
    };
    store_command(&state, decision).await
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
    let action = Action::PublishMenu(request.body.parse().map_err(invalid)?);
    let decision = Decision {
        caller: &caller,
        headers: &headers,
        fingerprint: &request.fingerprint,
        store_id,
        action,
    };
    store_command(&state, decision).await
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
    let action = Action::SetAvailability {
        id,
        available: request.body.available,
    };
    let decision = Decision {
        caller: &caller,
        headers: &headers,
        fingerprint: &request.fingerprint,
        store_id,
        action,
    };
    store_command(&state, decision).await
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
    let action = Action::SetStatus {
        accepting_orders,
        busy_minutes,
    };
    let decision = Decision {
        caller: &caller,
        headers: &headers,
        fingerprint: &request.fingerprint,
        store_id,
        action,
    };
    store_command(&state, decision).await
}

// Placing.

fn order_answer(
    status: StatusCode,
    store_id: &StoreId,
    outcome: Outcome,
) -> Result<(Response, Vec<domain::Event>), Problem> {
    let Outcome::Order {
        order,
        timezone,
        committed,
    } = outcome
    else {
        return Err(Problem::internal());
    };
    let view = OrderView::new(store_id, &order, timezone);
    let mut response = with_etag(status, order.version, view);
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/orders/{}", order.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok((response, committed))
}

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
    let work = Work::Quote {
        store_id: quoting.store_id.clone(),
        cart: quoting.cart,
        now: Utc::now(),
        idempotency: None,
    };
    match state
        .writers
        .submit(&quoting.store_id, work, command_meta(&headers))
        .await?
    {
        Outcome::Quote { quote, timezone } => Ok((
            StatusCode::OK,
            axum::Json(QuoteView::new(&quoting.store_id, &quote, timezone)),
        )
            .into_response()),
        Outcome::Store { .. } | Outcome::Order { .. } => Err(Problem::internal()),
    }
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
    responses((status = 201, description = "The order, placed and paid, with the id the server assigned (customer)", body = OrderView, headers(("ETag" = String, description = "The aggregate's new version"), ("Location" = String, description = "`/v1/orders/{order_id}`"))), (status = 402, description = "`payment_declined` or `insufficient_funds`", body = ProblemBody, content_type = "application/problem+json"), platform::Refusals, CommandProblems, (status = 422, description = "A rule the order breaks, with its `code`: `validation_failed` (with the invalid fields), `order_id_not_accepted` (the body has an `order_id`: the server assigns order ids; send the body without it, and retry a placement with the same Idempotency-Key), `idempotency_key_reused` (this caller sent the key with another body), `tip_too_large` (above the larger of the subtotal and the store's `max_tip`), `order_total_too_large` (above the store's `max_order_total`), `invalid_payment_token`, `item_unavailable`, `store_closed`, `slot_full` and the other rules of placing", body = ProblemBody, content_type = "application/problem+json"), Conflict, platform::TooMany),
    security(("bearer" = []))
)]
pub(crate) async fn place_order(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    request: JsonRequest<PlaceOrderBody>,
) -> Result<Response, Problem> {
    caller.require(&[Role::Customer])?;
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
            let work = Work::Quote {
                store_id: store_id.clone(),
                cart: placing.cart.clone(),
                now,
                idempotency: idempotency.clone(),
            };
            match state.writers.submit(&store_id, work, meta.clone()).await? {
                Outcome::Quote { quote, .. } => quote.totals.total,
                // This key placed its order already: the first answer again.
                replay @ Outcome::Order { .. } => {
                    return Ok(order_answer(StatusCode::CREATED, &store_id, replay)?.0);
                }
                Outcome::Store { .. } => return Err(Problem::internal()),
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
        action: Action::PlaceOrder {
            order_id: OrderId(Uuid::now_v7()),
            cart: placing.cart,
            payment,
        },
    };
    let decide = Work::Decide {
        command,
        expected_version: None,
    };
    match state.writers.submit(&store_id, decide, meta).await {
        Ok(outcome) => {
            // A retry that raced its first request to the writer gets the
            // first order; its own authorisation is not needed.
            if let Outcome::Order { order, .. } = &outcome
                && order.payment.as_ref().is_some_and(|p| p.id != payment_id)
            {
                void(&state, payment_id).await;
            }
            Ok(order_answer(StatusCode::CREATED, &store_id, outcome)?.0)
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

// Commands on a placed order.

/// Runs an order command: finds the order's store, checks the caller may act
/// on it, decides, and then carries out at the gateway what the committed
/// events decided (capture, void, refund).
async fn order_command(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    fingerprint: &str,
    order_id: &str,
    roles: &[Role],
    action: impl FnOnce(OrderId) -> Action,
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
    let decision = Decision {
        caller,
        headers,
        fingerprint,
        store_id: store_id.clone(),
        action: action(order_id),
    };
    let (response, committed) =
        order_answer(StatusCode::OK, &store_id, decision.submit(state).await?)?;
    settle_payments(state, &committed).await;
    Ok(response)
}

/// Carries out the payment decisions of committed events at the gateway. Our
/// ids are its idempotency keys, so a retry of these calls is safe.
async fn settle_payments(state: &AppState, committed: &[domain::Event]) {
    for event in committed {
        let domain::Change::Order { event, .. } = &event.change else {
            continue;
        };
        let result = match event {
            OrderEvent::PaymentCaptured {
                payment_id, amount, ..
            } => {
                within(
                    state.gateway_timeout,
                    state.gateway.capture(*payment_id, *amount),
                )
                .await
            }
            OrderEvent::PaymentVoided { payment_id, .. } => {
                within(state.gateway_timeout, state.gateway.void(*payment_id)).await
            }
            OrderEvent::PaymentRefunded {
                payment_id,
                refund_id,
                amount,
                ..
            } => {
                within(
                    state.gateway_timeout,
                    state.gateway.refund(*payment_id, *refund_id, *amount),
                )
                .await
            }
            _ => continue,
        };
        if let Err(error) = result {
            tracing::error!(?event, %error, "the gateway did not carry out a committed payment decision");
        }
    }
}

const STORE_ROLES: &[Role] = &[Role::Staff, Role::Pos];

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/accept",
    request_body = AcceptBody,
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Accepted (staff, pos)", body = OrderView, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
    security(("bearer" = []))
)]
pub(crate) async fn accept_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    request: JsonRequest<AcceptBody>,
) -> Result<Response, Problem> {
    let ready_at = request.body.ready_at.map(|t| t.with_timezone(&Utc));
    order_command(
        &state,
        &caller,
        &headers,
        &request.fingerprint,
        &order_id,
        STORE_ROLES,
        |order_id| Action::AcceptOrder { order_id, ready_at },
    )
    .await
}

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/reject",
    request_body = ReasonBody,
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Rejected; the payment is voided (staff, pos)", body = OrderView, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
    security(("bearer" = []))
)]
pub(crate) async fn reject_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    request: JsonRequest<ReasonBody>,
) -> Result<Response, Problem> {
    let reason = parse_reason(request.body.reason).map_err(invalid)?;
    order_command(
        &state,
        &caller,
        &headers,
        &request.fingerprint,
        &order_id,
        STORE_ROLES,
        |order_id| Action::RejectOrder { order_id, reason },
    )
    .await
}

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/start",
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Preparation started (staff, pos)", body = OrderView, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
    security(("bearer" = []))
)]
pub(crate) async fn start_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    request: JsonRequest<EmptyBody>,
) -> Result<Response, Problem> {
    order_command(
        &state,
        &caller,
        &headers,
        &request.fingerprint,
        &order_id,
        STORE_ROLES,
        |order_id| Action::StartOrder { order_id },
    )
    .await
}

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/ready",
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Ready for pickup (staff, pos)", body = OrderView, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
    security(("bearer" = []))
)]
pub(crate) async fn ready_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    request: JsonRequest<EmptyBody>,
) -> Result<Response, Problem> {
    order_command(
        &state,
        &caller,
        &headers,
        &request.fingerprint,
        &order_id,
        STORE_ROLES,
        |order_id| Action::MarkReady { order_id },
    )
    .await
}

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/complete",
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Picked up; the payment is captured (staff, pos)", body = OrderView, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
    security(("bearer" = []))
)]
pub(crate) async fn complete_order(
    State(state): State<AppState>,
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    request: JsonRequest<EmptyBody>,
) -> Result<Response, Problem> {
    order_command(
        &state,
        &caller,
        &headers,
        &request.fingerprint,
        &order_id,
        STORE_ROLES,
        |order_id| Action::CompleteOrder { order_id },
    )
    .await
}

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/cancel",
    request_body = ReasonBody,
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Cancelled; voided (customer before acceptance, staff, admin)", body = OrderView, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
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
        |order_id| Action::CancelOrder { order_id, reason },
    )
    .await
}

#[utoipa::path(
    post,
    path = "/v1/orders/{order_id}/refunds",
    request_body = RefundBody,
    params(("order_id" = Uuid, Path, description = "The order"), IdempotencyKey, IfMatch),
    responses((status = 200, description = "Refunded up to what was captured (staff, admin)", body = OrderView, headers(("ETag" = String, description = "The aggregate's new version"))), platform::Refusals, CommandProblems, Conflict, Gone),
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
        |order_id| Action::RefundOrder {
            order_id,
            refund_id,
            amount,
            reason,
        },
    )
    .await
}
