//! What a message that came back is, decided from the message alone (pure, no database):
//! a bounce (hard or soft, or only a delay notice), a spam complaint (ARF), an unsubscribe
//! reply carrying its token, an answer to the satisfaction question, an automatic reply
//! (vacation), a free-text "STOP", or something else.
//!
//! Order matters and is part of the rules: reports first (a bounce is often marked
//! `Auto-Submitted` too, and is still a bounce), then the tokens the shop's own messages carry
//! (`unsubscribe <token>`, `NPS <token> <score>`: a token is explicit), then automatic replies
//! (never a bounce, never a STOP), and only then the free-text STOP, which is never applied by
//! itself: it waits for the merchant's confirmation.
//!
//! The satisfaction answer format: the question's links are `mailto:` links whose subject is
//! `NPS <token> <score>` (score 0–10, the token the recipient's message token); a reply whose
//! subject holds that sequence (after "Re:" and the like) is an answer.

use super::dsn::{self, Severity};
use chrono::{DateTime, Utc};
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    HardBounce,
    SoftBounce,
    /// A report saying the message is still being tried: nothing to do.
    Delayed,
    AutoReply,
    Unsubscribe,
    StopRequest,
    Complaint,
    Survey,
    /// A test the merchant sent to their own mailbox.
    TestCopy,
    Other,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::HardBounce => "hard_bounce",
            Kind::SoftBounce => "soft_bounce",
            Kind::Delayed => "delayed",
            Kind::AutoReply => "auto_reply",
            Kind::Unsubscribe => "unsubscribe",
            Kind::StopRequest => "stop_request",
            Kind::Complaint => "complaint",
            Kind::Survey => "survey",
            Kind::TestCopy => "test_copy",
            Kind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        use Kind::*;
        [HardBounce, SoftBounce, Delayed, AutoReply, Unsubscribe, StopRequest, Complaint, Survey, TestCopy, Other]
            .into_iter()
            .find(|k| k.code() == s)
    }
}

/// What the classifier found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub kind: Kind,
    /// The message's own Message-ID (no angle brackets).
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    /// Bounces: the failed recipients; complaints: the complaining recipient.
    pub recipients: Vec<String>,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
    /// Message-IDs of the shop's message this one is about (returned headers, quoted copy,
    /// In-Reply-To, References).
    pub referenced: Vec<String>,
    pub token: Option<String>,
    pub score: Option<u8>,
    /// The first lines a person wrote (STOP requests), capped; a survey answer's whole comment.
    pub excerpt: Option<String>,
    /// How it was recognised: dsn, arf, exim, qmail, postfix, generic, auto_submitted,
    /// auto_subject, token, nps, stop_words.
    pub why: &'static str,
}

impl Classified {
    fn new(kind: Kind, why: &'static str) -> Classified {
        Classified {
            kind,
            message_id: None,
            from: None,
            subject: String::new(),
            date: None,
            recipients: Vec::new(),
            status: None,
            diagnostic: None,
            referenced: Vec::new(),
            token: None,
            score: None,
            excerpt: None,
            why,
        }
    }
}

/// Whether `w` looks like one of the shop's message tokens.
pub fn is_token(w: &str) -> bool {
    w.len() == 20 && w.bytes().all(|b| crate::campaigns::store::TOKEN_ALPHABET.contains(&b))
}

/// Classify one raw message. `own` are the shop's own addresses (sender, reply-to), never a
/// bounced recipient.
pub fn classify(raw: &[u8], own: &[String]) -> Classified {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Classified::new(Kind::Other, "unreadable");
    };
    let mut c = classify_parsed(&msg, own);
    c.message_id = msg.message_id().and_then(dsn::clean_message_id);
    c.from = msg.from().and_then(|a| a.first()).and_then(|a| a.address()).map(crate::text::normalize_email);
    c.subject = msg.subject().unwrap_or_default().chars().take(300).collect();
    c.date = msg.date().and_then(|d| DateTime::parse_from_rfc3339(&d.to_rfc3339()).ok()).map(|d| d.with_timezone(&Utc));
    if c.referenced.is_empty() {
        c.referenced = reply_references(&msg);
    }
    c
}

