//! Automations on a real database, sent through a real SMTP server on loopback: the birthday
//! with its voucher, never twice, the decision after a long closure, quiet hours, the pressure
//! limits, and the last checks before sending.

use super::*;
use crate::campaigns::engine::{Engine, EngineOptions};
use crate::campaigns::mail::{Delivery, MailSettings, SendLimits, SmtpPreset, SmtpSettings, TlsMode};
use crate::campaigns::sink::Sink;
use crate::campaigns::smtp::SmtpPool;
use crate::customers::{Birthday, ConsentChoice, ConsentInput, ConsentSource, CustomerInput, NewCustomer};
use crate::storage::Store;
use crate::testutil;
use chrono::Duration;

pub(super) fn mail(sink: &Sink) -> MailSettings {
    MailSettings {
        sender_name: "Boulangerie Léa".into(),
        sender_email: "lea@boulangerie.test".into(),
        reply_to: String::new(),
        postal_address: "3 rue des Lilas, 69001 Lyon".into(),
        language: crate::types::Lang::Fr,
        delivery: Delivery::Smtp,
        smtp: SmtpSettings {
            preset: SmtpPreset::Custom,
            host: "127.0.0.1".into(),
            port: sink.addr.port(),
            tls: TlsMode::None,
            username: String::new(),
            limits: SendLimits { per_second: 0, per_minute: 0, per_day: 0, connections: 2 },
        },
    }
}

/// A customer who agreed to marketing at the counter, with a birthday (day, month).
pub(super) fn customer(s: &mut Store, first: &str, email: &str, birthday: Option<(u8, u8)>) -> i64 {
    let c = CustomerInput {
        first_name: first.into(),
        last_name: "Client".into(),
        email: email.into(),
        birthday: birthday.map(|(day, month)| Birthday { day, month, year: None }),
        ..Default::default()
    };
    s.create_customer(
        &NewCustomer {
            customer: c,
            consent: Some(ConsentInput {
                choice: ConsentChoice::Express,
                source: ConsentSource::Counter,
                wording: "Oui".into(),
            }),
            note: String::new(),
        },
        None,
    )
    .unwrap()
    .value
}

pub(super) fn paris(s: &mut Store) {
    let settings = AutomationSettings { time_zone: "Europe/Paris".into(), ..AutomationSettings::default() };
    s.save_automation_settings(&settings, None).unwrap();
}

pub(super) fn of_kind(s: &mut Store, kind: AutomationKind) -> Automation {
    s.automations().unwrap().into_iter().find(|a| a.kind == kind).unwrap()
}

fn fast() -> EngineOptions {
    EngineOptions {
        precheck: Some(checker::precheck),
        backoff_base: Duration::milliseconds(1),
        max_attempts: 3,
        pause_after_errors: 10,
        batch: 8,
    }
}

/// Send what the automation's outbox holds through the sink.
pub(super) fn send(s: &mut Store, a: &Automation) {
    let transport = SmtpPool::new(&s.mail_settings().unwrap().smtp, None, Default::default()).unwrap();
    let limits = s.mail_settings().unwrap().smtp.limits;
    Engine::new(fast()).run_campaign(s, a.campaign_id, &transport, &limits).unwrap();
    checker::tick(s).unwrap();
}

