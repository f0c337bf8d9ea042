//! The 48-hour rule: a campaign does not start (and a scheduled one does not leave) through a
//! real provider when the mailbox has not been read successfully for more than 48 hours —
//! otherwise it would mail addresses that bounced or asked to stop since. Sending into the
//! `.eml` outbox, or to a server on this computer, needs no reading.

use crate::campaigns::mail::{is_loopback, Delivery, MailSettings};
use crate::error::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension};

pub const MAX_AGE_HOURS: i64 = 48;

/// Whether sending with these settings needs a recent reading of the mailbox.
pub fn reading_required(mail: &MailSettings) -> bool {
    mail.delivery == Delivery::Smtp && !is_loopback(&mail.smtp.host)
}

/// Why sending must wait, if it must: the mailbox was never read, or not for too long.
pub fn blocking(required: bool, last_ok: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Error> {
    if !required {
        return None;
    }
    match last_ok {
        None => Some(Error::conflict("conflict.mailbox_never_read")),
        Some(t) if now - t > Duration::hours(MAX_AGE_HOURS) => Some(Error::Conflict {
            key: "conflict.mailbox_stale",
            args: vec![("hours", ((now - t).num_hours()).to_string())],
        }),
        Some(_) => None,
    }
}

/// The last successful reading.
pub fn last_success(conn: &Connection) -> Result<Option<DateTime<Utc>>> {
    Ok(conn.query_row("SELECT max(finished_at) FROM mailbox_runs WHERE ok = 1", [], |r| r.get(0)).optional()?.flatten())
}

fn mail_settings(conn: &Connection) -> Result<MailSettings> {
    let raw: Option<String> =
        conn.query_row("SELECT value FROM settings WHERE key = 'mail'", [], |r| r.get(0)).optional()?;
    Ok(match raw {
        Some(json) => serde_json::from_str(&json)?,
        None => MailSettings::default(),
    })
}

/// Refuse to start sending when the rule says so (called where a campaign starts).
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
        assert!(blocking(false, None, now).is_none(), "the outbox or a local server needs no reading");
        let mut m = MailSettings::default();
        assert!(!reading_required(&m), "the .eml outbox");
        m.delivery = Delivery::Smtp;
        m.smtp.host = "127.0.0.1".into();
        assert!(!reading_required(&m), "a server on this computer");
        m.smtp.host = "smtp.gmail.com".into();
        assert!(reading_required(&m), "a real provider");
    }
}
