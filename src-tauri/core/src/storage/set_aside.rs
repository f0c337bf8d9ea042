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
//! - On an error in the bulk write nothing is put back and the caller hears that error: the
//!   caller must roll back (`Store::transact` and `Store::rehearse` do), and the rollback
//!   brings the objects back with everything else. Rebuilding nine indexes only to throw
//!   them away would make a cancel wait for nothing.
//! - A write that will be rolled back whatever happens (a preview) may ask for nothing to be
//!   put back even on success (`PutBack::No`).
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

/// Whether the objects are recreated after a successful bulk write.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PutBack {
    Yes,
    /// The transaction is rolled back whatever happens (a preview): its rollback restores them.
    No,
}

/// Run `f` with the named objects dropped, then recreate them (an index is built once, over
/// every row). With no names, `f` runs as is. On an error the caller must roll back.
pub(crate) fn without<T>(
    tx: &mut Tx,
    kind: Kind,
    names: &[&str],
    put_back: PutBack,
    f: impl FnOnce(&mut Tx) -> Result<T>,
) -> Result<T> {
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
    let value = f(tx)?;
    if put_back == PutBack::Yes {
        for (_, sql) in &saved {
            tx.execute_batch(sql)?;
        }
    }
    Ok(value)
}

impl Tx<'_> {
    /// Run `f` with the named indexes dropped, and build each of them once afterwards, inside
    /// the same transaction (unless `put_back` says the transaction is rolled back anyway).
    /// For a bulk write that does not read them. On an error the caller must roll back.
    pub(crate) fn with_indexes_deferred<T>(
        &mut self,
        names: &[&str],
        put_back: PutBack,
        f: impl FnOnce(&mut Tx) -> Result<T>,
    ) -> Result<T> {
        without(self, Kind::Index, names, put_back, f)
    }
}

#[cfg(test)]
mod tests {
    use super::{Kind, PutBack};
    use crate::Store;

    fn indexes(conn: &rusqlite::Connection) -> Vec<(String, String)> {
        let mut st = conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .unwrap();
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    }

    #[test]
    fn a_name_missing_from_the_schema_is_refused_before_anything_is_dropped() {
        let mut store = Store::open_in_memory().unwrap();
        let before = indexes(store.conn());
        let inside = store
            .transact("test.missing", None, |tx| {
                let r =
                    super::without(tx, Kind::Index, &["customers_by_email", "no_such_index"], PutBack::Yes, |_| Ok(()));
                assert!(r.is_err(), "an unknown index is an error");
                // Looked at inside the transaction, before any rollback could hide a drop.
                Ok(indexes(tx))
            })
            .unwrap()
            .value;
        assert_eq!(inside, before, "no index was dropped");
    }

    #[test]
    fn indexes_are_dropped_while_the_write_runs_and_built_again_after_it_or_left_to_the_rollback() {
        let mut store = Store::open_in_memory().unwrap();
        let before = indexes(store.conn());
        let names = ["customers_by_email", "customers_by_created"];
        let write = |tx: &mut crate::storage::Tx, put_back| {
            tx.with_indexes_deferred(&names, put_back, |tx| {
                let left = indexes(tx);
                assert!(
                    names.iter().all(|n| !left.iter().any(|(x, _)| x == n)),
                    "the indexes are dropped while the write runs"
                );
                Ok(())
            })?;
            Ok(indexes(tx))
        };
        let after = store.transact("test.deferred", None, |tx| write(tx, PutBack::Yes)).unwrap().value;
        assert_eq!(after, before, "built again after the write, as the schema wrote them");
        assert_eq!(indexes(store.conn()), before, "and committed so");
        let after = store.rehearse(|tx| write(tx, PutBack::No)).unwrap();
        assert_eq!(after.len(), before.len() - names.len(), "a preview leaves them out for its rollback");
        assert_eq!(indexes(store.conn()), before, "which brings them back");
    }
}
