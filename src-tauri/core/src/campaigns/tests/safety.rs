//! Email reaches only who it should: each problem the sending review found (issue 12, 1–8),
//! stated as the rule it breaks, on a real database and a real SMTP server on loopback.

use super::*;
use crate::campaigns::consent::Exclusion;
use crate::campaigns::segments::AudienceCount;
use crate::campaigns::smtp::{self, Outgoing, Policy, SendFailure, SmtpProblem, Transport};
use crate::campaigns::suppression::SuppressionReason;
use crate::clock::FixedClock;
use chrono::{TimeZone, Utc};
use std::sync::Arc;

fn smtp_store() -> (crate::Store, Sink) {
    let (mut s, _) = testutil::store();
    let sink = Sink::start(true, 8).unwrap();
    s.save_mail_settings(&mail(Some(&sink)), None).unwrap();
    (s, sink)
}

fn run(s: &mut crate::Store, id: i64) -> CampaignState {
    let transport = SmtpPool::new(&s.mail_settings().unwrap().smtp, None, Policy::default()).unwrap();
    let limits = s.mail_settings().unwrap().smtp.limits;
    Engine::new(fast()).run_campaign(s, id, &transport, &limits).unwrap()
}

fn excluded(count: &AudienceCount, why: Exclusion) -> i64 {
    count.excluded.iter().find(|e| e.reason == why).map(|e| e.count).unwrap_or(0)
}

// 1. The demo shop can email strangers.

#[test]
fn the_demo_shop_uses_reserved_domains_only_and_never_sends_through_a_real_provider() {
    let (mut s, _) = testutil::store();
    s.generate_demo(crate::demo::DemoSpec { customers: 300, purchases: 1000, seed: 7 }).unwrap();
    let emails: Vec<String> = s
        .conn()
        .prepare("SELECT email FROM customers WHERE email IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(emails.len() > 100);
    for e in &emails {
        let domain = e.rsplit_once('@').unwrap().1;
        let reserved = ["example.com", "example.org", "example.net"].contains(&domain)
            || [".test", ".invalid", ".example"].iter().any(|t| domain.ends_with(t));
        assert!(reserved, "a demo address is on a reserved domain only: {e}");
    }
    assert!(s.settings().unwrap().demo, "the file knows it is the demo shop");

    let mut gmail = mail(None);
    gmail.delivery = Delivery::Smtp;
    gmail.smtp = SmtpSettings {
        preset: SmtpPreset::Gmail,
        host: "smtp.gmail.com".into(),
        port: 465,
        tls: TlsMode::Tls,
        username: "lea@example.com".into(),
        limits: SendLimits { per_second: 1, per_minute: 20, per_day: 500, connections: 2 },
    };
    let e = s.save_mail_settings(&gmail, None).unwrap_err();
    assert_eq!(e.code(), "validation", "a demo file refuses a real provider in its settings");
    let policy = s.smtp_policy().unwrap();
    assert!(policy.demo);
    let err = smtp::transport_for(&gmail, &crate::campaigns::secrets::Secrets::default(), "/tmp".into(), policy)
        .err()
        .expect("no transport to a real provider from a demo file");
    assert!(matches!(err, crate::Error::Conflict { key: "conflict.demo_real_provider", .. }));
    let check = smtp::test_connection(&gmail.smtp, Some("pw"), true, policy);
    assert_eq!(check.problem, Some(SmtpProblem::DemoFile), "not even a connection test leaves this computer");
    assert!(SmtpPool::new(&gmail.smtp, Some("pw"), policy).is_err(), "the pool itself refuses");
    // Sending to a server on this computer stays possible (to try the demo).
    let sink = Sink::start(true, 2).unwrap();
    s.save_mail_settings(&mail(Some(&sink)), None).unwrap();
    assert!(SmtpPool::new(&s.mail_settings().unwrap().smtp, None, policy).is_ok());
}

#[test]
fn a_demo_shop_made_by_an_earlier_version_is_recognised_and_its_addresses_made_safe() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for (_, _, sql) in crate::storage::migration_steps().iter().filter(|(v, _, _)| *v <= 3) {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 3).unwrap();
        c.execute_batch(
            "INSERT INTO customers (id, first_name, last_name, email, email_norm, created_at, updated_at)
             VALUES (1, 'Julien', 'Bergeron', 'julien.bergeron530@laposte.net', 'julien.bergeron530@laposte.net', '2026-01-01', '2026-01-01'),
                    (2, 'Fatou', 'Lévesque', 'fatou.levesque730@orange.fr', 'fatou.levesque730@orange.fr', '2026-01-01', '2026-01-01')",
        )
        .unwrap();
    }
    let s = crate::Store::open(&path).unwrap();
    assert!(s.settings().unwrap().demo, "the old demo is marked as a demo");
    let e: String = s.conn().query_row("SELECT email FROM customers WHERE id = 2", [], |r| r.get(0)).unwrap();
    assert_eq!(e, "fatou.levesque730@example.com", "its real-looking domains move to a reserved one");
}

