//! Campaigns in the database: writing, reading, the lifecycle (draft → scheduled → running →
//! paused → finished / cancelled), starting one (its outbox built in the same transaction),
//! the preview.
//!
//! Split by concept: `outbox` (building it, message tokens), `unsubscribes`, `media`; this
//! module keeps writing and reading campaigns and their lifecycle.
//!
//! Invariants: every change goes through `Store::transact`; a campaign changes state only from
//! the states that allow it (`conflict.campaign_state` otherwise); an automation's outbox is not
//! a campaign the campaign screens may edit or drive; nothing leaves before `launch_gate` and
//! the 48-hour mailbox rule pass.

use super::outbox::materialise;
use super::render::{self, Identity};
use super::segments;
use super::*;
use crate::error::{Error, FieldError, Problems, Result};
use crate::storage::{Store, Tx};
use crate::types::Outcome;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

pub use super::outbox::new_token;
pub(crate) use super::outbox::TOKEN_ALPHABET;
pub(crate) use super::unsubscribes::unsubscribe_lines;

const MAX_NAME: usize = 120;

/// The campaign as it is stored: its name cleaned like every name (`text::clean`: no hidden
/// character, white space collapsed) and each message's subject (`cleaned_message`).
pub fn cleaned_input(input: &CampaignInput) -> CampaignInput {
    let content = CampaignContent {
        a: render::cleaned_message(&input.content.a),
        b: input.content.b.as_ref().map(render::cleaned_message),
    };
    CampaignInput { name: crate::text::clean(&input.name).unwrap_or_default(), content, ..input.clone() }
}

pub fn validate_input(input: &CampaignInput) -> Result<()> {
    let mut p = Problems::default();
    let name = input.name.trim();
    if name.is_empty() {
        p.add("name", "field.required");
    } else if name.chars().count() > MAX_NAME {
        p.push(FieldError::new("name", "field.too_long").arg("max", MAX_NAME));
    }
    let a = &input.audience;
    if a.control_percent > 50 {
        p.push(FieldError::new("control_percent", "field.between").arg("min", 0).arg("max", 50));
    }
    if !(1..=90).contains(&a.results_days) {
        p.push(FieldError::new("results_days", "field.between").arg("min", 1).arg("max", 90));
    }
    if let Some(ab) = &a.ab {
        if !(2..=100).contains(&ab.sample_percent) {
            p.push(FieldError::new("ab.sample_percent", "field.between").arg("min", 2).arg("max", 100));
        }
        if !(1..=30).contains(&ab.wait_days) {
            p.push(FieldError::new("ab.wait_days", "field.between").arg("min", 1).arg("max", 30));
        }
        if input.content.b.is_none() {
            p.add("content.b", "campaign.ab_needs_b");
        }
        // Who was asked must be known when the campaign starts (the 90 days): with two versions
        // and a winner chosen later, it is not.
        if input.content.asks_survey() {
            p.add("ab", "campaign.survey_no_ab");
        }
    }
    p.into_result()?;
    render::validate_message(&input.content.a)?;
    if let Some(b) = &input.content.b {
        render::validate_message(b)?;
    }
    segments::validate(&a.filter)
}

fn progress(conn: &Connection, id: CampaignId) -> Result<Progress> {
    let mut st =
        conn.prepare_cached("SELECT state, count(*) FROM campaign_recipients WHERE campaign_id = ?1 GROUP BY state")?;
    let mut p = Progress::default();
    let rows = st.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (state, n) = row?;
        match state.as_str() {
            "sent" => p.sent += n,
            "queued" | "sending" | "held" => p.waiting += n,
            "failed" => p.failed += n,
            "skipped" | "cancelled" => p.skipped += n,
            "control" => p.control += n,
            _ => {}
        }
    }
    p.total = p.sent + p.waiting + p.failed + p.skipped;
    Ok(p)
}

const COLUMNS: &str =
    "id, name, state, content, audience, scheduled_at, missed_at, pause_reason, pause_detail, resume_at,
    started_at, sample_done_at, ab_winner, finished_at, created_at, updated_at";

