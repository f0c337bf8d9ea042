//! A large import: the rows are read on a second thread, the indexes the import does not read
//! are built once at the end, the search index is written once. Whatever happens (a cancel,
//! a full disk), the schema comes out exactly as it went in, and after a success every index
//! agrees with its table and serves the app's queries.

use super::{count, csv_file, options};
use crate::data::bulk::{builds_indexes_after, BULK_ROWS, INDEXES_BUILT_AFTER, INDEXES_READ};
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

/// Rows enough for the large-import path.
fn bulk_rows() -> usize {
    let rows = BULK_ROWS as usize + 1_000;
    assert!(builds_indexes_after(rows as u32, 0), "{rows} rows into an empty shop take the large-import path");
    rows
}

fn cache_kib(s: &Store) -> i64 {
    -s.conn().query_row("PRAGMA cache_size", [], |r| r.get::<_, i64>(0)).unwrap()
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
    assert!(builds_indexes_after(100_000, 50_000), "twice as many rows as customers: built once at the end");
    assert!(
        !builds_indexes_after(100_000, 100_000),
        "a shop importing its own full file again (rows that mostly match) writes row by row"
    );
    assert!(!builds_indexes_after(50_000, 1_000_000), "a file small beside the shop does not rebuild its indexes");
}

#[test]
fn a_large_import_leaves_every_index_in_place_consistent_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open_with_clock(dir.path().join("shop.db"), testutil::clock()).unwrap();
    let before = schema(&s);
    let rows = bulk_rows();
    let f = big_file(rows);
    let opts = options(&f, &s);
    let preview = s.import_preview(&f, &opts, &mut |_| true).unwrap();
    assert_eq!(preview.report.counts.new as usize, rows, "the preview sees every row");
    assert_eq!(schema(&s), before, "the preview's rollback brings back what it left out");
    assert_eq!(cache_kib(&s), crate::storage::CACHE_KIB, "the preview puts the usual page cache back");
    let run = s.import_run(&f, &opts, None, &mut |_| true).unwrap().value;
    assert_eq!(run.report.counts.new as usize, rows, "every row imported");
    assert_eq!(cache_kib(&s), crate::storage::CACHE_KIB, "the import puts the usual page cache back");
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
    // 3,000 rows: indexes written row by row; more than BULK_ROWS: built after (storage::set_aside).
    for rows in [3_000usize, bulk_rows()] {
        // How many pages the finished import takes, so a second file can fill up at the very
        // end: while the indexes and the search index are built, or at the commit.
        let scratch = tempfile::tempdir().unwrap();
        let mut full = Store::open_with_clock(scratch.path().join("shop.db"), testutil::clock()).unwrap();
        let f = big_file(rows);
        let opts = options(&f, &full);
        full.import_run(&f, &opts, None, &mut |_| true).unwrap();
        let final_pages: i64 = full.conn().query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        drop(full);

        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_with_clock(dir.path().join("shop.db"), testutil::clock()).unwrap();
        let before = schema(&s);
        let e = s.import_run(&f, &opts, None, &mut |p| p.done < 2_500).map(|_| ()).expect_err("cancelled");
        assert_eq!(e.code(), "conflict", "{rows} rows: a cancel is a cancel: {e:?}");
        let e = s
            .import_run(&f, &opts, None, &mut |p| p.done < p.total)
            .map(|_| ())
            .expect_err("cancelled at the last tick");
        assert_eq!(e.code(), "conflict", "{rows} rows: a cancel at the last tick, before the indexes are built: {e:?}");
        assert_eq!(schema(&s), before, "{rows} rows: the schema is whole after a cancel");
        assert_eq!(cache_kib(&s), crate::storage::CACHE_KIB, "{rows} rows: the usual page cache after a cancel");

        let pages: i64 = s.conn().query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        for (when, cap) in [("early", pages + 20), ("at the end", final_pages - 10)] {
            s.conn().pragma_update(None, "max_page_count", cap).unwrap();
            let e = s.import_run(&f, &opts, None, &mut |_| true).map(|_| ()).expect_err("the file fills up");
            assert_eq!(e.code(), "disk_full", "{rows} rows, full {when}: a full disk has its own code: {e:?}");
            // The preview writes less (no search index, no index built, no commit): at the end
            // it may fit; early it cannot.
            match s.import_preview(&f, &opts, &mut |_| true) {
                Err(e) => assert_eq!(e.code(), "disk_full", "{rows} rows, full {when}: the preview's own code: {e:?}"),
                Ok(_) => assert_eq!(when, "at the end", "{rows} rows: a preview cannot fit in a file full early"),
            }
            assert_eq!(schema(&s), before, "{rows} rows, full {when}: every index and trigger is still there");
            assert_eq!(count(&s, "SELECT count(*) FROM customers"), 0, "{rows} rows, full {when}: nothing written");
            assert_eq!(cache_kib(&s), crate::storage::CACHE_KIB, "{rows} rows, full {when}: the usual page cache");
            let check: String = s.conn().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(check, "ok", "{rows} rows, full {when}: the file is sound");
        }
    }
}

