//! The rules of automatic messages, as pure functions: when each occasion is due and until
//! when it stays valid, birthdays (29 February included), win-back on a fixed absence or the
//! customer's own rhythm, the pressure limits with their priority order, the held-out share,
//! and when a closure is long enough to ask the merchant. Time is passed in.

use super::calendar::day_start;
use super::{AutomationConfig, AutomationKind, AutomationSettings, Feb29};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

/// Birthday: valid from 7 days before to 3 days after the day.
pub const BIRTHDAY_BEFORE_DAYS: i64 = 7;
pub const BIRTHDAY_AFTER_DAYS: i64 = 3;
/// Welcome: valid 7 days after the purchase or sign-up.
pub const WELCOME_VALID_DAYS: i64 = 7;
/// Thank-you: valid 5 days after it is due.
pub const THANKS_VALID_DAYS: i64 = 5;
/// Tier reached: valid 14 days after it is due.
pub const TIER_VALID_DAYS: i64 = 14;
/// Win-back: valid while the customer is still absent, and at most this long after it is due
/// (a later message would be a different absence's).
pub const WINBACK_VALID_DAYS: i64 = 60;
/// A customer is "late on their rhythm" no sooner than this after their last visit.
pub const WINBACK_RHYTHM_MIN_DAYS: i64 = 14;
/// Rolling month of the pressure limit.
pub const PRESSURE_MONTH_DAYS: i64 = 30;

/// When an occasion is due and until when it may still be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub due: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

/// Rule: the day a birthday (day, month) is celebrated in `year`. 29 February falls on
/// 28 February or 1 March in other years, as the merchant chose; an impossible date (31 April
/// typed by hand) falls on the last day of its month.
pub fn birthday_in(year: i32, month: u32, day: u32, feb29: Feb29) -> Option<NaiveDate> {
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    if let Some(d) = NaiveDate::from_ymd_opt(year, month, day) {
        return Some(d);
    }
    if month == 2 && day == 29 {
        return match feb29 {
            Feb29::Feb28 => NaiveDate::from_ymd_opt(year, 2, 28),
            Feb29::Mar1 => NaiveDate::from_ymd_opt(year, 3, 1),
        };
    }
    // The last day of the month.
    (28..=31).rev().find_map(|d| NaiveDate::from_ymd_opt(year, month, d.min(day)))
}

/// Rule: a birthday occasion of `year` (key `birthday:<year>`): due `days_before` days before
/// the day (at most 7), at the start of that local day; valid until the end of the third day
/// after. The window is in the shop's zone.
pub fn birthday_window(tz: Tz, date: NaiveDate, days_before: u16) -> Window {
    let before = i64::from(days_before).min(BIRTHDAY_BEFORE_DAYS);
    Window {
        due: day_start(tz, date - Duration::days(before)),
        valid_until: day_start(tz, date + Duration::days(BIRTHDAY_AFTER_DAYS + 1)),
    }
}

