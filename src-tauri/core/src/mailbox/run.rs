//! One reading: the mailbox over IMAP (each new message classified, handled and logged
//! together with the folder's new position, one transaction per message, so a reading cut
//! short resumes where it stopped), the tests waiting to be read back, and the sending
//! service's API when there is one. Every reading is recorded in `mailbox_runs`, successful
//! or not, with the reason of a failure.

use super::classify::classify;
use super::imap::{self, MailboxSink, Position, ReadFailure};
use super::record::{record_message, Origin};
use super::settings::{api_account, imap_account, MailboxSettings};
use crate::campaigns::secrets::Secrets;
use crate::campaigns::smtp::{Policy, SmtpProblem};
use crate::error::Result;
use crate::storage::{Store, Tx};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What one reading of one source did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RunReport {
    /// imap, brevo, mailjet
    pub source: String,
    pub ok: bool,
    /// Why it failed: a connection problem (wrong_password, app_password_needed,
    /// host_not_found, port_blocked, tls_mismatch, timeout, plain_text_remote, demo_file,
    /// other) or password_missing.
    pub problem: Option<String>,
    /// The server's own words.
    pub detail: String,
    pub fetched: i64,
    pub handled: i64,
    pub at: DateTime<Utc>,
}

pub fn problem_code(p: SmtpProblem) -> String {
    serde_json::to_value(p).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "other".into())
}

fn upsert_position(tx: &Tx, account: &str, folder: &str, pos: Position) -> Result<()> {
    tx.execute(
        "INSERT INTO mailbox_positions (account, folder, uidvalidity, last_uid, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (account, folder) DO UPDATE SET
           last_uid = CASE WHEN uidvalidity = excluded.uidvalidity THEN max(last_uid, excluded.last_uid) ELSE excluded.last_uid END,
           uidvalidity = excluded.uidvalidity, updated_at = excluded.updated_at",
        params![account, folder, pos.uidvalidity, pos.last_uid, tx.now],
    )?;
    Ok(())
}

/// The reading's view of the database.
pub struct StoreSink<'a> {
    pub store: &'a mut Store,
    pub account: String,
    /// The shop's own addresses (never a bounced recipient).
    pub own: Vec<String>,
}

impl MailboxSink for StoreSink<'_> {
    fn position(&mut self, folder: &str) -> Result<Option<Position>> {
        Ok(self
            .store
            .conn()
            .query_row(
                "SELECT uidvalidity, last_uid FROM mailbox_positions WHERE account = ?1 AND folder = ?2",
                params![self.account, folder],
                |r| Ok(Position { uidvalidity: r.get(0)?, last_uid: r.get(1)? }),
            )
            .optional()?)
    }

    fn start_at(&mut self, folder: &str, pos: Position) -> Result<()> {
        let account = self.account.clone();
        self.store.transact("mailbox_position", None, |tx| upsert_position(tx, &account, folder, pos))?;
        Ok(())
    }

    fn message(&mut self, folder: &str, uidvalidity: u32, uid: u32, raw: &[u8]) -> Result<bool> {
        let c = classify(raw, &self.own);
        let origin = Origin {
            key: format!("imap:{}/{}/{}/{}", self.account, folder, uidvalidity, uid),
            source: "imap",
            account: self.account.clone(),
            folder: Some(folder.to_string()),
            uid: Some(uid),
        };
        let account = self.account.clone();
        let out = self.store.transact("mailbox_message", None, |tx| {
            let d = record_message(tx, &origin, raw, &c, false)?;
            upsert_position(tx, &account, folder, Position { uidvalidity, last_uid: uid })?;
            Ok(d.map(|d| d.handled()))
        })?;
        Ok(out.value.unwrap_or(false))
    }

    fn moved(&mut self, folder: &str, uidvalidity: u32, uids: &[u32], to: &str) -> Result<()> {
        let account = self.account.clone();
        self.store.transact("mailbox_moved", None, |tx| {
            for uid in uids {
                tx.execute(
                    "UPDATE mailbox_messages SET moved_to = ?1 WHERE origin = ?2",
                    params![to, format!("imap:{account}/{folder}/{uidvalidity}/{uid}")],
                )?;
            }
            Ok(())
        })?;
        Ok(())
    }
}

