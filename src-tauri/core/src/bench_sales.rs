//! The sale at the till beside the bare SQL of the same durable writes: the purchase into
//! `purchases` (with its indexes), the customer's figures brought up to date, the write's
//! idempotency row — one `BEGIN IMMEDIATE … COMMIT` with `synchronous = FULL`, as the core does.
//! `record_sale`'s own baseline (one row into a table without indexes) says what a durable
//! commit costs; this one says what the core adds to the writes a sale needs.

use crate::bench::{latency, time_alternating, BenchResult};
use crate::purchases::SaleInput;
use crate::storage::Store;
use rusqlite::{params, Connection};

pub(crate) fn same_writes(store: &mut Store, bare: &Connection, customers: &[i64]) -> crate::Result<BenchResult> {
    let run = std::process::id();
    let mut key = 0u64;
    // The outcome a sale records with its key is about 290 bytes of JSON.
    let outcome = "x".repeat(290);
    let mut bare_key = 0u64;
    let product = |id: &i64| {
        key += 1;
        let input = SaleInput {
            customer_id: *id,
            amount_cents: 1250,
            occurred_at: None,
            note: String::new(),
            category: "Café".into(),
            apply: None,
        };
        store.record_sale(&input, Some(&format!("bench-same-{run}-{key:012}"))).expect("sale");
    };
    let baseline = |id: &i64| {
        bare_key += 1;
        bare.execute_batch("BEGIN IMMEDIATE").expect("begin");
        bare.prepare_cached(
            "INSERT INTO purchases (customer_id, kind, amount_cents, occurred_at, recorded_at, category)
             VALUES (?1, 'sale', 1250, strftime('%Y-%m-%dT%H:%M:%fZ'), strftime('%Y-%m-%dT%H:%M:%fZ'), 'Café')",
        )
        .and_then(|mut s| s.execute([id]))
        .expect("purchase");
        bare.prepare_cached(
            "UPDATE customers SET
               visit_count = (SELECT count(*) FROM purchases WHERE customer_id = ?1 AND kind = 'sale'),
               total_spent_cents = (SELECT coalesce(sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END), 0) FROM purchases WHERE customer_id = ?1),
               first_purchase_at = (SELECT min(occurred_at) FROM purchases WHERE customer_id = ?1 AND kind = 'sale'),
               last_purchase_at = (SELECT max(occurred_at) FROM purchases WHERE customer_id = ?1 AND kind = 'sale')
             WHERE id = ?1",
        )
        .and_then(|mut s| s.execute([id]))
        .expect("figures");
        bare.prepare_cached(
            "INSERT INTO idempotency (key, op, outcome, created_at, fingerprint)
             VALUES (?1, 'bench.same_writes', ?2, strftime('%Y-%m-%dT%H:%M:%fZ'), NULL)",
        )
        .and_then(|mut s| s.execute(params![format!("bench-bare-{run}-{bare_key:012}"), outcome]))
        .expect("key");
        bare.execute_batch("COMMIT").expect("commit");
    };
    let (product, baseline) = time_alternating(customers, product, baseline);
    Ok(latency("record_sale_same_writes", product, baseline))
}