// 2. One address, two records.

#[test]
fn one_address_on_two_records_gets_one_message_and_one_unsubscribe_covers_both() {
    let (mut s, sink) = smtp_store();
    customer(&mut s, "Zoé", "Zoe@Example.com", Country::FR, Some(ConsentChoice::Express));
    customer(&mut s, "Zoé bis", "zoe@example.com ", Country::FR, Some(ConsentChoice::Express));
    customer(&mut s, "Émile", "emile@example.com", Country::FR, Some(ConsentChoice::Express));
    let count = s.segment_count(&SegmentFilter::default()).unwrap();
    assert_eq!(count.eligible, 2, "one message per normalised address");
    assert_eq!(excluded(&count, Exclusion::DuplicateAddress), 1, "the second record is counted as a duplicate");
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    assert_eq!(run(&mut s, c.id), CampaignState::Finished);
    let to_zoe = sink.received().iter().filter(|r| r.to.iter().any(|t| t.to_lowercase().contains("zoe@"))).count();
    assert_eq!(to_zoe, 1, "the address on two records receives one message");

    let token: String = s
        .conn()
        .query_row("SELECT token FROM campaign_recipients WHERE email_norm = 'zoe@example.com'", [], |r| r.get(0))
        .unwrap();
    s.apply_unsubscribes(&format!("unsubscribe {token}"), None).unwrap();
    let count = s.segment_count(&SegmentFilter::default()).unwrap();
    assert_eq!(count.eligible, 1, "only Émile may still receive");
    assert_eq!(excluded(&count, Exclusion::Unsubscribed), 2, "the unsubscribe covers both records of the address");
    let sup = crate::campaigns::suppression::is_suppressed(s.conn(), "ZOE@example.com").unwrap().unwrap();
    assert_eq!(sup.reason, SuppressionReason::Unsubscribed, "the address is on the suppression list");
}

#[test]
fn an_address_corrected_into_another_recipients_after_the_start_is_not_sent_twice() {
    let (mut s, sink) = smtp_store();
    customer(&mut s, "Anne", "anne@example.com", Country::FR, Some(ConsentChoice::Express));
    let b = customer(&mut s, "Bea", "bea@example.com", Country::FR, Some(ConsentChoice::Express));
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    // Before anything leaves, Bea's record is corrected to Anne's address (the same person).
    s.conn()
        .execute("UPDATE customers SET email = 'ANNE@example.com', email_norm = 'anne@example.com' WHERE id = ?1", [b])
        .unwrap();
    assert_eq!(run(&mut s, c.id), CampaignState::Finished);
    assert_eq!(sink.received().len(), 1, "checked again just before sending: one message for the address");
    let reason: String = s
        .conn()
        .query_row("SELECT skip_reason FROM campaign_recipients WHERE customer_id = ?1", [b], |r| r.get(0))
        .unwrap();
    assert_eq!(reason, "duplicate_address", "the skipped row says why");
}

