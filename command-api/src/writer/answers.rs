//! What a partition writer answers, read from the state after a decision.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::{Action, Cart, Command, DomainError, Idempotency, Store, StoreId};

use super::{CommandError, Outcome};

fn timezone(store: &Store) -> Tz {
    store.profile.as_ref().map_or(Tz::UTC, |p| p.timezone)
}

/// The order a request placed, if this key already placed one.
fn replayed_order(store: &Store, idempotency: Option<&Idempotency>) -> Option<Outcome> {
    let idempotency = idempotency?;
    let seen = store
        .seen(&idempotency.key)
        .filter(|s| s.fingerprint == idempotency.fingerprint)?;
    let order = store.orders.get(&seen.order_id?)?;
    Some(Outcome::Order {
        order: Box::new(order.clone()),
        timezone: timezone(store),
        committed: Vec::new(),
    })
}

pub(super) fn quote(
    store: Option<&Store>,
    store_id: &StoreId,
    cart: &Cart,
    now: DateTime<Utc>,
    idempotency: Option<&Idempotency>,
) -> Result<Outcome, CommandError> {
    let fresh = Store::new(store_id.clone());
    let store = store.unwrap_or(&fresh);
    if let Some(replay) = replayed_order(store, idempotency) {
        return Ok(replay);
    }
    let quote = store.quote(cart, now).map_err(DomainError::from)?;
    Ok(Outcome::Quote {
        quote: Box::new(quote),
        timezone: timezone(store),
    })
}

/// The answer to a decided command, read from the state after it: the same
/// for the first request and for its retries.
pub(super) fn outcome_of(
    store: &Store,
    command: &Command,
    committed: Vec<domain::Event>,
) -> Result<Outcome, CommandError> {
    match &command.action {
        Action::ConfigureStore(_)
        | Action::PublishMenu(_)
        | Action::SetAvailability { .. }
        | Action::SetStatus { .. } => Ok(Outcome::Store {
            version: store.version,
            menu_version: store.menu_version,
        }),
        other => {
            let order_id = command
                .idempotency
                .as_ref()
                .and_then(|i| store.seen(&i.key))
                .and_then(|s| s.order_id)
                .or(other.order_id());
            let order = order_id.and_then(|id| store.orders.get(&id));
            let order = order.ok_or(CommandError::Unavailable("the order is not in memory"))?;
            Ok(Outcome::Order {
                order: Box::new(order.clone()),
                timezone: timezone(store),
                committed,
            })
        }
    }
}

/// The version `If-Match` is compared with: the order's for an order command,
/// the store's for a store command.
pub(super) fn current_version(store: &Store, action: &Action) -> u64 {
    match action.order_id() {
        Some(order_id) => store.orders.get(&order_id).map_or(0, |o| o.version),
        None => store.version,
    }
}