/// A file from one town: the postcode holds more customers than a name is compared with
/// whole. A typing slip is still reported, in either word order, though the customer sorts
/// (and was created) after all the others.
#[test]
fn in_a_crowded_postcode_a_similar_name_is_found_near_the_new_name() {
    let (mut s, _) = testutil::store();
    let mut town = String::from("Prénom;Nom;Code postal\n");
    for i in 0..400 {
        town.push_str(&format!("Client;Numéro {i};69001\n"));
    }
    // Names between "wolfgang" and "yvernault": the name as typed below ("Yvernaut Wolfgang")
    // sorts far from the customer's, and only the swapped words find it.
    for i in 0..30 {
        town.push_str(&format!("Client;Xavier {i};69001\n"));
    }
    town.push_str("Zacharie;Zimmermann;69001\nWolfgang;Yvernault;69001\n");
    super::import_auto(&mut s, &csv_file(&town));
    let id = |last: &str| -> i64 {
        s.conn().query_row("SELECT id FROM customers WHERE last_name = ?1", [last], |r| r.get(0)).unwrap()
    };
    let (zimmermann, yvernault) = (id("Zimmermann"), id("Yvernault"));

    let r = super::import_auto(
        &mut s,
        &csv_file("Prénom;Nom;Code postal\nZacharie;Zimerman;69001\nYvernaut;Wolfgang;69001\n"),
    )
    .report;
    let similar: Vec<Vec<i64>> = r.rows.iter().map(|o| o.similar_to.iter().map(|c| c.id).collect()).collect();
    assert_eq!(
        similar[0],
        vec![zimmermann],
        "a slip in the last name, past the first 300 of the postcode, is reported"
    );
    assert_eq!(similar[1], vec![yvernault], "first and last name typed the other way round, with a slip, are reported");
    assert_eq!(r.counts.new, 2, "reported, never merged");

    // A common last name: a slip in the first name is looked for among the namesakes, around it.
    let mut martins = String::from("Prénom;Nom;Code postal\n");
    for i in 0..400 {
        martins.push_str(&format!("Client{i};Martin;69003\n"));
    }
    martins.push_str("Jean;Martin;69003\n");
    super::import_auto(&mut s, &csv_file(&martins));
    let jean = count(&s, "SELECT id FROM customers WHERE first_name = 'Jean' AND last_name = 'Martin'");
    let r = super::import_auto(&mut s, &csv_file("Prénom;Nom;Code postal\nJaen;Martin;69003\n")).report;
    assert_eq!(
        r.rows[0].similar_to.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![jean],
        "a slip in the first name is found among 400 namesakes"
    );

    // The postcode fills up during one import: its rows are still compared.
    let mut one = String::from("Prénom;Nom;Code postal\n");
    for i in 0..350 {
        one.push_str(&format!("Client;Autre {i};69002\n"));
    }
    one.push_str("Zacharie;Zimmermann;69002\nZacharie;Zimerman;69002\n");
    let r = super::import_auto(&mut s, &csv_file(&one)).report;
    let last =
        r.rows.iter().find(|o| o.name == "Zacharie Zimerman").expect("the row is reported (it has similar names)");
    let zimmermann_here = count(&s, "SELECT id FROM customers WHERE last_name = 'Zimmermann' AND postcode = '69002'");
    assert!(
        last.similar_to.iter().any(|c| c.id == zimmermann_here),
        "a row is compared with the customers the same import created before it: {:?}",
        last.similar_to
    );
}

