//! Referral tests on a real store: the whole life of referrals (the reference scenario,
//! refusals at the counter, review, corrections, merges, eight tills racing for the last slot,
//! the demo shop), and the helpers the other referral test files share.
//!
//! The other subjects have their own files: `tests_rules` (pure rules as tables),
//! `tests_outputs` (printed rules and notice, segments, personal fields), `tests_link`,
//! `tests_props`, `tests_refunds`, `tests_versions`.

use super::engine::Decision;
use super::offer::*;
use super::*;
use crate::customers::{CustomerInput, NewCustomer};
use crate::loyalty::{Apply, VoucherKind};
use crate::purchases::SaleInput;
use crate::storage::Store;
use crate::testutil::{add, clock, input, store};
use chrono::Duration;

pub(super) fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub(super) fn milestone(key: u32, referrals: u32, cents: i64, slots: Option<u32>) -> Milestone {
    Milestone { key, referrals, reward: RewardSpec::Voucher { cents, valid_days: 90 }, slots }
}

pub(super) fn shop() -> (Store, std::sync::Arc<crate::clock::FixedClock>) {
    let (mut s, c) = store();
    let today = s.now().date_naive();
    let o = Offer { hold_days: 0, friend_reward: None, ..Offer::reference(today - Duration::days(1)) };
    s.save_referral_offer(&o, None).unwrap();
    (s, c)
}

pub(super) fn friend(s: &mut Store, first: &str, email: &str, by: ReferrerRef) -> crate::Result<i64> {
    let customer = CustomerInput { email: email.into(), ..input(first, "Ami") };
    let new = NewCustomer { customer, ..Default::default() };
    s.create_referred_customer(&new, &ReferrerLink { referrer: by, staff: "Marie".into() }, None).map(|o| o.value)
}

pub(super) fn buy(s: &mut Store, who: i64, cents: i64) -> i64 {
    crate::testutil::sale(s, who, cents)
}

pub(super) fn code_of(id: i64) -> ReferrerRef {
    ReferrerRef::Code { code: code::format(id) }
}

