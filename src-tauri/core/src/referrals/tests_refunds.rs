//! Refunds and what they take back: a refund during the hold voids, after approval the
//! unspent reward comes back through the ledgers and a spent one is a loss — and a loss is
//! never given a second time nor brought back to life by a later refund.

use super::offer::*;
use super::tests::{buy, code_of, count, friend, milestone, usable_vouchers};
use super::*;
use crate::loyalty::VoucherKind;
use crate::purchases::RefundInput;
use crate::testutil::{add, input, store};
use chrono::Duration;

#[test]
fn a_refund_during_the_hold_voids_and_after_approval_takes_back_or_records_a_loss() {
    let (mut s, clock) = store();
    let today = s.now().date_naive();
    let o = Offer {
        hold_days: 14,
        referrer_reward: Some(RewardSpec::Voucher { cents: 300, valid_days: 60 }),
        friend_reward: Some(RewardSpec::Voucher { cents: 200, valid_days: 60 }),
        milestones: vec![],
        ..Offer::reference(today)
    };
    s.save_referral_offer(&o, None).unwrap();
    let lea = add(&mut s, input("Léa", "Martin"));
    let a = friend(&mut s, "Anne", "anne@example.com", code_of(lea)).unwrap();
    let b = friend(&mut s, "Bruno", "bruno@example.com", code_of(lea)).unwrap();
    let sale_a = buy(&mut s, a, 5000);
    let sale_b = buy(&mut s, b, 5000);
    assert_eq!(
        usable_vouchers(&s, a),
        vec![(VoucherKind::Amount, 200)],
        "the friend's welcome at the qualifying purchase"
    );
    s.refund(&RefundInput { sale_id: sale_a, amount_cents: None, note: String::new() }, None).unwrap();
    let ra = s.customer_referrals(a).unwrap().referred_by.unwrap();
    assert_eq!((ra.status, ra.end_reason.as_deref()), (ReferralStatus::Voided, Some("refund_during_hold")));
    assert!(usable_vouchers(&s, a).is_empty(), "the unspent welcome voucher is withdrawn");
    clock.advance(Duration::days(15));
    s.process_referrals().unwrap();
    assert_eq!(s.customer_referrals(b).unwrap().referred_by.unwrap().status, ReferralStatus::Approved);
    assert_eq!(usable_vouchers(&s, lea), vec![(VoucherKind::Amount, 300)], "only Bruno's referral pays the referrer");
    // Bruno spends his welcome voucher, then returns his first purchase.
    let code = s.loyalty_status(b).unwrap().vouchers[0].code.clone();
    s.use_voucher(&code, Some(b), None, None).unwrap();
    s.refund(&RefundInput { sale_id: sale_b, amount_cents: None, note: String::new() }, None).unwrap();
    let rb = s.customer_referrals(b).unwrap().referred_by.unwrap();
    assert_eq!(rb.end_reason.as_deref(), Some("refund_after_approval"));
    assert!(usable_vouchers(&s, lea).is_empty(), "the referrer's unspent voucher is taken back");
    let c = s.referrals_overview().unwrap().counters;
    assert_eq!(c.loss_cents, 200, "Bruno's spent welcome voucher is recorded as a loss");
    assert_eq!(c.committed_cents, 200, "only the loss still counts against the budget");
    let ended = count(&s, "SELECT count(*) FROM referral_reward_ends");
    assert_eq!(ended, 3, "every reward given was ended by a new row, none edited");
}

