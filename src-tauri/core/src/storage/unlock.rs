//! The one exception to the append-only triggers, as narrow as it can be made: an import undo
//! may delete the consent records and the opening balances (reason `import`) of ONE customer
//! the import created, and an erasure may blank the wording of ONE customer's consent records
//! and the address of that customer's sent messages.
//!
//! The triggers ask the SQL function `comptoir_unlocked(purpose, customer_id)`, which this
//! module registers on every connection the store opens. It answers from the connection's own
//! memory — never from a table — and is true only while [`Tx::unlocked`] runs its closure
//! inside a write transaction; the guard clears it on the way out (error and panic included).
//! So nothing on disk can hold an exception open: a crash forgets it, another connection never
//! sees it, and a tool that does not know the function (the `sqlite3` shell) cannot even
//! prepare such a write (`no such function`), so the rows stay protected there too.

use super::Tx;
use crate::error::Result;
use crate::types::CustomerId;
use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;
use std::sync::{Arc, Mutex};

/// Why the triggers are relaxed, for whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// An import undo removes a customer the import created and nobody touched since.
    ImportUndo,
    /// An erasure blanks what quotes the person (consent wording, addresses of sent messages).
    Erasure,
}

impl Purpose {
    fn code(self) -> &'static str {
        match self {
            Purpose::ImportUndo => "import_undo",
            Purpose::Erasure => "erasure",
        }
    }
}

/// A connection's unlock: at most one (purpose, customer) at a time.
#[derive(Clone, Default)]
pub(crate) struct UnlockCell(Arc<Mutex<Option<(Purpose, CustomerId)>>>);

impl UnlockCell {
    fn get(&self) -> Option<(Purpose, CustomerId)> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn set(&self, v: Option<(Purpose, CustomerId)>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = v;
    }
}

/// Register `comptoir_unlocked(purpose, customer_id)` on `conn`, answering from `cell`.
pub(crate) fn register(conn: &Connection, cell: &UnlockCell) -> Result<()> {
    let cell = cell.clone();
    conn.create_scalar_function(
        "comptoir_unlocked",
        2,
        // Not deterministic: the answer changes with the guard. Innocuous: no side effect,
        // so the schema's triggers may call it.
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_INNOCUOUS,
        move |ctx| {
            let purpose: String = ctx.get(0)?;
            let id: Option<i64> = ctx.get(1)?;
            Ok(matches!(cell.get(), Some((p, c)) if p.code() == purpose && Some(c) == id))
        },
    )?;
    Ok(())
}

/// Clears the unlock when dropped.
struct Guard(UnlockCell);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.set(None);
    }
}

