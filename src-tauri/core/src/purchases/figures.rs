//! A customer's figures kept on their row (visits, amount spent, first and last purchase), so
//! that lists, segments and the numbers read them without adding up purchases.
//!
//! Invariant: the kept figures equal a recount of the customer's purchases (visits are sales;
//! spent is sales minus refunds; first and last purchase are the earliest and latest sale), in
//! the same transaction as every write to `purchases`. A sale adds itself
//! ([`add_sale_to_figures`]); every other write recounts ([`refresh_figures`]). Debug builds
//! (every test) check the invariant at each sale; [`Store::check_figures`] checks it over the
//! whole file (`comptoir-cli check`) and [`Store::repair_figures`] recounts the customers whose
//! figures drifted (a file edited by hand, a write that forgot to recount). The demo writes its
//! figures from its purchases in one statement of its own, with the same meaning.

use crate::error::Result;
use crate::storage::{Store, Tx};
use crate::types::{Cents, CustomerId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

/// What [`Store::check_figures`] found: how many customers' kept figures differ from a recount
/// of their purchases, and the first of them (by id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiguresCheck {
    pub customers: i64,
    pub differing: i64,
    pub first_differing: Vec<CustomerId>,
}

/// At most this many customers named in a [`FiguresCheck`].
pub const NAMED: usize = 20;

/// Customers recounted per transaction by [`Store::repair_figures`] (a few milliseconds each).
pub const REPAIR_CHUNK: usize = 500;

/// Visits, spent, first and last purchase (as stored text).
type Figures = (i64, Cents, Option<String>, Option<String>);

/// Recompute a customer's figures from their purchases (visits are sales; spent is sales
/// minus refunds). Called in the same transaction as every write to `purchases` but a sale's,
/// which adds itself ([`add_sale_to_figures`]): a refund, a merge, the referral demo — and any
/// new one (the demo sets all its customers' figures from its purchases in one statement).
///
/// The first purchase is set apart, and only when it changes: a column named in an `UPDATE`
/// rewrites its index entry even with the same value, and the first purchase stays the same
/// at nearly every sale (one page less written per sale).
pub(crate) fn refresh_figures(tx: &Tx, customer_id: CustomerId) -> Result<()> {
    tx.execute(
        "UPDATE customers SET
           visit_count = (SELECT count(*) FROM purchases WHERE customer_id = ?1 AND kind = 'sale'),
           total_spent_cents = (SELECT coalesce(sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END), 0) FROM purchases WHERE customer_id = ?1),
           last_purchase_at = (SELECT max(occurred_at) FROM purchases WHERE customer_id = ?1 AND kind = 'sale')
         WHERE id = ?1",
        [customer_id],
    )?;
    tx.execute(
        "UPDATE customers SET first_purchase_at = f.at
         FROM (SELECT min(occurred_at) AS at FROM purchases WHERE customer_id = ?1 AND kind = 'sale') AS f
         WHERE id = ?1 AND first_purchase_at IS NOT f.at",
        [customer_id],
    )?;
    Ok(())
}

/// Bring a customer's figures up to date with one new sale, without reading their purchases:
/// a visit more, the amount paid added to the spend, the last and first purchase moved when the
/// sale is later or earlier. Rule: the result equals [`refresh_figures`] after the sale, as long
/// as the figures were right before it (every other write to `purchases` — refunds, merges, the
/// demo — recomputes them). A recount read every purchase of the customer at every sale: a
/// "walk-in" customer with tens of thousands of sales paid for each of them at the till.
///
/// The comparisons are SQLite's on the stored text, as `max`/`min` in the recount; the first
/// purchase is named in an `UPDATE` only when it changes (see [`refresh_figures`]).
pub(crate) fn add_sale_to_figures(
    tx: &Tx,
    customer_id: CustomerId,
    paid: Cents,
    occurred_at: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "UPDATE customers SET
           visit_count = visit_count + 1,
           total_spent_cents = total_spent_cents + ?2,
           last_purchase_at = CASE WHEN last_purchase_at IS NULL OR ?3 > last_purchase_at THEN ?3 ELSE last_purchase_at END
         WHERE id = ?1",
        params![customer_id, paid, occurred_at],
    )?;
    tx.execute(
        "UPDATE customers SET first_purchase_at = ?2 WHERE id = ?1 AND (first_purchase_at IS NULL OR ?2 < first_purchase_at)",
        params![customer_id, occurred_at],
    )?;
    #[cfg(debug_assertions)]
    {
        let (kept, recounted) = kept_and_recounted(tx, customer_id)?;
        debug_assert_eq!(
            kept, recounted,
            "customer {customer_id}'s kept figures must equal a recount of their purchases after a sale \
             (visits, spent, first, last): a write to `purchases` before it did not call `refresh_figures`"
        );
    }
    Ok(())
}

