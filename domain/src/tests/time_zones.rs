//! Pickup times in the store's zone across clock changes and hours that
//! run past midnight.

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
    let first = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 1, 5, 40, 0).unwrap();
    let second = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 1, 6, 40, 0).unwrap();
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
