//! The suppression list: email addresses (normalised: trimmed, lower case) that must not
//! receive marketing, whatever the number of customer records carrying them and whatever
//! their consent records say — because the person unsubscribed, the address bounced, the
//! person complained (spam report), a list the merchant imported said "cleaned", the person was
//! erased, or the merchant suppressed it by hand.
//!
//! Invariants: the list is append-only (`suppressions` events, triggers refuse UPDATE and
//! DELETE); the latest event of an address, in append order (never by its recorded time, which
//! a wrong clock could falsify), is its state; lifting a suppression is an event of its own,
//! made by the merchant with a reason. Every campaign (when its outbox is built and again just
//! before each message leaves), every test send, automation and import asks `is_suppressed`.

use crate::error::{Error, Result};
use crate::storage::{Store, Tx};
use crate::text::{check_text, normalize_email};
use crate::types::{CustomerId, Outcome};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Why an address is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    Unsubscribed,
    HardBounce,
    /// Three soft bounces over at least two sendings.
    SoftBounce,
    /// A spam complaint (an ARF report from the provider).
    Complaint,
    /// Marked "cleaned" or "blocklisted" by the list the merchant imported.
    Cleaned,
    /// The person asked to be erased.
    Erased,
    /// Suppressed by the merchant by hand.
    Merchant,
}

impl SuppressionReason {
    pub fn code(self) -> &'static str {
        match self {
            SuppressionReason::Unsubscribed => "unsubscribed",
            SuppressionReason::HardBounce => "hard_bounce",
            SuppressionReason::SoftBounce => "soft_bounce",
            SuppressionReason::Complaint => "complaint",
            SuppressionReason::Cleaned => "cleaned",
            SuppressionReason::Erased => "erased",
            SuppressionReason::Merchant => "merchant",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            SuppressionReason::Unsubscribed,
            SuppressionReason::HardBounce,
            SuppressionReason::SoftBounce,
            SuppressionReason::Complaint,
            SuppressionReason::Cleaned,
            SuppressionReason::Erased,
            SuppressionReason::Merchant,
        ]
        .into_iter()
        .find(|r| r.code() == s)
    }
}

/// An address on the list now, with the event that put it there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Suppression {
    pub email: String,
    pub reason: SuppressionReason,
    /// Where it came from: token, list, reply, bounce, arf, import, merchant, provider, migration.
    pub source: String,
    pub detail: Option<String>,
    pub customer_id: Option<CustomerId>,
    pub campaign_id: Option<i64>,
    pub at: DateTime<Utc>,
}

/// The longest detail kept with an event (a bounce's diagnostic, a reply's subject).
const MAX_DETAIL: usize = 500;

/// SQL: the reason `{col}` is suppressed now, or NULL.
pub(crate) fn suppression_reason_sql(col: &str) -> String {
    format!(
        "(SELECT CASE s.action WHEN 'suppress' THEN s.reason END FROM suppressions s WHERE s.email_norm = {col} ORDER BY s.id DESC LIMIT 1)"
    )
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<(String, Suppression)> {
    let reason: String = r.get(2)?;
    Ok((
        r.get(1)?,
        Suppression {
            email: r.get(0)?,
            reason: SuppressionReason::parse(&reason).unwrap_or(SuppressionReason::Merchant),
            source: r.get(3)?,
            detail: r.get(4)?,
            customer_id: r.get(5)?,
            campaign_id: r.get(6)?,
            at: r.get(7)?,
        },
    ))
}

const COLUMNS: &str = "email_norm, action, reason, source, detail, customer_id, campaign_id, at";

/// The suppression of `email` in force, if any.
pub fn is_suppressed(conn: &Connection, email: &str) -> Result<Option<Suppression>> {
    let norm = normalize_email(email);
    if norm.is_empty() {
        return Ok(None);
    }
    let latest = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM suppressions WHERE email_norm = ?1 ORDER BY id DESC LIMIT 1"))?
        .query_row([&norm], from_row)
        .optional()?;
    Ok(latest.and_then(|(action, s)| (action == "suppress").then_some(s)))
}

/// Put `email` on the list (inside the caller's transaction). Returns true when the address
/// was not suppressed before. An address suppressed only as unsubscribed gets a stronger
/// reason appended (a bounce or a complaint after an unsubscribe is kept: the person's yes at
/// the counter lifts an unsubscribe, never a bounce); an address already suppressed for any
/// other reason keeps it (an unsubscribe that comes with a complaint does not hide the
/// complaint).
pub fn suppress(
    tx: &Tx,
    email: &str,
    reason: SuppressionReason,
    source: &str,
    detail: Option<&str>,
    customer: Option<CustomerId>,
    campaign: Option<i64>,
) -> Result<bool> {
    let norm = normalize_email(email);
    if norm.is_empty() {
        return Ok(false);
    }
    let current = is_suppressed(tx, &norm)?;
    if current.as_ref().is_some_and(|c| c.reason == reason || c.reason != SuppressionReason::Unsubscribed) {
        return Ok(false);
    }
    let detail: Option<String> = detail.map(|d| d.chars().take(MAX_DETAIL).collect());
    tx.execute(
        "INSERT INTO suppressions (email_norm, action, reason, source, detail, customer_id, campaign_id, at)
         VALUES (?1, 'suppress', ?2, ?3, ?4, ?5, ?6, ?7)",
        params![norm, reason.code(), source, detail, customer, campaign, tx.now],
    )?;
    Ok(current.is_none())
}

/// Whether every suppression of `norm` since it was last lifted is an unsubscribe — the only
/// reason the person's own word in the shop can undo (never a bounce, a complaint, an erasure
/// or the merchant's own suppression).
pub(crate) fn only_unsubscribed(conn: &Connection, norm: &str) -> Result<bool> {
    let other: i64 = conn.prepare_cached(
        "SELECT count(*) FROM suppressions WHERE email_norm = ?1 AND action = 'suppress' AND reason <> 'unsubscribed'
           AND id > coalesce((SELECT max(id) FROM suppressions WHERE email_norm = ?1 AND action = 'lift'), 0)",
    )?
    .query_row([norm], |r| r.get(0))?;
    Ok(other == 0)
}

/// One page of the list as it is now, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SuppressionPage {
    pub items: Vec<Suppression>,
    /// Total addresses suppressed now.
    pub total: i64,
}

