//! What referrals show outside their own screens: the printed rules and notice follow the
//! offer, segments select on referrals, and the personal fields of messages carry the code,
//! the friends and the next milestone.

use super::offer::*;
use super::tests::{buy, code_of, day, friend, shop};
use super::*;
use crate::storage::Store;
use crate::testutil::{add, input, store};

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
    let r = c.render(&p, "mailto:a@example.com", "preview").unwrap();
    assert_eq!(r.subject, format!("Léa, votre code {}", code::format(lea)), "the code is in the subject");
    assert!(r.text.contains("2 amis parrainés") && r.text.contains(&next), "friends and next milestone: {}", r.text);
}
