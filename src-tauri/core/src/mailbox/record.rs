//! What is done with a message once classified, inside the caller's transaction: matched to
//! the shop's message (by the Message-ID in the returned headers, then by the recipient
//! address), then — a hard bounce suppresses the address at once, a soft one after three over
//! at least two sendings, a complaint suppresses and withdraws consent, an unsubscribe reply
//! is applied, a free-text STOP waits for the merchant, a satisfaction answer goes to the
//! numbers' answers (`nps::record_email_answer`, the one place answers are kept), an
//! automatic reply changes nothing — and logged with its decision and reason, the raw message
//! kept for everything acted on.
//!
//! Invariants: a message is handled once (its origin is unique, and a Message-ID already
//! handled in the same account is not handled again after a UIDVALIDITY change); a report
//! about an address the shop never wrote to (the merchant's own mail) changes nothing.

use super::classify::{Classified, Kind};
use crate::campaigns::suppression::{self, SuppressionReason};
use crate::error::Result;
use crate::nps::rules::MAX_COMMENT;
use crate::nps::{record_email_answer, EmailAnswer};
use crate::storage::Tx;
use crate::text::normalize_email;
use rusqlite::{params, OptionalExtension};

/// The largest raw message kept (a bounce may carry the whole original with its images).
pub const MAX_RAW: usize = 1024 * 1024;

/// Soft bounces of an address, since the merchant last lifted its suppression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftHistory {
    pub bounces: usize,
    /// Distinct sendings (outbox rows, one per campaign and address) among them.
    pub sendings: usize,
}

/// The soft-bounce rule: three soft bounces over at least two different sendings.
pub fn soft_bounces_suppress(h: SoftHistory) -> bool {
    h.bounces >= 3 && h.sendings >= 2
}

/// Where a message was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Unique: imap:<account>/<folder>/<uidvalidity>/<uid>, or <provider>:<event key>.
    pub key: String,
    /// imap, brevo, mailjet
    pub source: &'static str,
    pub account: String,
    pub folder: Option<String>,
    pub uid: Option<u32>,
}

/// What was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub kind: Kind,
    /// suppressed, counted, applied, pending, recorded, ignored, already
    pub decision: &'static str,
    pub reason: Option<&'static str>,
}

impl Decision {
    /// Acted on: may be moved out of the inbox.
    pub fn handled(&self) -> bool {
        !matches!(self.kind, Kind::Other)
    }
}

#[derive(Debug, Clone, Default)]
struct Match {
    recipient_id: Option<i64>,
    campaign_id: Option<i64>,
    customer_id: Option<i64>,
    email: Option<String>,
    by: &'static str,
    test_send: bool,
}

fn id_forms(id: &str) -> (String, String) {
    let bare = id.trim().trim_matches(['<', '>']).to_string();
    let bracketed = format!("<{bare}>");
    (bare, bracketed)
}

fn test_send_of(tx: &Tx, ids: &[String]) -> Result<Option<i64>> {
    for id in ids {
        let (a, b) = id_forms(id);
        let t: Option<i64> = tx
            .prepare_cached("SELECT id FROM campaign_tests WHERE message_id IN (?1, ?2) ORDER BY id DESC LIMIT 1")?
            .query_row(params![a, b], |r| r.get(0))
            .optional()?;
        if t.is_some() {
            return Ok(t);
        }
    }
    Ok(None)
}