fn header(msg: &Message, name: &str) -> Option<String> {
    msg.header_raw(name).map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// In-Reply-To and References, for replies.
fn reply_references(msg: &Message) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["In-Reply-To", "References"] {
        if let Some(v) = msg.header_raw(name) {
            for piece in v.split('>') {
                if let Some(id) = dsn::clean_message_id(&format!("{piece}>")) {
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
            }
        }
    }
    out
}

fn ctype(part: &mail_parser::MessagePart) -> (String, String) {
    part.content_type()
        .map(|c| (c.ctype().to_ascii_lowercase(), c.subtype().unwrap_or("").to_ascii_lowercase()))
        .unwrap_or_default()
}

fn part_text(part: &mail_parser::MessagePart) -> String {
    match &part.body {
        PartType::Text(t) | PartType::Html(t) => t.to_string(),
        PartType::Binary(b) | PartType::InlineBinary(b) => String::from_utf8_lossy(b).into_owned(),
        PartType::Message(m) => String::from_utf8_lossy(m.raw_message()).into_owned(),
        PartType::Multipart(_) => String::new(),
    }
}

/// The plain text a person or a server wrote (text parts of this message, not of a copy
/// nested in it), or the HTML made text.
fn body_text(msg: &Message) -> String {
    let mut out = String::new();
    for p in &msg.parts {
        if let PartType::Text(t) = &p.body {
            if ctype(p) == ("text".into(), "plain".into()) || p.content_type().is_none() {
                out.push_str(t);
                out.push('\n');
            }
        }
    }
    if out.trim().is_empty() {
        out = msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    }
    out
}

/// The report parts: referenced Message-IDs and the original recipients from the returned
/// message or headers.
fn returned(msg: &Message) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut to = Vec::new();
    for p in &msg.parts {
        let (t, s) = ctype(p);
        if let PartType::Message(m) = &p.body {
            ids.extend(m.message_id().and_then(dsn::clean_message_id));
            if let Some(a) = m.to().and_then(|a| a.first()).and_then(|a| a.address()) {
                to.push(crate::text::normalize_email(a));
            }
        } else if (t == "text" || t == "message") && s == "rfc822-headers" {
            let text = part_text(p);
            ids.extend(dsn::header_message_ids(&text));
            for line in dsn::unfold(&text) {
                if line.to_ascii_lowercase().starts_with("to:") {
                    to.extend(dsn::first_email(&line));
                }
            }
        }
    }
    ids.dedup();
    (ids, to)
}

fn report_type(msg: &Message) -> Option<String> {
    let ct = msg.root_part().content_type()?;
    if !ct.ctype().eq_ignore_ascii_case("multipart") || !ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
    {
        return None;
    }
    ct.attribute("report-type").map(|r| r.to_ascii_lowercase())
}

fn classify_parsed(msg: &Message, own: &[String]) -> Classified {
    let subject = msg.subject().unwrap_or_default();
    let from = msg.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or("").to_ascii_lowercase();
    match report_type(msg).as_deref() {
        Some("delivery-status") => {
            if let Some(c) = delivery_status(msg) {
                return c;
            }
        }
        Some("feedback-report") => return complaint(msg),
        _ => {}
    }
    if looks_like_bounce(msg, &from, subject) {
        if let Some(c) = free_text_bounce(msg, own) {
            return c;
        }
    }
    if let Some(token) = unsubscribe_token(subject) {
        let mut c = Classified::new(Kind::Unsubscribe, "token");
        c.token = Some(token);
        return c;
    }
    if let Some((token, score)) = survey_answer(subject) {
        let mut c = Classified::new(Kind::Survey, "nps");
        c.token = Some(token);
        c.score = Some(score);
        c.excerpt = comment_text(&body_text(msg));
        return c;
    }
    if let Some(why) = automatic(msg, subject) {
        return Classified::new(Kind::AutoReply, why);
    }
    let body = body_text(msg);
    if !from.is_empty() && asks_to_stop(subject, &body) {
        let mut c = Classified::new(Kind::StopRequest, "stop_words");
        c.excerpt = excerpt(&body).or_else(|| Some(subject.chars().take(200).collect()));
        return c;
    }
    Classified::new(Kind::Other, "none")
}

