//! People and their records: a birthday corrected on the record, two people sharing one
//! address (a family inbox), two records of one person merged; on a real database through a
//! real SMTP server on loopback.

use super::detect::birthday_moved;
use super::tests::{customer, mail, of_kind, paris, send};
use super::*;
use crate::campaigns::sink::Sink;
use crate::customers::Birthday;
use crate::testutil;
use chrono::Duration;
use serde_json::json;

/// A Paris shop sending through a loopback SMTP server, its birthday message on (new occasions
/// only), Monday 23 November 2026, 11:00 in Paris.
fn birthday_on() -> (crate::Store, std::sync::Arc<crate::clock::FixedClock>, Sink, Automation) {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 4).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let a = of_kind(&mut s, AutomationKind::Birthday);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    (s, clock, sink, a)
}

#[test]
fn a_corrected_birthday_makes_that_years_occasion_again_only_while_nothing_left() {
    let old = json!({ "month": 11, "day": 26 });
    let new = json!({ "month": 11, "day": 28 });
    for state in ["pending", "postponed", "expired"] {
        assert!(birthday_moved(state, None, &old, &new), "{state}: nothing left for the old date, made again");
    }
    assert!(
        !birthday_moved("awaiting", Some("closed"), &old, &new),
        "waiting for the merchant's decision after a closure: it keeps waiting"
    );
    assert!(
        birthday_moved("skipped", Some("birthday_changed"), &old, &new),
        "stopped because the date changed: made again for the new date"
    );
    for state in ["queued", "sent", "held_out", "failed"] {
        assert!(!birthday_moved(state, None, &old, &new), "{state}: one birthday message a year, never two");
    }
    assert!(!birthday_moved("skipped", Some("consent"), &old, &new), "skipped for another reason stays skipped");
    assert!(!birthday_moved("pending", None, &old, &old), "same date: nothing to do");
    assert!(
        birthday_moved("skipped", Some("birthday_changed"), &old, &old),
        "stopped because the date changed, then corrected back: made again"
    );
}

