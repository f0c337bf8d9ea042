//! The sale at the till beside the bare SQL of the same durable writes: the purchase into
//! `purchases` (with its indexes), the sale added to the customer's figures, the write's
//! idempotency row — one `BEGIN IMMEDIATE … COMMIT` with `synchronous = FULL`, as the core does.
//! `record_sale`'s own baseline (one row into a table without indexes) says what a durable
//! commit costs; this one says what the core adds to the writes a sale needs. The sale benches
//! time product and baseline in alternating blocks (`time_alternating`).

use crate::bench::{latency, BenchResult};
use crate::purchases::SaleInput;
use crate::storage::Store;
use rusqlite::{params, Connection};
use std::time::Instant;

/// Samples in a row of one series before the other takes over (see [`time_alternating`]).
const ALTERNATE_EVERY: usize = 200;

/// Time `product` and `baseline` on the items in turn, [`ALTERNATE_EVERY`] of one then as many
/// of the other, so that a slow moment of the machine (another process, the disk flushing)
/// lands on both series alike: for the benches whose tail is the disk's, two series taken one
/// after the other compared two different minutes. Blocks rather than single samples: a commit
/// on the other connection empties a connection's page cache, which would make every sample
/// start cold. The first operation of each block does start cold, and is counted: so does a
/// sale at the till after the app's background thread wrote the day's figures on its own
/// connection (in this bench: 0.6–1.5 ms against 0.25 at p50). Each series comes back sorted.
pub(crate) fn time_alternating<T>(
    items: &[T],
    mut product: impl FnMut(&T),
    mut baseline: impl FnMut(&T),
) -> (Vec<f64>, Vec<f64>) {
    let (mut p, mut b) = (Vec::with_capacity(items.len()), Vec::with_capacity(items.len()));
    let time = |f: &mut dyn FnMut(&T), block: &[T], out: &mut Vec<f64>| {
        for it in block {
            let t = Instant::now();
            f(it);
            out.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    };
    for (i, block) in items.chunks(ALTERNATE_EVERY).enumerate() {
        if i % 2 == 0 {
            time(&mut product, block, &mut p);
            time(&mut baseline, block, &mut b);
        } else {
            time(&mut baseline, block, &mut b);
            time(&mut product, block, &mut p);
        }
    }
    for v in [&mut p, &mut b] {
        v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    }
    (p, b)
}

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
        let at = chrono::Utc::now();
        bare.execute_batch("BEGIN IMMEDIATE").expect("begin");
        bare.prepare_cached(
            "INSERT INTO purchases (customer_id, kind, amount_cents, occurred_at, recorded_at, category)
             VALUES (?1, 'sale', 1250, ?2, ?2, 'Café')",
        )
        .and_then(|mut s| s.execute(params![id, at]))
        .expect("purchase");
        bare.prepare_cached(
            "UPDATE customers SET visit_count = visit_count + 1, total_spent_cents = total_spent_cents + 1250,
               last_purchase_at = CASE WHEN last_purchase_at IS NULL OR ?2 > last_purchase_at THEN ?2 ELSE last_purchase_at END
             WHERE id = ?1",
        )
        .and_then(|mut s| s.execute(params![id, at]))
        .expect("figures");
        bare.prepare_cached(
            "UPDATE customers SET first_purchase_at = ?2 WHERE id = ?1 AND (first_purchase_at IS NULL OR ?2 < first_purchase_at)",
        )
        .and_then(|mut s| s.execute(params![id, at]))
        .expect("first purchase");
        bare.prepare_cached(
            "INSERT INTO idempotency (key, op, outcome, created_at, fingerprint)
             VALUES (?1, 'bench.same_writes', ?2, ?3, NULL)",
        )
        .and_then(|mut s| s.execute(params![format!("bench-bare-{run}-{bare_key:012}"), outcome, at]))
        .expect("key");
        bare.execute_batch("COMMIT").expect("commit");
    };
    let (product, baseline) = time_alternating(customers, product, baseline);
    Ok(latency("record_sale_same_writes", product, baseline))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn alternating_blocks_run_and_count_every_item_on_both_sides_whichever_goes_first_in_turn() {
        let items: Vec<usize> = (0..ALTERNATE_EVERY * 3 + 7).collect();
        let order = RefCell::new(Vec::new());
        let (p, b) =
            time_alternating(&items, |i| order.borrow_mut().push(('p', *i)), |i| order.borrow_mut().push(('b', *i)));
        let order = order.into_inner();
        assert_eq!(order.len(), items.len() * 2, "every item runs once on each side");
        assert_eq!((p.len(), b.len()), (items.len(), items.len()), "every operation is counted, cold ones too");
        let starts: Vec<char> = order.chunks(ALTERNATE_EVERY).map(|c| c[0].0).collect();
        assert_eq!(&starts[..4], &['p', 'b', 'b', 'p'], "whichever ran second in a block runs first in the next");
        assert!(p.windows(2).all(|w| w[0] <= w[1]) && b.windows(2).all(|w| w[0] <= w[1]), "series come back sorted");
    }
}