#[test]
fn the_suppression_list_is_obeyed_by_campaigns_and_test_sends_and_lifted_only_with_a_reason() {
    let (mut s, sink) = smtp_store();
    let z = customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    s.suppress_address("ZOE@example.com", "adresse signalée comme invalide", None).unwrap();
    let count = s.segment_count(&SegmentFilter::default()).unwrap();
    assert_eq!((count.eligible, excluded(&count, Exclusion::Suppressed)), (0, 1), "a suppressed address gets nothing");
    assert!(s.customer_suppression(z).unwrap().is_some(), "the customer page can say why");
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    let transport = SmtpPool::new(&s.mail_settings().unwrap().smtp, None, Policy::default()).unwrap();
    let e = message::send_test(&mut s, &transport, c.id, Variant::A, "zoe@example.com", None).unwrap_err();
    assert!(matches!(e, crate::Error::Conflict { key: "conflict.address_suppressed", .. }), "a test send obeys it too");
    assert!(sink.received().is_empty());
    assert!(s.lift_suppression("zoe@example.com", "  ", None).is_err(), "lifting needs a reason");
    s.lift_suppression("zoe@example.com", "elle s'est réinscrite au comptoir", None).unwrap();
    assert_eq!(s.segment_count(&SegmentFilter::default()).unwrap().eligible, 1, "lifted, she may receive again");
    let events: i64 = s.conn().query_row("SELECT count(*) FROM suppressions", [], |r| r.get(0)).unwrap();
    assert_eq!(events, 2, "the history stays: suppressed, then lifted");
}

// 3. Escaping can be switched off.

#[test]
fn personal_fields_cannot_run_code_whatever_the_spelling_of_the_merchants_text() {
    let (mut s, _) = smtp_store();
    let z =
        customer(&mut s, "<img src=x onerror=alert(1)>", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let tricks = [
        "\\{\\% autoescape false \\%\\}{{ first_name }}\\{\\% endautoescape \\%\\}",
        "&#123;% autoescape false %&#125;{{ first_name }}",
        "&#123;&#123; 7*7 &#125;&#125; \\{\\{ 7*7 \\}\\}",
        "\\{\\% for a in range(999999) \\%\\}\\{\\% for b in range(999999) \\%\\}x\\{\\% endfor \\%\\}\\{\\% endfor \\%\\}",
    ];
    for t in tricks {
        let msg = MessageContent {
            subject: "Bonjour".into(),
            preheader: String::new(),
            blocks: vec![Block::Text { markdown: t.into() }, Block::Heading { text: t.into() }],
        };
        let p = s.preview_message(&msg, Some(z)).unwrap();
        assert!(!p.html.contains("<img src=x"), "a personal field is never raw HTML ({t}): {}", p.html);
        assert!(!p.html.contains("49"), "nothing written with escapes or entities is evaluated ({t})");
        assert!(!p.html.contains("xxxx"), "no loop runs ({t})");
    }
}

// 4. A delivered batch is sent again without any crash.

/// Sends through the sink, and after the first message holds the database's write lock from
/// another connection for a while, as a backup or another program would.
struct BusyAfterSend {
    inner: SmtpPool,
    db: std::path::PathBuf,
    holder: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Transport for BusyAfterSend {
    fn send(&self, m: &Outgoing) -> Result<smtp::Delivered, SendFailure> {
        let r = self.inner.send(m);
        let mut h = self.holder.lock().unwrap();
        if h.is_none() {
            let db = self.db.clone();
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            *h = Some(std::thread::spawn(move || {
                let c = rusqlite::Connection::open(db).unwrap();
                c.execute_batch("BEGIN IMMEDIATE").unwrap();
                ready_tx.send(()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(1500));
                c.execute_batch("COMMIT").unwrap();
            }));
            ready_rx.recv().unwrap();
        }
        r
    }
}

/// A shop on a file with `n` customers who agreed and a started campaign, sending through
/// `BusyAfterSend` (the database held by another connection after the first message).
fn busy_shop(n: usize) -> (tempfile::TempDir, crate::Store, Sink, BusyAfterSend, Campaign) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let mut s = crate::Store::open_with_clock(&path, testutil::clock()).unwrap();
    let sink = Sink::start(true, 8).unwrap();
    s.save_mail_settings(&mail(Some(&sink)), None).unwrap();
    for i in 0..n {
        customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express));
    }
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    s.conn().busy_timeout(std::time::Duration::from_millis(100)).unwrap();
    let transport = BusyAfterSend {
        inner: SmtpPool::new(&s.mail_settings().unwrap().smtp, None, Policy::default()).unwrap(),
        db: path,
        holder: std::sync::Mutex::new(None),
    };
    (dir, s, sink, transport, c)
}

