//! Churn risk on each customer's own rhythm: the time since their last visit against their
//! usual gap between visits (the shop's usual gap while they have fewer than 3 visits). Someone
//! who comes every two weeks and has not come for two months is at risk; someone who comes
//! twice a year and came four months ago is not. Pure rules.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// From this many visits, a customer's own rhythm is used.
pub const OWN_RHYTHM_FROM_VISITS: i64 = 3;
/// Absent for this many usual gaps: medium risk; and for this many: high risk.
pub const MEDIUM_RATIO: f64 = 2.0;
pub const HIGH_RATIO: f64 = 4.0;
/// A short absence is not churn whatever the rhythm (a daily customer away on holiday).
pub const MEDIUM_MIN_DAYS: i64 = 14;
pub const HIGH_MIN_DAYS: i64 = 28;
/// Absent for this many usual gaps and at least a year: gone (no longer one to call back).
pub const GONE_RATIO: f64 = 6.0;
pub const GONE_MIN_DAYS: i64 = 365;
/// The shop's usual gap when nobody has three visits yet.
pub const DEFAULT_SHOP_GAP_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ChurnRisk {
    Low,
    Medium,
    High,
    /// Left: absent for a year and six usual gaps.
    Gone,
}

impl ChurnRisk {
    pub const ALL: [ChurnRisk; 4] = [ChurnRisk::Low, ChurnRisk::Medium, ChurnRisk::High, ChurnRisk::Gone];
    pub fn code(self) -> &'static str {
        match self {
            ChurnRisk::Low => "low",
            ChurnRisk::Medium => "medium",
            ChurnRisk::High => "high",
            ChurnRisk::Gone => "gone",
        }
    }
    pub fn parse(s: &str) -> Option<ChurnRisk> {
        ChurnRisk::ALL.into_iter().find(|x| x.code() == s)
    }
}

/// A customer's rhythm, for the sentence on their page ("vient toutes les 2 semaines,
/// absent depuis 9 semaines").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Rhythm {
    /// Their usual gap between visits, in days (the shop's when `own` is false).
    pub usual_gap_days: i64,
    /// The gap is the customer's own (3 visits or more).
    pub own: bool,
    pub days_since_last: i64,
    pub risk: ChurnRisk,
}

/// Rule: the usual gap of a customer with `visits` visits between `first_day` and `last_day`
/// (day numbers) is the average gap, at least one day; `None` under 3 visits.
pub fn own_gap(visits: i64, first_day: i64, last_day: i64) -> Option<i64> {
    if visits < OWN_RHYTHM_FROM_VISITS {
        return None;
    }
    let span = (last_day - first_day).max(0) as f64;
    Some(((span / (visits - 1) as f64).round() as i64).max(1))
}

/// Rule: the shop's usual gap is the median of its regulars' gaps (the default when there is
/// no regular yet).
pub fn shop_gap(mut gaps: Vec<i64>) -> i64 {
    if gaps.is_empty() {
        return DEFAULT_SHOP_GAP_DAYS;
    }
    gaps.sort_unstable();
    gaps[gaps.len() / 2].max(1)
}

/// Rule: the risk from the absence measured in usual gaps, with a minimum absence for each level;
/// past a year and six gaps the customer has gone.
pub fn risk(days_since_last: i64, usual_gap_days: i64) -> ChurnRisk {
    let ratio = days_since_last as f64 / usual_gap_days.max(1) as f64;
    if ratio >= GONE_RATIO && days_since_last >= GONE_MIN_DAYS {
        ChurnRisk::Gone
    } else if ratio >= HIGH_RATIO && days_since_last >= HIGH_MIN_DAYS {
        ChurnRisk::High
    } else if ratio >= MEDIUM_RATIO && days_since_last >= MEDIUM_MIN_DAYS {
        ChurnRisk::Medium
    } else {
        ChurnRisk::Low
    }
}

/// Rule: a customer's rhythm and risk (see `own_gap`, `risk`); `None` without any visit.
pub fn rhythm(visits: i64, first_day: i64, last_day: i64, today: i64, shop_gap_days: i64) -> Option<Rhythm> {
    if visits <= 0 {
        return None;
    }
    let own = own_gap(visits, first_day, last_day);
    let usual_gap_days = own.unwrap_or(shop_gap_days.max(1));
    let days_since_last = (today - last_day).max(0);
    Some(Rhythm { usual_gap_days, own: own.is_some(), days_since_last, risk: risk(days_since_last, usual_gap_days) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChurnRisk::*;

    #[test]
    fn the_usual_gap_is_the_average_between_first_and_last_visit_from_three_visits() {
        assert_eq!(own_gap(5, 0, 56), Some(14), "5 visits over 8 weeks: every 2 weeks");
        assert_eq!(own_gap(3, 10, 11), Some(1), "at least a day");
        assert_eq!(own_gap(2, 0, 30), None, "2 visits are not a rhythm yet");
        assert_eq!(shop_gap(vec![30, 7, 14, 60, 21]), 21, "the shop's is the median of its regulars'");
        assert_eq!(shop_gap(vec![]), DEFAULT_SHOP_GAP_DAYS);
    }

    #[test]
    fn the_risk_is_the_absence_counted_in_usual_gaps() {
        let cases = [
            // (days absent, usual gap, risk, why)
            (63, 14, High, "comes every 2 weeks, absent for 9 weeks"),
            (30, 14, Medium, "two gaps and more"),
            (20, 14, Low, "a gap and a half"),
            (120, 180, Low, "comes twice a year, came 4 months ago"),
            (400, 180, Medium, "more than two of their gaps"),
            (10, 1, Low, "a daily customer away for 10 days is not lost"),
            (20, 1, Medium, "but away for 3 weeks they are late"),
            (28, 7, High, "4 weekly gaps and 4 weeks"),
            (400, 14, Gone, "a fortnightly customer away for more than a year has gone"),
            (364, 14, High, "not gone before a year"),
            (800, 180, High, "comes twice a year: away 800 days is not yet six gaps"),
            (1100, 180, Gone, "six of their gaps and more than a year"),
        ];
        for (days, gap, want, why) in cases {
            assert_eq!(risk(days, gap), want, "{why}");
        }
    }

    #[test]
    fn under_three_visits_the_shops_rhythm_is_used() {
        let r = rhythm(2, 0, 10, 100, 21).unwrap();
        assert_eq!((r.usual_gap_days, r.own, r.days_since_last, r.risk), (21, false, 90, High));
        let r = rhythm(6, 0, 50, 64, 30).unwrap();
        assert_eq!((r.usual_gap_days, r.own, r.risk), (10, true, Low));
        assert_eq!(rhythm(0, 0, 0, 10, 30), None, "never came: no rhythm");
    }
}