/// Match a report to the shop's message: by a Message-ID it carries, then by the address.
fn match_sending(tx: &Tx, c: &Classified) -> Result<Match> {
    for id in &c.referenced {
        let (a, b) = id_forms(id);
        let row: Option<(i64, i64, i64, Option<String>, String)> = tx
            .prepare_cached(
                "SELECT id, campaign_id, customer_id, email_norm, email FROM campaign_recipients WHERE message_id IN (?1, ?2) LIMIT 1",
            )?
            .query_row(params![a, b], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .optional()?;
        if let Some((rid, camp, cust, norm, email)) = row {
            return Ok(Match {
                recipient_id: Some(rid),
                campaign_id: Some(camp),
                customer_id: Some(cust),
                email: Some(norm.unwrap_or_else(|| normalize_email(&email))),
                by: "message_id",
                test_send: false,
            });
        }
    }
    if test_send_of(tx, &c.referenced)?.is_some() {
        return Ok(Match { test_send: true, by: "message_id", ..Default::default() });
    }
    for addr in &c.recipients {
        let norm = normalize_email(addr);
        let row: Option<(i64, i64, i64)> = tx
            .prepare_cached(
                "SELECT id, campaign_id, customer_id FROM campaign_recipients WHERE email_norm = ?1 AND state = 'sent' ORDER BY id DESC LIMIT 1",
            )?
            .query_row([&norm], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        if let Some((rid, camp, cust)) = row {
            return Ok(Match {
                recipient_id: Some(rid),
                campaign_id: Some(camp),
                customer_id: Some(cust),
                email: Some(norm),
                by: "address",
                test_send: false,
            });
        }
        if let Some(cust) = customer_by_address(tx, &norm)? {
            return Ok(Match { customer_id: Some(cust), email: Some(norm), by: "address", ..Default::default() });
        }
    }
    Ok(Match { by: "none", email: c.recipients.first().map(|e| normalize_email(e)), ..Default::default() })
}

fn customer_by_address(tx: &Tx, norm: &str) -> Result<Option<i64>> {
    Ok(tx
        .prepare_cached("SELECT id FROM customers WHERE email_norm = ?1 AND merged_into IS NULL ORDER BY id LIMIT 1")?
        .query_row([norm], |r| r.get(0))
        .optional()?)
}

fn by_token(tx: &Tx, token: &str) -> Result<Option<(i64, i64, i64, String)>> {
    Ok(tx
        .prepare_cached(
            "SELECT id, campaign_id, customer_id, coalesce(email_norm, lower(trim(email))) FROM campaign_recipients WHERE token = ?1",
        )?
        .query_row([token], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?)
}

fn soft_history(tx: &Tx, norm: &str) -> Result<SoftHistory> {
    let lifted: Option<chrono::DateTime<chrono::Utc>> = tx
        .prepare_cached("SELECT max(at) FROM suppressions WHERE email_norm = ?1 AND action = 'lift'")?
        .query_row([norm], |r| r.get(0))?;
    let (bounces, sendings): (i64, i64) = tx
        .prepare_cached(
            "SELECT count(*), count(DISTINCT recipient_id) FROM mailbox_messages
             WHERE email_norm = ?1 AND kind = 'soft_bounce' AND (?2 IS NULL OR read_at > ?2)",
        )?
        .query_row(params![norm, lifted], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(SoftHistory { bounces: bounces as usize, sendings: sendings as usize })
}

fn detail_of(c: &Classified) -> String {
    let mut d = String::new();
    if let Some(s) = &c.status {
        d.push_str(s);
    }
    if let Some(diag) = &c.diagnostic {
        if !d.is_empty() {
            d.push(' ');
        }
        d.push_str(diag);
    }
    d
}

/// What is written once the message is logged (it needs the log row's id).
type AfterLog = Box<dyn FnOnce(&mut Tx, i64) -> Result<()>>;

/// Handle one classified message: decide, act, log. `None` when it was already handled.
pub fn record_message(
    tx: &mut Tx,
    origin: &Origin,
    raw: &[u8],
    classified: &Classified,
    junk_folder: bool,
) -> Result<Option<Decision>> {
    let seen: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM mailbox_messages WHERE origin = ?1)")?
        .query_row([&origin.key], |r| r.get(0))?;
    if seen {
        return Ok(None);
    }
    // A message without a Message-ID is known again by its headers: a new UIDVALIDITY (the
    // mailbox rebuilt by the provider) must not make it count twice.
    let mut classified = std::borrow::Cow::Borrowed(classified);
    if classified.message_id.is_none() && origin.folder.is_some() {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len().min(64 * 1024));
        let hash = crate::storage::fnv1a64(&raw[..end]);
        classified.to_mut().message_id = Some(format!("<headers-{hash:016x}@comptoir.invalid>"));
    }
    if let Some(mid) = &classified.message_id {
        let again: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM mailbox_messages WHERE account = ?1 AND message_id = ?2 AND kind <> 'other')",
            )?
            .query_row(params![origin.account, mid], |r| r.get(0))?;
        if again {
            return Ok(None);
        }
    }
    let mut c = classified.into_owned();
    let mut m = Match::default();
    let mut after: Option<AfterLog> = None;
    // A test the merchant sent to themself, arrived.
    let test = match &c.message_id {
        Some(mid) => test_send_of(tx, std::slice::from_ref(mid))?,
        None => None,
    };
    let (decision, reason): (&'static str, Option<&'static str>) = if let Some(test_id) = test {
        c.kind = Kind::TestCopy;
        let report = super::readback::read_headers(raw, origin.folder.as_deref().unwrap_or(""), junk_folder);
        tx.execute(
            "INSERT OR IGNORE INTO mailbox_readbacks (test_id, folder, report, found_at) VALUES (?1, ?2, ?3, ?4)",
            params![test_id, report.folder, serde_json::to_string(&report)?, tx.now],
        )?;
        ("recorded", None)
    } else {
        match c.kind {
            Kind::HardBounce | Kind::SoftBounce | Kind::Complaint => {
                m = match_sending(tx, &c)?;
                let email = m.email.clone().filter(|_| m.by != "none");
                match (m.test_send, email) {
                    (true, _) => ("ignored", Some("test_send")),
                    (false, None) => ("ignored", Some("not_ours")),
                    // Anyone can write a "report" naming any address: from the mailbox, only a
                    // report that carries one of the shop's own Message-IDs (which hold an
                    // unguessable token) acts. One that names an address only is logged for the
                    // merchant to judge. The providers' APIs are authenticated: they may name
                    // the address alone.
                    (false, Some(_)) if m.by == "address" && origin.source == "imap" => {
                        ("ignored", Some("address_only"))
                    }
                    (false, Some(email)) => act_on_report(tx, &c, &m, &email)?,
                }
            }
            Kind::Delayed => ("ignored", Some("still_trying")),
            Kind::AutoReply => ("ignored", Some("automatic")),
            Kind::Unsubscribe if c.token.is_none() => {
                // A provider's unsubscribe event names the address.
                match c.recipients.first().map(|e| normalize_email(e)) {
                    None => ("ignored", Some("unknown_address")),
                    Some(email) => {
                        m = match_sending(tx, &c)?;
                        let report = crate::campaigns::store::unsubscribe_lines(tx, std::slice::from_ref(&email))?;
                        suppression::mark_customers_changed(tx, &email)?;
                        m.email = Some(email);
                        if report.recorded > 0 || report.addresses > 0 {
                            ("applied", None)
                        } else {
                            ("already", None)
                        }
                    }
                }
            }
            Kind::Unsubscribe => {
                let token = c.token.clone().unwrap_or_default();
                match by_token(tx, &token)? {
                    None => ("ignored", Some("unknown_token")),
                    Some((rid, camp, cust, email)) => {
                        m = Match {
                            recipient_id: Some(rid),
                            campaign_id: Some(camp),
                            customer_id: Some(cust),
                            email: Some(email),
                            by: "token",
                            test_send: false,
                        };
                        let report = crate::campaigns::store::unsubscribe_lines(tx, &[format!("unsubscribe {token}")])?;
                        if report.recorded > 0 {
                            ("applied", None)
                        } else {
                            ("already", None)
                        }
                    }
                }
            }
            Kind::Survey => {
                // One place for satisfaction answers, whatever way they came: the numbers'
                // `nps_answers` (the survey's token, its customer, the 90-day rule, the
                // follow-up of a low score). The log below keeps the message as read.
                let token = c.token.clone().unwrap_or_default();
                if let Some((rid, camp, cust, email)) = by_token(tx, &token)? {
                    m = Match {
                        recipient_id: Some(rid),
                        campaign_id: Some(camp),
                        customer_id: Some(cust),
                        email: Some(email),
                        by: "token",
                        test_send: false,
                    };
                } else if let Some(from) = &c.from {
                    m = Match {
                        customer_id: customer_by_address(tx, from)?,
                        email: Some(from.clone()),
                        by: "address",
                        ..Default::default()
                    };
                }
                let score = c.score.unwrap_or(0);
                let comment: String = c.excerpt.clone().unwrap_or_default().chars().take(MAX_COMMENT).collect();
                let from = c.from.clone().unwrap_or_default();
                match record_email_answer(tx, &token, score, &comment, &from, c.date)? {
                    EmailAnswer::Recorded { customer_id, .. } => {
                        // The survey's token names the customer (an invitation's or a message's).
                        m.customer_id = Some(customer_id);
                        m.by = "token";
                        ("recorded", None)
                    }
                    EmailAnswer::AlreadyAnswered => ("already", None),
                    EmailAnswer::TooSoon { .. } => ("ignored", Some("answered_recently")),
                    EmailAnswer::UnknownToken => ("ignored", Some("unknown_survey")),
                }
            }
            Kind::StopRequest => {
                let from = c.from.clone().unwrap_or_default();
                match customer_by_address(tx, &from)? {
                    None => ("ignored", Some("unknown_address")),
                    Some(cust) => {
                        m = Match {
                            customer_id: Some(cust),
                            email: Some(from.clone()),
                            by: "address",
                            ..Default::default()
                        };
                        if let Some(r) = by_reference(tx, &c.referenced)? {
                            m.recipient_id = Some(r.0);
                            m.campaign_id = Some(r.1);
                        }
                        if suppression::is_suppressed(tx, &from)?.is_some() {
                            ("already", None)
                        } else {
                            let excerpt = c.excerpt.clone();
                            after = Some(Box::new(move |tx: &mut Tx, row: i64| {
                                tx.execute(
                                    "INSERT INTO mailbox_stop_requests (message_id, email_norm, customer_id, excerpt, state) VALUES (?1, ?2, ?3, ?4, 'pending')",
                                    params![row, from, cust, excerpt],
                                )?;
                                Ok(())
                            }));
                            ("pending", None)
                        }
                    }
                }
            }
            Kind::TestCopy | Kind::Other => ("ignored", None),
        }
    };
    let keep_raw = c.kind != Kind::Other;
    let raw_kept: Option<&[u8]> = keep_raw.then(|| &raw[..raw.len().min(MAX_RAW)]);
    let (subject, from) = if c.kind == Kind::Other { (None, None) } else { (Some(c.subject.clone()), c.from.clone()) };
    tx.execute(
        "INSERT INTO mailbox_messages (origin, source, account, folder, uid, message_id, from_addr, subject, received_at, read_at,
            kind, decision, reason, email_norm, customer_id, campaign_id, recipient_id, matched_by, status, diagnostic, raw, raw_size)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
        params![
            origin.key,
            origin.source,
            origin.account,
            origin.folder,
            origin.uid,
            c.message_id,
            from,
            subject,
            c.date,
            tx.now,
            c.kind.code(),
            decision,
            reason,
            m.email,
            m.customer_id,
            m.campaign_id,
            m.recipient_id,
            Some(m.by).filter(|b| !b.is_empty()),
            c.status,
            c.diagnostic,
            raw_kept,
            raw.len() as i64
        ],
    )?;
    let row = tx.last_insert_rowid();
    if let Some(f) = after {
        f(tx, row)?;
    }
    // A soft bounce counts itself: the rule is checked once it is logged.
    let mut decision = decision;
    if c.kind == Kind::SoftBounce && decision == "counted" {
        if let Some(email) = &m.email {
            let h = soft_history(tx, email)?;
            if soft_bounces_suppress(h) {
                let detail = format!("{} soft bounces / {} sendings: {}", h.bounces, h.sendings, detail_of(&c));
                if suppression::suppress(
                    tx,
                    email,
                    SuppressionReason::SoftBounce,
                    "bounce",
                    Some(&detail),
                    m.customer_id,
                    m.campaign_id,
                )? {
                    suppression::mark_customers_changed(tx, email)?;
                    decision = "suppressed";
                }
            }
        }
    }
    Ok(Some(Decision { kind: c.kind, decision, reason }))
}