#[test]
fn a_batch_whose_results_cannot_be_recorded_yet_is_recorded_later_and_never_sent_again() {
    let (_dir, mut s, sink, transport, c) = busy_shop(5);
    let limits = s.mail_settings().unwrap().smtp.limits;
    let mut engine = Engine::new(fast());
    let first = engine.step_for(&mut s, Some(c.id), &transport, &limits);
    assert!(first.is_err(), "recording fails while another connection holds the database");
    // The sender goes on as it does: more steps while the database is still busy.
    let again = engine.step_for(&mut s, Some(c.id), &transport, &limits).unwrap();
    assert!(matches!(again, engine::Step::Wait(_)), "nothing is claimed before the results are recorded");
    transport.holder.lock().unwrap().take().unwrap().join().unwrap();
    let state = engine.run_campaign(&mut s, c.id, &transport, &limits).unwrap();
    assert_eq!(state, CampaignState::Finished);
    let mut to: Vec<String> = sink.received().iter().flat_map(|r| r.to.clone()).collect();
    to.sort();
    let n = to.len();
    to.dedup();
    assert_eq!((n, to.len()), (5, 5), "each of the 5 received the message exactly once");
    assert_eq!(s.campaign(c.id).unwrap().progress.sent, 5);
}

#[test]
fn the_command_line_sender_waits_for_a_busy_database_rather_than_lose_a_sent_batch() {
    let (_dir, mut s, sink, transport, c) = busy_shop(3);
    let limits = s.mail_settings().unwrap().smtp.limits;
    let state = Engine::new(fast()).run_campaign(&mut s, c.id, &transport, &limits);
    assert_eq!(state.unwrap(), CampaignState::Finished, "run_campaign does not return while results are unrecorded");
    assert_eq!(sink.received().len(), 3, "each received it once");
    transport.holder.lock().unwrap().take().unwrap().join().unwrap();
}

// 5. A provider-side 5xx fails real recipients forever.

#[test]
fn a_refusal_of_the_sender_or_the_message_pauses_the_campaign_and_fails_nobody() {
    let (mut s, sink) = smtp_store();
    for i in 0..12 {
        customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express));
    }
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    sink.fail_next(1000, 553, "5.7.1 <lea@boulangerie.test>: Sender address rejected: not owned by user");
    assert_eq!(run(&mut s, c.id), CampaignState::Paused);
    let after = s.campaign(c.id).unwrap();
    assert_eq!(after.pause_reason, Some(PauseReason::Rejected), "paused because the provider refuses the sender");
    assert!(after.pause_detail.unwrap_or_default().contains("Sender address rejected"), "with the provider's words");
    assert_eq!(after.progress.failed, 0, "no customer is marked failed for the provider's refusal");
    // The merchant fixes the sender address, then resumes: everyone receives it once.
    sink.fail_next(0, 250, "");
    s.resume_campaign(c.id, None).unwrap();
    assert_eq!(run(&mut s, c.id), CampaignState::Finished);
    assert_eq!(sink.received().len(), 12, "all 12 receive it after the fix");
    assert_eq!(s.campaign(c.id).unwrap().progress.sent, 12);
}