fn delivery_status(msg: &Message) -> Option<Classified> {
    let mut statuses = Vec::new();
    for p in &msg.parts {
        let (t, s) = ctype(p);
        if t == "message" && (s == "delivery-status" || s == "global-delivery-status") {
            statuses.extend(dsn::parse_delivery_status(&part_text(p)));
        }
    }
    if statuses.is_empty() {
        return None;
    }
    let (ids, to) = returned(msg);
    let failed: Vec<&dsn::RecipientStatus> = statuses
        .iter()
        .filter(|r| match r.action.as_deref() {
            Some("failed") => true,
            Some(_) => false,
            None => r.status.as_deref().is_some_and(|s| s.starts_with('5') || s.starts_with('4')),
        })
        .collect();
    let mut c = if failed.is_empty() {
        let delayed = statuses.iter().any(|r| r.action.as_deref() == Some("delayed"));
        Classified::new(if delayed { Kind::Delayed } else { Kind::Other }, "dsn")
    } else {
        let hard = failed
            .iter()
            .any(|r| dsn::severity(r.status.as_deref(), r.diagnostic.as_deref().unwrap_or("")) == Severity::Hard);
        Classified::new(if hard { Kind::HardBounce } else { Kind::SoftBounce }, "dsn")
    };
    let chosen: Vec<&dsn::RecipientStatus> = if failed.is_empty() { statuses.iter().collect() } else { failed };
    c.recipients = chosen.iter().filter_map(|r| r.recipient.clone()).collect();
    if c.recipients.is_empty() {
        c.recipients = to;
    }
    c.status = chosen.iter().find_map(|r| r.status.clone());
    c.diagnostic = chosen.iter().find_map(|r| r.diagnostic.clone());
    c.referenced = ids;
    if c.referenced.is_empty() {
        c.referenced = dsn::header_message_ids(&body_text(msg));
    }
    Some(c)
}

fn complaint(msg: &Message) -> Classified {
    let mut c = Classified::new(Kind::Complaint, "arf");
    let (ids, to) = returned(msg);
    for p in &msg.parts {
        let (t, s) = ctype(p);
        if t == "message" && s == "feedback-report" {
            for line in dsn::unfold(&part_text(p)) {
                let l = line.to_ascii_lowercase();
                if l.starts_with("original-rcpt-to:") || l.starts_with("removal-recipient:") {
                    c.recipients.extend(dsn::first_email(&line));
                } else if l.starts_with("feedback-type:") {
                    c.diagnostic = Some(line.split_once(':').map(|x| x.1.trim()).unwrap_or("").to_string());
                }
            }
        }
    }
    if c.recipients.is_empty() {
        c.recipients = to;
    }
    c.referenced = ids;
    c
}

/// Subjects of free-text reports (folded).
const BOUNCE_SUBJECTS: &[&str] = &[
    "undelivered mail",
    "undeliverable",
    "mail delivery failed",
    "delivery status notification",
    "delivery failure",
    "failure notice",
    "returned mail",
    "non remis",
    "non distribuable",
    "echec de la remise",
    "echec de remise",
    "message non delivre",
    "retour de message",
    "erreur de distribution",
    "mail delivery system",
];

fn looks_like_bounce(msg: &Message, from: &str, subject: &str) -> bool {
    let s = crate::text::fold(subject);
    dsn::is_daemon_address(from)
        || msg.header_raw("X-Failed-Recipients").is_some()
        || BOUNCE_SUBJECTS.iter().any(|b| s.contains(b))
}

fn free_text_bounce(msg: &Message, own: &[String]) -> Option<Classified> {
    let text = body_text(msg);
    let f = dsn::parse_free_text(&text, own);
    if f.style == "generic" && !dsn::reads_as_failure(dsn::before_original(&text)) {
        return None;
    }
    let mut recipients: Vec<String> =
        header(msg, "X-Failed-Recipients").map(|h| dsn::emails_in(&h)).unwrap_or_default();
    if recipients.is_empty() {
        recipients = f.recipients.clone();
    }
    let (mut ids, to) = returned(msg);
    if ids.is_empty() {
        ids = dsn::header_message_ids(&text);
    }
    if recipients.is_empty() {
        recipients = to;
    }
    if recipients.is_empty() && ids.is_empty() {
        return None;
    }
    let folded = crate::text::fold(dsn::before_original(&text));
    let still_trying = f.permanent == Some(false)
        && (folded.contains("will keep trying") || folded.contains("delayed") || folded.contains("retard"));
    let kind = if still_trying {
        Kind::Delayed
    } else {
        let sev = match (f.permanent, f.status.as_deref()) {
            (_, Some(st)) => dsn::severity(Some(st), &f.diagnostic),
            (Some(false), None) => Severity::Soft,
            _ => dsn::severity(None, &f.diagnostic),
        };
        if sev == Severity::Hard {
            Kind::HardBounce
        } else {
            Kind::SoftBounce
        }
    };
    let mut c = Classified::new(kind, f.style);
    c.recipients = recipients;
    c.status = f.status;
    c.diagnostic = Some(f.diagnostic).filter(|d| !d.is_empty());
    c.referenced = ids;
    Some(c)
}

