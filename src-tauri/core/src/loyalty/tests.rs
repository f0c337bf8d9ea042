use super::*;
use crate::clock::Clock;
use crate::loyalty::Apply;
use crate::purchases::{RefundInput, SaleInput};
use crate::testutil::{add, input, store};
use crate::types::CustomerId;
use crate::Store;

fn programme() -> Programme {
    Programme {
        points: Some(PointsRule { points_per_unit: 1, unit_cents: 100, points_per_visit: 0 }),
        stamps: Some(StampRule {
            per_visit: 1,
            milestones: vec![StampMilestone { stamps: 10, label: "Café offert".into() }],
        }),
        actions: vec![ActionRule { action: Action::Review, points: 20, max_per_year: Some(1) }],
        ..Programme::default()
    }
}

fn sell(s: &mut Store, c: CustomerId, cents: i64) -> i64 {
    let i = SaleInput {
        customer_id: c,
        amount_cents: cents,
        occurred_at: None,
        note: String::new(),
        category: String::new(),
        apply: None,
    };
    s.record_sale(&i, None).unwrap().value.id
}

fn ledger_sum(s: &Store, c: CustomerId) -> i64 {
    s.conn()
        .query_row("SELECT coalesce(sum(points), 0) FROM points_ledger WHERE customer_id = ?1", [c], |r| r.get(0))
        .unwrap()
}

fn setup(p: Programme) -> (Store, std::sync::Arc<crate::clock::FixedClock>, CustomerId) {
    let (mut s, clock) = store();
    s.save_loyalty_programme(&p, None).unwrap();
    let c = add(&mut s, input("Élodie", "Lefèvre"));
    (s, clock, c)
}

#[test]
fn sales_earn_points_and_stamps_and_the_remainder_carries_over() {
    let (mut s, _, c) = setup(programme());
    sell(&mut s, c, 1250);
    sell(&mut s, c, 1250);
    let st = s.loyalty_status(c).unwrap();
    assert_eq!(st.points, 25, "12.50 + 12.50 = 25.00 €: 12 points, then 13 with the 50 c carried");
    assert_eq!(st.carry_cents, 0);
    assert_eq!(st.stamps, 2, "one stamp per visit");
    assert!(!st.milestones[0].reached);
    let ledger = s.points_ledger(c, 10).unwrap();
    assert!(ledger.iter().all(|e| e.kind == "earn" && !e.lines.is_empty()), "every earned point is explained");
}

#[test]
fn without_a_programme_sales_earn_nothing() {
    let (mut s, _) = store();
    let c = add(&mut s, input("Jean", "Martin"));
    sell(&mut s, c, 5000);
    assert_eq!(s.loyalty_status(c).unwrap().points, 0);
}

#[test]
fn a_refund_takes_back_exactly_what_its_sale_earned() {
    let (mut s, _, c) = setup(programme());
    let first = sell(&mut s, c, 1000);
    sell(&mut s, c, 2000);
    s.refund(&RefundInput { sale_id: first, amount_cents: Some(500), note: String::new() }, None).unwrap();
    assert_eq!(s.loyalty_status(c).unwrap().points, 25, "half of the 10 points go back: 30 − 5");
    assert_eq!(s.loyalty_status(c).unwrap().stamps, 2, "a partial refund keeps the visit's stamp");
    s.refund(&RefundInput { sale_id: first, amount_cents: None, note: String::new() }, None).unwrap();
    let st = s.loyalty_status(c).unwrap();
    assert_eq!(st.points, 20, "the full refund takes back all 10 points of that sale, no more");
    assert_eq!(st.stamps, 1, "and its stamp");
    assert_eq!(ledger_sum(&s, c), st.points, "the balance is its ledger");
}

