//! Delivery reports, read as the receiving servers write them: the standard one (RFC 3464,
//! `multipart/report; report-type=delivery-status`: per recipient `Final-Recipient`, `Action`,
//! `Status`, `Diagnostic-Code`) and the common free-text ones (Exim's "This message was created
//! automatically by mail delivery software", qmail's "I'm afraid I wasn't able to deliver",
//! and the many "Mail Delivery System" texts of Postfix, Orange, Free, Exchange and others).
//!
//! Pure functions on text; no database. Invariant: a report that says the message is still
//! being tried (`Action: delayed`) or was delivered is never a bounce, and an address is hard
//! bounced only on a permanent status that concerns the address itself (unknown user, no such
//! domain, disabled mailbox) — a full mailbox, a message too large or refused for its content
//! or by a policy is soft: the address is fine, the next message may pass.

/// How serious a failed delivery is for the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The address does not work: it is suppressed at once.
    Hard,
    /// Temporary, or not the address's fault: counted.
    Soft,
}

/// What a report says about one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecipientStatus {
    pub recipient: Option<String>,
    /// `failed`, `delayed`, `delivered`, `relayed`, `expanded` (lower case).
    pub action: Option<String>,
    /// The enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    pub diagnostic: Option<String>,
}

/// Undo header folding: a line starting with white space continues the previous one.
pub fn unfold(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) && !line.trim().is_empty() {
            if let Some(last) = out.last_mut() {
                if !last.is_empty() {
                    last.push(' ');
                    last.push_str(line.trim());
                    continue;
                }
            }
        }
        out.push(line.trim_end().to_string());
    }
    out
}

/// `Name: value` of a header line, name lower-cased.
fn field(line: &str) -> Option<(String, &str)> {
    let (name, value) = line.split_once(':')?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some((name.to_ascii_lowercase(), value.trim()))
}

/// The address of a `Final-Recipient: rfc822; x@y` value (the type prefix dropped).
fn typed_address(value: &str) -> Option<String> {
    let v = value.split_once(';').map(|(_, a)| a).unwrap_or(value);
    first_email(v)
}

/// The fields of a `message/delivery-status` body, one entry per recipient.
pub fn parse_delivery_status(text: &str) -> Vec<RecipientStatus> {
    let mut out = Vec::new();
    let mut cur = RecipientStatus::default();
    let mut in_recipient = false;
    for line in unfold(text) {
        if line.trim().is_empty() {
            if in_recipient {
                out.push(std::mem::take(&mut cur));
                in_recipient = false;
            }
            continue;
        }
        let Some((name, value)) = field(&line) else { continue };
        match name.as_str() {
            "final-recipient" | "original-recipient" => {
                if name == "final-recipient" || cur.recipient.is_none() {
                    cur.recipient = typed_address(value).or(cur.recipient.take());
                }
                in_recipient = true;
            }
            "action" => {
                cur.action = Some(value.to_ascii_lowercase());
                in_recipient = true;
            }
            "status" => {
                cur.status = find_status(value);
                in_recipient = true;
            }
            "diagnostic-code" => {
                let d = value.split_once(';').map(|(_, d)| d).unwrap_or(value).trim();
                cur.diagnostic = Some(d.chars().take(500).collect());
                in_recipient = true;
            }
            _ => {}
        }
    }
    if in_recipient {
        out.push(cur);
    }
    out
}

/// The first enhanced status code (`4.2.2`, `5.1.1`) in a text.
pub fn find_status(text: &str) -> Option<String> {
    let b = text.as_bytes();
    for i in 0..b.len() {
        if !matches!(b[i], b'2' | b'4' | b'5') || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.')) {
            continue;
        }
        let rest = &text[i..];
        let mut parts = rest.splitn(3, '.');
        let (Some(c), Some(s), Some(d)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let d: String = d.chars().take_while(char::is_ascii_digit).collect();
        let ok = c.len() == 1
            && (1..=3).contains(&s.len())
            && s.bytes().all(|x| x.is_ascii_digit())
            && (1..=3).contains(&d.len());
        let after = rest.as_bytes().get(c.len() + s.len() + d.len() + 2);
        if ok && !after.is_some_and(|x| x.is_ascii_digit() || *x == b'.') {
            return Some(format!("{c}.{s}.{d}"));
        }
    }
    None
}