/// A customer's kept figures and the same figures recounted from their purchases.
#[cfg_attr(not(debug_assertions), allow(dead_code))]
fn kept_and_recounted(conn: &Connection, customer_id: CustomerId) -> Result<(Figures, Figures)> {
    Ok(conn.prepare_cached(
        "SELECT visit_count, total_spent_cents, first_purchase_at, last_purchase_at,
           (SELECT count(*) FROM purchases WHERE customer_id = ?1 AND kind = 'sale'),
           (SELECT coalesce(sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END), 0) FROM purchases WHERE customer_id = ?1),
           (SELECT min(occurred_at) FROM purchases WHERE customer_id = ?1 AND kind = 'sale'),
           (SELECT max(occurred_at) FROM purchases WHERE customer_id = ?1 AND kind = 'sale')
         FROM customers WHERE id = ?1",
    )?
    .query_row([customer_id], |r| {
        Ok(((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?), (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)))
    })?)
}

/// Every customer whose kept figures differ from a recount of their purchases, by id.
fn differing(conn: &Connection) -> Result<Vec<CustomerId>> {
    let mut st = conn.prepare(
        "SELECT c.id FROM customers c
         LEFT JOIN (SELECT customer_id,
                      count(*) FILTER (WHERE kind = 'sale') AS visits,
                      sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END) AS spent,
                      min(occurred_at) FILTER (WHERE kind = 'sale') AS first_at,
                      max(occurred_at) FILTER (WHERE kind = 'sale') AS last_at
                    FROM purchases GROUP BY customer_id) r ON r.customer_id = c.id
         WHERE c.visit_count IS NOT coalesce(r.visits, 0)
            OR c.total_spent_cents IS NOT coalesce(r.spent, 0)
            OR c.first_purchase_at IS NOT r.first_at
            OR c.last_purchase_at IS NOT r.last_at
         ORDER BY c.id",
    )?;
    let ids = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<CustomerId>>>()?;
    Ok(ids)
}

impl Store {
    /// Check every customer's kept figures against a recount of their purchases (one pass over
    /// the purchases' index by customer: 0.44 s on the 100k shop). Reads only.
    pub fn check_figures(&self) -> Result<FiguresCheck> {
        self.on_one_snapshot(|conn| {
            let customers: i64 = conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
            let ids = differing(conn)?;
            Ok(FiguresCheck {
                customers,
                differing: ids.len() as i64,
                first_differing: ids.into_iter().take(NAMED).collect(),
            })
        })
    }

    /// Recount the figures of every customer whose kept figures differ from their purchases;
    /// returns what was found (and is now repaired). The search reads a snapshot without the
    /// write lock (0.44 s on the 100k shop, several seconds at 10×: held, it would stop the
    /// till's sales that long); the customers found are then recounted in transactions of
    /// [`REPAIR_CHUNK`]. Recounting is right whatever happened in between: a customer whose
    /// figures a sale changed meanwhile is counted again from the purchases as they are then.
    /// Purchases are not touched: the ledger is the truth, the figures are derived from it.
    pub fn repair_figures(&mut self) -> Result<FiguresCheck> {
        let found = self.on_one_snapshot(|conn| {
            let customers: i64 = conn.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
            Ok((customers, differing(conn)?))
        })?;
        let (customers, ids) = found;
        for chunk in ids.chunks(REPAIR_CHUNK) {
            self.transact("purchases.repair_figures", None, |tx| {
                for id in chunk {
                    refresh_figures(tx, *id)?;
                    tx.changes.customer(*id);
                }
                Ok(())
            })?;
        }
        Ok(FiguresCheck {
            customers,
            differing: ids.len() as i64,
            first_differing: ids.into_iter().take(NAMED).collect(),
        })
    }
}