#[test]
fn rewards_spend_points_never_more_than_the_balance() {
    let (mut s, _, c) = setup(programme());
    let reward = RewardInput {
        name: "Bon de 5 €".into(),
        kind: RewardKind::Voucher,
        points_cost: 50,
        value: 500,
        stock: Some(1),
        per_customer_limit: None,
        valid_from: None,
        valid_to: None,
        voucher_days: 60,
        active: true,
    };
    let r = s.save_reward(None, &reward, None).unwrap().value;
    sell(&mut s, c, 4000);
    let req = RedeemRequest { customer_id: c, reward_id: Some(r.id), points: None, purchase_id: None };
    let err = s.redeem(&req, None).unwrap_err();
    assert_eq!(err.code(), "conflict", "40 points cannot pay a 50-point reward");
    sell(&mut s, c, 2000);
    let out = s.redeem(&req, Some("redeem-key-1")).unwrap();
    let again = s.redeem(&req, Some("redeem-key-1")).unwrap();
    assert!(again.replayed, "a double click redeems once");
    assert_eq!(out.value.points, 50);
    let voucher = out.value.voucher.expect("a voucher reward gives a voucher");
    assert_eq!((voucher.value, voucher.customer_id), (500, Some(c)), "attached to the customer");
    let st = s.loyalty_status(c).unwrap();
    assert_eq!(st.points, 10);
    assert_eq!(st.vouchers.len(), 1, "the voucher shows at the till by itself");
    let other = add(&mut s, input("Paul", "Durand"));
    sell(&mut s, other, 9000);
    let out_of_stock = s.redeem(&RedeemRequest { customer_id: other, ..req.clone() }, None).unwrap_err();
    assert_eq!(out_of_stock.code(), "conflict", "stock of 1 is used up");
    assert!(
        !s.loyalty_status(other).unwrap().rewards.iter().any(|o| o.reward.id == r.id),
        "the till does not offer a reward whose stock is used up (its count is still taken)"
    );

    let partial = s
        .redeem(&RedeemRequest { customer_id: other, reward_id: None, points: Some(40), purchase_id: None }, None)
        .unwrap();
    assert_eq!(partial.value.discount_cents, 40, "any part of the balance, at 1 € per 100 points");
    assert_eq!(s.loyalty_status(other).unwrap().points, 50);
    let too_much = s
        .redeem(&RedeemRequest { customer_id: other, reward_id: None, points: Some(51), purchase_id: None }, None)
        .unwrap_err();
    assert_eq!(too_much.code(), "conflict", "never more than they have");
    sell(&mut s, other, 9000);
    let unlimited = s
        .save_reward(None, &RewardInput { stock: None, name: "Café offert".into(), ..reward.clone() }, None)
        .unwrap()
        .value;
    s.redeem(
        &RedeemRequest { customer_id: other, reward_id: Some(unlimited.id), points: None, purchase_id: None },
        None,
    )
    .unwrap();
    let offered = s.loyalty_status(other).unwrap();
    let offer =
        offered.rewards.iter().find(|o| o.reward.id == unlimited.id).expect("an unlimited reward stays on offer");
    assert_eq!(offer.reward.redeemed, 0, "at the till an unlimited reward is not counted (it reads the whole shop)");
    let listed = s.rewards(false).unwrap();
    assert_eq!(listed.iter().find(|x| x.id == unlimited.id).unwrap().redeemed, 1, "the catalogue counts every reward");
    assert_eq!(listed.iter().find(|x| x.id == r.id).unwrap().redeemed, 1);
}

