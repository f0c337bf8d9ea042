//! The customers' search index (`customers_fts`, FTS5 trigram) during a bulk write.
//!
//! The index is kept by triggers on `customers` and `cards`. Inside a long transaction each
//! row written through them costs far more than the row itself: a statement that fires a
//! trigger may have to be undone alone, so SQLite opens a statement journal for it and asks
//! FTS5 for a savepoint, and FTS5 answers by writing its pending terms to disk as one more
//! tiny segment, which it then merges again. An import of 100,000 customers spent most of
//! its time there. [`Tx::with_search_index_paused`] lets a bulk write (an import) run with the
//! insert and update triggers of the index dropped, then writes the index rows of every
//! customer the write touched (a few thousand per statement) and puts the triggers back, all
//! inside the same transaction.
//!
//! Invariants:
//! - The triggers are set aside and put back by `storage::set_aside`: recreated from their
//!   own SQL as read from the schema, so what the schema says is what comes back; a failure
//!   anywhere rolls the whole transaction back, triggers included (DDL is transactional in
//!   SQLite), so a file can never be left without them.
//! - After the closure, the index row of every customer in `tx.changes.customers` is
//!   rewritten with the same expressions as the triggers (`INDEXED_ROW`, checked against the
//!   triggers by a test), so the closure must mark every customer whose name, email, phone
//!   or active cards it wrote (the import does, for the interface's refresh); as a safety net,
//!   every customer created or updated, or given a card, at the transaction's time is
//!   reindexed too.
//! - The delete trigger stays: a customer deleted during the pause leaves the index too.

use super::Tx;
use crate::error::Result;
use rusqlite::OptionalExtension;

/// The triggers paused: every trigger that writes an index row on an insert or an update.
const PAUSED: [&str; 4] = ["customers_fts_ai", "customers_fts_au", "cards_fts_ai", "cards_fts_au"];

/// A customer's index row, as the triggers write it (`?1`: a JSON array of customer ids).
const INDEXED_ROW: &str = "INSERT INTO customers_fts (rowid, name, email, phone, card)
     SELECT c.id, c.first_name || ' ' || c.last_name, coalesce(c.email, ''), c.phone_digits,
            coalesce((SELECT group_concat(number, ' ') FROM cards WHERE customer_id = c.id AND status = 'active'), '')
     FROM customers c WHERE c.id IN (SELECT value FROM json_each(?1))";

impl Tx<'_> {
    /// Run `f` with the search index's insert and update triggers dropped, put them back, then
    /// (with `reindex_after`) index every customer marked in `self.changes`. A preview, rolled
    /// back and never reading the index, passes `false`.
    pub(crate) fn with_search_index_paused<T>(
        &mut self,
        reindex_after: bool,
        f: impl FnOnce(&mut Tx) -> Result<T>,
    ) -> Result<T> {
        let value = super::set_aside::without(
            self,
            super::set_aside::Kind::Trigger,
            &PAUSED,
            super::set_aside::PutBack::Yes,
            f,
        )?;
        if reindex_after {
            reindex(self, &touched(self)?)?;
        }
        Ok(value)
    }
}

/// The customers whose index row may have changed in this transaction: those marked in
/// `tx.changes`, and — should a write forget to mark one — every customer created or updated,
/// or given a card, at this transaction's time (a scan of each table, small beside a bulk write).
fn touched(tx: &Tx) -> Result<Vec<crate::types::CustomerId>> {
    let mut ids: std::collections::BTreeSet<crate::types::CustomerId> = tx.changes.customers.iter().copied().collect();
    let mut st = tx.prepare(
        "SELECT id FROM customers WHERE created_at = ?1 OR updated_at = ?1
         UNION SELECT customer_id FROM cards WHERE issued_at = ?1",
    )?;
    for id in st.query_map([tx.now], |r| r.get(0))? {
        ids.insert(id?);
    }
    Ok(ids.into_iter().collect())
}

