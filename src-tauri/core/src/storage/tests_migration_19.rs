//! Migration 19 (a customer's balances read from indexes alone): a version-18 file keeps every
//! sale and ledger line, the rebuilt indexes hold every row, and the till's sums over a
//! customer read no table row.

use super::tests::{assert_upgraded_and_sound, clock, file_at_version, plan};
use super::*;

#[test]
fn migration_19_keeps_every_line_and_the_tills_sums_read_indexes_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = file_at_version(&path, 18);
        c.execute_batch(
            "INSERT INTO customers (id, first_name, last_name, first_fold, last_fold, created_at, updated_at) VALUES
               (1, 'Léa', 'Martin', 'lea', 'martin', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
               (2, 'Zoé', 'Roy', 'zoe', 'roy', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
             INSERT INTO purchases (id, customer_id, kind, amount_cents, occurred_at, recorded_at, refund_of) VALUES
               (1, 1, 'sale', 2500, '2026-02-01 10:00:00+00:00', '2026-02-01 10:00:00+00:00', NULL),
               (2, 1, 'sale', 1200, '2026-03-01 10:00:00+00:00', '2026-03-01 10:00:00+00:00', NULL),
               (3, 1, 'refund', 200, '2026-03-02 10:00:00+00:00', '2026-03-02 10:00:00+00:00', 2),
               (4, 2, 'sale', 999, '2026-03-05 10:00:00+00:00', '2026-03-05 10:00:00+00:00', NULL);
             INSERT INTO loyalty_sales (purchase_id, customer_id, points, stamps, carry_after_cents) VALUES
               (1, 1, 25, 1, 0), (2, 1, 12, 1, 40), (4, 2, 9, 1, 99);
             INSERT INTO stamps_ledger (id, customer_id, at, kind, stamps, purchase_id, milestone) VALUES
               (1, 1, '2026-02-01 10:00:00+00:00', 'earn', 1, 1, NULL),
               (2, 1, '2026-03-01 10:00:00+00:00', 'earn', 1, 2, NULL),
               (3, 1, '2026-03-01 10:00:01+00:00', 'redeem', 0, 2, 0),
               (4, 2, '2026-03-05 10:00:00+00:00', 'earn', 1, 4, NULL);",
        )
        .unwrap();
    }
    let store = Store::open_with_clock(&path, clock()).unwrap();
    let c = store.conn();
    assert_upgraded_and_sound(c);
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    for (table, index) in [
        ("purchases", "purchases_by_customer"),
        ("stamps_ledger", "stamps_ledger_by_customer"),
        ("loyalty_sales", "loyalty_sales_by_customer"),
    ] {
        assert_eq!(
            count(&format!("SELECT count(*) FROM {table} INDEXED BY {index} WHERE customer_id > 0")),
            count(&format!("SELECT count(*) FROM {table}")),
            "every row of {table} is in the rebuilt {index}"
        );
    }
    assert_eq!(
        count("SELECT count(*) FROM stamps_ledger INDEXED BY stamps_redeemed_by_customer WHERE customer_id > 0 AND kind = 'redeem'"),
        1,
        "the redeem line is in the claims' own index"
    );
    assert_eq!(
        count("SELECT coalesce(sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END), 0) FROM purchases WHERE customer_id = 1"),
        3500,
        "the spend is the same sum after the upgrade"
    );
    // The look-up's own query, its parameters written in.
    let claimed = crate::loyalty::CLAIMED_MILESTONES_SQL.replace("?1", "1").replace("?2", "0");
    for (sql, index) in [
        ("SELECT coalesce(sum(stamps), 0) FROM stamps_ledger WHERE customer_id = 1", "stamps_ledger_by_customer"),
        (
            "SELECT coalesce(sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END), 0)
             FROM purchases WHERE customer_id = 1 AND occurred_at >= '2026' AND occurred_at <= '2027' AND id IS NOT NULL",
            "purchases_by_customer",
        ),
        (
            "SELECT carry_after_cents FROM loyalty_sales WHERE customer_id = 1 ORDER BY purchase_id DESC LIMIT 1",
            "loyalty_sales_by_customer",
        ),
        (&claimed, "stamps_redeemed_by_customer"),
        ("SELECT points, expires_at FROM points_ledger WHERE customer_id = 1 ORDER BY id", "points_ledger_by_customer"),
    ] {
        let p = plan(c, sql);
        assert!(p.contains(&format!("COVERING INDEX {index}")), "{sql}: must read {index} alone, planned as {p}");
        assert!(!p.contains("TEMP B-TREE"), "{sql}: in the index's order, planned as {p}");
        if sql.contains("stamp_claim_returns") {
            assert!(!p.contains("USING INDEX stamps_ledger_by_customer"), "the claims never walk every line: {p}");
        }
    }
    // The balance read through the rebuilt indexes.
    assert_eq!(store.loyalty_status(1).unwrap().stamps, 2, "two stamps, the claim took none");
}

/// An index that disagrees with its table (a file damaged outside the app) stops the upgrade
/// before anything changes: `VACUUM INTO` copies indexes as they are, and only the full
/// `integrity_check` of the copy compares them with their tables.
#[test]
fn a_file_whose_index_disagrees_with_its_table_is_not_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = file_at_version(&path, 18);
        c.execute_batch(
            "INSERT INTO customers (id, first_name, last_name, first_fold, last_fold, email, email_norm, created_at, updated_at) VALUES
               (1, 'Léa', 'Martin', 'lea', 'martin', 'lea@example.com', 'lea@example.com', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
               (2, 'Zoé', 'Roy', 'zoe', 'roy', 'zoe@example.com', 'zoe@example.com', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
             PRAGMA writable_schema = ON;
             UPDATE sqlite_schema SET sql = 'CREATE INDEX customers_by_email ON customers (first_fold)' WHERE name = 'customers_by_email';
             PRAGMA writable_schema = OFF;",
        )
        .unwrap();
        let quick: String = c.query_row("PRAGMA quick_check", [], |r| r.get(0)).unwrap();
        assert_eq!(quick, "ok", "the damage is one a quick check does not see");
    }
    let opened = Store::open_with_clock(&path, clock());
    assert!(matches!(opened, Err(crate::error::Error::BackupFailed)), "refused: {:?}", opened.err());
    let c = rusqlite::Connection::open(&path).unwrap();
    let v: u32 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, 18, "the live file is left as it was");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!left.iter().any(|n| n.to_string_lossy().contains(".tmp")), "no half-written copy left: {left:?}");
}