/// The first SMTP reply code (`550`, `452`) standing alone in a text.
pub fn find_smtp_code(text: &str) -> Option<u16> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|w| w.len() == 3)
        .filter_map(|w| w.parse::<u16>().ok())
        .find(|c| (400..600).contains(c) && c % 100 < 60)
}

/// Words of a diagnostic that say the mailbox is full (soft whatever the code).
const FULL: &[&str] = &[
    "mailbox full",
    "mailbox is full",
    "over quota",
    "quota exceeded",
    "exceeded storage",
    "insufficient system storage",
    "mailbox exceeds",
    "boite pleine",
    "boite aux lettres pleine",
    "boite de reception est pleine",
    "espace de stockage",
    "quota depasse",
];

/// Words that say the address does not exist (hard when no status code says otherwise).
const UNKNOWN: &[&str] = &[
    "user unknown",
    "unknown user",
    "no such user",
    "no such mailbox",
    "no mailbox here",
    "mailbox unavailable",
    "does not exist",
    "doesn't exist",
    "recipient not found",
    "address rejected",
    "recipientnotfound",
    "invalid recipient",
    "not a valid mailbox",
    "account has been disabled",
    "account disabled",
    "n'existe pas",
    "adresse inconnue",
    "utilisateur inconnu",
    "destinataire inconnu",
    "introuvable",
    "host or domain name not found",
    "domain not found",
];

/// The severity of a failed delivery from its status code and diagnostic text.
pub fn severity(status: Option<&str>, diagnostic: &str) -> Severity {
    let d = crate::text::fold(diagnostic);
    if FULL.iter().any(|w| d.contains(w)) {
        return Severity::Soft;
    }
    if let Some(s) = status {
        let mut it = s.split('.');
        let class = it.next().unwrap_or("");
        let subject = it.next().unwrap_or("");
        let detail = it.next().unwrap_or("");
        return match (class, subject, detail) {
            ("4", _, _) => Severity::Soft,
            // Mailbox full, message too big, content or policy refusals, network trouble:
            // the address itself works.
            ("5", "2", "2") | ("5", "3", _) | ("5", "6", _) | ("5", "7", _) => Severity::Soft,
            ("5", "4", "7") => Severity::Soft,
            ("5", _, _) => Severity::Hard,
            _ => Severity::Soft,
        };
    }
    match find_smtp_code(&d) {
        Some(c) if c >= 500 && UNKNOWN.iter().any(|w| d.contains(w)) => Severity::Hard,
        Some(550) | Some(551) | Some(553) => Severity::Hard,
        Some(c) if c >= 500 && !d.contains("spam") && !d.contains("policy") && !d.contains("blocked") => Severity::Hard,
        Some(_) => Severity::Soft,
        None if UNKNOWN.iter().any(|w| d.contains(w)) => Severity::Hard,
        None => Severity::Soft,
    }
}