#[test]
fn a_voucher_is_used_once_by_its_customer_and_comes_back_with_a_full_refund() {
    let (mut s, clock, c) = setup(programme());
    let input = VoucherInput {
        customer_id: Some(c),
        kind: VoucherKind::Amount,
        value: 1000,
        expires_at: clock.now() + chrono::Duration::days(30),
        reason: "Geste commercial".into(),
        staff: "Marie".into(),
    };
    let v = s.issue_voucher(&input, None).unwrap().value;
    let stranger = add(&mut s, crate::testutil::input("Paul", "Durand"));
    assert_eq!(
        s.use_voucher(&v.code, Some(stranger), None, None).unwrap_err().code(),
        "conflict",
        "not someone else's"
    );
    let sale = sell(&mut s, c, 3000);
    let used = s.use_voucher(&v.code.to_lowercase(), Some(c), Some(sale), None).unwrap().value;
    assert!(used.used_at.is_some());
    assert_eq!(s.use_voucher(&v.code, Some(c), None, None).unwrap_err().code(), "conflict", "single use");
    s.refund(&RefundInput { sale_id: sale, amount_cents: None, note: String::new() }, None).unwrap();
    assert_eq!(s.loyalty_status(c).unwrap().vouchers.len(), 1, "a fully refunded sale gives its voucher back");
    let no_reason = VoucherInput { reason: " ".into(), ..input };
    assert_eq!(
        s.issue_voucher(&no_reason, None).unwrap_err().code(),
        "validation",
        "a goodwill gesture carries a reason"
    );
}

#[test]
fn refunding_a_sale_paid_with_points_does_not_take_the_points_twice() {
    let (mut s, _, c) = setup(programme());
    sell(&mut s, c, 10_000);
    let sale = sell(&mut s, c, 2000);
    let r = s
        .redeem(&RedeemRequest { customer_id: c, reward_id: None, points: Some(100), purchase_id: Some(sale) }, None)
        .unwrap();
    assert_eq!(r.value.discount_cents, 100);
    assert_eq!(s.loyalty_status(c).unwrap().points, 20, "120 earned − 100 spent");
    s.refund(&RefundInput { sale_id: sale, amount_cents: None, note: String::new() }, None).unwrap();
    let st = s.loyalty_status(c).unwrap();
    assert_eq!(st.points, 100, "the 20 points of the sale go back and the 100 spent on it come back: 20 − 20 + 100");
}

#[test]
fn manual_adjustments_carry_a_reason_and_a_staff_member() {
    let (mut s, _, c) = setup(programme());
    assert_eq!(s.adjust_points(c, 10, "", "Marie", None).unwrap_err().code(), "validation", "no reason, no gesture");
    assert_eq!(
        s.adjust_points(c, 10, "Anniversaire", "", None).unwrap_err().code(),
        "validation",
        "who gave it is recorded"
    );
    s.adjust_points(c, 10, "Geste commercial", "Marie", None).unwrap();
    assert_eq!(
        s.adjust_points(c, -11, "Correction", "Marie", None).unwrap_err().code(),
        "conflict",
        "never below zero"
    );
    s.adjust_points(c, -4, "Correction", "Marie", None).unwrap();
    let ledger = s.points_ledger(c, 10).unwrap();
    assert_eq!(ledger[0].reason.as_deref(), Some("Correction"));
    assert_eq!(ledger[0].staff.as_deref(), Some("Marie"));
    assert_eq!(s.loyalty_status(c).unwrap().points, 6);
}

#[test]
fn actions_earn_points_within_their_yearly_limit() {
    let (mut s, _, c) = setup(programme());
    assert_eq!(s.grant_action(c, Action::Review, "Marie", None).unwrap().value, 20);
    assert_eq!(s.grant_action(c, Action::Review, "Marie", None).unwrap_err().code(), "conflict", "once a year");
    assert_eq!(
        s.grant_action(c, Action::Survey, "Marie", None).unwrap_err().code(),
        "conflict",
        "not in the programme"
    );
}