#[test]
fn a_referral_voucher_taken_back_as_a_loss_does_not_come_back_when_its_sale_is_refunded() {
    let (mut s, clock) = store();
    // With a loyalty programme, a full refund gives back what was used on the sale.
    let programme = crate::loyalty::Programme {
        points: Some(crate::loyalty::PointsRule { points_per_unit: 1, unit_cents: 100, points_per_visit: 0 }),
        ..Default::default()
    };
    s.save_loyalty_programme(&programme, None).unwrap();
    let today = s.now().date_naive();
    let o = Offer {
        hold_days: 1,
        referrer_reward: Some(RewardSpec::Voucher { cents: 300, valid_days: 60 }),
        friend_reward: None,
        milestones: vec![],
        ..Offer::reference(today)
    };
    s.save_referral_offer(&o, None).unwrap();
    let lea = add(&mut s, input("Léa", "Martin"));
    let b = friend(&mut s, "Bruno", "bruno@example.com", code_of(lea)).unwrap();
    let sale_b = buy(&mut s, b, 5000);
    clock.advance(Duration::days(2));
    s.process_referrals().unwrap();
    let code = s.loyalty_status(lea).unwrap().vouchers[0].code.clone();
    // Léa spends her €3 voucher on a sale of her own.
    let sale_lea = buy(&mut s, lea, 3000);
    s.use_voucher(&code, Some(lea), Some(sale_lea), None).unwrap();
    // Bruno returns his purchase: her spent voucher is recorded as a loss.
    s.refund(&RefundInput { sale_id: sale_b, amount_cents: None, note: String::new() }, None).unwrap();
    assert_eq!(s.referrals_overview().unwrap().counters.loss_cents, 300);
    // Then she returns the sale she used it on: the use is undone, the voucher stays withdrawn.
    s.refund(&RefundInput { sale_id: sale_lea, amount_cents: None, note: String::new() }, None).unwrap();
    assert!(usable_vouchers(&s, lea).is_empty(), "a voucher taken back never comes back to life");
}

#[test]
fn a_milestone_reward_spent_then_lost_is_not_given_again_when_the_milestone_is_reached_again() {
    let (mut s, _) = store();
    let today = s.now().date_naive();
    let o = Offer {
        hold_days: 0,
        friend_reward: None,
        referrer_reward: None,
        milestones: vec![milestone(1, 2, 500, Some(50))],
        ..Offer::reference(today - Duration::days(1))
    };
    s.save_referral_offer(&o, None).unwrap();
    let lea = add(&mut s, input("Léa", "Martin"));
    let a = friend(&mut s, "Anne", "anne@example.com", code_of(lea)).unwrap();
    let b = friend(&mut s, "Bruno", "bruno@example.com", code_of(lea)).unwrap();
    let sale_a = buy(&mut s, a, 5000);
    buy(&mut s, b, 5000);
    s.process_referrals().unwrap();
    assert_eq!(usable_vouchers(&s, lea), vec![(VoucherKind::Amount, 500)], "two friends: the €5 milestone");
    let code = s.loyalty_status(lea).unwrap().vouchers[0].code.clone();
    s.use_voucher(&code, Some(lea), None, None).unwrap();
    // Anne returns her purchase: the milestone is lost, its spent voucher a loss.
    s.refund(&RefundInput { sale_id: sale_a, amount_cents: None, note: String::new() }, None).unwrap();
    // A third friend brings Léa back to two.
    let c = friend(&mut s, "Chloé", "chloe@example.com", code_of(lea)).unwrap();
    buy(&mut s, c, 5000);
    s.process_referrals().unwrap();
    assert!(usable_vouchers(&s, lea).is_empty(), "the €5 she already spent is not given a second time");
    let given = count(&s, "SELECT count(*) FROM referral_rewards WHERE role = 'milestone'");
    assert_eq!(given, 1, "one milestone reward in all");
}

#[test]
fn a_milestone_lost_frees_the_cap_for_the_lower_one_reached_again() {
    let (mut s, _clock) = store();
    let today = s.now().date_naive();
    let o = Offer {
        hold_days: 0,
        friend_reward: None,
        per_referrer_cap_cents: Some(1000),
        ..Offer::reference(today - Duration::days(1))
    };
    s.save_referral_offer(&o, None).unwrap();
    let lea =
        add(&mut s, crate::customers::CustomerInput { email: "lea@example.com".into(), ..input("Léa", "Martin") });
    let mut sales = Vec::new();
    for i in 0..4 {
        let f = friend(&mut s, &format!("Ami{i}"), &format!("ami{i}@example.com"), code_of(lea)).unwrap();
        sales.push(buy(&mut s, f, 2500));
    }
    assert_eq!(usable_vouchers(&s, lea), vec![(VoucherKind::Amount, 1000)], "the €10 reaches the €10 cap");
    s.refund(&RefundInput { sale_id: sales[3], amount_cents: None, note: String::new() }, None).unwrap();
    assert_eq!(
        usable_vouchers(&s, lea),
        vec![(VoucherKind::Amount, 500)],
        "back to 3 friends: the unspent €10 is withdrawn first, so the €5 fits under the cap again"
    );
    assert_eq!(count(&s, "SELECT count(*) FROM referral_events WHERE kind = 'reward_refused'"), 0, "nothing refused");
}
