//! Given / when / then for each step of a placed order and its payment:
//! accept, reject, start, ready, complete, cancel, refund.

use super::*;

/// The store with order 1 placed (and paid), then moved by `actions`.
fn with_order(actions: &[Action]) -> Vec<Event> {
    let mut history = open_store();
    history.extend(placed(given(open_store()).store(), 1, None));
    for action in actions {
        let events = given(history.clone())
            .store()
            .decide(&staff(action.clone()))
            .unwrap();
        history.extend(events);
    }
    history
}

fn on(n: u128) -> OrderId {
    order_id(n)
}

fn accept() -> Action {
    Action::Order {
        order_id: on(1),
        command: OrderCommand::Accept {
            ready_at: Some(ny(2026, 11, 24, 12, 20)),
        },
    }
}
fn start() -> Action {
    Action::Order {
        order_id: on(1),
        command: OrderCommand::Start,
    }
}
fn ready() -> Action {
    Action::Order {
        order_id: on(1),
        command: OrderCommand::MarkReady,
    }
}
fn complete() -> Action {
    Action::Order {
        order_id: on(1),
        command: OrderCommand::Complete,
    }
}
fn cancel() -> Action {
    Action::Order {
        order_id: on(1),
        command: OrderCommand::Cancel {
            reason: "out of buns".into(),
        },
    }
}
fn refund(amount: i64) -> Action {
    Action::Order {
        order_id: on(1),
        command: OrderCommand::Refund {
            refund_id: RefundId(uuid::Uuid::from_u128(9)),
            amount: usd(amount),
            reason: "cold fries".into(),
        },
    }
}
fn payment() -> PaymentId {
    paid(1, usd(0)).payment_id
}

#[test]
fn the_store_accepts_a_placed_order() {
    given(with_order(&[]))
        .when(staff(accept()))
        .then(vec![order_event(
            on(1),
            OrderEvent::Accepted {
                ready_at: Some(ny(2026, 11, 24, 12, 20)),
                at: now(),
            },
        )]);
}

#[test]
fn the_store_rejects_a_placed_order_and_the_payment_is_voided() {
    let store = given(with_order(&[]))
        .when(staff(Action::Order {
            order_id: on(1),
            command: OrderCommand::Reject {
                reason: "closing early".into(),
            },
        }))
        .then(vec![
            order_event(
                on(1),
                OrderEvent::Rejected {
                    reason: "closing early".into(),
                    at: now(),
                },
            ),
            order_event(
                on(1),
                OrderEvent::PaymentVoided {
                    payment_id: payment(),
                    at: now(),
                },
            ),
        ]);
    let order = &store.orders[&on(1)];
    assert_eq!(
        (order.status, order.payment.as_ref().unwrap().status),
        (OrderStatus::Rejected, PaymentStatus::Voided)
    );
    assert_eq!(order.version, 4);
}

#[test]
fn preparation_starts_after_acceptance() {
    given(with_order(&[accept()]))
        .when(staff(start()))
        .then(vec![order_event(
            on(1),
            OrderEvent::PreparationStarted { at: now() },
        )]);
}

#[test]
fn an_order_is_ready_after_preparation_or_straight_from_acceptance() {
    for history in [with_order(&[accept(), start()]), with_order(&[accept()])] {
        given(history)
            .when(staff(ready()))
            .then(vec![order_event(on(1), OrderEvent::Ready { at: now() })]);
    }
}

#[test]
fn completing_an_order_captures_its_payment() {
    let store = given(with_order(&[accept(), start(), ready()]))
        .when(staff(complete()))
        .then(vec![
            order_event(on(1), OrderEvent::Completed { at: now() }),
            order_event(
                on(1),
                OrderEvent::PaymentCaptured {
                    payment_id: payment(),
                    amount: usd(978),
                    at: now(),
                },
            ),
        ]);
    assert_eq!(
        store.orders[&on(1)].payment.as_ref().unwrap().status,
        PaymentStatus::Captured
    );
    assert_eq!(store.orders[&on(1)].ended_at, Some(now()));
}

#[test]
fn staff_cancel_before_completion_and_the_payment_is_voided() {
    given(with_order(&[accept(), start()]))
        .when(staff(cancel()))
        .then(vec![
            order_event(
                on(1),
                OrderEvent::Cancelled {
                    reason: "out of buns".into(),
                    by: ActorKind::Staff,
                    at: now(),
                },
            ),
            order_event(
                on(1),
                OrderEvent::PaymentVoided {
                    payment_id: payment(),
                    at: now(),
                },
            ),
        ]);
}

