//! The points and stamps ledgers: append-only entries, and every balance derived from them.
//!
//! Invariants: an entry is never edited or deleted (triggers refuse it); a correction is a
//! new entry with its reason. A points balance is replayed from the ledger, oldest points used
//! first, and what is due to expire is written as an `expire` entry before any other entry is
//! appended, so that a balance never goes negative. Writes run inside `Store::transact`.

use super::programme::{programme, Programme};
use super::rules::{self, Lot, Movement};
use crate::customers::ensure_customer;
use crate::error::{Error, Result};
use crate::storage::{Store, Tx};
use crate::text::check_text;
use crate::types::{Cents, CustomerId, Outcome, PurchaseId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The longest reason and staff name a gesture made by hand can carry.
pub const MAX_REASON: usize = 300;
pub const MAX_STAFF: usize = 60;

/// A customer's points movements in the ledger's order, read from `points_ledger_by_customer`
/// alone (it holds both columns): on a shop whose ledger no longer fits in memory, a line's
/// row would cost a read from the disk each.
pub(super) fn movements(conn: &Connection, customer: CustomerId) -> Result<Vec<Movement>> {
    let mut st =
        conn.prepare_cached("SELECT points, expires_at FROM points_ledger WHERE customer_id = ?1 ORDER BY id")?;
    let rows = st.query_map([customer], |r| Ok(Movement { points: r.get(0)?, expires_at: r.get(1)? }))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn last_visit(conn: &Connection, customer: CustomerId) -> Result<Option<DateTime<Utc>>> {
    Ok(conn
        .prepare_cached("SELECT last_purchase_at FROM customers WHERE id = ?1")?
        .query_row([customer], |r| r.get(0))?)
}

/// The points a customer can use now: the ledger replayed, less what is due to expire.
pub(crate) fn usable_points(
    conn: &Connection,
    p: &Programme,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<(i64, Vec<Lot>)> {
    let lots = rules::replay(&movements(conn, customer)?);
    let total = rules::balance(&lots);
    if rules::inactivity_expired(&p.expiry, last_visit(conn, customer)?, now) {
        return Ok((0, lots));
    }
    Ok((total - rules::due_to_expire(&lots, now), lots))
}

/// The usable balance in SQL, for lists over many customers (segments, the liability): the
/// ledger sum, but never more than the credits not yet past their expiry date — which is the
/// replay's result because points expire in the order they were earned (each credit's expiry
/// date follows its date), so the expired lots are the oldest ones and, used oldest first,
/// what remains of them is `max(0, expired credits − debits)`. Zero after the months without a
/// visit. `customer` is the SQL of the customer's id, `now` and `inactive_before` the SQL of
/// the bound parameters (`inactive_before` NULL when that expiry mode is off).
pub(crate) fn usable_points_sql(customer: &str, now: &str, inactive_before: &str) -> String {
    format!(
        "(SELECT CASE WHEN {inactive_before} IS NOT NULL AND (SELECT c2.last_purchase_at FROM customers c2 WHERE c2.id = {customer}) <= {inactive_before}
                      THEN 0
                      ELSE max(0, min(coalesce(sum(pl.points), 0),
                                      coalesce(sum(CASE WHEN pl.points > 0 AND (pl.expires_at IS NULL OR pl.expires_at > {now}) THEN pl.points END), 0)))
                 END
          FROM points_ledger pl WHERE pl.customer_id = {customer})"
    )
}

/// The instant before which a last visit makes every point expire (the "months without a
/// visit" mode), if the programme says so.
pub(crate) fn inactive_before(p: &Programme, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match p.expiry {
        super::programme::Expiry::AfterInactivityMonths { months } => {
            now.checked_sub_months(chrono::Months::new(months))
        }
        _ => None,
    }
}

/// Append the expiry of the points that are due (by date, or the whole balance after the
/// months without a visit), so that the ledger says why they are gone.
pub(super) fn expire_due(tx: &Tx, p: &Programme, customer: CustomerId) -> Result<i64> {
    let lots = rules::replay(&movements(tx, customer)?);
    let due = if rules::inactivity_expired(&p.expiry, last_visit(tx, customer)?, tx.now) {
        rules::balance(&lots)
    } else {
        rules::due_to_expire(&lots, tx.now)
    };
    if due > 0 {
        insert_points(tx, customer, "expire", -due, PointsRefs::default())?;
    }
    Ok(due)
}

/// Optional references of a ledger entry.
#[derive(Default)]
pub(super) struct PointsRefs<'a> {
    pub(super) expires_at: Option<DateTime<Utc>>,
    pub(super) purchase_id: Option<PurchaseId>,
    pub(super) redemption_id: Option<i64>,
    pub(super) action: Option<&'a str>,
    pub(super) reason: Option<&'a str>,
    pub(super) staff: Option<&'a str>,
}

pub(super) fn insert_points(tx: &Tx, customer: CustomerId, kind: &str, points: i64, r: PointsRefs) -> Result<()> {
    tx.execute(
        "INSERT INTO points_ledger (customer_id, at, kind, points, expires_at, purchase_id, redemption_id, action, reason, staff)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![customer, tx.now, kind, points, r.expires_at, r.purchase_id, r.redemption_id, r.action, r.reason, r.staff],
    )?;
    Ok(())
}

pub(super) fn insert_stamps(
    tx: &Tx,
    customer: CustomerId,
    kind: &str,
    stamps: i64,
    purchase: Option<PurchaseId>,
    milestone: Option<i64>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO stamps_ledger (customer_id, at, kind, stamps, purchase_id, milestone) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![customer, tx.now, kind, stamps, purchase, milestone],
    )?;
    Ok(())
}