impl Store {
    /// The addresses suppressed now (newest first), optionally those containing `query`.
    pub fn suppressions(&self, query: &str, limit: usize) -> Result<SuppressionPage> {
        let q = normalize_email(query);
        let pattern = format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let mut st = self.conn().prepare_cached(&format!(
            "SELECT {COLUMNS} FROM suppressions s
             WHERE s.id = (SELECT max(id) FROM suppressions x WHERE x.email_norm = s.email_norm)
               AND s.action = 'suppress' AND (?1 = '' OR s.email_norm LIKE ?2 ESCAPE '\\')
             ORDER BY s.id DESC LIMIT ?3"
        ))?;
        let items = st
            .query_map(params![q, pattern, limit.min(500) as i64], from_row)?
            .map(|r| r.map(|(_, s)| s))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let total: i64 = self.conn().query_row(
            "SELECT count(*) FROM suppressions s WHERE s.action = 'suppress'
               AND s.id = (SELECT max(id) FROM suppressions x WHERE x.email_norm = s.email_norm)",
            [],
            |r| r.get(0),
        )?;
        Ok(SuppressionPage { items, total })
    }

    /// Why a customer's address is suppressed, if it is (for the customer page).
    pub fn customer_suppression(&self, customer: CustomerId) -> Result<Option<Suppression>> {
        let email: Option<String> = self
            .conn()
            .query_row("SELECT email_norm FROM customers WHERE id = ?1", [customer], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::not_found("customer", customer))?;
        match email {
            Some(e) => is_suppressed(self.conn(), &e),
            None => Ok(None),
        }
    }

    /// Suppress an address by hand, with a reason.
    pub fn suppress_address(&mut self, email: &str, reason: &str, key: Option<&str>) -> Result<Outcome<bool>> {
        let norm = normalize_email(email);
        if !crate::customers::is_email(&norm) {
            return Err(Error::invalid("email", "field.email_invalid"));
        }
        let reason = check_text("reason", reason, MAX_DETAIL, true)?;
        self.transact(("suppression.add", &(&norm, &reason)), key, |tx| {
            let done = suppress(tx, &norm, SuppressionReason::Merchant, "merchant", reason.as_deref(), None, None)?;
            mark_customers_changed(tx, &norm)?;
            Ok(done)
        })
    }

    /// Lift the suppression of an address: the merchant says why (the person asked again in
    /// the shop, a bounce was the provider's mistake). The lifting is recorded; the history
    /// stays.
    pub fn lift_suppression(&mut self, email: &str, reason: &str, key: Option<&str>) -> Result<Outcome<()>> {
        let norm = normalize_email(email);
        let reason = check_text("reason", reason, MAX_DETAIL, true)?;
        self.transact(("suppression.lift", &(&norm, &reason)), key, |tx| {
            if is_suppressed(tx, &norm)?.is_none() {
                return Err(Error::conflict("conflict.not_suppressed"));
            }
            tx.execute(
                "INSERT INTO suppressions (email_norm, action, reason, source, detail, at) VALUES (?1, 'lift', 'merchant', 'merchant', ?2, ?3)",
                params![norm, reason, tx.now],
            )?;
            mark_customers_changed(tx, &norm)?;
            Ok(())
        })
    }
}

/// The customers holding `norm` changed (their pages show the suppression).
pub(crate) fn mark_customers_changed(tx: &mut Tx, norm: &str) -> Result<()> {
    let ids: Vec<CustomerId> = tx
        .prepare_cached("SELECT id FROM customers WHERE email_norm = ?1")?
        .query_map([norm], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in ids {
        tx.changes.customer(id);
    }
    Ok(())
}