#[test]
fn points_expire_oldest_first_and_the_expiry_is_written_in_the_ledger() {
    let (mut s, clock, c) = setup(Programme { expiry: Expiry::AfterMonths { months: 1 }, ..programme() });
    sell(&mut s, c, 1000);
    clock.advance(chrono::Duration::days(20));
    sell(&mut s, c, 500);
    let soon = s.points_expiring_soon().unwrap();
    assert_eq!(soon.len(), 1, "listed while expiring in the next 30 days");
    assert_eq!(
        soon[0].points, 10,
        "the 10 points of the first sale expire within 30 days; the 5 new ones a month later"
    );
    s.redeem(&RedeemRequest { customer_id: c, reward_id: None, points: Some(4), purchase_id: None }, None).unwrap();
    clock.advance(chrono::Duration::days(15));
    let st = s.loyalty_status(c).unwrap();
    assert_eq!(st.points, 5, "the first lot (10, of which 4 were spent) expired: 6 gone, 5 left");
    assert_eq!(s.run_points_expiry().unwrap().value, 6);
    assert_eq!(ledger_sum(&s, c), 5, "the ledger records the expiry");
    assert_eq!(s.run_points_expiry().unwrap().value, 0, "and only once");
}

#[test]
fn inactivity_expires_the_whole_balance() {
    let (mut s, clock, c) = setup(Programme { expiry: Expiry::AfterInactivityMonths { months: 6 }, ..programme() });
    sell(&mut s, c, 3000);
    clock.advance(chrono::Duration::days(190));
    assert_eq!(s.loyalty_status(c).unwrap().points, 0);
    assert_eq!(s.run_points_expiry().unwrap().value, 30);
}

#[test]
fn tiers_upgrade_at_once_with_their_entry_points_and_multiply_earning() {
    let tiers = TierRules {
        basis: TierBasis::Spend,
        period: TierPeriod::CalendarYear,
        tiers: vec![
            Tier { name: "Bronze".into(), threshold: 0, percent: 100, advantages: String::new(), entry_points: 0 },
            Tier {
                name: "Argent".into(),
                threshold: 10_000,
                percent: 150,
                advantages: "Café offert le lundi".into(),
                entry_points: 25,
            },
        ],
    };
    let (mut s, _, c) = setup(Programme { tiers: Some(tiers), ..programme() });
    sell(&mut s, c, 9000);
    let st = s.loyalty_status(c).unwrap();
    assert_eq!(st.tier.as_ref().unwrap().name, "Bronze");
    assert_eq!(st.next_tier.as_ref().unwrap().missing, 1000, "10 € more to reach silver");
    sell(&mut s, c, 1000);
    let st = s.loyalty_status(c).unwrap();
    assert_eq!(st.tier.as_ref().unwrap().name, "Argent", "upgraded by the sale that crossed the threshold");
    assert_eq!(st.points, 90 + 10 + 25, "that sale earns at the old rate, plus the entry reward");
    sell(&mut s, c, 1000);
    assert_eq!(s.loyalty_status(c).unwrap().points, 125 + 15, "then ×1.5");
}

#[test]
fn liability_and_suspicious_activity() {
    let (mut s, clock, c) = setup(programme());
    for _ in 0..5 {
        sell(&mut s, c, 1000);
    }
    let l = s.points_liability().unwrap();
    assert_eq!((l.points, l.value_cents), (50, 50), "50 points owed, worth 0.50 € at 1 € per 100 points");
    let day = crate::analytics::calendar::local_date(clock.now());
    let list = s.suspicious_activity(day, SuspiciousPeriod::Day).unwrap();
    assert_eq!(list.len(), 1, "5 operations in a day are listed");
    assert_eq!(list[0].operations, 5);
}

#[test]
fn a_merge_brings_the_points_and_vouchers_along() {
    let (mut s, _, keep) = setup(programme());
    let other = add(&mut s, input("Elodie", "Lefevre"));
    sell(&mut s, keep, 1000);
    sell(&mut s, other, 2000);
    s.merge_customers(keep, other, None).unwrap();
    assert_eq!(s.loyalty_status(keep).unwrap().points, 30);
    assert_eq!(s.loyalty_status(keep).unwrap().stamps, 2);
}

