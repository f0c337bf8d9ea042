//! The offer's live state and counters: the rewards given, used, taken back and lost in the
//! offer's period, the slots and budget left for each milestone, whether the offer runs and
//! can still give, and the next milestone a referrer can still receive; the budget figures of
//! the dashboard and the rewards' value for the programme's cost.
//!
//! Invariants: read-only; every figure is derived from the referral and reward tables of the
//! offer's period; what counts against the budget is what was given and not taken back
//! (losses stay counted).

use super::engine::approved_in_offer as approved_in;
use super::grants::{self, reward_label};
use super::offer::{cost_cents, Offer};
use super::versions::{current_offer, offer_version, point_value};
use super::{rules, OfferVersion, ReferralStatus};
use crate::error::Result;
use crate::storage::Store;
use crate::types::{Cents, CustomerId};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Whether the offer is running, and if it stopped giving, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OfferState {
    pub running: bool,
    /// The budget left cannot pay for any reward of the offer.
    pub budget_spent: bool,
    /// Milestones whose slots are all taken.
    pub full_milestones: Vec<u32>,
}

/// Live counters of the offer in its period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Counters {
    /// Cost of the rewards given and not taken back (losses included): what counts against
    /// the budget.
    pub committed_cents: Cents,
    pub issued_count: i64,
    pub issued_cents: Cents,
    pub used_count: i64,
    pub used_cents: Cents,
    pub taken_back_cents: Cents,
    pub loss_cents: Cents,
    pub budget_cents: Option<Cents>,
    pub remaining_budget_cents: Option<Cents>,
    pub milestones: Vec<MilestoneCounter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MilestoneCounter {
    pub key: u32,
    pub referrals: u32,
    pub label: String,
    pub cost_cents: Cents,
    pub slots: Option<u32>,
    pub taken: u32,
    /// Rewards of this milestone that can still be given (slots and budget).
    pub remaining: Option<u32>,
}

/// The offer screen: the offer, its counters, where referrals stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Overview {
    pub offer: Option<OfferVersion>,
    pub state: OfferState,
    pub counters: Counters,
    pub by_status: Vec<StatusCount>,
    pub to_review: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StatusCount {
    pub status: ReferralStatus,
    pub count: i64,
}

pub(crate) fn counters(conn: &Connection, offer: &Offer) -> Result<Counters> {
    let s = crate::settings::read(conn)?;
    let pv = point_value(conn)?;
    let period = offer.period_start().to_string();
    let (issued_count, issued_cents, taken_back_cents, loss_cents): (i64, Cents, Cents, Cents) = conn.query_row(
        "SELECT count(*), coalesce(sum(g.cost_cents), 0), coalesce(sum(e.taken_back_cents), 0), coalesce(sum(e.loss_cents), 0)
         FROM referral_rewards g LEFT JOIN referral_reward_ends e ON e.reward_id = g.id WHERE g.period = ?1",
        [&period],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    // Used: a voucher used (its last use not undone), or points rewards (credited at once).
    let (used_count, used_cents): (i64, Cents) = conn.query_row(
        "SELECT count(*), coalesce(sum(g.cost_cents), 0) FROM referral_rewards g WHERE g.period = ?1 AND (g.kind = 'points'
           OR (SELECT u.kind FROM voucher_uses u WHERE u.voucher_id = g.voucher_id ORDER BY u.id DESC LIMIT 1) = 'use')",
        [&period],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let committed_cents = issued_cents - taken_back_cents;
    let remaining_budget_cents = offer.budget_cents.map(|b| (b - committed_cents).max(0));
    let mut milestones = Vec::new();
    for m in &offer.milestones {
        let taken = grants::slots_taken(conn, &period, m.key)?;
        let cost = cost_cents(&m.reward, pv);
        milestones.push(MilestoneCounter {
            key: m.key,
            referrals: m.referrals,
            label: reward_label(&m.reward, s.language, s.currency, s.locale),
            cost_cents: cost,
            slots: m.slots,
            taken,
            remaining: rules::remaining(m.slots.map(|x| x.saturating_sub(taken)), remaining_budget_cents, cost),
        });
    }
    Ok(Counters {
        committed_cents,
        issued_count,
        issued_cents,
        used_count,
        used_cents,
        taken_back_cents,
        loss_cents,
        budget_cents: offer.budget_cents,
        remaining_budget_cents,
        milestones,
    })
}

/// The offer's budget for the dashboard: `(budget, committed)` of the offer in force, `None`
/// when there is no offer or it has no budget.
pub(crate) fn budget_figures(conn: &Connection) -> Result<Option<(Cents, Cents)>> {
    let Some(v) = current_offer(conn)? else { return Ok(None) };
    let Some(budget) = v.offer.budget_cents else { return Ok(None) };
    Ok(Some((budget, grants::committed(conn, &v.offer.period_start().to_string())?)))
}

/// Value of the referral rewards given since `since` and not taken back (what was spent of
/// them counts: losses stay), whatever the offer's version.
pub(crate) fn rewards_value_since(conn: &Connection, since: DateTime<Utc>) -> Result<Cents> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(g.cost_cents), 0) - coalesce(sum(e.taken_back_cents), 0)
         FROM referral_rewards g LEFT JOIN referral_reward_ends e ON e.reward_id = g.id WHERE g.granted_at >= ?1",
        [since],
        |r| r.get(0),
    )?)
}

