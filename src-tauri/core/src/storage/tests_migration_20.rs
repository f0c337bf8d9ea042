//! Migration 20 (a fourth churn level, 'gone'): a version-19 file keeps every score row as it
//! was, the table now takes 'gone', and its indexes are there again.

use super::tests::{assert_upgraded_and_sound, clock, file_at_version};
use super::*;

#[test]
fn migration_20_keeps_every_score_and_takes_the_gone_level() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = file_at_version(&path, 19);
        c.execute_batch(
            "INSERT INTO customers (id, first_name, last_name, first_fold, last_fold, created_at, updated_at) VALUES
               (1, 'Léa', 'Martin', 'lea', 'martin', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
               (2, 'Zoé', 'Roy', 'zoe', 'roy', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
             INSERT INTO analytics_state (key, value) VALUES ('scores.inputs', 'old rules');
             INSERT INTO customer_scores VALUES
               (1, 12, 4, 9900, 5, 3, 4, 'loyal', 'champions', 14, 1, 'low', 12000, 6000, 18000, NULL, 'habit'),
               (2, 400, 1, 2500, 1, 1, 2, 'lost', NULL, 30, 0, 'high', 0, 0, 0, 120, 'at_risk');",
        )
        .unwrap();
    }
    let store = Store::open_with_clock(&path, clock()).unwrap();
    let c = store.conn();
    assert_upgraded_and_sound(c);
    let rows: Vec<(i64, String, String, i64, Option<i64>)> = c
        .prepare(
            "SELECT customer_id, segment, churn, clv_cents, p_alive_permille FROM customer_scores ORDER BY customer_id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        rows,
        [(1, "loyal".into(), "low".into(), 12000, None), (2, "lost".into(), "high".into(), 0, Some(120))],
        "every score kept as it was"
    );
    c.execute("UPDATE customer_scores SET churn = 'gone' WHERE customer_id = 2", []).unwrap();
    assert!(
        c.execute("UPDATE customer_scores SET churn = 'away' WHERE customer_id = 2", []).is_err(),
        "the check stays"
    );
    let indexes: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'customer_scores' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let fingerprint: Option<String> =
        c.query_row("SELECT value FROM analytics_state WHERE key = 'scores.inputs'", [], |r| r.get(0)).ok();
    assert_eq!(fingerprint, None, "the scores are computed again with the new rules");
    for name in
        ["customer_scores_by_churn", "customer_scores_by_clv", "customer_scores_by_kind", "customer_scores_by_segment"]
    {
        assert!(indexes.iter().any(|i| i == name), "{name} made again: {indexes:?}");
    }
}
