//! Campaigns on a real database, sent to a real SMTP server on loopback.

use super::engine::{Engine, EngineOptions};
use super::mail::{Delivery, MailSettings, SendLimits, SmtpPreset, SmtpSettings, TlsMode};
use super::segments::{Combine, Condition, SegmentFilter};
use super::sink::Sink;
use super::smtp::{EmlOutbox, SmtpPool};
use super::*;
use crate::customers::{ConsentChoice, ConsentInput, ConsentSource, CustomerInput, NewCustomer};
use crate::testutil;
use crate::types::Country;
use chrono::Duration;

fn mail(sink: Option<&Sink>) -> MailSettings {
    MailSettings {
        sender_name: "Boulangerie Léa".into(),
        sender_email: "lea@boulangerie.fr".into(),
        reply_to: String::new(),
        postal_address: "3 rue des Lilas, 69001 Lyon".into(),
        language: crate::types::Lang::Fr,
        delivery: if sink.is_some() { Delivery::Smtp } else { Delivery::Outbox },
        smtp: SmtpSettings {
            preset: SmtpPreset::Custom,
            host: "127.0.0.1".into(),
            port: sink.map(|s| s.addr.port()).unwrap_or(25),
            tls: TlsMode::None,
            username: String::new(),
            limits: SendLimits { per_second: 0, per_minute: 0, per_day: 0, connections: 4 },
        },
    }
}

