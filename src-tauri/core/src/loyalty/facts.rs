//! The loyalty facts of many customers at once, as SQL (segments, lists, the liability): the
//! usable points balance and the tier held, computed the way one customer's status computes
//! them (`ledgers::usable_points`, `tiers::tier_now`), so that a segment, the till and the
//! customer page never disagree.
//!
//! Invariant: every value reaches SQL as a bound parameter; the fragments only name columns.

use super::ledgers::{inactive_before, usable_points_sql};
use super::programme::{Programme, TierBasis};
use super::rules;
use chrono::{DateTime, Utc};

/// What the SQL fragments need from the programme at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoyaltyFacts {
    pub now: DateTime<Utc>,
    /// Every point expires for a last visit before this (the "months without a visit" mode).
    pub inactive_before: Option<DateTime<Utc>>,
    /// The tiers, if the programme has them: what qualifies, since when, and the thresholds
    /// in ascending order.
    pub tiers: Option<(TierBasis, DateTime<Utc>, Vec<i64>)>,
}

impl LoyaltyFacts {
    pub fn new(p: &Programme, now: DateTime<Utc>) -> Self {
        LoyaltyFacts {
            now,
            inactive_before: inactive_before(p, now),
            tiers: p
                .tiers
                .as_ref()
                .map(|t| (t.basis, rules::period_start(t.period, now), t.tiers.iter().map(|x| x.threshold).collect())),
        }
    }

    /// The usable balance of `customer` (SQL of its id); `bind` turns a value into the SQL
    /// of a bound parameter.
    pub fn usable_points_sql(
        &self,
        customer: &str,
        bind: &mut dyn FnMut(Box<dyn rusqlite::ToSql>) -> String,
    ) -> String {
        let now = bind(Box::new(self.now));
        let inactive = bind(Box::new(self.inactive_before));
        usable_points_sql(customer, &now, &inactive)
    }

    /// SQL true when `customer` holds the tier at position `index` or a higher one: a tier
    /// still kept (reached, and its kept period not over), or the spend or points of the
    /// current period reaching its threshold — as `tiers::tier_now` decides.
    pub fn tier_at_least_sql(
        &self,
        customer: &str,
        index: u32,
        bind: &mut dyn FnMut(Box<dyn rusqlite::ToSql>) -> String,
    ) -> String {
        let Some((basis, since, thresholds)) = &self.tiers else { return "0".into() };
        let Some(threshold) = thresholds.get(index as usize) else { return "0".into() };
        let now = bind(Box::new(self.now));
        let idx = bind(Box::new(i64::from(index)));
        let count = bind(Box::new(thresholds.len() as i64));
        let since = bind(Box::new(*since));
        let threshold = bind(Box::new(*threshold));
        let qualifying = match basis {
            TierBasis::Spend => format!(
                "(SELECT coalesce(sum(CASE tp.kind WHEN 'sale' THEN tp.amount_cents ELSE -tp.amount_cents END), 0)
                  FROM purchases tp WHERE tp.customer_id = {customer} AND tp.occurred_at >= {since} AND tp.occurred_at <= {now})"
            ),
            TierBasis::Points => format!(
                "(SELECT coalesce(sum(tl.points), 0) FROM points_ledger tl WHERE tl.customer_id = {customer}
                  AND tl.kind IN ('earn', 'reverse', 'action') AND tl.at >= {since} AND tl.at <= {now})"
            ),
        };
        format!(
            "(EXISTS (SELECT 1 FROM tier_events te WHERE te.customer_id = {customer} AND te.kept_until > {now}
                      AND te.tier_index >= {idx} AND te.tier_index < {count})
              OR {qualifying} >= {threshold})"
        )
    }
}