/// Every email address in a text, in order, without duplicates, lower case.
pub fn emails_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || "<>()[]\"',;:=".contains(c)) {
        let w = word.trim_matches(|c: char| c == '.' || c == '-');
        if w.contains('@') && crate::customers::is_email(&w.to_lowercase()) {
            let e = w.to_lowercase();
            if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

pub fn first_email(text: &str) -> Option<String> {
    emails_in(text).into_iter().next()
}

/// Message-IDs written as header lines in a text (a quoted original message, the returned
/// headers of a report), without angle brackets.
pub fn header_message_ids(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in unfold(text) {
        let Some((name, value)) = field(line.trim_start_matches('>').trim_start()) else { continue };
        if name == "message-id" {
            if let Some(id) = clean_message_id(value) {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
    }
    out
}

/// `<abc@host>` → `abc@host`.
pub fn clean_message_id(v: &str) -> Option<String> {
    let v = v.trim();
    let inner = match (v.find('<'), v.find('>')) {
        (Some(a), Some(b)) if b > a + 1 => &v[a + 1..b],
        _ => v.split_whitespace().next()?,
    };
    (inner.contains('@') && inner.len() <= 250 && !inner.contains(char::is_whitespace)).then(|| inner.to_string())
}

/// Lines that start the copy of the original message in a free-text report.
const ORIGINAL_MARKERS: &[&str] = &[
    "copy of the message",
    "copy of your message",
    "below this line is a copy",
    "original message",
    "message d'origine",
    "message original",
    "message initial",
    "undelivered message headers",
    "text of the message",
];

/// The human-readable part of a free-text report: up to the copy of the original message.
pub fn before_original(text: &str) -> &str {
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let l = crate::text::fold(line);
        let header_start = l.starts_with("return-path:") || l.starts_with("received:");
        if header_start || ORIGINAL_MARKERS.iter().any(|m| l.contains(m)) {
            return &text[..pos];
        }
        pos += line.len();
    }
    text
}

/// A free-text report: which style it is, the failed recipients and the diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeText {
    pub style: &'static str,
    pub recipients: Vec<String>,
    pub status: Option<String>,
    pub diagnostic: String,
    pub permanent: Option<bool>,
}

/// Read a free-text bounce (`own` are the shop's own addresses, never a failed recipient).
pub fn parse_free_text(text: &str, own: &[String]) -> FreeText {
    let folded = crate::text::fold(text);
    let human = before_original(text);
    let style = if folded.contains("created automatically by mail delivery software") {
        "exim"
    } else if folded.contains("qmail-send program") || folded.contains("wasn't able to deliver") {
        "qmail"
    } else if folded.contains("this is the mail system at host") {
        "postfix"
    } else {
        "generic"
    };
    let mut recipients: Vec<String> = Vec::new();
    let lines: Vec<&str> = human.lines().collect();
    match style {
        "exim" => {
            // "The following address(es) failed:" then indented addresses.
            if let Some(i) = lines.iter().position(|l| l.to_ascii_lowercase().contains("address(es) failed")) {
                for l in &lines[i + 1..] {
                    let t = l.trim();
                    if t.is_empty() && !recipients.is_empty() {
                        break;
                    }
                    if let Some(e) = t.split_whitespace().next().and_then(first_email) {
                        if l.starts_with("  ") && !l.starts_with("    ") {
                            recipients.push(e);
                        }
                    }
                }
            }
        }
        "qmail" => {
            for l in &lines {
                let t = l.trim();
                if t.starts_with('<') && t.ends_with(">:") {
                    recipients.extend(first_email(t));
                }
            }
        }
        _ => {}
    }
    if recipients.is_empty() {
        recipients =
            emails_in(human).into_iter().filter(|e| !own.contains(e) && !is_daemon_address(e)).take(5).collect();
    }
    let status = find_status(human);
    let diagnostic: String = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| find_smtp_code(l).is_some() || find_status(l).is_some())
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let diagnostic = if diagnostic.is_empty() {
        human.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(300).collect()
    } else {
        diagnostic.chars().take(500).collect()
    };
    let f = crate::text::fold(human);
    let permanent = if f.contains("permanent error") || f.contains("erreur permanente") || f.contains("i've given up") {
        Some(true)
    } else if f.contains("temporary")
        || f.contains("temporaire")
        || f.contains("will keep trying")
        || f.contains("delayed")
    {
        Some(false)
    } else {
        None
    };
    FreeText { style, recipients, status, diagnostic, permanent }
}

/// An address that sends reports (never a recipient who bounced).
pub fn is_daemon_address(email: &str) -> bool {
    let local = email.split('@').next().unwrap_or("").to_ascii_lowercase();
    ["mailer-daemon", "postmaster", "mail-daemon", "maildaemon", "mailerdaemon"]
        .iter()
        .any(|d| local == *d || local.starts_with("microsoftexchange"))
}

/// Words a delivery failure report uses (folded), so that a notification from a robot that
/// merely mentions an address is never taken for a bounce.
const FAILURE_WORDS: &[&str] = &[
    "could not be delivered",
    "couldn't be delivered",
    "wasn't delivered",
    "was not delivered",
    "undeliverable",
    "undelivered",
    "delivery failed",
    "delivery has failed",
    "delivery to the following",
    "permanent error",
    "n'a pas pu etre",
    "n'a pu etre",
    "non remis",
    "non distribuable",
    "echec de la remise",
    "impossible de remettre",
];

/// Whether a text reads as a delivery failure report.
pub fn reads_as_failure(text: &str) -> bool {
    let f = crate::text::fold(text);
    FAILURE_WORDS.iter().any(|w| f.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_code_is_read_from_a_line_without_taking_version_numbers() {
        let cases = [
            ("smtp; 550 5.1.1 <a@b.test>: Recipient address rejected", Some("5.1.1")),
            ("Status: 4.2.2", Some("4.2.2")),
            ("550-5.1.1 The email account that you tried to reach does not exist", Some("5.1.1")),
            ("Postfix 3.7.10 said hello", None),
            ("(#5.1.1)", Some("5.1.1")),
            ("no code here", None),
        ];
        for (text, want) in cases {
            assert_eq!(find_status(text).as_deref(), want, "status in {text:?}");
        }
    }

    #[test]
    fn severity_is_hard_only_when_the_address_itself_does_not_work() {
        let cases = [
            (Some("5.1.1"), "550 user unknown", Severity::Hard),
            (Some("5.1.10"), "RESOLVER.ADR.RecipientNotFound", Severity::Hard),
            (Some("5.4.4"), "unrouteable domain", Severity::Hard),
            (Some("5.2.2"), "mailbox full", Severity::Soft),
            (Some("5.7.1"), "message refused as spam", Severity::Soft),
            (Some("5.3.4"), "message too big", Severity::Soft),
            (Some("4.2.2"), "over quota", Severity::Soft),
            (Some("5.0.0"), "552 Quota exceeded", Severity::Soft),
            (None, "550 Sorry, no mailbox here by that name", Severity::Hard),
            (None, "452 boîte aux lettres pleine", Severity::Soft),
            (None, "421 try again later", Severity::Soft),
            (None, "Adresse inconnue", Severity::Hard),
        ];
        for (status, diag, want) in cases {
            assert_eq!(severity(status, diag), want, "{status:?} {diag:?}");
        }
    }

    #[test]
    fn a_delivery_status_body_gives_one_entry_per_recipient() {
        let body = "Reporting-MTA: dns; mx.example.net\nArrival-Date: Mon, 1 Dec 2025 10:00:00 +0100\n\nFinal-Recipient: rfc822; Paul@Example.com\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <paul@example.com>:\n Recipient address rejected: User unknown\n\nFinal-Recipient: rfc822;anne@example.org\nAction: delayed\nStatus: 4.4.1\n";
        let r = parse_delivery_status(body);
        assert_eq!(r.len(), 2, "two recipient groups");
        assert_eq!(r[0].recipient.as_deref(), Some("paul@example.com"), "the address is lower-cased");
        assert_eq!(r[0].action.as_deref(), Some("failed"));
        assert_eq!(r[0].status.as_deref(), Some("5.1.1"));
        assert!(r[0].diagnostic.as_deref().unwrap().contains("User unknown"), "folded lines are joined");
        assert_eq!(r[1].action.as_deref(), Some("delayed"));
    }

    #[test]
    fn message_ids_are_found_in_returned_headers_and_quoted_text() {
        let t = "From: shop@example.com\nMessage-ID:\n <c3.abc@example.com>\n> Message-Id: <other@example.com>\n";
        assert_eq!(header_message_ids(t), vec!["c3.abc@example.com".to_string(), "other@example.com".to_string()]);
        assert_eq!(clean_message_id("<x@y>"), Some("x@y".into()));
        assert_eq!(clean_message_id("garbage"), None, "an id has an @");
    }

    #[test]
    fn exim_and_qmail_texts_name_their_failed_recipients() {
        let exim = "This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n  lucie@example.org\n    host mx.example.org [192.0.2.1]\n    SMTP error from remote mail server after RCPT TO:<lucie@example.org>:\n    550 5.1.1 User unknown\n\n------ This is a copy of the message, including all the headers. ------\nTo: lucie@example.org\n";
        let f = parse_free_text(exim, &["shop@example.com".into()]);
        assert_eq!(f.style, "exim");
        assert_eq!(f.recipients, vec!["lucie@example.org".to_string()]);
        assert_eq!(f.permanent, Some(true));
        assert_eq!(f.status.as_deref(), Some("5.1.1"));
        let qmail = "Hi. This is the qmail-send program at mx.example.net.\nI'm afraid I wasn't able to deliver your message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n<marc@example.net>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n--- Below this line is a copy of the message.\n";
        let q = parse_free_text(qmail, &[]);
        assert_eq!(q.style, "qmail");
        assert_eq!(q.recipients, vec!["marc@example.net".to_string()]);
    }
}
