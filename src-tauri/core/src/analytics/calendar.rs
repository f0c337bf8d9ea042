//! Days, weeks and months as the merchant counts them (local dates, weeks from Monday), the
//! windows the dashboard compares (this period, the one before, the same one a year earlier),
//! and the UTC instants of local midnights. Pure, apart from `local_midnight`, which asks the
//! computer's time zone (the one the shop's till runs in).

use chrono::{DateTime, Datelike, Duration, Local, LocalResult, Months, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The step of the dashboard's charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    #[default]
    Day,
    Week,
    Month,
}

/// A range of local dates, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

/// How many buckets a chart shows for each grain: 30 days, 13 weeks, 12 months.
pub fn buckets_for(grain: Grain) -> u32 {
    match grain {
        Grain::Day => 30,
        Grain::Week => 13,
        Grain::Month => 12,
    }
}

/// Rule: the first day of the bucket holding `d` (weeks start on Monday).
pub fn bucket_start(grain: Grain, d: NaiveDate) -> NaiveDate {
    match grain {
        Grain::Day => d,
        Grain::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
        Grain::Month => d.with_day(1).expect("day 1 exists"),
    }
}

fn next_bucket(grain: Grain, start: NaiveDate) -> NaiveDate {
    match grain {
        Grain::Day => start + Duration::days(1),
        Grain::Week => start + Duration::days(7),
        Grain::Month => start.checked_add_months(Months::new(1)).expect("a month later exists"),
    }
}

/// Rule: the chart's buckets ending with the one holding `today` (the last one stops at
/// `today`, it is still running).
pub fn buckets(grain: Grain, today: NaiveDate) -> Vec<Period> {
    let n = buckets_for(grain);
    let mut start = bucket_start(grain, today);
    for _ in 1..n {
        start = bucket_start(grain, start - Duration::days(1));
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let next = next_bucket(grain, start);
        out.push(Period { from: start, to: (next - Duration::days(1)).min(today) });
        start = next;
    }
    out
}

/// Rule: the same stretch one year earlier. Days and weeks go back 52 weeks, so a Saturday
/// is compared with a Saturday; months go back 12 months (the 31st becomes the month's last day).
pub fn year_before(grain: Grain, d: NaiveDate) -> NaiveDate {
    match grain {
        Grain::Day | Grain::Week => d - Duration::weeks(52),
        Grain::Month => d.checked_sub_months(Months::new(12)).expect("a year earlier exists"),
    }
}

/// Rule: the period just before `p`, of the same number of days.
pub fn previous(p: Period) -> Period {
    let len = p.days();
    Period { from: p.from - Duration::days(len), to: p.from - Duration::days(1) }
}

/// The windows the dashboard compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Windows {
    pub current: Period,
    pub previous: Period,
    pub last_year: Period,
    pub buckets: Vec<Period>,
    pub buckets_last_year: Vec<Period>,
}

/// Rule: the current window is the chart's buckets (ending today); the previous one is as many
/// days just before — except for months, where the twelve months before are last year's months
/// (the same window, so the dashboard compares once); last year's is the same buckets a year earlier, cut at the same point of
/// the running bucket so that a half-done month is compared with half a month.
pub fn windows(grain: Grain, today: NaiveDate) -> Windows {
    let b = buckets(grain, today);
    let current = Period { from: b[0].from, to: today };
    let shifted: Vec<Period> = b
        .iter()
        .map(|p| {
            let from = year_before(grain, p.from);
            let full_to = year_before(grain, next_bucket(grain, p.from)) - Duration::days(1);
            // The running bucket: as many days as it has run this year.
            let to = if p.to == today { (from + Duration::days(p.days() - 1)).min(full_to) } else { full_to };
            Period { from, to }
        })
        .collect();
    let last_year = Period { from: shifted[0].from, to: shifted[shifted.len() - 1].to };
    let previous = if grain == Grain::Month { last_year } else { previous(current) };
    Windows { current, previous, last_year, buckets: b, buckets_last_year: shifted }
}

/// Rule (the monthly report): the figures compared are the last bucket's (the month shown)
/// against the bucket before it and the same bucket a year earlier; the chart keeps its buckets.
pub fn last_bucket(w: Windows) -> Windows {
    let n = w.buckets.len();
    let current = w.buckets[n - 1];
    let previous = if n >= 2 { w.buckets[n - 2] } else { previous(current) };
    Windows { current, previous, last_year: w.buckets_last_year[n - 1], ..w }
}

