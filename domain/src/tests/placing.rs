//! Given / when / then for placing an order: its price, its pickup slot,
//! the store's state, the payment, and a retried placement.

use super::*;

#[test]
fn places_an_asap_order_priced_from_the_menu() {
    let lines = vec![
        line("classic", 2, &["cheddar"]),
        line("cola", 1, &["large"]),
    ];
    // 2 x (899 + 100) + (199 + 80) = 2277; tax 8.75 % = 199.2375 -> 199; tip 200.
    let cart = Cart {
        tip: Some(usd(200)),
        ..cart(lines)
    };
    let action = Action::Order {
        order_id: order_id(1),
        command: OrderCommand::Place {
            cart,
            payment: paid(1, usd(2676)),
        },
    };
    let events = given(open_store()).when(as_customer(action)).events();
    let OrderEvent::Placed(placed) = &order_events(&events)[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        placed.totals,
        Totals {
            subtotal: usd(2277),
            tax: usd(199),
            tip: usd(200),
            total: usd(2676)
        }
    );
    assert_eq!(placed.lines[0].unit_price, usd(999));
    assert_eq!(placed.lines[0].total, usd(1998));
    assert_eq!(placed.lines[1].modifiers[0].name, "Large");
    // 12:00 + 10 minutes of lead: the 12:15 slot.
    assert_eq!(placed.pickup_at, ny(2026, 11, 24, 12, 15));
    assert_eq!(placed.slot, placed.pickup_at);
    assert!(placed.asap);
    assert_eq!(placed.customer_id, Some(customer()));
    assert_eq!(
        order_events(&events)[1],
        OrderEvent::PaymentAuthorized {
            payment_id: paid(1, usd(0)).payment_id,
            amount: usd(2676),
            reference: "auth_1".into(),
            at: now()
        }
    );
}

#[test]
fn places_a_scheduled_order_in_its_slot() {
    let at = ny(2026, 11, 25, 18, 40);
    let events = given(open_store()).when(place(1, Some(at))).events();
    let OrderEvent::Placed(placed) = &order_events(&events)[0] else {
        panic!()
    };
    assert_eq!(placed.pickup_at, at);
    assert_eq!(placed.slot, ny(2026, 11, 25, 18, 30));
    assert!(!placed.asap);
}

#[test]
fn a_busy_store_adds_its_minutes_to_asap_orders() {
    let mut history = open_store();
    history.push(store_event(StoreEvent::StatusChanged(StoreStatus::Busy {
        extra_minutes: 20,
    })));
    let events = given(history).when(place(1, None)).events();
    let OrderEvent::Placed(placed) = &order_events(&events)[0] else {
        panic!()
    };
    // 12:00 + 10 + 20 = 12:30.
    assert_eq!(placed.pickup_at, ny(2026, 11, 24, 12, 30));
}

#[test]
fn refuses_an_order_at_a_store_that_does_not_exist() {
    refuses(vec![], place(1, None), OrderError::StoreNotFound);
}

#[test]
fn refuses_an_order_while_the_store_is_paused() {
    let mut history = open_store();
    history.push(store_event(StoreEvent::StatusChanged(StoreStatus::Paused)));
    refuses(history, place(1, None), OrderError::StoreNotAccepting);
}

#[test]
fn refuses_an_order_before_the_menu_is_published() {
    refuses(
        vec![store_event(StoreEvent::Configured(profile()))],
        place(1, None),
        OrderError::NoMenu,
    );
}

#[test]
fn refuses_a_pickup_outside_opening_hours() {
    let at = ny(2026, 11, 25, 23, 0);
    refuses(
        open_store(),
        place(1, Some(at)),
        OrderError::StoreClosed(at),
    );
}

#[test]
fn refuses_an_order_id_that_exists() {
    let mut history = open_store();
    history.extend(placed(given(open_store()).store(), 1, None));
    refuses(history, place(1, None), OrderError::OrderExists);
}

#[test]
fn refuses_a_pickup_in_the_past_too_soon_or_too_far_ahead() {
    refuses(
        open_store(),
        place(1, Some(now() - Duration::minutes(1))),
        OrderError::PickupInPast,
    );
    refuses(
        open_store(),
        place(1, Some(now() + Duration::minutes(5))),
        OrderError::PickupTooSoon {
            earliest: now() + Duration::minutes(10),
        },
    );
    refuses(
        open_store(),
        place(1, Some(now() + Duration::days(8))),
        OrderError::PickupTooFar {
            latest: now() + Duration::days(7),
        },
    );
}

#[test]
fn refuses_an_order_when_its_slot_is_full_until_one_is_cancelled() {
    let store = given(open_store()).store().clone();
    let store = placed(&store, 1, None)
        .iter()
        .fold(store, |s, e| s.evolve(e));
    let store = placed(&store, 2, None)
        .iter()
        .fold(store, |s, e| s.evolve(e));
    let slot = ny(2026, 11, 24, 12, 15);
    assert_eq!(store.slot_load(slot), 2);
    assert_eq!(
        store.decide(&place(3, None)),
        Err(OrderError::SlotFull { slot }.into())
    );
    let cancel = as_customer(Action::Order {
        order_id: order_id(1),
        command: OrderCommand::Cancel {
            reason: "changed my mind".into(),
        },
    });
    let store = store
        .decide(&cancel)
        .unwrap()
        .iter()
        .fold(store, |s, e| s.evolve(e));
    assert_eq!(store.slot_load(slot), 1);
    assert!(store.decide(&place(3, None)).is_ok());
}

#[test]
fn refuses_a_payment_that_does_not_cover_the_total() {
    refuses(
        open_store(),
        with_cart(cart(vec![line("classic", 1, &[])]), 977),
        OrderError::PaymentMismatch {
            authorized: usd(977),
            total: usd(978),
        },
    );
}

#[test]
fn a_retried_placement_decides_nothing_and_a_reused_key_is_refused() {
    let idem = |fingerprint: &str| {
        Some(Idempotency {
            key: "order-key".into(),
            fingerprint: fingerprint.into(),
        })
    };
    let first = Command {
        idempotency: idem("x"),
        ..place(1, None)
    };
    let mut history = open_store();
    history.extend(given(open_store()).store().decide(&first).unwrap());
    let store = given(history.clone());
    assert_eq!(
        store.store().seen("order-key").and_then(|s| s.order_id),
        Some(order_id(1))
    );
    store.when(first.clone()).then(vec![]);
    // A retry that the server gave a new order id is still the same request.
    let retry = Command {
        idempotency: idem("x"),
        ..place(2, None)
    };
    given(history.clone()).when(retry).then(vec![]);
    given(history)
        .when(Command {
            idempotency: idem("y"),
            ..first
        })
        .then_err(OrderError::IdempotencyKeyReused);
}
