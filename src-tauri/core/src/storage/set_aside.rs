//! Schema objects set aside for the length of a bulk write, inside its transaction: the
//! search index's triggers (`search_index`) and the customer indexes a large import does not
//! read (`Tx::with_indexes_deferred`). Writing 100,000 rows through eleven indexes and a
//! trigger costs far more than writing them bare and building each index once at the end.
//!
//! Invariants:
//! - Each object comes back from its own SQL as read from the schema just before it was
//!   dropped, so what the schema said is what returns (a migration that changes an index
//!   changes what comes back).
//! - Everything happens inside the caller's transaction. DDL is transactional in SQLite: a
//!   crash, an error or a rollback brings the objects back with the rows; a file can never be
//!   left without them.
//! - On an error in the bulk write the caller hears that error, never a failure of putting
//!   the objects back; when SQLite has already rolled the transaction back itself (a full
//!   disk, an I/O error), there is nothing to put back.
//! - Every named object must exist; a missing one is an error before anything is dropped.

use super::Tx;
use crate::error::{Error, Result};

/// The kinds of schema object that can be set aside.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Trigger,
    Index,
}

impl Kind {
    fn sql_word(self) -> &'static str {
        match self {
            Kind::Trigger => "trigger",
            Kind::Index => "index",
        }
    }
}

/// Run `f` with the named objects dropped, then recreate them (an index is built once, over
/// every row). With no names, `f` runs as is.
pub(crate) fn without<T>(tx: &mut Tx, kind: Kind, names: &[&str], f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
    if names.is_empty() {
        return f(tx);
    }
    let mut saved: Vec<(String, String)> = Vec::with_capacity(names.len());
    for name in names {
        let sql: Option<String> = {
            let mut st = tx.prepare_cached("SELECT sql FROM sqlite_master WHERE type = ?1 AND name = ?2")?;
            let mut rows = st.query(rusqlite::params![kind.sql_word(), name])?;
            match rows.next()? {
                Some(r) => r.get(0)?,
                None => None,
            }
        };
        match sql {
            Some(sql) => saved.push((name.to_string(), sql)),
            None => {
                return Err(Error::Io(std::io::Error::other(format!(
                    "the {} {name} is not in the schema",
                    kind.sql_word()
                ))))
            }
        }
    }
    for (name, _) in &saved {
        tx.execute_batch(&format!("DROP {} \"{}\"", kind.sql_word().to_uppercase(), name.replace('"', "\"\"")))?;
    }
    match f(tx) {
        Ok(value) => {
            for (_, sql) in &saved {
                tx.execute_batch(sql)?;
            }
            Ok(value)
        }
        Err(e) => {
            if !tx.is_autocommit() {
                for (_, sql) in &saved {
                    let _ = tx.execute_batch(sql);
                }
            }
            Err(e)
        }
    }
}

impl Tx<'_> {
    /// Run `f` with the named indexes dropped, and build each of them once afterwards, inside
    /// the same transaction. For a bulk write that does not read them.
    pub(crate) fn with_indexes_deferred<T>(
        &mut self,
        names: &[&str],
        f: impl FnOnce(&mut Tx) -> Result<T>,
    ) -> Result<T> {
        without(self, Kind::Index, names, f)
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;
    use crate::Store;

    fn indexes(store: &Store) -> Vec<(String, String)> {
        let mut st = store
            .conn()
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .unwrap();
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[test]
    fn a_name_missing_from_the_schema_is_refused_before_anything_is_dropped() {
        let mut store = Store::open_in_memory().unwrap();
        let before = indexes(&store);
        let r = store.transact("test.missing", None, |tx| {
            super::without(tx, Kind::Index, &["customers_by_email", "no_such_index"], |_| Ok(()))
        });
        assert!(r.is_err(), "an unknown index is an error");
        assert_eq!(indexes(&store), before, "no index was dropped");
    }

    #[test]
    fn a_caller_that_goes_on_after_a_failed_bulk_write_finds_its_indexes_back() {
        let mut store = Store::open_in_memory().unwrap();
        let before = indexes(&store);
        let during = store
            .transact("test.go_on", None, |tx| {
                let r: crate::Result<()> = tx.with_indexes_deferred(&["customers_by_email", "customers_by_created"], |tx| {
                    let n: i64 = tx.query_row(
                        "SELECT count(*) FROM sqlite_master WHERE name IN ('customers_by_email', 'customers_by_created')",
                        [],
                        |r| r.get(0),
                    )?;
                    assert_eq!(n, 0, "the indexes are dropped while the closure runs");
                    Err(crate::Error::conflict("conflict.import_cancelled"))
                });
                assert!(r.is_err(), "the closure's error comes back");
                let n: i64 = tx.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'index'", [], |r| r.get(0))?;
                Ok(n)
            })
            .unwrap()
            .value;
        assert_eq!(
            during as usize,
            before.len() + auto_indexes(&store),
            "the indexes were back inside the transaction"
        );
        assert_eq!(indexes(&store), before, "and are there after it, as the schema wrote them");
    }

    fn auto_indexes(store: &Store) -> usize {
        store
            .conn()
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NULL", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap() as usize
    }
}
