//! A sale adds itself to the customer's figures instead of counting them again
//! (`add_sale_to_figures`): over any sequence of sales (late receipts, same instants, fractions
//! of a second), refunds and merges, the figures kept equal the purchases' — visits and spend
//! summed, first and last purchase compared as instants, not as SQLite's text — and no sale of
//! a customer in use is refused along the way (only a merged customer's is).

use super::*;
use crate::clock::Clock;
use crate::testutil::{add, input, store};
use proptest::prelude::*;
use std::collections::HashSet;

#[derive(Debug, Clone)]
enum Op {
    /// A sale, `late` seconds before now (0: now).
    Sale {
        who: usize,
        cents: i64,
        late: i64,
    },
    Refund {
        nth: usize,
        full: bool,
    },
    Merge {
        keep: usize,
        other: usize,
    },
    Wait {
        nanos: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..4usize, 1..5000i64, prop_oneof![Just(0i64), 0..100_000i64]).prop_map(|(who, cents, late)| Op::Sale { who, cents, late }),
        2 => (0..30usize, any::<bool>()).prop_map(|(nth, full)| Op::Refund { nth, full }),
        1 => (0..4usize, 0..4usize).prop_map(|(keep, other)| Op::Merge { keep, other }),
        3 => prop_oneof![Just(1i64), Just(500_000_000i64), 1..3_600_000_000_000i64].prop_map(|nanos| Op::Wait { nanos }),
    ]
}

type Stored = (i64, i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn stored(s: &Store, id: CustomerId) -> Stored {
    s.conn()
        .query_row(
            "SELECT visit_count, total_spent_cents, first_purchase_at, last_purchase_at FROM customers WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
}

/// The figures from the purchases, computed in Rust on parsed instants (not SQLite's text order).
fn oracle(s: &Store, id: CustomerId) -> Stored {
    let rows: Vec<(String, i64, DateTime<Utc>)> = s
        .conn()
        .prepare("SELECT kind, amount_cents, occurred_at FROM purchases WHERE customer_id = ?1")
        .unwrap()
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let sales: Vec<&(String, i64, DateTime<Utc>)> = rows.iter().filter(|r| r.0 == "sale").collect();
    let spent = rows.iter().map(|r| if r.0 == "sale" { r.1 } else { -r.1 }).sum();
    (sales.len() as i64, spent, sales.iter().map(|r| r.2).min(), sales.iter().map(|r| r.2).max())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn figures_kept_by_sales_equal_a_chronological_recount_and_no_sale_is_refused_silently(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        let (mut s, clock) = store();
        let people: Vec<CustomerId> = (0..4).map(|i| add(&mut s, input("Client", &format!("N{i}")))).collect();
        let mut merged: HashSet<usize> = HashSet::new();
        let mut sales: Vec<PurchaseId> = Vec::new();
        for op in ops {
            match op {
                Op::Sale { who, cents, late } => {
                    let occurred_at = (late > 0).then(|| clock.now() - chrono::Duration::seconds(late));
                    let input = SaleInput {
                        customer_id: people[who],
                        amount_cents: cents,
                        occurred_at,
                        note: String::new(),
                        category: String::new(),
                        apply: None,
                    };
                    match s.record_sale(&input, None) {
                        Ok(o) => {
                            prop_assert!(!merged.contains(&who), "a merged customer's sale was recorded");
                            sales.push(o.value.id);
                        }
                        Err(e) => prop_assert!(merged.contains(&who), "sale refused for a live customer: {e:?}"),
                    }
                }
                Op::Refund { nth, full } => {
                    if let Some(&sale_id) = sales.get(nth) {
                        let amount_cents = (!full).then_some(1);
                        let _ = s.refund(&RefundInput { sale_id, amount_cents, note: String::new() }, None);
                    }
                }
                Op::Merge { keep, other } => {
                    let ok = s.merge_customers(people[keep], people[other], None).is_ok();
                    let expected = keep != other && !merged.contains(&keep) && !merged.contains(&other);
                    prop_assert_eq!(ok, expected, "merge {} <- {}", keep, other);
                    if ok {
                        merged.insert(other);
                    }
                }
                Op::Wait { nanos } => clock.advance(chrono::Duration::nanoseconds(nanos)),
            }
            for &id in &people {
                prop_assert_eq!(stored(&s, id), oracle(&s, id), "customer {}", id);
            }
        }
    }
}
