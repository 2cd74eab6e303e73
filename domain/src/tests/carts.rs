//! Given / when / then for what a cart may hold: its lines, items and
//! options, and the bounds of its tip and total.

use super::*;

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
