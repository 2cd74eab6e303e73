//! What a store forgets: ended orders leave memory after the retention
//! window, live ones stay.

use super::*;

#[test]
fn ended_orders_leave_memory_after_the_window_and_live_ones_stay() {
    let mut history = open_store();
    for n in 1..=2 {
        let idem = Some(Idempotency {
            key: format!("k-{n}"),
            fingerprint: "f".into(),
        });
        let store = given(history.clone()).store().clone();
        history.extend(
            store
                .decide(&Command {
                    idempotency: idem,
                    ..place(n, None)
                })
                .unwrap(),
        );
    }
    let cancel = as_customer(Action::Order {
        order_id: order_id(1),
        command: OrderCommand::Cancel {
            reason: "no".into(),
        },
    });
    history.extend(given(history.clone()).store().decide(&cancel).unwrap());
    let mut store = given(history).store().clone();
    let slot = ny(2026, 11, 24, 12, 15);
    assert_eq!(store.forget_ended_before(now()), vec![]);
    assert_eq!(
        store.forget_ended_before(now() + Duration::seconds(1)),
        vec![order_id(1)]
    );
    assert!(!store.orders.contains_key(&order_id(1)));
    assert!(store.orders.contains_key(&order_id(2)));
    assert!(store.seen("k-1").is_none() && store.seen("k-2").is_some());
    assert_eq!(
        store.slot_load(slot),
        1,
        "the live order still holds its slot"
    );
}
