//! « Indiquer un parrain » is offered on the customer page exactly when the core would accept
//! a link: for each kind of customer, `link_refused` (what the page loads) agrees with what
//! `set_referrer` does, and says the same reason.

use super::offer::Offer;
use super::*;
use crate::customers::{CustomerInput, NewCustomer};
use crate::storage::Store;
use crate::testutil::{add, input, sale, store};
use chrono::Duration;

#[test]
fn the_customer_page_offers_a_referrer_exactly_when_the_core_would_accept_one() {
    let (mut s, clock) = store();
    let old = add(&mut s, input("Odile", "Ancienne"));
    clock.advance(Duration::days(15));
    let today = s.now().date_naive();
    let offer = Offer { hold_days: 0, friend_reward: None, ..Offer::reference(today - Duration::days(1)) };
    s.save_referral_offer(&offer, None).unwrap();
    let lea = add(&mut s, input("Léa", "Martin"));
    let marc = add(&mut s, input("Marc", "Parrain"));
    let by_lea = ReferrerLink { referrer: ReferrerRef::Customer { id: lea }, staff: "Marie".into() };
    let referred = |s: &mut Store, first: &str| {
        let new = NewCustomer { customer: input(first, "Ami"), ..Default::default() };
        s.create_referred_customer(&new, &by_lea, None).unwrap().value
    };

    let fresh = add(&mut s, input("Zoé", "Nouvelle"));
    let bought = add(&mut s, input("Paul", "Client"));
    sale(&mut s, bought, 1000);
    add(&mut s, CustomerInput { email: "jean@example.com".into(), ..input("Jean", "Connu") });
    let twin = add(&mut s, CustomerInput { email: "jean@example.com".into(), ..input("Jeanne", "Double") });
    let open = referred(&mut s, "Anne");
    let approved = referred(&mut s, "Bruno");
    sale(&mut s, approved, 2500);
    let removed = referred(&mut s, "Chloé");
    s.remove_referrer(removed, "Marie", "erreur de saisie", None).unwrap();

    let cases = [
        (fresh, None, "a new customer without a referrer"),
        (open, None, "a link still open is corrected within the period"),
        (removed, None, "a link removed by mistake can be given again"),
        (bought, Some("field.referral_not_new_purchases"), "a customer who already bought"),
        (twin, Some("field.referral_not_new_email"), "another customer has the same email"),
        (approved, Some("field.referral_locked"), "an approved referral cannot change"),
        (old, Some("field.referral_too_late"), "the correction period is over"),
    ];
    let lang = s.settings().unwrap().language;
    let to_marc = ReferrerLink { referrer: ReferrerRef::Customer { id: marc }, staff: "Marie".into() };
    for (who, refusal, why) in cases {
        let shown = s.customer_referrals(who).unwrap().link_refused;
        let done = s.set_referrer(who, &to_marc, "", None);
        match (refusal, &done) {
            (None, Ok(_)) => assert_eq!(shown, None, "{why}: the page offers « Indiquer un parrain »"),
            (Some(key), Err(e @ crate::Error::Validation(f))) => {
                assert_eq!(f[0].key, key, "{why}: the core refuses for this reason");
                assert_eq!(shown, Some(e.message(lang)), "{why}: the page shows the core's reason, not the button");
            }
            _ => panic!("{why}: expected {refusal:?}, the core answered {done:?}"),
        }
    }
}