fn campaign_from_row(r: &rusqlite::Row) -> rusqlite::Result<(Campaign, String, String)> {
    let state: String = r.get(2)?;
    let reason: Option<String> = r.get(7)?;
    let winner: Option<String> = r.get(12)?;
    Ok((
        Campaign {
            id: r.get(0)?,
            name: r.get(1)?,
            state: CampaignState::parse(&state).unwrap_or(CampaignState::Draft),
            content: CampaignContent::default(),
            audience: Audience::default(),
            scheduled_at: r.get(5)?,
            missed: r.get::<_, Option<DateTime<Utc>>>(6)?.is_some(),
            pause_reason: reason.as_deref().and_then(PauseReason::parse),
            pause_detail: r.get(8)?,
            resume_at: r.get(9)?,
            started_at: r.get(10)?,
            sample_done_at: r.get(11)?,
            ab_winner: winner.as_deref().and_then(Variant::parse),
            finished_at: r.get(13)?,
            created_at: r.get(14)?,
            updated_at: r.get(15)?,
            progress: Progress::default(),
            tests: Vec::new(),
        },
        r.get(3)?,
        r.get(4)?,
    ))
}

pub(crate) fn load(conn: &Connection, id: CampaignId) -> Result<Campaign> {
    let row = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM campaigns WHERE id = ?1"))?
        .query_row([id], campaign_from_row)
        .optional()?;
    let (mut c, content, audience) = row.ok_or_else(|| Error::not_found("campaign", id))?;
    c.content = serde_json::from_str(&content)?;
    c.audience = serde_json::from_str(&audience)?;
    c.progress = progress(conn, id)?;
    let mut st = conn.prepare_cached(
        "SELECT email, at, outcome FROM campaign_tests WHERE campaign_id = ?1 ORDER BY id DESC LIMIT 5",
    )?;
    c.tests = st
        .query_map([id], |r| Ok(TestSend { email: r.get(0)?, at: r.get(1)?, outcome: r.get(2)? }))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(c)
}

fn state_of(tx: &Tx, id: CampaignId) -> Result<CampaignState> {
    // An automation's outbox is driven by its automation only: not a campaign to edit, pause,
    // resume, cancel or start from the campaign screens.
    let s: Option<String> = tx
        .query_row("SELECT state FROM campaigns WHERE id = ?1 AND kind = 'campaign'", [id], |r| r.get(0))
        .optional()?;
    let s = s.ok_or_else(|| Error::not_found("campaign", id))?;
    Ok(CampaignState::parse(&s).unwrap_or(CampaignState::Draft))
}

fn not_now(state: CampaignState) -> Error {
    Error::Conflict { key: "conflict.campaign_state", args: vec![("state", state.code().to_string())] }
}

pub(crate) fn set_paused(
    tx: &Tx,
    id: CampaignId,
    reason: PauseReason,
    detail: Option<&str>,
    resume_at: Option<DateTime<Utc>>,
) -> Result<()> {
    tx.execute(
        "UPDATE campaigns SET state = 'paused', pause_reason = ?1, pause_detail = ?2, resume_at = ?3, updated_at = ?4 WHERE id = ?5 AND state = 'running'",
        params![reason.code(), detail, resume_at, tx.now, id],
    )?;
    Ok(())
}

impl Store {
    /// The sender's identity and the shop's money conventions.
    pub fn mail_identity(&self) -> Result<Identity> {
        let s = self.settings()?;
        Ok(Identity { mail: self.mail_settings()?, currency: s.currency, locale: s.locale })
    }

