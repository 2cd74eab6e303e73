//! Opening hours and pickup slots, in the store's time zone.
//!
//! Hours are wall-clock times, so they follow daylight saving time: an instant
//! is converted to local time before it is compared. Slots are counted from
//! local midnight and identified by the instant they start, so the hour that
//! repeats when clocks fall back has its own slots.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;

/// One day's opening hours; a `close` at or before `open` runs past midnight
/// into the next day (so `00:00`-`00:00` is open all day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpeningHours {
    pub day: Weekday,
    pub open: NaiveTime,
    pub close: NaiveTime,
}

impl OpeningHours {
    fn runs_past_midnight(&self) -> bool {
        self.close <= self.open
    }
}

/// A week of opening hours: at most one entry per day; a day without one is closed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours(Vec<OpeningHours>);

/// Why a list of hours is not a week.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} has more than one entry")]
pub struct DuplicateDay(pub Weekday);

impl WeeklyHours {
    pub fn new(entries: Vec<OpeningHours>) -> Result<WeeklyHours, DuplicateDay> {
        for (i, entry) in entries.iter().enumerate() {
            if entries[..i].iter().any(|e| e.day == entry.day) {
                return Err(DuplicateDay(entry.day));
            }
        }
        Ok(WeeklyHours(entries))
    }

    pub fn entries(&self) -> &[OpeningHours] {
        &self.0
    }

    fn on(&self, day: Weekday) -> Option<&OpeningHours> {
        self.0.iter().find(|e| e.day == day)
    }

    /// Whether the store is open at this local wall-clock time.
    pub fn is_open_at(&self, local: NaiveDateTime) -> bool {
        let (day, time) = (local.weekday(), local.time());
        let today = self.on(day).is_some_and(|e| {
            if e.runs_past_midnight() {
                time >= e.open
            } else {
                e.open <= time && time < e.close
            }
        });
        let spill_from_yesterday = self
            .on(day.pred())
            .is_some_and(|e| e.runs_past_midnight() && time < e.close);
        today || spill_from_yesterday
    }

    /// Whether the store is open at this instant, in time zone `tz`.
    pub fn is_open(&self, tz: Tz, at: DateTime<Utc>) -> bool {
        self.is_open_at(at.with_timezone(&tz).naive_local())
    }
}

/// The start of the slot that contains `at`: slots of `slot_minutes` counted
/// from local midnight.
pub fn slot_start(tz: Tz, slot_minutes: u32, at: DateTime<Utc>) -> DateTime<Utc> {
    let local = at.with_timezone(&tz);
    let since_midnight = i64::from(local.num_seconds_from_midnight());
    let slot = i64::from(slot_minutes.max(1)) * 60;
    let into_slot = since_midnight % slot;
    // Whole seconds only: sub-second parts are dropped with the slot offset.
    let whole = at - Duration::nanoseconds(i64::from(at.timestamp_subsec_nanos()));
    whole - Duration::seconds(into_slot)
}

