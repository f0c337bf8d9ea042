//! Loyalty rules as pure functions: what a sale earns (points with the remainder carried over,
//! points per visit, stamps, category multipliers, boosters, tier multiplier), what a refund
//! takes back, which points expire (oldest first), which tier a customer holds.
//! Time is always passed in; nothing here reads a clock or the database.

use super::programme::{Booster, Expiry, Programme, TierBasis, TierPeriod};
use crate::types::Cents;
use chrono::{DateTime, Datelike, Months, NaiveDateTime, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// 100 % in the multipliers' unit: 200 is "double points".
pub const PERCENT: i64 = 100;

/// Points listed as "expiring soon" within this many days.
pub const EXPIRING_SOON_DAYS: i64 = 30;

/// The facts of a sale that earning depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleFacts<'a> {
    /// What the customer paid.
    pub paid_cents: Cents,
    /// The discount a reward or voucher gave on this sale (0 when none).
    pub discount_cents: Cents,
    pub category: Option<&'a str>,
    /// The shop's local time of the sale (boosters are "Tuesday 16–18 h" in the shop).
    pub local_at: NaiveDateTime,
}

/// One line of the explanation of what a sale earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EarnLine {
    /// `spend_cents` (with the carried remainder) gave `points`; `carry_cents` is carried over.
    Spend {
        spend_cents: Cents,
        points: i64,
        carry_cents: Cents,
    },
    Visit {
        points: i64,
    },
    Category {
        category: String,
        percent: i64,
    },
    Booster {
        name: String,
        percent: i64,
    },
    Tier {
        name: String,
        percent: i64,
    },
}

/// What one sale earns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Earning {
    pub points: i64,
    pub stamps: i64,
    /// Spend not yet turned into points, carried to the next sale.
    pub carry_after_cents: Cents,
    pub lines: Vec<EarnLine>,
}

/// Rule: the booster that applies at a local time — the strongest of those whose dates,
/// weekdays and hours all match (boosters do not stack).
pub fn active_booster(boosters: &[Booster], at: NaiveDateTime) -> Option<&Booster> {
    boosters
        .iter()
        .filter(|b| {
            let day = at.date();
            let minute = (at.hour() * 60 + at.minute()) as u16;
            b.starts_on.is_none_or(|s| day >= s)
                && b.ends_on.is_none_or(|e| day <= e)
                && (b.weekdays.is_empty() || b.weekdays.contains(&(at.weekday().number_from_monday() as u8)))
                && b.from_minute.is_none_or(|f| minute >= f)
                && b.to_minute.is_none_or(|t| minute < t)
        })
        .max_by_key(|b| b.percent)
}

/// Rule: what a sale earns.
/// - Spend (before or after the discount, as the merchant chose) is added to the remainder
///   carried from earlier sales; every full `unit_cents` gives `points_per_unit` points and
///   what is left is carried to the next sale. No minimum purchase.
/// - `points_per_visit` are added for the visit.
/// - The category multiplier, the strongest active booster and the tier multiplier multiply
///   the points; the result is rounded down.
/// - Stamps: `per_visit` stamps for the visit, whatever the amount.
pub fn earn(p: &Programme, sale: &SaleFacts, carry_cents: Cents, tier: Option<(&str, i64)>) -> Earning {
    let mut out = Earning { carry_after_cents: carry_cents, ..Default::default() };
    if let Some(rule) = &p.points {
        let base_amount = if p.earn_before_discount { sale.paid_cents + sale.discount_cents } else { sale.paid_cents };
        let spend = carry_cents + base_amount.max(0);
        let units = if rule.unit_cents > 0 { spend / rule.unit_cents } else { 0 };
        let carry = if rule.unit_cents > 0 { spend % rule.unit_cents } else { 0 };
        let spend_points = units * rule.points_per_unit;
        out.lines.push(EarnLine::Spend { spend_cents: spend, points: spend_points, carry_cents: carry });
        out.carry_after_cents = carry;
        let mut base = spend_points;
        if rule.points_per_visit > 0 {
            out.lines.push(EarnLine::Visit { points: rule.points_per_visit });
            base += rule.points_per_visit;
        }
        let mut factor: i128 = 1;
        let mut divisor: i128 = 1;
        let cat = sale.category.and_then(|c| {
            let f = crate::text::fold(c);
            p.category_multipliers.iter().find(|m| crate::text::fold(&m.category) == f)
        });
        if let Some(m) = cat {
            out.lines.push(EarnLine::Category { category: m.category.clone(), percent: m.percent });
            factor *= i128::from(m.percent);
            divisor *= i128::from(PERCENT);
        }
        if let Some(b) = active_booster(&p.boosters, sale.local_at) {
            out.lines.push(EarnLine::Booster { name: b.name.clone(), percent: b.percent });
            factor *= i128::from(b.percent);
            divisor *= i128::from(PERCENT);
        }
        if let Some((name, percent)) = tier {
            if percent != PERCENT {
                out.lines.push(EarnLine::Tier { name: name.to_string(), percent });
                factor *= i128::from(percent);
                divisor *= i128::from(PERCENT);
            }
        }
        out.points = i64::try_from(i128::from(base) * factor / divisor).unwrap_or(i64::MAX);
    }
    if let Some(s) = &p.stamps {
        out.stamps = s.per_visit;
    }
    out
}

