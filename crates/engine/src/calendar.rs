//! Calendar math in a configured time zone: trading-day boundaries and session windows.
//!
//! Everything is computed from instants and converted through the tz database, so DST changes move the
//! boundaries' UTC instants correctly (17:00 Chicago is 23:00Z in winter and 22:00Z in summer). Local times
//! that fall in a DST gap resolve to the later instant ("compatible" disambiguation).

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use model::config::{SessionBlockOutside, SessionWindow};

/// The instant a local date and time names in `tz`.
pub fn instant(tz: &TimeZone, date: Date, time: Time) -> Timestamp {
    let dt = DateTime::from_parts(date, time);
    // Only out-of-range dates fail here; configured times and real instants never are.
    tz.to_ambiguous_timestamp(dt)
        .compatible()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

fn local_date(tz: &TimeZone, t: Timestamp) -> Date {
    tz.to_datetime(t).date()
}

fn add_days(d: Date, n: i32) -> Date {
    d.checked_add(jiff::Span::new().days(n)).unwrap_or(d)
}

/// The start of the trading day that contains `t`: the latest reset boundary at or before `t`.
pub fn trading_day_start(tz: &TimeZone, reset: Time, t: Timestamp) -> Timestamp {
    let today = local_date(tz, t);
    let candidate = instant(tz, today, reset);
    if candidate <= t {
        candidate
    } else {
        instant(tz, add_days(today, -1), reset)
    }
}

/// The first reset boundary strictly after `t`.
pub fn next_reset_after(tz: &TimeZone, reset: Time, t: Timestamp) -> Timestamp {
    let today = local_date(tz, t);
    for offset in 0..3 {
        let candidate = instant(tz, add_days(today, offset), reset);
        if candidate > t {
            return candidate;
        }
    }
    instant(tz, add_days(today, 3), reset)
}

/// The local date a trading day is named by: the date of its end (a Sunday 17:00 start is Monday's day).
pub fn trading_day_label(tz: &TimeZone, reset: Time, day_start: Timestamp) -> Date {
    local_date(tz, next_reset_after(tz, reset, day_start))
}

/// One occurrence of a session window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub open: Timestamp,
    pub close: Timestamp,
}

fn occurrence_starting_on(
    rule: &SessionBlockOutside,
    w: &SessionWindow,
    day: Date,
) -> Option<Occurrence> {
    if !w.days.contains(&day.weekday()) {
        return None;
    }
    if rule.respect_holidays && rule.holidays.contains(&day) {
        return None;
    }
    let tz = &rule.timezone;
    let open = instant(tz, day, w.start);
    let close_day = if w.start < w.end {
        day
    } else {
        add_days(day, 1)
    };
    let close = instant(tz, close_day, w.end);
    Some(Occurrence { open, close })
}

/// The occurrence of `w` that contains `t` (inside when `open <= t < close`), if any.
pub fn containing(
    rule: &SessionBlockOutside,
    w: &SessionWindow,
    t: Timestamp,
) -> Option<Occurrence> {
    let today = local_date(&rule.timezone, t);
    [add_days(today, -1), today]
        .into_iter()
        .filter_map(|d| occurrence_starting_on(rule, w, d))
        .find(|o| o.open <= t && t < o.close)
}

/// The next opening of `w` strictly after `t`, looking up to 30 days ahead (holidays can remove several).
pub fn next_open(rule: &SessionBlockOutside, w: &SessionWindow, t: Timestamp) -> Option<Timestamp> {
    let today = local_date(&rule.timezone, t);
    (0..=30)
        .filter_map(|n| occurrence_starting_on(rule, w, add_days(today, n)))
        .map(|o| o.open)
        .find(|open| *open > t)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn chicago() -> TimeZone {
        TimeZone::get("America/Chicago").unwrap()
    }

    #[test]
    fn reset_instant_follows_dst() {
        let five = Time::constant(17, 0, 0, 0);
        // Winter: CST = UTC-6.
        assert_eq!(
            next_reset_after(&chicago(), five, ts("2026-03-06T12:00:00Z")),
            ts("2026-03-06T23:00:00Z")
        );
        // Spring forward on Sunday 2026-03-08: CDT = UTC-5.
        assert_eq!(
            next_reset_after(&chicago(), five, ts("2026-03-07T23:30:00Z")),
            ts("2026-03-08T22:00:00Z")
        );
        // Fall back on Sunday 2026-11-01.
        assert_eq!(
            next_reset_after(&chicago(), five, ts("2026-10-31T23:00:00Z")),
            ts("2026-11-01T23:00:00Z")
        );
    }

    #[test]
    fn trading_day_start_is_latest_boundary() {
        let five = Time::constant(17, 0, 0, 0);
        assert_eq!(
            trading_day_start(&chicago(), five, ts("2026-03-02T22:59:59Z")),
            ts("2026-03-01T23:00:00Z")
        );
        assert_eq!(
            trading_day_start(&chicago(), five, ts("2026-03-02T23:00:00Z")),
            ts("2026-03-02T23:00:00Z")
        );
    }
}
