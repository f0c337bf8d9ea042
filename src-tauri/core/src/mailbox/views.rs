//! What the "Retours" screen shows and does: the state of the readings (and whether sending
//! is held back by the 48-hour rule), the log of what came back with each raw report, the
//! STOP replies waiting for a one-click confirmation, and the tests read back.

use super::classify::Kind;
use super::freshness;
use super::readback::Readback;
use super::run::RunReport;
use crate::error::{Error, Result};
use crate::storage::Store;
use crate::types::{CustomerId, Outcome};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MailboxStatus {
    /// A mailbox or an API is set up to be read.
    pub configured: bool,
    /// The sending settings go through a real provider: a reading of less than 48 hours is
    /// needed before a campaign leaves.
    pub reading_required: bool,
    pub last_success: Option<DateTime<Utc>>,
    pub last_run: Option<RunReport>,
    /// Campaigns cannot start now because of the 48-hour rule.
    pub sending_blocked: bool,
    /// Hours since the last successful reading.
    pub hours_since: Option<i64>,
    pub pending_stops: i64,
    pub suppressed: i64,
}

/// One message of the log (its raw report is fetched apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MailboxEntry {
    pub id: i64,
    pub kind: Kind,
    /// suppressed, counted, applied, pending, recorded, ignored, already
    pub decision: String,
    pub reason: Option<String>,
    pub source: String,
    pub folder: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub email: Option<String>,
    pub customer_id: Option<CustomerId>,
    pub campaign_id: Option<i64>,
    pub matched_by: Option<String>,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
    pub has_raw: bool,
    pub raw_size: Option<i64>,
    pub moved_to: Option<String>,
    pub read_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StopRequest {
    pub id: i64,
    pub email: String,
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub excerpt: Option<String>,
    pub subject: Option<String>,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TestReadback {
    pub test_id: i64,
    pub campaign_id: i64,
    pub email: String,
    pub sent_at: DateTime<Utc>,
    /// Not found yet: `None`.
    pub found: Option<Readback>,
    pub found_at: Option<DateTime<Utc>>,
}

const ENTRY_COLUMNS: &str = "id, kind, decision, reason, source, folder, from_addr, subject, email_norm, customer_id,
    campaign_id, matched_by, status, diagnostic, raw IS NOT NULL, raw_size, moved_to, read_at";

fn entry(r: &rusqlite::Row) -> rusqlite::Result<MailboxEntry> {
    let kind: String = r.get(1)?;
    Ok(MailboxEntry {
        id: r.get(0)?,
        kind: Kind::parse(&kind).unwrap_or(Kind::Other),
        decision: r.get(2)?,
        reason: r.get(3)?,
        source: r.get(4)?,
        folder: r.get(5)?,
        from: r.get(6)?,
        subject: r.get(7)?,
        email: r.get(8)?,
        customer_id: r.get(9)?,
        campaign_id: r.get(10)?,
        matched_by: r.get(11)?,
        status: r.get(12)?,
        diagnostic: r.get(13)?,
        has_raw: r.get(14)?,
        raw_size: r.get(15)?,
        moved_to: r.get(16)?,
        read_at: r.get(17)?,
    })
}

impl Store {
    pub fn mailbox_status(&self) -> Result<MailboxStatus> {
        let m = self.mailbox_settings()?;
        let required = freshness::reading_required(&self.mail_settings()?);
        let last_success = freshness::last_success(self.conn())?;
        let last_run = self
            .conn()
            .query_row(
                "SELECT source, ok, problem, coalesce(detail, ''), fetched, handled, finished_at FROM mailbox_runs ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok(RunReport {
                        source: r.get(0)?,
                        ok: r.get(1)?,
                        problem: r.get(2)?,
                        detail: r.get(3)?,
                        fetched: r.get(4)?,
                        handled: r.get(5)?,
                        at: r.get(6)?,
                    })
                },
            )
            .optional()?;
        let now = self.now();
        let pending_stops: i64 =
            self.conn()
                .query_row("SELECT count(*) FROM mailbox_stop_requests WHERE state = 'pending'", [], |r| r.get(0))?;
        Ok(MailboxStatus {
            configured: m.imap_enabled || m.api.is_some(),
            reading_required: required,
            last_success,
            last_run,
            sending_blocked: freshness::blocking(required, last_success, now).is_some(),
            hours_since: last_success.map(|t| (now - t).num_hours()),
            pending_stops,
            suppressed: self.suppressions("", 0)?.total,
        })
    }

    /// The log, newest first; `kinds` empty for every kind; `before` pages back.
    pub fn mailbox_log(&self, kinds: &[Kind], before: Option<i64>, limit: usize) -> Result<Vec<MailboxEntry>> {
        let codes: Vec<&str> = kinds.iter().map(|k| k.code()).collect();
        let codes_json = serde_json::to_string(&codes)?;
        let mut st = self.conn().prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM mailbox_messages
             WHERE (?1 = '[]' OR kind IN (SELECT value FROM json_each(?1))) AND (?2 IS NULL OR id < ?2)
             ORDER BY id DESC LIMIT ?3"
        ))?;
        let rows = st
            .query_map(params![codes_json, before, limit.clamp(1, 200) as i64], entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The message as received, as text (shown inert, as text, by the screen).
    pub fn mailbox_raw(&self, id: i64) -> Result<String> {
        let raw: Option<Option<Vec<u8>>> =
            self.conn().query_row("SELECT raw FROM mailbox_messages WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        let raw = raw.ok_or_else(|| Error::not_found("mailbox_message", id))?;
        Ok(raw.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default())
    }

    pub fn stop_requests(&self) -> Result<Vec<StopRequest>> {
        let mut st = self.conn().prepare(
            "SELECT s.id, s.email_norm, s.customer_id,
                    nullif(trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')), ''),
                    s.excerpt, m.subject, m.read_at
             FROM mailbox_stop_requests s JOIN mailbox_messages m ON m.id = s.message_id
             LEFT JOIN customers c ON c.id = s.customer_id
             WHERE s.state = 'pending' ORDER BY s.id DESC LIMIT 200",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok(StopRequest {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    customer_id: r.get(2)?,
                    customer_name: r.get(3)?,
                    excerpt: r.get(4)?,
                    subject: r.get(5)?,
                    received_at: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The merchant confirms a STOP reply: consent withdrawn and the address suppressed.
    pub fn confirm_stop_request(&mut self, id: i64, key: Option<&str>) -> Result<Outcome<()>> {
        self.transact(("mailbox_stop_confirm", &id), key, |tx| {
            let row: Option<(String, String, Option<String>)> = tx
                .query_row(
                    "SELECT s.state, s.email_norm, s.excerpt FROM mailbox_stop_requests s WHERE s.id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (state, email, excerpt) = row.ok_or_else(|| Error::not_found("stop_request", id))?;
            if state != "pending" {
                return Err(Error::conflict("conflict.stop_request_decided"));
            }
            let wording = excerpt.unwrap_or_default();
            crate::campaigns::suppression::suppress(
                tx,
                &email,
                crate::campaigns::suppression::SuppressionReason::Unsubscribed,
                "reply",
                Some(&wording),
                None,
                None,
            )?;
            crate::campaigns::store::unsubscribe_lines(tx, std::slice::from_ref(&email))?;
            crate::campaigns::suppression::mark_customers_changed(tx, &email)?;
            tx.execute(
                "UPDATE mailbox_stop_requests SET state = 'confirmed', decided_at = ?1 WHERE id = ?2",
                params![tx.now, id],
            )?;
            Ok(())
        })
    }

    /// The merchant dismisses a reply that was not a request to stop.
    pub fn dismiss_stop_request(&mut self, id: i64, key: Option<&str>) -> Result<Outcome<()>> {
        self.transact(("mailbox_stop_dismiss", &id), key, |tx| {
            let n = tx.execute(
                "UPDATE mailbox_stop_requests SET state = 'dismissed', decided_at = ?1 WHERE id = ?2 AND state = 'pending'",
                params![tx.now, id],
            )?;
            if n == 0 {
                let exists: bool =
                    tx.query_row("SELECT EXISTS (SELECT 1 FROM mailbox_stop_requests WHERE id = ?1)", [id], |r| r.get(0))?;
                return Err(if exists {
                    Error::conflict("conflict.stop_request_decided")
                } else {
                    Error::not_found("stop_request", id)
                });
            }
            Ok(())
        })
    }

    /// The last tests sent, and what the receiving side saw of each once found.
    pub fn test_readbacks(&self, limit: usize) -> Result<Vec<TestReadback>> {
        let mut st = self.conn().prepare(
            "SELECT t.id, t.campaign_id, t.email, t.at, b.report, b.found_at
             FROM campaign_tests t LEFT JOIN mailbox_readbacks b ON b.test_id = t.id
             WHERE t.message_id IS NOT NULL ORDER BY t.id DESC LIMIT ?1",
        )?;
        let rows = st
            .query_map([limit.clamp(1, 50) as i64], |r| {
                let report: Option<String> = r.get(4)?;
                Ok(TestReadback {
                    test_id: r.get(0)?,
                    campaign_id: r.get(1)?,
                    email: r.get(2)?,
                    sent_at: r.get(3)?,
                    found: report.and_then(|j| serde_json::from_str(&j).ok()),
                    found_at: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