fn customer(s: &mut crate::Store, first: &str, email: &str, country: Country, consent: Option<ConsentChoice>) -> i64 {
    let mut c = CustomerInput {
        first_name: first.into(),
        last_name: "Client".into(),
        email: email.into(),
        ..Default::default()
    };
    c.address.country = Some(country);
    s.create_customer(
        &NewCustomer {
            customer: c,
            consent: consent.map(|choice| ConsentInput {
                choice,
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

fn input(filter: SegmentFilter, control: u8) -> CampaignInput {
    CampaignInput {
        name: "Novembre".into(),
        content: CampaignContent {
            a: MessageContent {
                subject: "Bonjour {{ first_name }}".into(),
                preheader: "Les nouvelles".into(),
                blocks: vec![
                    Block::Heading { text: "Nouveautés".into() },
                    Block::Text { markdown: "Vous avez **{{ points }}** points, {{ first_name }}.".into() },
                ],
            },
            b: None,
        },
        audience: Audience { filter, control_percent: control, ab: None, results_days: 14 },
    }
}

fn fast() -> EngineOptions {
    EngineOptions { backoff_base: Duration::milliseconds(1), max_attempts: 3, pause_after_errors: 10, batch: 8 }
}

fn body_of(r: &sink::Received) -> String {
    String::from_utf8_lossy(&r.data).into_owned()
}

#[test]
fn a_campaign_reaches_everyone_who_agreed_through_a_real_smtp_server() {
    let (mut s, _) = testutil::store();
    let sink = Sink::start(true, 8).unwrap();
    s.save_mail_settings(&mail(Some(&sink)), None).unwrap();
    customer(&mut s, "<b>Zoé</b>", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    customer(&mut s, "Émile", "emile@example.com", Country::FR, Some(ConsentChoice::Express));
    customer(&mut s, "Refus", "refus@example.com", Country::FR, Some(ConsentChoice::Refused));
    customer(&mut s, "Rien", "rien@example.com", Country::FR, None);
    let count = s.segment_count(&SegmentFilter::default()).unwrap();
    assert_eq!((count.matching, count.eligible), (4, 2), "4 customers, 2 may receive marketing");
    assert_eq!(count.excluded.len(), 2, "the refusal and the missing consent are each counted");

    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let transport = SmtpPool::new(&s.mail_settings().unwrap().smtp, None).unwrap();
    let limits = s.mail_settings().unwrap().smtp.limits;
    let state = Engine::new(fast()).run_campaign(&mut s, c.id, &transport, &limits).unwrap();
    assert_eq!(state, CampaignState::Finished, "the campaign finishes");

    let got = sink.received();
    assert_eq!(got.len(), 2, "one message per consenting customer, none to the others");
    let zoe = got.iter().find(|r| r.to.iter().any(|t| t.contains("zoe@"))).expect("Zoé received it");
    let raw = body_of(zoe);
    let parsed = mail_parser::MessageParser::default().parse(raw.as_bytes()).expect("a well-formed message");
    assert!(parsed.message_id().is_some_and(|m| m.ends_with("@boulangerie.fr")), "a Message-ID on the sender's domain");
    assert!(parsed.date().is_some(), "a Date header");
    let unsub = parsed.header_raw("List-Unsubscribe").expect("a List-Unsubscribe header");
    assert!(
        unsub.contains("mailto:lea@boulangerie.fr?subject=unsubscribe"),
        "List-Unsubscribe is a mailto with a token: {unsub}"
    );
    assert_eq!(parsed.subject(), Some("Bonjour <b>Zoé</b>"), "the subject carries the first name as typed");
    let html = parsed.body_html(0).expect("an HTML part");
    assert!(html.contains("&lt;b&gt;Zoé&lt;"), "the name is escaped in the HTML part");
    assert!(!html.contains("<b>Zoé</b>"), "no HTML from a customer's name reaches the message");
    let text = parsed.body_text(0).expect("a text part");
    assert!(text.contains("3 rue des Lilas"), "the postal address is in the text part");
    assert!(html.contains("3 rue des Lilas"), "and in the HTML part");
    let token = unsub.split("unsubscribe%20").nth(1).unwrap().trim().trim_end_matches('>');
    assert!(html.contains(token), "the visible unsubscribe line carries the same token");

    let c = s.campaign(c.id).unwrap();
    assert_eq!((c.progress.sent, c.progress.waiting, c.progress.failed), (2, 0, 0), "counts are right");
    let emile: i64 =
        s.conn().query_row("SELECT id FROM customers WHERE first_name = 'Émile'", [], |r| r.get(0)).unwrap();
    let tl = s.timeline(emile, 50).unwrap();
    assert!(
        tl.iter().any(
            |e| matches!(&e.kind, crate::customers::TimelineKind::EmailSent { campaign, .. } if campaign == "Novembre")
        ),
        "the customer's timeline shows the message"
    );
}

#[test]
fn france_and_canada_consent_rules_decide_who_is_targeted() {
    let (mut s, clock) = testutil::store();
    let fr_soft = customer(&mut s, "A", "a@example.com", Country::FR, Some(ConsentChoice::ExistingCustomer));
    let fr_no_buy = customer(&mut s, "B", "b@example.com", Country::FR, Some(ConsentChoice::ExistingCustomer));
    let ca_old = customer(&mut s, "C", "c@example.com", Country::CA, Some(ConsentChoice::ExistingCustomer));
    let ca_recent = customer(&mut s, "D", "d@example.com", Country::CA, Some(ConsentChoice::ExistingCustomer));
    let _ = fr_no_buy;
    testutil::sale(&mut s, fr_soft, 1000);
    testutil::sale(&mut s, ca_old, 1000);
    clock.advance(Duration::days(800));
    testutil::sale(&mut s, ca_recent, 1000);
    let n = s.segment_count(&SegmentFilter::default()).unwrap();
    assert_eq!(n.eligible, 2, "France soft opt-in with a purchase, and Canada with a purchase in the last 2 years");
    let reasons: Vec<_> = n.excluded.iter().map(|e| (e.reason, e.count)).collect();
    assert!(
        reasons.contains(&(consent::Exclusion::NotACustomer, 1)),
        "France: no purchase, no soft opt-in: {reasons:?}"
    );
    assert!(
        reasons.contains(&(consent::Exclusion::ImpliedExpired, 1)),
        "Canada: purchase over 2 years ago: {reasons:?}"
    );
}

#[test]
fn segments_combine_filters_without_sql_and_a_typed_value_stays_a_value() {
    let (mut s, _) = testutil::store();
    let a = customer(&mut s, "A", "a@example.com", Country::FR, Some(ConsentChoice::Express));
    customer(&mut s, "B", "b@example.com", Country::FR, Some(ConsentChoice::Express));
    testutil::sale(&mut s, a, 12_000);
    let f = |combine, conditions| SegmentFilter { combine, conditions };
    let spent = Condition::SpentAtLeast { cents: 10_000 };
    let never = Condition::NeverBought;
    assert_eq!(s.segment_count(&f(Combine::All, vec![spent.clone()])).unwrap().matching, 1, "spent at least 100 €");
    assert_eq!(s.segment_count(&f(Combine::All, vec![spent.clone(), never.clone()])).unwrap().matching, 0, "and: both");
    assert_eq!(s.segment_count(&f(Combine::Any, vec![spent, never])).unwrap().matching, 2, "or: either");
    let evil = Condition::HasTag { tag: "x' OR 1=1 --".into() };
    assert_eq!(s.segment_count(&f(Combine::All, vec![evil])).unwrap().matching, 0, "a tag is a bound value, never SQL");
    let saved = s
        .save_segment(None, "Gros clients", &f(Combine::All, vec![Condition::SpentAtLeast { cents: 10_000 }]), None)
        .unwrap();
    assert_eq!(s.segments().unwrap()[0].name, "Gros clients", "segments can be saved and reused");
    s.archive_segment(saved.value.id, None).unwrap();
    assert!(s.segments().unwrap().is_empty(), "and put away");
}

#[test]
fn without_smtp_the_messages_are_written_as_eml_files() {
    let (mut s, _) = testutil::store();
    s.save_mail_settings(&mail(None), None).unwrap();
    customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outbox = EmlOutbox { dir: dir.path().to_path_buf() };
    let limits = engine::limits_for(&s.mail_settings().unwrap());
    Engine::new(fast()).run_campaign(&mut s, c.id, &outbox, &limits).unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one .eml file per message");
    assert_eq!(files[0].extension().unwrap(), "eml");
    let raw = std::fs::read(&files[0]).unwrap();
    assert!(
        mail_parser::MessageParser::default().parse(&raw).unwrap().subject() == Some("Bonjour Zoé"),
        "a real message"
    );
}

#[test]
fn a_550_fails_one_recipient_a_451_is_retried_and_nobody_else_is_affected() {
    // Retries wait a few real milliseconds: the system clock, not the fixed test clock.
    let mut s = crate::Store::open_in_memory().unwrap();
    let sink = Sink::start(true, 8).unwrap();
    s.save_mail_settings(&mail(Some(&sink)), None).unwrap();
    for i in 0..10 {
        customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express));
    }
    sink.refuse("c3@example.com", 550, "5.1.1 No such user");
    sink.fail_next(3, 451, "4.3.0 Try again later");
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let transport = SmtpPool::new(&s.mail_settings().unwrap().smtp, None).unwrap();
    let limits = s.mail_settings().unwrap().smtp.limits;
    let state = Engine::new(fast()).run_campaign(&mut s, c.id, &transport, &limits).unwrap();
    assert_eq!(state, CampaignState::Finished);
    let c = s.campaign(c.id).unwrap();
    assert_eq!(c.progress.sent, 9, "everyone but the refused address received it");
    assert_eq!(c.progress.failed, 1, "the 550 address is failed, not retried");
    let got = sink.received();
    assert_eq!(got.len(), 9, "the 451s were retried, nobody received it twice");
    let attempts: i64 = s
        .conn()
        .query_row("SELECT attempts FROM campaign_recipients WHERE email = 'c3@example.com'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(attempts, 1, "a permanent error is not retried");
}

#[test]
fn a_dead_server_pauses_the_campaign_with_a_reason_and_nothing_is_lost() {
    let (mut s, _) = testutil::store();
    // A port with nobody listening: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut m = mail(None);
    m.delivery = Delivery::Smtp;
    m.smtp.port = port;
    s.save_mail_settings(&m, None).unwrap();
    for i in 0..12 {
        customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express));
    }
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let transport = SmtpPool::new(&m.smtp, None).unwrap();
    let mut engine = Engine::new(EngineOptions { max_attempts: 100, ..fast() });
    let state = engine.run_campaign(&mut s, c.id, &transport, &m.smtp.limits).unwrap();
    assert_eq!(state, CampaignState::Paused, "too many errors in a row pause the campaign");
    let c = s.campaign(c.id).unwrap();
    assert_eq!(c.pause_reason, Some(PauseReason::Errors));
    assert!(c.pause_detail.unwrap_or_default().to_lowercase().contains("refused"), "the reason is kept");
    assert_eq!((c.progress.sent, c.progress.failed, c.progress.waiting), (0, 0, 12), "everyone still waits");

    // The server comes back: resume, and everyone receives it once.
    let sink = Sink::start(true, 8).unwrap();
    m.smtp.port = sink.addr.port();
    s.save_mail_settings(&m, None).unwrap();
    s.resume_campaign(c.id, None).unwrap();
    let transport = SmtpPool::new(&m.smtp, None).unwrap();
    // Retries were pushed back by the backoff; let the clock pass them.
    s.conn().execute("UPDATE campaign_recipients SET next_attempt_at = NULL", []).unwrap();
    let state = Engine::new(fast()).run_campaign(&mut s, c.id, &transport, &m.smtp.limits).unwrap();
    assert_eq!(state, CampaignState::Finished);
    assert_eq!(sink.count(), 12, "every recipient received it after the resume");
}

#[test]
fn an_unsubscribe_recorded_mid_campaign_is_honoured_before_the_next_message() {
    let (mut s, _) = testutil::store();
    s.save_mail_settings(&mail(None), None).unwrap();
    for i in 0..5 {
        customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express));
    }
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let report = s.apply_unsubscribes("C3 <c3@example.com>\nsomeone@unknown.org", None).unwrap().value;
    assert_eq!((report.recorded, report.unknown.len()), (1, 1), "one known address, one unknown line");
    let dir = tempfile::tempdir().unwrap();
    let outbox = EmlOutbox { dir: dir.path().to_path_buf() };
    let limits = engine::limits_for(&s.mail_settings().unwrap());
    Engine::new(fast()).run_campaign(&mut s, c.id, &outbox, &limits).unwrap();
    let c = s.campaign(c.id).unwrap();
    assert_eq!((c.progress.sent, c.progress.skipped), (4, 1), "the unsubscribed customer is skipped");
    // A token from a received message works too.
    let token: String = s
        .conn()
        .query_row("SELECT token FROM campaign_recipients WHERE email = 'c1@example.com'", [], |r| r.get(0))
        .unwrap();
    let r = s.apply_unsubscribes(&format!("Subject: unsubscribe {token}"), None).unwrap().value;
    assert_eq!(r.recorded, 1, "the token names the customer");
    assert_eq!(s.campaign_results(c.id).unwrap().unsubscribed, 1, "and counts against the campaign");
    assert_eq!(s.segment_count(&SegmentFilter::default()).unwrap().eligible, 3, "both are excluded from now on");
}

#[test]
fn a_control_group_is_held_out_and_results_compare_with_it() {
    let (mut s, clock) = testutil::store();
    s.save_mail_settings(&mail(None), None).unwrap();
    let ids: Vec<i64> = (0..100)
        .map(|i| {
            customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express))
        })
        .collect();
    let c = s.create_campaign(&input(SegmentFilter::default(), 20), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outbox = EmlOutbox { dir: dir.path().to_path_buf() };
    let limits = engine::limits_for(&s.mail_settings().unwrap());
    Engine::new(fast()).run_campaign(&mut s, c.id, &outbox, &limits).unwrap();
    let c = s.campaign(c.id).unwrap();
    assert_eq!((c.progress.sent, c.progress.control), (80, 20), "20% held out, 80% sent");
    clock.advance(Duration::days(2));
    let sent_ids: Vec<i64> = {
        let mut st = s
            .conn()
            .prepare("SELECT customer_id FROM campaign_recipients WHERE state = 'sent' ORDER BY id LIMIT 8")
            .unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
    };
    for id in &sent_ids {
        testutil::sale(&mut s, *id, 2_000);
    }
    let ctrl: i64 = s
        .conn()
        .query_row("SELECT customer_id FROM campaign_recipients WHERE state = 'control' LIMIT 1", [], |r| r.get(0))
        .unwrap();
    testutil::sale(&mut s, ctrl, 2_000);
    let _ = ids;
    let r = s.campaign_results(c.id).unwrap();
    assert_eq!((r.recipients.buyers, r.recipients.revenue_cents), (8, 16_000), "recipients who bought, and what");
    assert_eq!(r.control.unwrap().buyers, 1, "the control group's purchases");
    let u = r.uplift.unwrap();
    assert_eq!(u.extra_buyers, 4, "8 bought where the control rate (1 in 20) predicts 4");
    assert!(!r.complete, "the 14-day window is still open");
}

