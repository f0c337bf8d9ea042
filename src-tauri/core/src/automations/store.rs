//! The automations in the database: one row per kind (made on first use with its ready
//! message), its settings and messages, turning it on (new occasions only, or the backlog
//! spread over days) and off, the shared settings (time zone, sending hours, pressure limits),
//! the journal, the 7-day preview, the decision after a long closure, and the results against
//! the held-out share.

use super::checker::{self, automations, settings, Active};
use super::detect::{self, Span};
use super::*;
use crate::campaigns::results::{uplift, GroupFigures};
use crate::campaigns::{render, CampaignContent};
use crate::error::{Error, FieldError, Problems, Result};
use crate::storage::Store;
use crate::types::{Lang, Outcome};
use chrono::Duration;
use rusqlite::{params, Connection};

/// The ready message of a kind, in a language.
pub fn default_message(kind: AutomationKind, lang: Lang) -> MessageContent {
    let raw = match lang {
        Lang::Fr => include_str!("../../../../assets/templates/automations-fr.json"),
        Lang::En => include_str!("../../../../assets/templates/automations-en.json"),
    };
    let all: std::collections::HashMap<String, MessageContent> =
        serde_json::from_str(raw).expect("the automation templates are valid JSON (checked by a test)");
    all.get(kind.code()).cloned().expect("every kind has a ready message")
}

/// Rule: an automation's settings are within sensible bounds.
pub fn validate_config(c: &AutomationConfig) -> Result<()> {
    let mut p = Problems::default();
    let mut between = |field: &'static str, v: i64, min: i64, max: i64| {
        if !(min..=max).contains(&v) {
            p.push(FieldError::new(field, "field.between").arg("min", min).arg("max", max));
        }
    };
    between("welcome_delay_hours", c.welcome_delay_hours.into(), 0, 72);
    between("birthday_days_before", c.birthday_days_before.into(), 0, rules::BIRTHDAY_BEFORE_DAYS);
    between("winback_days", c.winback_days.into(), 14, 730);
    between("winback_rhythm_percent", c.winback_rhythm_percent.into(), 120, 500);
    if let Some(d) = c.winback_second_days {
        between("winback_second_days", d.into(), 7, 180);
    }
    between("expiry_min_points", c.expiry_min_points, 1, 1_000_000);
    between("tier_delay_hours", c.tier_delay_hours.into(), 0, 168);
    if let Some(d) = c.tier_loss_days {
        between("tier_loss_days", d.into(), 1, 90);
    }
    between("thanks_days", c.thanks_days.into(), 0, 30);
    between("thanks_period_days", c.thanks_period_days.into(), 1, 365);
    between("holdout_percent", c.holdout_percent.into(), 0, 50);
    between("results_days", c.results_days.into(), 1, 90);
    if c.expiry_reminders.is_empty()
        || c.expiry_reminders.len() > 3
        || c.expiry_reminders.iter().any(|d| !(1..=90).contains(d))
    {
        p.push(FieldError::new("expiry_reminders", "field.between").arg("min", 1).arg("max", 90));
    }
    if let Some(v) = &c.birthday_voucher {
        let ok = match v.kind {
            VoucherKind::Amount => (1..=crate::loyalty::MAX_VOUCHER_CENTS).contains(&v.value),
            VoucherKind::Percent => (1..=100).contains(&v.value),
            VoucherKind::Gift => false,
        };
        if !ok {
            p.add("birthday_voucher.value", "field.reward_value_invalid");
        }
        if !(1..=60).contains(&v.days_after) {
            p.push(FieldError::new("birthday_voucher.days_after", "field.between").arg("min", 1).arg("max", 60));
        }
    }
    p.into_result()
}

