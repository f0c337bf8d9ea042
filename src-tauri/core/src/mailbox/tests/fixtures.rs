//! Every fixture through the classifier: what it is, whom it is about, and the shop's
//! Message-ID found inside it (pure; no server).

use super::{fixture, SHOP};
use crate::mailbox::classify::{classify, Kind};

const MID: &str = "<c7.k3m9xq2z7pw4rt8vbn6a@boulangerie.test>";
const TOKEN: &str = "k3m9xq2z7pw4rt8vbn6a";
const RCPT: &str = "paul.durand@example.org";

#[test]
fn every_real_world_report_is_classified_as_its_sender_meant_it() {
    let cases: &[(&str, Kind, &str, Option<&str>)] = &[
        ("gmail_hard.eml", Kind::HardBounce, "dsn", Some("5.1.1")),
        ("outlook_hard.eml", Kind::HardBounce, "dsn", Some("5.1.10")),
        ("postfix_hard.eml", Kind::HardBounce, "dsn", Some("5.1.1")),
        ("exim_hard.eml", Kind::HardBounce, "exim", Some("5.1.1")),
        ("qmail_hard.eml", Kind::HardBounce, "qmail", Some("5.1.1")),
        ("orange_soft.eml", Kind::SoftBounce, "generic", Some("4.2.2")),
        ("free_soft.eml", Kind::SoftBounce, "dsn", Some("5.2.2")),
        ("gmail_delayed.eml", Kind::Delayed, "dsn", Some("4.4.1")),
        ("arf_complaint.eml", Kind::Complaint, "arf", None),
    ];
    for (name, kind, why, status) in cases {
        let c = classify(&fixture(name, MID, RCPT, TOKEN), &[SHOP.to_string()]);
        assert_eq!(c.kind, *kind, "{name} is a {kind:?}");
        assert_eq!(c.why, *why, "{name} is recognised as {why}");
        assert_eq!(c.status.as_deref(), *status, "{name}: status code");
        assert_eq!(
            c.recipients.first().map(String::as_str),
            Some(RCPT),
            "{name} names the failed recipient, not the shop"
        );
        assert!(
            c.referenced.iter().any(|r| format!("<{r}>") == MID),
            "{name} carries the shop's Message-ID ({:?})",
            c.referenced
        );
    }
}

#[test]
fn replies_are_told_apart_vacation_token_stop_and_satisfaction() {
    let c = classify(&fixture("vacation_fr.eml", MID, RCPT, TOKEN), &[]);
    assert_eq!(c.kind, Kind::AutoReply, "a vacation reply (Auto-Submitted) is not a bounce");
    let c = classify(&fixture("vacation_outlook.eml", MID, RCPT, TOKEN), &[]);
    assert_eq!(c.kind, Kind::AutoReply, "Outlook's 'Réponse automatique' with STOP in it is still automatic");
    let c = classify(&fixture("unsubscribe_token.eml", MID, RCPT, TOKEN), &[]);
    assert_eq!((c.kind, c.token.as_deref()), (Kind::Unsubscribe, Some(TOKEN)), "the List-Unsubscribe mailto");
    let c = classify(&fixture("stop_free.eml", MID, RCPT, TOKEN), &[]);
    assert_eq!(c.kind, Kind::StopRequest, "a free-text STOP");
    assert_eq!(c.from.as_deref(), Some(RCPT));
    assert!(c.excerpt.as_deref().unwrap().starts_with("STOP"), "the person's words are kept: {:?}", c.excerpt);
    assert!(c.referenced.iter().any(|r| format!("<{r}>") == MID), "In-Reply-To names the campaign's message");
    let c = classify(&fixture("nps_answer.eml", MID, RCPT, TOKEN), &[]);
    assert_eq!((c.kind, c.token.as_deref(), c.score), (Kind::Survey, Some(TOKEN), Some(9)), "NPS <token> <score>");
    assert!(c.excerpt.as_deref().unwrap().contains("pain aux noix"), "the comment, without the quoted question");
}

#[test]
fn hostile_and_broken_messages_are_other_and_never_panic() {
    let cases: &[&[u8]] = &[
        b"",
        b"\xff\xfe\x00garbage",
        b"Subject: <script>alert(1)</script>\r\n\r\n<img src=x onerror=alert(1)>",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nStatus: \r\n--x--",
        "From: 😀 <a@b.test>\r\nSubject: 🎉🎉\r\n\r\nBonjour 🎂".as_bytes(),
    ];
    for raw in cases {
        let c = classify(raw, &[]);
        assert!(
            matches!(c.kind, Kind::Other | Kind::Delayed),
            "nothing to act on in {:?}: {:?}",
            String::from_utf8_lossy(raw),
            c.kind
        );
    }
    let robot = b"From: Boutique <noreply@shop.example.net>\r\nSubject: Votre commande\r\n\r\nLa commande de paul@example.org est partie. Code 550.\r\n";
    assert_eq!(classify(robot, &[]).kind, Kind::Other, "a robot's notice mentioning an address is not a bounce");
    let daemon =
        b"From: MAILER-DAEMON@mx.example.net\r\nSubject: Bienvenue\r\n\r\nBonjour paul@example.org, 550 membres.\r\n";
    assert_eq!(classify(daemon, &[]).kind, Kind::Other, "a daemon's text without a failure is not a bounce");
    let huge = format!("From: a@b.test\r\nSubject: x\r\n\r\n{}", "ligne\r\n".repeat(50_000));
    assert_eq!(classify(huge.as_bytes(), &[]).kind, Kind::Other, "a 50,000-line message is read without trouble");
}
