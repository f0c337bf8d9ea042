//! The automations and their occasions as stored: the enabled automations with their
//! settings, the shared sending rules, when the last check ran, and the one way an occasion
//! changes state (with its journal line). Used by the check, the sender's last check and the
//! screens.
//!
//! Invariants: an occasion never changes once sent; every change of state writes one
//! append-only journal line with its reason.

use super::calendar::{day_start, local_date};
use super::{AutomationConfig, AutomationKind, AutomationSettings, OccasionState};
use crate::error::Result;
use crate::storage::Tx;
use crate::types::CustomerId;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

/// An automation as the checker needs it.
#[derive(Debug, Clone)]
pub(crate) struct Active {
    pub id: i64,
    pub kind: AutomationKind,
    pub enabled: bool,
    pub config: AutomationConfig,
    pub campaign_id: i64,
    pub enabled_at: Option<DateTime<Utc>>,
    pub backlog_until: Option<DateTime<Utc>>,
    pub has_english: bool,
}

pub(crate) fn automations(conn: &Connection) -> Result<Vec<Active>> {
    let mut st = conn.prepare_cached(
        "SELECT a.id, a.kind, a.enabled, a.config, a.campaign_id, a.enabled_at, a.backlog_until,
                json_extract(c.content, '$.b') IS NOT NULL
         FROM automations a JOIN campaigns c ON c.id = a.campaign_id ORDER BY a.id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<DateTime<Utc>>>(5)?,
            r.get::<_, Option<DateTime<Utc>>>(6)?,
            r.get::<_, bool>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind, enabled, config, campaign_id, enabled_at, backlog_until, has_english) = row?;
        let Some(kind) = AutomationKind::parse(&kind) else { continue };
        // A damaged setting falls back to the defaults rather than stopping every automation.
        let config = serde_json::from_str(&config).unwrap_or_else(|e| {
            tracing::warn!(automation = id, error = %e, "an automation's settings cannot be read; defaults used");
            AutomationConfig::default()
        });
        out.push(Active { id, kind, enabled, config, campaign_id, enabled_at, backlog_until, has_english });
    }
    Ok(out)
}

impl Active {
    /// Occasions due from this instant on are "new": the start of the local day the
    /// automation was turned on (a birthday whose message is due today is sent today).
    pub(crate) fn new_from(&self, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
        self.enabled_at.map(|t| day_start(tz, local_date(tz, t)))
    }
}

pub(crate) fn settings(conn: &Connection) -> Result<AutomationSettings> {
    let v: Option<String> =
        conn.query_row("SELECT value FROM settings WHERE key = 'automations'", [], |r| r.get(0)).optional()?;
    Ok(v.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default())
}

pub(crate) fn last_check(conn: &Connection) -> Result<Option<DateTime<Utc>>> {
    let v: Option<String> = conn
        .query_row("SELECT value FROM settings WHERE key = 'automations.last_check'", [], |r| r.get(0))
        .optional()?;
    Ok(v.and_then(|v| DateTime::parse_from_rfc3339(&v).ok()).map(|t| t.with_timezone(&Utc)))
}

/// Write one line of the journal.
pub(crate) fn journal(
    tx: &Tx,
    occasion: i64,
    automation: i64,
    customer: CustomerId,
    state: OccasionState,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO automation_journal (occasion_id, automation_id, customer_id, at, state, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![occasion, automation, customer, at, state.code(), reason])?;
    Ok(())
}

/// Move an occasion to `state` with `reason` and journal it (nothing when it is already there
/// with that reason).
pub(crate) fn set_state(tx: &Tx, occasion: i64, state: OccasionState, reason: Option<&str>) -> Result<bool> {
    let row: Option<(i64, i64, String, Option<String>)> = tx
        .prepare_cached("SELECT automation_id, customer_id, state, reason FROM automation_occasions WHERE id = ?1")?
        .query_row([occasion], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((automation, customer, old, old_reason)) = row else { return Ok(false) };
    if old == state.code() && old_reason.as_deref() == reason {
        return Ok(false);
    }
    if old == OccasionState::Sent.code() {
        return Ok(false);
    }
    tx.prepare_cached("UPDATE automation_occasions SET state = ?1, reason = ?2, updated_at = ?3 WHERE id = ?4")?
        .execute(params![state.code(), reason, tx.now, occasion])?;
    if matches!(state, OccasionState::Queued | OccasionState::HeldOut) {
        tx.execute("UPDATE automation_occasions SET decided_at = ?1 WHERE id = ?2", params![tx.now, occasion])?;
    }
    journal(tx, occasion, automation, customer, state, reason, tx.now)?;
    Ok(true)
}