/// Rule: the shared settings are coherent (a known time zone, an opening before the closing).
pub fn validate_settings(s: &AutomationSettings) -> Result<()> {
    let mut p = Problems::default();
    if s.time_zone.parse::<chrono_tz::Tz>().is_err() {
        p.add("time_zone", "automations.time_zone_unknown");
    }
    if s.send_from_minute >= s.send_until_minute || s.send_until_minute > 1440 {
        p.add("send_until_minute", "field.date_order");
    }
    if !(0..=30).contains(&s.min_days_between) {
        p.push(FieldError::new("min_days_between", "field.between").arg("min", 0).arg("max", 30));
    }
    if !(1..=31).contains(&s.max_per_month) {
        p.push(FieldError::new("max_per_month", "field.between").arg("min", 1).arg("max", 31));
    }
    if !(12..=720).contains(&s.catch_up_after_hours) {
        p.push(FieldError::new("catch_up_after_hours", "field.between").arg("min", 12).arg("max", 720));
    }
    p.into_result()
}

fn counts(conn: &Connection, id: AutomationId) -> Result<OccasionCounts> {
    let mut c = OccasionCounts::default();
    let mut st = conn
        .prepare_cached("SELECT state, count(*) FROM automation_occasions WHERE automation_id = ?1 GROUP BY state")?;
    let rows = st.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (state, n) = row?;
        match OccasionState::parse(&state) {
            Some(OccasionState::Pending) => c.pending = n,
            Some(OccasionState::Postponed) => c.postponed = n,
            Some(OccasionState::Awaiting) => c.awaiting = n,
            Some(OccasionState::Queued) => c.queued = n,
            Some(OccasionState::Sent) => c.sent = n,
            Some(OccasionState::Failed) => c.failed = n,
            Some(OccasionState::Skipped) => c.skipped = n,
            Some(OccasionState::Expired) => c.expired = n,
            Some(OccasionState::HeldOut) => c.held_out = n,
            None => {}
        }
    }
    Ok(c)
}