/// The running week or month so far, against the same days of the one before and of last year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ToDate {
    pub current: Period,
    pub previous: Period,
    pub last_year: Period,
}

/// Rule (the home screen's "so far"): the running week or month's whole days, from its first
/// day to yesterday, against as many days from the start of the one before (the 1st to the 4th
/// of last month on the 5th, cut at that month's end) and the same days a year earlier. Today
/// is left out: the figures are kept per day, and a day still running cannot be compared fairly
/// with a whole one. None on the first day of the week or month, and for the day view.
pub fn to_date(grain: Grain, w: &Windows) -> Option<ToDate> {
    let n = w.buckets.len();
    if grain == Grain::Day || n < 2 {
        return None;
    }
    let running = w.buckets[n - 1];
    if running.days() < 2 {
        return None;
    }
    let current = Period { from: running.from, to: running.to - Duration::days(1) };
    let before = w.buckets[n - 2];
    let previous = Period { from: before.from, to: (before.from + Duration::days(current.days() - 1)).min(before.to) };
    let ly = w.buckets_last_year[n - 1];
    let last_year = Period { from: ly.from, to: (ly.from + Duration::days(current.days() - 1)).min(ly.to) };
    Some(ToDate { current, previous, last_year })
}

/// The instant `months` months before `t` (the same day and time; the month's last day when it
/// has no such day): where "the last 12 months" of a figure, a list or a score start.
pub fn months_back(t: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    t.checked_sub_months(Months::new(months)).unwrap_or(t)
}