/// Words of a subject, without "Re:", "Fwd:" and punctuation around.
fn subject_words(subject: &str) -> Vec<&str> {
    subject
        .split(|c: char| c.is_whitespace() || c == ':' || c == ',' || c == ';')
        .map(|w| w.trim_matches(|c: char| "<>[]()\"'.".contains(c)))
        .filter(|w| !w.is_empty())
        .collect()
}

/// `unsubscribe <token>` in a subject (the `List-Unsubscribe` mailto).
pub fn unsubscribe_token(subject: &str) -> Option<String> {
    let w = subject_words(subject);
    w.windows(2).find(|p| p[0].eq_ignore_ascii_case("unsubscribe") && is_token(p[1])).map(|p| p[1].to_string())
}

/// A satisfaction answer in a subject: `NPS <token> <score>`, or the subject of the survey's
/// own links (`Avis 9/10 [<token>]`, `nps::rules::reply_subject`), with a token shaped as ours
/// (the first such reading; whether the shop issued it is checked when it is recorded).
pub fn survey_answer(subject: &str) -> Option<(String, u8)> {
    let w = subject_words(subject);
    let plain = w.windows(3).find_map(|p| {
        if !p[0].eq_ignore_ascii_case("nps") || !is_token(p[1]) {
            return None;
        }
        let score = p[2].split('/').next()?.parse::<u8>().ok().filter(|s| *s <= 10)?;
        Some((p[1].to_string(), score))
    });
    plain.or_else(|| {
        crate::nps::rules::reply_subject_readings(subject)
            .into_iter()
            .find(|(_, token)| is_token(token))
            .map(|(score, token)| (token, score))
    })
}

/// Subjects of automatic replies (folded).
const AUTO_SUBJECTS: &[&str] = &[
    "absence",
    "absent",
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "auto:",
    "reponse automatique",
    "message automatique",
    "reponse en absence",
    "en conges",
    "on vacation",
    "away from",
    "abwesenheit",
];

/// Why a message is automatic (not written by a person), if it is.
pub fn automatic(msg: &Message, subject: &str) -> Option<&'static str> {
    let h = |n: &str| header(msg, n).map(|v| v.to_ascii_lowercase());
    if h("Auto-Submitted").is_some_and(|v| !v.starts_with("no")) {
        return Some("auto_submitted");
    }
    if h("X-Autoreply").is_some() || h("X-Autorespond").is_some() || h("X-Autogenerated").is_some() {
        return Some("auto_header");
    }
    if h("Precedence").is_some_and(|v| ["auto_reply", "bulk", "junk", "list"].contains(&v.as_str())) {
        return Some("precedence");
    }
    let s = crate::text::fold(subject);
    AUTO_SUBJECTS
        .iter()
        .any(|a| s.starts_with(a) || s.contains(&format!(": {a}")) || s.contains(a))
        .then_some("auto_subject")
}

/// The lines a person wrote: before the quoted message ("> …", "Le … a écrit :",
/// "On … wrote:", "-----Original Message-----").
fn own_lines(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in body.lines() {
        let t = line.trim();
        let f = crate::text::fold(t);
        if t.starts_with('>')
            || (f.starts_with("le ") && f.ends_with("a ecrit :"))
            || f.ends_with("a ecrit:")
            || (f.starts_with("on ") && f.ends_with("wrote:"))
            || f.contains("original message")
            || f.starts_with("de :")
            || f.starts_with("from:")
            || t == "--"
        {
            break;
        }
        if !t.is_empty() {
            out.push(t);
        }
    }
    out
}

/// A survey answer's comment: the lines the person wrote above the quoted message (30 at most:
/// a signature's disclaimer is not a comment), line breaks kept, up to the longest comment kept
/// (`nps::rules::MAX_COMMENT`).
fn comment_text(body: &str) -> Option<String> {
    let t: String = own_lines(body)
        .into_iter()
        .take(30)
        .collect::<Vec<_>>()
        .join("\n")
        .chars()
        .take(crate::nps::rules::MAX_COMMENT)
        .collect();
    (!t.is_empty()).then_some(t)
}

fn excerpt(body: &str) -> Option<String> {
    let text = own_lines(body).into_iter().take(8).collect::<Vec<_>>().join(" ");
    let t: String = text.chars().take(300).collect();
    (!t.is_empty()).then_some(t)
}

const STOP_PHRASES: &[&str] = &[
    "unsubscribe",
    "desabonnez",
    "desabonner",
    "desabonnement",
    "desinscrire",
    "desinscrivez",
    "desinscription",
    "ne plus recevoir",
    "ne souhaite plus recevoir",
    "ne veux plus recevoir",
    "retirez-moi",
    "retirez moi",
    "supprimez-moi",
    "supprimez moi",
    "remove me",
    "opt out",
    "opt-out",
];