/// The customer form's check reads 5,000 customers of a postcode; in a larger one, the
/// customers nearest the typed name are compared too.
#[test]
fn the_customer_form_finds_a_similar_name_in_a_postcode_of_more_than_5000() {
    let (mut s, _) = testutil::store();
    let mut town = String::from("Prénom;Nom;Code postal\n");
    for i in 0..5_000 {
        town.push_str(&format!("Client;Numéro {i};69001\n"));
    }
    town.push_str("Zacharie;Zimmermann;69001\n");
    super::import_auto(&mut s, &csv_file(&town));
    let mut typed = crate::customers::CustomerInput {
        first_name: "Zacharie".into(),
        last_name: "Zimerman".into(),
        ..Default::default()
    };
    typed.address.postcode = "69001".into();
    let found: Vec<String> =
        s.possible_duplicates(&typed, None).unwrap().into_iter().map(|d| d.customer.display_name).collect();
    assert_eq!(found, vec!["Zacharie Zimmermann"], "the namesake past the first 5,000 of the postcode is offered");
}

#[test]
fn a_large_import_still_finds_the_shops_customers_and_its_own_earlier_rows_by_email_and_phone() {
    // The large path looks up only the emails and phones the shop may hold (`matching::Known`):
    // a customer already here, and a row repeating an earlier row's address or phone, must
    // still be found.
    let (mut s, _) = testutil::store();
    super::add(&mut s, "Anne", "Déjà", "anne.deja@example.com", "Lyon");
    let paul = super::add(&mut s, "Paul", "Déjà", "", "Lyon");
    s.conn().execute("UPDATE customers SET phone_e164 = '+33698765432' WHERE id = ?1", [paul]).unwrap();
    let rows = bulk_rows();
    let mut text = String::from("Prénom;Nom;E-mail;Téléphone;Ville\n");
    for i in 0..rows {
        text.push_str(&format!(
            "Client{i};Nom{i};client.{i}@example.com;06 12 {:02} {:02} {:02};Nantes\n",
            i / 10_000 % 100,
            i / 100 % 100,
            i % 100
        ));
    }
    text.push_str("Anne;Déjà;ANNE.DEJA@example.com;;Paris\n"); // the shop's Anne, by email
    text.push_str("Paul;Déjà;;06 98 76 54 32;Paris\n"); // the shop's Paul, by phone
    text.push_str("Client7;Nom7;client.7@example.com;;Nantes\n"); // an earlier row, by email
    text.push_str("Client9;Nom9;;06 12 00 00 09;Nantes\n"); // an earlier row, by phone
    let f = csv_file(&text);
    assert!(builds_indexes_after(f.data_len() as u32, 2), "the large path");
    let mut opts = options(&f, &s);
    opts.matching = MatchPolicy::FillEmpty;
    let r = s.import_run(&f, &opts, None, &mut |_| true).unwrap().value.report;
    assert_eq!(r.counts.new as usize, rows, "only the generated rows are new: {:?}", r.counts);
    assert_eq!(r.counts.duplicates_in_file, 2, "rows 7 and 9 found again, by email and by phone: {:?}", r.counts);
    for (sql, what) in [
        ("SELECT count(*) FROM customers WHERE email_norm = 'anne.deja@example.com'", "Anne found by her email"),
        ("SELECT count(*) FROM customers WHERE phone_e164 = '+33698765432'", "Paul found by his phone"),
        ("SELECT count(*) FROM customers WHERE email_norm = 'client.7@example.com'", "row 7 found again by its email"),
        ("SELECT count(*) FROM customers WHERE phone_e164 = '+33612000009'", "row 9 found again by its phone"),
    ] {
        assert_eq!(count(&s, sql), 1, "{what}");
    }
    assert_eq!(count(&s, "SELECT count(*) FROM customers"), rows as i64 + 2, "no customer twice");
}