/// `YYYY-MM-DD`, the form days are stored and compared in.
pub fn day_key(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// The UTC instant at which the local day `d` starts on this computer (the first one, when a
/// change of time makes midnight happen twice; the next existing minute when it is skipped).
pub fn local_midnight(d: NaiveDate) -> DateTime<Utc> {
    let mut t = d.and_hms_opt(0, 0, 0).expect("midnight exists");
    for _ in 0..180 {
        // Not `earliest()`: chrono's `Local` can give the two instants of a repeated local time
        // in the wrong order (chrono#1625; a midnight repeated in Havana in November).
        match Local.from_local_datetime(&t) {
            LocalResult::Single(l) => return l.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => return a.min(b).with_timezone(&Utc),
            LocalResult::None => t += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// The local date of an instant on this computer.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&Local).date_naive()
}

/// The UTC instants bounding the local days of `p`: [start of `from`, start of the day after `to`).
pub fn utc_bounds(p: Period) -> (DateTime<Utc>, DateTime<Utc>) {
    (local_midnight(p.from), local_midnight(p.to + Duration::days(1)))
}

/// Rule: the change from `before` to `now` in tenths of a percent, or nothing when there was
/// nothing before to compare with.
pub fn change_permille(now: i64, before: i64) -> Option<i64> {
    if before <= 0 {
        return None;
    }
    let diff = (now - before) as i128 * 1000;
    let b = before as i128;
    // Rounded half away from zero.
    let q = if diff >= 0 { (diff + b / 2) / b } else { (diff - b / 2) / b };
    Some(q as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn buckets_start_on_monday_and_on_the_first_of_the_month() {
        let cases = [
            (Grain::Day, d(2026, 11, 25), d(2026, 11, 25)),
            (Grain::Week, d(2026, 11, 25), d(2026, 11, 23)),
            (Grain::Week, d(2026, 11, 23), d(2026, 11, 23)),
            (Grain::Week, d(2026, 11, 29), d(2026, 11, 23)),
            (Grain::Month, d(2026, 11, 25), d(2026, 11, 1)),
        ];
        for (g, day, start) in cases {
            assert_eq!(bucket_start(g, day), start, "{g:?} of {day}: a week starts on Monday, a month on the 1st");
        }
    }

    #[test]
    fn the_chart_ends_with_the_running_bucket_cut_at_today() {
        let b = buckets(Grain::Month, d(2026, 11, 25));
        assert_eq!(b.len(), 12);
        assert_eq!(b[0], Period { from: d(2025, 12, 1), to: d(2025, 12, 31) });
        assert_eq!(b[11], Period { from: d(2026, 11, 1), to: d(2026, 11, 25) }, "November so far");
        let w = buckets(Grain::Week, d(2026, 11, 25));
        assert_eq!(w.len(), 13);
        assert_eq!(w[12].from, d(2026, 11, 23));
        assert!(w.windows(2).all(|p| p[0].to + Duration::days(1) == p[1].from), "weeks follow each other");
        let days = buckets(Grain::Day, d(2026, 3, 1));
        assert_eq!((days[0].from, days[29].to), (d(2026, 1, 31), d(2026, 3, 1)), "30 days ending today");
    }

    #[test]
    fn last_year_compares_a_saturday_with_a_saturday_and_half_a_month_with_half_a_month() {
        let w = windows(Grain::Day, d(2026, 11, 28));
        assert_eq!(w.last_year.to.weekday(), d(2026, 11, 28).weekday(), "52 weeks back, same weekday");
        let m = windows(Grain::Month, d(2026, 11, 15));
        let running = m.buckets_last_year[11];
        assert_eq!(running, Period { from: d(2025, 11, 1), to: d(2025, 11, 15) }, "the first half of last November");
        assert_eq!(m.buckets_last_year[10], Period { from: d(2025, 10, 1), to: d(2025, 10, 31) });
        assert_eq!(m.previous, m.last_year, "twelve months: the months before are last year's, compared once");
        assert_eq!(
            m.last_year,
            Period { from: d(2024, 12, 1), to: d(2025, 11, 15) },
            "whole months, cut at the same day"
        );
        let wk = windows(Grain::Week, d(2026, 11, 25));
        assert_eq!(wk.previous.days(), wk.current.days(), "weeks: the previous window is as long");
        assert_eq!(wk.previous.to + Duration::days(1), wk.current.from, "and ends where this one starts");
        let leap = windows(Grain::Month, d(2028, 2, 29));
        assert_eq!(leap.buckets_last_year[11], Period { from: d(2027, 2, 1), to: d(2027, 2, 28) });
    }

    #[test]
    fn so_far_compares_the_same_whole_days_of_last_month_and_of_last_year() {
        let on = |g, day| to_date(g, &windows(g, day));
        let m = on(Grain::Month, d(2026, 12, 5)).expect("a month has a so-far");
        assert_eq!(
            m.current,
            Period { from: d(2026, 12, 1), to: d(2026, 12, 4) },
            "December's whole days, to yesterday"
        );
        assert_eq!(m.previous, Period { from: d(2026, 11, 1), to: d(2026, 11, 4) }, "the 1st to the 4th of November");
        assert_eq!(m.last_year, Period { from: d(2025, 12, 1), to: d(2025, 12, 4) }, "the same days a year earlier");
        let end = on(Grain::Month, d(2026, 3, 31)).unwrap();
        assert_eq!(end.previous, Period { from: d(2026, 2, 1), to: d(2026, 2, 28) }, "cut at February's last day");
        let w = on(Grain::Week, d(2026, 12, 2)).unwrap();
        assert_eq!(w.current, Period { from: d(2026, 11, 30), to: d(2026, 12, 1) }, "Monday and Tuesday");
        assert_eq!(w.previous, Period { from: d(2026, 11, 23), to: d(2026, 11, 24) }, "last Monday and Tuesday");
        assert_eq!(w.last_year.days(), 2);
        assert_eq!(on(Grain::Month, d(2026, 12, 1)), None, "the 1st: no whole day yet");
        assert_eq!(on(Grain::Week, d(2026, 11, 30)), None, "Monday: no whole day yet");
        assert_eq!(on(Grain::Day, d(2026, 12, 2)), None, "a day still running is not compared with a whole one");
    }

    #[test]
    fn a_change_is_in_tenths_of_a_percent_and_needs_something_to_compare_with() {
        assert_eq!(change_permille(106, 100), Some(60), "+6 %");
        assert_eq!(change_permille(94, 100), Some(-60), "-6 %");
        assert_eq!(change_permille(1, 3), Some(-667));
        assert_eq!(change_permille(5, 0), None, "nothing before: no percentage");
    }

    #[test]
    fn a_local_midnight_is_an_instant_of_that_local_day() {
        let day = d(2026, 7, 14);
        assert_eq!(local_date(local_midnight(day)), day);
        assert_eq!(local_date(local_midnight(day) - Duration::seconds(1)), d(2026, 7, 13));
        assert_eq!(parse_day(&day_key(day)), Some(day));
    }
}