#[test]
fn two_redemptions_racing_for_the_same_points_or_voucher_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let (c, code) = {
        let mut s = Store::open(&path).unwrap();
        s.save_loyalty_programme(&programme(), None).unwrap();
        let c = add(&mut s, input("Élodie", "Lefèvre"));
        sell(&mut s, c, 10_000);
        let v = s
            .issue_voucher(
                &VoucherInput {
                    customer_id: Some(c),
                    kind: VoucherKind::Percent,
                    value: 10,
                    expires_at: s.now() + chrono::Duration::days(10),
                    reason: "Test".into(),
                    staff: "Marie".into(),
                },
                None,
            )
            .unwrap()
            .value;
        (c, v.code)
    };
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            let code = code.clone();
            std::thread::spawn(move || {
                let mut s = Store::open(&path).unwrap();
                let points = s.redeem(
                    &RedeemRequest { customer_id: c, reward_id: None, points: Some(80), purchase_id: None },
                    Some(&format!("race-points-{i}")),
                );
                let voucher = s.use_voucher(&code, Some(c), None, Some(&format!("race-voucher-{i}")));
                (points.is_ok(), voucher.is_ok())
            })
        })
        .collect();
    let results: Vec<(bool, bool)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.0).count(), 1, "100 points, 8 tills asking for 80: exactly one wins");
    assert_eq!(results.iter().filter(|r| r.1).count(), 1, "one voucher, 8 tills: exactly one use");
    let s = Store::open(&path).unwrap();
    assert_eq!(s.loyalty_status(c).unwrap().points, 20);
    assert_eq!(ledger_sum(&s, c), 20);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Sale { who: usize, cents: i64 },
        Refund { nth: usize, part: Option<i64> },
        Redeem { who: usize, points: i64 },
        Adjust { who: usize, points: i64 },
        Wait { days: i64 },
        Expire,
        Merge,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..2usize, 1..20_000i64).prop_map(|(who, cents)| Op::Sale { who, cents }),
            2 => (0..50usize, proptest::option::of(1..20_000i64)).prop_map(|(nth, part)| Op::Refund { nth, part }),
            2 => (0..2usize, 1..300i64).prop_map(|(who, points)| Op::Redeem { who, points }),
            1 => (0..2usize, -100..100i64).prop_map(|(who, points)| Op::Adjust { who, points }),
            1 => (1..60i64).prop_map(|days| Op::Wait { days }),
            1 => Just(Op::Expire),
            1 => Just(Op::Merge),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Over any sequence of earning, redeeming, refunds (partial or full), expiry, manual
        /// adjustments and a merge, every balance equals its ledger and is never negative.
        #[test]
        fn every_balance_equals_its_ledger_and_is_never_negative(ops in proptest::collection::vec(op(), 1..40)) {
            let (mut s, clock, a) = setup(Programme { expiry: Expiry::AfterMonths { months: 2 }, ..programme() });
            let b = add(&mut s, input("Paul", "Durand"));
            let mut who = [a, b];
            let mut sales: Vec<i64> = Vec::new();
            for op in ops {
                match op {
                    Op::Sale { who: w, cents } => sales.push(sell(&mut s, who[w], cents)),
                    Op::Refund { nth, part } => {
                        if let Some(id) = sales.get(nth % sales.len().max(1)) {
                            let _ = s.refund(&RefundInput { sale_id: *id, amount_cents: part, note: String::new() }, None);
                        }
                    }
                    Op::Redeem { who: w, points } => {
                        let _ = s.redeem(&RedeemRequest { customer_id: who[w], reward_id: None, points: Some(points), purchase_id: None }, None);
                    }
                    Op::Adjust { who: w, points } => {
                        let _ = s.adjust_points(who[w], points, "Correction", "Test", None);
                    }
                    Op::Wait { days } => clock.advance(chrono::Duration::days(days)),
                    Op::Expire => { s.run_points_expiry().unwrap(); }
                    Op::Merge => {
                        if who[0] != who[1] {
                            s.merge_customers(who[0], who[1], None).unwrap();
                            who[1] = who[0];
                        }
                    }
                }
                for c in [a, b] {
                    let lots = rules::replay(&ledgers::movements_for_test(&s, c));
                    let replayed = rules::balance(&lots);
                    let sum = ledger_sum(&s, c);
                    prop_assert_eq!(replayed, sum, "the replayed balance is the ledger's sum");
                    prop_assert!(sum >= 0, "a balance is never negative");
                    prop_assert!(lots.iter().all(|l| l.remaining >= 0));
                    let usable = s.loyalty_status(c).unwrap().points;
                    prop_assert!(usable >= 0 && usable <= sum, "usable points are the balance less what is due to expire");
                }
            }
            prop_assert!(s.integrity_check().unwrap());
        }
    }
}

