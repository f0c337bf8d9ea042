//! The automatic messages that follow the loyalty programme — a tier reached, the notice before
//! a tier is lost, points about to expire — on a real database through a real SMTP server on
//! loopback, with the clock moved as the months pass.

use super::tests::{customer, mail, of_kind, paris, send};
use super::*;
use crate::campaigns::sink::Sink;
use crate::loyalty::{Expiry, PointsRule, Programme, Tier, TierBasis, TierPeriod, TierRules};
use crate::purchases::RefundInput;
use crate::storage::Store;
use crate::testutil;
use chrono::{Duration, TimeZone, Utc};

fn programme(expiry: Expiry) -> Programme {
    let tier = |name: &str, threshold| Tier {
        name: name.into(),
        threshold,
        percent: 100,
        advantages: String::new(),
        entry_points: 0,
    };
    Programme {
        points: Some(PointsRule { points_per_unit: 1, unit_cents: 100, points_per_visit: 0 }),
        tiers: Some(TierRules {
            basis: TierBasis::Spend,
            period: TierPeriod::CalendarYear,
            tiers: vec![tier("Bronze", 0), tier("Argent", 10_000)],
        }),
        expiry,
        ..Programme::default()
    }
}

fn configure(s: &mut Store, kind: AutomationKind, edit: impl FnOnce(&mut AutomationConfig)) -> Automation {
    let a = of_kind(s, kind);
    let mut config = a.config.clone();
    edit(&mut config);
    let input = AutomationInput { config, message_fr: a.message_fr.clone(), message_en: a.message_en.clone() };
    let a = s.save_automation(a.id, &input, None).unwrap().value;
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    a
}

fn states(s: &Store, a: &Automation, customer: i64) -> Vec<(String, String, Option<String>)> {
    s.conn()
        .prepare(
            "SELECT occasion_key, state, reason FROM automation_occasions WHERE automation_id = ?1 AND customer_id = ?2 ORDER BY id",
        )
        .unwrap()
        .query_map([a.id, customer], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn run(s: &mut Store, a: &Automation) {
    checker::tick(s).unwrap();
    send(s, a);
}

/// The app reopened on `to` after being closed since the last check: the merchant answers
/// "send" to the catch-up decision, if one is asked.
fn reopen_on(s: &mut Store, clock: &crate::clock::FixedClock, a: &Automation, to: chrono::DateTime<Utc>) {
    clock.set(to);
    checker::tick(s).unwrap();
    for d in s.automation_decisions().unwrap() {
        s.decide_automation(d.automation_id, true, None).unwrap();
    }
    run(s, a);
}

#[test]
fn a_tier_reached_is_announced_once_after_the_delay_and_not_when_the_sale_was_refunded_meanwhile() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 4).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    s.save_loyalty_programme(&programme(Expiry::Never), None).unwrap();
    let a = configure(&mut s, AutomationKind::Tier, |_| {});
    let zoe = customer(&mut s, "Zoé", "zoe@example.com", None);
    let marc = customer(&mut s, "Marc", "marc@example.com", None);
    testutil::sale(&mut s, zoe, 12_000);
    let refunded = testutil::sale(&mut s, marc, 12_000);
    run(&mut s, &a);
    assert_eq!(sink.count(), 0, "nothing before the delay (24 h): a refund may still come");
    clock.advance(Duration::hours(2));
    s.refund(&RefundInput { sale_id: refunded, amount_cents: None, note: String::new() }, None).unwrap();
    for _ in 0..4 {
        clock.advance(Duration::hours(8));
        run(&mut s, &a);
    }
    let got = sink.received();
    assert_eq!(got.len(), 1, "Zoé is told once; Marc, whose sale was refunded, is not");
    assert!(got[0].to.iter().any(|t| t.contains("zoe@")));
    let text = String::from_utf8_lossy(&got[0].data).into_owned();
    assert!(text.contains("Argent"), "the message names the tier reached");
    assert_eq!(
        states(&s, &a, zoe).iter().filter(|(_, st, _)| st == "sent").count(),
        1,
        "one message for the upgrade, for the highest tier reached: {:?}",
        states(&s, &a, zoe)
    );
    assert!(
        states(&s, &a, marc)
            .iter()
            .all(|(_, st, r)| st != "sent" && (st != "skipped" || r.as_deref() == Some("tier_lost"))),
        "Marc's is skipped because the tier was lost: {:?}",
        states(&s, &a, marc)
    );
}

