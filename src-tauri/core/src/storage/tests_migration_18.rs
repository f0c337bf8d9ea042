//! Migration 18 (the customers by postcode carry their folded names): a version-17 file keeps
//! every customer, and the similar-name look-ups of the import and of the customer form read
//! the postcode's index alone.

use super::tests::{assert_upgraded_and_sound, clock, file_at_version, plan};
use super::*;

#[test]
fn migration_18_keeps_every_customer_and_the_postcode_look_ups_read_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = file_at_version(&path, 17);
        c.execute_batch(
            "INSERT INTO customers (id, first_name, last_name, first_fold, last_fold, postcode, created_at, updated_at, merged_into) VALUES
               (1, 'Léa', 'Martin', 'lea', 'martin', '69001', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', NULL),
               (2, 'Zoé', 'Roy', 'zoe', 'roy', '69001', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', NULL),
               (3, 'Léa', 'Martin', 'lea', 'martin', '69001', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 1),
               (4, 'Luc', 'Côté', 'luc', 'cote', NULL, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', NULL);",
        )
        .unwrap();
    }
    let store = Store::open_with_clock(&path, clock()).unwrap();
    let c = store.conn();
    assert_upgraded_and_sound(c);
    let in_use: i64 = c
        .query_row(
            "SELECT count(*) FROM customers INDEXED BY customers_by_postcode WHERE postcode = '69001' AND merged_into IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(in_use, 2, "every customer is in the rebuilt index, the merged one set apart by it");
    for sql in [
        "SELECT id, first_fold, last_fold FROM customers WHERE postcode = '69001' AND merged_into IS NULL AND id != 1 LIMIT 301",
        "SELECT id, first_fold, last_fold FROM customers WHERE postcode = '69001' AND (last_fold, first_fold) >= ('martin', 'lea') AND merged_into IS NULL AND id != 1
         ORDER BY last_fold, first_fold LIMIT 25",
        "SELECT id, first_fold, last_fold FROM customers WHERE postcode = '69001' AND (last_fold, first_fold) < ('martin', 'lea') AND merged_into IS NULL AND id != 1
         ORDER BY last_fold DESC, first_fold DESC LIMIT 25",
    ] {
        let p = plan(c, sql);
        assert!(
            p.contains("COVERING INDEX customers_by_postcode") && !p.contains("TEMP B-TREE"),
            "{sql}: the postcode's index alone, in its order; planned as {p}"
        );
        assert!(
            !sql.contains("(last_fold, first_fold)") || p.contains("(last_fold,first_fold)"),
            "{sql}: starts at the name, not at the postcode's first customer; planned as {p}"
        );
    }
}
