//! Sending services that collect bounces themselves: their reports never reach the merchant's
//! mailbox, so they are read through the service's HTTP API with a key kept in the keychain.
//!
//! - Brevo: `GET /v3/smtp/statistics/events?event=hardBounces|softBounces|spam|unsubscribed`
//!   with the `api-key` header; answers `{"events": [{"email", "date", "messageId", "event",
//!   "reason", …}]}`.
//! - Mailjet: `GET /v3/REST/message?MessageStatus=10|9|6|7&ShowContactAlt=true&FromTS=…` with
//!   HTTP basic authentication (`key:secret`); answers `{"Count", "Data": [{"ID",
//!   "ArrivedAt", "ContactAlt", "Status", …}], "Total"}` (statuses: 10 hard bounce, 9 soft
//!   bounce, 6 spam, 7 unsubscribed).
//!
//! Each event becomes a `Classified` message and goes through the same `record` rules as the
//! mailbox's reports (matched by Message-ID, then by address).

use super::classify::{Classified, Kind};
use super::imap::ReadFailure;
use super::settings::ApiProvider;
use crate::campaigns::smtp::SmtpProblem;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::time::Duration;

/// One event the service reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// Unique per event, so an event is handled once.
    pub key: String,
    pub at: Option<DateTime<Utc>>,
    pub classified: Classified,
}

const PAGE: usize = 500;
/// At most this many pages per kind of event in one reading.
const MAX_PAGES: usize = 20;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).build().into()
}

fn failure(e: ureq::Error) -> ReadFailure {
    let detail = e.to_string();
    let problem = match &e {
        ureq::Error::StatusCode(401) | ureq::Error::StatusCode(403) => SmtpProblem::WrongPassword,
        ureq::Error::Timeout(_) => SmtpProblem::Timeout,
        ureq::Error::HostNotFound => SmtpProblem::HostNotFound,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => SmtpProblem::PortBlocked,
        _ => crate::campaigns::smtp::explain(None, &detail, false, false),
    };
    ReadFailure { problem, detail }
}

fn event(
    kind: Kind,
    email: &str,
    message_id: Option<&str>,
    reason: Option<&str>,
    at: Option<DateTime<Utc>>,
) -> Classified {
    let mut c = crate::mailbox::classify::classify(b"", &[]);
    c.kind = kind;
    c.why = "provider";
    c.recipients = vec![crate::text::normalize_email(email)];
    c.referenced = message_id.and_then(super::dsn::clean_message_id).into_iter().collect();
    c.diagnostic = reason.map(|r| r.chars().take(500).collect());
    c.status = reason.and_then(super::dsn::find_status);
    c.date = at;
    c.subject = String::new();
    c
}

#[derive(Deserialize)]
struct BrevoPage {
    #[serde(default)]
    events: Vec<BrevoEvent>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BrevoEvent {
    email: String,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    message_id: Option<String>,
    event: String,
    #[serde(default)]
    reason: Option<String>,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc))
}

/// Brevo's bounces, complaints and unsubscribes since `since`.
pub fn brevo(
    base: &str,
    key: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<ProviderEvent>, ReadFailure> {
    let agent = agent();
    let mut out = Vec::new();
    for (name, kind) in [
        ("hardBounces", Kind::HardBounce),
        ("softBounces", Kind::SoftBounce),
        ("spam", Kind::Complaint),
        ("unsubscribed", Kind::Unsubscribe),
    ] {
        for page in 0..MAX_PAGES {
            let url = format!(
                "{base}/v3/smtp/statistics/events?event={name}&limit={PAGE}&offset={}&startDate={}&endDate={}&sort=asc",
                page * PAGE,
                since.format("%Y-%m-%d"),
                now.format("%Y-%m-%d")
            );
            let body = agent
                .get(&url)
                .header("api-key", key)
                .header("accept", "application/json")
                .call()
                .map_err(failure)?
                .body_mut()
                .read_to_string()
                .map_err(failure)?;
            let p: BrevoPage = serde_json::from_str(&body)
                .map_err(|e| ReadFailure { problem: SmtpProblem::Other, detail: format!("Brevo answered: {e}") })?;
            let n = p.events.len();
            for e in p.events {
                let at = e.date.as_deref().and_then(parse_time);
                if at.is_some_and(|t| t < since) {
                    continue;
                }
                let key = format!(
                    "brevo:{}:{}:{}:{}",
                    e.event,
                    e.message_id.as_deref().unwrap_or(""),
                    e.email,
                    e.date.as_deref().unwrap_or("")
                );
                out.push(ProviderEvent {
                    key,
                    at,
                    classified: event(kind, &e.email, e.message_id.as_deref(), e.reason.as_deref(), at),
                });
            }
            if n < PAGE {
                break;
            }
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct MailjetPage {
    #[serde(rename = "Data", default)]
    data: Vec<MailjetMessage>,
}

#[derive(Deserialize)]
struct MailjetMessage {
    #[serde(rename = "ID")]
    id: i64,
    #[serde(rename = "ArrivedAt", default)]
    arrived_at: Option<String>,
    #[serde(rename = "ContactAlt", default)]
    contact_alt: Option<String>,
    #[serde(rename = "Status", default)]
    status: Option<String>,
}

/// Mailjet's bounces, complaints and unsubscribes since `since`. `key` is `apikey:secret`.
pub fn mailjet(base: &str, key: &str, since: DateTime<Utc>) -> Result<Vec<ProviderEvent>, ReadFailure> {
    use base64::Engine;
    let agent = agent();
    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(key.trim()));
    let mut out = Vec::new();
    for (status, kind) in [(10, Kind::HardBounce), (9, Kind::SoftBounce), (6, Kind::Complaint), (7, Kind::Unsubscribe)]
    {
        for page in 0..MAX_PAGES {
            let url = format!(
                "{base}/v3/REST/message?MessageStatus={status}&ShowContactAlt=true&FromTS={}&Limit={PAGE}&Offset={}",
                since.timestamp(),
                page * PAGE
            );
            let body = agent
                .get(&url)
                .header("Authorization", &auth)
                .call()
                .map_err(failure)?
                .body_mut()
                .read_to_string()
                .map_err(failure)?;
            let p: MailjetPage = serde_json::from_str(&body)
                .map_err(|e| ReadFailure { problem: SmtpProblem::Other, detail: format!("Mailjet answered: {e}") })?;
            let n = p.data.len();
            for m in p.data {
                let Some(email) = m.contact_alt.filter(|e| e.contains('@')) else { continue };
                let at = m.arrived_at.as_deref().and_then(parse_time);
                out.push(ProviderEvent {
                    key: format!("mailjet:{status}:{}", m.id),
                    at,
                    classified: event(kind, &email, None, m.status.as_deref(), at),
                });
            }
            if n < PAGE {
                break;
            }
        }
    }
    Ok(out)
}

/// Read the provider's events since `since`.
pub fn read(
    p: ApiProvider,
    base: &str,
    key: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<ProviderEvent>, ReadFailure> {
    let base = if base.is_empty() { p.default_url() } else { base };
    match p {
        ApiProvider::Brevo => brevo(base, key, since, now),
        ApiProvider::Mailjet => mailjet(base, key, since),
    }
}
