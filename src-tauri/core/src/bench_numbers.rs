//! The benches of the numbers (see `bench.rs`): the dashboard, the per-day figures after a
//! sale, every customer's scores, a customer's page with their scores, each beside a bare-SQL
//! baseline on the same file in the same run.

use crate::analytics::calendar::Grain;
use crate::analytics::dashboard::DashboardRequest;
use crate::bench::{latency, time_each, BenchResult};
use crate::purchases::SaleInput;
use crate::storage::Store;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::{params, Connection};

pub fn run(store: &mut Store, bare: &Connection, only: &[&str], n: usize) -> crate::Result<Vec<BenchResult>> {
    let wanted = |name: &str| only.is_empty() || only.contains(&name);
    let mut results = Vec::new();
    let now = store.now();
    let month_ago = now - chrono::Duration::days(30);
    if wanted("dashboard_load") {
        // The three views in turn, as the merchant switches between them.
        let grains = [Grain::Day, Grain::Week, Grain::Month];
        let reqs: Vec<DashboardRequest> =
            (0..n.min(300)).map(|i| DashboardRequest { grain: grains[i % 3], until: None }).collect();
        let product = time_each(&reqs, |r| {
            std::hint::black_box(store.dashboard(r).expect("dashboard"));
        });
        // Baseline: the simplest dashboard figure in bare SQL, the last 30 days' revenue.
        let mut st = bare.prepare(
            "SELECT coalesce(sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END), 0), count(*) FROM purchases WHERE occurred_at >= ?1",
        )?;
        let baseline = time_each(&reqs, |_| {
            let _: (i64, i64) = st.query_row([month_ago], |r| Ok((r.get(0)?, r.get(1)?))).expect("revenue");
        });
        results.push(latency("dashboard_load", product, baseline));
    }
    let max_id: i64 = bare.query_row("SELECT max(id) FROM customers WHERE merged_into IS NULL", [], |r| r.get(0))?;
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    if wanted("days_refresh_after_sale") {
        let customers: Vec<i64> = (0..n.min(200)).map(|_| rng.random_range(1..=max_id)).collect();
        let mut key = 0u64;
        let product = time_each(&customers, |id| {
            key += 1;
            let input = SaleInput {
                customer_id: *id,
                amount_cents: 1800,
                occurred_at: None,
                note: String::new(),
                category: String::new(),
                apply: None,
            };
            store.record_sale(&input, Some(&format!("bench-days-{}-{key:012}", std::process::id()))).expect("sale");
            store.refresh_days().expect("days");
        });
        // Baseline: recomputing today's figures from the purchases in bare SQL.
        let start = crate::analytics::calendar::local_midnight(crate::analytics::calendar::local_date(now));
        let mut st = bare.prepare(
            "SELECT count(*), count(DISTINCT customer_id), coalesce(sum(amount_cents), 0) FROM purchases WHERE occurred_at >= ?1",
        )?;
        let baseline = time_each(&customers, |_| {
            let _: (i64, i64, i64) = st.query_row([start], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("today");
        });
        results.push(latency("days_refresh_after_sale", product, baseline));
    }
    if wanted("rfm_scores_100k") {
        // Every customer scored (RFM now and a month ago, rhythm, type, lifetime value) and the
        // changed rows written. Few runs: each reads the whole period.
        let runs: Vec<usize> = (0..5).collect();
        let product = time_each(&runs, |_| {
            store.refresh_scores().expect("scores");
        });
        let since = now - chrono::Duration::days(365);
        let mut st = bare.prepare(
            "SELECT customer_id, count(*), sum(amount_cents), max(occurred_at) FROM purchases WHERE occurred_at >= ?1 GROUP BY customer_id",
        )?;
        let baseline = time_each(&runs, |_| {
            let rows = st.query_map([since], |r| r.get::<_, i64>(1)).expect("rfm");
            std::hint::black_box(rows.count());
        });
        results.push(latency("rfm_scores_100k", product, baseline));
    }
    if wanted("customer_page_with_scores") {
        let ids: Vec<i64> = (0..n).map(|_| rng.random_range(1..=max_id)).collect();
        let product = time_each(&ids, |id| {
            std::hint::black_box(store.customer(*id).expect("customer"));
            std::hint::black_box(store.customer_insight(*id).expect("insight"));
        });
        let mut c = bare.prepare("SELECT * FROM customers WHERE id = ?1")?;
        let mut sc = bare.prepare("SELECT * FROM customer_scores WHERE customer_id = ?1")?;
        let baseline = time_each(&ids, |id| {
            let _: i64 = c.query_row(params![id], |r| r.get(0)).expect("customer");
            let _ = sc.query_row(params![id], |r| r.get::<_, i64>(0));
        });
        results.push(latency("customer_page_with_scores", product, baseline));
    }
    for (name, sort) in [
        ("customer_list_by_value", crate::search::SortBy::ExpectedValue),
        ("customer_list_by_risk", crate::search::SortBy::ChurnRisk),
    ] {
        if !wanted(name) {
            continue;
        }
        // The customer list sorted by a score: the first page, then five more by key, as the
        // merchant scrolls.
        let reqs: Vec<usize> = (0..n.min(300)).collect();
        let product = time_each(&reqs, |_| {
            let mut after = None;
            for _ in 0..6 {
                let req = crate::search::ListRequest { sort, archived: false, after: after.take(), limit: 50 };
                after = store.list_customers(&req).expect("list").next;
            }
        });
        // Baseline: the same six pages of ids in bare SQL, by key on the scores' index.
        let key = sort.score_key().expect("a scores' order");
        let mut st = bare.prepare(&format!(
            "SELECT s.customer_id, {key} FROM customer_scores s JOIN customers c ON c.id = s.customer_id
             WHERE {key} <= ?1 AND ({key}, s.customer_id) < (?1, ?2) AND c.archived_at IS NULL AND c.merged_into IS NULL
             ORDER BY {key} DESC, s.customer_id DESC LIMIT 51"
        ))?;
        let baseline = time_each(&reqs, |_| {
            let mut from = (i64::MAX, i64::MAX);
            for _ in 0..6 {
                let rows: Vec<(i64, i64)> = st
                    .query_map(params![from.0, from.1], |r| Ok((r.get(0)?, r.get(1)?)))
                    .expect("page")
                    .map(|r| r.expect("row"))
                    .collect();
                if let Some((id, v)) = rows.get(49) {
                    from = (*v, *id);
                }
            }
        });
        results.push(latency(name, product, baseline));
    }
    Ok(results)
}