fn record_run(store: &mut Store, started: DateTime<Utc>, r: &RunReport) -> Result<()> {
    store.transact("mailbox_run", None, |tx| {
        tx.execute(
            "INSERT INTO mailbox_runs (source, started_at, finished_at, ok, problem, detail, fetched, handled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![r.source, started, tx.now, r.ok, r.problem, r.detail.chars().take(500).collect::<String>(), r.fetched, r.handled],
        )?;
        tx.changes.settings = true;
        Ok(())
    })?;
    Ok(())
}

fn own_addresses(store: &Store, m: &MailboxSettings) -> Result<Vec<String>> {
    let mail = store.mail_settings()?;
    let mut own: Vec<String> = [mail.sender_email, mail.reply_to, m.imap.username.clone()]
        .iter()
        .map(|e| crate::text::normalize_email(e))
        .filter(|e| e.contains('@'))
        .collect();
    own.dedup();
    Ok(own)
}

/// Tests sent in the last three days whose copy was not found yet.
fn pending_tests(store: &Store) -> Result<Vec<(i64, String)>> {
    let since = store.now() - Duration::days(3);
    let mut st = store.conn().prepare(
        "SELECT t.id, t.message_id FROM campaign_tests t
         WHERE t.message_id IS NOT NULL AND t.at > ?1 AND t.outcome = 'sent'
           AND NOT EXISTS (SELECT 1 FROM mailbox_readbacks b WHERE b.test_id = t.id)
         ORDER BY t.id DESC LIMIT 5",
    )?;
    let rows = st.query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Read the mailbox over IMAP once (with the tests waiting to be read back).
pub fn read_imap(store: &mut Store, m: &MailboxSettings, password: &str, policy: Policy) -> Result<RunReport> {
    let started = store.now();
    let account = imap_account(&m.imap.username, &m.imap.host);
    let own = own_addresses(store, m)?;
    let tests = pending_tests(store)?;
    let rt = imap::runtime()?;
    let mut sink = StoreSink { store, account, own };
    let result: std::result::Result<(imap::ReadCounts, Vec<(i64, super::readback::Readback)>), ReadFailure> = rt
        .block_on(async {
            let mut session = imap::connect(&m.imap, password, policy).await?;
            let counts = imap::read_folders(&mut session, &m.imap, &mut sink, started).await?;
            let mut found = Vec::new();
            for (test_id, mid) in tests {
                if let Some((folder, junk, headers)) = imap::find_message(&mut session, &mid).await? {
                    found.push((test_id, super::readback::read_headers(&headers, &folder, junk)));
                }
            }
            let _ = session.logout().await;
            Ok((counts, found))
        });
    let store = sink.store;
    let report = match result {
        Ok((counts, found)) => {
            store.transact("mailbox_readbacks", None, |tx| {
                for (test_id, r) in &found {
                    tx.execute(
                        "INSERT OR IGNORE INTO mailbox_readbacks (test_id, folder, report, found_at) VALUES (?1, ?2, ?3, ?4)",
                        params![test_id, r.folder, serde_json::to_string(r)?, tx.now],
                    )?;
                }
                Ok(())
            })?;
            RunReport {
                source: "imap".into(),
                ok: true,
                problem: None,
                detail: String::new(),
                fetched: counts.fetched as i64,
                handled: counts.handled as i64,
                at: store.now(),
            }
        }
        Err(f) => failed("imap", f, store.now()),
    };
    record_run(store, started, &report)?;
    Ok(report)
}

fn failed(source: &str, f: ReadFailure, at: DateTime<Utc>) -> RunReport {
    tracing::warn!(source, detail = %f.detail, "mailbox reading failed");
    RunReport {
        source: source.into(),
        ok: false,
        problem: Some(problem_code(f.problem)),
        detail: f.detail,
        fetched: 0,
        handled: 0,
        at,
    }
}

/// Read the sending service's bounces through its API once.
pub fn read_api(store: &mut Store, m: &MailboxSettings, key: &str) -> Result<RunReport> {
    let Some(p) = m.api else {
        return Ok(RunReport {
            source: "api".into(),
            ok: true,
            problem: None,
            detail: String::new(),
            fetched: 0,
            handled: 0,
            at: store.now(),
        });
    };
    if store.settings()?.demo && !super::settings::api_on_this_computer(&m.api_url) {
        let r = failed(p.code(), ReadFailure { problem: SmtpProblem::DemoFile, detail: String::new() }, store.now());
        record_run(store, store.now(), &r)?;
        return Ok(r);
    }
    let started = store.now();
    let account = api_account(p);
    let last: Option<i64> = store
        .conn()
        .query_row("SELECT last_uid FROM mailbox_positions WHERE account = ?1 AND folder = 'events'", [&account], |r| {
            r.get(0)
        })
        .optional()?;
    // Events arrive at the service with some delay: read again the day before the last reading.
    let since = match last.and_then(|t| DateTime::from_timestamp(t, 0)) {
        Some(t) => t - Duration::days(1),
        None => started - Duration::days(imap::FIRST_READING_DAYS),
    };
    let report = match super::providers::read(p, &m.api_url, key, since, started) {
        Ok(events) => {
            let mut handled = 0;
            for e in &events {
                let origin =
                    Origin { key: e.key.clone(), source: p.code(), account: account.clone(), folder: None, uid: None };
                let raw = serde_json::to_vec(&(&e.key, &e.classified.recipients, &e.classified.diagnostic))?;
                let d = store.transact("mailbox_event", None, |tx| {
                    Ok(record_message(tx, &origin, &raw, &e.classified, false)?.map(|d| d.handled()))
                })?;
                if d.value == Some(true) {
                    handled += 1;
                }
            }
            store.transact("mailbox_position", None, |tx| {
                upsert_position(
                    tx,
                    &account,
                    "events",
                    Position { uidvalidity: 0, last_uid: started.timestamp().max(0) as u32 },
                )
            })?;
            RunReport {
                source: p.code().into(),
                ok: true,
                problem: None,
                detail: String::new(),
                fetched: events.len() as i64,
                handled,
                at: store.now(),
            }
        }
        Err(f) => failed(p.code(), f, store.now()),
    };
    record_run(store, started, &report)?;
    Ok(report)
}

/// Read every configured source once. A source without its password or key is a failed
/// reading that says so. Nothing configured: nothing read, nothing recorded.
pub fn read_now(store: &mut Store, secrets: &Secrets) -> Result<Vec<RunReport>> {
    let m = store.mailbox_settings()?;
    let policy = store.smtp_policy()?;
    let mut out = Vec::new();
    if m.imap_enabled {
        match secrets.get(&imap_account(&m.imap.username, &m.imap.host)) {
            Some((pw, _)) => out.push(read_imap(store, &m, &pw, policy)?),
            None => {
                let r = missing("imap", store.now());
                record_run(store, store.now(), &r)?;
                out.push(r);
            }
        }
    }
    if let Some(p) = m.api {
        match secrets.get(&api_account(p)) {
            Some((key, _)) => out.push(read_api(store, &m, &key)?),
            None => {
                let r = missing(p.code(), store.now());
                record_run(store, store.now(), &r)?;
                out.push(r);
            }
        }
    }
    Ok(out)
}

fn missing(source: &str, at: DateTime<Utc>) -> RunReport {
    RunReport {
        source: source.into(),
        ok: false,
        problem: Some("password_missing".into()),
        detail: String::new(),
        fetched: 0,
        handled: 0,
        at,
    }
}

/// Try the IMAP connection with the settings on screen (connect, encrypt, log in, open the
/// first folder), explained like the SMTP test.
pub fn test_imap(m: &MailboxSettings, password: &str, policy: Policy) -> crate::campaigns::smtp::ConnectionCheck {
    use crate::campaigns::smtp::ConnectionCheck;
    let rt = match imap::runtime() {
        Ok(rt) => rt,
        Err(e) => return ConnectionCheck { ok: false, problem: Some(SmtpProblem::Other), detail: e.to_string() },
    };
    let r: std::result::Result<(), ReadFailure> = rt.block_on(async {
        let mut s = imap::connect(&m.imap, password, policy).await?;
        let folder = m.imap.folders.first().cloned().unwrap_or_else(|| "INBOX".into());
        s.examine(imap::encode_folder(&folder))
            .await
            .map_err(|e| ReadFailure { problem: SmtpProblem::Other, detail: e.to_string() })?;
        let _ = s.logout().await;
        Ok(())
    });
    match r {
        Ok(()) => ConnectionCheck { ok: true, problem: None, detail: String::new() },
        Err(f) => ConnectionCheck { ok: false, problem: Some(f.problem), detail: f.detail },
    }
}
