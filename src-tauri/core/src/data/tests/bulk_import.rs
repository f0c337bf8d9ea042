//! A large import: the rows are read on a second thread, the indexes the import does not read
//! are built once at the end, the search index is written once. Whatever happens (a cancel,
//! a full disk), the schema comes out exactly as it went in, and after a success every index
//! agrees with its table and serves the app's queries.

use super::{count, csv_file, options};
use crate::data::bulk::{builds_indexes_after, INDEXES_BUILT_AFTER, INDEXES_READ};
use crate::data::*;
use crate::storage::Store;
use crate::testutil;

/// Every index and trigger of the file, with its SQL.
fn schema(s: &Store) -> Vec<(String, String, String)> {
    let mut st = s
        .conn()
        .prepare(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name",
        )
        .unwrap();
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

fn big_file(rows: usize) -> ImportFile {
    let mut text = String::from("Prénom;Nom;E-mail;Téléphone;Date de naissance\n");
    for i in 0..rows {
        text.push_str(&format!(
            "Élodie{i};Lefèvre{i};elodie.{i}@example.com;06 12 {:02} {:02} {:02};{:02}/03/1980\n",
            i / 10_000 % 100,
            i / 100 % 100,
            i % 100,
            i % 28 + 1
        ));
    }
    csv_file(&text)
}

fn plan(s: &Store, sql: &str) -> String {
    let mut st = s.conn().prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = st.query_map([], |r| r.get::<_, String>(3)).unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join(" | ")
}

#[test]
fn every_customer_index_is_either_read_by_the_import_or_built_after_it() {
    let (s, _) = testutil::store();
    let mut st = s
        .conn()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'customers' AND sql IS NOT NULL")
        .unwrap();
    let names: Vec<String> = st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    for n in &names {
        let read = INDEXES_READ.contains(&n.as_str());
        let after = INDEXES_BUILT_AFTER.contains(&n.as_str());
        assert!(read ^ after, "a new index of customers must be classed: read by the import's look-ups, or built after a large import ({n})");
    }
    for n in INDEXES_BUILT_AFTER.iter().chain(INDEXES_READ.iter()) {
        assert!(names.iter().any(|x| x == n), "{n} is an index of customers");
    }
}

#[test]
fn indexes_are_built_after_only_when_the_file_outweighs_the_shop() {
    assert!(!builds_indexes_after(4_999, 0), "a small file writes its indexes row by row");
    assert!(builds_indexes_after(5_000, 0), "5,000 rows into an empty shop: built once at the end");
    assert!(builds_indexes_after(100_000, 100_000), "as many rows as customers: built once at the end");
    assert!(!builds_indexes_after(50_000, 1_000_000), "a file small beside the shop does not rebuild its indexes");
}

#[test]
fn a_large_import_leaves_every_index_in_place_consistent_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open_with_clock(dir.path().join("shop.db"), testutil::clock()).unwrap();
    let before = schema(&s);
    let f = big_file(6_000);
    let opts = options(&f, &s);
    let run = s.import_run(&f, &opts, None, &mut |_| true).unwrap().value;
    assert_eq!(run.report.counts.new, 6_000, "every row imported");
    assert_eq!(schema(&s), before, "every index and trigger is back, as the schema wrote it");
    let check: String = s.conn().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok", "every index agrees with its table");
    assert_eq!(
        count(&s, "SELECT count(*) FROM customers INDEXED BY customers_by_birthday WHERE birthday_month = 3 AND birthday_day = 5"),
        count(&s, "SELECT count(*) FROM customers NOT INDEXED WHERE birthday_month = 3 AND birthday_day = 5"),
        "an index built after the writes holds every imported row"
    );
    assert!(
        plan(&s, "SELECT id FROM customers WHERE birthday_month = 3 AND birthday_day = 5")
            .contains("customers_by_birthday"),
        "the app's birthday look-up uses its index again"
    );
    let hits = s.search_customers("lefèvre4321", 5).unwrap();
    assert!(hits.iter().any(|h| h.display_name.contains("Élodie4321")), "the search index has the imported rows");
}

#[test]
fn a_cancel_or_a_full_disk_during_an_import_leaves_the_file_and_its_schema_as_they_were() {
    // 3,000 rows: indexes written row by row; 6,000: built after (storage::set_aside).
    for rows in [3_000usize, 6_000] {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_with_clock(dir.path().join("shop.db"), testutil::clock()).unwrap();
        let before = schema(&s);
        let f = big_file(rows);
        let opts = options(&f, &s);
        let e = s.import_run(&f, &opts, None, &mut |p| p.done < 2_500).expect_err("cancelled");
        assert_eq!(e.code(), "conflict", "{rows} rows: a cancel is a cancel: {e:?}");
        assert_eq!(schema(&s), before, "{rows} rows: the schema is whole after a cancel");

        let pages: i64 = s.conn().query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        s.conn().pragma_update(None, "max_page_count", pages + 20).unwrap();
        let e = s.import_run(&f, &opts, None, &mut |_| true).expect_err("the file fills up");
        assert_eq!(e.code(), "disk_full", "{rows} rows: a full disk during an import has its own code: {e:?}");
        let e = s.import_preview(&f, &opts, &mut |_| true).expect_err("the preview fills it up too");
        assert_eq!(e.code(), "disk_full", "{rows} rows: and so does its preview: {e:?}");
        assert_eq!(schema(&s), before, "{rows} rows: every index and trigger is still there");
        assert_eq!(count(&s, "SELECT count(*) FROM customers"), 0, "{rows} rows: nothing of the import was written");
        let check: String = s.conn().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "{rows} rows: the file is sound");
    }
}
