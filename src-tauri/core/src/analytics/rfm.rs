//! RFM: recency (days since the last purchase), frequency (purchases in the period) and
//! monetary value (spend in the period, refunds deducted), each scored 1 to 5, then named.
//! Pure rules.
//!
//! Recency and spend are cut in quintiles of the customers who bought in the period; with too
//! few of them for fifths to mean anything, fixed thresholds are used (recency in days scaled to
//! the period, spend in multiples of the shop's median basket). Frequency always uses fixed
//! steps (1, 2, 3–4, 5–9, 10+), which read the same in every shop. The merchant can see and
//! replace every threshold. A customer who did not buy in the period scores 1-1-1.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Below this many customers who bought in the period, quintiles give way to fixed thresholds.
pub const MIN_FOR_QUINTILES: usize = 50;

/// The named segments, from the best to the least engaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RfmSegment {
    Champions,
    Loyal,
    PotentialLoyal,
    New,
    Promising,
    NeedAttention,
    AboutToSleep,
    AtRisk,
    CannotLose,
    Hibernating,
    Lost,
}

impl RfmSegment {
    pub const ALL: [RfmSegment; 11] = [
        RfmSegment::Champions,
        RfmSegment::Loyal,
        RfmSegment::PotentialLoyal,
        RfmSegment::New,
        RfmSegment::Promising,
        RfmSegment::NeedAttention,
        RfmSegment::AboutToSleep,
        RfmSegment::AtRisk,
        RfmSegment::CannotLose,
        RfmSegment::Hibernating,
        RfmSegment::Lost,
    ];
    pub fn code(self) -> &'static str {
        match self {
            RfmSegment::Champions => "champions",
            RfmSegment::Loyal => "loyal",
            RfmSegment::PotentialLoyal => "potential_loyal",
            RfmSegment::New => "new",
            RfmSegment::Promising => "promising",
            RfmSegment::NeedAttention => "need_attention",
            RfmSegment::AboutToSleep => "about_to_sleep",
            RfmSegment::AtRisk => "at_risk",
            RfmSegment::CannotLose => "cannot_lose",
            RfmSegment::Hibernating => "hibernating",
            RfmSegment::Lost => "lost",
        }
    }
    pub fn parse(s: &str) -> Option<RfmSegment> {
        RfmSegment::ALL.into_iter().find(|x| x.code() == s)
    }
}

/// Where the thresholds in use come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSource {
    Quintiles,
    Fixed,
    Edited,
}

/// The cut points of the three scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RfmThresholds {
    /// At most this many days since the last purchase for a recency of 5, 4, 3, 2; more: 1.
    pub recency_days: [i64; 4],
    /// At least this many purchases in the period for a frequency of 2, 3, 4, 5.
    pub frequency: [i64; 4],
    /// At least this much spent in the period for a monetary score of 2, 3, 4, 5.
    pub monetary_cents: [i64; 4],
}

/// The fixed frequency steps: 1, 2, 3–4, 5–9, 10 and more.
pub const FREQUENCY_STEPS: [i64; 4] = [2, 3, 5, 10];

/// Rule: recency 5 for the most recent, down to 1.
pub fn recency_score(days: i64, t: &RfmThresholds) -> u8 {
    5 - t.recency_days.iter().filter(|&&limit| days > limit).count() as u8
}

/// Rule: one step up for each threshold reached.
pub fn frequency_score(purchases: i64, t: &RfmThresholds) -> u8 {
    1 + t.frequency.iter().filter(|&&from| purchases >= from).count() as u8
}

pub fn monetary_score(cents: i64, t: &RfmThresholds) -> u8 {
    1 + t.monetary_cents.iter().filter(|&&from| cents >= from).count() as u8
}

/// Where the customers with `sorted[i]`'s value sit: the first index of that value and one
/// past its last.
fn tied_block(sorted: &[i64], i: usize) -> (usize, usize) {
    let v = sorted[i];
    (sorted.partition_point(|x| *x < v), sorted.partition_point(|x| *x <= v))
}