fn by_reference(tx: &Tx, ids: &[String]) -> Result<Option<(i64, i64)>> {
    for id in ids {
        let (a, b) = id_forms(id);
        let r: Option<(i64, i64)> = tx
            .prepare_cached("SELECT id, campaign_id FROM campaign_recipients WHERE message_id IN (?1, ?2) LIMIT 1")?
            .query_row(params![a, b], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if r.is_some() {
            return Ok(r);
        }
    }
    Ok(None)
}

/// A bounce or a complaint about one of the shop's addresses.
fn act_on_report(tx: &mut Tx, c: &Classified, m: &Match, email: &str) -> Result<(&'static str, Option<&'static str>)> {
    let detail = detail_of(c);
    let detail = (!detail.is_empty()).then_some(detail.as_str());
    match c.kind {
        Kind::HardBounce => {
            let done = suppression::suppress(
                tx,
                email,
                SuppressionReason::HardBounce,
                "bounce",
                detail,
                m.customer_id,
                m.campaign_id,
            )?;
            suppression::mark_customers_changed(tx, email)?;
            Ok(if done { ("suppressed", None) } else { ("already", None) })
        }
        Kind::SoftBounce => {
            if suppression::is_suppressed(tx, email)?.is_some() {
                return Ok(("already", None));
            }
            Ok(("counted", None))
        }
        _ => {
            let done = suppression::suppress(
                tx,
                email,
                SuppressionReason::Complaint,
                "arf",
                detail,
                m.customer_id,
                m.campaign_id,
            )?;
            // A complaint is also an unsubscribe: consent withdrawn for every record of it.
            let line = match m.recipient_id {
                Some(rid) => {
                    let token: String =
                        tx.query_row("SELECT token FROM campaign_recipients WHERE id = ?1", [rid], |r| r.get(0))?;
                    format!("unsubscribe {token}")
                }
                None => email.to_string(),
            };
            crate::campaigns::store::unsubscribe_lines(tx, &[line])?;
            suppression::mark_customers_changed(tx, email)?;
            Ok(if done { ("suppressed", None) } else { ("already", None) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_bounces_suppress_after_three_over_two_sendings() {
        let cases = [
            (SoftHistory { bounces: 2, sendings: 2 }, false, "two are not enough"),
            (SoftHistory { bounces: 3, sendings: 1 }, false, "three from one sending are one problem"),
            (SoftHistory { bounces: 3, sendings: 2 }, true, "three over two sendings"),
            (SoftHistory { bounces: 5, sendings: 4 }, true, "more"),
        ];
        for (h, want, why) in cases {
            assert_eq!(soft_bounces_suppress(h), want, "{why}");
        }
    }
}
