//! Referral tests: pure rules as tables, then the whole life of referrals on a real store.

use super::engine::Decision;
use super::offer::*;
use super::rules::*;
use super::*;
use crate::customers::{CustomerInput, NewCustomer};
use crate::loyalty::{Apply, VoucherKind};
use crate::purchases::SaleInput;
use crate::settings::{Currency, Locale};
use crate::storage::Store;
use crate::testutil::{add, clock, input, store};
use chrono::{Duration, TimeZone, Utc};

fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub(super) fn milestone(key: u32, referrals: u32, cents: i64, slots: Option<u32>) -> Milestone {
    Milestone { key, referrals, reward: RewardSpec::Voucher { cents, valid_days: 90 }, slots }
}

// ---------- pure rules ----------

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

// ---------- the store ----------

fn shop() -> (Store, std::sync::Arc<crate::clock::FixedClock>) {
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
fn the_rules_printed_match_the_offer() {
    let (mut s, _) = store();
    let start = day(2026, 1, 15);
    let o = Offer { ends_on: Some(day(2026, 12, 31)), hold_days: 14, ..Offer::reference(start) };
    s.save_referral_offer(&o, None).unwrap();
    let text = |s: &Store, lang| {
        let r = s.referral_reglement(lang).unwrap().unwrap();
        r.sections.iter().flat_map(|x| x.paragraphs.clone()).collect::<Vec<_>>().join("\n")
    };
    let fr = text(&s, crate::types::Lang::Fr);
    for needle in [
        "15/01/2026",
        "31/12/2026",
        "20,00\u{a0}€",
        "30 jours",
        "14 jours",
        "bon de 10,00\u{a0}€",
        "bon de 5,00\u{a0}€",
        "50 premiers",
        "750,00\u{a0}€",
        "4 filleuls",
        "2 filleuls",
        "Seul le palier le plus élevé",
    ] {
        assert!(fr.contains(needle), "the French rules say {needle:?}:\n{fr}");
    }
    let en = text(&s, crate::types::Lang::En);
    for needle in ["2026-01-15", "€750.00", "€10.00 voucher", "first 50 referrers", "14 days"] {
        assert!(en.contains(needle), "the English rules say {needle:?}:\n{en}");
    }
    // Every change of the offer shows in the rules.
    let changed = Offer {
        hold_days: 0,
        budget_cents: Some(90_000),
        stacking: Stacking::Cumulative,
        second_purchase: true,
        exclusions: "Le personnel ne participe pas.".into(),
        ..o
    };
    s.save_referral_offer(&changed, None).unwrap();
    let fr2 = text(&s, crate::types::Lang::Fr);
    assert!(fr2.contains("900,00\u{a0}€") && !fr2.contains("750,00"), "the new budget replaces the old one");
    assert!(fr2.contains("dès cet achat") && !fr2.contains("14 jours après"), "no hold: approved at once");
    assert!(
        fr2.contains("se cumulent") && fr2.contains("second achat") && fr2.contains("Le personnel ne participe pas.")
    );
    assert!(!fr2.contains("suspendue"), "a running offer is not said paused");
    s.save_referral_offer(&Offer { active: false, ..changed }, None).unwrap();
    assert!(text(&s, crate::types::Lang::Fr).contains("actuellement suspendue"), "a paused offer is printed as paused");
}

#[test]
fn the_notice_says_how_many_rewards_remain() {
    let (mut s, _) = shop();
    let mut o = s.referral_offer().unwrap().unwrap().offer;
    o.milestones[1].slots = Some(13);
    s.save_referral_offer(&o, None).unwrap();
    let lea = add(&mut s, input("Léa", "Martin"));
    for i in 0..4 {
        let f = friend(&mut s, &format!("Ami{i}"), &format!("a{i}@example.com"), code_of(lea)).unwrap();
        buy(&mut s, f, 2500);
    }
    let n = s.referral_notice(crate::types::Lang::Fr).unwrap().unwrap();
    assert!(n.lines.iter().any(|l| l.contains("Il reste 12 bons de 10,00\u{a0}€")), "{:?}", n.lines);
    assert!(
        n.lines.iter().any(|l| l.contains("Il reste 50 bons de 5,00\u{a0}€")),
        "the €5 slot came back: {:?}",
        n.lines
    );
    assert!(!n.finished);
}

#[test]
fn segments_and_personal_fields_know_referrals() {
    use crate::campaigns::segments::{Combine, Condition, SegmentFilter};
    let (mut s, _) = shop();
    let lea = add(&mut s, input("Léa", "Martin"));
    let f1 = friend(&mut s, "Anne", "anne@example.com", code_of(lea)).unwrap();
    friend(&mut s, "Bruno", "bruno@example.com", code_of(lea)).unwrap();
    buy(&mut s, f1, 2500);
    let matching = |c: Condition| -> i64 {
        let f = SegmentFilter { combine: Combine::All, conditions: vec![c] };
        crate::campaigns::segments::count(s.conn(), &f, s.now()).unwrap().matching
    };
    assert_eq!(matching(Condition::ApprovedReferralsAtLeast { count: 1 }), 1, "Léa has one approved referral");
    assert_eq!(matching(Condition::ApprovedReferralsAtLeast { count: 2 }), 0, "not two");
    assert_eq!(matching(Condition::WasReferred), 2, "two customers were referred");
    assert_eq!(matching(Condition::ReferredBy { customer_id: lea }), 2, "both by Léa");
    assert_eq!(matching(Condition::ReferredBy { customer_id: f1 }), 0, "nobody by Anne");
    let (code, friends, next, invite) = super::views::personal_fields(s.conn(), lea, s.now()).unwrap();
    assert_eq!(code, code::format(lea));
    assert!(invite.contains(&code), "while the offer runs, the invitation carries her code: {invite}");
    assert_eq!(friends, 2, "two friends referred");
    assert!(next.contains("encore 1 filleul") && next.contains("bon de 5,00"), "next milestone: {next}");
    // The same values reach a message through the campaign's substitution.
    use crate::campaigns::render;
    use crate::campaigns::{Block, MessageContent};
    let id = render::Identity {
        mail: crate::campaigns::mail::MailSettings::default(),
        currency: crate::settings::Currency::EUR,
        locale: crate::settings::Locale::FrFr,
    };
    let msg = MessageContent {
        subject: "{{ first_name }}, votre code {{ referral_code }}".into(),
        preheader: String::new(),
        blocks: vec![Block::Text {
            markdown: "{{ referral_friends }} amis parrainés — {{ referral_next_milestone }}".into(),
        }],
    };
    let c = render::compile(&msg, &id, vec![]).unwrap();
    let p = render::personal(s.conn(), &id, lea, s.now()).unwrap();
    assert_eq!(p.value("referral_friends"), "2", "a number is written as digits");
    let r = c.render(&p, "mailto:a@example.com").unwrap();
    assert_eq!(r.subject, format!("Léa, votre code {}", code::format(lea)), "the code is in the subject");
    assert!(r.text.contains("2 amis parrainés") && r.text.contains(&next), "friends and next milestone: {}", r.text);
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
