//! The store aggregate: the unit of consistency. A store decides its own
//! commands and those of its orders, because placing an order depends on the
//! store's menu, availability, hours and pickup-slot capacity, exactly and
//! never from a stale copy.
//!
//! `decide(&Store, &Command) -> Result<Vec<Event>, DomainError>` is pure;
//! `evolve(Store, &Event) -> Store` folds an event in. This file holds the
//! state and the entry points; `store_commands.rs` and `order_commands.rs`
//! decide each kind of command, `quote.rs` prices a cart, `evolve.rs` folds
//! the events in.

mod evolve;
mod order_commands;
mod quote;
mod store_commands;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::{
    Action, CatalogId, Change, Command, DomainError, Event, Menu, Order, OrderError, OrderId,
    StoreError, StoreId, StoreProfile, StoreStatus,
};

pub use quote::Quote;

/// What a request with an `Idempotency-Key` did, remembered so a retry is
/// answered instead of decided again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub fingerprint: String,
    /// The order the request was about; `None` for a store command.
    pub order_id: Option<OrderId>,
}

/// A store and its orders, as folded from its events.
#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    pub id: StoreId,
    /// The number of store events (profile, menu, availability, status).
    pub version: u64,
    /// `None` until an admin configures the store: it does not exist yet.
    pub profile: Option<StoreProfile>,
    pub menu: Option<Menu>,
    pub menu_version: u32,
    /// Items and modifier options taken off.
    pub unavailable: BTreeSet<CatalogId>,
    pub status: StoreStatus,
    pub orders: HashMap<OrderId, Order>,
    /// Live orders per pickup slot start: placed and not rejected or cancelled.
    slots: BTreeMap<DateTime<Utc>, u32>,
    seen: HashMap<String, Seen>,
}

impl Store {
    /// A store nothing has happened to.
    pub fn new(id: StoreId) -> Store {
        Store {
            id,
            version: 0,
            profile: None,
            menu: None,
            menu_version: 0,
            unavailable: BTreeSet::new(),
            status: StoreStatus::Accepting,
            orders: HashMap::new(),
            slots: BTreeMap::new(),
            seen: HashMap::new(),
        }
    }

    /// Live orders in the slot that starts at `slot`.
    pub fn slot_load(&self, slot: DateTime<Utc>) -> u32 {
        self.slots.get(&slot).copied().unwrap_or(0)
    }

    /// What an earlier request with this `Idempotency-Key` did.
    pub fn seen(&self, key: &str) -> Option<&Seen> {
        self.seen.get(key)
    }

    /// The store without its orders: enough to price a cart (`quote`) away
    /// from the writer, though not to know whether a slot is full.
    pub fn catalog(&self) -> Store {
        Store {
            id: self.id.clone(),
            version: self.version,
            profile: self.profile.clone(),
            menu: self.menu.clone(),
            menu_version: self.menu_version,
            unavailable: self.unavailable.clone(),
            status: self.status,
            orders: HashMap::new(),
            slots: BTreeMap::new(),
            seen: HashMap::new(),
        }
    }

    /// Drops the orders that ended before `cutoff` from memory, with the
    /// idempotency keys that named them, and returns their ids. Slot counts
    /// are untouched: an ended order no longer changes them.
    pub fn forget_ended_before(&mut self, cutoff: DateTime<Utc>) -> Vec<OrderId> {
        let gone: Vec<OrderId> = self
            .orders
            .values()
            .filter(|o| o.ended_at.is_some_and(|at| at < cutoff))
            .map(|o| o.id)
            .collect();
        for id in &gone {
            self.orders.remove(id);
        }
        if !gone.is_empty() {
            self.seen
                .retain(|_, seen| seen.order_id.is_none_or(|id| !gone.contains(&id)));
        }
        gone
    }

    /// Decides a command. A retry (same key and fingerprint as a request
    /// already decided) decides nothing and returns no events.
    pub fn decide(&self, cmd: &Command) -> Result<Vec<Event>, DomainError> {
        let order_id = cmd.action.order_id();
        if let Some(idem) = &cmd.idempotency
            && let Some(seen) = self.seen.get(&idem.key)
        {
            if seen.fingerprint == idem.fingerprint {
                return Ok(Vec::new());
            }
            return Err(match order_id {
                Some(_) => OrderError::IdempotencyKeyReused.into(),
                None => StoreError::IdempotencyKeyReused.into(),
            });
        }
        let changes: Vec<Change> = match &cmd.action {
            Action::Store(command) => self
                .decide_store(command)?
                .into_iter()
                .map(Change::Store)
                .collect(),
            Action::Order { order_id, command } => self
                .decide_order(cmd, *order_id, command)?
                .into_iter()
                .map(|event| Change::Order {
                    order_id: *order_id,
                    event,
                })
                .collect(),
        };
        Ok(changes
            .into_iter()
            .map(|change| Event {
                store_id: self.id.clone(),
                change,
                idempotency: cmd.idempotency.clone(),
            })
            .collect())
    }
}
