//! The 48-hour rule: a campaign does not start, resume or send its next batch (and a scheduled
//! one does not leave) through a real provider when the mailbox has not been read successfully
//! for more than 48 hours — otherwise it would mail addresses that bounced or asked to stop
//! since. Sending into the `.eml` outbox, or to a test server on this computer, needs no
//! reading; a real provider behind a bridge on this computer (Proton Mail Bridge) does.
//!
//! Invariants: every configured source (the IMAP mailbox, the sending service's API) must have
//! its own recent success — one working source does not vouch for another that carries other
//! news (unsubscribe replies only arrive by IMAP). A source's latest success is its latest in
//! append order, never the largest recorded time (a wrong clock cannot keep the rule quiet),
//! and a success dated in the future does not count.

use super::settings::MailboxSettings;
use crate::campaigns::mail::{is_loopback, Delivery, MailSettings};
use crate::error::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension};

pub const MAX_AGE_HOURS: i64 = 48;

/// A reading dated later than this after "now" is a wrong clock, not a reading.
const CLOCK_SLACK_MINUTES: i64 = 10;

/// Whether sending with these settings needs a recent reading of the mailbox.
pub fn reading_required(mail: &MailSettings) -> bool {
    if mail.delivery != Delivery::Smtp {
        return false;
    }
    if !is_loopback(&mail.smtp.host) {
        return true;
    }
    // A server on this computer is a test server, unless the sender's provider is reached
    // through a local bridge (Proton Mail Bridge): then real inboxes are at the other end.
    let domain = mail.sender_email.rsplit('@').next().unwrap_or("");
    crate::campaigns::deliverability::freemail::provider_of(domain).is_some_and(|p| p.owns_server(&mail.smtp.host))
}

/// Why sending must wait, if it must: the mailbox was never read, not for too long, or its
/// latest reading is dated in the future.
pub fn blocking(required: bool, last_ok: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Error> {
    if !required {
        return None;
    }
    match last_ok {
        None => Some(Error::conflict("conflict.mailbox_never_read")),
        Some(t) if t - now > Duration::minutes(CLOCK_SLACK_MINUTES) => Some(Error::conflict("conflict.mailbox_future")),
        Some(t) if now - t > Duration::hours(MAX_AGE_HOURS) => Some(Error::Conflict {
            key: "conflict.mailbox_stale",
            args: vec![("hours", ((now - t).num_hours()).to_string())],
        }),
        Some(_) => None,
    }
}

/// The sources the merchant set up: `imap`, and the API provider's code.
fn sources(m: &MailboxSettings) -> Vec<&'static str> {
    let mut out = Vec::new();
    if m.imap_enabled {
        out.push("imap");
    }
    if let Some(p) = m.api {
        out.push(p.code());
    }
    out
}

/// The latest successful reading of one source, in append order.
fn last_success_of(conn: &Connection, source: &str) -> Result<Option<DateTime<Utc>>> {
    Ok(conn
        .prepare_cached("SELECT finished_at FROM mailbox_runs WHERE ok = 1 AND source = ?1 ORDER BY id DESC LIMIT 1")?
        .query_row([source], |r| r.get(0))
        .optional()?)
}

/// The reading the rule goes by: the oldest of the configured sources' latest successes
/// (`None` when one of them, or every one, has never succeeded).
pub fn last_success(conn: &Connection) -> Result<Option<DateTime<Utc>>> {
    let m = mailbox_settings(conn)?;
    let sources = sources(&m);
    if sources.is_empty() {
        return Ok(None);
    }
    let mut oldest: Option<DateTime<Utc>> = None;
    for s in sources {
        match last_success_of(conn, s)? {
            None => return Ok(None),
            Some(t) => oldest = Some(oldest.map_or(t, |o| o.min(t))),
        }
    }
    Ok(oldest)
}

fn mail_settings(conn: &Connection) -> Result<MailSettings> {
    let raw: Option<String> =
        conn.query_row("SELECT value FROM settings WHERE key = 'mail'", [], |r| r.get(0)).optional()?;
    Ok(match raw {
        Some(json) => serde_json::from_str(&json)?,
        None => MailSettings::default(),
    })
}

fn mailbox_settings(conn: &Connection) -> Result<MailboxSettings> {
    let raw: Option<String> =
        conn.query_row("SELECT value FROM settings WHERE key = 'mailbox'", [], |r| r.get(0)).optional()?;
    Ok(match raw {
        Some(json) => serde_json::from_str(&json)?,
        None => MailboxSettings::default(),
    })
}

/// Refuse to send when the rule says so (where a campaign starts or resumes, and before the
/// sender claims each batch).
pub fn check(conn: &Connection, now: DateTime<Utc>) -> Result<()> {
    let required = reading_required(&mail_settings(conn)?);
    match blocking(required, if required { last_success(conn)? } else { None }, now) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sending_through_a_real_provider_needs_a_reading_of_less_than_48_hours() {
        let now: DateTime<Utc> = "2026-06-05T10:00:00Z".parse().unwrap();
        let h = |n| Some(now - Duration::hours(n));
        assert!(blocking(true, None, now).is_some(), "never read: blocked");
        assert!(blocking(true, h(47), now).is_none(), "47 hours: fine");
        assert!(blocking(true, h(48), now).is_none(), "48 hours exactly: fine");
        assert!(blocking(true, h(49), now).is_some(), "49 hours: blocked");
        assert!(blocking(true, h(-1), now).is_some(), "a reading dated an hour ahead is a wrong clock: blocked");
        assert!(blocking(true, Some(now + Duration::minutes(5)), now).is_none(), "a few minutes ahead is clock drift");
        assert!(blocking(false, None, now).is_none(), "the outbox or a local server needs no reading");
        let mut m = MailSettings::default();
        assert!(!reading_required(&m), "the .eml outbox");
        m.delivery = Delivery::Smtp;
        m.smtp.host = "127.0.0.1".into();
        assert!(!reading_required(&m), "a server on this computer");
        m.sender_email = "boutique@proton.me".into();
        assert!(reading_required(&m), "Proton Mail Bridge on this computer reaches real inboxes");
        m.smtp.host = "smtp.gmail.com".into();
        assert!(reading_required(&m), "a real provider");
    }
}
