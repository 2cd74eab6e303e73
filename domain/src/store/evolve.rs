//! How a store folds its events in: the fold is total over any log, even
//! one the domain would never have decided, so a rebuild never stops.

use super::{Seen, Store};
use crate::{
    Change, Event, Money, Order, OrderEvent, OrderId, OrderStatus, Payment, PaymentStatus,
    StoreEvent,
};

impl Store {
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