fn occasions(s: &Store, a: &Automation) -> Vec<(String, String, Option<String>)> {
    s.conn()
        .prepare("SELECT occasion_key, state, reason FROM automation_occasions WHERE automation_id = ?1 ORDER BY id")
        .unwrap()
        .query_map([a.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn with_voucher(s: &mut Store) -> Automation {
    let a = of_kind(s, AutomationKind::Birthday);
    let mut config = a.config.clone();
    config.birthday_voucher =
        Some(BirthdayVoucher { kind: crate::loyalty::VoucherKind::Amount, value: 500, days_after: 7 });
    let input = AutomationInput { config, message_fr: a.message_fr.clone(), message_en: a.message_en.clone() };
    s.save_automation(a.id, &input, None).unwrap().value
}

#[test]
fn a_birthday_in_three_days_is_sent_once_with_a_voucher_attached_to_the_customer() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 4).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    // The clock reads Monday 23 November 2026, 11:00 in Paris.
    let lea = customer(&mut s, "Léa", "lea.client@example.com", Some((26, 11)));
    let _far = customer(&mut s, "Loin", "loin@example.com", Some((20, 1)));
    let a = with_voucher(&mut s);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();

    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    let got = sink.received();
    assert_eq!(got.len(), 1, "only the customer whose birthday is in 3 days receives it");
    let raw = String::from_utf8_lossy(&got[0].data).into_owned();
    let parsed = mail_parser::MessageParser::default().parse(raw.as_bytes()).unwrap();
    let text = parsed.body_text(0).unwrap().into_owned();
    let status = s.loyalty_status(lea).unwrap();
    let voucher = status.vouchers.iter().find(|v| v.source == "automation").expect("the voucher is on her record");
    assert_eq!(voucher.value, 500, "the voucher is worth what the merchant set");
    assert!(text.contains(&voucher.code), "the message carries the voucher's code: {text}");
    assert!(
        voucher.expires_at > s.now() + Duration::days(9),
        "valid until 7 days after the birthday (26 Nov + 7 days)"
    );
    assert_eq!(occasions(&s, &a), vec![("birthday:2026".into(), "sent".into(), None)], "one occasion, sent");

    // Checking again, later the same week, and after a restart sends nothing more.
    for _ in 0..3 {
        clock.advance(Duration::hours(20));
        checker::tick(&mut s).unwrap();
        send(&mut s, &a);
    }
    assert_eq!(sink.count(), 1, "the same birthday is never sent twice");
    let vouchers = s.loyalty_status(lea).unwrap().vouchers.iter().filter(|v| v.source == "automation").count();
    assert_eq!(vouchers, 1, "and its voucher is given once");
    let journal = s.automation_journal(a.id, None, 50).unwrap();
    let states: Vec<_> = journal.iter().rev().map(|j| j.state).collect();
    assert_eq!(
        states,
        vec![OccasionState::Pending, OccasionState::Queued, OccasionState::Sent],
        "the journal tells each step"
    );
    let tl = s.timeline(lea, 50).unwrap();
    assert!(
        tl.iter()
            .any(|e| matches!(&e.kind, crate::customers::TimelineKind::Automation { state, .. } if state == "sent")),
        "the customer's timeline shows the automatic message"
    );
}

#[test]
fn two_copies_of_the_app_on_one_file_make_one_occasion() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.sqlite");
    let clock = testutil::clock();
    let mut one = Store::open_with_clock(&path, clock.clone()).unwrap();
    let mut two = Store::open_with_clock(&path, clock.clone()).unwrap();
    let sink = Sink::start(true, 2).unwrap();
    one.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut one);
    customer(&mut one, "Léa", "lea.client@example.com", Some((26, 11)));
    let a = of_kind(&mut one, AutomationKind::Birthday);
    one.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    checker::tick(&mut one).unwrap();
    checker::tick(&mut two).unwrap();
    checker::tick(&mut one).unwrap();
    let rows: i64 = two.conn().query_row("SELECT count(*) FROM campaign_recipients", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 1, "one message in the outbox whatever the number of copies checking");
    let occ: i64 = two.conn().query_row("SELECT count(*) FROM automation_occasions", [], |r| r.get(0)).unwrap();
    assert_eq!(occ, 1, "one occasion");
}

