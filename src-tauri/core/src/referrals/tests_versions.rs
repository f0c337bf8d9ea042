//! Versions of the offer: what an edit may change and what it may not. An edit never takes
//! back a milestone a referrer earned (only a count that falls does), a new milestone never
//! inherits the key (the slots, the holders) of one removed, and a budget lowered since binds
//! the referrals made under the version before. A version counts in the period of the one
//! before while their dates meet: moving a start date resets no place and no budget.

use super::offer::*;
use super::rules::{fresh_keys, milestone_plan, period_of, HeldMilestone, MilestonePlan, TakeBack};
use super::tests::{buy, code_of, count, friend, milestone, usable_vouchers};
use crate::customers::CustomerInput;
use crate::loyalty::VoucherKind;
use crate::testutil::{add, input, store};
use chrono::Duration;

#[test]
fn an_edit_of_the_offer_never_takes_back_a_milestone_only_a_falling_count_does() {
    // The €10 for 4 friends was given; the merchant then asks 6 friends for it.
    let raised = [milestone(1, 2, 500, None), milestone(2, 6, 1000, None)];
    let held = |grant_id, key, threshold, approved| HeldMilestone { grant_id, key, threshold, approved };
    let cases: Vec<(Stacking, u32, Vec<HeldMilestone>, MilestonePlan, &str)> = vec![
        (
            Stacking::HighestOnly,
            5,
            vec![held(9, 2, 4, 5)],
            MilestonePlan::default(),
            "highest only: the €10 earned at 4 stays, and the lower €5 is not given beside it",
        ),
        (
            Stacking::Cumulative,
            5,
            vec![held(9, 2, 4, 5)],
            MilestonePlan { take_back: vec![], give: vec![1] },
            "cumulative: the €10 stays and the €5 reached is given",
        ),
        (
            Stacking::HighestOnly,
            3,
            vec![held(9, 2, 4, 3)],
            MilestonePlan { take_back: vec![(9, TakeBack::Lost)], give: vec![1] },
            "a friend refunded: 3 under the 4 it was given for, the €10 goes and the €5 reached is given",
        ),
        (
            Stacking::Cumulative,
            1,
            vec![held(8, 1, 2, 1), held(9, 2, 4, 1)],
            MilestonePlan { take_back: vec![(8, TakeBack::Lost), (9, TakeBack::Lost)], give: vec![] },
            "down to one friend: both go",
        ),
        (
            Stacking::HighestOnly,
            6,
            vec![held(9, 2, 4, 6)],
            MilestonePlan::default(),
            "the raised milestone reached again: it is held already, nothing twice",
        ),
        (
            Stacking::HighestOnly,
            5,
            vec![held(9, 7, 5, 5)],
            MilestonePlan::default(),
            "a milestone removed from the offer stays with whoever earned it, and ranks above the €5",
        ),
    ];
    for (stacking, approved, held, want, why) in cases {
        assert_eq!(milestone_plan(&raised, stacking, approved, &held, true), want, "{why}");
    }
    // The merchant switches a cumulative offer to "highest only": both earned stay.
    let both = [milestone(1, 2, 500, None), milestone(2, 4, 1000, None)];
    assert_eq!(
        milestone_plan(&both, Stacking::HighestOnly, 4, &[held(8, 1, 2, 4), held(9, 2, 4, 4)], true),
        MilestonePlan::default(),
        "switching the stacking takes back nothing already earned"
    );
    // The €10 removed, then added again (it gets a new key, 3): whoever holds the old one has it.
    let again = [milestone(1, 2, 500, None), milestone(3, 4, 1000, None)];
    assert_eq!(
        milestone_plan(&again, Stacking::Cumulative, 5, &[held(8, 1, 2, 5), held(9, 2, 4, 5)], true),
        MilestonePlan::default(),
        "a milestone removed and added again is not given twice"
    );
    assert_eq!(
        milestone_plan(&[], Stacking::HighestOnly, 3, &[held(9, 2, 4, 3)], false),
        MilestonePlan { take_back: vec![(9, TakeBack::Lost)], give: vec![] },
        "an offer paused or without milestones still takes back a milestone whose count fell, and gives nothing"
    );
    // The threshold lowered from 4 to 3 while a friend was refunded (4 → 3): the offer in force
    // still entitles it, so it is not taken back and given again.
    let lowered = [milestone(1, 2, 500, None), milestone(2, 3, 1000, None)];
    assert_eq!(
        milestone_plan(&lowered, Stacking::HighestOnly, 3, &[held(9, 2, 4, 3)], true),
        MilestonePlan::default(),
        "entitled under the offer in force: kept"
    );
}

