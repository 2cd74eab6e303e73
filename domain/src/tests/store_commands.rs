//! Given / when / then for each command on the store itself: its profile,
//! its menu, availability and status, and a retried request.

use super::*;

#[test]
fn configures_a_new_store() {
    given([])
        .when(admin(StoreCommand::Configure(profile())))
        .then(vec![store_event(StoreEvent::Configured(profile()))]);
}

#[test]
fn refuses_a_profile_that_breaks_a_rule() {
    let mut bad = profile();
    bad.tax_rate_bps = 10_001;
    given([])
        .when(admin(StoreCommand::Configure(bad)))
        .then_err(StoreError::InvalidProfile(
            "tax_rate_bps must be 0-10000".into(),
        ));
    let mut no_slots = profile();
    no_slots.pickup.max_orders_per_slot = 0;
    assert!(matches!(
        given([])
            .store()
            .decide(&admin(StoreCommand::Configure(no_slots))),
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
        admin(StoreCommand::Configure(p))
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
        .when(admin(StoreCommand::PublishMenu(menu())))
        .then(vec![store_event(StoreEvent::MenuPublished {
            menu_version: 1,
            menu: menu(),
        })]);
    assert_eq!(store.version, 2);
    let events = store
        .decide(&admin(StoreCommand::PublishMenu(menu())))
        .unwrap();
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
        .when(admin(StoreCommand::PublishMenu(menu())))
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
            .decide(&admin(StoreCommand::PublishMenu(bad.clone())));
        assert!(
            matches!(result, Err(DomainError::Store(StoreError::InvalidMenu(_)))),
            "{bad:?} gave {result:?}"
        );
    }
}

#[test]
fn takes_an_item_off_and_puts_it_back() {
    let off = StoreCommand::SetAvailability {
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
    let on = StoreCommand::SetAvailability {
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
        .when(staff(StoreCommand::SetAvailability {
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
        .when(staff(StoreCommand::SetAvailability {
            id: id("pizza"),
            available: false,
        }))
        .then_err(StoreError::UnknownCatalogId(id("pizza")));
}

#[test]
fn refuses_availability_before_a_menu_is_published() {
    given([store_event(StoreEvent::Configured(profile()))])
        .when(staff(StoreCommand::SetAvailability {
            id: id("fries"),
            available: false,
        }))
        .then_err(StoreError::NoMenu);
}

#[test]
fn pauses_goes_busy_and_resumes() {
    let status = |accepting_orders, busy_minutes| StoreCommand::SetStatus {
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
        .when(staff(StoreCommand::SetStatus {
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
        ..staff(StoreCommand::SetStatus {
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
