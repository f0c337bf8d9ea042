//! Who receives what: consent, segments, the outbox, control groups, A/B, schedules, tests.

use super::*;

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
    let transport = SmtpPool::new(&s.mail_settings().unwrap().smtp, None, Default::default()).unwrap();
    let limits = s.mail_settings().unwrap().smtp.limits;
    let state = Engine::new(fast()).run_campaign(&mut s, c.id, &transport, &limits).unwrap();
    assert_eq!(state, CampaignState::Finished, "the campaign finishes");

    let got = sink.received();
    assert_eq!(got.len(), 2, "one message per consenting customer, none to the others");
    let zoe = got.iter().find(|r| r.to.iter().any(|t| t.contains("zoe@"))).expect("Zoé received it");
    let raw = body_of(zoe);
    let parsed = mail_parser::MessageParser::default().parse(raw.as_bytes()).expect("a well-formed message");
    assert!(
        parsed.message_id().is_some_and(|m| m.ends_with("@boulangerie.test")),
        "a Message-ID on the sender's domain"
    );
    assert!(parsed.date().is_some(), "a Date header");
    let unsub = parsed.header_raw("List-Unsubscribe").expect("a List-Unsubscribe header");
    assert!(
        unsub.contains("mailto:lea@boulangerie.test?subject=unsubscribe"),
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
    let limits = smtp::limits_for(&s.mail_settings().unwrap());
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
fn an_unsubscribe_recorded_mid_campaign_is_honoured_before_the_next_message() {
    let (mut s, _) = testutil::store();
    s.save_mail_settings(&mail(None), None).unwrap();
    for i in 0..5 {
        customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express));
    }
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let report = s.apply_unsubscribes("C3 <c3@example.com>\nsomeone@unknown.invalid\nmerci !", None).unwrap().value;
    assert_eq!(
        (report.recorded, report.addresses, report.unknown.len()),
        (1, 1, 1),
        "one customer unsubscribed, one address no customer has suppressed all the same, one line with neither"
    );
    // Pasted from a web page, with a zero-width space inside: still C2's address.
    let pasted = s.apply_unsubscribes("c2\u{200B}@example.com\u{FEFF}", None).unwrap().value;
    assert_eq!(pasted.recorded, 1, "a hidden character makes no other address: {pasted:?}");
    let report = s.apply_unsubscribes("C3 <c3@example.com>", None).unwrap().value;
    assert_eq!(report.recorded, 0, "already unsubscribed");
    let dir = tempfile::tempdir().unwrap();
    let outbox = EmlOutbox { dir: dir.path().to_path_buf() };
    let limits = smtp::limits_for(&s.mail_settings().unwrap());
    Engine::new(fast()).run_campaign(&mut s, c.id, &outbox, &limits).unwrap();
    let c = s.campaign(c.id).unwrap();
    assert_eq!((c.progress.sent, c.progress.skipped), (3, 2), "the unsubscribed customers are skipped");
    // A token from a received message works too.
    let token: String = s
        .conn()
        .query_row("SELECT token FROM campaign_recipients WHERE email = 'c1@example.com'", [], |r| r.get(0))
        .unwrap();
    let r = s.apply_unsubscribes(&format!("Subject: unsubscribe {token}"), None).unwrap().value;
    assert_eq!(r.recorded, 1, "the token names the customer");
    assert_eq!(s.campaign_results(c.id).unwrap().unsubscribed, 1, "and counts against the campaign");
    assert_eq!(s.segment_count(&SegmentFilter::default()).unwrap().eligible, 2, "all three are excluded from now on");
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
    let limits = smtp::limits_for(&s.mail_settings().unwrap());
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
    let limits = smtp::limits_for(&s.mail_settings().unwrap());
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
fn a_test_send_goes_to_the_merchant_with_a_customers_data() {
    let (mut s, _) = testutil::store();
    let sink = Sink::start(true, 8).unwrap();
    s.save_mail_settings(&mail(Some(&sink)), None).unwrap();
    let zoe = customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    let m = s.mail_settings().unwrap();
    let transport = SmtpPool::new(&m.smtp, None, Default::default()).unwrap();
    let t = message::send_test(&mut s, &transport, c.id, Variant::A, "lea@boulangerie.test", Some(zoe)).unwrap();
    assert_eq!(t.outcome, "sent");
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, ["lea@boulangerie.test"], "to the merchant, not to the customer");
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
    let transport = SmtpPool::new(&m.smtp, None, Default::default()).unwrap();
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
