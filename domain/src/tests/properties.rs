//! The properties no list of examples covers: totals add up, terminal
//! states stay, replay is deterministic, slot capacity holds.

use proptest::prelude::*;

use super::*;

fn arb_menu() -> impl Strategy<Value = Menu> {
    let option = (0i64..2_000).prop_map(|delta| delta);
    let group = proptest::collection::vec(option, 1..4).prop_flat_map(|deltas| {
        let n = deltas.len() as u32;
        (Just(deltas), 0..=n).prop_flat_map(move |(deltas, min)| (Just(deltas), Just(min), min..=n))
    });
    let item = (0i64..50_000, proptest::collection::vec(group, 0..3));
    proptest::collection::vec(item, 1..6).prop_map(|items| Menu {
        categories: vec![Category {
            id: id("all"),
            name: "All".into(),
            items: items
                .into_iter()
                .enumerate()
                .map(|(i, (price, groups))| MenuItem {
                    id: id(&format!("item-{i}")),
                    name: format!("Item {i}"),
                    price: usd(price),
                    modifier_groups: groups
                        .into_iter()
                        .enumerate()
                        .map(|(g, (deltas, min, max))| ModifierGroup {
                            id: id(&format!("g-{i}-{g}")),
                            name: format!("Group {g}"),
                            min,
                            max,
                            options: deltas
                                .into_iter()
                                .enumerate()
                                .map(|(o, d)| ModifierOption {
                                    id: id(&format!("o-{i}-{g}-{o}")),
                                    name: format!("Option {o}"),
                                    price_delta: usd(d),
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }],
    })
}

/// A cart over `menu` that keeps every group's rules: each line picks the
/// first `min + extra` options of each group (capped at `max`).
fn cart_for(menu: &Menu, picks: &[(usize, u32, u32)], tip: i64) -> Cart {
    let items: Vec<&MenuItem> = menu.items().collect();
    let lines = picks
        .iter()
        .map(|(i, quantity, extra)| {
            let item = items[i % items.len()];
            let modifiers = item
                .modifier_groups
                .iter()
                .flat_map(|g| g.options.iter().take((g.min + extra).min(g.max) as usize))
                .map(|o| o.id.clone())
                .collect();
            CartLine {
                item_id: item.id.clone(),
                quantity: *quantity,
                modifiers,
                note: None,
            }
        })
        .collect();
    Cart {
        lines,
        tip: Some(usd(tip)),
        pickup_at: None,
    }
}

proptest! {
    #[test]
    fn no_quote_passes_the_stores_caps(
        menu in arb_menu(),
        picks in proptest::collection::vec((0usize..10, 1u32..=99, 0u32..3), 1..20),
        tip in 0i64..i64::MAX,
        max_order_total in 1i64..=MAX_LIMIT,
        max_tip in 1i64..=MAX_LIMIT,
    ) {
        let mut p = profile();
        p.hours = WeeklyHours::new(vec![OpeningHours { day: chrono::Weekday::Tue, open: time("00:00"), close: time("00:00") }]).unwrap();
        p.limits = OrderLimits { max_order_total: usd(max_order_total), max_tip: usd(max_tip) };
        let store = given(vec![
            store_event(StoreEvent::Configured(p)),
            store_event(StoreEvent::MenuPublished { menu_version: 1, menu: menu.clone() }),
        ]);
        match store.store().quote(&cart_for(&menu, &picks, tip), now()) {
            Ok(quote) => {
                let t = quote.totals;
                prop_assert!(t.total.amount <= max_order_total);
                prop_assert!(t.tip.amount <= t.subtotal.amount.max(max_tip));
            }
            Err(e) => prop_assert!(
                matches!(e, OrderError::TipTooLarge { .. } | OrderError::OrderTotalTooLarge { .. } | OrderError::AmountOutOfRange(_)),
                "{e:?}"
            ),
        }
    }

    #[test]
    fn totals_are_never_negative_and_add_up(
        menu in arb_menu(),
        picks in proptest::collection::vec((0usize..10, 1u32..=99, 0u32..3), 1..20),
        tip in 0i64..10_000,
        tax in 0u32..=10_000,
    ) {
        let mut p = profile();
        p.tax_rate_bps = tax;
        p.hours = WeeklyHours::new(vec![OpeningHours { day: chrono::Weekday::Tue, open: time("00:00"), close: time("00:00") }]).unwrap();
        // The highest caps: this property is about the arithmetic.
        p.limits = OrderLimits { max_order_total: usd(MAX_LIMIT), max_tip: usd(MAX_LIMIT) };
        let store = given(vec![
            store_event(StoreEvent::Configured(p)),
            store_event(StoreEvent::MenuPublished { menu_version: 1, menu: menu.clone() }),
        ]);
        let quote = store.store().quote(&cart_for(&menu, &picks, tip), now()).unwrap();
        let t = quote.totals;
        prop_assert!(t.subtotal.amount >= 0 && t.tax.amount >= 0 && t.tip.amount >= 0 && t.total.amount >= 0);
        prop_assert_eq!(t.subtotal.amount, quote.lines.iter().map(|l| l.total.amount).sum::<i64>());
        for l in &quote.lines {
            let unit = menu.item(&l.item_id).unwrap().price.amount
                + l.modifiers.iter().map(|m| m.price_delta.amount).sum::<i64>();
            prop_assert_eq!(l.unit_price.amount, unit);
            prop_assert_eq!(l.total.amount, unit * i64::from(l.quantity));
        }
        prop_assert_eq!(t.total.amount, t.subtotal.amount + t.tax.amount + t.tip.amount);
        // Tax is the subtotal times the rate, rounded half away from zero once.
        let exact = i128::from(t.subtotal.amount) * i128::from(tax);
        prop_assert!((i128::from(t.tax.amount) * 10_000 - exact).abs() <= 5_000);
    }
}

/// One of the things that can happen to order `n` (1-3) of the store.
#[derive(Debug, Clone)]
enum Step {
    Place(u128, i64),
    Act(u128, u8, bool),
}

fn arb_steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        (1u128..=3, 0i64..4).prop_map(|(n, slot)| Step::Place(n, slot)),
        (1u128..=3, 0u8..8, any::<bool>()).prop_map(|(n, a, c)| Step::Act(n, a, c)),
    ];
    proptest::collection::vec(step, 0..60)
}

fn action_of(n: u128, a: u8) -> Action {
    let order_id = order_id(n);
    match a {
        0 => Action::Order {
            order_id,
            command: OrderCommand::Accept { ready_at: None },
        },
        1 => Action::Order {
            order_id,
            command: OrderCommand::Reject { reason: "r".into() },
        },
        2 => Action::Order {
            order_id,
            command: OrderCommand::Start,
        },
        3 => Action::Order {
            order_id,
            command: OrderCommand::MarkReady,
        },
        4 => Action::Order {
            order_id,
            command: OrderCommand::Complete,
        },
        5 => Action::Order {
            order_id,
            command: OrderCommand::Cancel { reason: "c".into() },
        },
        6 => Action::Order {
            order_id,
            command: OrderCommand::Refund {
                refund_id: RefundId(uuid::Uuid::from_u128(n)),
                amount: usd(100),
                reason: "r".into(),
            },
        },
        _ => Action::Order {
            order_id,
            command: OrderCommand::Refund {
                refund_id: RefundId(uuid::Uuid::from_u128(n)),
                amount: usd(2_000),
                reason: "r".into(),
            },
        },
    }
}

/// Runs the steps through decide and evolve, returning every event and the
/// store after each step.
fn run(steps: &[Step]) -> (Vec<Event>, Vec<Store>) {
    let mut store = given(open_store()).store().clone();
    let (mut log, mut states) = (open_store(), Vec::new());
    for step in steps {
        let command = match step {
            Step::Place(n, slot) => place(
                *n,
                Some(ny(2026, 11, 24, 13, 0) + Duration::minutes(15 * slot)),
            ),
            Step::Act(n, a, by_customer) => {
                let action = action_of(*n, *a);
                if *by_customer {
                    as_customer(action)
                } else {
                    staff(action)
                }
            }
        };
        if let Ok(events) = store.decide(&command) {
            for e in &events {
                store.apply(e);
            }
            log.extend(events);
        }
        states.push(store.clone());
    }
    (log, states)
}

proptest! {
    #[test]
    fn no_sequence_of_commands_leaves_a_terminal_state(steps in arb_steps()) {
        let (_, states) = run(&steps);
        let mut ended: std::collections::HashMap<OrderId, OrderStatus> = Default::default();
        for state in &states {
            for (id, order) in &state.orders {
                if let Some(status) = ended.get(id) {
                    prop_assert_eq!(order.status, *status, "order {} left {:?}", id, status);
                } else if order.status.is_terminal() {
                    ended.insert(*id, order.status);
                }
            }
        }
    }

    #[test]
    fn replaying_the_same_events_gives_the_same_state(steps in arb_steps()) {
        let (log, states) = run(&steps);
        let replay = || log.iter().fold(Store::new(store_id()), |s, e| s.evolve(e));
        let (once, twice) = (replay(), replay());
        prop_assert_eq!(&once, &twice);
        if let Some(last) = states.last() {
            prop_assert_eq!(&once, last);
        }
    }

    #[test]
    fn slot_capacity_is_never_exceeded(steps in arb_steps()) {
        let (_, states) = run(&steps);
        for state in &states {
            let mut live: std::collections::HashMap<_, u32> = Default::default();
            for order in state.orders.values().filter(|o| o.status.holds_slot()) {
                *live.entry(order.placed.slot).or_default() += 1;
            }
            for (slot, count) in live {
                prop_assert!(count <= profile().pickup.max_orders_per_slot);
                prop_assert_eq!(state.slot_load(slot), count, "the slot count is exact");
            }
        }
    }
}
