//! "Only the highest counts" with points: a lower milestone's points partly spent when a higher
//! milestone replaces it. The part spent was had (like a used voucher); the higher milestone
//! tops it up; only what is left is taken back; the cap holds.

use super::offer::*;
use super::*;
use crate::customers::{CustomerInput, NewCustomer};
use crate::testutil::{add, input, store};
use chrono::Duration;

fn points(key: u32, referrals: u32, points: i64) -> Milestone {
    Milestone { key, referrals, reward: RewardSpec::Points { points }, slots: Some(50) }
}

fn usable(s: &crate::Store, c: i64) -> i64 {
    s.loyalty_status(c).unwrap().points
}

/// A shop whose points are worth 1 € per 100.
fn shop_with_points() -> crate::Store {
    let (mut s, _clock) = store();
    let programme = crate::loyalty::Programme {
        points: Some(crate::loyalty::PointsRule { points_per_unit: 1, unit_cents: 100, points_per_visit: 0 }),
        value_of_100_points_cents: 100,
        ..Default::default()
    };
    s.save_loyalty_programme(&programme, None).unwrap();
    s
}

#[test]
fn a_higher_points_milestone_tops_up_what_was_spent_and_the_cap_holds() {
    let mut s = shop_with_points();
    let today = s.now().date_naive();
    // 500 points (5 €) at 2 friends, 1,000 points (10 €) at 4; at most 10 € per referrer.
    let offer = Offer {
        hold_days: 0,
        referrer_reward: None,
        friend_reward: None,
        milestones: vec![points(1, 2, 500), points(2, 4, 1000)],
        stacking: Stacking::HighestOnly,
        per_referrer_cap_cents: Some(1000),
        budget_cents: None,
        ..Offer::reference(today - Duration::days(1))
    };
    s.save_referral_offer(&offer, None).unwrap();
    let lea = add(&mut s, CustomerInput { email: "lea@example.com".into(), ..input("Léa", "Martin") });
    let friend = |s: &mut crate::Store, i: usize| {
        let customer = CustomerInput { email: format!("ami{i}@example.com"), ..input(&format!("Ami{i}"), "Ami") };
        let link = ReferrerLink { referrer: ReferrerRef::Code { code: code::format(lea) }, staff: "Marie".into() };
        let f = s.create_referred_customer(&NewCustomer { customer, ..Default::default() }, &link, None).unwrap().value;
        // The friends' purchases earn them points, not Léa.
        crate::testutil::sale(s, f, 2500);
    };
    friend(&mut s, 0);
    friend(&mut s, 1);
    assert_eq!(usable(&s, lea), 500, "two friends: the 500 points of the first milestone");
    // She spends 300 of them at the till.
    s.adjust_points(lea, -300, "Récompense utilisée en caisse", "Marie", None).unwrap();
    friend(&mut s, 2);
    friend(&mut s, 3);
    assert_eq!(
        usable(&s, lea),
        700,
        "four friends: 1,000 points in all — the 300 spent count as had, the 200 left stay, 500 more are given"
    );
    let counters = s.referrals_overview().unwrap().counters;
    assert!(
        counters.committed_cents <= 1000,
        "what Léa was given never goes over the 10 € cap per referrer: {} cents",
        counters.committed_cents
    );
    assert_eq!(counters.committed_cents, 1000, "she had exactly the highest milestone's worth");
}

#[test]
fn a_higher_voucher_never_takes_the_referrer_over_the_cap_when_lower_points_were_spent() {
    let mut s = shop_with_points();
    let today = s.now().date_naive();
    // 500 points (5 €) at 2 friends, a 10 € voucher at 4; at most 10 € per referrer.
    let offer = Offer {
        hold_days: 0,
        referrer_reward: None,
        friend_reward: None,
        milestones: vec![
            points(1, 2, 500),
            Milestone {
                key: 2,
                referrals: 4,
                reward: RewardSpec::Voucher { cents: 1000, valid_days: 90 },
                slots: Some(50),
            },
        ],
        stacking: Stacking::HighestOnly,
        per_referrer_cap_cents: Some(1000),
        budget_cents: None,
        ..Offer::reference(today - Duration::days(1))
    };
    s.save_referral_offer(&offer, None).unwrap();
    let lea = add(&mut s, CustomerInput { email: "lea@example.com".into(), ..input("Léa", "Martin") });
    for i in 0..4 {
        let customer = CustomerInput { email: format!("ami{i}@example.com"), ..input(&format!("Ami{i}"), "Ami") };
        let link = ReferrerLink { referrer: ReferrerRef::Code { code: code::format(lea) }, staff: "Marie".into() };
        let f = s.create_referred_customer(&NewCustomer { customer, ..Default::default() }, &link, None).unwrap().value;
        crate::testutil::sale(&mut s, f, 2500);
        if i == 1 {
            // She spends 300 of her 500 points before the next friends come.
            s.adjust_points(lea, -300, "Récompense utilisée en caisse", "Marie", None).unwrap();
        }
    }
    let counters = s.referrals_overview().unwrap().counters;
    assert!(
        counters.committed_cents <= 1000,
        "the 3 € of points she spent count against the 10 € cap: a 10 € voucher on top would make 13 € ({} cents)",
        counters.committed_cents
    );
    assert_eq!(usable(&s, lea), 200, "she keeps the points she has: nothing is taken back for a reward not given");
}