#[test]
fn the_notice_before_a_tier_is_lost_goes_only_to_those_who_did_not_reach_it_again() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 4).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    s.save_loyalty_programme(&programme(Expiry::Never), None).unwrap();
    let a = configure(&mut s, AutomationKind::Tier, |c| c.tier_loss_days = Some(30));
    let zoe = customer(&mut s, "Zoé", "zoe@example.com", None);
    let marc = customer(&mut s, "Marc", "marc@example.com", None);
    testutil::sale(&mut s, zoe, 12_000);
    testutil::sale(&mut s, marc, 12_000);
    clock.advance(Duration::days(2));
    run(&mut s, &a);
    assert_eq!(sink.count(), 2, "both are told they reached Argent in 2026");
    // 2027: Marc spends enough to keep Argent through 2028; Zoé does not.
    reopen_on(&mut s, &clock, &a, Utc.with_ymd_and_hms(2027, 6, 1, 10, 0, 0).unwrap());
    testutil::sale(&mut s, marc, 15_000);
    run(&mut s, &a);
    assert_eq!(sink.count(), 2, "a renewal is not a new tier");
    // Argent is kept until the end of 2027: 30 days before, early December.
    reopen_on(&mut s, &clock, &a, Utc.with_ymd_and_hms(2027, 12, 3, 10, 0, 0).unwrap());
    let got = sink.received();
    assert_eq!(got.len(), 3, "one notice, to Zoé only");
    let marc_loss: Vec<_> = states(&s, &a, marc).into_iter().filter(|(k, _, _)| k.starts_with("tierloss:")).collect();
    assert!(
        marc_loss.iter().all(|(_, st, r)| st == "skipped" && r.as_deref() == Some("requalified")),
        "Marc, who qualified again this year, is not warned: {marc_loss:?}"
    );
    assert!(got[2].to.iter().any(|t| t.contains("zoe@")), "to Zoé: {:?}", got[2].to);
    let loss: Vec<_> = states(&s, &a, zoe).into_iter().filter(|(k, _, _)| k.starts_with("tierloss:")).collect();
    assert_eq!(loss.len(), 1, "{loss:?}");
    assert_eq!(loss[0].1, "sent");
    assert!(loss[0].0.starts_with("tierloss:1:"), "about Argent: {}", loss[0].0);
    // Checking again during the month sends nothing more.
    for _ in 0..12 {
        clock.advance(Duration::hours(20));
        run(&mut s, &a);
    }
    assert_eq!(sink.count(), 3, "the notice is given once");
}

#[test]
fn points_about_to_expire_are_announced_at_each_reminder_only_above_the_threshold() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 4).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    s.save_loyalty_programme(&Programme { tiers: None, ..programme(Expiry::AfterMonths { months: 12 }) }, None)
        .unwrap();
    let a = configure(&mut s, AutomationKind::Expiry, |c| {
        c.expiry_reminders = vec![30, 7];
        c.expiry_min_points = 50;
    });
    let zoe = customer(&mut s, "Zoé", "zoe@example.com", None);
    let few = customer(&mut s, "Peu", "peu@example.com", None);
    testutil::sale(&mut s, zoe, 8_000);
    testutil::sale(&mut s, few, 3_000);
    // The points earned on 23 November 2026 expire on 23 November 2027.
    reopen_on(&mut s, &clock, &a, Utc.with_ymd_and_hms(2027, 10, 25, 10, 0, 0).unwrap());
    assert_eq!(sink.count(), 1, "30 days before: Zoé's 80 points; 30 points are below the threshold");
    let text = String::from_utf8_lossy(&sink.received()[0].data).into_owned();
    assert!(text.contains("80"), "the message says how many points expire");
    for _ in 0..6 {
        clock.advance(Duration::hours(20));
        run(&mut s, &a);
    }
    assert_eq!(sink.count(), 1, "nothing between the reminders");
    reopen_on(&mut s, &clock, &a, Utc.with_ymd_and_hms(2027, 11, 17, 10, 0, 0).unwrap());
    assert_eq!(sink.count(), 2, "7 days before: the second reminder");
    assert!(sink.received().iter().all(|m| m.to.iter().all(|t| t.contains("zoe@"))));
    assert!(states(&s, &a, few).is_empty(), "nothing is made for a balance under the threshold");
    let keys: Vec<String> = states(&s, &a, zoe).into_iter().map(|(k, _, _)| k).collect();
    assert_eq!(keys.len(), 2, "one occasion per expiry date and reminder: {keys:?}");
}
