//! Recording what a batch did, once it left: each row `sent`, `failed`, or queued again for a
//! later try; the campaign paused when the provider's quota is reached, when it refuses the
//! sender or the message, or after too many errors in a row.
//!
//! Invariants: one transaction for the whole batch; a message that left is recorded as sent
//! even if the campaign was cancelled meanwhile; a temporary failure retries with backoff up to
//! `max_attempts`, a permanent one fails that recipient and is not retried; a quota, setup or
//! refusal problem is not the recipient's fault (the try is not counted, nobody fails), except
//! a row refused again while others passed, or refused again after the merchant resumed.

use super::claim::Claimed;
use super::engine_options::EngineOptions;
use super::limits::{backoff, Failure};
use super::smtp::SendFailure;
use super::store::set_paused;
use super::{CampaignId, PauseReason};
use crate::error::Result;
use crate::storage::Tx;
use chrono::{DateTime, Duration, Utc};
use rusqlite::params;

/// The results of a batch that left but could not be recorded yet (the database busy, a full
/// disk). They are recorded before anything else happens, so that a delivered batch is never
/// taken for one in flight and sent again.
pub(super) struct Unrecorded {
    pub(super) cid: CampaignId,
    pub(super) claimed: Vec<Claimed>,
    pub(super) results: Vec<std::result::Result<String, SendFailure>>,
    pub(super) at: DateTime<Utc>,
}

/// Record the results of `u`: (sent, failed). `errors` counts the failures in a row, across
/// batches (back to zero when a message leaves or the campaign pauses).
pub(super) fn record_batch(
    tx: &Tx,
    u: &Unrecorded,
    opts: &EngineOptions,
    any_sent: bool,
    errors: &mut u32,
) -> Result<(usize, usize)> {
    let cid = u.cid;
    let (mut sent, mut failed) = (0usize, 0usize);
    let mut pause: Option<(PauseReason, String, Option<DateTime<Utc>>)> = None;
    let rejections = |tx: &Tx, row: i64| -> Result<i64> {
        Ok(tx.query_row("SELECT rejections FROM campaign_recipients WHERE id = ?1", [row], |r| r.get(0))?)
    };
    // A refusal about the sender or the message pauses the campaign and fails
    // nobody. Two cases fail the refused rows instead: refused again while others
    // of the same batch passed (it is about them after all), and a batch made only
    // of rows refused before a pause, refused again after the merchant resumed
    // (without this, the last messages would pause the campaign forever).
    let mut refused_before_only = !any_sent;
    for (c, r) in u.claimed.iter().zip(&u.results) {
        if matches!(r, Err(f) if f.kind == Failure::Rejected) && rejections(tx, c.row)? == 0 {
            refused_before_only = false;
        }
    }
    for (c, r) in u.claimed.iter().zip(&u.results) {
        match r {
            Ok(mid) => {
                tx.execute(
                    // A message that left is recorded as sent even if the campaign was cancelled
                    // while it was in flight (its unsubscribe link must keep working).
                    "UPDATE campaign_recipients SET state = 'sent', sent_at = ?1, message_id = ?2, last_error = NULL WHERE id = ?3 AND state IN ('sending', 'cancelled')",
                    params![tx.now, mid, c.row],
                )?;
                sent += 1;
                *errors = 0;
            }
            Err(f) => {
                let detail: String = f.detail.chars().take(500).collect();
                let kind = match f.kind {
                    Failure::Rejected if refused_before_only => Failure::Permanent,
                    Failure::Rejected if any_sent && rejections(tx, c.row)? > 0 => Failure::Permanent,
                    k => k,
                };
                match kind {
                    Failure::Rejected if any_sent => {
                        // Others passed: this one is tried once more later, without
                        // pausing everyone.
                        let at = tx.now + backoff(c.attempts, opts.backoff_base);
                        tx.execute(
                            "UPDATE campaign_recipients SET state = 'queued', rejections = rejections + 1, next_attempt_at = ?1, last_error = ?2
                             WHERE id = ?3 AND state = 'sending'",
                            params![at, detail, c.row],
                        )?;
                        *errors += 1;
                    }
                    Failure::Permanent => {
                        tx.execute(
                            "UPDATE campaign_recipients SET state = 'failed', last_error = ?1 WHERE id = ?2 AND state = 'sending'",
                            params![detail, c.row],
                        )?;
                        failed += 1;
                        *errors += 1;
                    }
                    Failure::Temporary if c.attempts >= opts.max_attempts => {
                        tx.execute(
                            "UPDATE campaign_recipients SET state = 'failed', last_error = ?1 WHERE id = ?2 AND state = 'sending'",
                            params![detail, c.row],
                        )?;
                        failed += 1;
                        *errors += 1;
                    }
                    Failure::Temporary => {
                        let at = tx.now + backoff(c.attempts, opts.backoff_base);
                        tx.execute(
                            "UPDATE campaign_recipients SET state = 'queued', next_attempt_at = ?1, last_error = ?2 WHERE id = ?3 AND state = 'sending'",
                            params![at, detail, c.row],
                        )?;
                        *errors += 1;
                    }
                    Failure::Quota | Failure::Setup | Failure::Rejected => {
                        // Not the recipient's fault: back in the queue, the try not counted.
                        let resume = (kind == Failure::Quota).then(|| tx.now + Duration::hours(1));
                        tx.execute(
                            "UPDATE campaign_recipients SET state = 'queued', attempts = max(attempts - 1, 0), next_attempt_at = ?1, last_error = ?2,
                                rejections = rejections + (?4 = 'rejected')
                             WHERE id = ?3 AND state = 'sending'",
                            params![resume, detail, c.row, if kind == Failure::Rejected { "rejected" } else { "" }],
                        )?;
                        pause = Some(match (kind, resume) {
                            (_, Some(at)) => (PauseReason::Quota, detail.clone(), Some(at)),
                            (Failure::Rejected, None) => (PauseReason::Rejected, detail.clone(), None),
                            _ => (PauseReason::Errors, detail.clone(), None),
                        });
                    }
                }
                if *errors >= opts.pause_after_errors && pause.is_none() {
                    pause = Some((PauseReason::Errors, detail, None));
                }
            }
        }
    }
    if let Some((reason, detail, resume)) = pause {
        set_paused(tx, cid, reason, Some(&detail), resume)?;
        *errors = 0;
    }
    Ok((sent, failed))
}
