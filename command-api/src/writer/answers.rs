//! How a partition writer reads its answers from the state after a
//! decision, so that a retried request gets the same answer as the first.

use chrono_tz::Tz;
use domain::{Action, Command, DomainError, Idempotency, Store};

use super::queue::{
    CommandError, OrderAnswer, PlacementPrice, PlacementPricing, Pricing, QuoteAnswer, StoreAnswer,
};

fn timezone(store: &Store) -> Tz {
    store.profile.as_ref().map_or(Tz::UTC, |p| p.timezone)
}

/// The order a request placed, if this key already placed one.
fn replayed_order(store: &Store, idempotency: &Idempotency) -> Option<OrderAnswer> {
    let seen = store
        .seen(&idempotency.key)
        .filter(|s| s.fingerprint == idempotency.fingerprint)?;
    let order = store.orders.get(&seen.order_id?)?;
    Some(OrderAnswer {
        order: Box::new(order.clone()),
        timezone: timezone(store),
        committed: Vec::new(),
    })
}

/// Prices a cart against the store's state (an unknown store: a store
/// nothing has happened to).
pub(super) fn quote(store: Option<&Store>, pricing: &Pricing) -> Result<QuoteAnswer, CommandError> {
    let fresh = Store::new(pricing.store_id.clone());
    let store = store.unwrap_or(&fresh);
    let quote = store
        .quote(&pricing.cart, pricing.now)
        .map_err(DomainError::from)?;
    Ok(QuoteAnswer {
        quote: Box::new(quote),
        timezone: timezone(store),
    })
}

/// The order the placement's key placed already, or else its cart's price.
pub(super) fn price_placement(
    store: Option<&Store>,
    ask: &PlacementPricing,
) -> Result<PlacementPrice, CommandError> {
    let replay = store.zip(ask.idempotency.as_ref());
    if let Some(placed) = replay.and_then(|(store, key)| replayed_order(store, key)) {
        return Ok(PlacementPrice::AlreadyPlaced(placed));
    }
    quote(store, &ask.pricing).map(PlacementPrice::Quoted)
}

/// The answer to a store command: the store's versions after it.
pub(super) fn store_answer(store: &Store) -> StoreAnswer {
    StoreAnswer {
        version: store.version,
        menu_version: store.menu_version,
    }
}

/// The answer to an order command, read from the state after it: the same
/// for the first request and for its retries, which name the order their
/// key's first request placed.
pub(super) fn order_answer(
    store: &Store,
    command: &Command,
    committed: Vec<domain::Event>,
) -> Result<OrderAnswer, CommandError> {
    let order_id = command
        .idempotency
        .as_ref()
        .and_then(|i| store.seen(&i.key))
        .and_then(|s| s.order_id)
        .or(command.action.order_id());
    let order = order_id.and_then(|id| store.orders.get(&id));
    let order = order.ok_or(CommandError::Unavailable("the order is not in memory"))?;
    Ok(OrderAnswer {
        order: Box::new(order.clone()),
        timezone: timezone(store),
        committed,
    })
}

/// The version `If-Match` is compared with: the order's for an order command,
/// the store's for a store command.
pub(super) fn current_version(store: &Store, action: &Action) -> u64 {
    match action {
        Action::Order { order_id, .. } => store.orders.get(order_id).map_or(0, |o| o.version),
        Action::Store(_) => store.version,
    }
}
