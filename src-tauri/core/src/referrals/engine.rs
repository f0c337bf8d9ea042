//! A referral's life: the friend's purchases qualify it (inside the sale's transaction), the
//! hold passes and it is approved (rewards, milestones), a refund voids or reverses it, a
//! review approves or rejects it, a merge moves it. Every change is an event with its reason.
//!
//! Invariants: everything runs inside the caller's transaction; approvals go in order of
//! hold end, so milestone slots go in order of approval; a referral is rewarded at most once
//! per side.

use super::grants::{self, EventFor, Role};
use super::offer::{FriendRewardAt, Offer, Stacking};
use super::rules::{self, PurchaseStep, RefundEffect, Stage};
use super::versions::{current_offer, offer_version, under};
use crate::analytics::calendar::local_midnight;
use crate::error::{Error, Result};
use crate::purchases::Purchase;
use crate::storage::{Store, Tx};
use crate::types::{CustomerId, Outcome, PurchaseId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A referral as the engine reads it.
pub(crate) struct Row {
    pub id: i64,
    pub referrer: CustomerId,
    pub friend: CustomerId,
    pub version: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub status: String,
    pub flagged: bool,
    pub first: Option<PurchaseId>,
    pub hold_until: Option<DateTime<Utc>>,
}

const ROW: &str = "SELECT id, referrer_id, friend_id, offer_version, created_at, status, review = 'flagged', first_purchase, hold_until FROM referrals";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        referrer: r.get(1)?,
        friend: r.get(2)?,
        version: r.get(3)?,
        created_at: r.get(4)?,
        status: r.get(5)?,
        flagged: r.get(6)?,
        first: r.get(7)?,
        hold_until: r.get(8)?,
    })
}

pub(crate) fn load(conn: &Connection, id: i64) -> Result<Row> {
    conn.prepare_cached(&format!("{ROW} WHERE id = ?1"))?
        .query_row([id], row)
        .optional()?
        .ok_or_else(|| Error::not_found("referral", id))
}

fn who(r: &Row) -> EventFor {
    EventFor { referral: Some(r.id), referrer: r.referrer, friend: Some(r.friend) }
}

/// The friend's purchase, inside the sale's transaction: record or qualify their referral.
pub(crate) fn on_sale(tx: &mut Tx, p: &Purchase) -> Result<()> {
    let found = tx
        .prepare_cached(&format!("{ROW} WHERE friend_id = ?1 AND status = 'pending' AND offer_version IS NOT NULL"))?
        .query_row([p.customer_id], row)
        .optional()?;
    let Some(r) = found else { return Ok(()) };
    let offer = offer_version(tx, r.version.expect("pending under an offer"))?;
    match rules::purchase_step(&offer, r.created_at, r.first.is_some(), p.occurred_at, p.amount_cents) {
        PurchaseStep::Ignored => Ok(()),
        PurchaseStep::Expired => end(tx, r.id, "voided", "expired", None, None, false),
        PurchaseStep::FirstRecorded => {
            tx.execute("UPDATE referrals SET first_purchase = ?2 WHERE id = ?1", params![r.id, p.id])?;
            grants::event(tx, &who(&r), "first_purchase", None, None, None, serde_json::json!({ "purchase_id": p.id }))
        }
        PurchaseStep::Qualifies => {
            let hold = rules::hold_until(&offer, p.occurred_at);
            let (first, second) = match r.first {
                Some(f) if offer.second_purchase => (f, Some(p.id)),
                _ => (p.id, None),
            };
            tx.execute(
                "UPDATE referrals SET status = 'qualified', qualified_at = ?2, hold_until = ?3, first_purchase = ?4, second_purchase = ?5 WHERE id = ?1",
                params![r.id, p.occurred_at, hold, first, second],
            )?;
            let data = serde_json::json!({ "purchase_id": p.id, "hold_until": hold });
            grants::event(tx, &who(&r), "qualified", None, None, None, data)?;
            tx.changes.customer(r.referrer);
            if !r.flagged && offer.friend_reward_at == FriendRewardAt::FirstPurchase {
                give_friend_reward(tx, r.id)?;
            }
            if rules::is_due(hold, r.flagged, tx.now) {
                approve(tx, r.id)?;
            }
            Ok(())
        }
    }
}

