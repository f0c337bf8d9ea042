//! Reports across the shop: the points liability (points earned and not yet spent are a debt
//! of the shop), points expiring soon, and days with unusually many loyalty operations.
//! Read-only.

use super::ledgers::usable_points;
use super::programme::programme;
use super::rules::{self, EXPIRING_SOON_DAYS};
use crate::analytics::calendar::local_midnight;
use crate::error::Result;
use crate::storage::Store;
use crate::types::{Cents, CustomerId};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Liability {
    pub points: i64,
    pub value_cents: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExpiringForCustomer {
    pub customer: crate::customers::CustomerSummary,
    pub points: i64,
    pub first_at: DateTime<Utc>,
}

/// One customer's loyalty operations on one local day, when they reach the programme's
/// threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SuspiciousDay {
    pub customer: crate::customers::CustomerSummary,
    /// The local day.
    #[ts(type = "string")]
    pub day: NaiveDate,
    pub operations: i64,
}

/// The stretch of days the suspicious list covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SuspiciousPeriod {
    Day,
    /// Seven days from the first one.
    Week,
}

impl SuspiciousPeriod {
    pub fn days(self) -> u32 {
        match self {
            SuspiciousPeriod::Day => 1,
            SuspiciousPeriod::Week => 7,
        }
    }
}

impl Store {
    /// Points earned and not yet spent across the shop, and their value at the programme's rate.
    pub fn points_liability(&self) -> Result<Liability> {
        let p = programme(self.conn())?;
        let now = self.now();
        // What the till shows, summed in one pass over the ledger: points past their date or
        // after the months without a visit are not a debt any more, written off or not yet
        // (the same arithmetic as `ledgers::usable_points_sql`, grouped).
        let points: i64 = self.conn().query_row(
            "SELECT coalesce(sum(CASE WHEN ?2 IS NOT NULL AND c.last_purchase_at <= ?2 THEN 0
                                     ELSE max(0, min(b.total, b.live)) END), 0)
             FROM (SELECT customer_id, sum(points) AS total,
                          coalesce(sum(CASE WHEN points > 0 AND (expires_at IS NULL OR expires_at > ?1) THEN points END), 0) AS live
                   FROM points_ledger GROUP BY customer_id) b
             JOIN customers c ON c.id = b.customer_id",
            params![now, super::ledgers::inactive_before(&p, now)],
            |r| r.get(0),
        )?;
        Ok(Liability { points, value_cents: rules::liability_cents(points, p.value_of_100_points_cents) })
    }

    /// Customers with points expiring in the next 30 days.
    pub fn points_expiring_soon(&self) -> Result<Vec<ExpiringForCustomer>> {
        let now = self.now();
        let p = programme(self.conn())?;
        let horizon = now + chrono::Duration::days(EXPIRING_SOON_DAYS);
        let ids: Vec<CustomerId> = {
            let mut st = self.conn().prepare(
                "SELECT DISTINCT customer_id FROM points_ledger WHERE expires_at > ?1 AND expires_at <= ?2 ORDER BY customer_id",
            )?;
            let rows = st.query_map(params![now, horizon], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let country = self.settings()?.country;
        let mut out = Vec::new();
        for id in ids {
            let (_, lots) = usable_points(self.conn(), &p, id, now)?;
            let soon = rules::expiring_within(&lots, now, EXPIRING_SOON_DAYS);
            if let Some(first) = soon.first() {
                let points = soon.iter().map(|(_, n)| n).sum();
                if let Some(customer) = crate::customers::summaries(self.conn(), &[id], country)?.pop() {
                    out.push(ExpiringForCustomer { customer, points, first_at: first.0 });
                }
            }
        }
        out.sort_by_key(|e| e.first_at);
        Ok(out)
    }

    /// Customers with many loyalty operations on one local day, for each day of the period
    /// starting on `from` (the shop's local calendar, so a day of a change of time has its 23
    /// or 25 hours), busiest first within each day, most recent day first.
    pub fn suspicious_activity(&self, from: NaiveDate, period: SuspiciousPeriod) -> Result<Vec<SuspiciousDay>> {
        if !(2000..=2100).contains(&from.year()) {
            return Err(crate::error::Error::invalid("day", "field.date_out_of_range"));
        }
        let p = programme(self.conn())?;
        let country = self.settings()?.country;
        let mut st = self.conn().prepare_cached(
            "SELECT customer_id, count(*) FROM (
                 SELECT customer_id FROM points_ledger WHERE at >= ?1 AND at < ?2 AND kind IN ('earn', 'redeem', 'adjust', 'action', 'reverse')
                 UNION ALL SELECT customer_id FROM stamps_ledger WHERE at >= ?1 AND at < ?2 AND kind IN ('redeem', 'adjust')
                 UNION ALL SELECT v.customer_id FROM voucher_uses u JOIN vouchers v ON v.id = u.voucher_id
                   WHERE u.at >= ?1 AND u.at < ?2 AND v.customer_id IS NOT NULL)
             GROUP BY customer_id HAVING count(*) >= ?3 ORDER BY count(*) DESC, customer_id",
        )?;
        let mut out = Vec::new();
        for offset in (0..period.days()).rev() {
            let day = from + chrono::Days::new(u64::from(offset));
            let (start, end) = (local_midnight(day), local_midnight(day + chrono::Days::new(1)));
            let rows: Vec<(CustomerId, i64)> = st
                .query_map(params![start, end, p.suspicious_operations_per_day], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for (id, operations) in rows {
                if rules::is_suspicious(operations, p.suspicious_operations_per_day) {
                    if let Some(customer) = crate::customers::summaries(self.conn(), &[id], country)?.pop() {
                        out.push(SuspiciousDay { customer, day, operations });
                    }
                }
            }
        }
        Ok(out)
    }
}
