//! Every command's success and every error, as given / when / then; then the
//! properties no list of examples covers.

use chrono::Duration;

use crate::testing::*;
use crate::*;

mod store_commands {
    use super::*;

    #[test]
    fn configures_a_new_store() {
        given([])
            .when(admin(Action::ConfigureStore(profile())))
            .then(vec![store_event(StoreEvent::Configured(profile()))]);
    }

    #[test]
    fn refuses_a_profile_that_breaks_a_rule() {
        let mut bad = profile();
        bad.tax_rate_bps = 10_001;
        given([])
            .when(admin(Action::ConfigureStore(bad)))
            .then_err(StoreError::InvalidProfile(
                "tax_rate_bps must be 0-10000".into(),
            ));
        let mut no_slots = profile();
        no_slots.pickup.max_orders_per_slot = 0;
        assert!(matches!(
            given([])
                .store()
                .decide(&admin(Action::ConfigureStore(no_slots))),
            Err(DomainError::Store(StoreError::InvalidProfile(_)))
        ));
    }

    #[test]
    fn refuses_limits_that_are_not_positive_bounded_and_in_the_store_currency() {
        let with_limits = |max_order_total: Money, max_tip: Money| {
            let mut p = profile();
            p.limits = OrderLimits {
                max_order_total,
                max_tip,
            };
            admin(Action::ConfigureStore(p))
        };
        given([])
            .when(with_limits(usd(0), usd(100)))
            .then_err(StoreError::InvalidProfile(format!(
                "limits.max_order_total must be 1-{MAX_LIMIT} minor units"
            )));
        given([])
            .when(with_limits(usd(100), usd(MAX_LIMIT + 1)))
            .then_err(StoreError::InvalidProfile(format!(
                "limits.max_tip must be 1-{MAX_LIMIT} minor units"
            )));
        let euros = Money::new(100, Currency::parse("EUR").unwrap());
        given([])
            .when(with_limits(euros, usd(100)))
            .then_err(StoreError::InvalidProfile(
                "limits.max_order_total is in EUR, the store in USD".into(),
            ));
        assert!(
            given([])
                .store()
                .decide(&with_limits(usd(MAX_LIMIT), usd(1)))
                .is_ok()
        );
    }

    #[test]
    fn publishes_each_menu_as_a_new_version() {
        let configured = vec![store_event(StoreEvent::Configured(profile()))];
        let store = given(configured)
            .when(admin(Action::PublishMenu(menu())))
            .then(vec![store_event(StoreEvent::MenuPublished {
                menu_version: 1,
                menu: menu(),
            })]);
        assert_eq!(store.version, 2);
        let events = store.decide(&admin(Action::PublishMenu(menu()))).unwrap();
        assert_eq!(
            events,
            vec![store_event(StoreEvent::MenuPublished {
                menu_version: 2,
                menu: menu()
            })]
        );
    }

    #[test]
    fn refuses_a_menu_for_a_store_that_does_not_exist() {
        given([])
            .when(admin(Action::PublishMenu(menu())))
            .then_err(StoreError::NotFound);
    }

    #[test]
    fn refuses_menus_that_break_a_rule() {
        let mut duplicate = menu();
        duplicate.categories[1].items[0].id = id("classic");
        let mut negative = menu();
        negative.categories[0].items[0].price = usd(-1);
        let mut too_many = menu();
        too_many.categories[0].items[0].modifier_groups[0].max = 3;
        let mut min_over_max = menu();
        min_over_max.categories[0].items[0].modifier_groups[0].min = 2;
        let mut euros = menu();
        euros.categories[1].items[0].price = Money::new(349, Currency::parse("EUR").unwrap());
        let empty = Menu { categories: vec![] };
        for bad in [duplicate, negative, too_many, min_over_max, euros, empty] {
            let result = given([store_event(StoreEvent::Configured(profile()))])
                .store()
                .decide(&admin(Action::PublishMenu(bad.clone())));
            assert!(
                matches!(result, Err(DomainError::Store(StoreError::InvalidMenu(_)))),
                "{bad:?} gave {result:?}"
            );
        }
    }

    #[test]
    fn takes_an_item_off_and_puts_it_back() {
        let off = Action::SetAvailability {
            id: id("fries"),
            available: false,
        };
        let store = given(open_store())
            .when(staff(off.clone()))
            .then(vec![store_event(StoreEvent::AvailabilityChanged {
                id: id("fries"),
                available: false,
            })]);
        assert!(store.unavailable.contains(&id("fries")));
        // Taking it off again changes nothing.
        assert_eq!(store.decide(&staff(off)).unwrap(), vec![]);
        let on = Action::SetAvailability {
            id: id("fries"),
            available: true,
        };
        assert_eq!(
            store.decide(&staff(on)).unwrap(),
            vec![store_event(StoreEvent::AvailabilityChanged {
                id: id("fries"),
                available: true
            })]
        );
    }