impl Tx<'_> {
    /// Run `f` with the triggers relaxed for `purpose` and customer `id` only, inside this
    /// transaction; the exception ends when `f` returns.
    pub(crate) fn unlocked<T>(
        &mut self,
        purpose: Purpose,
        id: CustomerId,
        f: impl FnOnce(&mut Tx) -> Result<T>,
    ) -> Result<T> {
        let cell = self.unlock.clone();
        debug_assert!(cell.get().is_none(), "one unlock at a time");
        cell.set(Some((purpose, id)));
        let _guard = Guard(cell);
        f(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;
    use rusqlite::params;

    /// A customer with a consent record, an opening balance (reason `import`) and a sale's
    /// points.
    fn customer_with_history(s: &mut crate::Store) -> CustomerId {
        s.transact("t", None, |tx| {
            tx.execute(
                "INSERT INTO customers (first_name, last_name, first_fold, last_fold, created_at, updated_at)
                 VALUES ('Zoé', 'Martin', 'zoe', 'martin', ?1, ?1)",
                [tx.now],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO consents (customer_id, channel, granted, basis, source, wording, recorded_at)
                 VALUES (?1, 'email', 1, 'express', 'import', 'oui', ?2)",
                params![id, tx.now],
            )?;
            tx.execute(
                "INSERT INTO points_ledger (customer_id, at, kind, points, reason) VALUES (?1, ?2, 'adjust', 50, 'import')",
                params![id, tx.now],
            )?;
            tx.execute(
                "INSERT INTO points_ledger (customer_id, at, kind, points, reason) VALUES (?1, ?2, 'adjust', 7, 'gesture')",
                params![id, tx.now],
            )?;
            Ok(id)
        })
        .unwrap()
        .value
    }

    fn refused(r: rusqlite::Result<usize>) -> bool {
        r.is_err()
    }

    #[test]
    fn without_the_unlock_protected_rows_cannot_be_changed() {
        let (mut s, _) = store();
        let id = customer_with_history(&mut s);
        let out = s.transact("t", None, |tx| {
            Ok((
                refused(tx.execute("DELETE FROM consents WHERE customer_id = ?1", [id])),
                refused(tx.execute("UPDATE consents SET wording = NULL WHERE customer_id = ?1", [id])),
                refused(tx.execute("DELETE FROM points_ledger WHERE customer_id = ?1 AND reason = 'import'", [id])),
            ))
        });
        assert_eq!(out.unwrap().value, (true, true, true), "a normal write is refused by the triggers");
    }

    #[test]
    fn the_unlock_opens_exactly_one_purpose_for_one_customer_and_ends_with_its_closure() {
        let (mut s, _) = store();
        let a = customer_with_history(&mut s);
        let b = customer_with_history(&mut s);
        let out = s
            .transact("t", None, |tx| {
                let inside = tx.unlocked(Purpose::ImportUndo, a, |tx| {
                    Ok((
                        refused(tx.execute("DELETE FROM consents WHERE customer_id = ?1", [b])),
                        refused(tx.execute("UPDATE consents SET wording = NULL WHERE customer_id = ?1", [a])),
                        refused(
                            tx.execute("DELETE FROM points_ledger WHERE customer_id = ?1 AND reason = 'gesture'", [a]),
                        ),
                        refused(
                            tx.execute("DELETE FROM points_ledger WHERE customer_id = ?1 AND reason = 'import'", [a]),
                        ),
                        refused(tx.execute("DELETE FROM consents WHERE customer_id = ?1", [a])),
                    ))
                })?;
                let after = refused(tx.execute("DELETE FROM consents WHERE customer_id = ?1", [b]));
                Ok((inside, after))
            })
            .unwrap()
            .value;
        assert_eq!(
            out.0,
            (true, true, true, false, false),
            "an undo's unlock: another customer refused, the erasure's change refused, a non-import entry refused; \
             the import's balance and consents of that customer allowed"
        );
        assert!(out.1, "once the closure returned, the exception is gone");
    }

    #[test]
    fn an_erasure_may_only_blank_the_wording() {
        let (mut s, _) = store();
        let a = customer_with_history(&mut s);
        let out = s
            .transact("t", None, |tx| {
                tx.unlocked(Purpose::Erasure, a, |tx| {
                    Ok((
                        refused(tx.execute("UPDATE consents SET granted = 0 WHERE customer_id = ?1", [a])),
                        refused(tx.execute("UPDATE consents SET wording = 'autre' WHERE customer_id = ?1", [a])),
                        refused(tx.execute("DELETE FROM consents WHERE customer_id = ?1", [a])),
                        refused(tx.execute("UPDATE consents SET wording = NULL WHERE customer_id = ?1", [a])),
                    ))
                })
            })
            .unwrap()
            .value;
        assert_eq!(out, (true, true, true, false), "only `wording = NULL` passes, for that customer");
    }

    #[test]
    fn a_failed_closure_leaves_no_unlock_behind_and_nothing_is_kept_on_disk() {
        let (mut s, _) = store();
        let a = customer_with_history(&mut s);
        let r = s.transact("t", None, |tx| -> Result<()> {
            tx.unlocked(Purpose::ImportUndo, a, |_| Err(crate::Error::conflict("conflict.import_cancelled")))
        });
        assert!(r.is_err());
        assert!(
            s.conn().execute("DELETE FROM consents WHERE customer_id = ?1", [a]).is_err(),
            "after an error the exception is gone"
        );
        let tables: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM sqlite_master WHERE name LIKE '%unlock%'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0, "no table can hold an exception open across a crash");
    }

    #[test]
    fn a_connection_without_the_function_cannot_write_protected_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let id = {
            let mut s = crate::Store::open(&path).unwrap();
            customer_with_history(&mut s)
        };
        let raw = Connection::open(&path).unwrap();
        assert!(raw.execute("DELETE FROM consents WHERE customer_id = ?1", [id]).is_err());
        assert!(raw.execute("DELETE FROM points_ledger WHERE customer_id = ?1", [id]).is_err());
        let n: i64 = raw.query_row("SELECT count(*) FROM consents", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "the sqlite3 shell or another tool cannot delete them either");
    }
}
