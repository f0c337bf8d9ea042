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
            let check = s.check_figures().unwrap();
            prop_assert_eq!(check.differing, 0, "the whole-file check agrees with the recount: {:?}", check);
        }
    }
}

/// Drift made by hand: spent, a visit, a last purchase that is not the latest sale, figures on
/// a customer with no purchase.
fn drift(s: &Store, sql: &str, id: CustomerId) {
    s.conn().execute(sql, [id]).unwrap();
}

#[test]
fn the_check_names_every_customer_whose_figures_differ_from_their_purchases_and_repair_recounts_only_them() {
    let (mut s, clock) = store();
    let people: Vec<CustomerId> = (0..5).map(|i| add(&mut s, input("Client", &format!("N{i}")))).collect();
    for (i, &id) in people.iter().enumerate().take(4) {
        for k in 0..=i {
            s.record_sale(&sale(id, 1000 + k as i64), None).unwrap();
            clock.advance(chrono::Duration::minutes(5));
        }
    }
    let clean = s.check_figures().unwrap();
    assert_eq!((clean.customers, clean.differing), (5, 0), "figures kept by sales equal the recount: {clean:?}");
    let purchases_before: i64 = s.conn().query_row("SELECT count(*) FROM purchases", [], |r| r.get(0)).unwrap();
    let untouched = stored(&s, people[0]);

    drift(&s, "UPDATE customers SET total_spent_cents = total_spent_cents + 1 WHERE id = ?1", people[1]);
    drift(&s, "UPDATE customers SET visit_count = 0 WHERE id = ?1", people[2]);
    drift(&s, "UPDATE customers SET last_purchase_at = first_purchase_at WHERE id = ?1", people[3]);
    drift(&s, "UPDATE customers SET visit_count = 2, total_spent_cents = 500 WHERE id = ?1", people[4]);
    let found = s.check_figures().unwrap();
    let mut expected = people[1..].to_vec();
    expected.sort();
    assert_eq!(found.differing, 4, "each kind of drift is found: {found:?}");
    assert_eq!(found.first_differing, expected, "named by id, the untouched customer not among them");

    let repaired = s.repair_figures().unwrap();
    assert_eq!(repaired, found, "the repair reports what it recounted");
    assert_eq!(s.check_figures().unwrap().differing, 0, "after the repair the figures equal the purchases");
    for &id in &people {
        assert_eq!(stored(&s, id), oracle(&s, id), "customer {id} recounted from their purchases");
    }
    assert_eq!(stored(&s, people[0]), untouched, "a customer whose figures were right is left as is");
    let purchases_after: i64 = s.conn().query_row("SELECT count(*) FROM purchases", [], |r| r.get(0)).unwrap();
    assert_eq!(purchases_after, purchases_before, "the repair writes figures, never purchases");
}

#[test]
fn the_check_counts_a_refund_against_the_spend_and_not_as_a_visit() {
    let (mut s, _) = store();
    let id = add(&mut s, input("Client", "Rembourse"));
    let sold = s.record_sale(&sale(id, 4000), None).unwrap().value;
    s.refund(&RefundInput { sale_id: sold.id, amount_cents: Some(1500), note: String::new() }, None).unwrap();
    assert_eq!(stored(&s, id).0, 1, "one visit");
    assert_eq!(stored(&s, id).1, 2500, "spent is the sale minus the refund");
    assert_eq!(s.check_figures().unwrap().differing, 0, "the check recounts a refund as the refund does");
}

/// Every test runs a debug build: a sale on figures that drifted stops there, naming the rule.
#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "kept figures must equal a recount of their purchases after a sale")]
fn in_debug_builds_a_sale_on_drifted_figures_stops_with_the_rule() {
    let (mut s, _) = store();
    let id = add(&mut s, input("Client", "Derive"));
    s.record_sale(&sale(id, 1000), None).unwrap();
    drift(&s, "UPDATE customers SET total_spent_cents = 7 WHERE id = ?1", id);
    let _ = s.record_sale(&sale(id, 1000), None);
}

fn sale(customer_id: CustomerId, amount_cents: i64) -> SaleInput {
    SaleInput {
        customer_id,
        amount_cents,
        occurred_at: None,
        note: String::new(),
        category: String::new(),
        apply: None,
    }
}