#[test]
fn after_a_long_closure_the_missed_birthdays_wait_for_the_merchant() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 4).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let a = of_kind(&mut s, AutomationKind::Birthday);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    for (i, day) in [(0, 28), (1, 29), (2, 30)] {
        customer(&mut s, &format!("Client{i}"), &format!("c{i}@example.com"), Some((day, 11)));
    }
    customer(&mut s, "Passé", "passe@example.com", Some((20, 11)));
    checker::tick(&mut s).unwrap();
    assert_eq!(sink.count(), 0, "nothing is due yet (birthdays are 5 to 7 days away; sent 3 days before)");
    // Closed for five days.
    clock.advance(Duration::days(5));
    let report = checker::tick(&mut s).unwrap();
    assert_eq!(report.awaiting, 3, "the three birthdays that came due while closed wait: {report:?}");
    let d = s.automation_decisions().unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].count, 3, "one decision for the three");
    s.decide_automation(a.id, true, None).unwrap();
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    assert_eq!(sink.count(), 3, "sent once the merchant says so");
    assert!(s.automation_decisions().unwrap().is_empty(), "nothing left to decide");
    let states: Vec<String> = occasions(&s, &a).into_iter().map(|o| o.1).collect();
    assert_eq!(states, vec!["sent"; 3], "the one whose birthday had passed before turning on is not made");
}

#[test]
fn quiet_hours_hold_messages_until_the_shop_opens() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let a = of_kind(&mut s, AutomationKind::Birthday);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    customer(&mut s, "Léa", "lea.client@example.com", Some((27, 11)));
    // 11:00 in Paris: the birthday is 4 days away; its message is due at local midnight.
    clock.advance(Duration::hours(12)); // 23:00 in Paris, still 4 days away
    checker::tick(&mut s).unwrap();
    clock.advance(Duration::hours(2)); // 01:00 in Paris on the 24th: due, but quiet hours
    let r = checker::tick(&mut s).unwrap();
    assert!(r.quiet, "at 1 in the morning nothing is queued");
    send(&mut s, &a);
    assert_eq!(sink.count(), 0, "nothing leaves at night");
    clock.advance(Duration::hours(8)); // 09:00
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    assert_eq!(sink.count(), 1, "it leaves once the sending hours begin");
}

#[test]
fn a_lower_priority_message_is_postponed_then_expires_with_its_reason() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let lea = customer(&mut s, "Léa", "lea.client@example.com", Some((26, 11)));
    let birthday = of_kind(&mut s, AutomationKind::Birthday);
    let thanks = of_kind(&mut s, AutomationKind::Thanks);
    s.enable_automation(birthday.id, EnableMode::NewOnly, None).unwrap();
    s.enable_automation(thanks.id, EnableMode::NewOnly, None).unwrap();
    testutil::sale(&mut s, lea, 1200);
    clock.advance(Duration::days(2));
    checker::tick(&mut s).unwrap();
    send(&mut s, &birthday);
    send(&mut s, &thanks);
    assert_eq!(sink.count(), 1, "one automatic message per few days");
    let t = occasions(&s, &thanks);
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].1.as_str(), t[0].2.as_deref()), ("postponed", Some("pressure")), "the thank-you waits");
    // Three days later the limit allows one again, but the thank-you's window (5 days) holds.
    clock.advance(Duration::days(3));
    checker::tick(&mut s).unwrap();
    send(&mut s, &thanks);
    assert_eq!(sink.count(), 2, "the postponed thank-you goes when the limit allows");
    let _ = lea;
}

#[test]
fn a_win_back_is_cancelled_when_the_customer_came_back_before_it_left() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let lea = customer(&mut s, "Léa", "lea.client@example.com", None);
    testutil::sale(&mut s, lea, 1500);
    let a = of_kind(&mut s, AutomationKind::Winback);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    clock.advance(Duration::days(61));
    checker::tick(&mut s).unwrap();
    // She comes back between the queueing and the sending.
    testutil::sale(&mut s, lea, 800);
    send(&mut s, &a);
    assert_eq!(sink.count(), 0, "no \"we miss you\" to someone who just came");
    let o = occasions(&s, &a);
    assert_eq!(o.len(), 1);
    assert_eq!((o[0].1.as_str(), o[0].2.as_deref()), ("skipped", Some("came_back")), "skipped, with the reason");
}