pub(super) fn count(s: &Store, sql: &str) -> i64 {
    s.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

pub(super) fn usable_vouchers(s: &Store, c: i64) -> Vec<(VoucherKind, i64)> {
    s.loyalty_status(c).unwrap().vouchers.into_iter().map(|v| (v.kind, v.value)).collect()
}

#[test]
fn the_reference_scenario_gives_the_referrer_exactly_the_10_euro_voucher() {
    let (mut s, _) = shop();
    let lea = add(&mut s, CustomerInput { email: "lea@example.com".into(), ..input("Léa", "Martin") });
    let card = s.customer(lea).unwrap().card_number.unwrap();
    let friends: Vec<i64> = (0..4)
        .map(|i| {
            let by = if i == 2 { ReferrerRef::Card { number: card.clone() } } else { code_of(lea) };
            friend(&mut s, &format!("Ami{i}"), &format!("ami{i}@example.com"), by).unwrap()
        })
        .collect();
    for f in &friends {
        buy(&mut s, *f, 2500);
    }
    let v = usable_vouchers(&s, lea);
    assert_eq!(v, vec![(VoucherKind::Amount, 1000)], "four approved friends, highest only: exactly the €10 voucher");
    let st = s.customer_referrals(lea).unwrap();
    assert_eq!((st.approved, st.next_milestone), (4, None), "4 approved, no milestone left");
    let o = s.referrals_overview().unwrap();
    assert_eq!(o.counters.committed_cents, 1000, "the €5 came back unspent: only the €10 counts against the budget");
    assert_eq!(o.counters.milestones.iter().map(|m| m.taken).collect::<Vec<_>>(), vec![0, 1], "one €10 slot taken");
    let d = s
        .dashboard(&crate::analytics::dashboard::DashboardRequest {
            grain: crate::analytics::calendar::Grain::Month,
            until: None,
        })
        .unwrap();
    let b = d.referral_budget.expect("an offer with a budget shows it on the dashboard");
    assert_eq!(
        (b.budget_cents, b.spent_cents, b.left_cents),
        (75_000, 1000, 74_000),
        "the dashboard counts the budget as the offer screen does: the €10 given, the €5 taken back unspent"
    );
    let costs = s.compute_programme_return().unwrap().costs;
    assert_eq!(costs.referral_rewards_cents, Some(1000), "the programme's cost counts the referral rewards kept");
    // The referrer uses it at the till.
    let code = s.loyalty_status(lea).unwrap().vouchers[0].code.clone();
    let sale = s
        .record_sale(
            &SaleInput {
                customer_id: lea,
                amount_cents: 3000,
                occurred_at: None,
                note: String::new(),
                category: String::new(),
                apply: Some(Apply::Voucher { code }),
            },
            None,
        )
        .unwrap();
    assert_eq!(sale.value.amount_cents, 2000, "the €10 voucher paid part of the ticket");
    assert_eq!(s.referrals_overview().unwrap().counters.used_count, 1, "the voucher counts as used");
}

#[test]
fn bad_codes_cards_and_referrers_are_refused_with_their_reason_and_nothing_is_written() {
    let (mut s, _) = shop();
    let lea = add(
        &mut s,
        CustomerInput { email: "lea@example.com".into(), phone: "06 12 34 56 78".into(), ..input("Léa", "Martin") },
    );
    let gone = add(&mut s, input("Paul", "Archivé"));
    s.archive_customer(gone, None).unwrap();
    let blocked = add(&mut s, input("Zoé", "Bloquée"));
    let blocked_card = s.customer(blocked).unwrap().card_number.unwrap();
    s.block_card(&blocked_card, None).unwrap();
    let good = code::format(lea);
    let mut typo = code::compact(&good).into_bytes();
    typo.swap(0, 1);
    let typo = String::from_utf8(typo).unwrap();
    let before = count(&s, "SELECT count(*) FROM customers");
    let cases = [
        (ReferrerRef::Code { code: typo.clone() }, "field.referral_code_typo", "a mistyped code"),
        (ReferrerRef::Code { code: "HELLO".into() }, "field.referral_code_invalid", "not a code"),
        (ReferrerRef::Code { code: code::format(99_999) }, "field.referral_code_unknown", "nobody has this code"),
        (code_of(gone), "field.referral_referrer_archived", "an archived customer's code"),
        (ReferrerRef::Card { number: blocked_card.clone() }, "field.referral_card_blocked", "a blocked card"),
        (ReferrerRef::Card { number: "2900000000012".into() }, "field.referral_card_invalid", "a wrong check digit"),
    ];
    for (by, key, why) in cases {
        match friend(&mut s, "Nouveau", "nouveau@example.com", by) {
            Err(crate::Error::Validation(f)) => {
                assert_eq!((f[0].field, f[0].key), ("referred_by", key), "{why}: refused next to the field")
            }
            other => panic!("{why}: expected a refusal, got {other:?}"),
        }
    }
    // Self-referral: a new record with the referrer's email or phone.
    for (email, phone, key) in
        [("LEA@example.com", "", "field.referral_self_email"), ("", "+33 6 12 34 56 78", "field.referral_self_phone")]
    {
        let new = NewCustomer {
            customer: CustomerInput { email: email.into(), phone: phone.into(), ..input("Léa", "Bis") },
            ..Default::default()
        };
        match s.create_referred_customer(&new, &ReferrerLink { referrer: code_of(lea), staff: String::new() }, None) {
            Err(crate::Error::Validation(f)) => assert_eq!(f[0].key, key, "a self-referral is refused with its reason"),
            other => panic!("{other:?}"),
        }
    }
    // Somebody already known is not a new customer.
    add(&mut s, CustomerInput { email: "known@example.com".into(), ..input("Jean", "Connu") });
    match friend(&mut s, "Jean", "known@example.com", code_of(lea)) {
        Err(crate::Error::Validation(f)) => {
            assert_eq!(f[0].key, "field.referral_not_new_email");
            assert_eq!(f[0].args[0].1, "Jean Connu", "the message names who already has the email");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        count(&s, "SELECT count(*) FROM customers"),
        before + 1,
        "no refused friend was created (only Jean Connu)"
    );
    assert_eq!(count(&s, "SELECT count(*) FROM referrals"), 0, "and no referral written");
    let l = s.referrer_lookup(&typo).unwrap();
    assert!(
        l.found.is_none() && l.problem.as_deref().is_some_and(|p| p.contains("contrôle")),
        "the till says why: {l:?}"
    );
    let l = s.referrer_lookup(&good.to_lowercase()).unwrap();
    assert_eq!(l.found.map(|c| c.id), Some(lea), "a code typed in lower case finds the referrer");
    assert_eq!(s.referrer_lookup("Martin").unwrap().candidates.first().map(|c| c.id), Some(lea), "or by name");
}

#[test]
fn an_existing_customer_with_a_purchase_cannot_be_referred_later() {
    let (mut s, _) = shop();
    let lea = add(&mut s, input("Léa", "Martin"));
    let old = add(&mut s, input("Paul", "Ancien"));
    buy(&mut s, old, 1000);
    let link = ReferrerLink { referrer: code_of(lea), staff: "Marie".into() };
    let e = s.set_referrer(old, &link, "oubli", None).unwrap_err();
    assert!(matches!(e, crate::Error::Validation(ref f) if f[0].key == "field.referral_not_new_purchases"), "{e:?}");
    let fresh = add(&mut s, input("Zoé", "Nouvelle"));
    s.set_referrer(fresh, &link, "oublié à la caisse", None).unwrap();
    assert_eq!(
        s.customer_referrals(fresh).unwrap().referred_by.map(|r| r.referrer.id),
        Some(lea),
        "a new customer can be linked afterwards"
    );
}

#[test]
fn a_household_is_flagged_then_approved_in_review_and_every_step_is_in_both_timelines() {
    let (mut s, _) = shop();
    let home = crate::customers::AddressInput {
        line1: "12 rue des Lilas".into(),
        postcode: "69003".into(),
        city: "Lyon".into(),
        ..Default::default()
    };
    let lea = add(&mut s, CustomerInput { address: home.clone(), ..input("Léa", "Martin") });
    let new = NewCustomer {
        customer: CustomerInput {
            address: crate::customers::AddressInput { line1: "12, Rue des Lilas".into(), ..home },
            ..input("Hugo", "Martin")
        },
        ..Default::default()
    };
    let hugo = s
        .create_referred_customer(&new, &ReferrerLink { referrer: code_of(lea), staff: "Marie".into() }, None)
        .unwrap()
        .value;
    buy(&mut s, hugo, 4000);
    let q = s.referral_review_queue().unwrap();
    assert_eq!(q.len(), 1, "the household waits for review");
    assert_eq!(q[0].flags, vec![fraud::Flag::SameAddress], "with its reason");
    assert_eq!(q[0].status, ReferralStatus::Qualified, "it qualified but is not approved while flagged");
    let e = s.review_referral(q[0].id, Decision::Approve, "", "Marie", None).unwrap_err();
    assert_eq!(e.code(), "validation", "a decision needs its reason");
    s.review_referral(q[0].id, Decision::Approve, "Même foyer, vérifié", "Marie", None).unwrap();
    assert_eq!(s.customer_referrals(hugo).unwrap().referred_by.unwrap().status, ReferralStatus::Approved);
    assert!(s.referral_review_queue().unwrap().is_empty());
    for (who, events) in [
        (lea, vec!["referred", "flagged", "qualified", "cleared", "approved"]),
        (hugo, vec!["referred", "flagged", "qualified", "cleared", "approved"]),
    ] {
        let kinds: Vec<String> = s
            .timeline(who, 100)
            .unwrap()
            .into_iter()
            .filter_map(|t| match t.kind {
                crate::customers::TimelineKind::Referral { event, .. } => Some(event),
                _ => None,
            })
            .collect();
        for e in &events {
            assert!(kinds.contains(&e.to_string()), "{e} is in customer {who}'s timeline: {kinds:?}");
        }
    }
}

#[test]
fn a_link_is_corrected_within_the_period_with_who_made_it_and_never_after() {
    let (mut s, clock) = shop();
    let lea = add(&mut s, input("Léa", "Martin"));
    let paul = add(&mut s, input("Paul", "Durand"));
    let zoe = friend(&mut s, "Zoé", "zoe@example.com", code_of(lea)).unwrap();
    let link = ReferrerLink { referrer: ReferrerRef::Customer { id: paul }, staff: String::new() };
    assert_eq!(
        s.set_referrer(zoe, &link, "erreur", None).unwrap_err().code(),
        "validation",
        "who made the change is required"
    );
    let link = ReferrerLink { staff: "Marie".into(), ..link };
    s.set_referrer(zoe, &link, "Erreur de parrain à la caisse", None).unwrap();
    let r = s.customer_referrals(zoe).unwrap().referred_by.unwrap();
    assert_eq!(r.referrer.id, paul);
    let (staff, note): (String, String) = s
        .conn()
        .query_row("SELECT staff, note FROM referral_events WHERE kind = 'link_changed' LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        (staff.as_str(), note.as_str()),
        ("Marie", "Erreur de parrain à la caisse"),
        "the change is kept with who made it"
    );
    clock.advance(Duration::days(15));
    let back = ReferrerLink { referrer: code_of(lea), staff: "Marie".into() };
    let e = s.set_referrer(zoe, &back, "trop tard", None).unwrap_err();
    assert!(matches!(e, crate::Error::Validation(ref f) if f[0].key == "field.referral_too_late"), "{e:?}");
}

#[test]
fn a_merge_of_referrer_and_friend_voids_the_self_referral() {
    let (mut s, _) = shop();
    let lea = add(&mut s, input("Léa", "Martin"));
    let alias = friend(&mut s, "Léa", "lea2@example.com", code_of(lea)).unwrap();
    s.merge_customers(lea, alias, None).unwrap();
    let r = s.referrals_list(None, 10).unwrap();
    assert_eq!(r[0].end_reason.as_deref(), Some("merged_same_person"), "the same person cannot be their own friend");
}

#[test]
fn eight_tills_approving_at_once_give_the_last_slot_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race.db");
    let ids: Vec<i64> = {
        let mut s = Store::open_with_clock(&path, clock()).unwrap();
        let today = s.now().date_naive();
        let o = Offer {
            hold_days: 0,
            friend_reward: None,
            milestones: vec![milestone(1, 1, 1000, Some(1))],
            max_per_day: 100,
            max_per_week: 100,
            staff_burst_per_hour: 1000,
            ..Offer::reference(today)
        };
        s.save_referral_offer(&o, None).unwrap();
        // Eight referrers, each with one friend at their address: flagged, waiting for review.
        (0..8)
            .map(|i| {
                let home = crate::customers::AddressInput {
                    line1: format!("{i} rue du Port"),
                    postcode: "44000".into(),
                    city: "Nantes".into(),
                    ..Default::default()
                };
                let r = add(&mut s, CustomerInput { address: home.clone(), ..input(&format!("Parrain{i}"), "Course") });
                let new = NewCustomer {
                    customer: CustomerInput { address: home, ..input(&format!("Ami{i}"), "Course") },
                    ..Default::default()
                };
                let link = ReferrerLink { referrer: code_of(r), staff: String::new() };
                let f = s.create_referred_customer(&new, &link, None).unwrap().value;
                buy(&mut s, f, 3000);
                s.referral_review_queue().unwrap().into_iter().find(|q| q.friend.id == f).unwrap().id
            })
            .collect()
    };
    let threads: Vec<_> = ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut s = Store::open_with_clock(&path, clock()).unwrap();
                s.review_referral(id, Decision::Approve, "vérifié", "Till", Some(&format!("race-review-{i}"))).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(count(&s, "SELECT count(*) FROM referrals WHERE status = 'approved'"), 8, "every referral is approved");
    assert_eq!(
        count(&s, "SELECT count(*) FROM referral_rewards WHERE role = 'milestone'"),
        1,
        "one slot: exactly one winner"
    );
    assert_eq!(
        count(&s, "SELECT count(*) FROM referral_events WHERE kind = 'reward_refused' AND reason = 'no_slot_left'"),
        7,
        "the seven others are told why"
    );
    assert!(s.integrity_check().unwrap());
}

#[test]
fn the_demo_shop_runs_the_reference_offer_with_referrals_in_every_status() {
    let (mut s, _) = store();
    s.generate_demo(crate::demo::DemoSpec::explore()).unwrap();
    let o = s.referrals_overview().unwrap();
    let total: i64 = o.by_status.iter().map(|c| c.count).sum();
    assert!((120..=200).contains(&total), "about 150 referrals: {total}");
    for c in &o.by_status {
        assert!(c.count > 0, "some referrals are {:?}: {:?}", c.status, o.by_status);
    }
    assert!(o.to_review >= 1, "a few wait for review");
    let first = &o.counters.milestones[0];
    let left = first.remaining.unwrap();
    assert!((1..=6).contains(&left), "the €5 milestone is close to running out: {left} left");
    assert!(o.counters.used_count > 0 && o.counters.committed_cents <= 75_000, "{:?}", o.counters);
    let deep = s.ambassadors(50).unwrap();
    assert!(deep[0].approved >= 2, "a ranking of ambassadors");
    let chains: i64 = count(&s, "SELECT count(*) FROM referrals f JOIN referrals g ON g.referrer_id = f.friend_id JOIN referrals h ON h.referrer_id = g.friend_id");
    assert!(chains > 0, "who referred whom goes three levels deep");
    assert!(s.integrity_check().unwrap());
}