/// The birthday occasions around `today` whose window holds any instant between `from` and
/// `to` (the years before, of and after `today`): (year, celebrated date, window).
pub fn birthday_occasions(
    tz: Tz,
    month: u32,
    day: u32,
    feb29: Feb29,
    days_before: u16,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(i32, NaiveDate, Window)> {
    let year = super::calendar::local_date(tz, from).year();
    (year - 1..=year + 1)
        .filter_map(|y| birthday_in(y, month, day, feb29).map(|d| (y, d)))
        .map(|(y, d)| (y, d, birthday_window(tz, d, days_before)))
        .filter(|(_, _, w)| w.due <= to && w.valid_until > from)
        .collect()
}

/// Rule: the welcome is due some hours after the first purchase (or sign-up) and valid 7 days.
pub fn welcome_window(anchor: DateTime<Utc>, delay_hours: u16) -> Window {
    let due = anchor + Duration::hours(i64::from(delay_hours));
    Window { due, valid_until: (anchor + Duration::days(WELCOME_VALID_DAYS)).max(due + Duration::hours(1)) }
}

/// Rule: the thank-you is due N days after the purchase, at the start of that local day plus
/// the time of the purchase, and valid 5 days.
pub fn thanks_window(sale_at: DateTime<Utc>, days: u16) -> Window {
    let due = sale_at + Duration::days(i64::from(days));
    Window { due, valid_until: due + Duration::days(THANKS_VALID_DAYS) }
}

/// Rule: "tier reached" is due some hours after the upgrade (so a refund and a new purchase
/// the same day make one message) and valid 14 days.
pub fn tier_window(reached_at: DateTime<Utc>, delay_hours: u16) -> Window {
    let due = reached_at + Duration::hours(i64::from(delay_hours));
    Window { due, valid_until: due + Duration::days(TIER_VALID_DAYS) }
}

/// Rule: the notice before a tier is lost is due N days before the end of its kept period,
/// valid until then.
pub fn tier_loss_window(kept_until: DateTime<Utc>, days: u16) -> Window {
    Window { due: kept_until - Duration::days(i64::from(days)), valid_until: kept_until }
}

/// Rule: an expiry reminder is due N days before the points expire (at the start of that
/// local day), valid until they expire.
pub fn expiry_window(tz: Tz, expires_at: DateTime<Utc>, days_before: u16) -> Window {
    let day = super::calendar::local_date(tz, expires_at) - Duration::days(i64::from(days_before));
    Window { due: day_start(tz, day).min(expires_at), valid_until: expires_at }
}

/// Rule: a customer is absent enough for a win-back message after `winback_days` days without
/// a visit — or, with the rhythm rule, sooner when the time since the last visit passes
/// `winback_rhythm_percent` % of their usual gap (first to last visit over the gaps between
/// visits; three visits at least, 14 days at least). Valid while still absent, 60 days at most.
pub fn winback_window(
    cfg: &AutomationConfig,
    last: DateTime<Utc>,
    first: Option<DateTime<Utc>>,
    visits: i64,
) -> Window {
    let fixed = last + Duration::days(i64::from(cfg.winback_days.max(1)));
    let rhythm = match first {
        Some(first) if cfg.winback_rhythm && visits >= 3 && last > first => {
            let gap = (last - first) / (visits as i32 - 1);
            let late = gap * i32::from(cfg.winback_rhythm_percent.max(100)) / 100;
            Some(last + late.max(Duration::days(WINBACK_RHYTHM_MIN_DAYS)))
        }
        _ => None,
    };
    let due = rhythm.map_or(fixed, |r| r.min(fixed));
    Window { due, valid_until: due + Duration::days(WINBACK_VALID_DAYS) }
}

/// Rule: the second win-back attempt, N days after the first was sent, valid 30 days.
pub fn winback_second_window(first_sent: DateTime<Utc>, days: u16) -> Window {
    let due = first_sent + Duration::days(i64::from(days));
    Window { due, valid_until: due + Duration::days(30) }
}

/// Rule: the window of an occasion spread over the backlog when an automation is turned on
/// with it: customer `rank` of `total` is due `rank / total` of the way through the spread,
/// and stays valid at least two days after that.
pub fn spread(w: Window, start: DateTime<Utc>, until: DateTime<Utc>, rank: u64, total: u64) -> Window {
    if w.due >= start || total == 0 || until <= start {
        return w;
    }
    let span = (until - start).num_seconds().max(1) as u64;
    let due = start + Duration::seconds((span * (rank % total) / total) as i64);
    Window { due, valid_until: w.valid_until.max(due + Duration::days(2)) }
}

/// What the pressure limits allow for one customer now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pressure {
    /// This many messages may go now (at most one: one message per `min_days_between`).
    Allowed,
    /// Not before this instant.
    NotBefore(DateTime<Utc>),
}

/// Rule: at most one automatic message per customer every `min_days_between` days and at
/// most `max_per_month` over 30 days. `recent` are the times of the customer's automatic
/// messages (queued or sent) in the last 30 days.
pub fn pressure(s: &AutomationSettings, recent: &[DateTime<Utc>], now: DateTime<Utc>) -> Pressure {
    let gap = Duration::days(i64::from(s.min_days_between));
    let month_start = now - Duration::days(PRESSURE_MONTH_DAYS);
    let mut in_month: Vec<DateTime<Utc>> = recent.iter().copied().filter(|t| *t > month_start && *t <= now).collect();
    in_month.sort();
    let mut not_before = now;
    if let Some(last) = in_month.last() {
        if *last + gap > now {
            not_before = not_before.max(*last + gap);
        }
    }
    let max = usize::from(s.max_per_month.max(1));
    if in_month.len() >= max {
        // The oldest that must leave the 30 days for one more to fit.
        let oldest = in_month[in_month.len() - max];
        not_before = not_before.max(oldest + Duration::days(PRESSURE_MONTH_DAYS));
    }
    if not_before > now {
        Pressure::NotBefore(not_before)
    } else {
        Pressure::Allowed
    }
}

/// What happens to one due occasion of a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Held back by the limits or by a more important message: tried again at each check
    /// while it is valid, and recorded as expired (with the reason) only when its window ends.
    Postpone,
}

/// Rule: among the occasions due for one customer — their kinds — the most important
/// (`AutomationKind::priority`; the oldest first within a kind) goes when the limits allow a
/// message; the others are postponed.
pub fn arbitrate(due: &[(AutomationKind, DateTime<Utc>)], pressure: Pressure) -> Vec<Verdict> {
    let mut out = vec![Verdict::Postpone; due.len()];
    if pressure == Pressure::Allowed {
        if let Some(first) = (0..due.len()).min_by_key(|&i| (due[i].0.priority(), due[i].1)) {
            out[first] = Verdict::Send;
        }
    }
    out
}

/// Rule: the app was closed long enough that the occasions missed meanwhile wait for the
/// merchant's decision (a night's closure does not count).
pub fn long_closure(last_check: Option<DateTime<Utc>>, now: DateTime<Utc>, after_hours: u16) -> bool {
    last_check.is_some_and(|t| now - t > Duration::hours(i64::from(after_hours.max(1))))
}

/// Rule: whether a customer is in an automation's held-out share — decided by a stable hash of
/// (automation, customer), so the same customer stays on the same side and the comparison
/// holds over time.
pub fn held_out(automation: i64, customer: i64, percent: u8) -> bool {
    if percent == 0 {
        return false;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in automation.to_le_bytes().iter().chain(customer.to_le_bytes().iter()) {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Mix the low bits, FNV's weakest.
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 32;
    (h % 100) < u64::from(percent.min(50))
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