    pub fn campaigns(&self) -> Result<Vec<CampaignSummary>> {
        let mut st = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM campaigns WHERE kind = 'campaign' ORDER BY created_at DESC, id DESC"
        ))?;
        let rows: Vec<(Campaign, String, String)> =
            st.query_map([], campaign_from_row)?.collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for (c, content, audience) in rows {
            // One damaged campaign must not hide the others.
            let parsed = serde_json::from_str::<CampaignContent>(&content)
                .ok()
                .filter(|_| serde_json::from_str::<Audience>(&audience).is_ok());
            if parsed.is_none() {
                tracing::warn!(campaign = c.id, "a campaign's saved content cannot be read");
            }
            out.push(CampaignSummary {
                id: c.id,
                name: c.name,
                unreadable: parsed.is_none(),
                subject: parsed.map(|p| p.a.subject).unwrap_or_default(),
                state: c.state,
                scheduled_at: c.scheduled_at,
                missed: c.missed,
                pause_reason: c.pause_reason,
                pause_detail: c.pause_detail,
                started_at: c.started_at,
                finished_at: c.finished_at,
                progress: progress(self.conn(), c.id)?,
            });
        }
        Ok(out)
    }

    pub fn campaign(&self, id: CampaignId) -> Result<Campaign> {
        load(self.conn(), id)
    }

    /// Check that a message compiles with the current identity (unknown personal fields).
    fn check_renders(&self, content: &CampaignContent) -> Result<()> {
        let id = self.mail_identity()?;
        render::compile(&content.a, &id, render::images_of(self.conn(), &content.a)?)?;
        if let Some(b) = &content.b {
            render::compile(b, &id, render::images_of(self.conn(), b)?)?;
        }
        Ok(())
    }

    pub fn create_campaign(&mut self, raw: &CampaignInput, key: Option<&str>) -> Result<Outcome<Campaign>> {
        // The key's fingerprint is of what the window sent; what is written is cleaned.
        let input = &cleaned_input(raw);
        validate_input(input)?;
        self.check_renders(&input.content)?;
        let out = self.transact(("campaign_create", raw), key, |tx| {
            tx.execute(
                "INSERT INTO campaigns (name, content, audience, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![
                    input.name.trim(),
                    serde_json::to_string(&input.content)?,
                    serde_json::to_string(&input.audience)?,
                    tx.now
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        Ok(Outcome { value: self.campaign(out.value)?, changes: out.changes, replayed: out.replayed })
    }

    pub fn update_campaign(
        &mut self,
        id: CampaignId,
        raw: &CampaignInput,
        key: Option<&str>,
    ) -> Result<Outcome<Campaign>> {
        let input = &cleaned_input(raw);
        validate_input(input)?;
        self.check_renders(&input.content)?;
        let out = self.transact(("campaign_update", &(id, raw)), key, |tx| {
            let state = state_of(tx, id)?;
            if !state.editable() {
                return Err(not_now(state));
            }
            tx.execute(
                "UPDATE campaigns SET name = ?1, content = ?2, audience = ?3, updated_at = ?4 WHERE id = ?5",
                params![
                    input.name.trim(),
                    serde_json::to_string(&input.content)?,
                    serde_json::to_string(&input.audience)?,
                    tx.now,
                    id
                ],
            )?;
            Ok(id)
        })?;
        Ok(Outcome { value: self.campaign(out.value)?, changes: out.changes, replayed: out.replayed })
    }

    /// Send at a date and time (in the future). The sender starts it when the time comes; if
    /// the app was closed then, it waits for the merchant's confirmation.
    pub fn schedule_campaign(
        &mut self,
        id: CampaignId,
        at: DateTime<Utc>,
        key: Option<&str>,
    ) -> Result<Outcome<Campaign>> {
        crate::types::check_date("scheduled_at", at)?;
        self.mail_settings_for_sending()?;
        if at <= self.now() {
            return Err(Error::invalid("scheduled_at", "campaign.schedule_in_past"));
        }
        launch_gate(self.conn(), &self.campaign(id)?.content)?;
        self.transact(("campaign_schedule", &(id, at)), key, |tx| {
            let state = state_of(tx, id)?;
            if !state.editable() {
                return Err(not_now(state));
            }
            tx.execute(
                "UPDATE campaigns SET state = 'scheduled', scheduled_at = ?1, missed_at = NULL, pause_detail = NULL, updated_at = ?2 WHERE id = ?3",
                params![at, tx.now, id],
            )?;
            Ok(())
        })?;
        self.campaign_outcome(id)
    }

    /// Back to a draft (a scheduled campaign not sent yet).
    pub fn unschedule_campaign(&mut self, id: CampaignId, key: Option<&str>) -> Result<Outcome<Campaign>> {
        self.transact(("campaign_unschedule", &id), key, |tx| {
            let state = state_of(tx, id)?;
            if state != CampaignState::Scheduled {
                return Err(not_now(state));
            }
            tx.execute(
                "UPDATE campaigns SET state = 'draft', scheduled_at = NULL, missed_at = NULL, pause_detail = NULL, updated_at = ?1 WHERE id = ?2",
                params![tx.now, id],
            )?;
            Ok(())
        })?;
        self.campaign_outcome(id)
    }

    fn campaign_outcome(&self, id: CampaignId) -> Result<Outcome<Campaign>> {
        Ok(Outcome { value: self.campaign(id)?, changes: Default::default(), replayed: false })
    }

    /// Start sending now (a draft, or a scheduled campaign — including one whose time passed
    /// while the app was closed, which the merchant confirms this way). The outbox is built in
    /// the same transaction.
    pub fn start_campaign(&mut self, id: CampaignId, key: Option<&str>) -> Result<Outcome<Campaign>> {
        self.mail_settings_for_sending()?;
        let c = self.campaign(id)?;
        self.check_renders(&c.content)?;
        self.transact(("campaign_start", &id), key, |tx| {
            state_of(tx, id)?;
            start_tx(tx, id)
        })?;
        self.campaign_outcome(id)
    }

    pub fn pause_campaign(&mut self, id: CampaignId, key: Option<&str>) -> Result<Outcome<Campaign>> {
        self.transact(("campaign_pause", &id), key, |tx| {
            let state = state_of(tx, id)?;
            if state != CampaignState::Running {
                return Err(not_now(state));
            }
            set_paused(tx, id, PauseReason::Merchant, None, None)
        })?;
        self.campaign_outcome(id)
    }

    pub fn resume_campaign(&mut self, id: CampaignId, key: Option<&str>) -> Result<Outcome<Campaign>> {
        self.transact(("campaign_resume", &id), key, |tx| {
            state_of(tx, id)?;
            let c = load(tx, id)?;
            if c.state != CampaignState::Paused || c.pause_reason == Some(PauseReason::AbWaiting) {
                return Err(not_now(c.state));
            }
            crate::mailbox::freshness::check(tx, tx.now)?;
            tx.execute(
                "UPDATE campaigns SET state = 'running', pause_reason = NULL, pause_detail = NULL, resume_at = NULL, updated_at = ?1 WHERE id = ?2",
                params![tx.now, id],
            )?;
            Ok(())
        })?;
        self.campaign_outcome(id)
    }

    /// Stop for good: nothing more leaves. What was sent stays recorded.
    pub fn cancel_campaign(&mut self, id: CampaignId, key: Option<&str>) -> Result<Outcome<Campaign>> {
        self.transact(("campaign_cancel", &id), key, |tx| {
            let state = state_of(tx, id)?;
            if matches!(state, CampaignState::Finished | CampaignState::Cancelled) {
                return Err(not_now(state));
            }
            tx.execute(
                "UPDATE campaign_recipients SET state = 'cancelled' WHERE campaign_id = ?1 AND state IN ('queued', 'held', 'sending')",
                [id],
            )?;
            tx.execute(
                "UPDATE campaigns SET state = 'cancelled', finished_at = ?1, updated_at = ?1 WHERE id = ?2",
                params![tx.now, id],
            )?;
            Ok(())
        })?;
        self.campaign_outcome(id)
    }

    /// The A/B winner goes to the rest of the audience.
    pub fn choose_winner(&mut self, id: CampaignId, winner: Variant, key: Option<&str>) -> Result<Outcome<Campaign>> {
        self.transact(("campaign_winner", &(id, winner)), key, |tx| {
            state_of(tx, id)?;
            choose_winner_tx(tx, id, winner, "merchant")
        })?;
        self.campaign_outcome(id)
    }

    /// At start-up: scheduled campaigns whose time passed while the app was closed wait for
    /// the merchant instead of leaving by themselves.
    pub fn mark_missed_schedules(&mut self) -> Result<i64> {
        Ok(self
            .transact("campaign_mark_missed", None, |tx| {
                Ok(tx.execute(
                    "UPDATE campaigns SET missed_at = ?1 WHERE state = 'scheduled' AND scheduled_at <= ?1 AND missed_at IS NULL",
                    [tx.now],
                )? as i64)
            })?
            .value)
    }

    /// Pause every running campaign because nothing can be sent (the reason is shown).
    pub fn pause_running_campaigns(&mut self, detail: &str) -> Result<()> {
        self.transact("campaign_pause_all", None, |tx| {
            let ids: Vec<i64> = tx
                .prepare("SELECT id FROM campaigns WHERE state = 'running'")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for id in ids {
                set_paused(tx, id, PauseReason::Errors, Some(detail), None)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// A preview of a message (saved or not) for one customer, or with sample values.
    pub fn preview_message(&self, msg: &MessageContent, customer: Option<crate::types::CustomerId>) -> Result<Preview> {
        let id = self.mail_identity()?;
        let compiled = render::compile(msg, &id, render::images_of(self.conn(), msg)?)?;
        let personal = match customer {
            Some(c) => {
                crate::customers::ensure_exists(self.conn(), c)?;
                render::personal(self.conn(), &id, c, self.now())?
            }
            None => render::sample_personal(id.mail.language, &id.mail.sender_name),
        };
        let r = compiled.render(&personal, &id.unsubscribe_url("preview"), "preview")?;
        let html = compiled.inline_images_for_preview(&r.html);
        let preheader = msg.preheader.clone();
        Ok(Preview { subject: r.subject, preheader, html, text: r.text, customer_id: customer })
    }
}

/// The sender's identity read from a connection (inside a transaction).
pub(crate) fn identity_from(conn: &Connection) -> Result<Identity> {
    let shop = crate::settings::read(conn)?;
    Ok(Identity { mail: super::mail::read(conn)?, currency: shop.currency, locale: shop.locale })
}

/// What must hold before a campaign may leave, whoever starts it (the merchant, the schedule):
/// no free-mail address through another provider's server, no blocking content finding.
pub(crate) fn launch_gate(conn: &Connection, content: &CampaignContent) -> Result<()> {
    let identity = identity_from(conn)?;
    if let Some(r) = super::deliverability::freemail::refusal(&identity.mail) {
        return Err(super::smtp::freemail_conflict(&r));
    }
    super::deliverability::content::gate(conn, &identity, content)
}

pub(crate) fn start_tx(tx: &mut Tx, id: CampaignId) -> Result<()> {
    let c = load(tx, id)?;
    if !matches!(c.state, CampaignState::Draft | CampaignState::Scheduled) {
        return Err(not_now(c.state));
    }
    // What the merchant can put right at once (the sender address, the content) first; then
    // bounces and unsubscribes read less than 48 hours ago, when sending through a provider.
    launch_gate(tx, &c.content)?;
    crate::mailbox::freshness::check(tx, tx.now)?;
    materialise(tx, &c)?;
    tx.execute(
        "UPDATE campaigns SET state = 'running', started_at = ?1, missed_at = NULL, pause_detail = NULL, updated_at = ?1 WHERE id = ?2",
        params![tx.now, id],
    )?;
    Ok(())
}

pub(crate) fn choose_winner_tx(tx: &mut Tx, id: CampaignId, winner: Variant, by: &str) -> Result<()> {
    let c = load(tx, id)?;
    if c.state != CampaignState::Paused || c.pause_reason != Some(PauseReason::AbWaiting) {
        return Err(not_now(c.state));
    }
    tx.execute(
        "UPDATE campaign_recipients SET state = 'queued', variant = ?1 WHERE campaign_id = ?2 AND state = 'held'",
        params![winner.code(), id],
    )?;
    tx.execute(
        "UPDATE campaigns SET state = 'running', pause_reason = NULL, pause_detail = NULL, ab_winner = ?1, ab_decided_by = ?2, updated_at = ?3 WHERE id = ?4",
        params![winner.code(), by, tx.now, id],
    )?;
    Ok(())
}