/// How many customers one statement of [`reindex`] rewrites. Each statement inside the
/// transaction keeps, until it ends, a copy of every page it changes (SQLite's statement
/// journal, so it can be undone alone): one statement for a million-row import kept 90 MB.
const REINDEX_BATCH: usize = 25_000;

/// FTS5's buffer of new index entries while many customers are reindexed (its `hashsize`,
/// 1 MiB by default): FTS5 writes the buffer out as a new segment whenever it is full and
/// merges segments as they pile up, so a larger buffer writes fewer, larger segments and
/// merges less. With 25,000 customers a statement: 100,000 customers reindexed in 0.6 s
/// instead of 0.9 s in the import bench, whose FTS5 data table ended with 4,852 rows instead of
/// 6,586 (measured 2026-12-04). Set for the reindex only, and set back to what it was (a value
/// FTS5 could not read counts as none), inside the transaction, so a failure leaves it as it was. The two go together: 25,000
/// customers a statement with the default buffer peaked at 212 MB on a million (review,
/// 2026-12-04), and 18.6 s became 12.5 s for that million with both.
const BULK_HASH_BYTES: i64 = 16 << 20;
/// FTS5's own `hashsize` when none is set.
const FTS5_DEFAULT_HASH_BYTES: i64 = 1 << 20;

/// Rewrite the index rows of `ids` from their customer and active cards, `REINDEX_BATCH` at
/// a time.
pub(crate) fn reindex(tx: &Tx, ids: &[crate::types::CustomerId]) -> Result<()> {
    reindex_by(tx, ids, REINDEX_BATCH)
}

fn set_hash_bytes(tx: &Tx, bytes: i64) -> Result<()> {
    tx.execute("INSERT INTO customers_fts (customers_fts, rank) VALUES ('hashsize', ?1)", [bytes])?;
    Ok(())
}

