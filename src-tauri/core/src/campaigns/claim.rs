//! Claiming a batch of outbox rows: the rows of a running campaign that may leave now are
//! committed as `sending`, one transaction, before any SMTP transaction starts.
//!
//! Invariants: a pause or a cancel committed since the campaign was picked wins (nothing is
//! claimed); consent, unsubscribes and the suppression list are read as they are now, and a
//! row that may no longer be sent is `skipped` with its reason; one message per address per
//! campaign and occasion; the address is the customer's current one; the precheck's verdict
//! is obeyed (skip, defer, or send with the values it fixed); a claimed row counts one attempt.

use super::consent::Exclusion;
use super::engine_options::{EngineOptions, Verdict};
use super::{segments, CampaignId, Variant};
use crate::error::Result;
use crate::storage::Tx;
use rusqlite::{params, OptionalExtension};

/// An outbox row claimed for sending, as it will be rendered and sent.
pub(super) struct Claimed {
    pub(super) row: i64,
    pub(super) customer: i64,
    pub(super) email: String,
    pub(super) token: String,
    pub(super) variant: Variant,
    pub(super) attempts: u32,
    /// Personal fields fixed when the row was queued (automatic messages).
    pub(super) fields: Option<String>,
}

/// Claim at most `n` rows of campaign `cid` that are due, as (row, customer, email, token,
/// variant, attempts, fields).
#[allow(clippy::type_complexity)]
pub(super) fn claim_batch(
    tx: &Tx,
    cid: CampaignId,
    n: usize,
    opts: &EngineOptions,
) -> Result<Vec<(i64, i64, String, String, String, u32, Option<String>)>> {
    // A pause or a cancel committed since the campaign was picked wins.
    let state: String = tx.query_row("SELECT state FROM campaigns WHERE id = ?1", [cid], |r| r.get(0))?;
    let precheck = opts.precheck;
    if state != "running" {
        return Ok(Vec::new());
    }
    let mut st = tx.prepare_cached(
        "SELECT id, customer_id, email, token, variant, attempts, fields FROM campaign_recipients
         WHERE campaign_id = ?1 AND state = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?2)
         ORDER BY id LIMIT ?3",
    )?;
    let rows: Vec<Claimed> = st
        .query_map(params![cid, tx.now, n as i64], |r| {
            Ok(Claimed {
                row: r.get(0)?,
                customer: r.get(1)?,
                email: r.get(2)?,
                token: r.get(3)?,
                variant: r.get::<_, Option<String>>(4)?.as_deref().and_then(Variant::parse).unwrap_or(Variant::A),
                attempts: r.get(5)?,
                fields: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    drop(st);
    let mut out = Vec::new();
    for c in rows {
        // Consent, unsubscribes and the suppression list, as they are now: what was
        // recorded since the start is honoured before the message leaves.
        if let Err(why) = segments::still_eligible(tx, c.customer, tx.now)? {
            skip(tx, c.row, why.code())?;
            continue;
        }
        // The address as it is now (corrected since the campaign started).
        let email: Option<String> =
            tx.query_row("SELECT email FROM customers WHERE id = ?1", [c.customer], |r| r.get(0))?;
        let email = email.unwrap_or(c.email.clone());
        let norm = crate::text::normalize_email(&email);
        // One message per address: another row of this campaign (and occasion) has it
        // (two records of one person, or an address corrected into another's).
        let other: Option<i64> = tx
            .query_row(
                "SELECT id FROM campaign_recipients WHERE campaign_id = ?1 AND email_norm = ?2 AND id <> ?3
                 AND occasion = (SELECT occasion FROM campaign_recipients WHERE id = ?3) LIMIT 1",
                params![cid, norm, c.row],
                |r| r.get(0),
            )
            .optional()?;
        if other.is_some() {
            skip(tx, c.row, Exclusion::DuplicateAddress.code())?;
            continue;
        }
        let mut c = c;
        if let Some(check) = precheck {
            match check(tx, c.row)? {
                Verdict::Send => {
                    // The check may have fixed the message's own values (a voucher).
                    c.fields =
                        tx.query_row("SELECT fields FROM campaign_recipients WHERE id = ?1", [c.row], |r| r.get(0))?;
                }
                Verdict::Skip(why) => {
                    skip(tx, c.row, &why)?;
                    continue;
                }
                Verdict::Defer(at) => {
                    tx.execute(
                        "UPDATE campaign_recipients SET next_attempt_at = ?1 WHERE id = ?2",
                        params![at, c.row],
                    )?;
                    continue;
                }
            }
        }
        if email != c.email {
            tx.execute(
                "UPDATE campaign_recipients SET email = ?1, email_norm = ?2 WHERE id = ?3",
                params![email, norm, c.row],
            )?;
        }
        tx.execute("UPDATE campaign_recipients SET state = 'sending', attempts = attempts + 1 WHERE id = ?1", [c.row])?;
        out.push(Claimed { attempts: c.attempts + 1, email, ..c });
    }
    Ok(out
        .into_iter()
        .map(|c| (c.row, c.customer, c.email, c.token, c.variant.code().to_string(), c.attempts, c.fields))
        .collect::<Vec<_>>())
}

/// An outbox row that will not be sent, and why (a consent or suppression reason, or
/// `duplicate_address`).
fn skip(tx: &crate::storage::Tx, row: i64, reason: &str) -> Result<()> {
    tx.execute(
        "UPDATE campaign_recipients SET state = 'skipped', skip_reason = ?1 WHERE id = ?2",
        params![reason, row],
    )?;
    Ok(())
}
