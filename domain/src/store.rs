//! The store aggregate: the unit of consistency. A store decides its own
//! commands and those of its orders, because placing an order depends on the
//! store's menu, availability, hours and pickup-slot capacity, exactly and
//! never from a stale copy.
//!
//! `decide(&Store, &Command) -> Result<Vec<Event>, DomainError>` is pure;
//! `evolve(Store, &Event) -> Store` folds an event in.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};

use crate::hours::{next_slot_at_or_after, slot_start};
use crate::pricing::{PriceList, price};
use crate::{
    Action, Actor, Authorization, Cart, CatalogId, Change, Command, DomainError, Event, Menu,
    Money, Order, OrderError, OrderEvent, OrderId, OrderPlaced, OrderStatus, Payment,
    PaymentStatus, PricedLine, Role, StoreError, StoreEvent, StoreId, StoreProfile, StoreStatus,
    Totals,
};

/// What a request with an `Idempotency-Key` did, remembered so a retry is
/// answered instead of decided again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub fingerprint: String,
    /// The order the request was about; `None` for a store command.
    pub order_id: Option<OrderId>,
}

/// What a cart would cost and when it could be picked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
    pub pickup_at: DateTime<Utc>,
    pub slot: DateTime<Utc>,
    pub asap: bool,
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
        let changes = match &cmd.action {
            Action::ConfigureStore(profile) => self.configure(profile)?,
            Action::PublishMenu(menu) => self.publish_menu(menu)?,
            Action::SetAvailability { id, available } => self.set_availability(id, *available)?,
            Action::SetStatus {
                accepting_orders,
                busy_minutes,
            } => self.set_status(*accepting_orders, *busy_minutes)?,
            Action::PlaceOrder {
                order_id,
                cart,
                payment,
            } => self.place(cmd, *order_id, cart, payment)?,
            other => self.advance(cmd, other)?,
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

    fn profile(&self) -> Result<&StoreProfile, StoreError> {
        self.profile.as_ref().ok_or(StoreError::NotFound)
    }

    fn configure(&self, profile: &StoreProfile) -> Result<Vec<Change>, StoreError> {
        profile.validate().map_err(StoreError::InvalidProfile)?;
        Ok(vec![Change::Store(StoreEvent::Configured(profile.clone()))])
    }

    fn publish_menu(&self, menu: &Menu) -> Result<Vec<Change>, StoreError> {
        let profile = self.profile()?;
        menu.validate(profile.currency)
            .map_err(StoreError::InvalidMenu)?;
        Ok(vec![Change::Store(StoreEvent::MenuPublished {
            menu_version: self.menu_version + 1,
            menu: menu.clone(),
        })])
    }

    fn set_availability(&self, id: &CatalogId, available: bool) -> Result<Vec<Change>, StoreError> {
        self.profile()?;
        let menu = self.menu.as_ref().ok_or(StoreError::NoMenu)?;
        if !menu.has_item_or_option(id) {
            return Err(StoreError::UnknownCatalogId(id.clone()));
        }
        if self.unavailable.contains(id) != available {
            return Ok(Vec::new()); // Already so: nothing happens.
        }
        Ok(vec![Change::Store(StoreEvent::AvailabilityChanged {
            id: id.clone(),
            available,
        })])
    }

    fn set_status(
        &self,
        accepting: bool,
        busy_minutes: Option<u32>,
    ) -> Result<Vec<Change>, StoreError> {
        self.profile()?;
        let extra = busy_minutes.unwrap_or(0);
        if extra > crate::MAX_BUSY_MINUTES {
            return Err(StoreError::InvalidStatus(format!(
                "busy_minutes must be 0-{}",
                crate::MAX_BUSY_MINUTES
            )));
        }
        let status = match (accepting, extra) {
            (false, _) => StoreStatus::Paused,
            (true, 0) => StoreStatus::Accepting,
            (true, extra_minutes) => StoreStatus::Busy { extra_minutes },
        };
        Ok(vec![Change::Store(StoreEvent::StatusChanged(status))])
    }

    /// Prices a cart and finds its pickup time, as placing it would.
    pub fn quote(&self, cart: &Cart, now: DateTime<Utc>) -> Result<Quote, OrderError> {
        let profile = self.profile.as_ref().ok_or(OrderError::StoreNotFound)?;
        if !self.status.accepts_orders() {
            return Err(OrderError::StoreNotAccepting);
        }
        let menu = self.menu.as_ref().ok_or(OrderError::NoMenu)?;
        let list = PriceList {
            menu,
            unavailable: &self.unavailable,
            currency: profile.currency,
            tax_rate_bps: profile.tax_rate_bps,
            limits: profile.limits,
        };
        let (lines, totals) = price(list, &cart.lines, cart.tip)?;
        let pickup = profile.pickup;
        let tz = profile.timezone;
        let wait = i64::from(pickup.lead_minutes) + i64::from(self.status.extra_minutes());
        let earliest = now + Duration::minutes(wait);
        let (pickup_at, asap) = match cart.pickup_at {
            None => (
                next_slot_at_or_after(tz, pickup.slot_minutes, earliest),
                true,
            ),
            Some(at) if at < now => return Err(OrderError::PickupInPast),
            Some(at) if at < earliest => return Err(OrderError::PickupTooSoon { earliest }),
            Some(at) => {
                let latest = now + Duration::days(i64::from(pickup.max_days_ahead));
                if at > latest {
                    return Err(OrderError::PickupTooFar { latest });
                }
                (at, false)
            }
        };
        if !profile.hours.is_open(tz, pickup_at) {
            return Err(OrderError::StoreClosed(pickup_at));
        }
        let slot = slot_start(tz, pickup.slot_minutes, pickup_at);
        if self.slot_load(slot) >= pickup.max_orders_per_slot {
            return Err(OrderError::SlotFull { slot });
        }
        Ok(Quote {
            lines,
            totals,
            pickup_at,
            slot,
            asap,
        })
    }

    fn place(
        &self,
        cmd: &Command,
        order_id: OrderId,
        cart: &Cart,
        payment: &Authorization,
    ) -> Result<Vec<Change>, OrderError> {
        if self.orders.contains_key(&order_id) {
            return Err(OrderError::OrderExists);
        }
        let quote = self.quote(cart, cmd.now)?;
        if payment.amount != quote.totals.total {
            return Err(OrderError::PaymentMismatch {
                authorized: payment.amount,
                total: quote.totals.total,
            });
        }
        let customer_id = match &cmd.actor {
            Actor::Customer(id) => Some(id.clone()),
            _ => None,
        };
        let placed = OrderPlaced {
            customer_id,
            lines: quote.lines,
            totals: quote.totals,
            pickup_at: quote.pickup_at,
            slot: quote.slot,
            asap: quote.asap,
            placed_at: cmd.now,
        };
        let order = |event| Change::Order { order_id, event };
        Ok(vec![
            order(OrderEvent::Placed(placed)),
            order(OrderEvent::PaymentAuthorized {
                payment_id: payment.payment_id,
                amount: payment.amount,
                reference: payment.reference.clone(),
                at: cmd.now,
            }),
        ])
    }

    /// The commands that move a placed order along.
    fn advance(&self, cmd: &Command, action: &Action) -> Result<Vec<Change>, OrderError> {
        let Some(order_id) = action.order_id() else {
            return Ok(Vec::new());
        };
        let order = self
            .orders
            .get(&order_id)
            .ok_or(OrderError::OrderNotFound)?;
        // A customer sees only their own orders: another's does not exist for them.
        if let Actor::Customer(customer) = &cmd.actor
            && order.customer_id() != Some(customer)
        {
            return Err(OrderError::OrderNotFound);
        }
        let now = cmd.now;
        let status = order.status;
        let refuse = |action: &'static str| OrderError::InvalidTransition {
            from: status,
            action,
        };
        let void = || {
            order
                .payment
                .as_ref()
                .filter(|p| p.status == PaymentStatus::Authorized)
                .map(|p| OrderEvent::PaymentVoided {
                    payment_id: p.id,
                    at: now,
                })
        };
        let events: Vec<OrderEvent> = match action {
            Action::AcceptOrder { ready_at, .. } => {
                if status != OrderStatus::Placed {
                    return Err(refuse("accepted"));
                }
                vec![OrderEvent::Accepted {
                    ready_at: *ready_at,
                    at: now,
                }]
            }
            Action::RejectOrder { reason, .. } => {
                if status != OrderStatus::Placed {
                    return Err(refuse("rejected"));
                }
                let mut events = vec![OrderEvent::Rejected {
                    reason: reason.clone(),
                    at: now,
                }];
                events.extend(void());
                events
            }
            Action::StartOrder { .. } => {
                if status != OrderStatus::Accepted {
                    return Err(refuse("started"));
                }
                vec![OrderEvent::PreparationStarted { at: now }]
            }
            Action::MarkReady { .. } => {
                // A kitchen display may bump an order it never marked started.
                if !matches!(status, OrderStatus::Accepted | OrderStatus::InPreparation) {
                    return Err(refuse("marked ready"));
                }
                vec![OrderEvent::Ready { at: now }]
            }
            Action::CompleteOrder { .. } => {
                if status != OrderStatus::Ready {
                    return Err(refuse("completed"));
                }
                let mut events = vec![OrderEvent::Completed { at: now }];
                if let Some(p) = order
                    .payment
                    .as_ref()
                    .filter(|p| p.status == PaymentStatus::Authorized)
                {
                    events.push(OrderEvent::PaymentCaptured {
                        payment_id: p.id,
                        amount: p.authorized,
                        at: now,
                    });
                }
                events
            }
            Action::CancelOrder { reason, .. } => {
                if status.is_terminal() {
                    return Err(refuse("cancelled"));
                }
                let by = cmd.actor.role();
                if by == Role::Customer && status != OrderStatus::Placed {
                    return Err(OrderError::CustomerCannotCancel);
                }
                let mut events = vec![OrderEvent::Cancelled {
                    reason: reason.clone(),
                    by,
                    at: now,
                }];
                events.extend(void());
                events
            }
            Action::RefundOrder {
                refund_id,
                amount,
                reason,
                ..
            } => {
                let payment = order
                    .payment
                    .as_ref()
                    .filter(|p| p.captured.amount > 0)
                    .ok_or(OrderError::NotCaptured)?;
                refund(payment, *amount)?;
                vec![OrderEvent::PaymentRefunded {
                    payment_id: payment.id,
                    refund_id: *refund_id,
                    amount: *amount,
                    reason: reason.clone(),
                    at: now,
                }]
            }
            Action::ConfigureStore(_)
            | Action::PublishMenu(_)
            | Action::SetAvailability { .. }
            | Action::SetStatus { .. }
            | Action::PlaceOrder { .. } => Vec::new(),
        };
        Ok(events
            .into_iter()
            .map(|event| Change::Order { order_id, event })
            .collect())
    }

    /// Folds one event in.
    pub fn evolve(mut self, event: &Event) -> Store {
        self.apply(event);
        self
    }

    /// Folds one event in, in place.
    pub fn apply(&mut self, event: &Event) {
        let order_id = match &event.change {
            Change::Store(e) => {
                self.apply_store(e);
                None
            }
            Change::Order { order_id, event } => {
                self.apply_order(*order_id, event);
                Some(*order_id)
            }
        };
        if let Some(idem) = &event.idempotency {
            self.seen.insert(
                idem.key.clone(),
                Seen {
                    fingerprint: idem.fingerprint.clone(),
                    order_id,
                },
            );
        }
    }

    fn apply_store(&mut self, event: &StoreEvent) {
        self.version += 1;
        match event {
            StoreEvent::Configured(profile) => self.profile = Some(profile.clone()),
            StoreEvent::MenuPublished { menu_version, menu } => {
                self.unavailable.retain(|id| menu.has_item_or_option(id));
                self.menu = Some(menu.clone());
                self.menu_version = *menu_version;
            }
            StoreEvent::AvailabilityChanged {
                id,
                available: true,
            } => {
                self.unavailable.remove(id);
            }
            StoreEvent::AvailabilityChanged {
                id,
                available: false,
            } => {
                self.unavailable.insert(id.clone());
            }
            StoreEvent::StatusChanged(status) => self.status = *status,
        }
    }

    fn apply_order(&mut self, order_id: OrderId, event: &OrderEvent) {
        if let OrderEvent::Placed(placed) = event {
            let load = self.slots.entry(placed.slot).or_insert(0);
            *load = load.saturating_add(1);
            self.orders.insert(
                order_id,
                Order {
                    id: order_id,
                    status: OrderStatus::Placed,
                    version: 1,
                    placed: placed.clone(),
                    payment: None,
                    ready_at: None,
                    ended_at: None,
                },
            );
            return;
        }
        // Events of an order the store never saw placed cannot be decided;
        // ignoring them keeps the fold total over any log.
        let Some(order) = self.orders.get_mut(&order_id) else {
            return;
        };
        order.version += 1;
        let held_slot = order.status.holds_slot();
        match event {
            OrderEvent::Placed(_) => {}
            OrderEvent::PaymentAuthorized {
                payment_id, amount, ..
            } => {
                order.payment = Some(Payment {
                    id: *payment_id,
                    status: PaymentStatus::Authorized,
                    authorized: *amount,
                    captured: Money::zero(amount.currency),
                    refunded: Money::zero(amount.currency),
                });
            }
            OrderEvent::Accepted { ready_at, .. } => {
                order.status = OrderStatus::Accepted;
                order.ready_at = *ready_at;
            }
            OrderEvent::Rejected { at, .. } => {
                order.status = OrderStatus::Rejected;
                order.ended_at = Some(*at);
            }
            OrderEvent::PreparationStarted { .. } => order.status = OrderStatus::InPreparation,
            OrderEvent::Ready { .. } => order.status = OrderStatus::Ready,
            OrderEvent::Completed { at } => {
                order.status = OrderStatus::Completed;
                order.ended_at = Some(*at);
            }
            OrderEvent::Cancelled { at, .. } => {
                order.status = OrderStatus::Cancelled;
                order.ended_at = Some(*at);
            }
            OrderEvent::PaymentCaptured { amount, .. } => {
                if let Some(p) = &mut order.payment {
                    p.status = PaymentStatus::Captured;
                    p.captured = *amount;
                }
            }
            OrderEvent::PaymentVoided { .. } => {
                if let Some(p) = &mut order.payment {
                    p.status = PaymentStatus::Voided;
                }
            }
            OrderEvent::PaymentRefunded { amount, .. } => {
                if let Some(p) = &mut order.payment {
                    // Saturating: the fold is total over any log, even one
                    // whose amounts the domain would never have decided.
                    p.refunded = Money::new(
                        p.refunded.amount.saturating_add(amount.amount),
                        p.refunded.currency,
                    );
                    p.status = if p.refunded.amount >= p.captured.amount {
                        PaymentStatus::Refunded
                    } else {
                        PaymentStatus::PartiallyRefunded
                    };
                }
            }
        }
        if held_slot && !order.status.holds_slot() {
            let slot = order.placed.slot;
            if let Some(load) = self.slots.get_mut(&slot) {
                *load = load.saturating_sub(1);
                if *load == 0 {
                    self.slots.remove(&slot);
                }
            }
        }
    }
}

fn refund(payment: &Payment, amount: Money) -> Result<(), OrderError> {
    if amount.currency != payment.captured.currency {
        return Err(OrderError::CurrencyMismatch {
            expected: payment.captured.currency,
        });
    }
    if amount.amount <= 0 {
        return Err(OrderError::InvalidRefund);
    }
    let refundable = payment.refundable();
    if amount.amount > refundable.amount {
        return Err(OrderError::RefundExceedsCaptured { refundable });
    }
    Ok(())
}
