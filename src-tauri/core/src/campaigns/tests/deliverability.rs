//! Before sending, on a real store: the free-mail rule where settings are saved, where a
//! campaign starts and where the transport is built; the content check's blocking findings
//! stop a start, a schedule, and a scheduled send whose time comes.

use super::*;
use crate::campaigns::smtp;

fn freemail_settings(host: &str) -> MailSettings {
    let mut m = mail(None);
    m.sender_email = "boulangerie.lea@gmail.com".into();
    m.delivery = Delivery::Smtp;
    m.smtp.preset = SmtpPreset::Brevo;
    m.smtp.host = host.into();
    m.smtp.tls = TlsMode::StartTls;
    m
}

#[test]
fn a_free_mail_address_through_another_server_is_refused_at_save_start_and_transport() {
    let (mut s, _) = testutil::store();
    let e = s.save_mail_settings(&freemail_settings("smtp-relay.brevo.com"), None).unwrap_err();
    let crate::Error::Validation(fields) = &e else { panic!("a field error: {e:?}") };
    assert_eq!(
        (fields[0].field, fields[0].key),
        ("sender_email", "field.freemail_other_server"),
        "next to the address"
    );
    let text = e.to_payload(crate::types::Lang::Fr).fields[0].message.clone();
    assert!(
        text.contains("gmail.com") && text.contains("Gmail"),
        "the reason names the domain and the provider: {text}"
    );
    assert!(
        s.save_mail_settings(&freemail_settings("smtp.gmail.com"), None).is_ok(),
        "through Gmail itself it is fine"
    );

    // Settings saved before the rule existed (written as an older version would have).
    s.conn()
        .execute(
            "UPDATE settings SET value = ?1 WHERE key = 'mail'",
            [serde_json::to_string(&freemail_settings("smtp-relay.brevo.com")).unwrap()],
        )
        .unwrap();
    customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    let e = s.start_campaign(c.id, None).unwrap_err();
    assert!(matches!(e, crate::Error::Conflict { key: "conflict.freemail_other_server", .. }), "{e:?}");
    assert_eq!(s.campaign(c.id).unwrap().state, CampaignState::Draft, "nothing started");
    let outbox: i64 = s.conn().query_row("SELECT count(*) FROM campaign_recipients", [], |r| r.get(0)).unwrap();
    assert_eq!(outbox, 0, "no outbox was built");
    let m = s.mail_settings().unwrap();
    let e = smtp::transport_for(
        &m,
        &crate::campaigns::secrets::Secrets::without_keychain(),
        "/tmp".into(),
        Default::default(),
    )
    .err()
    .expect("no transport is built for it either");
    assert!(matches!(e, crate::Error::Conflict { key: "conflict.freemail_other_server", .. }), "{e:?}");
}

fn shortened(mut inp: CampaignInput) -> CampaignInput {
    inp.content.a.blocks.push(Block::Text { markdown: "Tout est ici : https://bit.ly/soldes".into() });
    inp
}

#[test]
fn a_message_with_a_blocking_finding_cannot_start_be_scheduled_or_leave_on_time() {
    let (mut s, clock) = testutil::store();
    s.save_mail_settings(&mail(None), None).unwrap();
    customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let c = s.create_campaign(&shortened(input(SegmentFilter::default(), 0)), None).unwrap().value;
    let report = s.content_check(&c.content).unwrap();
    assert!(report.blocking, "a shortened link blocks");
    let e = s.start_campaign(c.id, None).unwrap_err();
    assert!(matches!(e, crate::Error::Conflict { key: "conflict.content_blocked", .. }), "{e:?}");
    assert_eq!(s.campaign(c.id).unwrap().state, CampaignState::Draft);
    let e = s.schedule_campaign(c.id, s.now() + Duration::hours(1), None).unwrap_err();
    assert!(matches!(e, crate::Error::Conflict { key: "conflict.content_blocked", .. }), "no scheduling either");

    // Scheduled clean, then edited (a scheduled campaign can still change): at its time it waits.
    let d = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.schedule_campaign(d.id, s.now() + Duration::minutes(5), None).unwrap();
    s.update_campaign(d.id, &shortened(input(SegmentFilter::default(), 0)), None).unwrap();
    clock.advance(Duration::minutes(6));
    Engine::new(fast()).tick(&mut s).unwrap();
    let d = s.campaign(d.id).unwrap();
    assert_eq!((d.state, d.missed), (CampaignState::Scheduled, true), "it did not leave and waits for the merchant");
    assert!(d.pause_detail.unwrap_or_default().contains("corriger"), "with the reason, for the screen");

    // Advice alone never blocks.
    let mut loud = input(SegmentFilter::default(), 0);
    loud.content.a.subject = "PROMOS DE LA SEMAINE".into();
    let e = s.create_campaign(&loud, None).unwrap().value;
    assert!(!s.content_check(&e.content).unwrap().blocking);
    s.start_campaign(e.id, None).unwrap();
    assert_eq!(s.campaign(e.id).unwrap().state, CampaignState::Running, "a subject in capitals is advice");
}