/// Rule: recency cut points from the quintiles of `days` (sorted, ascending): the largest
/// value of each of the first four fifths. Customers with the same value share a score: when
/// most of them sit past the cut (a file imported with one old date for many), the cut goes
/// below their value, so they get the score of where they mostly are, not the best one; the
/// most recent customers of all keep the best score.
pub fn recency_quintiles(sorted_days: &[i64]) -> Option<[i64; 4]> {
    let n = sorted_days.len();
    if n < MIN_FOR_QUINTILES {
        return None;
    }
    Some(std::array::from_fn(|k| {
        let at = (n * (k + 1)).div_ceil(5);
        let (lo, hi) = tied_block(sorted_days, at - 1);
        // The most recent customers of all keep the best score, tied or not.
        if lo > 0 && lo + hi >= 2 * at {
            sorted_days[lo - 1]
        } else {
            sorted_days[at - 1]
        }
    }))
}

/// Rule: spend cut points from the quintiles of `cents` (sorted, ascending): the smallest
/// value of each of the last four fifths. Customers with the same spend share a score: when
/// most of them sit below the cut, the cut goes above their spend, so a crowd spending the same
/// small amount is not scored as the top spenders.
pub fn monetary_quintiles(sorted_cents: &[i64]) -> Option<[i64; 4]> {
    let n = sorted_cents.len();
    if n < MIN_FOR_QUINTILES {
        return None;
    }
    Some(std::array::from_fn(|k| {
        let at = n * (k + 1) / 5;
        let (lo, hi) = tied_block(sorted_cents, at);
        // The biggest spenders of all keep the best score, tied or not.
        if hi < n && lo + hi < 2 * at {
            sorted_cents[hi]
        } else {
            sorted_cents[at]
        }
    }))
}

/// Rule: the fixed recency thresholds of a 12-month period are 30, 60, 120 and 240 days,
/// stretched in proportion for longer or shorter periods (24 months: 60, 120, 240, 480).
pub fn fixed_recency(period_months: u32) -> [i64; 4] {
    [30, 60, 120, 240].map(|d| d * i64::from(period_months.max(1)) / 12)
}

/// Rule: the fixed spend thresholds are 1, 2, 4 and 8 times the shop's median basket (20, 50,
/// 100 and 200 in the shop's currency when there is no basket yet).
pub fn fixed_monetary(median_basket_cents: Option<i64>) -> [i64; 4] {
    match median_basket_cents {
        Some(b) if b > 0 => [b, 2 * b, 4 * b, 8 * b],
        _ => [2_000, 5_000, 10_000, 20_000],
    }
}

/// Rule: the thresholds in use — the merchant's if edited, else quintiles of this period's
/// buyers, else the fixed ones.
pub fn thresholds(
    edited: Option<RfmThresholds>,
    sorted_recency_days: &[i64],
    sorted_monetary_cents: &[i64],
    period_months: u32,
    median_basket_cents: Option<i64>,
) -> (RfmThresholds, ThresholdSource) {
    if let Some(t) = edited {
        return (t, ThresholdSource::Edited);
    }
    match (recency_quintiles(sorted_recency_days), monetary_quintiles(sorted_monetary_cents)) {
        (Some(r), Some(m)) => (
            RfmThresholds { recency_days: r, frequency: FREQUENCY_STEPS, monetary_cents: m },
            ThresholdSource::Quintiles,
        ),
        _ => (
            RfmThresholds {
                recency_days: fixed_recency(period_months),
                frequency: FREQUENCY_STEPS,
                monetary_cents: fixed_monetary(median_basket_cents),
            },
            ThresholdSource::Fixed,
        ),
    }
}

/// Rule: frequency and spend together, rounded up: (F + M) / 2.
pub fn fm(f: u8, m: u8) -> u8 {
    (f + m).div_ceil(2)
}

/// The grid naming each (recency, frequency-and-spend) pair; rows are recency 1 to 5,
/// columns frequency-and-spend 1 to 5.
const GRID: [[RfmSegment; 5]; 5] = {
    use RfmSegment::*;
    [
        [Lost, Lost, AtRisk, CannotLose, CannotLose],
        [Hibernating, Hibernating, AtRisk, AtRisk, AtRisk],
        [AboutToSleep, NeedAttention, NeedAttention, Loyal, Loyal],
        [Promising, PotentialLoyal, Loyal, Champions, Champions],
        [New, PotentialLoyal, Loyal, Champions, Champions],
    ]
};