fn reindex_by(tx: &Tx, ids: &[crate::types::CustomerId], batch: usize) -> Result<()> {
    let bulk = ids.len() > REINDEX_BATCH / 5;
    let before: Option<i64> = if bulk {
        let v = tx
            .query_row("SELECT v FROM customers_fts_config WHERE k = 'hashsize' AND typeof(v) = 'integer'", [], |r| {
                r.get(0)
            })
            .optional()?;
        set_hash_bytes(tx, BULK_HASH_BYTES)?;
        v
    } else {
        None
    };
    for batch in ids.chunks(batch) {
        let list = serde_json::to_string(batch)?;
        tx.execute("DELETE FROM customers_fts WHERE rowid IN (SELECT value FROM json_each(?1))", [&list])?;
        tx.execute(INDEXED_ROW, [&list])?;
    }
    if bulk {
        set_hash_bytes(tx, before.unwrap_or(FTS5_DEFAULT_HASH_BYTES))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::storage::Tx;
    use crate::types::CustomerId;
    use crate::Store;
    use rusqlite::params;

    type Row = (i64, String, String, String, String);

    fn index_rows(store: &Store) -> Vec<Row> {
        let mut st =
            store.conn().prepare("SELECT rowid, name, email, phone, card FROM customers_fts ORDER BY rowid").unwrap();
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))).unwrap();
        rows.map(|r| r.unwrap()).collect()
    }

    fn trigger_count(store: &Store) -> i64 {
        store
            .conn()
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%fts%'", [], |r| {
                r.get(0)
            })
            .unwrap()
    }

    /// The writes of both tests: accents, no email, two cards of which one is blocked, a
    /// renamed customer, a card moved to another customer, `<script>` in a name.
    fn write_customers(tx: &Tx) -> crate::Result<Vec<CustomerId>> {
        let mut ids = Vec::new();
        for (first, last, email, phone) in [
            ("Élodie", "Lefèvre", Some("elodie@example.com"), "0612345678"),
            ("Zoé", "Côté", None, ""),
            ("Jean-Ève", "O'Brien <script>", Some("jean@example.test"), "+15145550123"),
        ] {
            tx.execute(
                "INSERT INTO customers (first_name, last_name, first_fold, last_fold, email, email_norm, phone_digits, created_at, updated_at)
                 VALUES (?1, ?2, ?1, ?2, ?3, ?3, ?4, ?5, ?5)",
                params![first, last, email, phone, tx.now],
            )?;
            ids.push(tx.last_insert_rowid());
        }
        for (cust, number, status) in [
            (ids[0], "C-1", "active"),
            (ids[0], "C-2", "blocked"),
            (ids[0], "C-3", "active"),
            (ids[2], "C-4", "active"),
        ] {
            tx.execute(
                "INSERT INTO cards (customer_id, number, status, issued_at) VALUES (?1, ?2, ?3, ?4)",
                params![cust, number, status, tx.now],
            )?;
        }
        tx.execute("UPDATE customers SET last_name = 'Lefèvre-Roux' WHERE id = ?1", [ids[0]])?;
        tx.execute("UPDATE cards SET customer_id = ?1 WHERE number = 'C-4'", [ids[1]])?;
        Ok(ids)
    }

    /// The customers written the ordinary way: the triggers keep the index.
    fn customers_through_triggers(store: &mut Store) -> Vec<CustomerId> {
        store.transact("test.seed", None, |tx| write_customers(tx)).unwrap().value
    }

    #[test]
    fn reindexing_writes_exactly_the_rows_the_triggers_write() {
        let mut store = Store::open_in_memory().unwrap();
        let ids = customers_through_triggers(&mut store);
        let by_triggers = index_rows(&store);
        assert_eq!(by_triggers.len(), 3, "the triggers indexed the three customers");
        store
            .transact("test.reindex", None, |tx| {
                tx.execute("DELETE FROM customers_fts", [])?;
                super::reindex(tx, &ids)?;
                Ok(())
            })
            .unwrap();
        assert_eq!(index_rows(&store), by_triggers, "the bulk index row must be the one the triggers write");
        // In batches (of one and of two customers): every row written once, the same rows.
        for batch in [1, 2] {
            store
                .transact("test.reindex_batches", None, |tx| {
                    tx.execute("DELETE FROM customers_fts WHERE rowid = ?1", [ids[1]])?;
                    super::reindex_by(tx, &ids, batch)?;
                    Ok(())
                })
                .unwrap();
            assert_eq!(index_rows(&store), by_triggers, "reindexed {batch} at a time, the index is the same");
        }
    }

    #[test]
    fn a_paused_write_leaves_the_index_and_the_triggers_as_the_triggers_would() {
        let mut reference = Store::open_in_memory().unwrap();
        customers_through_triggers(&mut reference);
        let mut store = Store::open_in_memory().unwrap();
        let triggers_before = trigger_count(&store);
        store
            .transact("test.paused", None, |tx| {
                tx.with_search_index_paused(true, |tx| {
                    // The same writes, with nothing kept by triggers while they run.
                    let ids = write_customers(tx)?;
                    let during: i64 = tx.query_row("SELECT count(*) FROM customers_fts", [], |r| r.get(0))?;
                    assert_eq!(during, 0, "while paused, no write adds an index row");
                    for id in ids {
                        tx.changes.customer(id);
                    }
                    Ok(())
                })
            })
            .unwrap();
        assert_eq!(
            index_rows(&store),
            index_rows(&reference),
            "after the pause, the index is what the triggers would have made"
        );
        assert_eq!(trigger_count(&store), triggers_before, "every trigger is back after the pause");
        // And they work again: a rename is indexed by its trigger.
        store
            .transact("test.rename", None, |tx| {
                Ok(tx.execute("UPDATE customers SET first_name = 'Léa' WHERE id = 2", [])?)
            })
            .unwrap();
        assert!(index_rows(&store)[1].1.starts_with("Léa "), "the update trigger is back and keeps the index");
    }

    #[test]
    fn a_customer_written_without_being_marked_is_reindexed_all_the_same() {
        let mut store = Store::open_in_memory().unwrap();
        customers_through_triggers(&mut store);
        store
            .transact("test.unmarked", None, |tx| {
                tx.with_search_index_paused(true, |tx| {
                    // A rename that forgets `tx.changes.customer`, but stamps the customer as
                    // every write does, and a card given to another customer.
                    tx.execute("UPDATE customers SET first_name = 'Noémie', updated_at = ?1 WHERE id = 2", [tx.now])?;
                    tx.execute(
                        "INSERT INTO cards (customer_id, number, status, issued_at) VALUES (3, 'C-9', 'active', ?1)",
                        [tx.now],
                    )?;
                    Ok(())
                })
            })
            .unwrap();
        let rows = index_rows(&store);
        assert!(rows[1].1.starts_with("Noémie "), "the renamed customer is reindexed though not marked: {rows:?}");
        assert!(rows[2].4.contains("C-9"), "the customer given a card is reindexed though not marked: {rows:?}");
    }

    #[test]
    fn a_failed_paused_write_rolls_back_with_its_triggers() {
        let mut store = Store::open_in_memory().unwrap();
        let triggers_before = trigger_count(&store);
        let r: crate::Result<crate::types::Outcome<()>> = store.transact("test.fail", None, |tx| {
            tx.with_search_index_paused(true, |tx| {
                tx.execute(
                    "INSERT INTO customers (first_name, last_name, created_at, updated_at) VALUES ('A', 'B', ?1, ?1)",
                    [tx.now],
                )?;
                Err(crate::Error::conflict("conflict.import_cancelled"))
            })
        });
        assert!(r.is_err());
        assert_eq!(trigger_count(&store), triggers_before, "a failed bulk write leaves every trigger in place");
        let n: i64 = store.conn().query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0, "and nothing of it");
    }

    #[test]
    fn a_bulk_reindex_writes_the_triggers_rows_with_a_larger_buffer_then_puts_fts5s_setting_back() {
        let hash = |store: &Store| -> Option<i64> {
            store.conn().query_row("SELECT v FROM customers_fts_config WHERE k = 'hashsize'", [], |r| r.get(0)).ok()
        };
        let mut store = Store::open_in_memory().unwrap();
        let ids: Vec<CustomerId> = store
            .transact("test.many", None, |tx| {
                let mut ids = Vec::new();
                for i in 0..(super::REINDEX_BATCH / 5 + 700) {
                    tx.execute(
                        "INSERT INTO customers (first_name, last_name, first_fold, last_fold, email, email_norm, phone_digits, created_at, updated_at)
                         VALUES ('Zoé', ?1, 'zoe', ?1, ?2, ?2, ?3, ?4, ?4)",
                        params![format!("Côté{i}"), format!("z{i}@example.com"), format!("06{i:08}"), tx.now],
                    )?;
                    ids.push(tx.last_insert_rowid());
                }
                Ok(ids)
            })
            .unwrap()
            .value;
        let by_triggers = index_rows(&store);
        assert_eq!(hash(&store), None, "a new file leaves FTS5's buffer at its default");
        for (set_before, expected_after) in
            [(None, Some(super::FTS5_DEFAULT_HASH_BYTES)), (Some(2 << 20), Some(2 << 20))]
        {
            store
                .transact("test.bulk", None, |tx| {
                    if let Some(b) = set_before {
                        super::set_hash_bytes(tx, b)?;
                    }
                    tx.execute("DELETE FROM customers_fts", [])?;
                    super::reindex_by(tx, &ids, 1_000)?;
                    Ok(())
                })
                .unwrap();
            assert_eq!(index_rows(&store), by_triggers, "a bulk reindex writes the rows the triggers write");
            assert_eq!(
                hash(&store),
                expected_after,
                "FTS5's buffer is put back as it was (set before: {set_before:?})"
            );
        }
        let found: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM customers_fts WHERE customers_fts MATCH '\"cote12\"'", [], |r| r.get(0))
            .unwrap();
        assert!(found > 0, "the index answers after a bulk reindex");
    }
}
