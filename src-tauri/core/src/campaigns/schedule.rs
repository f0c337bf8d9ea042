//! The sender's scheduled work, between batches: quota pauses whose time is up resume,
//! campaigns waiting for a reading of the mailbox resume once there is a recent one, scheduled
//! campaigns whose time came start, and A/B tests whose wait is over get their winner.
//!
//! Invariants: the write lock is only taken when there is something to do; a scheduled
//! campaign that cannot start waits for the merchant with the reason (`missed_at`,
//! `pause_detail`); one campaign that cannot be read does not stop the others; a manual A/B
//! test waits for the merchant.

use crate::error::Result;
use crate::storage::Store;
use chrono::Duration;
use rusqlite::params;

/// Quota pauses that may resume, campaigns waiting for the mailbox, scheduled campaigns whose
/// time came while the app was open, A/B tests whose wait is over.
pub(super) fn tick(store: &mut Store) -> Result<()> {
    // A read first: the write lock is only taken when there is something to do.
    let due: bool = store.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM campaigns WHERE (state = 'paused' AND pause_reason = 'quota' AND resume_at <= ?1)
             OR (state = 'scheduled' AND scheduled_at <= ?1 AND missed_at IS NULL))",
        [store.now()],
        |r| r.get(0),
    )?;
    // Campaigns waiting for a reading of the mailbox go on once there is a recent one.
    let waiting: bool = store.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM campaigns WHERE state = 'paused' AND pause_reason = 'mailbox')",
        [],
        |r| r.get(0),
    )?;
    if waiting && crate::mailbox::freshness::check(store.conn(), store.now()).is_ok() {
        store.transact("campaign_mailbox_read", None, |tx| {
            tx.execute(
                "UPDATE campaigns SET state = 'running', pause_reason = NULL, pause_detail = NULL, resume_at = NULL, updated_at = ?1
                 WHERE state = 'paused' AND pause_reason = 'mailbox'",
                [tx.now],
            )?;
            Ok(())
        })?;
    }
    if due {
        start_due(store)?;
    }
    decide_ab(store)
}

fn start_due(store: &mut Store) -> Result<()> {
    let lang = store.settings().map(|s| s.language).unwrap_or_default();
    store.transact("campaign_tick", None, |tx| {
        tx.execute(
            "UPDATE campaigns SET state = 'running', pause_reason = NULL, pause_detail = NULL, resume_at = NULL, updated_at = ?1
             WHERE state = 'paused' AND pause_reason = 'quota' AND resume_at <= ?1",
            [tx.now],
        )?;
        let due: Vec<i64> = tx
            .prepare("SELECT id FROM campaigns WHERE state = 'scheduled' AND scheduled_at <= ?1 AND missed_at IS NULL")?
            .query_map([tx.now], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in due {
            if let Err(e) = super::store::start_tx(tx, id) {
                // It waits for the merchant, with the reason it could not leave.
                tracing::warn!(campaign = id, error = %e, "a scheduled campaign could not start");
                tx.execute(
                    "UPDATE campaigns SET missed_at = ?1, pause_detail = ?2 WHERE id = ?3",
                    params![tx.now, e.message(lang), id],
                )?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

fn decide_ab(store: &mut Store) -> Result<()> {
    let waiting: Vec<i64> = store
        .conn()
        .prepare("SELECT id FROM campaigns WHERE state = 'paused' AND pause_reason = 'ab_waiting'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in waiting {
        // One campaign that cannot be read must not stop the others.
        let c = match store.campaign(id) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(campaign = id, error = %e, "a campaign waiting for its A/B winner cannot be read");
                continue;
            }
        };
        let (Some(ab), Some(done)) = (c.audience.ab, c.sample_done_at) else { continue };
        if ab.metric == super::AbMetric::Manual || store.now() < done + Duration::days(i64::from(ab.wait_days)) {
            continue;
        }
        let r = store.campaign_results(id)?;
        if let (Some(a), Some(b)) = (r.variant_a, r.variant_b) {
            let winner = super::results::ab_winner(&a, &b, ab.metric);
            store.transact("campaign_winner_auto", None, |tx| {
                super::store::choose_winner_tx(tx, id, winner, "metric")
            })?;
        }
    }
    Ok(())
}