#[test]
fn an_ab_test_sends_samples_then_the_winner_to_the_rest() {
    let (mut s, clock) = testutil::store();
    s.save_mail_settings(&mail(None), None).unwrap();
    for i in 0..40 {
        customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express));
    }
    let mut inp = input(SegmentFilter::default(), 0);
    let mut b = inp.content.a.clone();
    b.subject = "Version B pour {{ first_name }}".into();
    inp.content.b = Some(b);
    inp.audience.ab = Some(AbTest { sample_percent: 50, metric: AbMetric::Purchases, wait_days: 2 });
    let c = s.create_campaign(&inp, None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outbox = EmlOutbox { dir: dir.path().to_path_buf() };
    let limits = engine::limits_for(&s.mail_settings().unwrap());
    let mut engine = Engine::new(fast());
    let state = engine.run_campaign(&mut s, c.id, &outbox, &limits).unwrap();
    assert_eq!(state, CampaignState::Paused, "after the samples the campaign waits for the winner");
    assert_eq!(s.campaign(c.id).unwrap().pause_reason, Some(PauseReason::AbWaiting));
    assert_eq!(s.campaign(c.id).unwrap().progress.sent, 20, "half the audience got A or B");
    // B's recipients buy more.
    let b_ids: Vec<i64> = {
        let mut st = s.conn().prepare("SELECT customer_id FROM campaign_recipients WHERE grp = 'b' LIMIT 3").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
    };
    clock.advance(Duration::days(1));
    for id in b_ids {
        testutil::sale(&mut s, id, 1_000);
    }
    engine.tick(&mut s).unwrap();
    assert_eq!(s.campaign(c.id).unwrap().state, CampaignState::Paused, "the winner waits for the 2 days");
    clock.advance(Duration::days(2));
    let state = engine.run_campaign(&mut s, c.id, &outbox, &limits).unwrap();
    assert_eq!(state, CampaignState::Finished);
    let c = s.campaign(c.id).unwrap();
    assert_eq!(c.ab_winner, Some(Variant::B), "B sold more");
    let rest_b: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM campaign_recipients WHERE grp = 'rest' AND variant = 'b' AND state = 'sent'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rest_b, 20, "the rest received the winner");
}

