//! Migration 21 (the customer list sorts by churn risk and by segment): a version-20 file
//! keeps its scores, gains the two sort indexes, and its list pages walk them.

use super::tests::{assert_upgraded_and_sound, clock, file_at_version};
use super::*;
use crate::search::{ListRequest, SortBy};

#[test]
fn migration_21_indexes_the_scores_orders_of_an_older_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = file_at_version(&path, 20);
        c.execute_batch(
            "INSERT INTO customers (id, first_name, last_name, first_fold, last_fold, created_at, updated_at) VALUES
               (1, 'Léa', 'Martin', 'lea', 'martin', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
               (2, 'Zoé', 'Roy', 'zoe', 'roy', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
               (3, 'Ana', 'Côté', 'ana', 'cote', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
             INSERT INTO customer_scores VALUES
               (1, 12, 4, 9900, 5, 3, 4, 'loyal', 'champions', 14, 1, 'low', 12000, 6000, 18000, NULL, 'habit'),
               (2, 400, 1, 2500, 1, 1, 2, 'lost', NULL, 30, 0, 'high', 0, 0, 0, 120, 'at_risk');",
        )
        .unwrap();
    }
    let store = Store::open_with_clock(&path, clock()).unwrap();
    assert_upgraded_and_sound(store.conn());
    let scored: i64 = store.conn().query_row("SELECT count(*) FROM customer_scores", [], |r| r.get(0)).unwrap();
    assert_eq!(scored, 2, "every score kept");
    for name in ["customer_scores_by_risk", "customer_scores_by_rank"] {
        let there: bool = store
            .conn()
            .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1)", [name], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(there, "{name} made");
    }
    let compared: i64 = store.conn().query_row("SELECT count(*) FROM programme_comparison", [], |r| r.get(0)).unwrap();
    assert_eq!(compared, 0, "migration 22's table of the customers compared starts empty");
    let order = |sort| -> Vec<i64> {
        store
            .list_customers(&ListRequest { sort, archived: false, after: None, limit: 10 })
            .unwrap()
            .items
            .iter()
            .map(|c| c.id)
            .collect()
    };
    assert_eq!(order(SortBy::ChurnRisk), [2, 1, 3], "the one at risk first, the unscored last");
    assert_eq!(order(SortBy::Segment), [1, 2, 3], "loyal before lost, the unscored last");
}
