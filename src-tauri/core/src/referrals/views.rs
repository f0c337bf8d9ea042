//! What the screens show: a customer's referrals (parrainé par, friends, next milestone), the
//! offer's live counters, the review queue, the list of referrals, the ambassadors ranking and
//! who referred whom; plus the timeline entries and the personal fields of messages.
//!
//! Invariants: read-only; every figure is derived from the referral and reward tables.
//!
//! Split by concept: `counters` (the offer's live state and counters, the next milestone),
//! `ambassadors` (the ranking, who referred whom, referral cards); this module keeps the
//! referrals as lists show them, a customer's referrals, the timeline and personal fields.

use super::counters::{next_ahead, state};
use super::grants::reward_label;
use super::link_checks::link_refusal;
use super::versions::{correction_deadline, current_offer};
use super::{code, fraud::Flag, rules, ReferralStatus, Review};
use crate::customers::{summaries, CustomerSummary, TimelineKind};
use crate::error::Result;
use crate::storage::Store;
use crate::types::CustomerId;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use super::ambassadors::{Ambassador, ReferralCard, ReferralTree, TreeNode, MAX_TREE_CHILDREN};
pub use super::counters::{Counters, MilestoneCounter, OfferState, Overview, StatusCount};

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