/// The start of the first slot at or after `at`.
pub fn next_slot_at_or_after(tz: Tz, slot_minutes: u32, at: DateTime<Utc>) -> DateTime<Utc> {
    let start = slot_start(tz, slot_minutes, at);
    if start == at {
        start
    } else {
        start + Duration::minutes(i64::from(slot_minutes.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use chrono_tz::America::New_York;

    use super::*;

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    fn hours(entries: &[(Weekday, &str, &str)]) -> WeeklyHours {
        WeeklyHours::new(
            entries
                .iter()
                .map(|(day, open, close)| OpeningHours {
                    day: *day,
                    open: t(open),
                    close: t(close),
                })
                .collect(),
        )
        .unwrap()
    }

    fn ny(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        New_York
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn hours_past_midnight_belong_to_the_day_they_started() {
        // Friday 10:00 to Saturday 02:00; Saturday closed.
        let week = hours(&[(Weekday::Fri, "10:00", "02:00")]);
        // 2026-11-27 is a Friday.
        assert!(week.is_open(New_York, ny(2026, 11, 27, 23, 30)));
        assert!(week.is_open(New_York, ny(2026, 11, 28, 1, 59)));
        assert!(!week.is_open(New_York, ny(2026, 11, 28, 2, 0)));
        assert!(!week.is_open(New_York, ny(2026, 11, 27, 9, 59)));
        assert!(!week.is_open(New_York, ny(2026, 11, 28, 12, 0)));
    }

    #[test]
    fn a_day_without_hours_is_closed_and_equal_times_mean_all_day() {
        let week = hours(&[(Weekday::Mon, "00:00", "00:00")]);
        // 2026-11-23 is a Monday.
        assert!(week.is_open(New_York, ny(2026, 11, 23, 0, 0)));
        assert!(week.is_open(New_York, ny(2026, 11, 23, 23, 59)));
        assert!(!week.is_open(New_York, ny(2026, 11, 24, 0, 0)));
    }

    #[test]
    fn refuses_two_entries_for_one_day() {
        let twice = vec![
            OpeningHours {
                day: Weekday::Mon,
                open: t("10:00"),
                close: t("12:00"),
            },
            OpeningHours {
                day: Weekday::Mon,
                open: t("14:00"),
                close: t("16:00"),
            },
        ];
        assert_eq!(WeeklyHours::new(twice), Err(DuplicateDay(Weekday::Mon)));
    }

    #[test]
    fn spring_forward_skips_the_missing_hour() {
        // 2026-03-08: clocks go from 02:00 EST to 03:00 EDT. Open Sunday 01:00-04:00.
        let week = hours(&[(Weekday::Sun, "01:00", "04:00")]);
        let before = Utc.with_ymd_and_hms(2026, 3, 8, 6, 59, 0).unwrap(); // 01:59 EST
        let after = Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap(); // 03:00 EDT
        assert!(week.is_open(New_York, before));
        assert!(week.is_open(New_York, after));
        assert!(!week.is_open(New_York, Utc.with_ymd_and_hms(2026, 3, 8, 8, 0, 0).unwrap())); // 04:00 EDT
        // The slot after 01:45 EST starts one real quarter hour later, at 03:00 EDT.
        let last = slot_start(New_York, 15, before);
        assert_eq!(last, Utc.with_ymd_and_hms(2026, 3, 8, 6, 45, 0).unwrap());
        assert_eq!(next_slot_at_or_after(New_York, 15, before), after);
        assert_eq!(slot_start(New_York, 15, after), after);
    }

    #[test]
    fn fall_back_repeats_the_hour_with_slots_of_its_own() {
        // 2026-11-01: clocks go from 02:00 EDT back to 01:00 EST.
        let first = Utc.with_ymd_and_hms(2026, 11, 1, 5, 40, 0).unwrap(); // 01:40 EDT
        let second = Utc.with_ymd_and_hms(2026, 11, 1, 6, 40, 0).unwrap(); // 01:40 EST
        let week = hours(&[(Weekday::Sun, "01:00", "02:00")]);
        assert!(week.is_open(New_York, first));
        assert!(week.is_open(New_York, second));
        let (a, b) = (
            slot_start(New_York, 15, first),
            slot_start(New_York, 15, second),
        );
        assert_eq!(a, Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap());
        assert_eq!(b, Utc.with_ymd_and_hms(2026, 11, 1, 6, 30, 0).unwrap());
        assert_ne!(a, b);
    }

    #[test]
    fn slots_count_from_local_midnight() {
        let at = ny(2026, 11, 24, 12, 7);
        assert_eq!(slot_start(New_York, 15, at), ny(2026, 11, 24, 12, 0));
        assert_eq!(
            next_slot_at_or_after(New_York, 15, at),
            ny(2026, 11, 24, 12, 15)
        );
        assert_eq!(
            next_slot_at_or_after(New_York, 15, ny(2026, 11, 24, 12, 15)),
            ny(2026, 11, 24, 12, 15)
        );
        // A 25-minute slot: 00:00, 00:25, ... 11:40, 12:05.
        assert_eq!(slot_start(New_York, 25, at), ny(2026, 11, 24, 12, 5));
    }
}