/// A free-text request to stop receiving messages, in the subject or in the first lines the
/// person wrote (never in the quoted message, which holds the shop's own unsubscribe line).
pub fn asks_to_stop(subject: &str, body: &str) -> bool {
    let lines = own_lines(body);
    let first: Vec<&str> = lines.into_iter().take(5).collect();
    [crate::text::fold(subject), crate::text::fold(&first.join(" "))].iter().any(|t| {
        // The bare word when it opens the text or the text is short ("STOP, merci de ne plus
        // m'écrire", "Re: stop"): "can I stop by on Saturday?" is not a request.
        let words: Vec<&str> = t.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let bare = words.first() == Some(&"stop") || (words.len() <= 4 && words.contains(&"stop"));
        STOP_PHRASES.iter().any(|p| t.contains(p)) || bare
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_from_subjects_as_the_mail_apps_send_them() {
        let t = "k3m9xq2z7pw4rt8vbn6a";
        assert_eq!(unsubscribe_token(&format!("unsubscribe {t}")).as_deref(), Some(t), "the mailto subject");
        assert_eq!(unsubscribe_token(&format!("Re: Unsubscribe {t}")).as_deref(), Some(t), "with Re: and a capital");
        assert_eq!(unsubscribe_token("unsubscribe me please"), None, "no token, no automatic unsubscribe");
        assert_eq!(unsubscribe_token("unsubscribe test"), None, "the test send's placeholder is not a token");
        assert_eq!(survey_answer(&format!("NPS {t} 9")), Some((t.to_string(), 9)), "the satisfaction answer");
        assert_eq!(survey_answer(&format!("Re: nps {t} 10/10")), Some((t.to_string(), 10)));
        assert_eq!(survey_answer(&format!("NPS {t} 11")), None, "a score is 0 to 10");
        assert_eq!(
            survey_answer(&format!("RE: Avis 8/10 [EXTERNAL] [{t}]")),
            Some((t.to_string(), 8)),
            "a gateway's tag as long as a token is not the shop's token"
        );
        assert_eq!(survey_answer("NPS 9"), None, "without a token it is not an answer");
        for (score, word) in [(0, "Avis"), (7, "Opinion"), (10, "Avis")] {
            let subject = format!("RE: {}", crate::nps::rules::reply_subject(word, score, t));
            assert_eq!(
                survey_answer(&subject),
                Some((t.to_string(), score)),
                "the survey link's own subject: {subject}"
            );
        }
        assert_eq!(survey_answer("Avis 9/10 [notatoken]"), None, "only a token of ours makes an answer");
    }

    #[test]
    fn a_stop_request_is_read_only_in_what_the_person_wrote() {
        let cases = [
            ("Re: Les nouveautés", "STOP\n\nLe lun. 1 déc. 2025, Boulangerie a écrit :\n> Bonjour", true),
            ("Re: Les nouveautés", "Merci de me désabonner.\n", true),
            ("Désabonnez-moi", "", true),
            ("Re: Les nouveautés", "Je ne veux plus recevoir vos messages", true),
            ("Re: Les nouveautés", "Super, à samedi !\n\n> Pour ne plus recevoir nos messages : unsubscribe", false),
            ("Re: Les nouveautés", "On arrête pas le progrès, stopper net", false),
            ("Question", "Vous êtes ouverts dimanche ?", false),
            ("Re: Les nouveautés", "Stop merci", true),
            ("Samedi", "Je peux faire un stop chez vous samedi pour le gâteau ?", false),
            ("Can I stop by on Saturday?", "", false),
        ];
        for (subject, body, want) in cases {
            assert_eq!(asks_to_stop(subject, body), want, "{subject:?} / {body:?}");
        }
    }

    #[test]
    fn an_automatic_reply_is_never_a_bounce_nor_a_stop() {
        let raw = b"From: Julie <julie@example.org>\r\nTo: shop@example.com\r\nSubject: Absence du bureau\r\nAuto-Submitted: auto-replied\r\n\r\nJe suis absente, STOP, retour le 5.\r\n";
        let c = classify(raw, &[]);
        assert_eq!(c.kind, Kind::AutoReply, "Auto-Submitted: auto-replied is a vacation reply");
        let raw2 =
            b"From: Julie <julie@example.org>\r\nSubject: Out of Office: Nouveautes\r\n\r\nAway until Monday.\r\n";
        assert_eq!(classify(raw2, &[]).kind, Kind::AutoReply, "recognised by its subject too");
    }
}
