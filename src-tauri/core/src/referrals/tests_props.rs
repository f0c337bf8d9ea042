//! Property test: over random sequences of new customers, referrals, purchases, refunds,
//! reviews and time passing, the budget and the slots are never exceeded, a referral is
//! rewarded at most once per side, every reward is in the loyalty ledgers, and no points
//! balance goes negative.

use super::engine::Decision;
use super::offer::*;
use super::*;
use crate::customers::{AddressInput, CustomerInput, NewCustomer};
use crate::purchases::RefundInput;
use crate::storage::Store;
use crate::testutil::{add, input, sale, store};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    NewReferrer,
    Refer { referrer: usize, household: bool },
    Buy { friend: usize, cents: i64 },
    Refund { nth: usize, full: bool },
    Review { nth: usize, approve: bool },
    UseVoucher { who: usize },
    Wait { days: i64 },
    Process,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::NewReferrer),
        4 => (0..6usize, proptest::bool::weighted(0.2)).prop_map(|(referrer, household)| Op::Refer { referrer, household }),
        4 => (0..30usize, 500..6000i64).prop_map(|(friend, cents)| Op::Buy { friend, cents }),
        2 => (0..40usize, any::<bool>()).prop_map(|(nth, full)| Op::Refund { nth, full }),
        1 => (0..10usize, any::<bool>()).prop_map(|(nth, approve)| Op::Review { nth, approve }),
        1 => (0..30usize).prop_map(|who| Op::UseVoucher { who }),
        2 => (1..10i64).prop_map(|days| Op::Wait { days }),
        2 => Just(Op::Process),
    ]
}

fn offer(today: chrono::NaiveDate) -> Offer {
    Offer {
        hold_days: 3,
        within_days: 20,
        referrer_reward: Some(RewardSpec::Points { points: 150 }),
        friend_reward: Some(RewardSpec::Voucher { cents: 300, valid_days: 30 }),
        milestones: vec![
            Milestone {
                key: 1,
                referrals: 1,
                reward: RewardSpec::Voucher { cents: 500, valid_days: 90 },
                slots: Some(2),
            },
            Milestone {
                key: 2,
                referrals: 2,
                reward: RewardSpec::Voucher { cents: 1000, valid_days: 90 },
                slots: Some(1),
            },
        ],
        budget_cents: Some(3_500),
        per_referrer_cap_cents: Some(2_500),
        max_per_day: 3,
        ..Offer::reference(today)
    }
}