pub(super) fn stamps_balance(conn: &Connection, customer: CustomerId) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(stamps), 0) FROM stamps_ledger WHERE customer_id = ?1",
        [customer],
        |r| r.get(0),
    )?)
}

pub(super) fn carry(conn: &Connection, customer: CustomerId) -> Result<Cents> {
    Ok(conn
        .prepare_cached(
            "SELECT carry_after_cents FROM loyalty_sales WHERE customer_id = ?1 ORDER BY purchase_id DESC LIMIT 1",
        )?
        .query_row([customer], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The milestones claimed on a customer's current card (`?1` the customer, `?2` the last
/// milestone, whose claim takes the full card). Read from the redeem lines' own index
/// (`stamps_redeemed_by_customer`, a few lines per card), never the ledger's rows: the `+`
/// before `id` keeps SQLite from walking all the customer's lines by id instead.
pub(crate) const CLAIMED_MILESTONES_SQL: &str =
    "SELECT milestone FROM stamps_ledger s WHERE customer_id = ?1 AND kind = 'redeem'
   AND NOT EXISTS (SELECT 1 FROM stamp_claim_returns x WHERE x.claim_id = s.id)
   AND +id > coalesce(
   (SELECT max(id) FROM stamps_ledger f WHERE customer_id = ?1 AND kind = 'redeem' AND milestone = ?2
      AND NOT EXISTS (SELECT 1 FROM stamp_claim_returns x WHERE x.claim_id = f.id)), 0)";

/// Milestones claimed on the current card (since the last full card was used). A claim
/// given back by the full refund of its sale does not count.
pub(super) fn claimed_milestones(conn: &Connection, customer: CustomerId, last: usize) -> Result<Vec<usize>> {
    let mut st = conn.prepare_cached(CLAIMED_MILESTONES_SQL)?;
    let rows = st.query_map(params![customer, last as i64], |r| r.get::<_, i64>(0))?;
    Ok(rows.filter_map(|r| r.ok()).map(|m| m as usize).collect())
}

/// One line of a customer's points ledger, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PointsEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub points: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub purchase_id: Option<PurchaseId>,
    pub action: Option<String>,
    pub reason: Option<String>,
    pub staff: Option<String>,
    /// For an earn entry: how the points were computed.
    pub lines: Vec<rules::EarnLine>,
}

impl Store {
    /// The points ledger of a customer, newest first, each entry with its reason.
    pub fn points_ledger(&self, customer: CustomerId, limit: usize) -> Result<Vec<PointsEntry>> {
        crate::customers::ensure_exists(self.conn(), customer)?;
        let mut st = self.conn().prepare_cached(
            "SELECT l.id, l.at, l.kind, l.points, l.expires_at, l.purchase_id, l.action, l.reason, l.staff, s.lines
             FROM points_ledger l LEFT JOIN loyalty_sales s ON s.purchase_id = l.purchase_id AND l.kind = 'earn'
             WHERE l.customer_id = ?1 ORDER BY l.id DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![customer, limit as i64], |r| {
            let lines: Option<String> = r.get(9)?;
            Ok(PointsEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                kind: r.get(2)?,
                points: r.get(3)?,
                expires_at: r.get(4)?,
                purchase_id: r.get(5)?,
                action: r.get(6)?,
                reason: r.get(7)?,
                staff: r.get(8)?,
                lines: lines.and_then(|l| serde_json::from_str(&l).ok()).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A correction or a goodwill gesture granted by hand: always with a reason and the staff
    /// member. A debit never takes more than the balance.
    pub fn adjust_points(
        &mut self,
        customer: CustomerId,
        points: i64,
        reason: &str,
        staff: &str,
        key: Option<&str>,
    ) -> Result<Outcome<i64>> {
        let reason = check_text("reason", reason, MAX_REASON, true)?;
        let staff = check_text("staff", staff, MAX_STAFF, true)?;
        if points == 0 || points.abs() > 1_000_000 {
            return Err(Error::invalid("points", "field.loyalty_points_invalid"));
        }
        self.transact(("loyalty.adjust", &(customer, points, &reason, &staff)), key, |tx| {
            ensure_customer(tx, customer)?;
            let p = programme(tx)?;
            expire_due(tx, &p, customer)?;
            let (usable, _) = usable_points(tx, &p, customer, tx.now)?;
            if points < 0 && -points > usable {
                return Err(Error::Conflict {
                    key: "conflict.not_enough_points",
                    args: vec![("balance", usable.to_string())],
                });
            }
            let expires_at = if points > 0 { rules::expiry_date(&p.expiry, tx.now) } else { None };
            insert_points(
                tx,
                customer,
                "adjust",
                points,
                PointsRefs { expires_at, reason: reason.as_deref(), staff: staff.as_deref(), ..Default::default() },
            )?;
            tx.changes.customer(customer);
            Ok(usable + points)
        })
    }
}

#[cfg(test)]
pub(crate) fn movements_for_test(s: &Store, customer: CustomerId) -> Vec<Movement> {
    movements(s.conn(), customer).unwrap()
}
