//! Loyalty types, after the seed articles: loyal by habit, by price, by convenience, and at
//! risk — a readable grouping derived from figures the dashboard already has. Pure rules, in a
//! fixed order: the first that fits names the customer.

use super::rhythm::ChurnRisk;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LoyaltyKind {
    /// Had a habit (3 visits or more) and is now late on their own rhythm.
    AtRisk,
    /// Comes mostly when there is a reward, a voucher or points to use.
    Price,
    /// Comes very often for small baskets: the shop is on their way.
    Convenience,
    /// Comes regularly, on time, without needing an incentive.
    Habit,
    /// Everyone else: occasional or new customers.
    Occasional,
}

impl LoyaltyKind {
    pub const ALL: [LoyaltyKind; 5] = [
        LoyaltyKind::AtRisk,
        LoyaltyKind::Price,
        LoyaltyKind::Convenience,
        LoyaltyKind::Habit,
        LoyaltyKind::Occasional,
    ];
    pub fn code(self) -> &'static str {
        match self {
            LoyaltyKind::AtRisk => "at_risk",
            LoyaltyKind::Price => "price",
            LoyaltyKind::Convenience => "convenience",
            LoyaltyKind::Habit => "habit",
            LoyaltyKind::Occasional => "occasional",
        }
    }
    pub fn parse(s: &str) -> Option<LoyaltyKind> {
        LoyaltyKind::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// What the rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindFacts {
    pub visits_total: i64,
    pub visits_in_period: i64,
    /// Of the period's sales, how many had a reward, a voucher or points used.
    pub discounted_in_period: i64,
    pub average_basket_cents: Option<i64>,
    pub shop_median_basket_cents: Option<i64>,
    pub own_rhythm: bool,
    pub churn: ChurnRisk,
}

/// From 40 % of visits with a discount, the customer comes for the price.
pub const PRICE_SHARE_PERMILLE: i64 = 400;
/// From 6 visits in the period with a basket under 60 % of the shop's median: convenience.
pub const CONVENIENCE_VISITS: i64 = 6;
pub const CONVENIENCE_BASKET_PERCENT: i64 = 60;
/// From 4 visits in the period on their own, steady rhythm: habit.
pub const HABIT_VISITS: i64 = 4;

/// Rule: the loyalty type (see `LoyaltyKind`), checked in the order of the enum.
pub fn kind(f: &KindFacts) -> LoyaltyKind {
    // Gone: no longer loyal in any way, whatever the period held.
    if f.churn == ChurnRisk::Gone {
        return LoyaltyKind::Occasional;
    }
    // Late or at risk: one to call back while it can still help.
    if f.visits_total >= 3 && matches!(f.churn, ChurnRisk::Medium | ChurnRisk::High) {
        return LoyaltyKind::AtRisk;
    }
    if f.visits_in_period >= 3 && f.discounted_in_period * 1000 >= PRICE_SHARE_PERMILLE * f.visits_in_period {
        return LoyaltyKind::Price;
    }
    let small_basket = match (f.average_basket_cents, f.shop_median_basket_cents) {
        (Some(b), Some(m)) if m > 0 => b * 100 < m * CONVENIENCE_BASKET_PERCENT,
        _ => false,
    };
    if f.visits_in_period >= CONVENIENCE_VISITS && small_basket {
        return LoyaltyKind::Convenience;
    }
    if f.visits_in_period >= HABIT_VISITS && f.own_rhythm && f.churn == ChurnRisk::Low {
        return LoyaltyKind::Habit;
    }
    LoyaltyKind::Occasional
}

#[cfg(test)]
mod tests {
    use super::*;
    use LoyaltyKind::*;

    fn facts() -> KindFacts {
        KindFacts {
            visits_total: 12,
            visits_in_period: 8,
            discounted_in_period: 0,
            average_basket_cents: Some(3000),
            shop_median_basket_cents: Some(2500),
            own_rhythm: true,
            churn: ChurnRisk::Low,
        }
    }

    #[test]
    fn each_type_has_its_telltale_figures() {
        let cases = [
            (facts(), Habit, "regular, on time, no incentive"),
            (KindFacts { churn: ChurnRisk::Medium, ..facts() }, AtRisk, "a regular now late"),
            (
                KindFacts { churn: ChurnRisk::Gone, visits_in_period: 0, ..facts() },
                Occasional,
                "a regular gone for years is no longer one to call back",
            ),
            (
                KindFacts { churn: ChurnRisk::Gone, discounted_in_period: 8, ..facts() },
                Occasional,
                "gone, even with discounted visits early in a long period",
            ),
            (
                KindFacts { churn: ChurnRisk::High, visits_total: 2, visits_in_period: 0, ..facts() },
                Occasional,
                "two visits were not a habit",
            ),
            (KindFacts { discounted_in_period: 4, ..facts() }, Price, "half the visits with a discount"),
            (KindFacts { discounted_in_period: 3, ..facts() }, Habit, "3 out of 8 is under 40 %"),
            (KindFacts { average_basket_cents: Some(1200), ..facts() }, Convenience, "very often, small baskets"),
            (
                KindFacts { average_basket_cents: Some(1200), visits_in_period: 5, ..facts() },
                Habit,
                "5 visits are not 'very often'",
            ),
            (KindFacts { visits_in_period: 2, ..facts() }, Occasional, "two visits in the period"),
            (KindFacts { own_rhythm: false, visits_total: 2, visits_in_period: 2, ..facts() }, Occasional, "new"),
        ];
        for (f, want, why) in cases {
            assert_eq!(kind(&f), want, "{why}");
        }
    }

    #[test]
    fn a_late_regular_is_at_risk_before_anything_else() {
        let f =
            KindFacts { churn: ChurnRisk::High, discounted_in_period: 8, average_basket_cents: Some(100), ..facts() };
        assert_eq!(kind(&f), AtRisk, "the risk is what the merchant must see first");
    }
}
