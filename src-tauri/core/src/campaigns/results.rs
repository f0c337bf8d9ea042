//! What a campaign brought: who received it, who bought in the N days after, and the same for
//! the control group held out of the sending, so the difference is what the campaign made.
//! No open-tracking pixel: only sales recorded at the till count.

use super::{AbMetric, CampaignId, Variant};
use crate::error::Result;
use crate::storage::Store;
use chrono::{DateTime, Duration, Utc};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Purchases of a group of customers in the results window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub struct GroupFigures {
    pub people: i64,
    pub buyers: i64,
    pub purchases: i64,
    /// Sales less refunds in the window.
    pub revenue_cents: i64,
}

/// The estimated effect of the campaign: recipients' figures less what the control group's
/// rates predict for the same number of people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Uplift {
    pub extra_buyers: i64,
    pub extra_revenue_cents: i64,
    /// Share of people who bought, in tenths of a percent.
    pub buyer_rate_permille: i64,
    pub control_buyer_rate_permille: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CampaignResults {
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    pub unsubscribed: i64,
    pub window_days: u16,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    /// The window is over: the figures are final.
    pub complete: bool,
    pub recipients: GroupFigures,
    pub control: Option<GroupFigures>,
    pub uplift: Option<Uplift>,
    pub variant_a: Option<GroupFigures>,
    pub variant_b: Option<GroupFigures>,
    pub ab_winner: Option<Variant>,
}

/// Rule: the uplift compares rates, not totals, since the groups differ in size.
pub fn uplift(sent: &GroupFigures, control: &GroupFigures) -> Option<Uplift> {
    if sent.people == 0 || control.people == 0 {
        return None;
    }
    let expected_buyers = (control.buyers * sent.people + control.people / 2) / control.people;
    let expected_revenue = (control.revenue_cents as i128 * sent.people as i128 / control.people as i128) as i64;
    Some(Uplift {
        extra_buyers: sent.buyers - expected_buyers,
        extra_revenue_cents: sent.revenue_cents - expected_revenue,
        buyer_rate_permille: sent.buyers * 1000 / sent.people,
        control_buyer_rate_permille: control.buyers * 1000 / control.people,
    })
}

/// Rule: the A/B winner has the higher rate per recipient of the chosen measure; a tie keeps A.
pub fn ab_winner(a: &GroupFigures, b: &GroupFigures, metric: AbMetric) -> Variant {
    let value = |g: &GroupFigures| -> i128 {
        let v = match metric {
            AbMetric::Revenue => g.revenue_cents,
            _ => g.buyers,
        };
        // Compare v/people across groups without division: scaled by the other's size.
        v as i128
    };
    let (va, vb) = (value(a) * b.people.max(1) as i128, value(b) * a.people.max(1) as i128);
    if vb > va {
        Variant::B
    } else {
        Variant::A
    }
}

impl Store {
    fn group_figures(
        &self,
        cid: CampaignId,
        where_rows: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<GroupFigures> {
        let sql = format!(
            "WITH g AS (SELECT customer_id FROM campaign_recipients WHERE campaign_id = ?1 AND {where_rows})
             SELECT (SELECT count(*) FROM g),
                    count(DISTINCT CASE WHEN p.kind = 'sale' THEN p.customer_id END),
                    count(CASE WHEN p.kind = 'sale' THEN 1 END),
                    coalesce(sum(CASE WHEN p.kind = 'sale' THEN p.amount_cents ELSE -p.amount_cents END), 0)
             FROM purchases p JOIN g ON g.customer_id = p.customer_id
             WHERE p.occurred_at >= ?2 AND p.occurred_at < ?3"
        );
        Ok(self.conn().query_row(&sql, params![cid, from, to], |r| {
            Ok(GroupFigures { people: r.get(0)?, buyers: r.get(1)?, purchases: r.get(2)?, revenue_cents: r.get(3)? })
        })?)
    }

    pub fn campaign_results(&self, cid: CampaignId) -> Result<CampaignResults> {
        let c = self.campaign(cid)?;
        let unsubscribed: i64 =
            self.conn().query_row("SELECT count(*) FROM unsubscribes WHERE campaign_id = ?1", [cid], |r| r.get(0))?;
        let days = c.audience.results_days;
        let (start, end) = match c.started_at {
            Some(s) => (Some(s), Some(s + Duration::days(i64::from(days)))),
            None => (None, None),
        };
        let mut res = CampaignResults {
            sent: c.progress.sent,
            failed: c.progress.failed,
            skipped: c.progress.skipped,
            unsubscribed,
            window_days: days,
            window_start: start,
            window_end: end,
            complete: end.is_some_and(|e| e <= self.now()),
            recipients: GroupFigures::default(),
            control: None,
            uplift: None,
            variant_a: None,
            variant_b: None,
            ab_winner: c.ab_winner,
        };
        let (Some(from), Some(to)) = (start, end) else { return Ok(res) };
        res.recipients = self.group_figures(cid, "state = 'sent'", from, to)?;
        if c.progress.control > 0 {
            let control = self.group_figures(cid, "state = 'control'", from, to)?;
            res.uplift = uplift(&res.recipients, &control);
            res.control = Some(control);
        }
        if c.audience.ab.is_some() {
            res.variant_a = Some(self.group_figures(cid, "state = 'sent' AND grp = 'a'", from, to)?);
            res.variant_b = Some(self.group_figures(cid, "state = 'sent' AND grp = 'b'", from, to)?);
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(people: i64, buyers: i64, revenue_cents: i64) -> GroupFigures {
        GroupFigures { people, buyers, purchases: buyers, revenue_cents }
    }

    #[test]
    fn uplift_compares_rates_between_groups_of_different_sizes() {
        let u = uplift(&g(900, 90, 450_000), &g(100, 5, 25_000)).unwrap();
        assert_eq!(u.extra_buyers, 45, "10% bought against 5% in the control group: 45 more buyers out of 900");
        assert_eq!(u.extra_revenue_cents, 225_000, "revenue beyond what the control group's rate predicts");
        assert_eq!((u.buyer_rate_permille, u.control_buyer_rate_permille), (100, 50));
        assert!(uplift(&g(900, 90, 1), &g(0, 0, 0)).is_none(), "no control group, no estimate");
    }

    #[test]
    fn the_ab_winner_is_the_better_rate_and_a_tie_keeps_a() {
        assert_eq!(ab_winner(&g(100, 10, 0), &g(50, 6, 0), AbMetric::Purchases), Variant::B, "12% beats 10%");
        assert_eq!(ab_winner(&g(100, 10, 9000), &g(100, 5, 10_000), AbMetric::Revenue), Variant::B, "by revenue");
        assert_eq!(ab_winner(&g(100, 10, 0), &g(100, 10, 0), AbMetric::Purchases), Variant::A, "a tie keeps A");
    }
}