#[test]
fn a_thank_you_is_skipped_when_the_purchase_was_refunded() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let lea = customer(&mut s, "Léa", "lea.client@example.com", None);
    let a = of_kind(&mut s, AutomationKind::Thanks);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    let sale = testutil::sale(&mut s, lea, 1500);
    checker::tick(&mut s).unwrap();
    s.refund(&crate::purchases::RefundInput { sale_id: sale, amount_cents: None, note: String::new() }, None).unwrap();
    clock.advance(Duration::days(2));
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    assert_eq!(sink.count(), 0, "no thank-you for a purchase given back");
    let o = occasions(&s, &a);
    assert_eq!((o[0].1.as_str(), o[0].2.as_deref()), ("skipped", Some("refunded")), "skipped because refunded");
}

#[test]
fn a_customer_without_consent_is_skipped_with_the_reason() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let id = testutil::add(
        &mut s,
        CustomerInput {
            first_name: "Sans".into(),
            last_name: "Accord".into(),
            email: "sans@example.com".into(),
            birthday: Some(Birthday { day: 26, month: 11, year: Some(1990) }),
            ..Default::default()
        },
    );
    let a = of_kind(&mut s, AutomationKind::Birthday);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    assert_eq!(sink.count(), 0, "no consent, no message");
    let o = occasions(&s, &a);
    assert_eq!(o.len(), 1, "the occasion is recorded");
    assert_eq!(o[0].1, "skipped", "as skipped");
    assert!(o[0].2.is_some(), "with its reason");
    let _ = (id, clock);
}