#[test]
fn a_new_milestone_gets_a_key_no_version_used_and_kept_ones_keep_theirs() {
    let keys = |ms: &[Milestone]| ms.iter().map(|m| m.key).collect::<Vec<_>>();
    type Keys = Vec<u32>;
    // (keys typed, keys of the version in force, keys any version used, keys saved, why)
    let cases: Vec<(Keys, Keys, Keys, Keys, &str)> = vec![
        (vec![1, 2], vec![1, 2], vec![1, 2], vec![1, 2], "nothing new: nothing moves"),
        (vec![1, 3], vec![1, 2], vec![1, 2], vec![1, 3], "a key never used is kept"),
        (
            vec![1, 2],
            vec![1],
            vec![1, 2],
            vec![1, 3],
            "key 2 was an older milestone, removed since: the new one gets 3",
        ),
        (
            vec![1, 2, 5],
            vec![1],
            vec![1, 2, 4],
            vec![1, 6, 5],
            "renumbered past every key, new and old; 5, never used, is kept",
        ),
        (vec![], vec![1, 2], vec![1, 2], vec![], "no milestone left"),
    ];
    for (new, current, ever, want, why) in cases {
        let mut ms: Vec<Milestone> = new.iter().map(|k| milestone(*k, *k * 2, 500, None)).collect();
        fresh_keys(&mut ms, &current, &ever);
        assert_eq!(keys(&ms), want, "{why}");
    }
}

fn lea_with_four_friends() -> (crate::storage::Store, std::sync::Arc<crate::clock::FixedClock>, i64, Offer) {
    let (mut s, clock) = store();
    let today = s.now().date_naive();
    let o = Offer { hold_days: 0, friend_reward: None, ..Offer::reference(today - Duration::days(1)) };
    s.save_referral_offer(&o, None).unwrap();
    let lea = add(&mut s, CustomerInput { email: "lea@example.com".into(), ..input("Léa", "Martin") });
    for i in 0..4 {
        let f = friend(&mut s, &format!("Ami{i}"), &format!("ami{i}@example.com"), code_of(lea)).unwrap();
        buy(&mut s, f, 2500);
    }
    assert_eq!(usable_vouchers(&s, lea), vec![(VoucherKind::Amount, 1000)], "four friends: the €10 alone");
    clock.advance(Duration::days(1));
    (s, clock, lea, o)
}

#[test]
fn raising_a_milestone_after_it_was_earned_takes_nothing_back() {
    let (mut s, _clock, lea, o) = lea_with_four_friends();
    let mut raised = o.clone();
    raised.milestones[1].referrals = 6;
    s.save_referral_offer(&raised, None).unwrap();
    let f = friend(&mut s, "Cinq", "cinq@example.com", code_of(lea)).unwrap();
    buy(&mut s, f, 2500);
    assert_eq!(
        usable_vouchers(&s, lea),
        vec![(VoucherKind::Amount, 1000)],
        "the €10 earned at 4 friends stays after the merchant asks 6 for it, and the €5 is not given beside it"
    );
    assert_eq!(
        count(&s, "SELECT count(*) FROM referral_reward_ends WHERE reason = 'milestone_lost'"),
        0,
        "no milestone taken back for an edit"
    );
}

#[test]
fn removing_a_milestone_leaves_it_with_who_earned_it_and_a_new_one_starts_with_its_own_slots() {
    let (mut s, _clock, lea, o) = lea_with_four_friends();
    // The €10 milestone removed, a new €20 one for 8 friends added with a reused key 2 (an
    // older interface did that).
    let edited = Offer { milestones: vec![o.milestones[0].clone(), milestone(2, 8, 2000, Some(1))], ..o.clone() };
    s.save_referral_offer(&edited, None).unwrap();
    let saved = s.referrals_overview().unwrap().offer.unwrap().offer;
    assert_eq!(
        saved.milestones.iter().map(|m| m.key).collect::<Vec<_>>(),
        vec![1, 2],
        "key 2 is still the current version's"
    );
    // Now removed for good, then a new milestone typed with key 2 again.
    let without = Offer { milestones: vec![o.milestones[0].clone()], ..o.clone() };
    s.save_referral_offer(&without, None).unwrap();
    let again = Offer { milestones: vec![o.milestones[0].clone(), milestone(2, 8, 2000, Some(1))], ..o.clone() };
    s.save_referral_offer(&again, None).unwrap();
    let saved = s.referrals_overview().unwrap().offer.unwrap().offer;
    assert_eq!(
        saved.milestones.iter().map(|m| m.key).collect::<Vec<_>>(),
        vec![1, 3],
        "a key an older version used names another milestone: the new one gets a fresh key"
    );
    let counters = s.referrals_overview().unwrap().counters;
    let new_one = counters.milestones.iter().find(|m| m.key == 3).unwrap();
    assert_eq!((new_one.taken, new_one.remaining), (0, Some(1)), "its single slot is free: nothing inherited");
    let f = friend(&mut s, "Cinq", "cinq@example.com", code_of(lea)).unwrap();
    buy(&mut s, f, 2500);
    assert_eq!(
        usable_vouchers(&s, lea),
        vec![(VoucherKind::Amount, 1000)],
        "the €10 of a milestone removed stays with Léa, who earned it"
    );
}