#[test]
fn a_birthday_corrected_after_its_message_was_queued_is_sent_once_for_the_right_date() {
    let (mut s, clock, sink, a) = birthday_on();
    // Monday 23 November 2026: Léa's birthday is typed as the 26th, three days away.
    let lea = customer(&mut s, "Léa", "lea.client@example.com", Some((26, 11)));
    checker::tick(&mut s).unwrap();
    // Before the sender runs, she says it is the 28th.
    let input = crate::customers::CustomerInput {
        first_name: "Léa".into(),
        last_name: "Client".into(),
        email: "lea.client@example.com".into(),
        birthday: Some(Birthday { day: 28, month: 11, year: None }),
        ..Default::default()
    };
    s.update_customer(lea, &input, None).unwrap();
    send(&mut s, &a);
    assert_eq!(sink.count(), 0, "the message for the wrong date does not leave");
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    assert_eq!(sink.count(), 0, "the right date's message waits for its day (the 25th)");
    for _ in 0..6 {
        clock.advance(Duration::hours(12));
        checker::tick(&mut s).unwrap();
        send(&mut s, &a);
    }
    assert_eq!(sink.count(), 1, "she receives her birthday message once, for the corrected date");
    let (state, data): (String, String) = s
        .conn()
        .query_row(
            "SELECT state, data FROM automation_occasions WHERE customer_id = ?1 AND occasion_key = 'birthday:2026'",
            [lea],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(state, "sent");
    assert!(data.contains("\"day\":28"), "the occasion follows the corrected date: {data}");
    let reasons: Vec<Option<String>> =
        s.automation_journal(a.id, None, 20).unwrap().into_iter().rev().map(|j| j.reason).collect();
    assert!(
        reasons.iter().filter(|r| r.as_deref() == Some("birthday_changed")).count() == 2,
        "the journal says the first was stopped and the occasion made again because the date changed: {reasons:?}"
    );
}

#[test]
fn two_people_sharing_an_address_each_get_their_birthday_within_the_pressure_limits_of_that_inbox() {
    let (mut s, clock, sink, a) = birthday_on();
    // A family inbox: Marie born on the 26th, Paul on the 27th.
    let marie = customer(&mut s, "Marie", "famille@example.com", Some((26, 11)));
    let paul = customer(&mut s, "Paul", "Famille@example.com", Some((27, 11)));
    let mut sent_on = Vec::new();
    for _ in 0..16 {
        let before = sink.count();
        checker::tick(&mut s).unwrap();
        send(&mut s, &a);
        if sink.count() > before {
            sent_on.push(s.now());
        }
        clock.advance(Duration::hours(12));
    }
    let got = sink.received();
    assert_eq!(got.len(), 2, "two people, two birthdays: each receives theirs, once");
    let text = |i: usize| String::from_utf8_lossy(&got[i].data).into_owned();
    assert!(text(0).contains("Marie") && text(1).contains("Paul"), "each message names its person");
    let gap = sent_on[1] - sent_on[0];
    assert!(
        gap >= Duration::days(3),
        "one inbox, one pressure limit: at most one automatic message every 3 days ({gap:?})"
    );
    let postponed = s.automation_journal(a.id, None, 50).unwrap().into_iter().any(|j| {
        j.customer_id == paul && j.state == OccasionState::Postponed && j.reason.as_deref() == Some("pressure")
    });
    assert!(postponed, "Paul's waits for the limit, and the journal says why");
    let _ = marie;
}

#[test]
fn who_qualifies_today_counts_only_the_people_who_may_receive_marketing() {
    let (mut s, _clock) = testutil::store();
    let sink = Sink::start(true, 1).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let a = of_kind(&mut s, AutomationKind::Birthday);
    // Birthdays in 1 to 3 days (sent 3 days before): three agreed to offers, one of them without an address; one
    // never said yes.
    let yes = customer(&mut s, "Oui", "oui@example.com", Some((25, 11)));
    customer(&mut s, "Aussi", "aussi@example.com", Some((26, 11)));
    customer(&mut s, "Sans", "", Some((24, 11)));
    let no = s
        .create_customer(
            &crate::customers::NewCustomer {
                customer: crate::customers::CustomerInput {
                    first_name: "Non".into(),
                    last_name: "Client".into(),
                    email: "non@example.com".into(),
                    birthday: Some(Birthday { day: 26, month: 11, year: None }),
                    ..Default::default()
                },
                ..Default::default()
            },
            None,
        )
        .unwrap()
        .value;
    let q = s.automation_qualifying(a.id).unwrap();
    assert_eq!(q.today, 4, "four birthdays qualify today");
    assert_eq!(q.reachable, 2, "two may receive it: no consent and no address do not count");
    let one_by_one = [yes, no]
        .iter()
        .filter(|c| crate::campaigns::segments::still_eligible(s.conn(), **c, s.now()).unwrap().is_ok())
        .count();
    assert_eq!(one_by_one, 1, "the same rule as the last check before sending");
}

#[test]
fn a_birthday_corrected_and_corrected_back_is_still_sent_once() {
    let (mut s, clock, sink, a) = birthday_on();
    let lea = customer(&mut s, "Léa", "lea.client@example.com", Some((26, 11)));
    checker::tick(&mut s).unwrap();
    let set = |s: &mut crate::Store, day: u8| {
        let input = crate::customers::CustomerInput {
            first_name: "Léa".into(),
            last_name: "Client".into(),
            email: "lea.client@example.com".into(),
            birthday: Some(Birthday { day, month: 11, year: None }),
            ..Default::default()
        };
        s.update_customer(lea, &input, None).unwrap();
    };
    // Queued for the 26th; corrected to the 28th before it left (stopped); then back to the 26th.
    set(&mut s, 28);
    send(&mut s, &a);
    checker::tick(&mut s).unwrap();
    set(&mut s, 26);
    for _ in 0..4 {
        clock.advance(Duration::hours(6));
        checker::tick(&mut s).unwrap();
        send(&mut s, &a);
    }
    assert_eq!(sink.count(), 1, "the message for the 26th leaves once, through its own stopped outbox row");
    let rows: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM campaign_recipients WHERE customer_id = ?1", [lea], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "the row stopped for the 26th was used again, not doubled");
}

#[test]
fn a_merged_record_does_not_get_the_same_birthday_twice() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let a = of_kind(&mut s, AutomationKind::Birthday);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    let old = customer(&mut s, "Léa", "lea.old@example.com", Some((26, 11)));
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    assert_eq!(sink.count(), 1);
    // The same person had a second record, with another address; the merchant merges them.
    let new = customer(&mut s, "Léa", "lea.new@example.com", Some((26, 11)));
    s.merge_customers(new, old, None).unwrap();
    clock.advance(Duration::hours(3));
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    assert_eq!(sink.count(), 1, "the survivor is not sent the birthday the other record already had");
}

#[test]
fn a_message_waiting_for_a_merged_record_is_made_again_for_the_survivor() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let a = of_kind(&mut s, AutomationKind::Birthday);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    let old = customer(&mut s, "Léa", "lea.old@example.com", Some((26, 11)));
    checker::tick(&mut s).unwrap(); // queued for the old record, not sent yet
    let new = customer(&mut s, "Léa", "lea.new@example.com", Some((26, 11)));
    s.merge_customers(new, old, None).unwrap();
    clock.advance(Duration::minutes(5));
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    let to: Vec<String> = sink.received().into_iter().flat_map(|r| r.to).collect();
    assert_eq!(to.len(), 1, "the birthday is sent once: {to:?}");
    assert!(to[0].contains("lea.new@"), "to the survivor's address");
}
