//! The benches of the loyalty facts over the whole shop (see `bench.rs`): a segment on the
//! usable points balance and the tier held now, and the points liability — each beside the
//! bare-SQL raw ledger sum it replaced, on the same file in the same run.

use crate::bench::{latency, time_each, BenchResult};
use crate::campaigns::segments::{Combine, Condition, SegmentFilter};
use crate::storage::Store;
use rusqlite::Connection;

pub fn run(store: &mut Store, bare: &Connection, only: &[&str], n: usize) -> crate::Result<Vec<BenchResult>> {
    let wanted = |name: &str| only.is_empty() || only.contains(&name);
    let mut results = Vec::new();
    let rounds: Vec<usize> = (0..n.clamp(1, 20)).collect();
    if wanted("segment_count_loyalty") {
        let filter = SegmentFilter {
            combine: Combine::Any,
            conditions: vec![Condition::PointsAtLeast { points: 100 }, Condition::TierAtLeast { index: 1 }],
        };
        let product = time_each(&rounds, |_| {
            std::hint::black_box(store.segment_count(&filter).expect("count"));
        });
        // Baseline: the raw ledger sum and the kept tiers, as segments read them before.
        let mut st = bare.prepare(
            "SELECT count(*) FROM customers c WHERE c.merged_into IS NULL AND (
                 coalesce((SELECT sum(p.points) FROM points_ledger p WHERE p.customer_id = c.id), 0) >= 100
                 OR EXISTS (SELECT 1 FROM tier_events te WHERE te.customer_id = c.id AND te.tier_index >= 1))",
        )?;
        let baseline = time_each(&rounds, |_| {
            let _: i64 = st.query_row([], |r| r.get(0)).expect("count");
        });
        results.push(latency("segment_count_loyalty", product, baseline));
    }
    if wanted("points_liability") {
        let product = time_each(&rounds, |_| {
            std::hint::black_box(store.points_liability().expect("liability"));
        });
        let mut st = bare.prepare(
            "SELECT coalesce(sum(b), 0) FROM (SELECT max(sum(points), 0) AS b FROM points_ledger GROUP BY customer_id)",
        )?;
        let baseline = time_each(&rounds, |_| {
            let _: i64 = st.query_row([], |r| r.get(0)).expect("sum");
        });
        results.push(latency("points_liability", product, baseline));
    }
    Ok(results)
}