/// Rule: a refund takes back the points of its sale in proportion to the amount refunded,
/// counted over all refunds of that sale so that the total taken back never exceeds what the
/// sale earned and a full refund takes back exactly that. Never more than the balance: the
/// rest is recorded as not recovered.
pub fn points_to_reverse(
    earned: i64,
    sale_cents: Cents,
    refunded_before: Cents,
    refund_cents: Cents,
    reversed_before: i64,
) -> i64 {
    if earned <= 0 || sale_cents <= 0 {
        return 0;
    }
    let refunded_total = (refunded_before + refund_cents).min(sale_cents);
    let target = if refunded_total >= sale_cents {
        earned
    } else {
        (i128::from(earned) * i128::from(refunded_total) / i128::from(sale_cents)) as i64
    };
    (target - reversed_before).max(0)
}

/// A credit of points and what is left of it after the debits applied to it so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Lot {
    pub expires_at: Option<DateTime<Utc>>,
    pub points: i64,
    pub remaining: i64,
}

/// One ledger movement as the replay sees it, in the ledger's order. Its date is not part of
/// it: the order is the ledger's, and an expiry date is the credit's own (the till's look-up
/// reads these two values from an index that holds them, never the ledger's rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// Positive: a credit (a lot); negative: a debit.
    pub points: i64,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Rule: oldest points are used first. Replaying the ledger in order, every debit (a
/// redemption, an expiry, a reversal, a correction) consumes the oldest lots that still have
/// points. Returns the lots with what remains of each.
pub fn replay(movements: &[Movement]) -> Vec<Lot> {
    let mut lots: Vec<Lot> = Vec::new();
    for m in movements {
        if m.points > 0 {
            lots.push(Lot { expires_at: m.expires_at, points: m.points, remaining: m.points });
        } else {
            let mut owed = -m.points;
            for lot in lots.iter_mut().filter(|l| l.remaining > 0) {
                if owed == 0 {
                    break;
                }
                let take = owed.min(lot.remaining);
                lot.remaining -= take;
                owed -= take;
            }
        }
    }
    lots
}

/// Rule: the balance is the sum of what remains in the lots.
pub fn balance(lots: &[Lot]) -> i64 {
    lots.iter().map(|l| l.remaining).sum()
}

/// Rule: points that have reached their expiry date and are still unused expire.
pub fn due_to_expire(lots: &[Lot], now: DateTime<Utc>) -> i64 {
    lots.iter().filter(|l| l.expires_at.is_some_and(|e| e <= now)).map(|l| l.remaining).sum()
}

/// Rule: with "N months after they were earned", points earned at `at` expire N months later.
/// (Expiry after N months without a visit is decided at each visit, see `inactivity_expired`.)
pub fn expiry_date(expiry: &Expiry, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match expiry {
        Expiry::AfterMonths { months } => at.checked_add_months(Months::new(*months)),
        Expiry::Never | Expiry::AfterInactivityMonths { .. } => None,
    }
}

/// Rule: with "N months without a visit", the whole balance expires when the last visit is
/// N months old or more.
pub fn inactivity_expired(expiry: &Expiry, last_visit: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match (expiry, last_visit) {
        (Expiry::AfterInactivityMonths { months }, Some(last)) => {
            last.checked_add_months(Months::new(*months)).is_some_and(|limit| limit <= now)
        }
        _ => false,
    }
}

/// Rule: points expiring within `days` from now, oldest first.
pub fn expiring_within(lots: &[Lot], now: DateTime<Utc>, days: i64) -> Vec<(DateTime<Utc>, i64)> {
    let horizon = now + chrono::Duration::days(days);
    let mut out: Vec<(DateTime<Utc>, i64)> = lots
        .iter()
        .filter(|l| l.remaining > 0)
        .filter_map(|l| l.expires_at.filter(|e| *e > now && *e <= horizon).map(|e| (e, l.remaining)))
        .collect();
    out.sort();
    out
}

/// The start of the period over which a tier is qualified.
pub fn period_start(period: TierPeriod, now: DateTime<Utc>) -> DateTime<Utc> {
    match period {
        TierPeriod::Rolling12Months => now.checked_sub_months(Months::new(12)).unwrap_or(now),
        TierPeriod::CalendarYear => Utc.with_ymd_and_hms(now.year(), 1, 1, 0, 0, 0).single().unwrap_or(now),
    }
}

/// Rule: the index of the highest tier whose threshold `qualifying` reaches (tiers are in
/// ascending order of threshold); `None` below the first one.
pub fn tier_for(thresholds: &[i64], qualifying: i64) -> Option<usize> {
    thresholds.iter().rposition(|t| qualifying >= *t)
}

/// Rule: a tier is reached at once and kept until the end of the period after the one in
/// which it was reached (calendar year: until 31 December of the next year; rolling: 12
/// months after it was reached). The customer holds the highest tier still kept.
pub fn kept_until(period: TierPeriod, reached_at: DateTime<Utc>) -> DateTime<Utc> {
    match period {
        TierPeriod::Rolling12Months => reached_at.checked_add_months(Months::new(12)).unwrap_or(reached_at),
        TierPeriod::CalendarYear => {
            Utc.with_ymd_and_hms(reached_at.year() + 2, 1, 1, 0, 0, 0).single().unwrap_or(reached_at)
        }
    }
}

/// What qualifies for tiers: spend or points earned.
pub fn qualifying_value(basis: TierBasis, spend_cents: Cents, points_earned: i64) -> i64 {
    match basis {
        TierBasis::Spend => spend_cents,
        TierBasis::Points => points_earned,
    }
}

/// The next thing a customer can look forward to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "unit", rename_all = "snake_case")]
pub enum NextGoal {
    Stamps { label: String, missing: i64 },
    Points { label: String, missing: i64 },
}

/// Rule: the next goal is the next stamp milestone not yet reached on the card, otherwise
/// the cheapest reward the points do not pay for yet.
pub fn next_goal(
    stamps: i64,
    milestones: &[(i64, String)],
    points: i64,
    rewards: &[(i64, String)],
) -> Option<NextGoal> {
    if let Some((n, label)) = milestones.iter().find(|(n, _)| *n > stamps) {
        return Some(NextGoal::Stamps { label: label.clone(), missing: n - stamps });
    }
    rewards
        .iter()
        .filter(|(cost, _)| *cost > points)
        .min_by_key(|(cost, _)| *cost)
        .map(|(cost, label)| NextGoal::Points { label: label.clone(), missing: cost - points })
}

/// Rule: the discount a reward or voucher gives on a ticket of `total_cents`: a fixed amount
/// never more than the ticket; a percentage of the ticket, rounded to the nearest cent.
pub fn discount_cents(percent: bool, value: i64, total_cents: Cents) -> Cents {
    if percent {
        ((i128::from(total_cents) * i128::from(value.clamp(0, 100)) + 50) / 100) as Cents
    } else {
        value.clamp(0, total_cents.max(0))
    }
}

/// Rule: a day with `threshold` or more loyalty operations for one customer is suspicious.
pub fn is_suspicious(operations_in_day: i64, threshold: i64) -> bool {
    threshold > 0 && operations_in_day >= threshold
}

/// Rule: the liability of unspent points, valued at the programme's rate (the value of 100
/// points in cents), rounded down to the cent.
pub fn liability_cents(points: i64, value_of_100_points_cents: Cents) -> Cents {
    (i128::from(points.max(0)) * i128::from(value_of_100_points_cents) / 100) as Cents
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