#[test]
fn a_scheduled_campaign_missed_while_closed_waits_for_the_merchant() {
    let (mut s, clock) = testutil::store();
    s.save_mail_settings(&mail(None), None).unwrap();
    customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    assert!(s.schedule_campaign(c.id, s.now() - Duration::hours(1), None).is_err(), "not in the past");
    s.schedule_campaign(c.id, s.now() + Duration::hours(2), None).unwrap();
    clock.advance(Duration::hours(3));
    // The app starts again: the time passed while it was closed.
    assert_eq!(s.mark_missed_schedules().unwrap(), 1);
    let mut engine = Engine::new(fast());
    engine.tick(&mut s).unwrap();
    let c2 = s.campaign(c.id).unwrap();
    assert_eq!((c2.state, c2.missed), (CampaignState::Scheduled, true), "it did not leave by itself");
    s.start_campaign(c.id, None).unwrap();
    assert_eq!(s.campaign(c.id).unwrap().state, CampaignState::Running, "the merchant's confirmation starts it");

    // While the app is open, a scheduled time that comes starts the campaign.
    let d = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.schedule_campaign(d.id, s.now() + Duration::minutes(5), None).unwrap();
    clock.advance(Duration::minutes(6));
    engine.tick(&mut s).unwrap();
    assert_eq!(s.campaign(d.id).unwrap().state, CampaignState::Running, "on time, it starts");

    // A scheduled send that cannot leave (nobody may receive it any more) waits, with why.
    let e = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.schedule_campaign(e.id, s.now() + Duration::minutes(5), None).unwrap();
    s.apply_unsubscribes("zoe@example.com", None).unwrap();
    clock.advance(Duration::minutes(6));
    engine.tick(&mut s).unwrap();
    let e = s.campaign(e.id).unwrap();
    assert_eq!((e.state, e.missed), (CampaignState::Scheduled, true), "it did not start and waits for the merchant");
    assert!(e.pause_detail.unwrap_or_default().contains("Personne"), "the reason is kept for the screen");
}