    #[test]
    fn takes_a_modifier_option_off() {
        given(open_store())
            .when(staff(Action::SetAvailability {
                id: id("cheddar"),
                available: false,
            }))
            .then(vec![store_event(StoreEvent::AvailabilityChanged {
                id: id("cheddar"),
                available: false,
            })]);
    }

    #[test]
    fn refuses_availability_of_what_is_not_on_the_menu() {
        given(open_store())
            .when(staff(Action::SetAvailability {
                id: id("pizza"),
                available: false,
            }))
            .then_err(StoreError::UnknownCatalogId(id("pizza")));
    }

    #[test]
    fn refuses_availability_before_a_menu_is_published() {
        given([store_event(StoreEvent::Configured(profile()))])
            .when(staff(Action::SetAvailability {
                id: id("fries"),
                available: false,
            }))
            .then_err(StoreError::NoMenu);
    }

    #[test]
    fn pauses_goes_busy_and_resumes() {
        let status = |accepting_orders, busy_minutes| Action::SetStatus {
            accepting_orders,
            busy_minutes,
        };
        given(open_store())
            .when(staff(status(false, None)))
            .then(vec![store_event(StoreEvent::StatusChanged(
                StoreStatus::Paused,
            ))]);
        given(open_store())
            .when(staff(status(true, Some(20))))
            .then(vec![store_event(StoreEvent::StatusChanged(
                StoreStatus::Busy { extra_minutes: 20 },
            ))]);
        given(open_store())
            .when(staff(status(true, Some(0))))
            .then(vec![store_event(StoreEvent::StatusChanged(
                StoreStatus::Accepting,
            ))]);
    }

    #[test]
    fn refuses_more_busy_minutes_than_allowed() {
        given(open_store())
            .when(staff(Action::SetStatus {
                accepting_orders: true,
                busy_minutes: Some(241),
            }))
            .then_err(StoreError::InvalidStatus(
                "busy_minutes must be 0-240".into(),
            ));
    }

    #[test]
    fn a_retry_with_the_same_key_decides_nothing_and_another_body_is_refused() {
        let key = |fingerprint: &str| {
            Some(Idempotency {
                key: "k-1".into(),
                fingerprint: fingerprint.into(),
            })
        };
        let first = Command {
            idempotency: key("a"),
            ..staff(Action::SetStatus {
                accepting_orders: false,
                busy_minutes: None,
            })
        };
        let events = given(open_store()).store().decide(&first).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].idempotency, key("a"));
        let mut history = open_store();
        history.extend(events);
        given(history.clone()).when(first.clone()).then(vec![]);
        let other = Command {
            idempotency: key("b"),
            ..first
        };
        given(history)
            .when(other)
            .then_err(StoreError::IdempotencyKeyReused);
    }
}

