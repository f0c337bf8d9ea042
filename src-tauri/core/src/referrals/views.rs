//! What the screens show: a customer's referrals (parrainé par, friends, next milestone), the
//! offer's live counters, the review queue, the list of referrals, the ambassadors ranking and
//! who referred whom; plus the timeline entries and the personal fields of messages.
//!
//! Invariants: read-only; every figure is derived from the referral and reward tables.

use super::engine::approved_in_offer as approved_in;
use super::grants::{self, reward_label};
use super::link_checks::link_refusal;
use super::offer::{cost_cents, Offer};
use super::versions::{correction_deadline, current_offer, offer_version, point_value};
use super::{code, fraud::Flag, rules, OfferVersion, ReferralStatus, Review};
use crate::customers::{summaries, CustomerSummary, TimelineKind};
use crate::error::Result;
use crate::storage::Store;
use crate::types::{Cents, CustomerId};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One referral, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReferralView {
    pub id: i64,
    pub referrer: CustomerSummary,
    pub friend: CustomerSummary,
    pub status: ReferralStatus,
    pub review: Review,
    pub flags: Vec<Flag>,
    pub offer_version: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub via: String,
    pub staff: Option<String>,
    pub qualified_at: Option<DateTime<Utc>>,
    pub hold_until: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    /// The link can be corrected until then (while pending or qualified).
    pub correctable_until: Option<DateTime<Utc>>,
}

const VIEW: &str = "SELECT id, referrer_id, friend_id, status, review, flags, offer_version, created_at, via, staff,
    qualified_at, hold_until, approved_at, ended_at, end_reason FROM referrals";

fn views(conn: &Connection, sql: &str, p: impl rusqlite::Params, now: DateTime<Utc>) -> Result<Vec<ReferralView>> {
    let country = crate::settings::read(conn)?.country;
    let mut st = conn.prepare_cached(sql)?;
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        i64,
        CustomerId,
        CustomerId,
        String,
        String,
        String,
        Option<i64>,
        DateTime<Utc>,
        String,
        Option<String>,
        [Option<DateTime<Utc>>; 4],
        Option<String>,
    )> = st
        .query_map(p, |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                [r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?],
                r.get(14)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, referrer, friend, status, review, flags, version, created_at, via, staff, times, end_reason) in rows {
        let (Some(referrer), Some(friend)) =
            (summaries(conn, &[referrer], country)?.pop(), summaries(conn, &[friend], country)?.pop())
        else {
            continue;
        };
        let status = ReferralStatus::parse(&status).unwrap_or(ReferralStatus::Voided);
        let open = matches!(status, ReferralStatus::Pending | ReferralStatus::Qualified | ReferralStatus::OutsideOffer);
        let deadline = correction_deadline(conn, created_at, version)?;
        out.push(ReferralView {
            id,
            referrer,
            friend,
            status,
            review: Review::parse(&review),
            flags: serde_json::from_str(&flags).unwrap_or_default(),
            offer_version: version,
            created_at,
            via,
            staff,
            qualified_at: times[0],
            hold_until: times[1],
            approved_at: times[2],
            ended_at: times[3],
            end_reason,
            correctable_until: (open && now <= deadline).then_some(deadline),
        });
    }
    Ok(out)
}

/// What the till and the customer page show about a customer's referrals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CustomerReferrals {
    pub code: String,
    pub referred_by: Option<ReferralView>,
    pub friends: Vec<ReferralView>,
    pub approved: u32,
    pub pending: u32,
    pub next_milestone: Option<rules::NextMilestone>,
    /// The offer runs today and can still give rewards.
    pub offer: OfferState,
    /// Why a referrer cannot be set or corrected now (in the shop's language), as the core
    /// would refuse it whoever the referrer; `None` when « Indiquer un parrain » (or the
    /// correction) would be accepted.
    pub link_refused: Option<String>,
}

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