pub(super) fn state(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<(Option<OfferVersion>, OfferState, Option<Counters>)> {
    let current = current_offer(conn)?;
    let Some(v) = &current else {
        return Ok((None, OfferState { running: false, budget_spent: false, full_milestones: vec![] }, None));
    };
    let c = counters(conn, &v.offer)?;
    let pv = point_value(conn)?;
    let cheapest = v.offer.rewards().iter().map(|(_, r)| cost_cents(r, pv)).min();
    let st = OfferState {
        running: v.offer.runs_on(super::versions::local_day(now)),
        budget_spent: matches!((c.remaining_budget_cents, cheapest), (Some(left), Some(min)) if left < min),
        full_milestones: c.milestones.iter().filter(|m| m.slots.is_some_and(|s| m.taken >= s)).map(|m| m.key).collect(),
    };
    Ok((current, st, Some(c)))
}

fn empty_counters() -> Counters {
    Counters {
        committed_cents: 0,
        issued_count: 0,
        issued_cents: 0,
        used_count: 0,
        used_cents: 0,
        taken_back_cents: 0,
        loss_cents: 0,
        budget_cents: None,
        remaining_budget_cents: None,
        milestones: vec![],
    }
}

impl Store {
    /// The offer, its live counters and where the referrals stand.
    pub fn referrals_overview(&self) -> Result<Overview> {
        let conn = self.conn();
        let (offer, state, counters) = state(conn, self.now())?;
        let counted: std::collections::HashMap<String, i64> = {
            let mut st = conn.prepare_cached("SELECT status, count(*) FROM referrals GROUP BY status")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let by_status = ReferralStatus::ALL
            .into_iter()
            .map(|s| StatusCount { status: s, count: counted.get(s.code()).copied().unwrap_or(0) })
            .collect();
        let to_review: i64 = conn.query_row(
            "SELECT count(*) FROM referrals WHERE review = 'flagged' AND status IN ('pending', 'qualified')",
            [],
            |r| r.get(0),
        )?;
        Ok(Overview { offer, state, counters: counters.unwrap_or_else(empty_counters), by_status, to_review })
    }
}

/// The next milestone a referrer can still receive and how many referrals it needs: one they
/// neither hold nor had (`rules::milestones_ahead`), with a place and the budget left for it.
pub(super) fn next_ahead<'a>(
    conn: &Connection,
    referrer: CustomerId,
    offer: &'a Offer,
) -> Result<Option<(&'a super::Milestone, u32)>> {
    let counted = approved_in(conn, referrer, offer)?;
    let mut held = Vec::new();
    for g in grants::milestone_grants(conn, referrer, &offer.period_start().to_string())? {
        let threshold = offer_version(conn, g.version)?.milestones.iter().find(|m| m.key == g.key).map(|m| m.referrals);
        held.push(rules::HeldMilestone {
            grant_id: g.id,
            key: g.key,
            threshold: threshold.unwrap_or(0),
            approved: counted,
        });
    }
    // Nor one whose places are all taken or which the budget left cannot pay for.
    let period = offer.period_start().to_string();
    let left = offer.budget_cents.map(|b| b - grants::committed(conn, &period).unwrap_or(0));
    let pv = point_value(conn)?;
    for m in rules::milestones_ahead(&offer.milestones, offer.stacking, &held) {
        if m.referrals <= counted {
            continue;
        }
        let full = m.slots.is_some_and(|slots| grants::slots_taken(conn, &period, m.key).is_ok_and(|t| t >= slots));
        if full || left.is_some_and(|l| l < cost_cents(&m.reward, pv)) {
            continue;
        }
        return Ok(Some((m, m.referrals - counted)));
    }
    Ok(None)
}
