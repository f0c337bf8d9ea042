//! Readings end to end: a shop that sent real campaigns (into its `.eml` outbox), a Dovecot
//! holding what came back, `run::read_now` in between.

use super::*;
use crate::campaigns::secrets::Secrets;
use crate::campaigns::suppression::{is_suppressed, SuppressionReason};
use crate::customers::ConsentChoice;
use crate::mailbox::classify::Kind;
use crate::mailbox::run::read_now;
use crate::mailbox::settings::imap_account;

struct World {
    store: Store,
    clock: std::sync::Arc<crate::clock::FixedClock>,
    dovecot: Dovecot,
    secrets: Secrets,
    outbox: tempfile::TempDir,
}

fn world() -> World {
    let (mut store, clock) = shop();
    let dovecot = Dovecot::start();
    let m = dovecot.settings();
    store.save_mailbox_settings(&m, None).unwrap();
    let secrets = Secrets::without_keychain();
    secrets.set(&imap_account(&m.imap.username, &m.imap.host), dovecot.password());
    World { store, clock, dovecot, secrets, outbox: tempfile::tempdir().unwrap() }
}

impl World {
    fn read(&mut self) -> crate::mailbox::run::RunReport {
        let mut r = read_now(&mut self.store, &self.secrets).unwrap();
        assert_eq!(r.len(), 1, "one source: the mailbox");
        let r = r.remove(0);
        assert!(r.ok, "the reading succeeds: {r:?}\n{}", self.dovecot.log());
        r
    }
    fn send(&mut self, name: &str) -> i64 {
        send_campaign(&mut self.store, self.outbox.path(), name)
    }
    fn bounce(&self, fixture_name: &str, campaign: i64, email: &str) -> Vec<u8> {
        let (mid, token) = sent_to(&self.store, campaign, email);
        fixture(fixture_name, &mid, email, &token)
    }
    fn consent(&self, customer: i64) -> Option<ConsentChoice> {
        crate::customers::current_consent(self.store.conn(), customer).unwrap().map(|c| c.choice)
    }
    fn reason(&self, email: &str) -> Option<SuppressionReason> {
        is_suppressed(self.store.conn(), email).unwrap().map(|s| s.reason)
    }
}

#[test]
fn nothing_is_read_twice_nothing_is_deleted_and_nothing_is_marked_read() {
    let mut w = world();
    customer(&mut w.store, "Paul", "paul@example.org");
    let c = w.send("Décembre");
    // A vacation reply without any Message-ID (some servers send them so).
    let no_id: Vec<u8> = String::from_utf8(fixture("vacation_fr.eml", "<x@example.org>", "julie@example.org", ""))
        .unwrap()
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("message-id:"))
        .collect::<Vec<_>>()
        .join("\r\n")
        .into_bytes();
    let first_batch = vec![
        w.bounce("gmail_hard.eml", c, "paul@example.org"),
        no_id,
        b"From: ami@example.net\r\nSubject: Commande\r\n\r\nBonjour, vous avez du pain de seigle ?\r\n".to_vec(),
    ];
    w.dovecot.append("INBOX", &first_batch);
    let first = w.read();
    assert_eq!((first.fetched, first.handled), (3, 2), "three read, the bounce and the vacation reply acted on");
    let again = w.read();
    assert_eq!(again.fetched, 0, "a second reading reads nothing already read");
    w.dovecot.append("INBOX", &[fixture("vacation_outlook.eml", "<y@example.org>", "marc@example.org", "")]);
    assert_eq!(w.read().fetched, 1, "only the new message");
    assert_eq!(w.dovecot.count("INBOX"), 4, "nothing deleted");
    assert_eq!(w.dovecot.unseen("INBOX"), 4, "read-only: not even the 'seen' flag changed");

    // The same messages found again under new UIDs (a mailbox rebuilt by the provider, a new
    // UIDVALIDITY, a copy): recognised by their Message-ID — or, without one, by their headers —
    // and not handled again.
    let count = |w: &World| -> i64 {
        w.store
            .conn()
            .query_row("SELECT count(*) FROM mailbox_messages WHERE kind <> 'other'", [], |r| r.get(0))
            .unwrap()
    };
    let n_before = count(&w);
    w.dovecot.append("INBOX", &first_batch);
    let r = w.read();
    assert_eq!((r.fetched, r.handled), (3, 0), "read again, acted on never");
    assert_eq!(count(&w), n_before, "a report handled once is never handled again");
}