mod placing {
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
        let action = Action::PlaceOrder {
            order_id: order_id(1),
            cart,
            payment: paid(1, usd(2676)),
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

    fn refuses(history: Vec<Event>, command: Command, error: OrderError) {
        given(history).when(command).then_err(error);
    }

    fn with_cart(cart: Cart, total: i64) -> Command {
        as_customer(Action::PlaceOrder {
            order_id: order_id(1),
            cart,
            payment: paid(1, usd(total)),
        })
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
    fn refuses_an_empty_cart_and_one_of_over_100_lines() {
        refuses(
            open_store(),
            with_cart(cart(vec![]), 0),
            OrderError::EmptyOrder,
        );
        refuses(
            open_store(),
            with_cart(cart(vec![line("fries", 1, &[]); 101]), 0),
            OrderError::TooManyLines,
        );
    }

    #[test]
    fn refuses_quantities_outside_1_to_99() {
        for quantity in [0, 100] {
            refuses(
                open_store(),
                with_cart(cart(vec![line("fries", quantity, &[])]), 0),
                OrderError::InvalidQuantity { line: 1 },
            );
        }
    }

    #[test]
    fn refuses_an_item_that_is_not_on_the_menu() {
        refuses(
            open_store(),
            with_cart(cart(vec![line("fries", 1, &[]), line("pizza", 1, &[])]), 0),
            OrderError::ItemNotFound {
                line: 2,
                item: id("pizza"),
            },
        );
    }

    #[test]
    fn refuses_an_item_that_is_86d() {
        let mut history = open_store();
        history.push(store_event(StoreEvent::AvailabilityChanged {
            id: id("fries"),
            available: false,
        }));
        refuses(
            history,
            with_cart(cart(vec![line("fries", 1, &[])]), 0),
            OrderError::ItemUnavailable {
                line: 1,
                item: id("fries"),
            },
        );
    }

    #[test]
    fn refuses_an_option_the_item_does_not_offer() {
        refuses(
            open_store(),
            with_cart(cart(vec![line("classic", 1, &["large"])]), 0),
            OrderError::ModifierNotFound {
                line: 1,
                option: id("large"),
            },
        );
    }

    #[test]
    fn refuses_an_option_that_is_86d() {
        let mut history = open_store();
        history.push(store_event(StoreEvent::AvailabilityChanged {
            id: id("cheddar"),
            available: false,
        }));
        refuses(
            history,
            with_cart(cart(vec![line("classic", 1, &["cheddar"])]), 0),
            OrderError::ModifierUnavailable {
                line: 1,
                option: id("cheddar"),
            },
        );
    }

    #[test]
    fn refuses_an_option_chosen_twice() {
        refuses(
            open_store(),
            with_cart(cart(vec![line("classic", 1, &["cheddar", "cheddar"])]), 0),
            OrderError::DuplicateModifier {
                line: 1,
                option: id("cheddar"),
            },
        );
    }

    #[test]
    fn refuses_too_few_or_too_many_options_of_a_group() {
        let size = OrderError::ModifierCount {
            line: 1,
            group: id("size"),
            min: 1,
            max: 1,
        };
        refuses(
            open_store(),
            with_cart(cart(vec![line("cola", 1, &[])]), 0),
            size,
        );
        let cheese = OrderError::ModifierCount {
            line: 1,
            group: id("cheese"),
            min: 0,
            max: 1,
        };
        refuses(
            open_store(),
            with_cart(cart(vec![line("classic", 1, &["cheddar", "swiss"])]), 0),
            cheese,
        );
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
        let cancel = as_customer(Action::CancelOrder {
            order_id: order_id(1),
            reason: "changed my mind".into(),
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
    fn refuses_a_tip_in_another_currency_or_below_zero() {
        let euros = Cart {
            tip: Some(Money::new(100, Currency::parse("EUR").unwrap())),
            ..cart(vec![line("fries", 1, &[])])
        };
        refuses(
            open_store(),
            with_cart(euros, 0),
            OrderError::CurrencyMismatch {
                expected: Currency::parse("USD").unwrap(),
            },
        );
        let negative = Cart {
            tip: Some(usd(-1)),
            ..cart(vec![line("fries", 1, &[])])
        };
        refuses(open_store(), with_cart(negative, 0), OrderError::InvalidTip);
    }

    fn tipped(lines: Vec<CartLine>, tip: i64) -> Cart {
        Cart {
            tip: Some(usd(tip)),
            ..cart(lines)
        }
    }

    /// A store configured with these limits, and the default menu.
    fn limited_store(max_order_total: i64, max_tip: i64) -> Vec<Event> {
        let mut limited = profile();
        limited.limits = OrderLimits {
            max_order_total: usd(max_order_total),
            max_tip: usd(max_tip),
        };
        let mut history = open_store();
        history.push(store_event(StoreEvent::Configured(limited)));
        history
    }

    #[test]
    fn accepts_a_tip_at_the_default_cap_and_refuses_one_above() {
        // Fries: 349 + 31 tax. The cap is the larger of 349 and 5000.
        let at_cap = tipped(vec![line("fries", 1, &[])], DEFAULT_MAX_TIP);
        assert!(
            given(open_store())
                .store()
                .decide(&with_cart(at_cap, 380 + DEFAULT_MAX_TIP))
                .is_ok()
        );
        let above = tipped(vec![line("fries", 1, &[])], DEFAULT_MAX_TIP + 1);
        refuses(
            open_store(),
            with_cart(above, 380 + DEFAULT_MAX_TIP + 1),
            OrderError::TipTooLarge {
                cap: usd(DEFAULT_MAX_TIP),
            },
        );
    }

    #[test]
    fn a_tip_may_be_as_large_as_the_subtotal_above_the_store_amount() {
        // 10 classic burgers: subtotal 8990, over the store's 5000.
        let lines = || vec![line("classic", 10, &[])];
        let tax = 787; // 8990 x 8.75 % = 786.625 -> 787.
        assert!(
            given(open_store())
                .store()
                .decide(&with_cart(tipped(lines(), 8990), 8990 + tax + 8990))
                .is_ok()
        );
        refuses(
            open_store(),
            with_cart(tipped(lines(), 8991), 8990 + tax + 8991),
            OrderError::TipTooLarge { cap: usd(8990) },
        );
    }

    #[test]
    fn refuses_a_huge_tip_without_overflowing() {
        let huge = tipped(vec![line("fries", 1, &[])], 1 << 62);
        refuses(
            open_store(),
            with_cart(huge, 0),
            OrderError::TipTooLarge {
                cap: usd(DEFAULT_MAX_TIP),
            },
        );
    }

    #[test]
    fn refuses_an_order_whose_total_is_above_the_default_cap() {
        // 99 x 899 = 89001 + 7788 tax = 96789; with a 3211 tip, 100000 exactly.
        let at_cap = tipped(vec![line("classic", 99, &[])], 3211);
        assert!(
            given(open_store())
                .store()
                .decide(&with_cart(at_cap, DEFAULT_MAX_ORDER_TOTAL))
                .is_ok()
        );
        let above = tipped(vec![line("classic", 99, &[])], 3212);
        refuses(
            open_store(),
            with_cart(above, DEFAULT_MAX_ORDER_TOTAL + 1),
            OrderError::OrderTotalTooLarge {
                cap: usd(DEFAULT_MAX_ORDER_TOTAL),
            },
        );
    }

    #[test]
    fn honours_the_caps_a_store_configures() {
        // A classic burger is 899 + 79 tax = 978.
        let history = limited_store(1000, 10);
        let burger = |tip| tipped(vec![line("classic", 1, &[])], tip);
        assert!(
            given(history.clone())
                .store()
                .decide(&with_cart(burger(22), 1000))
                .is_ok()
        );
        refuses(
            history.clone(),
            with_cart(burger(23), 1001),
            OrderError::OrderTotalTooLarge { cap: usd(1000) },
        );
        // The tip cap is the larger of the subtotal (899) and the store's 10.
        let cheap = limited_store(1_000_000, 10);
        refuses(
            cheap,
            with_cart(burger(900), 978 + 900),
            OrderError::TipTooLarge { cap: usd(899) },
        );
        // A store may raise its caps above the defaults.
        let generous = limited_store(1_000_000, 20_000);
        assert!(
            given(generous)
                .store()
                .decide(&with_cart(burger(20_000), 978 + 20_000))
                .is_ok()
        );
    }

    #[test]
    fn refuses_amounts_beyond_what_money_can_hold() {
        let mut huge = menu();
        huge.categories[1].items[0].price = usd(i64::MAX / 2);
        let history = vec![
            store_event(StoreEvent::Configured(profile())),
            store_event(StoreEvent::MenuPublished {
                menu_version: 1,
                menu: huge,
            }),
        ];
        refuses(
            history,
            with_cart(cart(vec![line("fries", 3, &[])]), 0),
            OrderError::AmountOutOfRange(MoneyError::Overflow),
        );
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
}

/// The events of order commands, without their envelope.
fn order_events(events: &[Event]) -> Vec<OrderEvent> {
    events
        .iter()
        .map(|e| match &e.change {
            Change::Order { event, .. } => event.clone(),
            Change::Store(s) => panic!("a store event: {s:?}"),
        })
        .collect()
}

mod lifecycle {
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
        Action::AcceptOrder {
            order_id: on(1),
            ready_at: Some(ny(2026, 11, 24, 12, 20)),
        }
    }
    fn start() -> Action {
        Action::StartOrder { order_id: on(1) }
    }
    fn ready() -> Action {
        Action::MarkReady { order_id: on(1) }
    }
    fn complete() -> Action {
        Action::CompleteOrder { order_id: on(1) }
    }
    fn cancel() -> Action {
        Action::CancelOrder {
            order_id: on(1),
            reason: "out of buns".into(),
        }
    }
    fn refund(amount: i64) -> Action {
        Action::RefundOrder {
            order_id: on(1),
            refund_id: RefundId(uuid::Uuid::from_u128(9)),
            amount: usd(amount),
            reason: "cold fries".into(),
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
            .when(staff(Action::RejectOrder {
                order_id: on(1),
                reason: "closing early".into(),
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
                        by: Role::Staff,
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
                by: Role::Customer,
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
            .when(staff(Action::StartOrder { order_id: on(2) }))
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
            .when(staff(Action::RejectOrder {
                order_id: on(1),
                reason: "x".into(),
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
}

mod memory {
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
        let cancel = as_customer(Action::CancelOrder {
            order_id: order_id(1),
            reason: "no".into(),
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
}

mod time_zones {
    use super::*;

    fn all_day_store() -> Vec<Event> {
        let mut p = profile();
        p.hours = WeeklyHours::new(
            [chrono::Weekday::Sat, chrono::Weekday::Sun]
                .into_iter()
                .map(|day| OpeningHours {
                    day,
                    open: time("00:00"),
                    close: time("00:00"),
                })
                .collect(),
        )
        .unwrap();
        p.pickup.max_orders_per_slot = 1;
        vec![
            store_event(StoreEvent::Configured(p)),
            store_event(StoreEvent::MenuPublished {
                menu_version: 1,
                menu: menu(),
            }),
        ]
    }

    fn at(now: chrono::DateTime<chrono::Utc>, command: Command) -> Command {
        Command { now, ..command }
    }

    #[test]
    fn asap_across_the_spring_forward_gap_lands_after_it() {
        // 2026-03-08 01:50 EST; 10 minutes later the clocks read 03:00 EDT.
        let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 3, 8, 6, 50, 0).unwrap();
        let events = given(all_day_store())
            .when(at(now, place(1, None)))
            .events();
        let OrderEvent::Placed(placed) = &order_events(&events)[0] else {
            panic!()
        };
        assert_eq!(
            placed.pickup_at,
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 3, 8, 7, 0, 0).unwrap()
        );
        assert_eq!(
            placed
                .pickup_at
                .with_timezone(&chrono_tz::America::New_York)
                .to_rfc3339(),
            "2026-03-08T03:00:00-04:00"
        );
    }

    #[test]
    fn the_repeated_hour_of_fall_back_has_slots_of_its_own() {
        // One order per slot; 01:40 EDT and 01:40 EST are different slots.
        let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 1, 4, 0, 0).unwrap();
        let first =
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 1, 5, 40, 0).unwrap();
        let second =
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 1, 6, 40, 0).unwrap();
        let mut history = all_day_store();
        history.extend(
            given(history.clone())
                .when(at(now, place(1, Some(first))))
                .events(),
        );
        history.extend(
            given(history.clone())
                .when(at(now, place(2, Some(second))))
                .events(),
        );
        let store = given(history);
        assert_eq!(store.store().orders.len(), 2);
        // A third order in the first 01:30 slot finds it full.
        let slot = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 1, 5, 30, 0).unwrap();
        store
            .when(at(now, place(3, Some(first + Duration::minutes(2)))))
            .then_err(OrderError::SlotFull { slot });
    }

    #[test]
    fn friday_hours_run_past_midnight_into_saturday() {
        // Friday 2026-11-27 opens 10:00 and closes 02:00 Saturday.
        let friday_evening = ny(2026, 11, 27, 20, 0);
        let late = ny(2026, 11, 28, 1, 30);
        given(open_store())
            .when(at(friday_evening, place(1, Some(late))))
            .events();
        let too_late = ny(2026, 11, 28, 2, 30);
        given(open_store())
            .when(at(friday_evening, place(1, Some(too_late))))
            .then_err(OrderError::StoreClosed(too_late));
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn arb_menu() -> impl Strategy<Value = Menu> {
        let option = (0i64..2_000).prop_map(|delta| delta);
        let group = proptest::collection::vec(option, 1..4).prop_flat_map(|deltas| {
            let n = deltas.len() as u32;
            (Just(deltas), 0..=n)
                .prop_flat_map(move |(deltas, min)| (Just(deltas), Just(min), min..=n))
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
            0 => Action::AcceptOrder {
                order_id,
                ready_at: None,
            },
            1 => Action::RejectOrder {
                order_id,
                reason: "r".into(),
            },
            2 => Action::StartOrder { order_id },
            3 => Action::MarkReady { order_id },
            4 => Action::CompleteOrder { order_id },
            5 => Action::CancelOrder {
                order_id,
                reason: "c".into(),
            },
            6 => Action::RefundOrder {
                order_id,
                refund_id: RefundId(uuid::Uuid::from_u128(n)),
                amount: usd(100),
                reason: "r".into(),
            },
            _ => Action::RefundOrder {
                order_id,
                refund_id: RefundId(uuid::Uuid::from_u128(n)),
                amount: usd(2_000),
                reason: "r".into(),
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
}