#[test]
fn a_customer_cancels_before_acceptance() {
    let events = given(with_order(&[])).when(as_customer(cancel())).events();
    assert_eq!(
        order_events(&events)[0],
        OrderEvent::Cancelled {
            reason: "out of buns".into(),
            by: ActorKind::Customer,
            at: now()
        }
    );
}

#[test]
fn a_customer_cannot_cancel_after_acceptance() {
    given(with_order(&[accept()]))
        .when(as_customer(cancel()))
        .then_err(OrderError::CustomerCannotCancel);
}

#[test]
fn another_customers_order_does_not_exist_for_a_customer() {
    let stranger = Actor::Customer(CustomerId::parse("someone-else").unwrap());
    given(with_order(&[]))
        .when(command(stranger, cancel()))
        .then_err(OrderError::OrderNotFound);
    given(with_order(&[]))
        .when(staff(Action::Order {
            order_id: on(2),
            command: OrderCommand::Start,
        }))
        .then_err(OrderError::OrderNotFound);
}

#[test]
fn refuses_a_transition_the_state_machine_does_not_have() {
    let from = |from| move |action| OrderError::InvalidTransition { from, action };
    given(with_order(&[]))
        .when(staff(start()))
        .then_err(from(OrderStatus::Placed)("started"));
    given(with_order(&[]))
        .when(staff(ready()))
        .then_err(from(OrderStatus::Placed)("marked ready"));
    given(with_order(&[accept()]))
        .when(staff(accept()))
        .then_err(from(OrderStatus::Accepted)("accepted"));
    given(with_order(&[accept()]))
        .when(staff(complete()))
        .then_err(from(OrderStatus::Accepted)("completed"));
    given(with_order(&[accept()]))
        .when(staff(Action::Order {
            order_id: on(1),
            command: OrderCommand::Reject { reason: "x".into() },
        }))
        .then_err(from(OrderStatus::Accepted)("rejected"));
    let done = with_order(&[accept(), ready(), complete()]);
    given(done)
        .when(staff(cancel()))
        .then_err(from(OrderStatus::Completed)("cancelled"));
}

#[test]
fn folds_refunds_beyond_what_money_can_hold_without_overflowing() {
    // No decision makes such a log, but the fold must take any log.
    let mut history = with_order(&[accept(), ready(), complete()]);
    for n in 0..2 {
        history.push(order_event(
            on(1),
            OrderEvent::PaymentRefunded {
                payment_id: payment(),
                refund_id: RefundId(uuid::Uuid::from_u128(20 + n)),
                amount: usd(i64::MAX),
                reason: "corrupt".into(),
                at: now(),
            },
        ));
    }
    let store = given(history).store().clone();
    let payment_state = store.orders[&on(1)].payment.clone().unwrap();
    assert_eq!(payment_state.refunded, usd(i64::MAX));
    assert_eq!(payment_state.status, PaymentStatus::Refunded);
    assert_eq!(payment_state.refundable(), usd(978 - i64::MAX));
}

#[test]
fn refunds_part_then_the_rest_of_what_was_captured() {
    let store = given(with_order(&[accept(), ready(), complete()]))
        .when(staff(refund(300)))
        .then(vec![order_event(
            on(1),
            OrderEvent::PaymentRefunded {
                payment_id: payment(),
                refund_id: RefundId(uuid::Uuid::from_u128(9)),
                amount: usd(300),
                reason: "cold fries".into(),
                at: now(),
            },
        )]);
    let payment_state = store.orders[&on(1)].payment.clone().unwrap();
    assert_eq!(payment_state.status, PaymentStatus::PartiallyRefunded);
    assert_eq!(
        store.decide(&staff(refund(679))),
        Err(OrderError::RefundExceedsCaptured {
            refundable: usd(678)
        }
        .into())
    );
    let store = store
        .decide(&staff(refund(678)))
        .unwrap()
        .iter()
        .fold(store, |s, e| s.evolve(e));
    assert_eq!(
        store.orders[&on(1)].payment.as_ref().unwrap().status,
        PaymentStatus::Refunded
    );
    assert_eq!(store.orders[&on(1)].status, OrderStatus::Completed);
}

#[test]
fn refuses_a_refund_before_capture_or_of_nothing() {
    given(with_order(&[accept()]))
        .when(staff(refund(100)))
        .then_err(OrderError::NotCaptured);
    given(with_order(&[accept(), ready(), complete()]))
        .when(staff(refund(0)))
        .then_err(OrderError::InvalidRefund);
}
