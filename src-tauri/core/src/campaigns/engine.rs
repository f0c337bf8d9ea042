//! The sender. One at a time per database (an OS file lock next to it), it takes outbox rows
//! in small batches: each row is committed as `sending` before its SMTP transaction and as
//! `sent`/`failed`/`queued again` after it. After a crash the rows still `sending` are the
//! messages that were in flight: they are sent again (so duplicates are bounded by the batch)
//! and nobody is skipped; the campaign carries on from where it stopped.

use super::consent::Exclusion;
use super::limits::{backoff, Allowance, Failure, RateWindow};
use super::mail::SendLimits;
use super::message::build_message;
use super::render::{self, Compiled};
use super::smtp::{Outgoing, SendFailure, Transport};
use super::store::{load, set_paused};
use super::{segments, CampaignId, CampaignState, PauseReason, Variant};
use crate::error::Result;
use crate::storage::{Store, Tx};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A last check on one outbox row just before it leaves, beyond consent and the one message
/// per address. Automatic messages use it (a win-back whose customer came back, outside the
/// sending hours, past its window; the birthday voucher is given there, when the message
/// really leaves); campaigns have none. Given by the caller, so that this module knows
/// nothing of automations.
pub type Precheck = fn(&crate::storage::Tx, i64) -> Result<Verdict>;

/// What the last check says of an outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Not sent, with the reason.
    Skip(String),
    /// Not now: tried again from then (the sending hours begin).
    Defer(DateTime<Utc>),
}

/// Tunables (tests shorten the waits).
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub precheck: Option<Precheck>,
    pub backoff_base: Duration,
    /// Temporary failures before a recipient is marked failed.
    pub max_attempts: u32,
    /// Failures in a row that pause the campaign.
    pub pause_after_errors: u32,
    /// Most rows in flight at once.
    pub batch: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            precheck: None,
            backoff_base: Duration::seconds(60),
            max_attempts: 5,
            pause_after_errors: 10,
            batch: 32,
        }
    }
}

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

struct Claimed {
    row: i64,
    customer: i64,
    email: String,
    token: String,
    variant: Variant,
    attempts: u32,
    /// Personal fields fixed when the row was queued (automatic messages).
    fields: Option<String>,
}

/// The results of a batch that left but could not be recorded yet (the database busy, a full
/// disk). They are recorded before anything else happens, so that a delivered batch is never
/// taken for one in flight and sent again.
struct Unrecorded {
    cid: CampaignId,
    claimed: Vec<Claimed>,
    results: Vec<std::result::Result<String, SendFailure>>,
    at: DateTime<Utc>,
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
            self.start_due(store)?;
        }
        self.decide_ab(store)
    }

    fn start_due(&mut self, store: &mut Store) -> Result<()> {
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

    fn decide_ab(&mut self, store: &mut Store) -> Result<()> {
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
        let claimed = store
            .transact("campaign_claim", None, |tx| {
                // A pause or a cancel committed since the campaign was picked wins.
                let state: String = tx.query_row("SELECT state FROM campaigns WHERE id = ?1", [cid], |r| r.get(0))?;
                let precheck = self.opts.precheck;
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
                            variant: r
                                .get::<_, Option<String>>(4)?
                                .as_deref()
                                .and_then(Variant::parse)
                                .unwrap_or(Variant::A),
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
                                c.fields = tx.query_row(
                                    "SELECT fields FROM campaign_recipients WHERE id = ?1",
                                    [c.row],
                                    |r| r.get(0),
                                )?;
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
                    tx.execute(
                        "UPDATE campaign_recipients SET state = 'sending', attempts = attempts + 1 WHERE id = ?1",
                        [c.row],
                    )?;
                    out.push(Claimed { attempts: c.attempts + 1, email, ..c });
                }
                Ok(out
                    .into_iter()
                    .map(|c| (c.row, c.customer, c.email, c.token, c.variant.code().to_string(), c.attempts, c.fields))
                    .collect::<Vec<_>>())
            })?
            .value;
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
            let built =
                compiled.render(&personal, &identity.unsubscribe_url(&c.token)).map_err(|e| e.to_string()).and_then(
                    |r| build_message(&identity, compiled, &r, &personal.full_name, &c.email, &c.token, &message_id),
                );
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
        let cid = u.cid;
        let any_sent = u.results.iter().any(|r| r.is_ok());
        let (sent, failed) = store
            .transact("campaign_record", None, |tx| {
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
                            errors = 0;
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
                                    errors += 1;
                                }
                                Failure::Permanent => {
                                    tx.execute(
                                        "UPDATE campaign_recipients SET state = 'failed', last_error = ?1 WHERE id = ?2 AND state = 'sending'",
                                        params![detail, c.row],
                                    )?;
                                    failed += 1;
                                    errors += 1;
                                }
                                Failure::Temporary if c.attempts >= opts.max_attempts => {
                                    tx.execute(
                                        "UPDATE campaign_recipients SET state = 'failed', last_error = ?1 WHERE id = ?2 AND state = 'sending'",
                                        params![detail, c.row],
                                    )?;
                                    failed += 1;
                                    errors += 1;
                                }
                                Failure::Temporary => {
                                    let at = tx.now + backoff(c.attempts, opts.backoff_base);
                                    tx.execute(
                                        "UPDATE campaign_recipients SET state = 'queued', next_attempt_at = ?1, last_error = ?2 WHERE id = ?3 AND state = 'sending'",
                                        params![at, detail, c.row],
                                    )?;
                                    errors += 1;
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
                            if errors >= opts.pause_after_errors && pause.is_none() {
                                pause = Some((PauseReason::Errors, detail, None));
                            }
                        }
                    }
                }
                if let Some((reason, detail, resume)) = pause {
                    set_paused(tx, cid, reason, Some(&detail), resume)?;
                    errors = 0;
                }
                Ok((sent, failed))
            })?
            .value;
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

/// An outbox row that will not be sent, and why (a consent or suppression reason, or
/// `duplicate_address`).
fn skip(tx: &crate::storage::Tx, row: i64, reason: &str) -> Result<()> {
    tx.execute(
        "UPDATE campaign_recipients SET state = 'skipped', skip_reason = ?1 WHERE id = ?2",
        params![reason, row],
    )?;
    Ok(())
}
