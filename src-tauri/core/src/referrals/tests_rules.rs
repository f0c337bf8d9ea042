//! Referral rules as tables, with no store: the offer's worst case and its validation,
//! qualifying purchases, the hold and refunds, milestones, and what slots, the budget and the
//! cap per referrer refuse.

use super::offer::*;
use super::rules::*;
use super::tests::{day, milestone};
use crate::settings::{Currency, Locale};
use chrono::{Duration, TimeZone, Utc};

#[test]
fn the_reference_offer_costs_at_worst_750_euros() {
    let o = Offer { friend_reward: None, ..Offer::reference(day(2026, 1, 1)) };
    let w = worst_case(&o, 100);
    assert_eq!(w.milestones_cents, 75_000, "50 × €10 + 50 × €5 = €750");
    assert_eq!(w.total_cents, Some(75_000));
    assert!(!w.unbounded && !w.budget_stops_first);
    let with_friends = worst_case(&Offer::reference(day(2026, 1, 1)), 100);
    assert!(with_friends.unbounded, "a reward per friend has no slot: only the budget bounds it");
    assert_eq!(with_friends.total_cents, Some(75_000), "the budget caps the whole offer");
    let no_budget = Offer { budget_cents: None, ..Offer::reference(day(2026, 1, 1)) };
    assert_eq!(worst_case(&no_budget, 100).total_cents, None, "nothing bounds per-friend rewards without a budget");
    let tight = Offer { budget_cents: Some(50_000), friend_reward: None, ..Offer::reference(day(2026, 1, 1)) };
    let w = worst_case(&tight, 100);
    assert_eq!(w.total_cents, Some(50_000));
    assert!(w.budget_stops_first, "the budget stops the offer before every slot is given");
    let points = Offer {
        milestones: vec![Milestone {
            key: 1,
            referrals: 2,
            reward: RewardSpec::Points { points: 250 },
            slots: Some(10),
        }],
        friend_reward: None,
        budget_cents: None,
        ..Offer::reference(day(2026, 1, 1))
    };
    assert_eq!(worst_case(&points, 100).total_cents, Some(2_500), "250 points at €1 per 100 points, 10 slots");
}