#[test]
fn the_demo_shop_has_ledgers_that_match_its_sales() {
    let (mut s, _) = store();
    s.generate_demo(crate::demo::DemoSpec { customers: 50, purchases: 600, seed: 3 }).unwrap();
    for c in 1..=50 {
        let lots = rules::replay(&ledgers::movements_for_test(&s, c));
        assert!(rules::balance(&lots) >= 0);
        assert_eq!(rules::balance(&lots), ledger_sum(&s, c), "customer {c}: balance is the ledger");
        let stamps: i64 = s
            .conn()
            .query_row("SELECT coalesce(sum(stamps), 0) FROM stamps_ledger WHERE customer_id = ?1", [c], |r| r.get(0))
            .unwrap();
        assert!(stamps >= 0);
    }
    assert!(s.loyalty_programme().unwrap().is_active(), "the demo shop comes with a programme to explore");
    // Customers already hold their tier: their next sale earns no entry bonus by surprise.
    let best: i64 = s
        .conn()
        .query_row("SELECT id FROM customers ORDER BY total_spent_cents DESC LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let before = s.loyalty_status(best).unwrap().points;
    let sale = sell(&mut s, best, 1000);
    let earned = s.sale_earning(sale).unwrap().unwrap().points;
    assert_eq!(
        s.loyalty_status(best).unwrap().points - before,
        earned,
        "the balance grows by what the sale earned, no more"
    );
}

#[test]
fn stamp_milestones_are_claimed_once_per_card_and_the_full_card_starts_again() {
    let p = Programme {
        stamps: Some(StampRule {
            per_visit: 1,
            milestones: vec![
                StampMilestone { stamps: 5, label: "-10 %".into() },
                StampMilestone { stamps: 10, label: "Café offert".into() },
            ],
        }),
        ..Programme::default()
    };
    let (mut s, _, c) = setup(p);
    for _ in 0..4 {
        sell(&mut s, c, 300);
    }
    assert_eq!(s.redeem_stamps(c, 0, None).unwrap_err().code(), "conflict", "4 stamps do not reach the 5th");
    sell(&mut s, c, 300);
    s.redeem_stamps(c, 0, None).unwrap();
    assert_eq!(s.redeem_stamps(c, 0, None).unwrap_err().code(), "conflict", "once per card");
    for _ in 0..6 {
        sell(&mut s, c, 300);
    }
    assert_eq!(
        s.redeem_stamps(c, 1, None).unwrap().value,
        1,
        "the 10th coffee is free; the 11th stamp starts the next card"
    );
    let st = s.loyalty_status(c).unwrap();
    assert_eq!(st.stamps, 1);
    assert!(st.milestones.iter().all(|m| !m.claimed && !m.reached), "a new card: nothing claimed yet");
}

fn sell_with(s: &mut Store, c: CustomerId, cents: i64, apply: Apply) -> crate::Result<crate::purchases::Purchase> {
    let i = SaleInput {
        customer_id: c,
        amount_cents: cents,
        occurred_at: None,
        note: String::new(),
        category: String::new(),
        apply: Some(apply),
    };
    s.record_sale(&i, None).map(|o| o.value)
}

#[test]
fn a_reward_or_voucher_is_used_in_the_same_sale_and_comes_back_with_a_full_refund() {
    let (mut s, clock, c) = setup(programme());
    let five_off = RewardInput {
        name: "5 € de remise".into(),
        kind: RewardKind::FixedDiscount,
        points_cost: 50,
        value: 500,
        stock: None,
        per_customer_limit: None,
        valid_from: None,
        valid_to: None,
        voucher_days: 90,
        active: true,
    };
    let r = s.save_reward(None, &five_off, None).unwrap().value;
    sell(&mut s, c, 6000);
    let sale = sell_with(&mut s, c, 2000, Apply::Reward { reward_id: r.id }).unwrap();
    assert_eq!(sale.amount_cents, 1500, "the ticket of 20 € minus the 5 € reward: 15 € paid and recorded");
    assert_eq!(s.loyalty_status(c).unwrap().points, 60 - 50 + 15, "50 points spent; 15 earned on what was paid");
    assert_eq!(s.customer(c).unwrap().figures.total_spent_cents, 7500, "spending counts what was paid");

    let v = s
        .issue_voucher(
            &VoucherInput {
                customer_id: Some(c),
                kind: VoucherKind::Amount,
                value: 1000,
                expires_at: clock.now() + chrono::Duration::days(30),
                reason: "Anniversaire".into(),
                staff: "Marie".into(),
            },
            None,
        )
        .unwrap()
        .value;
    let too_many = sell_with(&mut s, c, 5, Apply::Points { points: 10 }).unwrap_err();
    assert_eq!(too_many.code(), "conflict", "10 points (0.10 €) on a 0.05 € ticket are refused, nothing written");
    assert_eq!(s.loyalty_status(c).unwrap().vouchers.len(), 1, "the voucher is still there");
    let with_voucher = sell_with(&mut s, c, 3000, Apply::Voucher { code: v.code.clone() }).unwrap();
    assert_eq!(with_voucher.amount_cents, 2000);
    assert!(s.loyalty_status(c).unwrap().vouchers.is_empty(), "used");

    s.refund(&RefundInput { sale_id: sale.id, amount_cents: None, note: String::new() }, None).unwrap();
    s.refund(&RefundInput { sale_id: with_voucher.id, amount_cents: None, note: String::new() }, None).unwrap();
    let st = s.loyalty_status(c).unwrap();
    assert_eq!(st.points, 60, "the reward's 50 points come back, the 15 + 20 earned go: back to 60");
    assert_eq!(st.vouchers.len(), 1, "the voucher comes back");
    assert_eq!(ledger_sum(&s, c), st.points);
}

#[test]
fn a_stamp_milestone_is_used_at_the_till() {
    let (mut s, _, c) = setup(programme());
    for _ in 0..10 {
        sell(&mut s, c, 250);
    }
    let free_coffee = sell_with(&mut s, c, 250, Apply::Milestone { milestone: 0 }).unwrap();
    assert_eq!(free_coffee.amount_cents, 250, "the product is handed over; the ticket is what else was bought");
    assert_eq!(s.loyalty_status(c).unwrap().stamps, 1, "the full card is used and this visit's stamp starts the next");
    let too_soon = sell_with(&mut s, c, 250, Apply::Milestone { milestone: 0 }).unwrap_err();
    assert_eq!(too_soon.code(), "conflict");
}

#[test]
fn gestures_by_hand_and_card_changes_show_in_the_timeline() {
    let (mut s, _, c) = setup(programme());
    s.adjust_points(c, 15, "Geste commercial", "Marie", None).unwrap();
    s.replace_card(c, None).unwrap();
    let kinds: Vec<_> = s.timeline(c, 20).unwrap().into_iter().map(|e| e.kind).collect();
    assert!(
        kinds.iter().any(
            |k| matches!(k, crate::customers::TimelineKind::Points { points: 15, staff: Some(st), .. } if st == "Marie")
        ),
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|k| matches!(k, crate::customers::TimelineKind::CardReplaced { .. })));
}