#[test]
fn a_421_from_the_server_is_temporary_and_everyone_receives_the_message_once() {
    // Retries wait a few real milliseconds: the system clock, not the fixed test clock.
    let mut s = crate::Store::open_in_memory().unwrap();
    let sink = Sink::start(true, 8).unwrap();
    s.save_mail_settings(&mail(Some(&sink)), None).unwrap();
    for i in 0..6 {
        customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express));
    }
    sink.fail_next(4, 421, "4.3.2 Service not available, closing transmission channel");
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let m = s.mail_settings().unwrap();
    let transport = SmtpPool::new(&m.smtp, None).unwrap();
    let state = Engine::new(fast()).run_campaign(&mut s, c.id, &transport, &m.smtp.limits).unwrap();
    assert_eq!(state, CampaignState::Finished, "421s are retried, the campaign finishes");
    assert_eq!(s.campaign(c.id).unwrap().progress.sent, 6);
    let mut to: Vec<String> = sink.received().iter().flat_map(|r| r.to.clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!((to.len(), sink.count()), (6, 6), "each received it exactly once");
}

#[test]
fn the_daily_quota_pauses_the_campaign_until_the_window_allows() {
    let (mut s, clock) = testutil::store();
    let sink = Sink::start(true, 8).unwrap();
    let mut m = mail(Some(&sink));
    m.smtp.limits = SendLimits { per_second: 0, per_minute: 0, per_day: 5, connections: 2 };
    s.save_mail_settings(&m, None).unwrap();
    for i in 0..8 {
        customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express));
    }
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let transport = SmtpPool::new(&m.smtp, None).unwrap();
    let mut engine = Engine::new(fast());
    let state = engine.run_campaign(&mut s, c.id, &transport, &m.smtp.limits).unwrap();
    assert_eq!(state, CampaignState::Paused, "5 per day: paused after 5");
    let c1 = s.campaign(c.id).unwrap();
    assert_eq!((c1.progress.sent, c1.pause_reason), (5, Some(PauseReason::Quota)));
    assert_eq!(c1.resume_at, Some(s.now() + Duration::hours(24)), "it resumes when the window allows");
    clock.advance(Duration::hours(24) + Duration::seconds(1));
    let state = engine.run_campaign(&mut s, c.id, &transport, &m.smtp.limits).unwrap();
    assert_eq!(state, CampaignState::Finished, "the window reopened, the rest left by itself");
    assert_eq!(sink.count(), 8);
}