/// A refund of `sale`, inside the refund's transaction: `remaining` is what is left of it.
pub(crate) fn on_refund(tx: &mut Tx, sale: PurchaseId, remaining: i64) -> Result<()> {
    // A referral voucher taken back (recorded as a loss because it had been used) must not come
    // back to life when the sale it was used on is refunded and the use undone.
    let revived: Vec<i64> = tx
        .prepare_cached(
            "SELECT g.voucher_id FROM referral_rewards g
             JOIN referral_reward_ends e ON e.reward_id = g.id
             JOIN voucher_uses u ON u.voucher_id = g.voucher_id AND u.purchase_id = ?1 AND u.kind = 'undo'
             WHERE g.voucher_id IS NOT NULL",
        )?
        .query_map([sale], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for v in revived {
        let text = crate::i18n::tr(super::grants::lang_of(tx)?, "referral.end.voucher_refunded_after_take_back", &[]);
        crate::loyalty::cancel_voucher_tx(tx, v, &text)?;
    }
    let found = tx
        .prepare_cached(&format!("{ROW} WHERE first_purchase = ?1 OR second_purchase = ?1"))?
        .query_row([sale], row)
        .optional()?;
    let Some(r) = found else { return Ok(()) };
    let Some(version) = r.version else { return Ok(()) };
    let offer = offer_version(tx, version)?;
    let stage = match r.status.as_str() {
        "pending" => Stage::Pending,
        "qualified" => Stage::Qualified,
        "approved" => Stage::Approved,
        _ => Stage::Ended,
    };
    match rules::refund_effect(stage, offer.min_purchase_cents, remaining) {
        RefundEffect::None => Ok(()),
        RefundEffect::ForgetFirst => {
            tx.execute("UPDATE referrals SET first_purchase = NULL WHERE id = ?1", [r.id])?;
            Ok(())
        }
        RefundEffect::VoidDuringHold => end(tx, r.id, "voided", "refund_during_hold", None, None, true),
        RefundEffect::ReverseAfterApproval => end(tx, r.id, "voided", "refund_after_approval", None, None, true),
    }
}

/// End a referral (voided or rejected) with its reason. Rewards given for it are taken back
/// (unspent) or recorded as a loss (spent) — except a sign-up welcome when it merely expires;
/// an approved referral's referrer loses the milestones it no longer reaches.
pub(crate) fn end(
    tx: &mut Tx,
    id: i64,
    status: &str,
    reason: &str,
    note: Option<&str>,
    staff: Option<&str>,
    take_back_all: bool,
) -> Result<()> {
    let r = load(tx, id)?;
    let was_approved = r.status == "approved";
    tx.execute(
        "UPDATE referrals SET status = ?2, ended_at = ?3, end_reason = ?4 WHERE id = ?1",
        params![id, status, tx.now, reason],
    )?;
    let kind = if status == "rejected" { "rejected" } else { "voided" };
    grants::event(tx, &who(&r), kind, Some(reason), note, staff, serde_json::json!({}))?;
    for (grant, role) in grants::live_rewards_of(tx, id)? {
        if take_back_all || role != "friend" {
            grants::take_back(tx, grant, &who(&r), reason)?;
        }
    }
    tx.changes.customer(r.referrer);
    tx.changes.customer(r.friend);
    if was_approved {
        reconcile_milestones(tx, r.referrer)?;
    }
    Ok(())
}

fn reward_reason(tx: &Tx, key: &str, name_of: CustomerId) -> Result<String> {
    let name: String =
        tx.query_row("SELECT trim(first_name || ' ' || last_name) FROM customers WHERE id = ?1", [name_of], |r| {
            r.get(0)
        })?;
    Ok(crate::i18n::tr(grants::lang_of(tx)?, key, &[("name", name)]))
}

/// Give the friend's welcome reward of a referral, once.
pub(crate) fn give_friend_reward(tx: &mut Tx, id: i64) -> Result<()> {
    let r = load(tx, id)?;
    let Some(version) = r.version else { return Ok(()) };
    let offer = offer_version(tx, version)?;
    let Some(spec) = offer.friend_reward.clone() else { return Ok(()) };
    // Decided once: given, or refused with its reason (a refusal at the friend's purchase is
    // not tried and recorded again when the referral is approved).
    if grants::rewarded(tx, id, Role::Friend)? || grants::refused(tx, id, Role::Friend)? {
        return Ok(());
    }
    let reason = reward_reason(tx, "referral.reason.friend", r.referrer)?;
    let u = under(tx, &offer, version)?;
    // A refusal (budget spent) is recorded as an event by `give`.
    let _given = grants::give(tx, &u, r.friend, Role::Friend, &who(&r), None, &spec, &reason)?;
    Ok(())
}

/// Approve a referral whose hold is over: the referrer's reward, the friend's welcome if it
/// was waiting (a review), then the referrer's milestones.
pub(crate) fn approve(tx: &mut Tx, id: i64) -> Result<()> {
    let r = load(tx, id)?;
    if r.status != "qualified" {
        return Ok(());
    }
    let version = r.version.expect("a qualified referral has its offer");
    let offer = offer_version(tx, version)?;
    tx.execute("UPDATE referrals SET status = 'approved', approved_at = ?2 WHERE id = ?1", params![id, tx.now])?;
    grants::event(tx, &who(&r), "approved", None, None, None, serde_json::json!({}))?;
    tx.changes.customer(r.referrer);
    tx.changes.customer(r.friend);
    if let Some(spec) = offer.referrer_reward.clone() {
        if !grants::rewarded(tx, id, Role::Referrer)? {
            let reason = reward_reason(tx, "referral.reason.referrer", r.friend)?;
            let u = under(tx, &offer, version)?;
            let _given = grants::give(tx, &u, r.referrer, Role::Referrer, &who(&r), None, &spec, &reason)?;
        }
    }
    give_friend_reward(tx, id)?;
    reconcile_milestones(tx, r.referrer)
}

/// Approved referrals of `referrer` made within the offer's period and dates.
pub(crate) fn approved_in_offer(conn: &Connection, referrer: CustomerId, o: &Offer) -> Result<u32> {
    let start = local_midnight(o.counts_from());
    let end = o.ends_on.and_then(|d| d.succ_opt()).map(local_midnight);
    let n: i64 = conn.prepare_cached(
        "SELECT count(*) FROM referrals WHERE referrer_id = ?1 AND status = 'approved' AND created_at >= ?2 AND (?3 IS NULL OR created_at < ?3)",
    )?
    .query_row(params![referrer, start, end], |r| r.get(0))?;
    Ok(n as u32)
}

/// Make the referrer hold the milestones they are entitled to (see `rules::milestone_plan`):
/// give the missing ones of the offer in force (slots, budget and cap permitting), take back
/// those whose count fell — judged by the version each was given under, so an edit of the
/// offer never takes back what was earned — and, when only the highest counts, the lower ones
/// a higher one replaces (a lower one only once the higher one was actually given).
pub(crate) fn reconcile_milestones(tx: &mut Tx, referrer: CustomerId) -> Result<()> {
    let Some(current) = current_offer(tx)? else { return Ok(()) };
    let offer = current.offer;
    let approved = approved_in_offer(tx, referrer, &offer)?;
    let u = under(tx, &offer, current.version)?;
    let period = u.period();
    let grants_now = grants::milestone_grants(tx, referrer, &period)?;
    let giving = offer.active && !offer.milestones.is_empty();
    if !giving && !grants_now.iter().any(|g| g.active) {
        return Ok(());
    }
    let mut held = Vec::new();
    for g in grants_now.iter().filter(|g| g.active) {
        let own = if g.version == current.version { offer.clone() } else { offer_version(tx, g.version)? };
        let threshold = own.milestones.iter().find(|m| m.key == g.key).map(|m| m.referrals).unwrap_or(0);
        // Counted over its own version's dates or the offer in force's, whichever is more.
        let then = if g.version == current.version { approved } else { approved_in_offer(tx, referrer, &own)? };
        held.push(rules::HeldMilestone { grant_id: g.id, key: g.key, threshold, approved: then.max(approved) });
    }
    let plan = rules::milestone_plan(&offer.milestones, offer.stacking, approved, &held, giving);
    let who = EventFor { referral: None, referrer, friend: None };
    // Lost ones first: what they gave no longer counts against the cap of what is given next.
    for (grant, _) in plan.take_back.iter().filter(|(_, why)| *why == rules::TakeBack::Lost) {
        grants::take_back(tx, *grant, &who, "milestone_lost")?;
    }
    // What the ones a higher milestone replaces will give back (unspent), so that they do not
    // stand in its way under the budget or the cap. Points are given back only as far as the
    // balance holds them: the part already spent was had, like a used voucher (the higher
    // milestone then tops it up), and is not counted as coming back.
    let mut replaced_cents = 0;
    let mut points_left: Option<i64> = None;
    let mut points_back: Vec<(i64, i64)> = Vec::new();
    let mut spent_points: Vec<super::RewardSpec> = Vec::new();
    for (grant, _) in plan.take_back.iter().filter(|(_, why)| *why == rules::TakeBack::Replaced) {
        if held_and_spent(tx, *grant)? {
            continue;
        }
        let cost = grants::cost_of(tx, *grant)?;
        match grants::points_of(tx, *grant)? {
            Some(points) if points > 0 => {
                let left = match points_left {
                    Some(l) => l,
                    None => {
                        let p = crate::loyalty::programme::programme(tx)?;
                        crate::loyalty::usable_points(tx, &p, referrer, tx.now)?.0
                    }
                };
                let back = points.min(left).max(0);
                points_left = Some(left - back);
                points_back.push((*grant, back));
                replaced_cents += (i128::from(cost) * i128::from(back) / i128::from(points)) as crate::types::Cents;
                if back < points {
                    spent_points.push(super::RewardSpec::Points { points: points - back });
                }
            }
            _ => replaced_cents += cost,
        }
    }
    let mut refused_highest = false;
    for key in &plan.give {
        // A milestone reward already spent and recorded as a loss was had: reaching the
        // milestone again (a friend refunded, another approved) does not give it twice.
        if grants_now.iter().any(|g| !g.active && g.key == *key) {
            continue;
        }
        let m = offer.milestones.iter().find(|m| m.key == *key).expect("entitled milestones exist").clone();
        let mut spec = m.reward.clone();
        if offer.stacking == Stacking::HighestOnly {
            // The lower milestones, held now (replaced below) or already taken back after use.
            let lower: Vec<&super::RewardSpec> = grants_now
                .iter()
                .filter(|g| g.key != m.key)
                .filter(|g| !g.active || held_and_spent(tx, g.id).unwrap_or(false))
                .filter_map(|g| g.given.as_ref())
                .chain(spent_points.iter())
                .collect();
            if let Some(t) = rules::top_up(&m.reward, &lower) {
                spec = t;
            }
        }
        let reason = crate::i18n::tr(u.lang, "referral.reason.milestone", &[("count", m.referrals.to_string())]);
        let given = if super::offer::cost_cents(&spec, u.point_value) == 0 && spec != m.reward {
            // Fully paid already by the lower milestones spent.
            Ok(0)
        } else {
            grants::give_replacing(tx, &u, referrer, Role::Milestone, &who, Some(&m), &spec, &reason, replaced_cents)?
        };
        if given.is_err() && offer.stacking == Stacking::HighestOnly {
            refused_highest = true;
        }
    }
    if !refused_highest {
        // The higher one was given: the ones it replaces go (kept when it could not be given).
        for (grant, _) in plan.take_back.iter().filter(|(_, why)| *why == rules::TakeBack::Replaced) {
            let at_most = points_back.iter().find(|(g, _)| g == grant).map(|(_, n)| *n);
            grants::take_back_at_most(tx, *grant, &who, "replaced_by_higher", at_most)?;
        }
    }
    Ok(())
}

/// Whether a milestone reward still held was already spent (a used voucher).
fn held_and_spent(conn: &Connection, grant: i64) -> Result<bool> {
    let voucher: Option<i64> =
        conn.query_row("SELECT voucher_id FROM referral_rewards WHERE id = ?1", [grant], |r| r.get(0))?;
    match voucher {
        Some(v) => crate::loyalty::is_used(conn, v),
        None => Ok(false),
    }
}

/// Approve the referrals whose hold is over and expire those whose qualifying period ended,
/// oldest first, at most `limit` of each.
pub(crate) fn process_due(tx: &mut Tx, limit: usize) -> Result<ProcessReport> {
    let due: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM referrals WHERE status = 'qualified' AND hold_until <= ?1 AND review <> 'flagged'
             ORDER BY hold_until, id LIMIT ?2",
        )?
        .query_map(params![tx.now, limit as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut report = ProcessReport::default();
    for id in due {
        approve(tx, id)?;
        report.approved += 1;
    }
    let pending: Vec<(i64, i64, DateTime<Utc>)> = tx
        .prepare_cached(
            "SELECT id, offer_version, created_at FROM referrals WHERE status = 'pending' AND offer_version IS NOT NULL
             AND created_at < ?1 ORDER BY created_at LIMIT ?2",
        )?
        .query_map(params![tx.now - chrono::Duration::days(1), (limit * 4) as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut offers: std::collections::HashMap<i64, Offer> = std::collections::HashMap::new();
    for (id, version, created) in pending {
        if let std::collections::hash_map::Entry::Vacant(e) = offers.entry(version) {
            e.insert(offer_version(tx, version)?);
        }
        let deadline = rules::qualify_deadline(&offers[&version], created);
        if tx.now > deadline && report.expired < limit {
            end(tx, id, "voided", "expired", None, None, false)?;
            report.expired += 1;
        }
    }
    Ok(report)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProcessReport {
    pub approved: usize,
    pub expired: usize,
}

/// Two customers merged: referrals follow the customer kept; a referral between the two is
/// the same person referring themselves and is voided; a friend referred twice keeps the
/// referral of the customer kept.
pub(crate) fn on_merge(tx: &mut Tx, keep: CustomerId, other: CustomerId) -> Result<()> {
    // Rewards follow the person first, as the ledgers did (the caller moved them), so a reward
    // taken back below is taken from the ledger it now lives in.
    tx.execute("UPDATE referral_rewards SET customer_id = ?1 WHERE customer_id = ?2", params![keep, other])?;
    let between: Vec<i64> = tx
        .prepare("SELECT id FROM referrals WHERE (referrer_id = ?1 AND friend_id = ?2) OR (referrer_id = ?2 AND friend_id = ?1)")?
        .query_map(params![keep, other], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in between {
        if matches!(load(tx, id)?.status.as_str(), "pending" | "qualified" | "approved" | "outside_offer") {
            end(tx, id, "voided", "merged_same_person", None, None, true)?;
        }
    }
    tx.execute(
        "UPDATE referrals SET referrer_id = ?1 WHERE referrer_id = ?2 AND friend_id <> ?1",
        params![keep, other],
    )?;
    let keep_referred: bool = tx.prepare("SELECT 1 FROM referrals WHERE friend_id = ?1")?.exists([keep])?;
    if !keep_referred {
        tx.execute(
            "UPDATE referrals SET friend_id = ?1 WHERE friend_id = ?2 AND referrer_id <> ?1",
            params![keep, other],
        )?;
    } else if let Some(id) = tx
        .query_row(
            "SELECT id FROM referrals WHERE friend_id = ?1 AND status IN ('pending', 'qualified', 'approved')",
            [other],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
    {
        end(tx, id, "voided", "merged_duplicate", None, None, true)?;
    }
    // Whichever record was kept, the person now has every purchase of both: one who bought
    // before being referred was not a new customer, so not a friend to reward (as a link to
    // them is refused).
    let not_new: Vec<i64> = tx
        .prepare(
            "SELECT r.id FROM referrals r WHERE r.friend_id = ?1
               AND r.status IN ('pending', 'qualified', 'approved', 'outside_offer')
               AND EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = ?1 AND p.kind = 'sale' AND p.occurred_at < r.created_at)",
        )?
        .query_map([keep], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in not_new {
        end(tx, id, "voided", "merged_existing_customer", None, None, true)?;
    }
    // The events, those just written included.
    tx.execute("UPDATE referral_events SET referrer_id = ?1 WHERE referrer_id = ?2", params![keep, other])?;
    tx.execute("UPDATE referral_events SET friend_id = ?1 WHERE friend_id = ?2", params![keep, other])?;
    Ok(())
}

/// A decision of the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

impl Store {
    /// Approve the referrals whose hold is over and expire the stale ones. Run at start, on a
    /// timer, and when a referral screen opens.
    pub fn process_referrals(&mut self) -> Result<Outcome<ProcessReport>> {
        self.transact("referral_process", None, |tx| process_due(tx, 10_000))
    }

    /// Approve or reject a flagged referral, with a reason and the staff member.
    pub fn review_referral(
        &mut self,
        id: i64,
        decision: Decision,
        reason: &str,
        staff: &str,
        key: Option<&str>,
    ) -> Result<Outcome<()>> {
        let reason = crate::text::check_text("reason", reason, super::link_input::MAX_NOTE, true)?;
        let staff = super::link_input::clean_staff(staff, true)?;
        self.transact(("referral_review", &(id, decision, reason.as_deref(), staff.as_deref())), key, |tx| {
            let r = load(tx, id)?;
            if !r.flagged || !matches!(r.status.as_str(), "pending" | "qualified") {
                return Err(Error::conflict("conflict.referral_not_in_review"));
            }
            match decision {
                Decision::Reject => {
                    end(tx, id, "rejected", "rejected_in_review", reason.as_deref(), staff.as_deref(), true)
                }
                Decision::Approve => {
                    tx.execute("UPDATE referrals SET review = 'cleared' WHERE id = ?1", [id])?;
                    grants::event(
                        tx,
                        &who(&r),
                        "cleared",
                        None,
                        reason.as_deref(),
                        staff.as_deref(),
                        serde_json::json!({}),
                    )?;
                    tx.changes.customer(r.referrer);
                    tx.changes.customer(r.friend);
                    let offer = offer_version(tx, r.version.expect("reviewed referrals are under an offer"))?;
                    let welcome_due = match offer.friend_reward_at {
                        FriendRewardAt::SignUp => true,
                        FriendRewardAt::FirstPurchase => r.status == "qualified",
                    };
                    if welcome_due {
                        give_friend_reward(tx, id)?;
                    }
                    if r.hold_until.is_some_and(|h| rules::is_due(h, false, tx.now)) {
                        approve(tx, id)?;
                    }
                    Ok(())
                }
            }
        })
    }
}