#[test]
fn a_budget_lowered_binds_the_referrals_made_before() {
    let (mut s, clock) = store();
    let today = s.now().date_naive();
    let v1 = Offer {
        hold_days: 14,
        friend_reward: None,
        referrer_reward: Some(RewardSpec::Voucher { cents: 500, valid_days: 60 }),
        milestones: vec![],
        ..Offer::reference(today)
    };
    s.save_referral_offer(&v1, None).unwrap();
    let lea = add(&mut s, CustomerInput { email: "lea@example.com".into(), ..input("Léa", "Martin") });
    for i in 0..3 {
        let f = friend(&mut s, &format!("Ami{i}"), &format!("ami{i}@example.com"), code_of(lea)).unwrap();
        buy(&mut s, f, 2500);
    }
    // The merchant lowers the budget to one reward while the three are on hold.
    s.save_referral_offer(&Offer { budget_cents: Some(500), ..v1.clone() }, None).unwrap();
    clock.advance(Duration::days(15));
    s.process_referrals().unwrap();
    assert_eq!(
        usable_vouchers(&s, lea),
        vec![(VoucherKind::Amount, 500)],
        "one €5 within the lowered budget; the two others are refused, though made under the €750 version"
    );
    assert_eq!(
        count(&s, "SELECT count(*) FROM referral_events WHERE kind = 'reward_refused' AND reason = 'budget_spent'"),
        2,
        "each refusal is recorded with its reason"
    );
    assert_eq!(s.referrals_overview().unwrap().counters.committed_cents, 500);
}

#[test]
fn a_version_keeps_its_period_while_its_dates_meet_the_one_before() {
    let d = |m, day| chrono::NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let year = Offer { ends_on: Some(d(12, 31)), ..Offer::reference(d(1, 1)) };
    let open = Offer { ends_on: None, ..Offer::reference(d(1, 1)) };
    let kept = Offer { period_start: Some(d(1, 1)), ..Offer::reference(d(3, 1)) };
    let y27 = |m, day| chrono::NaiveDate::from_ymd_opt(2027, m, day).unwrap();
    let next_year = Offer { ends_on: Some(y27(12, 31)), ..Offer::reference(y27(1, 1)) };
    let undone = Offer { ends_on: Some(y27(12, 31)), ..Offer::reference(d(1, 1)) };
    let cases: Vec<(Offer, Vec<Offer>, chrono::NaiveDate, &str)> = vec![
        (Offer::reference(d(1, 15)), vec![], d(1, 15), "the first version opens its period"),
        (Offer::reference(d(1, 15)), vec![year.clone()], d(1, 1), "a start date corrected: same period"),
        (
            Offer::reference(d(12, 31)),
            vec![year.clone()],
            d(1, 1),
            "starting on the last day of the one before: same period",
        ),
        (Offer::reference(y27(1, 1)), vec![year.clone()], y27(1, 1), "next year's offer: a new period"),
        (Offer::reference(d(6, 1)), vec![open.clone()], d(1, 1), "an offer with no end: one period"),
        (Offer::reference(d(4, 1)), vec![kept], d(1, 1), "the period of the version before, not its start date"),
        (
            undone,
            vec![next_year, year.clone()],
            d(1, 1),
            "next year's offer saved by mistake and undone: back in this year's period, not next year's",
        ),
        (
            Offer {
                ends_on: Some(d(12, 31)),
                ..Offer::reference(chrono::NaiveDate::from_ymd_opt(2025, 12, 1).unwrap())
            },
            vec![year],
            d(1, 1),
            "a start moved earlier than every version: the period of the one before",
        ),
    ];
    for (new, versions, want, why) in cases {
        assert_eq!(period_of(&new, &versions), want, "{why}");
    }
}

#[test]
fn moving_the_start_date_keeps_the_places_and_the_budget_used() {
    let (mut s, _clock, _lea, o) = lea_with_four_friends();
    let before = s.referrals_overview().unwrap().counters;
    assert_eq!(before.committed_cents, 1000);
    let moved = Offer { starts_on: o.starts_on - Duration::days(10), ..o.clone() };
    s.save_referral_offer(&moved, None).unwrap();
    let after = s.referrals_overview().unwrap().counters;
    assert_eq!(
        (after.committed_cents, after.remaining_budget_cents),
        (1000, Some(74_000)),
        "the €10 given still counts against the budget after the start date moved"
    );
    assert_eq!(
        after.milestones.iter().map(|m| m.taken).collect::<Vec<_>>(),
        vec![0, 1],
        "the €10 place taken stays taken"
    );
}
