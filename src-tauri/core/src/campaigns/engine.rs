//! The sender. One at a time per database (an OS file lock next to it), it takes outbox rows
//! in small batches: each row is committed as `sending` before its SMTP transaction and as
//! `sent`/`failed`/`queued again` after it. After a crash the rows still `sending` are the
//! messages that were in flight: they are sent again (so duplicates are bounded by the batch)
//! and nobody is skipped; the campaign carries on from where it stopped.
//!
//! The parts, each using only those before it: `engine_options` (tunables, the precheck and
//! its verdict), `claim` (claiming a batch), `record` (recording what it did: retries and
//! pauses), `schedule` (quota resumes, scheduled starts, A/B winners); this module picks the
//! campaign, renders and sends each batch, and settles a campaign with nothing left to claim.

use super::claim::{claim_batch, Claimed};
use super::limits::{Allowance, Failure, RateWindow};
use super::mail::SendLimits;
use super::message::build_message;
use super::record::{record_batch, Unrecorded};
use super::render::{self, Compiled};
use super::smtp::{Outgoing, SendFailure, Transport};
use super::store::{load, set_paused};
use super::{schedule, CampaignId, CampaignState, PauseReason, Variant};
use crate::error::Result;
use crate::storage::Store;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use super::engine_options::{EngineOptions, Precheck, Verdict};

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// No campaign is running.
    Idle,
    Sent {
        campaign: CampaignId,
        sent: usize,
        failed: usize,
    },
    /// Nothing may leave before this time (limits or retries).
    Wait(DateTime<Utc>),
    /// The campaign changed state (finished, paused for A/B, quota or errors).
    Changed(CampaignId),
}

pub struct Engine {
    pub opts: EngineOptions,
    window: Option<RateWindow>,
    consecutive_errors: u32,
    compiled: HashMap<(CampaignId, Variant), Compiled>,
    /// When each campaign's content was last saved, as compiled.
    compiled_at: HashMap<CampaignId, DateTime<Utc>>,
    unrecorded: Option<Unrecorded>,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Engine {
        Engine {
            opts,
            window: None,
            consecutive_errors: 0,
            compiled: HashMap::new(),
            compiled_at: HashMap::new(),
            unrecorded: None,
        }
    }

