//! How a store decides the commands on its orders: placing one (priced as
//! a quote is, against the authorised payment), then each step of the order
//! and payment state machines.

use chrono::{DateTime, Utc};

use super::Store;
use crate::{
    Actor, ActorKind, Authorization, Cart, Command, Money, Order, OrderCommand, OrderError,
    OrderEvent, OrderId, OrderPlaced, OrderStatus, Payment, PaymentStatus, RefundId,
};

impl Store {
    /// The events of a command on the order `order_id`.
    pub(super) fn decide_order(
        &self,
        cmd: &Command,
        order_id: OrderId,
        command: &OrderCommand,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        let placed = || self.placed_order(&cmd.actor, order_id);
        let now = cmd.now;
        match command {
            OrderCommand::Place { cart, payment } => self.place(cmd, order_id, cart, payment),
            OrderCommand::Accept { ready_at } => accept(placed()?, *ready_at, now),
            OrderCommand::Reject { reason } => reject(placed()?, reason, now),
            OrderCommand::Start => start(placed()?, now),
            OrderCommand::MarkReady => mark_ready(placed()?, now),
            OrderCommand::Complete => complete(placed()?, now),
            OrderCommand::Cancel { reason } => cancel(placed()?, cmd.actor.kind(), reason, now),
            OrderCommand::Refund {
                refund_id,
                amount,
                reason,
            } => refund(placed()?, *refund_id, *amount, reason, now),
        }
    }

    fn place(
        &self,
        cmd: &Command,
        order_id: OrderId,
        cart: &Cart,
        payment: &Authorization,
    ) -> Result<Vec<OrderEvent>, OrderError> {
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
        Ok(vec![
            OrderEvent::Placed(placed),
            OrderEvent::PaymentAuthorized {
                payment_id: payment.payment_id,
                amount: payment.amount,
                reference: payment.reference.clone(),
                at: cmd.now,
            },
        ])
    }

    /// The placed order a command moves along, as its actor may see it: a
    /// customer sees only their own orders, so another's does not exist for
    /// them.
    fn placed_order(&self, actor: &Actor, order_id: OrderId) -> Result<&Order, OrderError> {
        let order = self
            .orders
            .get(&order_id)
            .ok_or(OrderError::OrderNotFound)?;
        if let Actor::Customer(customer) = actor
            && order.customer_id() != Some(customer)
        {
            return Err(OrderError::OrderNotFound);
        }
        Ok(order)
    }
}

/// The refusal of a step the state machine does not have from the order's
/// status.
fn refused(order: &Order, action: &'static str) -> OrderError {
    OrderError::InvalidTransition {
        from: order.status,
        action,
    }
}

/// The release of the order's authorisation, if it holds one.
fn void(order: &Order, now: DateTime<Utc>) -> Option<OrderEvent> {
    order
        .payment
        .as_ref()
        .filter(|p| p.status == PaymentStatus::Authorized)
        .map(|p| OrderEvent::PaymentVoided {
            payment_id: p.id,
            at: now,
        })
}

fn accept(
    order: &Order,
    ready_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Vec<OrderEvent>, OrderError> {
    if order.status != OrderStatus::Placed {
        return Err(refused(order, "accepted"));
    }
    Ok(vec![OrderEvent::Accepted { ready_at, at: now }])
}

fn reject(order: &Order, reason: &str, now: DateTime<Utc>) -> Result<Vec<OrderEvent>, OrderError> {
    if order.status != OrderStatus::Placed {
        return Err(refused(order, "rejected"));
    }
    let mut events = vec![OrderEvent::Rejected {
        reason: reason.to_owned(),
        at: now,
    }];
    events.extend(void(order, now));
    Ok(events)
}

fn start(order: &Order, now: DateTime<Utc>) -> Result<Vec<OrderEvent>, OrderError> {
    if order.status != OrderStatus::Accepted {
        return Err(refused(order, "started"));
    }
    Ok(vec![OrderEvent::PreparationStarted { at: now }])
}

fn mark_ready(order: &Order, now: DateTime<Utc>) -> Result<Vec<OrderEvent>, OrderError> {
    // A kitchen display may bump an order it never marked started.
    if !matches!(
        order.status,
        OrderStatus::Accepted | OrderStatus::InPreparation
    ) {
        return Err(refused(order, "marked ready"));
    }
    Ok(vec![OrderEvent::Ready { at: now }])
}

/// Completing an order captures what was authorised.
fn complete(order: &Order, now: DateTime<Utc>) -> Result<Vec<OrderEvent>, OrderError> {
    if order.status != OrderStatus::Ready {
        return Err(refused(order, "completed"));
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
    Ok(events)
}

/// A customer may cancel only before the store accepts the order.
fn cancel(
    order: &Order,
    by: ActorKind,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<OrderEvent>, OrderError> {
    if order.status.is_terminal() {
        return Err(refused(order, "cancelled"));
    }
    if by == ActorKind::Customer && order.status != OrderStatus::Placed {
        return Err(OrderError::CustomerCannotCancel);
    }
    let mut events = vec![OrderEvent::Cancelled {
        reason: reason.to_owned(),
        by,
        at: now,
    }];
    events.extend(void(order, now));
    Ok(events)
}

fn refund(
    order: &Order,
    refund_id: RefundId,
    amount: Money,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<OrderEvent>, OrderError> {
    let payment = order
        .payment
        .as_ref()
        .filter(|p| p.captured.amount > 0)
        .ok_or(OrderError::NotCaptured)?;
    check_refund(payment, amount)?;
    Ok(vec![OrderEvent::PaymentRefunded {
        payment_id: payment.id,
        refund_id,
        amount,
        reason: reason.to_owned(),
        at: now,
    }])
}

/// A refund is positive, in the captured currency, and at most what is left.
fn check_refund(payment: &Payment, amount: Money) -> Result<(), OrderError> {
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