/// The demo writes its figures from its purchases in one statement (not sale by sale): on a
/// real file, the check finds them equal, and the demo's next sale passes the debug check.
#[test]
fn the_demo_shop_on_a_file_keeps_figures_equal_to_its_purchases() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path().join("demo.db")).unwrap();
    s.generate_demo(crate::demo::DemoSpec::explore()).unwrap();
    let check = s.check_figures().unwrap();
    assert!(check.customers > 100, "a demo shop: {check:?}");
    assert_eq!(check.differing, 0, "the demo's figures equal its purchases: {check:?}");
    let someone: CustomerId = s
        .conn()
        .query_row("SELECT id FROM customers WHERE merged_into IS NULL AND visit_count > 3 LIMIT 1", [], |r| r.get(0))
        .unwrap();
    s.record_sale(&sale(someone, 1250), None).unwrap();
    assert_eq!(s.check_figures().unwrap().differing, 0, "and a sale keeps them so");
}

/// A first purchase that is not the earliest sale (everything else right) is found, named and
/// recounted.
#[test]
fn the_check_finds_a_first_purchase_that_is_not_the_earliest_sale() {
    let (mut s, clock) = store();
    let id = add(&mut s, input("Client", "Premier"));
    s.record_sale(&sale(id, 1000), None).unwrap();
    clock.advance(chrono::Duration::minutes(5));
    s.record_sale(&sale(id, 2000), None).unwrap();
    assert_eq!(s.check_figures().unwrap().differing, 0);
    drift(&s, "UPDATE customers SET first_purchase_at = last_purchase_at WHERE id = ?1", id);
    let found = s.check_figures().unwrap();
    assert_eq!(
        (found.differing, found.first_differing.clone()),
        (1, vec![id]),
        "only the first purchase differs: {found:?}"
    );
    s.repair_figures().unwrap();
    assert_eq!(stored(&s, id), oracle(&s, id), "the first purchase recounted from the sales");
}

/// The debug check at a sale reads each of the four figures: a drift of any one of them that
/// the sale itself does not overwrite stops the sale with the rule.
#[cfg(debug_assertions)]
#[test]
fn in_debug_builds_a_drift_of_any_one_figure_stops_the_next_sale() {
    let drifts = [
        "UPDATE customers SET visit_count = visit_count + 1 WHERE id = ?1",
        "UPDATE customers SET total_spent_cents = total_spent_cents + 1 WHERE id = ?1",
        // Later than every sale: the next sale (now) does not move the first purchase.
        "UPDATE customers SET first_purchase_at = last_purchase_at WHERE id = ?1",
        // In the future: the next sale (now) does not move the last purchase.
        "UPDATE customers SET last_purchase_at = '2999-01-01 00:00:00+00:00' WHERE id = ?1",
    ];
    for set in drifts {
        let (mut s, clock) = store();
        let id = add(&mut s, input("Client", "Derive"));
        s.record_sale(&sale(id, 1000), None).unwrap();
        clock.advance(chrono::Duration::minutes(5));
        s.record_sale(&sale(id, 1000), None).unwrap();
        drift(&s, set, id);
        clock.advance(chrono::Duration::minutes(5));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = s.record_sale(&sale(id, 1000), None);
        }));
        let message = caught
            .err()
            .and_then(|p| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| panic!("the sale after `{set}` did not stop"));
        assert!(message.contains("kept figures must equal a recount"), "`{set}`: {message}");
    }
}

/// More customers than one repair transaction takes: each chunk is recounted, none left over,
/// and the report names the first of them by id.
#[test]
fn repair_recounts_every_differing_customer_across_its_chunks() {
    let (mut s, _) = store();
    let n = super::figures::REPAIR_CHUNK * 2 + 1;
    s.conn()
        .execute(
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
             INSERT INTO customers (first_name, last_name, first_fold, last_fold, created_at, updated_at, visit_count, total_spent_cents)
             SELECT 'Client', 'N' || i, 'client', 'n' || i, '2026-01-01 09:00:00+00:00', '2026-01-01 09:00:00+00:00', 1, 100 FROM k",
            [n as i64],
        )
        .unwrap();
    let found = s.check_figures().unwrap();
    assert_eq!(found.differing, n as i64, "figures without a purchase differ: {found:?}");
    assert_eq!(found.first_differing.len(), super::figures::NAMED, "the first ones named, not all");
    assert_eq!(s.repair_figures().unwrap(), found, "the repair reports what the check found");
    assert_eq!(s.check_figures().unwrap().differing, 0, "every chunk recounted");
}
