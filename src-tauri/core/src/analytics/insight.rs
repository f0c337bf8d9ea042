//! One customer's numbers for their page: what they have brought, their rhythm and churn risk
//! (live, on their own visits), their RFM segment (live, with the thresholds of the last
//! refresh), what they are expected to spend next (from the last refresh of the scores), their
//! loyalty type and their satisfaction. Read-only and quick (a few indexed reads).

use super::kinds::LoyaltyKind;
use super::rfm::{self, RfmScore, RfmSegment};
use super::rhythm::{self, Rhythm, DEFAULT_SHOP_GAP_DAYS};
use super::scores::ClvModel;
use super::settings::analytics_settings;
use crate::error::Result;
use crate::nps::CustomerNps;
use crate::storage::Store;
use crate::types::{Cents, CustomerId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What the customer is expected to spend over the next 12 months, with a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ClvEstimate {
    pub model: ClvModel,
    pub cents: Cents,
    pub low_cents: Cents,
    pub high_cents: Cents,
    /// The probability of being still a customer (BG/NBD only), in tenths of a percent.
    pub p_alive_permille: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CustomerInsight {
    pub customer_id: CustomerId,
    /// Sales less refunds since the first purchase.
    pub brought_cents: Cents,
    pub first_purchase_at: Option<DateTime<Utc>>,
    pub rhythm: Option<Rhythm>,
    pub rfm: Option<RfmScore>,
    /// A month ago (from the last refresh of the scores).
    pub previous_segment: Option<RfmSegment>,
    pub period_months: u32,
    pub clv: Option<ClvEstimate>,
    pub kind: Option<LoyaltyKind>,
    pub nps: CustomerNps,
    /// When the stored scores were computed.
    pub scores_at: Option<DateTime<Utc>>,
}

impl Store {
    pub fn customer_insight(&self, id: CustomerId) -> Result<CustomerInsight> {
        let now = self.now();
        let nps = self.customer_nps(id)?;
        let (visits, brought, first, last): (i64, Cents, Option<DateTime<Utc>>, Option<DateTime<Utc>>) = self
            .conn()
            .prepare_cached("SELECT visit_count, total_spent_cents, first_purchase_at, last_purchase_at FROM customers WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        let summary = self.scores_summary()?;
        let stored = self.stored_scores(id)?;
        let settings = analytics_settings(self.conn())?;
        // Local day numbers, as the stored scores count them.
        let offset = super::scores::local_offset_minutes(now);
        let day = |t: DateTime<Utc>| super::scores::local_day(t, offset);
        let today = day(now);
        let (first_day, last_day) = (first.map(day), last.map(day));
        let shop_gap = summary.as_ref().map(|s| s.shop_gap_days).unwrap_or(DEFAULT_SHOP_GAP_DAYS);
        let rhythm = match (first_day, last_day) {
            (Some(f), Some(l)) => rhythm::rhythm(visits, f.into(), l.into(), today.into(), shop_gap),
            _ => None,
        };
        // RFM now, with the thresholds of the last refresh (or the fixed ones before it).
        let rfm = match last_day {
            Some(l) if visits > 0 => {
                let since = super::calendar::months_back(now, settings.rfm_months);
                let (f, m): (i64, Cents) = self.conn().prepare_cached(
                    "SELECT count(CASE WHEN kind = 'sale' THEN 1 END), coalesce(sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END), 0)
                     FROM purchases WHERE customer_id = ?1 AND occurred_at >= ?2",
                )?
                .query_row(rusqlite::params![id, since], |r| Ok((r.get(0)?, r.get(1)?)))?;
                let t = match (&settings.rfm_thresholds, &summary) {
                    (Some(t), _) => *t,
                    (None, Some(s)) => s.thresholds,
                    (None, None) => rfm::RfmThresholds {
                        recency_days: rfm::fixed_recency(settings.rfm_months),
                        frequency: rfm::FREQUENCY_STEPS,
                        monetary_cents: rfm::fixed_monetary(None),
                    },
                };
                Some(rfm::score(i64::from(today - l).max(0), f, m, &t))
            }
            _ => None,
        };
        let model = summary.as_ref().map(|s| s.clv.model);
        Ok(CustomerInsight {
            customer_id: id,
            brought_cents: brought,
            first_purchase_at: first,
            rhythm,
            rfm,
            previous_segment: stored.as_ref().and_then(|s| s.prev_segment),
            period_months: settings.rfm_months,
            clv: stored.as_ref().zip(model).map(|(s, model)| ClvEstimate {
                model,
                cents: s.clv_cents,
                low_cents: s.clv_low_cents,
                high_cents: s.clv_high_cents,
                p_alive_permille: s.p_alive_permille,
            }),
            kind: stored.as_ref().map(|s| s.kind),
            nps,
            scores_at: summary.map(|s| s.computed_at),
        })
    }
}