#[test]
fn the_images_of_one_message_are_capped_in_total() {
    let (mut s, _) = smtp_store();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(1_900_000, 0);
    use base64::Engine as _;
    let url = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&png));
    let ids: Vec<i64> = (0..3).map(|i| s.add_media(&format!("p{i}.png"), &url, None).unwrap().value.id).collect();
    let msg = MessageContent {
        subject: "Photos".into(),
        preheader: String::new(),
        blocks: ids.iter().map(|id| Block::Image { media_id: *id, alt: "photo".into() }).collect(),
    };
    let mut inp = input(SegmentFilter::default(), 0);
    inp.content.a = msg;
    let e = s.create_campaign(&inp, None).unwrap_err();
    assert!(format!("{e:?}").contains("campaign.images_too_big"), "5.7 MB of images in one message is refused: {e:?}");
}

// 6. "Test the connection" can send the password in clear.

#[test]
fn plain_smtp_is_refused_for_any_other_computer_where_every_connection_is_made() {
    let mut remote = mail(None).smtp;
    remote.host = "192.0.2.10".into();
    remote.username = "lea@example.com".into();
    let started = std::time::Instant::now();
    let check = smtp::test_connection(&remote, Some("secret"), false, Policy::default());
    assert_eq!(check.problem, Some(SmtpProblem::PlainTextRemote), "no encryption to another computer is refused");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "refused before any connection is tried");
    assert!(SmtpPool::new(&remote, Some("secret"), Policy::default()).is_err(), "the pool refuses it too");
    remote.host = "localhost".into();
    assert!(SmtpPool::new(&remote, Some("secret"), Policy::default()).is_ok(), "this computer is allowed");
}

// 7. A wrong clock can bring consent back.

#[test]
fn the_latest_consent_record_decides_even_when_the_clock_was_wrong() {
    let clock = Arc::new(FixedClock::new(Utc.with_ymd_and_hms(2031, 6, 1, 9, 0, 0).unwrap()));
    let mut s = crate::Store::open_in_memory_with_clock(clock.clone()).unwrap();
    let z = customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    // The clock is corrected, then she refuses.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap());
    s.set_consent(
        z,
        &ConsentInput { choice: ConsentChoice::Refused, source: ConsentSource::Counter, wording: "Non".into() },
        None,
    )
    .unwrap();
    assert_eq!(
        s.customer(z).unwrap().consent.unwrap().choice,
        ConsentChoice::Refused,
        "the refusal, recorded last, holds"
    );
    assert_eq!(s.segment_count(&SegmentFilter::default()).unwrap().eligible, 0, "and nobody is mailed");
}

// 8. The rest of the review.

#[test]
fn the_sender_lock_follows_the_real_file_and_a_lock_that_cannot_be_made_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    drop(crate::Store::open(&db).unwrap());
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&db, &link).unwrap();
    let held = lock::SenderLock::acquire(&db).unwrap();
    let e = lock::SenderLock::acquire(&link).err().expect("a link to the database is the same file");
    assert!(matches!(e, crate::Error::Conflict { key: "conflict.sender_busy", .. }));
    drop(held);
    let other = dir.path().join("other.db");
    std::fs::create_dir(dir.path().join("other.db.sender.lock")).unwrap();
    let e = lock::SenderLock::acquire(&other).err().expect("the lock cannot be created");
    assert!(
        matches!(e, crate::Error::Conflict { key: "conflict.sender_lock_failed", .. }),
        "not 'another sender': {e:?}"
    );
}

#[test]
fn a_merge_during_a_campaign_moves_the_outbox_rows_and_the_results() {
    let (mut s, sink) = smtp_store();
    let a = customer(&mut s, "Anne", "anne@example.com", Country::FR, Some(ConsentChoice::Express));
    let b = customer(&mut s, "Anne bis", "anne.pro@example.com", Country::FR, Some(ConsentChoice::Express));
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    s.merge_customers(a, b, None).unwrap();
    let rows: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM campaign_recipients WHERE customer_id = ?1", [b], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0, "the merged customer's outbox rows follow the survivor");
    assert_eq!(run(&mut s, c.id), CampaignState::Finished);
    assert_eq!(sink.received().len(), 1, "the survivor's address receives one message");
    let sent: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM campaign_recipients WHERE customer_id = ?1 AND state = 'sent'", [a], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(sent, 1, "the results count the survivor");
}