    fn window(&mut self, store: &Store) -> Result<&mut RateWindow> {
        if self.window.is_none() {
            let since = store.now() - Duration::hours(24);
            let mut st = store
                .conn()
                .prepare("SELECT sent_at FROM campaign_recipients WHERE sent_at > ?1 UNION ALL SELECT at FROM campaign_tests WHERE at > ?1")?;
            let times =
                st.query_map([since], |r| r.get::<_, DateTime<Utc>>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            self.window = Some(RateWindow::from_history(times));
        }
        Ok(self.window.as_mut().expect("set above"))
    }

    /// Scheduled work: quota pauses that may resume, scheduled campaigns whose time came while
    /// the app was open, A/B tests whose wait is over.
    pub fn tick(&mut self, store: &mut Store) -> Result<()> {
        self.record_unrecorded(store)?;
        schedule::tick(store)
    }

    /// One batch of a running campaign: the oldest started that has messages ready to leave
    /// (so one waiting on a retry does not hold the others back), else the oldest running.
    pub fn step(&mut self, store: &mut Store, transport: &dyn Transport, limits: &SendLimits) -> Result<Step> {
        self.step_for(store, None, transport, limits)
    }

    /// One batch of campaign `only` (or of any running campaign).
    pub fn step_for(
        &mut self,
        store: &mut Store,
        only: Option<CampaignId>,
        transport: &dyn Transport,
        limits: &SendLimits,
    ) -> Result<Step> {
        // Results of a delivered batch come first: until they are recorded, nothing is
        // claimed and no row is taken for one in flight.
        if let Err(e) = self.record_unrecorded(store) {
            tracing::warn!(error = %e, "the results of a sent batch are not recorded yet; retrying");
            return Ok(Step::Wait(store.now() + Duration::seconds(1)));
        }
        let now = store.now();
        let pick = |ready: bool| -> Result<Option<i64>> {
            let sql = format!(
                "SELECT c.id FROM campaigns c WHERE c.state = 'running' AND (?1 IS NULL OR c.id = ?1) {}
                 -- an automation's outbox never finishes: it is picked only with messages ready
                 ORDER BY c.started_at, c.id LIMIT 1",
                if ready {
                    "AND EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.state IN ('queued', 'sending')
                         AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= ?2))"
                } else {
                    "AND ?2 IS NOT NULL AND c.kind = 'campaign'"
                }
            );
            Ok(store.conn().query_row(&sql, params![only, now], |r| r.get(0)).optional()?)
        };
        let Some(cid) = (match pick(true)? {
            Some(c) => Some(c),
            None => pick(false)?,
        }) else {
            return Ok(Step::Idle);
        };
        // This sender holds the lock and works one batch at a time: a row still `sending` now
        // was in flight when a previous sender (or batch) stopped. It goes again.
        store.transact("campaign_recover", None, |tx| {
            tx.execute(
                "UPDATE campaign_recipients SET state = 'queued' WHERE campaign_id = ?1 AND state = 'sending'",
                [cid],
            )?;
            Ok(())
        })?;
        let now = store.now();
        // The 48-hour rule before every batch, not only at the start: a resumed campaign, an
        // A/B winner sent days later or a campaign running when the app was closed waits for
        // a recent reading of the mailbox too.
        if let Err(e) = crate::mailbox::freshness::check(store.conn(), now) {
            let lang = store.settings().map(|s| s.language).unwrap_or_default();
            let detail = e.message(lang);
            store.transact("campaign_pause_mailbox", None, |tx| {
                set_paused(tx, cid, PauseReason::Mailbox, Some(&detail), None)
            })?;
            return Ok(Step::Changed(cid));
        }
        let allowed = match self.window(store)?.allowance(limits, now) {
            Allowance::Now(n) => n as usize,
            Allowance::Wait(at) => return Ok(Step::Wait(at)),
            Allowance::DayQuota(at) => {
                store.transact("campaign_pause_quota", None, |tx| {
                    set_paused(tx, cid, PauseReason::Quota, None, Some(at))
                })?;
                return Ok(Step::Changed(cid));
            }
        };
        // At most two messages per connection in flight: an unsubscribe or a pause recorded
        // meanwhile waits at most one such batch.
        let n = allowed.min(self.opts.batch).min(2 * limits.connections.max(1) as usize).max(1);
        // 1. Claim: committed as `sending` before any SMTP transaction.
        let claimed = store.transact("campaign_claim", None, |tx| claim_batch(tx, cid, n, &self.opts))?.value;
        let claimed: Vec<Claimed> = claimed
            .into_iter()
            .map(|(row, customer, email, token, variant, attempts, fields)| Claimed {
                row,
                customer,
                email,
                token,
                variant: Variant::parse(&variant).unwrap_or(Variant::A),
                attempts,
                fields,
            })
            .collect();
        if claimed.is_empty() {
            return self.settle(store, cid);
        }
        // 2. Render and build each message. If that fails (an image deleted, a settings
        // problem), the claimed rows go back to the queue and the campaign pauses with why.
        let prepared = self.prepare(store, cid, &claimed, now);
        let outgoing = match prepared {
            Ok(o) => o,
            Err(e) => {
                let lang = store.settings().map(|s| s.language).unwrap_or_default();
                let detail = e.message(lang);
                store.transact("campaign_prepare_failed", None, |tx| {
                    tx.execute(
                        "UPDATE campaign_recipients SET state = 'queued', attempts = max(attempts - 1, 0) WHERE campaign_id = ?1 AND state = 'sending'",
                        [cid],
                    )?;
                    set_paused(tx, cid, PauseReason::Errors, Some(&detail), None)
                })?;
                self.compiled.retain(|(c, _), _| *c != cid);
                return Ok(Step::Changed(cid));
            }
        };
        self.send_and_record(store, cid, claimed, outgoing, transport, limits, now)
    }

    #[allow(clippy::type_complexity)]
    fn prepare(
        &mut self,
        store: &Store,
        cid: CampaignId,
        claimed: &[Claimed],
        now: DateTime<Utc>,
    ) -> Result<Vec<std::result::Result<(Outgoing, String), SendFailure>>> {
        let identity = store.mail_identity()?;
        let campaign = load(store.conn(), cid)?;
        let mut outgoing: Vec<std::result::Result<(Outgoing, String), SendFailure>> = Vec::new();
        for c in claimed {
            let key = (cid, c.variant);
            // An automatic message edited while its outbox runs is compiled again.
            if self.compiled_at.get(&cid) != Some(&campaign.updated_at) {
                self.compiled.retain(|(k, _), _| *k != cid);
                self.compiled_at.insert(cid, campaign.updated_at);
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = self.compiled.entry(key) {
                let msg = match (c.variant, &campaign.content.b) {
                    (Variant::B, Some(b)) => b,
                    _ => &campaign.content.a,
                };
                slot.insert(render::compile(msg, &identity, render::images_of(store.conn(), msg)?)?);
            }
            let compiled = &self.compiled[&key];
            let mut personal = render::personal(store.conn(), &identity, c.customer, now)?;
            if let Some(f) = c.fields.as_deref().and_then(|f| serde_json::from_str(f).ok()) {
                personal.apply_fields(&f);
            }
            let message_id = format!("<c{}.{}@{}>", cid, c.token, super::mail::domain_of(&identity.mail.sender_email));
            let built = compiled
                .render(&personal, &identity.unsubscribe_url(&c.token), &c.token)
                .map_err(|e| e.to_string())
                .and_then(|r| {
                    build_message(&identity, compiled, &r, &personal.full_name, &c.email, &c.token, &message_id)
                });
            outgoing.push(match built {
                Ok(m) => Ok((
                    Outgoing {
                        envelope: m.envelope().clone(),
                        bytes: m.formatted(),
                        file_stem: format!("campaign-{cid}-{}", c.row),
                    },
                    message_id,
                )),
                Err(detail) => Err(SendFailure { kind: Failure::Permanent, code: None, detail }),
            });
        }
        Ok(outgoing)
    }

    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn send_and_record(
        &mut self,
        store: &mut Store,
        cid: CampaignId,
        claimed: Vec<Claimed>,
        outgoing: Vec<std::result::Result<(Outgoing, String), SendFailure>>,
        transport: &dyn Transport,
        limits: &SendLimits,
        now: DateTime<Utc>,
    ) -> Result<Step> {
        // 3. Send, several connections at once.
        let results: Vec<std::sync::Mutex<Option<std::result::Result<String, SendFailure>>>> =
            (0..outgoing.len()).map(|_| std::sync::Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let workers = (limits.connections.max(1) as usize).min(outgoing.len());
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(o) = outgoing.get(i) else { break };
                    let r = match o {
                        Ok((m, mid)) => transport.send(m).map(|_| mid.clone()),
                        Err(f) => Err(f.clone()),
                    };
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                });
            }
        });
        // 4. Record each result. Until that succeeds, the results are kept and retried before
        // anything else (a busy database or a full disk must not make a delivered batch look
        // like one in flight, which the next step would send again).
        let results: Vec<_> = results
            .into_iter()
            .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()).expect("every message was tried"))
            .collect();
        self.unrecorded = Some(Unrecorded { cid, claimed, results, at: now });
        let (sent, failed) = self.record_unrecorded(store)?.unwrap_or_default();
        Ok(Step::Sent { campaign: cid, sent, failed })
    }

    /// Record the results of the last batch if they are not yet: (sent, failed), or `None`
    /// when there was nothing to record. On error the results stay, to be recorded next time.
    fn record_unrecorded(&mut self, store: &mut Store) -> Result<Option<(usize, usize)>> {
        let Some(u) = self.unrecorded.as_ref() else { return Ok(None) };
        let opts = self.opts.clone();
        let mut errors = self.consecutive_errors;
        let any_sent = u.results.iter().any(|r| r.is_ok());
        let (sent, failed) =
            store.transact("campaign_record", None, |tx| record_batch(tx, u, &opts, any_sent, &mut errors))?.value;
        let at = u.at;
        self.unrecorded = None;
        self.consecutive_errors = errors;
        self.window(store)?.record(at, sent);
        Ok(Some((sent, failed)))
    }

    /// Nothing to claim now: wait for retries, pause for the A/B winner, or finish.
    fn settle(&mut self, store: &mut Store, cid: CampaignId) -> Result<Step> {
        let conn = store.conn();
        let next_retry: Option<DateTime<Utc>> = conn.query_row(
            "SELECT min(next_attempt_at) FROM campaign_recipients WHERE campaign_id = ?1 AND state IN ('queued', 'sending')",
            [cid],
            |r| r.get(0),
        )?;
        if let Some(at) = next_retry {
            return Ok(Step::Wait(at));
        }
        let unsettled: i64 = conn.query_row(
            "SELECT count(*) FROM campaign_recipients WHERE campaign_id = ?1 AND state IN ('queued', 'sending')",
            [cid],
            |r| r.get(0),
        )?;
        if unsettled > 0 {
            // Rows just requeued: the next step takes them.
            return Ok(Step::Wait(store.now()));
        }
        let held: i64 = conn.query_row(
            "SELECT count(*) FROM campaign_recipients WHERE campaign_id = ?1 AND state = 'held'",
            [cid],
            |r| r.get(0),
        )?;
        store.transact("campaign_settle", None, |tx| {
            if held > 0 {
                tx.execute(
                    "UPDATE campaigns SET sample_done_at = coalesce(sample_done_at, ?1) WHERE id = ?2",
                    params![tx.now, cid],
                )?;
                set_paused(tx, cid, PauseReason::AbWaiting, None, None)
            } else {
                tx.execute(
                    "UPDATE campaigns SET state = 'finished', finished_at = ?1, updated_at = ?1 WHERE id = ?2 AND state = 'running' AND kind = 'campaign'",
                    params![tx.now, cid],
                )?;
                Ok(())
            }
        })?;
        self.compiled.retain(|(c, _), _| *c != cid);
        Ok(Step::Changed(cid))
    }

    /// Send until the campaign is no longer running (finished, paused, cancelled), sleeping
    /// through rate-limit and retry waits. For `comptoir-cli` and the tests.
    pub fn run_campaign(
        &mut self,
        store: &mut Store,
        cid: CampaignId,
        transport: &dyn Transport,
        limits: &SendLimits,
    ) -> Result<CampaignState> {
        loop {
            // Never give up while the results of a batch that left are not recorded: returning
            // would lose them, and the next sender would send that batch again.
            let step = self.tick(store).and_then(|_| {
                let c = load(store.conn(), cid)?;
                if c.state != CampaignState::Running {
                    return Ok(None);
                }
                self.step_for(store, Some(cid), transport, limits).map(Some)
            });
            let step = match step {
                Err(e) if self.unrecorded.is_some() => {
                    tracing::warn!(error = %e, "the results of a sent batch are not recorded yet; retrying");
                    std::thread::sleep(std::time::Duration::from_millis(500));
                    continue;
                }
                Err(e) => return Err(e),
                Ok(None) => return Ok(load(store.conn(), cid)?.state),
                Ok(Some(step)) => step,
            };
            match step {
                Step::Wait(at) => {
                    let wait = (at - store.now()).to_std().unwrap_or_default().min(std::time::Duration::from_secs(5));
                    std::thread::sleep(wait.max(std::time::Duration::from_millis(5)));
                }
                Step::Idle => return Ok(load(store.conn(), cid)?.state),
                _ => {}
            }
        }
    }
}