#[test]
fn a_friend_merged_with_a_customer_who_bought_before_the_referral_is_no_new_friend() {
    // Paul, a customer for 40 days, comes back under another address and is entered as Léa's
    // new friend; the two records are then merged, one way or the other.
    for keep_old in [true, false] {
        let (mut s, clock) = store();
        let paul = add(&mut s, input("Paul", "Ancien"));
        sale(&mut s, paul, 4000);
        clock.advance(Duration::days(40));
        let today = s.now().date_naive();
        let offer = Offer { hold_days: 0, friend_reward: None, ..Offer::reference(today) };
        s.save_referral_offer(&offer, None).unwrap();
        let lea = add(&mut s, input("Léa", "Martin"));
        let new = NewCustomer {
            customer: CustomerInput { email: "paul2@example.com".into(), ..input("Paul", "Ancien") },
            ..Default::default()
        };
        let link = ReferrerLink { referrer: ReferrerRef::Code { code: code::format(lea) }, staff: "Marie".into() };
        let alias = s.create_referred_customer(&new, &link, None).unwrap().value;
        let (keep, other) = if keep_old { (paul, alias) } else { (alias, paul) };
        s.merge_customers(keep, other, None).unwrap();
        let r = s.customer_referrals(keep).unwrap().referred_by.expect("the link is on the record kept");
        assert_eq!(
            (r.status, r.end_reason.as_deref()),
            (ReferralStatus::Voided, Some("merged_existing_customer")),
            "Paul bought before the referral, whichever record is kept (old one kept: {keep_old})"
        );
        sale(&mut s, keep, 4000);
        assert_eq!(s.customer_referrals(lea).unwrap().approved, 0, "Léa earns nothing for an old customer");
    }
}

#[test]
fn a_code_made_only_of_digits_typed_without_its_dash_finds_its_referrer() {
    let (mut s, _) = store();
    // The first customer id whose code is digits only ("234-567" is a code, not a card).
    let id = (1..10_000_000).find(|i| code::format(*i).chars().all(|c| c.is_ascii_digit() || c == '-')).unwrap();
    let now = s.now();
    s.conn()
        .execute(
            "INSERT INTO customers (id, created_at, updated_at) VALUES (?1, ?2, ?2)",
            rusqlite::params![id - 1, now],
        )
        .unwrap();
    let lea = add(&mut s, input("Léa", "Martin"));
    assert_eq!(lea, id, "Léa has the all-digit code");
    let typed = code::format(lea).replace('-', "");
    assert!(typed.bytes().all(|b| b.is_ascii_digit()));
    let found = s.referrer_lookup(&typed).unwrap();
    assert_eq!(
        (found.found.map(|c| c.id), found.via.as_deref(), found.problem),
        (Some(lea), Some("code"), None),
        "six digits that are no card number are read as the code they are"
    );
    assert_eq!(
        resolve_for_test(&s, &ReferrerRef::Card { number: typed }),
        Some(lea),
        "sent as a card, it is still found by its code"
    );
}

fn resolve_for_test(s: &Store, r: &ReferrerRef) -> Option<i64> {
    super::link_input::resolve(s.conn(), r).ok()
}

#[test]
fn a_friend_given_the_referrers_email_after_the_link_goes_to_review() {
    let (mut s, _) = store();
    let today = s.now().date_naive();
    s.save_referral_offer(&Offer { hold_days: 14, ..Offer::reference(today) }, None).unwrap();
    let lea = add(&mut s, CustomerInput { email: "lea@example.com".into(), ..input("Léa", "Martin") });
    let new = NewCustomer {
        customer: CustomerInput { email: "ami@example.com".into(), ..input("Ami", "Nouveau") },
        ..Default::default()
    };
    let link = ReferrerLink { referrer: ReferrerRef::Code { code: code::format(lea) }, staff: "Marie".into() };
    let friend = s.create_referred_customer(&new, &link, None).unwrap().value;
    assert!(s.referral_review_queue().unwrap().is_empty(), "a stranger: nothing to review");
    // The friend's record is edited afterwards: it now has Léa's own address.
    let edited = CustomerInput { email: "LEA@example.com".into(), ..input("Ami", "Nouveau") };
    s.update_customer(friend, &edited, None).unwrap();
    let q = s.referral_review_queue().unwrap();
    assert_eq!(q.len(), 1, "the self-referral refused at the link is caught after an edit too");
    assert_eq!(q[0].flags, vec![fraud::Flag::SameContact { field: "email".into() }], "with its reason");
    // Saving the record again changes nothing more.
    s.update_customer(friend, &edited, None).unwrap();
    assert_eq!(s.referral_review_queue().unwrap()[0].flags.len(), 1, "flagged once");
}
