//! Reports across the shop: the points liability (points earned and not yet spent are a debt
//! of the shop), points expiring soon, and days with unusually many loyalty operations.
//! Read-only.

use super::ledgers::usable_points;
use super::programme::programme;
use super::rules::{self, EXPIRING_SOON_DAYS};
use crate::error::Result;
use crate::storage::Store;
use crate::types::{Cents, CustomerId};
use chrono::{DateTime, Utc};
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SuspiciousDay {
    pub customer: crate::customers::CustomerSummary,
    pub operations: i64,
}

impl Store {
    /// Points earned and not yet spent across the shop, and their value at the programme's rate.
    pub fn points_liability(&self) -> Result<Liability> {
        let p = programme(self.conn())?;
        let now = self.now();
        // What the till shows, summed: points past their date or after the months without a
        // visit are not a debt any more, written off in the ledger or not yet.
        let points: i64 = self.conn().query_row(
            &format!(
                "SELECT coalesce(sum({}), 0) FROM customers c WHERE EXISTS (SELECT 1 FROM points_ledger l WHERE l.customer_id = c.id)",
                super::ledgers::usable_points_sql("c.id", "?1", "?2")
            ),
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

    /// Customers with many loyalty operations on the day starting at `day_start` (UTC
    /// instant of the shop's local midnight), as tills list them for checking.
    pub fn suspicious_activity(&self, day_start: DateTime<Utc>) -> Result<Vec<SuspiciousDay>> {
        crate::types::check_date("day", day_start)?;
        let p = programme(self.conn())?;
        let day_end = day_start + chrono::Duration::days(1);
        let mut st = self.conn().prepare(
            "SELECT customer_id, count(*) FROM (
                 SELECT customer_id FROM points_ledger WHERE at >= ?1 AND at < ?2 AND kind IN ('earn', 'redeem', 'adjust', 'action', 'reverse')
                 UNION ALL SELECT customer_id FROM stamps_ledger WHERE at >= ?1 AND at < ?2 AND kind IN ('redeem', 'adjust')
                 UNION ALL SELECT v.customer_id FROM voucher_uses u JOIN vouchers v ON v.id = u.voucher_id
                   WHERE u.at >= ?1 AND u.at < ?2 AND v.customer_id IS NOT NULL)
             GROUP BY customer_id HAVING count(*) >= ?3 ORDER BY count(*) DESC",
        )?;
        let rows: Vec<(CustomerId, i64)> = st
            .query_map(params![day_start, day_end, p.suspicious_operations_per_day], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let country = self.settings()?.country;
        let mut out = Vec::new();
        for (id, operations) in rows {
            if rules::is_suspicious(operations, p.suspicious_operations_per_day) {
                if let Some(customer) = crate::customers::summaries(self.conn(), &[id], country)?.pop() {
                    out.push(SuspiciousDay { customer, operations });
                }
            }
        }
        Ok(out)
    }
}
