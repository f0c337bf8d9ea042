//! The shop-wide points expiry, run in the background after start-up and then daily:
//! incremental (only the customers who may have points due since the last run) and in short
//! transactions of a few hundred customers, so a sale at the till never waits long behind it.
//!
//! Invariant: after a run at `now`, every point whose expiry date is at or before `now`, and
//! every balance whose last visit is older than the inactivity limit, has its `expire` entry,
//! exactly as after a full pass. The watermark (the time of the run, the last ledger entry and
//! the programme version it saw) is saved with the last chunk; a run that finds the clock
//! before its watermark, or a new programme, looks again at every customer it must.

use super::ledgers::expire_due;
use super::programme::{programme, Expiry};
use crate::error::Result;
use crate::storage::Store;
use crate::types::{Changes, CustomerId, Outcome};
use chrono::{DateTime, Months, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Customers handled per transaction.
const BATCH: usize = 200;
const WATERMARK_KEY: &str = "loyalty.expiry_checked";

/// What the last run saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Watermark {
    at: DateTime<Utc>,
    ledger_id: i64,
    programme_id: i64,
}

fn watermark(conn: &Connection) -> Result<Option<Watermark>> {
    let raw: Option<String> =
        conn.query_row("SELECT value FROM settings WHERE key = ?1", [WATERMARK_KEY], |r| r.get(0)).optional()?;
    Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
}

fn ids(conn: &Connection, sql: &str, p: impl rusqlite::Params, into: &mut BTreeSet<CustomerId>) -> Result<()> {
    let mut st = conn.prepare(sql)?;
    let rows = st.query_map(p, |r| r.get::<_, CustomerId>(0))?;
    for id in rows {
        into.insert(id?);
    }
    Ok(())
}

/// Rule: a previous run's watermark can be trusted when the clock has not gone back and the
/// programme is the same one.
fn usable(w: Option<Watermark>, now: DateTime<Utc>, programme_id: i64) -> Option<Watermark> {
    w.filter(|w| w.at <= now && w.programme_id == programme_id)
}

/// The customers who may have points due at `now`.
fn candidates(
    conn: &Connection,
    expiry: &Expiry,
    since: Option<Watermark>,
    now: DateTime<Utc>,
) -> Result<BTreeSet<CustomerId>> {
    let mut out = BTreeSet::new();
    match since {
        Some(w) => {
            // Dates reached since the last run, and entries written since with a date passed
            // (a receipt entered late).
            ids(
                conn,
                "SELECT DISTINCT customer_id FROM points_ledger WHERE expires_at > ?1 AND expires_at <= ?2",
                params![w.at, now],
                &mut out,
            )?;
            ids(
                conn,
                "SELECT DISTINCT customer_id FROM points_ledger WHERE expires_at IS NOT NULL AND expires_at <= ?2 AND id > ?1",
                params![w.ledger_id, now],
                &mut out,
            )?;
        }
        None => ids(
            conn,
            "SELECT DISTINCT customer_id FROM points_ledger WHERE expires_at IS NOT NULL AND expires_at <= ?1",
            [now],
            &mut out,
        )?,
    }
    if let Expiry::AfterInactivityMonths { months } = expiry {
        let limit = |t: DateTime<Utc>| t.checked_sub_months(Months::new(*months)).unwrap_or(t);
        match since {
            Some(w) => {
                // Customers by last visit are two partial indexes (in use; archived or
                // merged): one branch each, so both are searched rather than the table read.
                ids(
                    conn,
                    "SELECT id FROM customers WHERE last_purchase_at > ?1 AND last_purchase_at <= ?2
                       AND archived_at IS NULL AND merged_into IS NULL
                     UNION ALL
                     SELECT id FROM customers WHERE last_purchase_at > ?1 AND last_purchase_at <= ?2
                       AND (archived_at IS NOT NULL OR merged_into IS NOT NULL)",
                    params![limit(w.at), limit(now)],
                    &mut out,
                )?;
                // Points given since to someone whose last visit is already too old.
                ids(
                    conn,
                    "SELECT l.customer_id FROM points_ledger l JOIN customers c ON c.id = l.customer_id
                     WHERE l.id > ?1 AND c.last_purchase_at <= ?2 AND c.archived_at IS NULL AND c.merged_into IS NULL
                     UNION
                     SELECT l.customer_id FROM points_ledger l JOIN customers c ON c.id = l.customer_id
                     WHERE l.id > ?1 AND c.last_purchase_at <= ?2 AND (c.archived_at IS NOT NULL OR c.merged_into IS NOT NULL)",
                    params![w.ledger_id, limit(now)],
                    &mut out,
                )?;
            }
            None => ids(
                conn,
                "SELECT id FROM customers WHERE last_purchase_at <= ?1 AND archived_at IS NULL AND merged_into IS NULL
                 UNION ALL
                 SELECT id FROM customers WHERE last_purchase_at <= ?1 AND (archived_at IS NOT NULL OR merged_into IS NOT NULL)",
                [limit(now)],
                &mut out,
            )?,
        }
    }
    Ok(out)
}

impl Store {
    /// Append the expiry of every customer's points that are due (see the module's invariant).
    /// Runs as several short transactions; the outcome adds them up.
    pub fn run_points_expiry(&mut self) -> Result<Outcome<i64>> {
        let now = self.now();
        let p = programme(self.conn())?;
        let programme_id: i64 =
            self.conn().query_row("SELECT coalesce(max(id), 0) FROM loyalty_programmes", [], |r| r.get(0))?;
        let ledger_id: i64 =
            self.conn().query_row("SELECT coalesce(max(id), 0) FROM points_ledger", [], |r| r.get(0))?;
        let since = usable(watermark(self.conn())?, now, programme_id);
        let todo: Vec<CustomerId> = candidates(self.conn(), &p.expiry, since, now)?.into_iter().collect();
        let mut expired = 0;
        let mut changes = Changes::default();
        let chunks: Vec<&[CustomerId]> = if todo.is_empty() { vec![&[]] } else { todo.chunks(BATCH).collect() };
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let out = self.transact("loyalty.expiry", None, |tx| {
                let p = programme(tx)?;
                let mut n = 0;
                for c in chunk {
                    let due = expire_due(tx, &p, *c)?;
                    if due > 0 {
                        tx.changes.customer(*c);
                    }
                    n += due;
                }
                if i == last {
                    let w = Watermark { at: now, ledger_id, programme_id };
                    tx.execute(
                        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        params![WATERMARK_KEY, serde_json::to_string(&w)?],
                    )?;
                }
                Ok(n)
            })?;
            expired += out.value;
            for c in out.changes.customers {
                changes.customer(c);
            }
        }
        Ok(Outcome { value: expired, changes, replayed: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_watermark_is_trusted_only_with_the_same_programme_and_a_clock_that_did_not_go_back() {
        let at = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap();
        let w = Some(Watermark { at, ledger_id: 10, programme_id: 2 });
        assert_eq!(usable(w, at + chrono::Duration::hours(1), 2), w, "a later run continues from it");
        assert_eq!(usable(w, at - chrono::Duration::hours(1), 2), None, "a clock set back starts over");
        assert_eq!(usable(w, at, 3), None, "a new programme starts over");
        assert_eq!(usable(None, at, 2), None);
    }
}