#[test]
fn a_quota_reply_from_the_provider_pauses_instead_of_failing_recipients() {
    let (mut s, _) = testutil::store();
    let sink = Sink::start(true, 8).unwrap();
    s.save_mail_settings(&mail(Some(&sink)), None).unwrap();
    for i in 0..4 {
        customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express));
    }
    sink.fail_next(100, 550, "5.4.5 Daily user sending quota exceeded");
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let m = s.mail_settings().unwrap();
    let transport = SmtpPool::new(&m.smtp, None).unwrap();
    let state = Engine::new(fast()).run_campaign(&mut s, c.id, &transport, &m.smtp.limits).unwrap();
    assert_eq!(state, CampaignState::Paused);
    let c = s.campaign(c.id).unwrap();
    assert_eq!(c.pause_reason, Some(PauseReason::Quota), "Gmail's 550 5.4.5 is a quota");
    assert_eq!((c.progress.failed, c.progress.waiting), (0, 4), "nobody is marked failed for the provider's quota");
}

/// A bare SMTP server on a socket: the first connection hangs up in the middle of the
/// message's DATA; later ones receive normally. It records the recipients it accepted.
fn flaky_server() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = got.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let record = record.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let _ = stream.write_all(b"220 flaky ESMTP\r\n");
                let mut rcpt = Vec::new();
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.to_ascii_uppercase();
                    if cmd.starts_with("RCPT TO:") {
                        rcpt.push(line[8..].trim().trim_matches(['<', '>']).to_string());
                        let _ = stream.write_all(b"250 ok\r\n");
                    } else if cmd.starts_with("DATA") {
                        let _ = stream.write_all(b"354 go on\r\n");
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if n == 0 {
                                // Hang up in the middle of the first message.
                                let _ = stream.shutdown(std::net::Shutdown::Both);
                                return;
                            }
                            if line == ".\r\n" {
                                break;
                            }
                        }
                        record.lock().unwrap().append(&mut rcpt);
                        let _ = stream.write_all(b"250 queued\r\n");
                    } else if cmd.starts_with("QUIT") {
                        let _ = stream.write_all(b"221 bye\r\n");
                        return;
                    } else {
                        let _ = stream.write_all(b"250 ok\r\n");
                    }
                }
            });
        }
    });
    (port, got)
}

