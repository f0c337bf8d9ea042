//! Migration 17 (fewer b-trees written by every sale): a version-16 file keeps every row, the
//! idempotency records answer retries as before, each customer is in exactly one of the two
//! last-visit indexes, and the reads that used the dropped indexes still use an index.

use super::tests::{assert_upgraded_and_sound, clock, file_at_version, plan};
use super::*;

#[test]
fn migration_17_keeps_every_row_and_each_read_keeps_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = file_at_version(&path, 16);
        c.execute_batch(
            "INSERT INTO customers (id, first_name, last_name, first_fold, last_fold, created_at, updated_at, last_purchase_at, archived_at, merged_into) VALUES
               (1, 'Léa', 'Martin', 'lea', 'martin', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', '2026-02-01 00:00:00+00:00', NULL, NULL),
               (2, 'Zoé', 'Roy', 'zoe', 'roy', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', NULL, NULL, NULL),
               (3, 'Luc', 'Côté', 'luc', 'cote', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', '2026-01-15 00:00:00+00:00', '2026-03-01 00:00:00+00:00', NULL),
               (4, 'Léa', 'Martin', 'lea', 'martin', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', '2026-01-20 00:00:00+00:00', NULL, 1);
             INSERT INTO idempotency (key, op, outcome, created_at, fingerprint) VALUES
               ('key-0001-abcdef', 'sale.record', '{\"value\":41}', '2026-11-20 00:00:00+00:00', '00ff00ff00ff00ff'),
               ('key-0002-abcdef', 'customer.create', '{\"value\":2}', '2026-11-21 00:00:00+00:00', NULL);",
        )
        .unwrap();
    }
    let store = Store::open_with_clock(&path, clock()).unwrap();
    let c = store.conn();
    assert_upgraded_and_sound(c);
    let keys: Vec<(String, String, String, Option<String>)> = c
        .prepare("SELECT key, op, outcome, fingerprint FROM idempotency ORDER BY key")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        keys,
        vec![
            ("key-0001-abcdef".into(), "sale.record".into(), "{\"value\":41}".into(), Some("00ff00ff00ff00ff".into())),
            ("key-0002-abcdef".into(), "customer.create".into(), "{\"value\":2}".into(), None),
        ],
        "every idempotency record is copied whole, so a retry after the upgrade gets its first answer"
    );
    assert!(
        c.execute(
            "INSERT INTO idempotency (key, op, outcome, created_at) VALUES ('key-0001-abcdef', 'x', 'y', 'z')",
            []
        )
        .is_err(),
        "a key is still recorded once"
    );
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM customers INDEXED BY customers_active_by_last_visit WHERE archived_at IS NULL AND merged_into IS NULL")
            + count("SELECT count(*) FROM customers INDEXED BY customers_inactive_by_last_visit WHERE archived_at IS NOT NULL OR merged_into IS NOT NULL"),
        count("SELECT count(*) FROM customers"),
        "each customer is in exactly one of the two last-visit indexes"
    );
    for (sql, index) in [
        ("SELECT sum(points) FROM points_ledger WHERE customer_id = 1 AND (expires_at IS NULL OR expires_at > '2026')", "points_ledger_by_customer"),
        ("SELECT coalesce(sum(points), 0) FROM points_ledger WHERE customer_id = 1 AND purchase_id = 5 AND kind = 'reverse'", "points_ledger_by_customer"),
        ("SELECT DISTINCT customer_id FROM points_ledger WHERE expires_at > '2026' AND expires_at <= '2027'", "points_ledger_expiring"),
        ("SELECT customer_id FROM purchases WHERE occurred_at >= '2026' AND occurred_at < '2027' AND kind = 'sale'", "purchases_by_date"),
        ("SELECT id FROM customers WHERE last_purchase_at <= '2026' AND archived_at IS NULL AND merged_into IS NULL", "customers_active_by_last_visit"),
        ("SELECT id FROM customers WHERE last_purchase_at <= '2026' AND (archived_at IS NOT NULL OR merged_into IS NOT NULL)", "customers_inactive_by_last_visit"),
        ("SELECT outcome FROM idempotency WHERE key = 'key-0001-abcdef'", "PRIMARY KEY"),
    ] {
        let p = plan(c, sql);
        assert!(p.contains(index), "{sql}: must read {index}, planned as {p}");
    }
}

/// An "any of" filter with a last-visit condition still counts through indexes: SQLite plans
/// each branch of an OR alone, so a branch must name the customers in use itself to use the
/// partial last-visit index (before, the count read that whole index).
#[test]
fn an_any_of_filter_on_the_last_visit_counts_through_indexes() {
    use crate::campaigns::segments::{where_clause, Combine, Condition, SegmentFilter};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with_clock(dir.path().join("shop.db"), clock()).unwrap();
    let p = crate::loyalty::programme::programme(store.conn()).unwrap();
    let facts = crate::loyalty::LoyaltyFacts::new(&p, store.now());
    for other in [Condition::BirthdayMonth { month: 3 }, Condition::NeverBought] {
        let filter = SegmentFilter {
            combine: Combine::Any,
            conditions: vec![Condition::LastPurchaseWithin { days: 30 }, other.clone()],
        };
        let (clause, values) = where_clause(&filter, &facts);
        let refs: Vec<&dyn rusqlite::ToSql> = values.iter().map(|b| b.as_ref()).collect();
        let mut st = store
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN SELECT count(*) FROM customers c WHERE {clause}"))
            .unwrap();
        let plan: Vec<String> =
            st.query_map(refs.as_slice(), |r| r.get::<_, String>(3)).unwrap().collect::<rusqlite::Result<_>>().unwrap();
        let plan = plan.join(" / ");
        assert!(plan.contains("MULTI-INDEX OR"), "last visit or {other:?}: one index per branch, planned as {plan}");
        assert!(!plan.contains("SCAN"), "last visit or {other:?}: no whole index or table read, planned as {plan}");
    }
}