fn state(conn: &Connection, now: DateTime<Utc>) -> Result<(Option<OfferVersion>, OfferState, Option<Counters>)> {
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

/// A referrer in the ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Ambassador {
    pub customer: CustomerSummary,
    pub approved: i64,
    /// Pending and qualified (in hold) referrals.
    pub in_progress: i64,
    pub friends_spent_90d_cents: Cents,
    pub friends_spent_12m_cents: Cents,
    /// What the rewards of their referrals cost (theirs and their friends'), net of what came back.
    pub rewards_cents: Cents,
    /// Friends' spending over 12 months less the rewards' cost.
    pub return_cents: Cents,
}

/// Who referred whom: a customer's friends, their friends, and theirs (three levels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TreeNode {
    pub customer: CustomerSummary,
    pub status: ReferralStatus,
    pub friends: Vec<TreeNode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReferralTree {
    pub root: CustomerSummary,
    pub referred_by: Option<CustomerSummary>,
    pub friends: Vec<TreeNode>,
}

/// A printable referral card: the code as text, Code128 and QR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReferralCard {
    pub customer_id: CustomerId,
    pub display_name: String,
    pub art: crate::cards::CardArt,
}

pub const MAX_TREE_CHILDREN: usize = 200;

fn tree(conn: &Connection, of: CustomerId, depth: u32, country: crate::types::Country) -> Result<Vec<TreeNode>> {
    if depth == 0 {
        return Ok(Vec::new());
    }
    let rows: Vec<(CustomerId, String)> = conn
        .prepare_cached(
            "SELECT friend_id, status FROM referrals WHERE referrer_id = ?1 ORDER BY created_at, id LIMIT ?2",
        )?
        .query_map(params![of, MAX_TREE_CHILDREN as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for (friend, status) in rows {
        if let Some(customer) = summaries(conn, &[friend], country)?.pop() {
            out.push(TreeNode {
                customer,
                status: ReferralStatus::parse(&status).unwrap_or(ReferralStatus::Voided),
                friends: tree(conn, friend, depth - 1, country)?,
            });
        }
    }
    Ok(out)
}

impl Store {
    /// A customer's referral code, referrer, friends and next milestone.
    pub fn customer_referrals(&self, customer: CustomerId) -> Result<CustomerReferrals> {
        crate::customers::ensure_exists(self.conn(), customer)?;
        let conn = self.conn();
        let now = self.now();
        let referred_by = views(conn, &format!("{VIEW} WHERE friend_id = ?1"), [customer], now)?.pop();
        let friends = views(
            conn,
            &format!("{VIEW} WHERE referrer_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 200"),
            [customer],
            now,
        )?;
        let (current, offer, _) = state(conn, now)?;
        let (approved, pending): (i64, i64) = conn.query_row(
            "SELECT coalesce(sum(status = 'approved'), 0), coalesce(sum(status IN ('pending', 'qualified')), 0) FROM referrals WHERE referrer_id = ?1",
            [customer],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let next_milestone = match &current {
            Some(v) if offer.running => {
                let s = self.settings()?;
                next_ahead(conn, customer, &v.offer)?.map(|(m, missing)| rules::NextMilestone {
                    key: m.key,
                    referrals: m.referrals,
                    missing,
                    label: reward_label(&m.reward, s.language, s.currency, s.locale),
                })
            }
            _ => None,
        };
        let link_refused = match link_refusal(conn, customer, now)? {
            Some(e) => Some(e.message(self.settings()?.language)),
            None => None,
        };
        Ok(CustomerReferrals {
            link_refused,
            code: code::format(customer),
            referred_by,
            friends,
            approved: approved as u32,
            pending: pending as u32,
            next_milestone,
            offer,
        })
    }

    /// The offer, its live counters and where the referrals stand.
    pub fn referrals_overview(&self) -> Result<Overview> {
        let conn = self.conn();
        let (offer, state, counters) = state(conn, self.now())?;
        let mut by_status = Vec::new();
        for s in ReferralStatus::ALL {
            let count: i64 =
                conn.query_row("SELECT count(*) FROM referrals WHERE status = ?1", [s.code()], |r| r.get(0))?;
            by_status.push(StatusCount { status: s, count });
        }
        let to_review: i64 = conn.query_row(
            "SELECT count(*) FROM referrals WHERE review = 'flagged' AND status IN ('pending', 'qualified')",
            [],
            |r| r.get(0),
        )?;
        Ok(Overview { offer, state, counters: counters.unwrap_or_else(empty_counters), by_status, to_review })
    }

    /// Referrals flagged for review, oldest first.
    pub fn referral_review_queue(&self) -> Result<Vec<ReferralView>> {
        views(
            self.conn(),
            &format!("{VIEW} WHERE review = 'flagged' AND status IN ('pending', 'qualified') ORDER BY created_at, id LIMIT 500"),
            [],
            self.now(),
        )
    }

    /// The latest referrals, of one status or all.
    pub fn referrals_list(&self, status: Option<ReferralStatus>, limit: u32) -> Result<Vec<ReferralView>> {
        let limit = i64::from(limit.clamp(1, 500));
        views(
            self.conn(),
            &format!("{VIEW} WHERE ?1 IS NULL OR status = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2"),
            params![status.map(|s| s.code()), limit],
            self.now(),
        )
    }

    /// The ambassadors: referrers ranked by approved referrals, then their friends' spending.
    pub fn ambassadors(&self, limit: u32) -> Result<Vec<Ambassador>> {
        let conn = self.conn();
        let now = self.now();
        let country = self.settings()?.country;
        let mut st = conn.prepare_cached(
            "WITH r AS (
               SELECT referrer_id, sum(status = 'approved') AS approved, sum(status IN ('pending', 'qualified')) AS in_progress
               FROM referrals GROUP BY referrer_id
               ORDER BY approved DESC, in_progress DESC, referrer_id LIMIT ?3)
             SELECT r.referrer_id, r.approved, r.in_progress,
               (SELECT coalesce(sum(CASE p.kind WHEN 'sale' THEN p.amount_cents ELSE -p.amount_cents END), 0)
                  FROM referrals f JOIN purchases p ON p.customer_id = f.friend_id AND p.occurred_at >= ?1
                  WHERE f.referrer_id = r.referrer_id AND f.status IN ('approved', 'qualified', 'pending')),
               (SELECT coalesce(sum(CASE p.kind WHEN 'sale' THEN p.amount_cents ELSE -p.amount_cents END), 0)
                  FROM referrals f JOIN purchases p ON p.customer_id = f.friend_id AND p.occurred_at >= ?2
                  WHERE f.referrer_id = r.referrer_id AND f.status IN ('approved', 'qualified', 'pending')),
               (SELECT coalesce(sum(g.cost_cents - coalesce(e.taken_back_cents, 0)), 0)
                  FROM referral_rewards g LEFT JOIN referral_reward_ends e ON e.reward_id = g.id
                  WHERE g.customer_id = r.referrer_id AND g.role = 'milestone')
               + (SELECT coalesce(sum(g.cost_cents - coalesce(e.taken_back_cents, 0)), 0)
                  FROM referrals f JOIN referral_rewards g ON g.referral_id = f.id
                  LEFT JOIN referral_reward_ends e ON e.reward_id = g.id
                  WHERE f.referrer_id = r.referrer_id)
             FROM r",
        )?;
        let rows: Vec<(CustomerId, i64, i64, Cents, Cents, Cents)> = st
            .query_map(
                params![now - Duration::days(90), now - Duration::days(365), i64::from(limit.clamp(1, 500))],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, approved, in_progress, d90, m12, cost) in rows {
            if let Some(customer) = summaries(conn, &[id], country)?.pop() {
                out.push(Ambassador {
                    customer,
                    approved,
                    in_progress,
                    friends_spent_90d_cents: d90,
                    friends_spent_12m_cents: m12,
                    rewards_cents: cost,
                    return_cents: m12 - cost,
                });
            }
        }
        Ok(out)
    }

    /// Who referred whom from `customer`, three levels deep, and who referred them.
    pub fn referral_tree(&self, customer: CustomerId) -> Result<ReferralTree> {
        crate::customers::ensure_exists(self.conn(), customer)?;
        let conn = self.conn();
        let country = self.settings()?.country;
        let root = summaries(conn, &[customer], country)?
            .pop()
            .ok_or_else(|| crate::Error::not_found("customer", customer))?;
        let by: Option<CustomerId> = rusqlite::OptionalExtension::optional(conn.query_row(
            "SELECT referrer_id FROM referrals WHERE friend_id = ?1",
            [customer],
            |r| r.get(0),
        ))?;
        let referred_by = match by {
            Some(b) => summaries(conn, &[b], country)?.pop(),
            None => None,
        };
        Ok(ReferralTree { root, referred_by, friends: tree(conn, customer, 3, country)? })
    }

    /// Referral cards to print (code + QR), for these customers (unknown ids are skipped).
    pub fn referral_cards(&self, customers: &[CustomerId]) -> Result<Vec<ReferralCard>> {
        let country = self.settings()?.country;
        let mut out = Vec::new();
        for s in summaries(self.conn(), customers, country)? {
            let c = code::format(s.id);
            out.push(ReferralCard {
                customer_id: s.id,
                display_name: s.display_name,
                art: crate::cards::card_art(&c)?,
            });
        }
        Ok(out)
    }
}

/// The next milestone a referrer can still receive and how many referrals it needs: one they
/// neither hold nor had (`rules::milestones_ahead`), with a place and the budget left for it.
fn next_ahead<'a>(
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

/// A customer's referral events for the timeline: (when, row id, entry).
pub(crate) fn timeline_entries(
    conn: &Connection,
    id: CustomerId,
    limit: usize,
) -> Result<Vec<(DateTime<Utc>, i64, TimelineKind)>> {
    let mut st = conn.prepare_cached(
        "SELECT e.id, e.at, e.kind, e.reason, e.note, e.staff, e.data, e.referrer_id, e.friend_id,
                (SELECT trim(c.first_name || ' ' || c.last_name) FROM customers c
                  WHERE c.id = CASE WHEN e.referrer_id = ?1 THEN e.friend_id ELSE e.referrer_id END)
         FROM referral_events e WHERE e.id IN (
           SELECT id FROM referral_events WHERE referrer_id = ?1
           UNION SELECT id FROM referral_events WHERE friend_id = ?1)
         ORDER BY e.id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(params![id, limit as i64], |r| {
        let referrer: CustomerId = r.get(7)?;
        let friend: Option<CustomerId> = r.get(8)?;
        let data: String = r.get(6)?;
        let role = if referrer == id { "referrer" } else { "friend" };
        Ok((
            r.get(1)?,
            r.get::<_, i64>(0)?,
            TimelineKind::Referral {
                event: r.get(2)?,
                role: role.to_string(),
                other_id: if referrer == id { friend } else { Some(referrer) },
                other_name: r.get(9)?,
                reason: r.get(3)?,
                note: r.get(4)?,
                staff: r.get(5)?,
                detail: serde_json::from_str::<serde_json::Value>(&data)
                    .ok()
                    .and_then(|d| d.get("label").and_then(|l| l.as_str()).map(String::from)),
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The referral personal fields of a message: code, number of friends, next milestone.
pub(crate) fn personal_fields(
    conn: &Connection,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<(String, i64, String, String)> {
    let friends: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM referrals WHERE referrer_id = ?1 AND status IN ('pending', 'qualified', 'approved')",
        )?
        .query_row([customer], |r| r.get(0))?;
    let mut next = String::new();
    let mut invite = String::new();
    if let Some(v) = current_offer(conn)?.filter(|v| v.offer.runs_on(super::versions::local_day(now))) {
        let s = crate::settings::read(conn)?;
        // Only while an offer runs: the welcome message's line about passing the code on.
        invite = crate::i18n::tr(s.language, "referral.invite", &[("code", code::format(customer))]);
        if let Some((m, missing)) = next_ahead(conn, customer, &v.offer)? {
            next = crate::i18n::tr(
                s.language,
                "referral.next_milestone",
                &[
                    ("missing", missing.to_string()),
                    ("reward", reward_label(&m.reward, s.language, s.currency, s.locale)),
                ],
            );
        }
    }
    Ok((code::format(customer), friends, next, invite))
}