fn q(s: &Store, sql: &str) -> i64 {
    s.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn check_invariants(s: &Store, budget: i64) -> Result<(), TestCaseError> {
    let committed = q(
        s,
        "SELECT coalesce(sum(g.cost_cents - coalesce(e.taken_back_cents, 0)), 0) FROM referral_rewards g
         LEFT JOIN referral_reward_ends e ON e.reward_id = g.id",
    );
    prop_assert!(committed <= budget, "the budget is never exceeded: {} > {}", committed, budget);
    let kept = q(s, "SELECT coalesce(sum(committed_cents), 0) FROM referral_periods");
    prop_assert_eq!(kept, committed, "the running total is the sum of the rewards");
    for (key, slots) in [(1, 2), (2, 1)] {
        let taken = q(
            s,
            &format!(
                "SELECT count(*) FROM referral_rewards g LEFT JOIN referral_reward_ends e ON e.reward_id = g.id
                 WHERE g.role = 'milestone' AND g.milestone_key = {key} AND (e.reward_id IS NULL OR e.loss_cents > 0)"
            ),
        );
        prop_assert!(taken <= slots, "milestone {} slots never exceeded: {} > {}", key, taken, slots);
    }
    let twice = q(s, "SELECT count(*) FROM (SELECT referral_id, role FROM referral_rewards WHERE referral_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1)");
    prop_assert_eq!(twice, 0, "a referral rewards each side at most once");
    let orphans = q(
        s,
        "SELECT count(*) FROM referral_rewards g WHERE NOT (
           (g.kind = 'points' AND EXISTS (SELECT 1 FROM points_ledger l WHERE l.id = g.points_entry AND l.points = g.points AND l.customer_id = g.customer_id))
        OR (g.kind = 'voucher' AND EXISTS (SELECT 1 FROM vouchers v WHERE v.id = g.voucher_id AND v.customer_id = g.customer_id)))",
    );
    prop_assert_eq!(orphans, 0, "every reward is in the loyalty ledgers");
    let negative = q(
        s,
        "SELECT count(*) FROM (SELECT customer_id FROM points_ledger GROUP BY customer_id HAVING sum(points) < 0)",
    );
    prop_assert_eq!(negative, 0, "no points balance is negative");
    let approved_unrewarded = q(
        s,
        "SELECT count(*) FROM referrals r WHERE r.status = 'approved' AND r.offer_version IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM referral_rewards g WHERE g.referral_id = r.id AND g.role = 'referrer')
         AND NOT EXISTS (SELECT 1 FROM referral_events e WHERE e.referral_id = r.id AND e.kind = 'reward_refused')",
    );
    prop_assert_eq!(approved_unrewarded, 0, "an approved referral is rewarded, or says why not");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn budget_slots_and_ledgers_hold_over_any_sequence(ops in proptest::collection::vec(op(), 1..80)) {
        let (mut s, clock) = store();
        let programme = crate::loyalty::Programme {
            points: Some(crate::loyalty::PointsRule { points_per_unit: 1, unit_cents: 100, points_per_visit: 0 }),
            ..Default::default()
        };
        s.save_loyalty_programme(&programme, None).unwrap();
        let today = s.now().date_naive();
        let o = offer(today);
        s.save_referral_offer(&o, None).unwrap();
        let home = |i: usize| AddressInput { line1: format!("{i} rue Haute"), postcode: "21000".into(), ..Default::default() };
        let mut referrers: Vec<(i64, usize)> =
            (0..4).map(|i| (add(&mut s, CustomerInput { address: home(i), ..input(&format!("P{i}"), "Parrain") }), i)).collect();
        let mut friends: Vec<i64> = Vec::new();
        let mut sales: Vec<i64> = Vec::new();
        let mut n = 0;
        for op in ops {
            n += 1;
            match op {
                Op::NewReferrer => {
                    let i = referrers.len();
                    referrers.push((add(&mut s, CustomerInput { address: home(i), ..input(&format!("P{i}"), "Parrain") }), i));
                }
                Op::Refer { referrer, household } => {
                    let (r, i) = referrers[referrer % referrers.len()];
                    let address = if household { home(i) } else { AddressInput::default() };
                    let new = NewCustomer {
                        customer: CustomerInput { email: format!("f{n}@example.com"), address, ..input(&format!("F{n}"), "Ami") },
                        ..Default::default()
                    };
                    let link = ReferrerLink { referrer: ReferrerRef::Code { code: code::format(r) }, staff: "Test".into() };
                    if let Ok(o) = s.create_referred_customer(&new, &link, None) {
                        friends.push(o.value);
                    }
                }
                Op::Buy { friend, cents } => {
                    if let Some(f) = friends.get(friend % friends.len().max(1)) {
                        sales.push(sale(&mut s, *f, cents));
                    }
                }
                Op::Refund { nth, full } => {
                    if let Some(id) = sales.get(nth % sales.len().max(1)) {
                        let amount = if full { None } else { Some(400) };
                        let _ = s.refund(&RefundInput { sale_id: *id, amount_cents: amount, note: String::new() }, None);
                    }
                }
                Op::Review { nth, approve } => {
                    let queue = s.referral_review_queue().unwrap();
                    if let Some(r) = queue.get(nth % queue.len().max(1)) {
                        let d = if approve { Decision::Approve } else { Decision::Reject };
                        s.review_referral(r.id, d, "vérifié", "Test", None).unwrap();
                    }
                }
                Op::UseVoucher { who } => {
                    let all: Vec<i64> = friends.iter().copied().chain(referrers.iter().map(|r| r.0)).collect();
                    if let Some(c) = all.get(who % all.len().max(1)) {
                        if let Some(v) = s.loyalty_status(*c).unwrap().vouchers.first() {
                            s.use_voucher(&v.code, Some(*c), None, None).unwrap();
                        }
                    }
                }
                Op::Wait { days } => clock.advance(chrono::Duration::days(days)),
                Op::Process => {
                    s.process_referrals().unwrap();
                }
            }
            check_invariants(&s, o.budget_cents.unwrap())?;
        }
        prop_assert!(s.integrity_check().unwrap());
    }
}