#[test]
fn the_senders_name_and_postal_address_cannot_hold_template_syntax() {
    let (mut s, _) = testutil::store();
    for (field, name, address) in
        [("sender_name", "{{ first_name }}", "1 rue A"), ("postal_address", "Léa", "{% autoescape false %}")]
    {
        let m = MailSettings { sender_name: name.into(), postal_address: address.into(), ..mail(None) };
        match s.save_mail_settings(&m, None) {
            Err(crate::Error::Validation(f)) => assert_eq!(f[0].field, field, "refused next to {field}"),
            other => panic!("template syntax in {field} must be refused: {other:?}"),
        }
    }
}

#[test]
fn a_reused_idempotency_key_with_another_input_is_refused_and_old_keys_are_pruned() {
    let (mut s, clock) = testutil::store();
    let a = testutil::add(&mut s, testutil::input("Zoé", "Martin"));
    let sale = |cents| crate::purchases::SaleInput {
        customer_id: a,
        amount_cents: cents,
        occurred_at: None,
        note: String::new(),
        category: String::new(),
        apply: None,
    };
    s.record_sale(&sale(1000), Some("key-sale-0001")).unwrap();
    assert!(s.record_sale(&sale(1000), Some("key-sale-0001")).unwrap().replayed, "the same input is a replay");
    let e = s.record_sale(&sale(2000), Some("key-sale-0001")).unwrap_err();
    assert_eq!(e.code(), "key_reused", "another input with the same key is refused, not answered with the first sale");
    clock.advance(Duration::days(31));
    assert_eq!(s.prune_idempotency_keys().unwrap(), 1, "keys older than 30 days are forgotten");
}

#[test]
fn opening_an_old_file_from_several_places_at_once_upgrades_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for (_, _, sql) in crate::storage::migration_steps().iter().filter(|(v, _, _)| *v <= 3) {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 3).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL").unwrap();
    }
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (p, b) = (path.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                crate::Store::open(&p).map(|_| ()).map_err(|e| e.to_string())
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), Ok(()), "every copy opens the file; the version is re-read under the lock");
    }
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0, "no unfinished backup copy is left behind");
}

#[test]
fn an_out_of_range_date_from_the_interface_is_an_error_not_a_crash() {
    let (mut s, _) = testutil::store();
    let max = chrono::DateTime::<Utc>::MAX_UTC;
    for d in [chrono::NaiveDate::MAX, chrono::NaiveDate::MIN] {
        let period = crate::loyalty::SuspiciousPeriod::Week;
        assert_eq!(s.suspicious_activity(d, period).unwrap_err().code(), "validation", "the suspicious list of {d}");
    }
    s.save_mail_settings(&mail(None), None).unwrap();
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    assert_eq!(s.schedule_campaign(c.id, max, None).unwrap_err().code(), "validation", "a schedule at the end of time");
    let a = testutil::add(&mut s, testutil::input("Zoé", "Martin"));
    let v = crate::loyalty::VoucherInput {
        customer_id: Some(a),
        kind: crate::loyalty::VoucherKind::Amount,
        value: 500,
        expires_at: max,
        reason: "geste".into(),
        staff: "Léa".into(),
    };
    assert_eq!(s.issue_voucher(&v, None).unwrap_err().code(), "validation", "a voucher valid until the end of time");
}

