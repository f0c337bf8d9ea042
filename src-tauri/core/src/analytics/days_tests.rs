use super::*;
use crate::purchases::{RefundInput, SaleInput};
use crate::testutil::{add, input, store};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

/// Noon UTC of a day of November 2026: the same local date in every time zone from UTC-11 to
/// UTC+11, so these tests hold wherever they run.
fn noon(day: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap()
}

fn nov(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
}

fn sell(s: &mut Store, c: CustomerId, cents: i64, day: u32) -> i64 {
    let input = SaleInput {
        customer_id: c,
        amount_cents: cents,
        occurred_at: Some(noon(day)),
        note: String::new(),
        category: String::new(),
        apply: None,
    };
    s.record_sale(&input, None).unwrap().value.id
}

fn stored(s: &Store) -> BTreeMap<NaiveDate, DayFigures> {
    read_days(s.conn(), nov(1) - Duration::days(400), nov(30)).unwrap()
}

#[test]
fn each_day_holds_its_sales_refunds_buyers_and_new_customers() {
    let (mut s, clock) = store();
    clock.set(noon(10));
    let a = add(&mut s, input("Zoé", "Côté"));
    let b = add(&mut s, input("Jérôme", "Lévesque"));
    // Both hold a card from the 10th: earlier receipts are not members' sales.
    clock.set(noon(22));
    sell(&mut s, a, 1000, 5);
    sell(&mut s, a, 2000, 12);
    sell(&mut s, a, 500, 12);
    let sale_b = sell(&mut s, b, 4000, 12);
    s.refund(&RefundInput { sale_id: sale_b, amount_cents: Some(1500), note: String::new() }, None).unwrap();
    let r = s.refresh_days().unwrap();
    assert!(r.rebuilt_all, "the first refresh builds every day");
    let days = stored(&s);
    let d5 = &days[&nov(5)];
    assert_eq!((d5.sales, d5.sales_cents, d5.new_buyers, d5.member_net_cents), (1, 1000, 1, 0), "before the card");
    let d12 = &days[&nov(12)];
    assert_eq!((d12.sales, d12.sales_cents, d12.refunds), (3, 6500, 0));
    assert_eq!(d12.buyers.len(), 2, "two customers, whatever their number of receipts");
    assert_eq!(d12.new_buyers, 1, "Zoé was new on the 5th; only Jérôme is new on the 12th");
    assert_eq!(d12.member_net_cents, 6500, "both held their card");
    let today = &days[&nov(22)];
    assert_eq!((today.refunds, today.refunds_cents, today.sales), (1, 1500, 0), "a refund counts on its own day");
    assert_eq!(today.member_net_cents, -1500);
    assert!(today.buyers.is_empty(), "a refund is not a visit");
    assert_eq!(s.refresh_days().unwrap().days, 0, "nothing new: nothing rebuilt");
    assert!(!s.days_behind().unwrap());
}

#[test]
fn a_late_receipt_before_the_first_purchase_moves_the_new_customer_to_its_day() {
    let (mut s, clock) = store();
    clock.set(noon(25));
    let a = add(&mut s, input("Anaïs", "Thériault"));
    sell(&mut s, a, 1000, 20);
    s.refresh_days().unwrap();
    assert_eq!(stored(&s)[&nov(20)].new_buyers, 1);
    sell(&mut s, a, 800, 3);
    assert!(s.days_behind().unwrap());
    let r = s.refresh_days().unwrap();
    assert!(!r.rebuilt_all, "only what changed");
    let days = stored(&s);
    assert_eq!(days[&nov(3)].new_buyers, 1, "new on the day of the receipt entered late");
    assert_eq!(days[&nov(20)].new_buyers, 0, "and no longer on the 20th");
    assert_eq!(days[&nov(20)].sales, 1);
}

#[test]
fn a_merge_rebuilds_the_days_of_the_kept_customer() {
    let (mut s, clock) = store();
    clock.set(noon(25));
    let a = add(&mut s, input("Léa", "Roy"));
    let b = add(&mut s, input("Léa", "Roy"));
    sell(&mut s, a, 1000, 8);
    sell(&mut s, b, 1000, 8);
    sell(&mut s, b, 700, 2);
    s.refresh_days().unwrap();
    assert_eq!(stored(&s)[&nov(8)].buyers.len(), 2);
    s.merge_customers(a, b, None).unwrap();
    s.refresh_days().unwrap();
    let days = stored(&s);
    assert_eq!(days[&nov(8)].buyers.len(), 1, "one person after the merge");
    assert_eq!(days[&nov(8)].new_buyers, 0, "the merged customer was new on the 2nd");
    assert_eq!(days[&nov(2)].new_buyers, 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Whatever the order of sales, late receipts, refunds and merges, the incremental refresh
    /// ends where a full rebuild from the purchases ends.
    #[test]
    fn incremental_refreshes_equal_a_full_rebuild(ops in prop::collection::vec((0u8..4, 0usize..4, 1u32..24, 1i64..5000), 1..25)) {
        let (mut s, clock) = store();
        clock.set(noon(24));
        let people: Vec<CustomerId> = (0..4).map(|i| add(&mut s, input("Élodie", &format!("Client{i}")))).collect();
        let mut sales: Vec<i64> = Vec::new();
        for (op, who, day, cents) in ops {
            match op {
                0 | 1 => {
                    let input = SaleInput {
                        customer_id: people[who],
                        amount_cents: cents,
                        occurred_at: Some(noon(day)),
                        note: String::new(),
                        category: String::new(),
                        apply: None,
                    };
                    // A merged customer takes no more sales.
                    if let Ok(o) = s.record_sale(&input, None) {
                        sales.push(o.value.id);
                    }
                }
                2 => if let Some(id) = sales.get(who % sales.len().max(1)).copied() {
                    let _ = s.refund(&RefundInput { sale_id: id, amount_cents: Some(1), note: String::new() }, None);
                },
                _ => { let _ = s.merge_customers(people[0], people[1 + who % 3], None); }
            }
            if day % 3 == 0 {
                s.refresh_days().unwrap();
            }
        }
        s.refresh_days().unwrap();
        let full = compute_days(s.conn(), None).unwrap();
        prop_assert_eq!(stored(&s), full);
    }
}
