//! A sale adds itself to the customer's figures instead of counting them again
//! (`add_sale_to_figures`): over any sequence of sales (late receipts, same instants, fractions
//! of a second), refunds and merges, the figures kept equal a recount of the purchases.

use super::*;
use crate::clock::Clock;
use crate::testutil::{add, input, store};
use proptest::prelude::*;

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

/// The figures as stored, and as a recount of the purchases gives them.
type Figures = (i64, i64, Option<String>, Option<String>);

fn stored_and_recounted(s: &Store, id: CustomerId) -> (Figures, Figures) {
    let stored = s
        .conn()
        .query_row(
            "SELECT visit_count, total_spent_cents, first_purchase_at, last_purchase_at FROM customers WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let recounted = s
        .conn()
        .query_row(
            "SELECT count(*) FILTER (WHERE kind = 'sale'),
                    coalesce(sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END), 0),
                    min(occurred_at) FILTER (WHERE kind = 'sale'),
                    max(occurred_at) FILTER (WHERE kind = 'sale')
             FROM purchases WHERE customer_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    (stored, recounted)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn figures_kept_by_sales_equal_a_recount(ops in proptest::collection::vec(op(), 1..60)) {
        let (mut s, clock) = store();
        let people: Vec<CustomerId> = (0..4).map(|i| add(&mut s, input("Client", &format!("N{i}")))).collect();
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
                    // A merged customer's sale is refused; nothing to check then.
                    if let Ok(o) = s.record_sale(&input, None) {
                        sales.push(o.value.id);
                    }
                }
                Op::Refund { nth, full } => {
                    if let Some(&sale_id) = sales.get(nth) {
                        let amount_cents = (!full).then_some(1);
                        let _ = s.refund(&RefundInput { sale_id, amount_cents, note: String::new() }, None);
                    }
                }
                Op::Merge { keep, other } => {
                    let _ = s.merge_customers(people[keep], people[other], None);
                }
                Op::Wait { nanos } => clock.advance(chrono::Duration::nanoseconds(nanos)),
            }
            for &id in &people {
                let (stored, recounted) = stored_and_recounted(&s, id);
                prop_assert_eq!(stored, recounted, "customer {}: the figures a sale keeps equal a recount of the purchases", id);
            }
        }
    }
}