#[test]
fn a_connection_dropped_mid_message_is_retried_and_delivered_once() {
    // Retries wait a few real milliseconds: the system clock, not the fixed test clock.
    let mut s = crate::Store::open_in_memory().unwrap();
    let (port, got) = flaky_server();
    let mut m = mail(None);
    m.delivery = Delivery::Smtp;
    m.smtp.port = port;
    m.smtp.limits.connections = 1;
    s.save_mail_settings(&m, None).unwrap();
    for i in 0..3 {
        customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express));
    }
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let transport = SmtpPool::new(&m.smtp, None).unwrap();
    let state = Engine::new(fast()).run_campaign(&mut s, c.id, &transport, &m.smtp.limits).unwrap();
    assert_eq!(state, CampaignState::Finished);
    let c = s.campaign(c.id).unwrap();
    assert_eq!((c.progress.sent, c.progress.failed), (3, 0), "the dropped message was retried");
    let mut to = got.lock().unwrap().clone();
    to.sort();
    assert_eq!(to, ["c0@example.com", "c1@example.com", "c2@example.com"], "each received it once");
}

#[test]
fn two_senders_can_never_run_at_once_on_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let first = engine::SenderLock::acquire(&db).unwrap();
    assert!(engine::SenderLock::acquire(&db).is_err(), "a second sender is refused while the first runs");
    drop(first);
    assert!(engine::SenderLock::acquire(&db).is_ok(), "once the first stops, another may send");
}

#[test]
fn a_test_send_goes_to_the_merchant_with_a_customers_data() {
    let (mut s, _) = testutil::store();
    let sink = Sink::start(true, 8).unwrap();
    s.save_mail_settings(&mail(Some(&sink)), None).unwrap();
    let zoe = customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    let m = s.mail_settings().unwrap();
    let transport = SmtpPool::new(&m.smtp, None).unwrap();
    let t = engine::send_test(&mut s, &transport, c.id, Variant::A, "lea@boulangerie.fr", Some(zoe)).unwrap();
    assert_eq!(t.outcome, "sent");
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, ["lea@boulangerie.fr"], "to the merchant, not to the customer");
    let parsed = mail_parser::MessageParser::default().parse(&got[0].data).unwrap();
    assert_eq!(parsed.subject(), Some("[TEST] Bonjour Zoé"), "with the chosen customer's first name");
    assert_eq!(s.campaign(c.id).unwrap().state, CampaignState::Draft, "a test does not start the campaign");
    assert_eq!(s.campaign(c.id).unwrap().tests.len(), 1, "the test is recorded");
}

#[test]
fn embedded_images_travel_inside_the_message() {
    use base64::Engine as _;
    let (mut s, _) = testutil::store();
    let sink = Sink::start(true, 8).unwrap();
    s.save_mail_settings(&mail(Some(&sink)), None).unwrap();
    customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let png = b"\x89PNG\r\n\x1a\n0000fakeimagebytes".to_vec();
    let url = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&png));
    let media = s.add_media("vitrine.png", &url, None).unwrap().value;
    assert!(s.add_media("x.svg", "data:image/svg+xml;base64,PHN2Zz4=", None).is_err(), "only PNG, JPEG or GIF");
    let mut inp = input(SegmentFilter::default(), 0);
    inp.content.a.blocks.push(Block::Image { media_id: media.id, alt: "La vitrine".into() });
    let c = s.create_campaign(&inp, None).unwrap().value;
    let preview = s.preview_message(&inp.content.a, None).unwrap();
    assert!(preview.html.contains("data:image/png;base64,"), "the preview shows the image inline");
    s.start_campaign(c.id, None).unwrap();
    let m = s.mail_settings().unwrap();
    let transport = SmtpPool::new(&m.smtp, None).unwrap();
    Engine::new(fast()).run_campaign(&mut s, c.id, &transport, &m.smtp.limits).unwrap();
    let got = sink.received();
    let parsed = mail_parser::MessageParser::default().parse(&got[0].data).unwrap();
    let html = parsed.body_html(0).unwrap();
    assert!(html.contains(&format!("cid:m{}", media.id)), "the HTML points at the embedded image");
    let att = parsed.attachments().next().expect("the image is a part of the message");
    assert_eq!(att.contents(), png.as_slice(), "with the merchant's bytes");
    use mail_parser::MimeHeaders;
    assert_eq!(att.content_id(), Some(format!("m{}", media.id).as_str()), "under its Content-ID");
}