/// Rule: the segment of a customer from their three scores (see `GRID`).
pub fn segment(r: u8, f: u8, m: u8) -> RfmSegment {
    let row = r.clamp(1, 5) as usize - 1;
    let col = fm(f.clamp(1, 5), m.clamp(1, 5)) as usize - 1;
    GRID[row][col]
}

/// A customer's scores and segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RfmScore {
    pub recency_days: i64,
    pub frequency: i64,
    pub monetary_cents: i64,
    pub r: u8,
    pub f: u8,
    pub m: u8,
    pub segment: RfmSegment,
}

/// Rule: score a customer. Without a purchase in the period, 1-1-1 (Lost), whatever else.
pub fn score(recency_days: i64, frequency: i64, monetary_cents: i64, t: &RfmThresholds) -> RfmScore {
    let (r, f, m) = if frequency <= 0 {
        (1, 1, 1)
    } else {
        (recency_score(recency_days, t), frequency_score(frequency, t), monetary_score(monetary_cents, t))
    };
    RfmScore { recency_days, frequency, monetary_cents, r, f, m, segment: segment(r, f, m) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RfmSegment::*;

    fn t() -> RfmThresholds {
        RfmThresholds {
            recency_days: [14, 30, 60, 120],
            frequency: FREQUENCY_STEPS,
            monetary_cents: [1000, 3000, 6000, 12000],
        }
    }

    #[test]
    fn frequency_uses_the_fixed_steps_one_two_three_to_four_five_to_nine_ten_and_more() {
        let cases = [(1, 1), (2, 2), (3, 3), (4, 3), (5, 4), (9, 4), (10, 5), (250, 5)];
        for (purchases, score) in cases {
            assert_eq!(frequency_score(purchases, &t()), score, "{purchases} purchases score {score}");
        }
    }

    #[test]
    fn recency_scores_five_for_the_most_recent_and_spend_five_for_the_biggest() {
        let cases = [(0, 5), (14, 5), (15, 4), (30, 4), (31, 3), (60, 3), (61, 2), (120, 2), (121, 1), (900, 1)];
        for (days, score) in cases {
            assert_eq!(recency_score(days, &t()), score, "{days} days ago scores {score}");
        }
        let cases = [(0, 1), (999, 1), (1000, 2), (5999, 3), (6000, 4), (12000, 5), (-500, 1)];
        for (cents, score) in cases {
            assert_eq!(monetary_score(cents, &t()), score, "{cents} cents spent scores {score}");
        }
    }

    #[test]
    fn quintiles_cut_the_buyers_in_fifths_and_need_enough_of_them() {
        let days: Vec<i64> = (1..=100).collect();
        assert_eq!(recency_quintiles(&days), Some([20, 40, 60, 80]), "the last day of each fifth");
        assert_eq!(monetary_quintiles(&days), Some([21, 41, 61, 81]), "the first amount of each next fifth");
        let few: Vec<i64> = (1..=49).collect();
        assert_eq!(recency_quintiles(&few), None, "49 buyers are too few for fifths");
        assert_eq!(monetary_quintiles(&few), None);
        // With quintiles, each fifth of the buyers gets one score.
        let th = RfmThresholds {
            recency_days: recency_quintiles(&days).unwrap(),
            frequency: FREQUENCY_STEPS,
            monetary_cents: monetary_quintiles(&days).unwrap(),
        };
        for s in 1..=5u8 {
            let r = days.iter().filter(|&&d| recency_score(d, &th) == s).count();
            let m = days.iter().filter(|&&c| monetary_score(c, &th) == s).count();
            assert_eq!((r, m), (20, 20), "20 buyers out of 100 score {s}");
        }
    }

    #[test]
    fn customers_with_the_same_value_get_the_score_of_where_they_mostly_are() {
        // 60 % of the buyers spent the same 20 €, the others more.
        let mut spend: Vec<i64> = vec![2_000; 30];
        spend.extend((1..=20).map(|i| 2_000 + i * 500));
        let t = RfmThresholds {
            recency_days: [1, 2, 3, 4],
            frequency: FREQUENCY_STEPS,
            monetary_cents: monetary_quintiles(&spend).unwrap(),
        };
        assert_eq!(monetary_score(2_000, &t), 2, "a crowd at 20 € sits mostly in the second fifth, not the top: {t:?}");
        assert_eq!(monetary_score(12_000, &t), 5, "the biggest spender stays on top");
        // A file imported with one date: 35 of 50 customers last came 300 days ago.
        let mut days: Vec<i64> = (0..15).collect();
        days.extend([300; 35]);
        let r = RfmThresholds { recency_days: recency_quintiles(&days).unwrap(), ..t };
        assert_eq!(recency_score(300, &r), 2, "the imported crowd is scored where it mostly is, not 4: {r:?}");
        assert_eq!(recency_score(0, &r), 5, "today's customers stay on top");
        let scores: Vec<u8> = days.iter().map(|d| recency_score(*d, &r)).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "more recent, never a lower score");
        // Everyone imported with today's date: the cuts stay real days (never -1), all score 5.
        let today = recency_quintiles(&[0; 60]).unwrap();
        assert!(today.iter().all(|c| *c >= 0), "no cut below zero days: {today:?}");
        assert_eq!(recency_score(0, &RfmThresholds { recency_days: today, ..t }), 5);
    }

    #[test]
    fn too_few_buyers_fall_back_to_fixed_thresholds_and_edited_ones_win() {
        let few: Vec<i64> = (1..=10).collect();
        let (th, src) = thresholds(None, &few, &few, 12, Some(2500));
        assert_eq!(src, ThresholdSource::Fixed);
        assert_eq!(th.recency_days, [30, 60, 120, 240]);
        assert_eq!(th.monetary_cents, [2500, 5000, 10000, 20000], "multiples of the median basket");
        let (th, _) = thresholds(None, &few, &few, 24, None);
        assert_eq!(th.recency_days, [60, 120, 240, 480], "a 24-month period stretches recency");
        assert_eq!(th.monetary_cents, [2_000, 5_000, 10_000, 20_000], "no basket yet: round amounts");
        let many: Vec<i64> = (1..=500).collect();
        assert_eq!(thresholds(None, &many, &many, 12, None).1, ThresholdSource::Quintiles);
        assert_eq!(thresholds(Some(t()), &many, &many, 12, None), (t(), ThresholdSource::Edited), "the merchant's own");
    }

    #[test]
    fn segments_are_named_from_recency_and_frequency_with_spend() {
        let cases = [
            ((5, 5, 5), Champions),
            ((4, 4, 5), Champions),
            ((5, 3, 3), Loyal),
            ((3, 5, 4), Loyal),
            ((5, 2, 2), PotentialLoyal),
            ((5, 1, 1), New),
            ((4, 1, 1), Promising),
            ((3, 2, 2), NeedAttention),
            ((3, 1, 1), AboutToSleep),
            ((2, 3, 3), AtRisk),
            ((1, 5, 4), CannotLose),
            ((2, 1, 2), Hibernating),
            ((1, 1, 1), Lost),
        ];
        for ((r, f, m), want) in cases {
            assert_eq!(segment(r, f, m), want, "R{r} F{f} M{m} is {want:?}");
        }
        let named: std::collections::BTreeSet<RfmSegment> = GRID.iter().flatten().copied().collect();
        assert_eq!(named.len(), 11, "every one of the eleven segments has a place in the grid");
    }

    #[test]
    fn no_purchase_in_the_period_is_lost_whatever_was_spent_before() {
        let s = score(400, 0, 0, &t());
        assert_eq!((s.r, s.f, s.m, s.segment), (1, 1, 1, Lost));
        let s = score(3, 12, 50_000, &t());
        assert_eq!((s.r, s.f, s.m, s.segment), (5, 5, 5, Champions));
    }
}