fn view(conn: &Connection, a: &Active) -> Result<Automation> {
    let (content, state, reason, detail): (String, String, Option<String>, Option<String>) = conn.query_row(
        "SELECT content, state, pause_reason, pause_detail FROM campaigns WHERE id = ?1",
        [a.campaign_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let content: CampaignContent = serde_json::from_str(&content)?;
    // An automation that is on never pauses of itself: any pause (the provider's quota, errors,
    // a restore of a backup) is shown, with what the merchant can do.
    let sending_paused = (matches!(state.as_str(), "paused" | "cancelled") && a.enabled)
        .then(|| detail.or(reason).unwrap_or_else(|| state.clone()));
    Ok(Automation {
        id: a.id,
        kind: a.kind,
        enabled: a.enabled,
        config: a.config.clone(),
        message_fr: content.a,
        message_en: content.b,
        enabled_at: a.enabled_at,
        backlog_until: a.backlog_until,
        campaign_id: a.campaign_id,
        sending_paused,
        counts: counts(conn, a.id)?,
    })
}

fn active(conn: &Connection, id: AutomationId) -> Result<Active> {
    automations(conn)?.into_iter().find(|a| a.id == id).ok_or_else(|| Error::not_found("automation", id))
}

impl Store {
    /// Make the row of each kind that does not exist yet, with its ready messages (off).
    fn ensure_automations(&mut self) -> Result<()> {
        let have: Vec<String> = self
            .conn()
            .prepare("SELECT kind FROM automations")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if have.len() == AutomationKind::ALL.len() {
            return Ok(());
        }
        self.transact("automations.ensure", None, |tx| {
            for kind in AutomationKind::ALL {
                let exists: bool =
                    tx.query_row("SELECT EXISTS (SELECT 1 FROM automations WHERE kind = ?1)", [kind.code()], |r| r.get(0))?;
                if exists {
                    continue;
                }
                let content = CampaignContent {
                    a: default_message(kind, Lang::Fr),
                    b: Some(default_message(kind, Lang::En)),
                };
                let audience = crate::campaigns::Audience { control_percent: 0, ..Default::default() };
                let name = crate::i18n::tr(Lang::Fr, &format!("automations.kind.{}", kind.code()), &[]);
                tx.execute(
                    "INSERT INTO campaigns (name, state, content, audience, kind, created_at, updated_at)
                     VALUES (?1, 'paused', ?2, ?3, 'automation', ?4, ?4)",
                    params![name, serde_json::to_string(&content)?, serde_json::to_string(&audience)?, tx.now],
                )?;
                let cid = tx.last_insert_rowid();
                tx.execute(
                    "UPDATE campaigns SET pause_reason = 'merchant', started_at = ?1 WHERE id = ?2",
                    params![tx.now, cid],
                )?;
                tx.execute(
                    "INSERT INTO automations (kind, enabled, config, campaign_id, created_at, updated_at) VALUES (?1, 0, ?2, ?3, ?4, ?4)",
                    params![kind.code(), serde_json::to_string(&AutomationConfig::default())?, cid, tx.now],
                )?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Every automation, in the order of the screen.
    pub fn automations(&mut self) -> Result<Vec<Automation>> {
        self.ensure_automations()?;
        let mut out = Vec::new();
        for kind in AutomationKind::ALL {
            if let Some(a) = automations(self.conn())?.into_iter().find(|a| a.kind == kind) {
                out.push(view(self.conn(), &a)?);
            }
        }
        Ok(out)
    }

    pub fn automation(&self, id: AutomationId) -> Result<Automation> {
        view(self.conn(), &active(self.conn(), id)?)
    }

    pub fn automation_settings(&self) -> Result<AutomationSettings> {
        settings(self.conn())
    }

    pub fn save_automation_settings(
        &mut self,
        input: &AutomationSettings,
        key: Option<&str>,
    ) -> Result<Outcome<AutomationSettings>> {
        validate_settings(input)?;
        self.transact(("automations.settings", input), key, |tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('automations', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [serde_json::to_string(input)?],
            )?;
            tx.changes.settings = true;
            Ok(input.clone())
        })
    }

    /// Save an automation's settings and messages (checked as a campaign's are: subject,
    /// safe links, known personal fields only).
    pub fn save_automation(
        &mut self,
        id: AutomationId,
        input: &AutomationInput,
        key: Option<&str>,
    ) -> Result<Outcome<Automation>> {
        let raw = input;
        let cleaned = AutomationInput {
            message_fr: render::cleaned_message(&raw.message_fr),
            message_en: raw.message_en.as_ref().map(render::cleaned_message),
            ..raw.clone()
        };
        let input = &cleaned;
        validate_config(&input.config)?;
        render::validate_message(&input.message_fr)?;
        if let Some(en) = &input.message_en {
            render::validate_message(en)?;
        }
        // The satisfaction question is a campaign's: an automatic message has no outbox row to
        // record who was asked, nor the 90 days to respect.
        if input.message_fr.asks_survey() || input.message_en.as_ref().is_some_and(|m| m.asks_survey()) {
            return Err(Error::invalid("blocks", "campaign.survey_campaign_only"));
        }
        let identity = self.mail_identity()?;
        for m in std::iter::once(&input.message_fr).chain(input.message_en.as_ref()) {
            render::compile(m, &identity, render::images_of(self.conn(), m)?)?;
        }
        let a = active(self.conn(), id)?;
        let content = CampaignContent { a: input.message_fr.clone(), b: input.message_en.clone() };
        // The key's fingerprint is of what the window sent; what is written is cleaned.
        let out = self.transact(("automation.save", &(id, raw)), key, |tx| {
            tx.execute(
                "UPDATE automations SET config = ?1, updated_at = ?2 WHERE id = ?3",
                params![serde_json::to_string(&input.config)?, tx.now, id],
            )?;
            tx.execute(
                "UPDATE campaigns SET content = ?1, updated_at = ?2 WHERE id = ?3",
                params![serde_json::to_string(&content)?, tx.now, a.campaign_id],
            )?;
            Ok(id)
        })?;
        Ok(Outcome { value: self.automation(out.value)?, changes: out.changes, replayed: out.replayed })
    }

    /// How many customers qualify today (the backlog an automation would start with), how
    /// many of them may receive marketing, and the days needed within the provider's limit.
    pub fn automation_qualifying(&self, id: AutomationId) -> Result<Qualifying> {
        let a = active(self.conn(), id)?;
        let s = settings(self.conn())?;
        let now = self.now();
        let span = Span { from: now, to: now, backlog: true };
        let found = detect::candidates(self.conn(), a.kind, &a.config, &s.time_zone, span, Some(a.id), None)?;
        let mut customers: Vec<i64> = found.iter().map(|c| c.customer_id).collect();
        customers.sort_unstable();
        customers.dedup();
        let reachable = crate::campaigns::segments::count_eligible(self.conn(), &customers, now)?;
        let per_day = crate::campaigns::smtp::limits_for(&self.mail_settings()?).per_day;
        let per_day = if per_day == 0 { 500 } else { i64::from(per_day / 2).max(1) };
        let days = ((reachable + per_day - 1) / per_day).clamp(1, 60) as u16;
        Ok(Qualifying { today: customers.len() as i64, reachable, suggested_days: days })
    }

    /// Turn an automation on: for new occasions only, or with today's backlog spread over
    /// `days` days. The sender identity must be set (every message carries it).
    pub fn enable_automation(
        &mut self,
        id: AutomationId,
        mode: EnableMode,
        key: Option<&str>,
    ) -> Result<Outcome<Automation>> {
        self.mail_settings_for_sending()?;
        let a = active(self.conn(), id)?;
        if let EnableMode::Backlog { days } = mode {
            if !(1..=60).contains(&days) {
                return Err(Error::Validation(vec![FieldError::new("days", "field.between")
                    .arg("min", 1)
                    .arg("max", 60)]));
            }
        }
        let out = self.transact(("automation.enable", &(id, mode)), key, |tx| {
            let backlog_until = match mode {
                EnableMode::NewOnly => None,
                EnableMode::Backlog { days } => Some(tx.now + Duration::days(i64::from(days))),
            };
            tx.execute(
                "UPDATE automations SET enabled = 1, enabled_at = ?1, backlog_until = ?2, updated_at = ?1 WHERE id = ?3",
                params![tx.now, backlog_until, id],
            )?;
            tx.execute(
                "UPDATE campaigns SET state = 'running', pause_reason = NULL, pause_detail = NULL, resume_at = NULL, updated_at = ?1 WHERE id = ?2",
                params![tx.now, a.campaign_id],
            )?;
            // Turned on again for new occasions only: what was left waiting when it was turned
            // off does not go out now (a three-week-old win-back), and says why.
            if mode == EnableMode::NewOnly {
                let tz = calendar::zone(&settings(tx)?.time_zone);
                let from = calendar::day_start(tz, calendar::local_date(tz, tx.now));
                let old: Vec<i64> = tx
                    .prepare(
                        "SELECT id FROM automation_occasions WHERE automation_id = ?1
                         AND state IN ('pending', 'postponed', 'awaiting') AND due_at < ?2",
                    )?
                    .query_map(params![id, from], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for o in old {
                    checker::set_state(tx, o, OccasionState::Skipped, Some("automation_off"))?;
                }
            }
            Ok(id)
        })?;
        Ok(Outcome { value: self.automation(out.value)?, changes: out.changes, replayed: out.replayed })
    }

    /// Turn an automation off: nothing more is queued, and its messages not sent yet stay
    /// behind (recorded as skipped, "automation turned off").
    pub fn disable_automation(&mut self, id: AutomationId, key: Option<&str>) -> Result<Outcome<Automation>> {
        let a = active(self.conn(), id)?;
        let out = self.transact(("automation.disable", &id), key, |tx| {
            tx.execute("UPDATE automations SET enabled = 0, updated_at = ?1 WHERE id = ?2", params![tx.now, id])?;
            tx.execute(
                "UPDATE campaign_recipients SET state = 'cancelled' WHERE campaign_id = ?1 AND state IN ('queued', 'held')",
                [a.campaign_id],
            )?;
            tx.execute(
                "UPDATE campaigns SET state = 'paused', pause_reason = 'merchant', pause_detail = NULL, updated_at = ?1 WHERE id = ?2",
                params![tx.now, a.campaign_id],
            )?;
            let queued: Vec<i64> = tx
                .prepare("SELECT o.id FROM automation_occasions o JOIN campaign_recipients r ON r.id = o.recipient_id
                          WHERE o.automation_id = ?1 AND o.state = 'queued' AND r.state = 'cancelled'")?
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for o in queued {
                checker::set_state(tx, o, OccasionState::Skipped, Some("automation_off"))?;
            }
            Ok(id)
        })?;
        Ok(Outcome { value: self.automation(out.value)?, changes: out.changes, replayed: out.replayed })
    }

    /// Resume the sending of an automation paused by the provider or by errors.
    pub fn resume_automation(&mut self, id: AutomationId, key: Option<&str>) -> Result<Outcome<Automation>> {
        let a = active(self.conn(), id)?;
        if !a.enabled {
            return Err(Error::conflict("automations.conflict_off"));
        }
        self.transact(("automation.resume", &id), key, |tx| {
            tx.execute(
                "UPDATE campaigns SET state = 'running', pause_reason = NULL, pause_detail = NULL, resume_at = NULL, updated_at = ?1
                 WHERE id = ?2 AND state IN ('paused', 'cancelled')",
                params![tx.now, a.campaign_id],
            )?;
            Ok(())
        })?;
        Ok(Outcome { value: self.automation(id)?, changes: Default::default(), replayed: false })
    }

    /// The journal of an automation, newest first (`before`: the id to page from).
    pub fn automation_journal(&self, id: AutomationId, before: Option<i64>, limit: usize) -> Result<Vec<JournalEntry>> {
        active(self.conn(), id)?;
        let mut st = self.conn().prepare_cached(
            "SELECT j.id, j.at, j.occasion_id, o.occasion_key, j.customer_id, trim(c.first_name || ' ' || c.last_name), j.state, j.reason
             FROM automation_journal j JOIN automation_occasions o ON o.id = j.occasion_id JOIN customers c ON c.id = j.customer_id
             WHERE j.automation_id = ?1 AND j.id < ?2 ORDER BY j.id DESC LIMIT ?3",
        )?;
        let rows = st.query_map(params![id, before.unwrap_or(i64::MAX), limit.min(500) as i64], |r| {
            Ok(JournalEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                occasion_id: r.get(2)?,
                occasion_key: r.get(3)?,
                customer_id: r.get(4)?,
                customer_name: r.get(5)?,
                state: OccasionState::parse(&r.get::<_, String>(6)?).unwrap_or(OccasionState::Pending),
                reason: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Who will receive what in the next `days` days: the occasions already known and not
    /// decided, and those the data will make due by then.
    #[allow(clippy::type_complexity)]
    pub fn automation_preview(&self, days: u16) -> Result<Vec<PreviewEntry>> {
        let now = self.now();
        let horizon = now + Duration::days(i64::from(days.clamp(1, 31)));
        let s = settings(self.conn())?;
        let all = automations(self.conn())?;
        let name_of = |id: i64| -> Result<String> {
            Ok(self
                .conn()
                .prepare_cached("SELECT trim(first_name || ' ' || last_name) FROM customers WHERE id = ?1")?
                .query_row([id], |r| r.get(0))?)
        };
        let mut out = Vec::new();
        let mut st = self.conn().prepare_cached(
            "SELECT o.automation_id, o.customer_id, o.occasion_key, o.due_at, o.state, o.reason FROM automation_occasions o
             WHERE o.state IN ('pending', 'postponed', 'awaiting', 'queued') AND o.due_at <= ?1 ORDER BY o.due_at LIMIT 2000",
        )?;
        let rows: Vec<(i64, i64, String, chrono::DateTime<chrono::Utc>, String, Option<String>)> = st
            .query_map([horizon], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (aid, customer, key, due, state, reason) in rows {
            let Some(a) = all.iter().find(|a| a.id == aid) else { continue };
            out.push(PreviewEntry {
                kind: a.kind,
                customer_id: customer,
                customer_name: name_of(customer)?,
                occasion_key: key,
                due_at: due,
                state: OccasionState::parse(&state).unwrap_or(OccasionState::Pending),
                reason,
            });
        }
        for a in all.iter().filter(|a| a.enabled) {
            let span = Span { from: now, to: horizon, backlog: false };
            for c in detect::candidates(
                self.conn(),
                a.kind,
                &a.config,
                &s.time_zone,
                span,
                Some(a.id),
                a.new_from(calendar::zone(&s.time_zone)),
            )? {
                if a.new_from(calendar::zone(&s.time_zone)).is_some_and(|e| c.window.due < e) || out.len() >= 2000 {
                    continue;
                }
                out.push(PreviewEntry {
                    kind: a.kind,
                    customer_id: c.customer_id,
                    customer_name: name_of(c.customer_id)?,
                    occasion_key: c.key,
                    due_at: c.window.due.max(now),
                    state: OccasionState::Pending,
                    reason: None,
                });
            }
        }
        out.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.kind.cmp(&b.kind)).then(a.customer_id.cmp(&b.customer_id)));
        Ok(out)
    }

    /// The occasions missed during a long closure, waiting for the merchant, per automation.
    pub fn automation_decisions(&self) -> Result<Vec<CatchUp>> {
        let all = automations(self.conn())?;
        let mut st = self.conn().prepare_cached(
            "SELECT automation_id, count(*), min(valid_until) FROM automation_occasions WHERE state = 'awaiting'
             GROUP BY automation_id ORDER BY automation_id",
        )?;
        let rows: Vec<(i64, i64, chrono::DateTime<chrono::Utc>)> =
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, count, first)| {
                all.iter().find(|a| a.id == id).map(|a| CatchUp {
                    automation_id: id,
                    kind: a.kind,
                    count,
                    first_expires_at: first,
                })
            })
            .collect())
    }

    /// The merchant's decision on the occasions missed while closed: send them (within the
    /// usual limits, while they are valid) or not (recorded as skipped, with that reason).
    pub fn decide_automation(&mut self, id: AutomationId, send: bool, key: Option<&str>) -> Result<Outcome<i64>> {
        active(self.conn(), id)?;
        self.transact(("automation.decide", &(id, send)), key, |tx| {
            let ids: Vec<i64> = tx
                .prepare("SELECT id FROM automation_occasions WHERE automation_id = ?1 AND state = 'awaiting'")?
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for o in &ids {
                if send {
                    checker::set_state(tx, *o, OccasionState::Pending, Some("merchant_send"))?;
                } else {
                    checker::set_state(tx, *o, OccasionState::Skipped, Some("merchant_ignored"))?;
                }
            }
            Ok(ids.len() as i64)
        })
    }

    /// What an automation brought: purchases and revenue at the till in the N days after each
    /// message, for the customers sent one against those held out.
    pub fn automation_results(&self, id: AutomationId) -> Result<AutomationResults> {
        let a = active(self.conn(), id)?;
        let days = a.config.results_days;
        let group = |states: &str| -> Result<GroupFigures> {
            let sql = format!(
                "WITH g AS (SELECT customer_id, decided_at AS t0 FROM automation_occasions
                            WHERE automation_id = ?1 AND state IN ({states}) AND decided_at IS NOT NULL)
                 SELECT (SELECT count(*) FROM g),
                        count(DISTINCT CASE WHEN p.kind = 'sale' THEN g.customer_id || ':' || g.t0 END),
                        count(CASE WHEN p.kind = 'sale' THEN 1 END),
                        coalesce(sum(CASE WHEN p.kind = 'sale' THEN p.amount_cents WHEN p.kind = 'refund' THEN -p.amount_cents END), 0)
                 FROM g JOIN purchases p ON p.customer_id = g.customer_id
                 WHERE p.occurred_at >= g.t0 AND p.occurred_at < datetime(g.t0, '+' || ?2 || ' days')"
            );
            Ok(self.conn().query_row(&sql, params![id, days], |r| {
                Ok(GroupFigures {
                    people: r.get(0)?,
                    buyers: r.get(1)?,
                    purchases: r.get(2)?,
                    revenue_cents: r.get(3)?,
                })
            })?)
        };
        let recipients = group("'sent'")?;
        let held = group("'held_out'")?;
        let held_out = (held.people > 0).then_some(held);
        Ok(AutomationResults {
            window_days: days,
            uplift: held_out.as_ref().and_then(|h| uplift(&recipients, h)),
            recipients,
            held_out,
        })
    }
}