#[test]
fn offer_validation_reports_each_problem_against_its_field() {
    let ok = Offer::reference(day(2026, 1, 1));
    assert!(ok.validate(100, Currency::EUR, Locale::FrFr).is_ok(), "the reference offer is valid");
    let fields = |o: Offer| -> Vec<&'static str> {
        match o.validate(100, Currency::EUR, Locale::FrFr) {
            Err(crate::Error::Validation(f)) => f.iter().map(|x| x.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    };
    let cases: Vec<(Offer, &str, &str)> = vec![
        (Offer { ends_on: Some(day(2025, 12, 31)), ..ok.clone() }, "ends_on", "dates in the wrong order"),
        (Offer { budget_cents: Some(500), ..ok.clone() }, "budget_cents", "a budget lower than one reward"),
        (
            Offer { per_referrer_cap_cents: Some(100), ..ok.clone() },
            "per_referrer_cap_cents",
            "a cap lower than one reward",
        ),
        (Offer { within_days: 0, ..ok.clone() }, "within_days", "no day to qualify"),
        (
            Offer { milestones: vec![milestone(1, 4, 1000, None), milestone(2, 2, 500, None)], ..ok.clone() },
            "milestones",
            "milestones out of order",
        ),
        (
            Offer { friend_reward: Some(RewardSpec::Voucher { cents: 0, valid_days: 30 }), ..ok.clone() },
            "friend_reward",
            "a voucher of nothing",
        ),
        (Offer { max_per_week: 1, max_per_day: 3, ..ok.clone() }, "max_per_week", "a week limit under the day limit"),
    ];
    for (o, field, why) in cases {
        assert!(fields(o).contains(&field), "{why}: reported on {field}");
    }
    match (Offer { budget_cents: Some(500), ..ok.clone() }).validate(100, Currency::EUR, Locale::FrFr) {
        Err(crate::Error::Validation(f)) => {
            assert_eq!(f[0].args, vec![("amount", "10,00\u{a0}€".to_string())], "the message names the reward's cost")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_purchase_qualifies_at_the_minimum_within_the_period() {
    let o = Offer {
        min_purchase_cents: 2000,
        within_days: 30,
        second_purchase: false,
        ..Offer::reference(day(2026, 1, 1))
    };
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
    let cases = [
        (t0 + Duration::days(3), 2000, false, PurchaseStep::Qualifies, "exactly the minimum qualifies"),
        (t0 + Duration::days(3), 1999, false, PurchaseStep::Ignored, "one cent short does not"),
        (t0 + Duration::days(30), 5000, false, PurchaseStep::Qualifies, "the last day of the period counts"),
        (t0 + Duration::days(31), 5000, false, PurchaseStep::Expired, "after the period the referral expires"),
        (t0 - Duration::days(1), 5000, false, PurchaseStep::Ignored, "a receipt dated before the referral is ignored"),
    ];
    for (at, cents, has_first, want, why) in cases {
        assert_eq!(purchase_step(&o, t0, has_first, at, cents), want, "{why}");
    }
    let two = Offer { second_purchase: true, ..o };
    assert_eq!(purchase_step(&two, t0, false, t0, 2500), PurchaseStep::FirstRecorded, "a second purchase is needed");
    assert_eq!(
        purchase_step(&two, t0, true, t0 + Duration::days(2), 2500),
        PurchaseStep::Qualifies,
        "the second one qualifies"
    );
}

#[test]
fn the_hold_and_refunds_decide_approval_and_voiding() {
    let o = Offer { hold_days: 14, ..Offer::reference(day(2026, 1, 1)) };
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
    let end = hold_until(&o, t);
    let local = |d: chrono::DateTime<Utc>| d.with_timezone(&chrono::Local);
    assert_eq!(
        (local(end).date_naive(), local(end).time()),
        (local(t).date_naive() + Duration::days(15), chrono::NaiveTime::MIN),
        "approved when the 14th local day after the purchase is over: a return that day still counts"
    );
    assert!(end >= t + Duration::days(14), "never before the full return period");
    assert_eq!(hold_until(&Offer { hold_days: 0, ..o.clone() }, t), t, "no hold: at once");
    assert!(!is_due(end, false, end - Duration::seconds(1)), "not during the hold");
    assert!(is_due(end, false, end), "at its end");
    assert!(!is_due(t, true, t + Duration::days(30)), "a flagged referral waits for review");
    let cases = [
        (Stage::Qualified, 2000, 0, RefundEffect::VoidDuringHold, "a full refund during the hold voids"),
        (Stage::Qualified, 2000, 1500, RefundEffect::VoidDuringHold, "below the minimum during the hold voids"),
        (Stage::Qualified, 2000, 4000, RefundEffect::None, "a small refund leaving the minimum changes nothing"),
        (Stage::Approved, 2000, 0, RefundEffect::ReverseAfterApproval, "after approval the rewards are taken back"),
        (Stage::Pending, 2000, 0, RefundEffect::ForgetFirst, "before qualifying the purchase stops counting"),
        (Stage::Ended, 2000, 0, RefundEffect::None, "an ended referral stays ended"),
    ];
    for (stage, min, remaining, want, why) in cases {
        assert_eq!(refund_effect(stage, min, remaining), want, "{why}");
    }
}

#[test]
fn milestones_add_up_or_only_the_highest_counts() {
    let ms = [milestone(1, 2, 500, Some(50)), milestone(2, 4, 1000, Some(50))];
    let cases = [
        (Stacking::Cumulative, 1, vec![], "below the first milestone: nothing"),
        (Stacking::Cumulative, 2, vec![1], "2 friends: the €5"),
        (Stacking::Cumulative, 5, vec![1, 2], "cumulative: both"),
        (Stacking::HighestOnly, 3, vec![1], "highest only, 3 friends: the €5"),
        (Stacking::HighestOnly, 4, vec![2], "highest only, 4 friends: the €10 alone"),
    ];
    for (stacking, approved, want, why) in cases {
        assert_eq!(entitled(&ms, stacking, approved), want, "{why}");
    }
    let held = |grant_id, key, threshold, approved| HeldMilestone { grant_id, key, threshold, approved };
    let plan = milestone_plan(&ms, Stacking::HighestOnly, 4, &[held(7, 1, 2, 4)], true);
    assert_eq!(
        plan,
        MilestonePlan { take_back: vec![(7, TakeBack::Replaced)], give: vec![2] },
        "the €5 is replaced by the €10"
    );
    assert_eq!(
        top_up(
            &RewardSpec::Voucher { cents: 1000, valid_days: 90 },
            &[&RewardSpec::Voucher { cents: 500, valid_days: 90 }]
        ),
        Some(RewardSpec::Voucher { cents: 500, valid_days: 90 }),
        "a lower voucher already spent is deducted from the higher one"
    );
    assert_eq!(
        top_up(&RewardSpec::Voucher { cents: 1000, valid_days: 90 }, &[]),
        None,
        "nothing spent: the full reward"
    );
    assert_eq!(next_milestone(&ms, 3).map(|(m, n)| (m.key, n)), Some((2, 1)), "3 friends: 1 more for the €10");
    assert_eq!(next_milestone(&ms, 4), None, "every milestone reached");
}

#[test]
fn slots_budget_and_cap_stop_a_reward_with_their_reason() {
    let spent =
        |committed, slots, referrer| Spent { committed_cents: committed, slots_taken: slots, referrer_cents: referrer };
    let cases = [
        (Some(50), Some(75_000), None, spent(0, 49, 0), 1000, Ok(()), "the 50th slot is still free"),
        (Some(50), Some(75_000), None, spent(0, 50, 0), 1000, Err(Refusal::NoSlotLeft), "no 51st slot"),
        (None, Some(75_000), None, spent(74_500, 0, 0), 500, Ok(()), "exactly the budget left"),
        (None, Some(75_000), None, spent(74_600, 0, 0), 500, Err(Refusal::BudgetSpent), "one euro short of the budget"),
        (None, None, Some(2000), spent(0, 0, 1500), 1000, Err(Refusal::CapReached), "over the cap per referrer"),
        (None, None, Some(2000), spent(0, 0, 1000), 1000, Ok(()), "up to the cap"),
    ];
    for (slots, budget, cap, s, cost, want, why) in cases {
        assert_eq!(may_give(slots, budget, cap, true, s, cost), want, "{why}");
    }
    assert_eq!(may_give(None, None, Some(10), false, spent(0, 0, 999), 500,), Ok(()), "the cap is for referrers only");
    assert_eq!(remaining(Some(12), Some(100_000), 1000), Some(12), "12 slots left");
    assert_eq!(remaining(Some(12), Some(5_000), 1000), Some(5), "the budget pays for 5 only");
    assert_eq!(remaining(None, None, 1000), None, "nothing limits it");
}