#[test]
fn one_unreadable_campaign_does_not_stop_the_others() {
    let (mut s, sink) = smtp_store();
    customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let broken = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    let good = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.conn()
        .execute(
            "UPDATE campaigns SET content = '{\"a\": 12', state = 'paused', pause_reason = 'ab_waiting' WHERE id = ?1",
            [broken.id],
        )
        .unwrap();
    let list = s.campaigns().unwrap();
    assert_eq!(list.len(), 2, "both are listed");
    assert!(list.iter().any(|c| c.id == broken.id && c.unreadable), "the damaged one is flagged");
    s.start_campaign(good.id, None).unwrap();
    assert_eq!(run(&mut s, good.id), CampaignState::Finished, "the good one is sent");
    assert_eq!(sink.received().len(), 1);
}

#[test]
fn an_address_whose_domain_has_no_dot_is_refused_at_entry() {
    let (mut s, _) = testutil::store();
    for bad in ["name@example", "name@localhost", "a@[127.0.0.1]", "a@b.c", "a@-x.example"] {
        let mut i = testutil::input("Zoé", "Martin");
        i.email = bad.into();
        let e = s.create_customer(&NewCustomer { customer: i, ..Default::default() }, None).unwrap_err();
        assert_eq!(e.code(), "validation", "{bad} is refused");
    }
    for good in ["zoe@example.com", "zoé@exemple.test", "a.b+c@sub.example.co.uk"] {
        assert!(crate::customers::is_email(good), "{good} is accepted");
    }
}

#[test]
fn a_full_disk_gets_its_own_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = crate::Store::open_with_clock(dir.path().join("shop.db"), testutil::clock()).unwrap();
    let pages: i64 = s.conn().query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    s.conn().pragma_update(None, "max_page_count", pages + 2).unwrap();
    let mut err = None;
    for i in 0..2000 {
        let inp = testutil::input(&format!("Client {i}"), &"x".repeat(90));
        if let Err(e) =
            s.create_customer(&NewCustomer { customer: inp, note: "y".repeat(2000), ..Default::default() }, None)
        {
            err = Some(e);
            break;
        }
    }
    let e = err.expect("the file fills up");
    assert_eq!(e.code(), "disk_full", "a full disk has its own code: {e:?}");
    assert!(e.message(crate::types::Lang::Fr).contains("disque"), "and a message the merchant can act on");
}

#[test]
fn the_test_smtp_server_is_not_part_of_the_app() {
    let manifest = include_str!("../../../Cargo.toml");
    let line = manifest.lines().find(|l| l.starts_with("mailin-embedded")).expect("listed");
    assert!(line.contains("optional = true"), "the test SMTP server is an optional dependency: {line}");
    assert!(!manifest.contains("default = [\"sink\""), "and not a default feature");
}

#[test]
fn a_campaign_name_and_subject_are_saved_without_the_characters_nobody_sees() {
    let (mut s, _) = testutil::store();
    let mut i = input(SegmentFilter::default(), 0);
    // A right-to-left override and a zero-width space pasted from a web page.
    i.name = "  Soldes\u{202E} d'hiver\u{200B}  ".into();
    i.content.a.subject = "\u{FEFF}Bonjour\u{200B}\r\n {{ first_name }}\u{202E} ".into();
    i.content.a.preheader = "\u{202E}Nouveautés\u{200C}\u{a0}\u{AD}\u{200C}\u{a0}".into();
    let c = s.create_campaign(&i, None).unwrap().value;
    assert_eq!(c.name, "Soldes d'hiver", "the name shows in the lists as it reads: no override, no zero-width space");
    let saved = s.campaign(c.id).unwrap();
    assert_eq!(saved.content.a.subject, "Bonjour {{ first_name }}", "the subject is stored as it is sent: one line");
    assert_eq!(
        saved.content.a.preheader, "Nouveautés\u{200C}\u{a0}\u{AD}\u{200C}\u{a0}",
        "a preheader loses its override but keeps its padding (zero-width non-joiners, no-break spaces, soft hyphens)"
    );
    i.name = "\u{200B}\u{202E}".into();
    let err = s.update_campaign(c.id, &i, None).unwrap_err();
    assert!(format!("{err:?}").contains("field.required"), "a name of hidden characters only is no name: {err:?}");
}