#[test]
fn a_voucher_is_given_only_with_a_message_that_leaves() {
    let (mut s, _clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let lea = customer(&mut s, "Léa", "lea.client@example.com", Some((26, 11)));
    let a = with_voucher(&mut s);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    checker::tick(&mut s).unwrap();
    // Turned off before the sender took it: nothing leaves, and no voucher is given.
    s.disable_automation(a.id, None).unwrap();
    send(&mut s, &a);
    assert_eq!(sink.count(), 0, "a message taken back is not sent");
    let vouchers = s.loyalty_status(lea).unwrap().vouchers.iter().filter(|v| v.source == "automation").count();
    assert_eq!(vouchers, 0, "no birthday voucher without the birthday message");
    let o = occasions(&s, &a);
    assert_eq!((o[0].1.as_str(), o[0].2.as_deref()), ("skipped", Some("automation_off")), "skipped, with the reason");
}

#[test]
fn a_message_queued_before_closing_time_waits_for_the_next_morning() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    customer(&mut s, "Léa", "lea.client@example.com", Some((26, 11)));
    let a = of_kind(&mut s, AutomationKind::Birthday);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    clock.advance(Duration::hours(8) + Duration::minutes(25)); // 19:25 in Paris
    checker::tick(&mut s).unwrap();
    clock.advance(Duration::minutes(10)); // 19:35: the sender only gets to it now
    let transport = SmtpPool::new(&s.mail_settings().unwrap().smtp, None, Default::default()).unwrap();
    let limits = s.mail_settings().unwrap().smtp.limits;
    let mut engine = Engine::new(fast());
    engine.step_for(&mut s, Some(a.campaign_id), &transport, &limits).unwrap();
    assert_eq!(sink.count(), 0, "nothing leaves after the sending hours");
    let next: Option<chrono::DateTime<chrono::Utc>> = s
        .conn()
        .query_row("SELECT next_attempt_at FROM campaign_recipients WHERE campaign_id = ?1", [a.campaign_id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        next.map(|t| t.with_timezone(&chrono_tz::Europe::Paris).format("%H:%M").to_string()),
        Some("09:00".to_string()),
        "it waits for 9:00 the next morning"
    );
    clock.advance(Duration::hours(14)); // 09:35
    send(&mut s, &a);
    assert_eq!(sink.count(), 1, "and leaves then");
}

#[test]
fn an_automations_outbox_is_not_a_campaign_to_pause_or_cancel() {
    let (mut s, _clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    let a = of_kind(&mut s, AutomationKind::Birthday);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    assert!(s.cancel_campaign(a.campaign_id, None).is_err(), "the campaign screens cannot cancel it");
    assert!(s.pause_campaign(a.campaign_id, None).is_err(), "nor pause it");
    assert!(s.start_campaign(a.campaign_id, None).is_err(), "nor start it");
    assert!(s.campaigns().unwrap().iter().all(|c| c.id != a.campaign_id), "nor list it");
    // A pause from elsewhere (a backup restored pauses every outbox) is shown and can be lifted.
    s.conn()
        .execute(
            "UPDATE campaigns SET state = 'paused', pause_reason = 'merchant', pause_detail = 'restore' WHERE id = ?1",
            [a.campaign_id],
        )
        .unwrap();
    assert_eq!(s.automation(a.id).unwrap().sending_paused.as_deref(), Some("restore"), "the card says it is paused");
    s.resume_automation(a.id, None).unwrap();
    assert_eq!(s.automation(a.id).unwrap().sending_paused, None, "and sending resumes");
}

#[test]
fn a_birthday_whose_whole_window_fell_in_a_closure_is_recorded_as_expired() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let a = of_kind(&mut s, AutomationKind::Birthday);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    customer(&mut s, "Léa", "lea.client@example.com", Some((28, 11)));
    checker::tick(&mut s).unwrap();
    // Closed three weeks: her window (25 Nov – 1 Dec) opened and closed meanwhile.
    clock.advance(Duration::days(21));
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    assert_eq!(sink.count(), 0, "a birthday three weeks late is not sent");
    let o = occasions(&s, &a);
    assert_eq!(o.len(), 1, "but it is not lost without a trace");
    assert_eq!((o[0].1.as_str(), o[0].2.as_deref()), ("expired", Some("closed")), "expired, missed while closed");
}

#[test]
fn a_welcome_on_sign_up_is_not_sent_to_an_import() {
    let (mut s, _clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let a = of_kind(&mut s, AutomationKind::Welcome);
    let mut input = AutomationInput {
        config: a.config.clone(),
        message_fr: a.message_fr.clone(),
        message_en: a.message_en.clone(),
    };
    input.config.welcome_on = WelcomeOn::SignUp;
    input.config.welcome_delay_hours = 0;
    s.save_automation(a.id, &input, None).unwrap();
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    let signed = customer(&mut s, "Léa", "lea.client@example.com", None);
    let imported = customer(&mut s, "Import", "import@example.com", None);
    s.conn()
        .execute(
            "INSERT INTO imports (id, file_name, format, options, counts, created_at) VALUES (1, 'clients.csv', 'csv', '{}', '{}', '2026-11-23 10:00:00+00:00')",
            [],
        )
        .unwrap();
    s.conn()
        .execute("INSERT INTO import_changes (import_id, customer_id, action) VALUES (1, ?1, 'created')", [imported])
        .unwrap();
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    let to: Vec<String> = sink.received().into_iter().flat_map(|r| r.to).collect();
    assert_eq!(to.len(), 1, "one welcome: {to:?}");
    assert!(to[0].contains("lea.client@"), "to the person who signed up, not to the imported record");
    let _ = signed;
}

#[test]
fn a_regular_customer_late_on_their_rhythm_is_missed_sooner_than_the_fixed_delay() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    // A regular: a visit every 10 days (three visits); an occasional customer: one visit.
    let regular = customer(&mut s, "Régulière", "reguliere@example.com", None);
    let once = customer(&mut s, "Passage", "passage@example.com", None);
    for _ in 0..3 {
        testutil::sale(&mut s, regular, 900);
        clock.advance(Duration::days(10));
    }
    testutil::sale(&mut s, once, 900);
    let a = of_kind(&mut s, AutomationKind::Winback);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    // 19 days after the regular's last visit: not yet late (200 % of 10 days is 20 days).
    clock.advance(Duration::days(9));
    checker::tick(&mut s).unwrap();
    assert!(occasions(&s, &a).is_empty(), "19 days is within twice her usual gap");
    clock.advance(Duration::days(2));
    checker::tick(&mut s).unwrap();
    let o = occasions(&s, &a);
    assert_eq!(o.len(), 1, "21 days: she is late on her rhythm, long before the fixed 60 days");
    let who: i64 = s
        .conn()
        .query_row("SELECT customer_id FROM automation_occasions WHERE automation_id = ?1", [a.id], |r| r.get(0))
        .unwrap();
    assert_eq!(who, regular, "the occasional customer is not late on a rhythm they do not have");
    // Checking again makes nothing more for the same absence.
    clock.advance(Duration::hours(5));
    checker::tick(&mut s).unwrap();
    assert_eq!(occasions(&s, &a).len(), 1, "one win-back per absence");
    let _ = once;
}

#[test]
fn erasing_a_customer_who_received_automatic_messages_removes_what_they_said() {
    let (mut s, _clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let lea = customer(&mut s, "Léa", "lea.client@example.com", Some((26, 11)));
    let a = with_voucher(&mut s);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    assert_eq!(sink.count(), 1);
    s.erase_customer(lea, None).expect("a customer who received automatic messages can be erased");
    let (data, fields, occasion): (String, Option<String>, String) = s
        .conn()
        .query_row(
            "SELECT o.data, r.fields, r.occasion FROM automation_occasions o JOIN campaign_recipients r ON r.id = o.recipient_id
             WHERE o.customer_id = ?1",
            [lea],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(data, "{}", "the birthday's date is no longer kept with the occasion");
    assert_eq!(occasion, "birthday:2026", "nor in the outbox row's name of the occasion");
    assert_eq!(fields, None, "nor the voucher code the message carried");
    assert_eq!(occasions(&s, &a)[0].1, "sent", "the occasion stays, so it is never sent again");
}

#[test]
fn the_welcome_invites_to_refer_only_while_a_referral_offer_runs() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let a = of_kind(&mut s, AutomationKind::Welcome);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    let lea = customer(&mut s, "Léa", "lea.client@example.com", None);
    testutil::sale(&mut s, lea, 1500);
    clock.advance(Duration::hours(3));
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    let got = sink.received();
    assert_eq!(got.len(), 1, "the welcome leaves after the first purchase");
    let raw = String::from_utf8_lossy(&got[0].data).into_owned();
    let text = mail_parser::MessageParser::default().parse(raw.as_bytes()).unwrap().body_text(0).unwrap().into_owned();
    assert!(text.contains("Bienvenue"), "it is the welcome: {text}");
    assert!(!text.contains("Parrainez"), "no referral offer runs: no invitation to refer");
}

#[test]
fn a_partial_refund_still_gets_its_thank_you() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    paris(&mut s);
    let lea = customer(&mut s, "Léa", "lea.client@example.com", None);
    let a = of_kind(&mut s, AutomationKind::Thanks);
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    let sale = testutil::sale(&mut s, lea, 4000);
    s.refund(&crate::purchases::RefundInput { sale_id: sale, amount_cents: Some(1000), note: String::new() }, None)
        .unwrap();
    clock.advance(Duration::days(2));
    checker::tick(&mut s).unwrap();
    send(&mut s, &a);
    assert_eq!(sink.count(), 1, "one item of four given back: the purchase still happened");
}

#[test]
fn an_automatic_message_cannot_carry_the_satisfaction_question() {
    let (mut s, _clock) = testutil::store();
    let a = of_kind(&mut s, AutomationKind::Welcome);
    let mut message_fr = a.message_fr.clone();
    message_fr.blocks.push(crate::campaigns::Block::Survey { question: String::new() });
    let input = AutomationInput { config: a.config.clone(), message_fr, message_en: a.message_en.clone() };
    let e = s.save_automation(a.id, &input, None).unwrap_err();
    assert!(
        format!("{e:?}").contains("survey_campaign_only"),
        "no outbox row records who an automatic message asked, nor keeps the 90 days: {e:?}"
    );
}
