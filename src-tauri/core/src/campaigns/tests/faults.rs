//! The server or the provider misbehaves: refusals, temporary errors, quotas, dropped
//! connections, a second sender. Nobody is lost and nobody receives a message twice.

use super::*;

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
    let transport = SmtpPool::new(&s.mail_settings().unwrap().smtp, None, Default::default()).unwrap();
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
    let transport = SmtpPool::new(&m.smtp, None, Default::default()).unwrap();
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
    let transport = SmtpPool::new(&m.smtp, None, Default::default()).unwrap();
    // Retries were pushed back by the backoff; let the clock pass them.
    s.conn().execute("UPDATE campaign_recipients SET next_attempt_at = NULL", []).unwrap();
    let state = Engine::new(fast()).run_campaign(&mut s, c.id, &transport, &m.smtp.limits).unwrap();
    assert_eq!(state, CampaignState::Finished);
    assert_eq!(sink.count(), 12, "every recipient received it after the resume");
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
    let transport = SmtpPool::new(&m.smtp, None, Default::default()).unwrap();
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
    let transport = SmtpPool::new(&m.smtp, None, Default::default()).unwrap();
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
    let transport = SmtpPool::new(&m.smtp, None, Default::default()).unwrap();
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
    let transport = SmtpPool::new(&m.smtp, None, Default::default()).unwrap();
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
    let first = lock::SenderLock::acquire(&db).unwrap();
    assert!(lock::SenderLock::acquire(&db).is_err(), "a second sender is refused while the first runs");
    drop(first);
    assert!(lock::SenderLock::acquire(&db).is_ok(), "once the first stops, another may send");
}

/// Sends through the sink; the first message it sends, the merchant cancels the campaign from
/// the window (another connection) while the batch is in flight.
struct CancelDuringSend {
    inner: SmtpPool,
    db: std::path::PathBuf,
    campaign: i64,
    done: std::sync::atomic::AtomicBool,
}

impl smtp::Transport for CancelDuringSend {
    fn send(&self, m: &smtp::Outgoing) -> Result<smtp::Delivered, smtp::SendFailure> {
        let r = self.inner.send(m);
        if !self.done.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let mut other = crate::Store::open(&self.db).unwrap();
            other.cancel_campaign(self.campaign, None).unwrap();
        }
        r
    }
}

#[test]
fn a_message_that_left_while_the_campaign_was_cancelled_is_recorded_as_sent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let mut s = crate::Store::open(&path).unwrap();
    let sink = Sink::start(true, 8).unwrap();
    s.save_mail_settings(&mail(Some(&sink)), None).unwrap();
    customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let transport = CancelDuringSend {
        inner: SmtpPool::new(&s.mail_settings().unwrap().smtp, None, Default::default()).unwrap(),
        db: path.clone(),
        campaign: c.id,
        done: Default::default(),
    };
    let limits = s.mail_settings().unwrap().smtp.limits;
    let state = Engine::new(fast()).run_campaign(&mut s, c.id, &transport, &limits).unwrap();
    assert_eq!(state, CampaignState::Cancelled);
    assert_eq!(sink.received().len(), 1, "the message left");
    let row: String = s.conn().query_row("SELECT state FROM campaign_recipients", [], |r| r.get(0)).unwrap();
    assert_eq!(row, "sent", "it is recorded as sent: its unsubscribe link and its results count");
}