#[test]
fn a_hard_bounce_suppresses_the_address_at_once_whoever_reports_it() {
    let mut w = world();
    let names = ["gmail_hard.eml", "outlook_hard.eml", "postfix_hard.eml", "exim_hard.eml", "qmail_hard.eml"];
    let emails: Vec<String> = (0..names.len()).map(|i| format!("client{i}@example.org")).collect();
    let ids: Vec<i64> = emails.iter().map(|e| customer(&mut w.store, "Client", e)).collect();
    customer(&mut w.store, "Reste", "reste@example.org");
    let c = w.send("Décembre");
    let msgs: Vec<Vec<u8>> = names.iter().zip(&emails).map(|(n, e)| w.bounce(n, c, e)).collect();
    w.dovecot.append("INBOX", &msgs);
    w.read();
    for ((name, email), id) in names.iter().zip(&emails).zip(&ids) {
        assert_eq!(w.reason(email), Some(SuppressionReason::HardBounce), "{name}: the address is suppressed");
        let s = w.store.customer_suppression(*id).unwrap().expect("the customer page says why");
        assert_eq!(s.campaign_id, Some(c), "{name}: the bounce is tied to the campaign");
    }
    assert_eq!(w.reason("reste@example.org"), None, "only the bounced addresses");
    let log = w.store.mailbox_log(&[Kind::HardBounce], None, 50).unwrap();
    assert_eq!(log.len(), 5);
    assert!(log
        .iter()
        .all(|e| e.decision == "suppressed" && e.matched_by.as_deref() == Some("message_id") && e.has_raw));
    let raw = w.store.mailbox_raw(log[0].id).unwrap();
    assert!(raw.contains("client"), "the raw report is kept");

    // The next campaign skips them.
    let next = w.send("Janvier");
    let sent: i64 = w
        .store
        .conn()
        .query_row("SELECT count(*) FROM campaign_recipients WHERE campaign_id = ?1 AND state = 'sent'", [next], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(sent, 1, "only the address that did not bounce is mailed again");
}

#[test]
fn three_soft_bounces_over_two_sendings_suppress_and_two_do_not() {
    let mut w = world();
    customer(&mut w.store, "Anne", "anne@example.org");
    customer(&mut w.store, "Bob", "bob@example.org");
    let c1 = w.send("Décembre");
    w.clock.advance(chrono::Duration::days(7));
    let c2 = w.send("Janvier");
    w.dovecot.append(
        "INBOX",
        &[w.bounce("orange_soft.eml", c1, "anne@example.org"), w.bounce("free_soft.eml", c2, "anne@example.org")],
    );
    w.read();
    assert_eq!(w.reason("anne@example.org"), None, "two soft bounces: the address is kept");
    let counted = w.store.mailbox_log(&[Kind::SoftBounce], None, 10).unwrap();
    assert!(counted.iter().all(|e| e.decision == "counted"), "counted, not acted on");

    // Bob: three soft bounces, all about the same sending (a provider retrying): kept.
    let bounces: Vec<Vec<u8>> = (0..3).map(|_| w.bounce("orange_soft.eml", c1, "bob@example.org")).collect();
    w.dovecot.append("INBOX", &bounces);
    w.read();
    assert_eq!(w.reason("bob@example.org"), None, "three soft bounces from one sending are not enough");

    w.dovecot.append("INBOX", &[w.bounce("orange_soft.eml", c2, "anne@example.org")]);
    w.read();
    assert_eq!(
        w.reason("anne@example.org"),
        Some(SuppressionReason::SoftBounce),
        "the third over two sendings suppresses"
    );
    let delayed = fixture("gmail_delayed.eml", &sent_to(&w.store, c2, "bob@example.org").0, "bob@example.org", "");
    w.dovecot.append("INBOX", &[delayed]);
    w.read();
    assert_eq!(w.reason("bob@example.org"), None, "a delay notice is not a bounce");
}

#[test]
fn a_vacation_reply_changes_nothing() {
    let mut w = world();
    let julie = customer(&mut w.store, "Julie", "julie@example.org");
    let c = w.send("Décembre");
    let (mid, _) = sent_to(&w.store, c, "julie@example.org");
    w.dovecot.append(
        "INBOX",
        &[
            fixture("vacation_fr.eml", &mid, "julie@example.org", ""),
            fixture("vacation_outlook.eml", &mid, "julie@example.org", ""),
        ],
    );
    w.read();
    assert_eq!(w.reason("julie@example.org"), None, "a vacation reply is not a bounce and not a STOP");
    assert_eq!(w.consent(julie), Some(ConsentChoice::Express), "consent untouched");
    assert!(w.store.stop_requests().unwrap().is_empty(), "nothing to confirm");
    let log = w.store.mailbox_log(&[], None, 10).unwrap();
    assert!(log.iter().all(|e| e.kind == Kind::AutoReply && e.decision == "ignored"), "{log:?}");
}

#[test]
fn an_unsubscribe_reply_is_applied_and_a_free_text_stop_waits_for_confirmation() {
    let mut w = world();
    let lucie = customer(&mut w.store, "Lucie", "lucie@example.org");
    let paul = customer(&mut w.store, "Paul", "paul@example.org");
    let c = w.send("Décembre");
    let (mid_l, token_l) = sent_to(&w.store, c, "lucie@example.org");
    let (mid_p, _) = sent_to(&w.store, c, "paul@example.org");
    w.dovecot.append(
        "INBOX",
        &[
            fixture("unsubscribe_token.eml", &mid_l, "lucie@example.org", &token_l),
            fixture("stop_free.eml", &mid_p, "paul@example.org", ""),
            fixture("stop_free.eml", "<n@example.org>", "inconnu@example.net", ""),
        ],
    );
    w.read();
    assert_eq!(
        w.reason("lucie@example.org"),
        Some(SuppressionReason::Unsubscribed),
        "the token's reply is applied at once"
    );
    assert_eq!(w.consent(lucie), Some(ConsentChoice::Refused), "and her consent withdrawn");
    assert_eq!(w.reason("paul@example.org"), None, "a free-text STOP is not applied by itself");
    let pending = w.store.stop_requests().unwrap();
    assert_eq!(pending.len(), 1, "only the known address waits (an unknown one is ignored)");
    assert_eq!(pending[0].customer_id, Some(paul));
    assert!(pending[0].excerpt.as_deref().unwrap().contains("STOP"));
    w.store.confirm_stop_request(pending[0].id, Some("confirm-stop-1")).unwrap();
    assert_eq!(w.reason("paul@example.org"), Some(SuppressionReason::Unsubscribed), "one click confirms");
    assert_eq!(w.consent(paul), Some(ConsentChoice::Refused));
    assert!(w.store.stop_requests().unwrap().is_empty());
    assert!(w.store.confirm_stop_request(pending[0].id, None).is_err(), "a decided request cannot be decided again");
}

#[test]
fn an_arf_complaint_suppresses_and_unsubscribes_at_once() {
    let mut w = world();
    let marc = customer(&mut w.store, "Marc", "marc@example.org");
    let c = w.send("Décembre");
    w.dovecot.append("INBOX", &[w.bounce("arf_complaint.eml", c, "marc@example.org")]);
    w.read();
    assert_eq!(w.reason("marc@example.org"), Some(SuppressionReason::Complaint));
    assert_eq!(w.consent(marc), Some(ConsentChoice::Refused), "a spam complaint withdraws consent");
}

#[test]
fn a_forged_report_that_quotes_none_of_the_shops_messages_changes_nothing() {
    let mut w = world();
    let marc = customer(&mut w.store, "Marc", "marc@example.org");
    let lea = customer(&mut w.store, "Léa", "lea@example.org");
    w.send("Décembre");
    // Anyone can write a complaint or a bounce naming a customer's address, with a made-up
    // Message-ID: it quotes none of the messages the shop sent.
    w.dovecot.append(
        "INBOX",
        &[
            fixture("arf_complaint.eml", "<forged.1@attacker.invalid>", "marc@example.org", ""),
            fixture("gmail_hard.eml", "<forged.2@attacker.invalid>", "lea@example.org", ""),
        ],
    );
    w.read();
    assert_eq!(w.reason("marc@example.org"), None, "a forged complaint suppresses nobody");
    assert_eq!(w.reason("lea@example.org"), None, "a forged bounce suppresses nobody");
    assert_eq!(w.consent(marc), Some(ConsentChoice::Express), "and withdraws no consent");
    assert_eq!(w.consent(lea), Some(ConsentChoice::Express));
    let logged: Vec<String> = w
        .store
        .conn()
        .prepare("SELECT reason FROM mailbox_messages ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get::<_, Option<String>>(0))
        .unwrap()
        .map(|r| r.unwrap().unwrap_or_default())
        .collect();
    assert_eq!(logged, ["address_only", "address_only"], "both are logged for the merchant to judge");
}

#[test]
fn a_satisfaction_answer_is_stored_for_the_numbers() {
    let mut w = world();
    let anne = customer(&mut w.store, "Anne", "anne@example.org");
    let c = w.send("Votre avis");
    let (mid, token) = sent_to(&w.store, c, "anne@example.org");
    w.dovecot.append("INBOX", &[fixture("nps_answer.eml", &mid, "anne@example.org", &token)]);
    w.read();
    // One place for satisfaction answers: the numbers' answers, with the campaign of the token.
    let (score, cust, camp, comment, channel): (i64, i64, i64, String, String) = w
        .store
        .conn()
        .query_row(
            "SELECT a.score, a.customer_id, r.campaign_id, a.comment, a.channel
             FROM nps_answers a JOIN campaign_recipients r ON r.token = a.token",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!((score, cust, camp), (9, anne, c), "the score, the customer and the campaign of the token");
    assert_eq!(channel, "email");
    assert!(comment.contains("pain aux noix"));
    let summary = w.store.nps_summary(12).unwrap();
    assert_eq!((summary.answers, summary.promoters), (1, 1), "the answer counts in the shop's score");
    assert_eq!(w.reason("anne@example.org"), None, "an answer is not an unsubscribe");
}

#[test]
fn a_campaign_asks_the_survey_question_and_a_click_on_a_score_comes_back_as_an_answer() {
    let mut w = world();
    let anne = customer(&mut w.store, "Anne", "anne@example.org");
    let paul = customer(&mut w.store, "Paul", "paul@example.org");
    // Paul answered at the till ten days ago: he is not asked again.
    let answer = crate::nps::NpsInput {
        customer_id: Some(paul),
        score: 9,
        comment: String::new(),
        channel: crate::nps::NpsChannel::Till,
        answered_at: None,
    };
    w.store.record_nps(&answer, None).unwrap();
    // The editor's count says so before sending.
    let everyone = w.store.segment_count(&crate::campaigns::segments::SegmentFilter::default()).unwrap();
    assert_eq!((everyone.eligible, everyone.asked_recently), (2, 1), "Paul counted as asked in the last 90 days");
    let question = "Que pensez-vous de <b>nous</b> ?".to_string();
    let c = send_blocks(&mut w.store, w.outbox.path(), "Votre avis", vec![Block::Survey { question }]);
    let recipients: Vec<i64> = w
        .store
        .conn()
        .prepare("SELECT customer_id FROM campaign_recipients WHERE campaign_id = ?1")
        .unwrap()
        .query_map([c], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(recipients, [anne], "asked at the till within 90 days: left out of a survey campaign");
    let (mid, token) = sent_to(&w.store, c, "anne@example.org");
    let invited: i64 = w
        .store
        .conn()
        .query_row(
            "SELECT customer_id FROM nps_invitations WHERE token = ?1 AND campaign_id = ?2",
            rusqlite::params![token, c],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(invited, anne, "Anne is recorded as asked, under her message's token");
    // The message as it left: eleven links in the HTML and in the text part.
    let file = std::fs::read_dir(w.outbox.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "eml"))
        .expect("the message was written");
    let raw = std::fs::read(file).unwrap();
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let html = msg.body_html(0).unwrap().to_string();
    let text = msg.body_text(0).unwrap().to_string();
    assert!(html.contains("Que pensez-vous de &lt;b&gt;nous&lt;/b&gt; ?"), "the merchant's question, as text");
    for n in 0..=10u8 {
        let link = format!("mailto:{SHOP}?subject=Avis%20{n}%2F10%20%5B{token}%5D");
        assert!(html.contains(&format!("href=\"{link}\"")), "score {n} is a link in the HTML: {html}");
        assert!(text.contains(&format!("{n} : {link}")), "score {n} is written out in the text part: {text}");
    }
    // Anne clicks 8: her mail program opens a reply with that subject; she adds a word.
    let reply = format!(
        "From: anne@example.org\r\nTo: {SHOP}\r\nSubject: RE: {}\r\nIn-Reply-To: {mid}\r\nMessage-ID: <s1@mail.receiver.test>\r\n\r\nTrès bon accueil.\r\n",
        crate::nps::rules::reply_subject("Avis", 8, &token)
    );
    w.dovecot.append("INBOX", &[reply.into_bytes()]);
    w.read();
    let nps = w.store.customer_nps(anne).unwrap();
    let last = nps.last_answer.expect("the answer came back through the mailbox");
    assert_eq!(last.score, 8);
    assert_eq!(last.channel, crate::nps::NpsChannel::Email);
    // A/B tests cannot carry the question: who received it would be known only later.
    let mut ab = w.store.campaign(c).unwrap();
    ab.audience.ab =
        Some(crate::campaigns::AbTest { sample_percent: 20, metric: crate::campaigns::AbMetric::Manual, wait_days: 2 });
    ab.content.b = Some(ab.content.a.clone());
    let input = CampaignInput { name: "Avis A/B".into(), content: ab.content, audience: ab.audience };
    let e = w.store.create_campaign(&input, None).unwrap_err();
    assert!(format!("{e:?}").contains("survey_no_ab"), "{e:?}");
    assert!(last.comment.as_deref().unwrap_or("").contains("Très bon accueil"));
}

#[test]
fn an_answer_to_the_survey_links_opens_a_follow_up_and_a_second_click_changes_nothing() {
    let mut w = world();
    let paul = customer(&mut w.store, "Paul", "paul@example.org");
    let token = w.store.transact("test", None, |tx| crate::nps::new_email_invitation(tx, paul, None)).unwrap().value;
    let subject = crate::nps::rules::reply_subject("Avis", 3, &token);
    let first = format!(
        "From: paul@example.org\r\nTo: {SHOP}\r\nSubject: Re: {subject}\r\nMessage-ID: <a1@mail.receiver.test>\r\n\r\nTrop d'attente <script>x</script>\r\n"
    );
    let again = format!(
        "From: paul@example.org\r\nTo: {SHOP}\r\nSubject: {}\r\nMessage-ID: <a2@mail.receiver.test>\r\n\r\nFinalement 10\r\n",
        crate::nps::rules::reply_subject("Avis", 10, &token)
    );
    w.dovecot.append("INBOX", &[first.into_bytes(), again.into_bytes()]);
    w.read();
    let decisions: Vec<(String, String, Option<String>)> = w
        .store
        .conn()
        .prepare("SELECT kind, decision, reason FROM mailbox_messages ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        decisions,
        [("survey".into(), "recorded".into(), None), ("survey".into(), "already".into(), None)],
        "the first answer counts, the second click is logged and changes nothing"
    );
    let nps = w.store.customer_nps(paul).unwrap();
    assert_eq!(nps.last_answer.as_ref().map(|a| a.score), Some(3), "the first answer stands");
    assert_eq!(nps.open_followups.len(), 1, "a low score waits for a call back on the customer page");
    assert!(
        nps.open_followups[0].answer.comment.as_deref().unwrap_or("").contains("<script>"),
        "kept as typed, shown as text"
    );
}

#[test]
fn a_survey_reply_tagged_by_a_gateway_keeps_its_whole_comment_and_its_date() {
    let mut w = world();
    let lea = customer(&mut w.store, "Léa", "lea@example.org");
    // Asked a week ago.
    let now = w.store.now();
    w.clock.set(now - chrono::Duration::days(7));
    let token = w.store.transact("test", None, |tx| crate::nps::new_email_invitation(tx, lea, None)).unwrap().value;
    w.clock.set(now);
    // A gateway tagged the subject after the token; the reply waited three days in the inbox.
    let subject = format!("RE: {} [EXT]", crate::nps::rules::reply_subject("Avis", 9, &token));
    let written = w.store.now() - chrono::Duration::days(3);
    let long = "Très bon accueil. ".repeat(25);
    let raw = format!(
        "From: lea@example.org\r\nTo: {SHOP}\r\nSubject: {subject}\r\nDate: {}\r\nMessage-ID: <g1@mail.receiver.test>\r\n\r\n{long}\r\nDeuxième ligne.\r\n\r\nLe 1 déc. 2026, Boutique a écrit :\r\n> Votre avis nous intéresse\r\n",
        written.to_rfc2822()
    );
    w.dovecot.append("INBOX", &[raw.into_bytes()]);
    w.read();
    let a = w.store.customer_nps(lea).unwrap().last_answer.expect("the answer behind the gateway's tag was read");
    assert_eq!(a.score, 9);
    assert_eq!(a.answered_at.timestamp(), written.timestamp(), "dated when written, not when read");
    let comment = a.comment.unwrap();
    assert!(comment.chars().count() > 300, "the whole comment, not a 300-character excerpt");
    assert!(comment.ends_with("\nDeuxième ligne."), "its lines kept: {comment}");
    assert!(!comment.contains("Votre avis"), "the quoted message is not the comment");
}

#[test]
fn handled_messages_can_be_moved_out_of_the_inbox_never_deleted() {
    let mut w = world();
    customer(&mut w.store, "Paul", "paul@example.org");
    let c = w.send("Décembre");
    let mut m = w.dovecot.settings();
    m.imap.move_to = "Comptoir/Traités".into();
    w.store.save_mailbox_settings(&m, None).unwrap();
    w.dovecot.append(
        "INBOX",
        &[
            w.bounce("postfix_hard.eml", c, "paul@example.org"),
            b"From: ami@example.net\r\nSubject: Question\r\n\r\nOuvert lundi ?\r\n".to_vec(),
        ],
    );
    let r = w.read();
    assert_eq!(r.handled, 1);
    assert_eq!(w.dovecot.count("INBOX"), 1, "the merchant's own mail stays in the inbox");
    // Dovecot's separator is ".": "Comptoir/Traités" is the folder Traités inside Comptoir.
    assert_eq!(
        w.dovecot.count(&crate::mailbox::imap::encode_folder("Comptoir.Traités")),
        1,
        "the bounce was moved, not deleted"
    );
    let log = w.store.mailbox_log(&[Kind::HardBounce], None, 5).unwrap();
    assert_eq!(log[0].moved_to.as_deref(), Some("Comptoir/Traités"));
}

#[test]
fn a_test_to_myself_is_read_back_with_what_the_receiving_side_saw() {
    let mut w = world();
    customer(&mut w.store, "Paul", "paul@example.org");
    let c = w.send("Décembre");
    w.store
        .conn()
        .execute(
            "INSERT INTO campaign_tests (campaign_id, email, at, outcome, message_id) VALUES (?1, ?2, ?3, 'sent', '<test.abc@boulangerie.test>')",
            rusqlite::params![c, SHOP, w.store.now()],
        )
        .unwrap();
    let copy = format!(
        "Authentication-Results: mx.receiver.test; spf=pass smtp.mailfrom={SHOP}; dkim=none; dmarc=fail header.from=boulangerie.test\r\nX-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=7.2 required=5.0\r\nFrom: {SHOP}\r\nTo: {SHOP}\r\nSubject: [TEST] Les nouveautés\r\nMessage-ID: <test.abc@boulangerie.test>\r\n\r\nBonjour\r\n"
    );
    w.dovecot.append("Junk", &[copy.into_bytes()]);
    w.read();
    let rb = w.store.test_readbacks(5).unwrap();
    let found = rb[0].found.as_ref().expect("the test was found");
    assert_eq!((found.folder.as_str(), found.junk), ("Junk", true), "it landed in the spam folder");
    assert_eq!(
        (found.spf.as_deref(), found.dkim.as_deref(), found.dmarc.as_deref()),
        (Some("pass"), Some("none"), Some("fail"))
    );
    assert_eq!(found.spam_flag, Some(true));
}

#[test]
fn a_wrong_password_is_a_failed_reading_that_says_why() {
    let mut w = world();
    let m = w.dovecot.settings();
    w.secrets.set(&imap_account(&m.imap.username, &m.imap.host), "wrong");
    let r = read_now(&mut w.store, &w.secrets).unwrap().remove(0);
    assert!(!r.ok);
    assert_eq!(r.problem.as_deref(), Some("wrong_password"), "the server said: {}", r.detail);
    let status = w.store.mailbox_status().unwrap();
    assert_eq!(status.last_success, None, "a failed reading is not a reading");
    assert_eq!(status.last_run.map(|r| r.ok), Some(false));
    let check = crate::mailbox::run::test_imap(&m, "wrong", Policy::default());
    assert_eq!(
        check.problem,
        Some(crate::campaigns::smtp::SmtpProblem::WrongPassword),
        "the connection test explains it"
    );
    assert!(crate::mailbox::run::test_imap(&m, w.dovecot.password(), Policy::default()).ok);
}

#[test]
fn a_campaign_through_a_real_provider_waits_for_a_reading_of_less_than_48_hours() {
    let mut w = world();
    customer(&mut w.store, "Paul", "paul@example.org");
    let mut mail = w.store.mail_settings().unwrap();
    mail.delivery = Delivery::Smtp;
    mail.smtp = SmtpSettings {
        preset: SmtpPreset::Gmail,
        host: "smtp.gmail.com".into(),
        port: 465,
        tls: TlsMode::Tls,
        username: SHOP.into(),
        limits: SendLimits { per_second: 1, per_minute: 20, per_day: 500, connections: 1 },
    };
    w.store.save_mail_settings(&mail, None).unwrap();
    let input = |name: &str| CampaignInput {
        name: name.into(),
        content: CampaignContent {
            a: MessageContent {
                subject: "Bonjour".into(),
                preheader: String::new(),
                blocks: vec![Block::Text { markdown: "Bonjour".into() }],
            },
            b: None,
        },
        audience: Audience { filter: SegmentFilter::default(), control_percent: 0, ab: None, results_days: 14 },
    };
    let id = w.store.create_campaign(&input("A"), None).unwrap().value.id;
    let e = w.store.start_campaign(id, None).unwrap_err();
    assert!(matches!(e, crate::Error::Conflict { key: "conflict.mailbox_never_read", .. }), "never read: {e:?}");
    assert!(w.store.mailbox_status().unwrap().sending_blocked, "the screen knows why");

    w.read();
    w.clock.advance(chrono::Duration::hours(47));
    w.store.start_campaign(id, None).expect("read 47 hours ago: it leaves");

    let id2 = w.store.create_campaign(&input("B"), None).unwrap().value.id;
    w.clock.advance(chrono::Duration::hours(2));
    let e = w.store.start_campaign(id2, None).unwrap_err();
    assert!(matches!(e, crate::Error::Conflict { key: "conflict.mailbox_stale", .. }), "49 hours: {e:?}");
    assert!(
        e.message(crate::types::Lang::Fr).contains("49"),
        "the message says how old: {}",
        e.message(crate::types::Lang::Fr)
    );

    // A scheduled campaign does not leave either; it waits with the reason.
    let at = w.store.now() + chrono::Duration::hours(1);
    w.store.schedule_campaign(id2, at, None).unwrap();
    w.clock.advance(chrono::Duration::hours(2));
    crate::campaigns::engine::Engine::new(Default::default()).tick(&mut w.store).unwrap();
    let c = w.store.campaign(id2).unwrap();
    assert_eq!(c.state, crate::campaigns::CampaignState::Scheduled, "it did not leave");
    assert!(c.missed && c.pause_detail.is_some_and(|d| d.contains("48")), "it waits and says why");

    // The outbox or a local server need no reading.
    mail.delivery = Delivery::Outbox;
    w.store.save_mail_settings(&mail, None).unwrap();
    w.store.start_campaign(id2, None).expect("the .eml outbox needs no reading");

    // A campaign already running through the provider (its reading is now 51 hours old) does
    // not send its next batch either: it waits, and goes on by itself after a reading.
    mail.delivery = Delivery::Smtp;
    w.store.save_mail_settings(&mail, None).unwrap();
    let outbox = crate::campaigns::smtp::EmlOutbox { dir: w.outbox.path().to_path_buf() };
    let mut engine = crate::campaigns::engine::Engine::new(Default::default());
    engine.step_for(&mut w.store, Some(id), &outbox, &mail.smtp.limits).unwrap();
    let c = w.store.campaign(id).unwrap();
    assert_eq!(
        (c.state, c.pause_reason),
        (crate::campaigns::CampaignState::Paused, Some(crate::campaigns::PauseReason::Mailbox)),
        "the next batch waits for a reading"
    );
    assert!(w.store.resume_campaign(id, None).is_err(), "resuming by hand waits for it too");
    w.read();
    engine.tick(&mut w.store).unwrap();
    assert_eq!(
        w.store.campaign(id).unwrap().state,
        crate::campaigns::CampaignState::Running,
        "after a successful reading it goes on by itself"
    );
}
