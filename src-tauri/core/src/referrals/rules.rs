//! The pure rules of a referral's life: a friend's purchase qualifying it, the hold before
//! approval, a refund voiding or reversing it, milestones reached (cumulative or highest
//! only), and whether a reward can still be given (slots, budget, cap per referrer).
//!
//! Invariants: no rule reads the clock or the database; every refusal names its reason.

use super::offer::{Milestone, Offer, Stacking};
use crate::types::Cents;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a friend's purchase does to a pending referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurchaseStep {
    /// The purchase is too small, or dated before the referral: nothing changes.
    Ignored,
    /// The qualifying period is over: the referral expires.
    Expired,
    /// A first purchase of at least the minimum; a second one is still needed.
    FirstRecorded,
    /// The referral qualifies: the hold starts.
    Qualifies,
}

/// Rule: a friend's purchase (`paid_cents` at `at`) qualifies a referral made at `referred_at`
/// when it is at least the minimum and within `within_days` of the referral; with a second
/// purchase required, the first such purchase is recorded and the next one qualifies.
pub fn purchase_step(
    o: &Offer,
    referred_at: DateTime<Utc>,
    has_first: bool,
    at: DateTime<Utc>,
    paid_cents: Cents,
) -> PurchaseStep {
    if at < referred_at {
        return PurchaseStep::Ignored;
    }
    if at > qualify_deadline(o, referred_at) {
        return PurchaseStep::Expired;
    }
    // A ticket covered in full by a voucher or a reward (recorded at zero) is not a purchase
    // that qualifies, whatever the minimum (as `refund_effect` judges what is left).
    if paid_cents < o.min_purchase_cents || paid_cents <= 0 {
        return PurchaseStep::Ignored;
    }
    if o.second_purchase && !has_first {
        PurchaseStep::FirstRecorded
    } else {
        PurchaseStep::Qualifies
    }
}

/// Rule: the last moment a purchase can qualify a referral made at `referred_at`.
pub fn qualify_deadline(o: &Offer, referred_at: DateTime<Utc>) -> DateTime<Utc> {
    referred_at + Duration::days(i64::from(o.within_days))
}

/// Rule: a referral that qualified at `at` is approved once the hold is over — at the end of
/// the shop's local day `hold_days` days later, so a return on the last day of the return
/// period still counts; with no hold, at once.
pub fn hold_until(o: &Offer, at: DateTime<Utc>) -> DateTime<Utc> {
    if o.hold_days == 0 {
        return at;
    }
    let last = at.with_timezone(&chrono::Local).date_naive() + Duration::days(i64::from(o.hold_days));
    crate::analytics::calendar::local_midnight(last + Duration::days(1))
}

/// Rule: a qualified referral is approved once its hold is over, unless it waits for review.
pub fn is_due(hold_until: DateTime<Utc>, flagged: bool, now: DateTime<Utc>) -> bool {
    !flagged && hold_until <= now
}

/// What a refund of a qualifying purchase does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundEffect {
    /// What is left of the purchase still reaches the minimum: nothing changes.
    None,
    /// The purchase no longer counts before the referral qualified (second purchase pending).
    ForgetFirst,
    /// Refunded during the hold: the referral is voided (rewards given early are taken back).
    VoidDuringHold,
    /// Refunded after approval: its rewards are taken back, what was spent is a loss.
    ReverseAfterApproval,
}

/// The stage of a referral, as the refund rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Pending,
    Qualified,
    Approved,
    Ended,
}

/// Rule: a refund matters when what is left of the qualifying purchase falls below the
/// offer's minimum: before qualifying the purchase stops counting, during the hold the
/// referral is voided, after approval it is reversed.
pub fn refund_effect(stage: Stage, min_purchase_cents: Cents, remaining_cents: Cents) -> RefundEffect {
    if remaining_cents >= min_purchase_cents && remaining_cents > 0 {
        return RefundEffect::None;
    }
    match stage {
        Stage::Pending => RefundEffect::ForgetFirst,
        Stage::Qualified => RefundEffect::VoidDuringHold,
        Stage::Approved => RefundEffect::ReverseAfterApproval,
        Stage::Ended => RefundEffect::None,
    }
}

/// Rule: the milestones a referrer with `approved` referrals is entitled to — every one
/// reached (cumulative), or only the highest reached.
pub fn entitled(milestones: &[Milestone], stacking: Stacking, approved: u32) -> Vec<u32> {
    let reached: Vec<u32> = milestones.iter().filter(|m| approved >= m.referrals).map(|m| m.key).collect();
    match stacking {
        Stacking::Cumulative => reached,
        Stacking::HighestOnly => reached.last().copied().into_iter().collect(),
    }
}

/// A milestone reward a referrer holds now, judged by the version of the offer it was given
/// under (the merchant may have edited the offer since).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldMilestone {
    pub grant_id: i64,
    pub key: u32,
    /// The milestone's number of referrals in the version it was given under.
    pub threshold: u32,
    /// Approved referrals counted under that version's dates.
    pub approved: u32,
}

/// Why a milestone reward held is taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeBack {
    /// The referrer's count fell under what it was given for (a friend refunded).
    Lost,
    /// Only the highest milestone counts and a higher one is given.
    Replaced,
}

/// What to do so that a referrer holds the milestones they are entitled to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MilestonePlan {
    pub take_back: Vec<(i64, TakeBack)>,
    /// Milestones of the offer in force to give, lowest first.
    pub give: Vec<u32>,
}

/// Rule: a milestone reward is earned while the count it was given for still holds — the
/// referrer has at least its number of referrals (counted over its version's dates or the
/// offer in force's, whichever is more), or the offer in force entitles them to it. Editing
/// the offer (a higher threshold, a milestone removed, another stacking) never takes back what
/// a referrer earned; only a count that falls does. When `giving` (the offer is on and has
/// milestones), the offer in force says what is given next: every milestone reached and not
/// held — nor held already under an older version at the same number of referrals —
/// (cumulative), or the highest reached when it is above the highest earned one held, which it
/// then replaces with the other ones held (highest only).
pub fn milestone_plan(
    milestones: &[Milestone],
    stacking: Stacking,
    approved: u32,
    held: &[HeldMilestone],
    giving: bool,
) -> MilestonePlan {
    let reached = entitled(milestones, Stacking::Cumulative, approved);
    let current_threshold = |key: u32| milestones.iter().find(|m| m.key == key).map(|m| m.referrals);
    let earned = |h: &HeldMilestone| h.approved >= h.threshold || reached.contains(&h.key);
    let mut plan = MilestonePlan::default();
    for h in held.iter().filter(|h| !earned(h)) {
        plan.take_back.push((h.grant_id, TakeBack::Lost));
    }
    if !giving {
        return plan;
    }
    let kept: Vec<&HeldMilestone> = held.iter().filter(|h| earned(h)).collect();
    match stacking {
        Stacking::Cumulative => {
            // A milestone removed and added again (a new key) is the same step for whoever
            // holds the old one.
            let covered = |k: u32| {
                let t = current_threshold(k);
                kept.iter().any(|h| h.key == k || (current_threshold(h.key).is_none() && Some(h.threshold) == t))
            };
            plan.give = reached.into_iter().filter(|k| !covered(*k)).collect();
        }
        Stacking::HighestOnly => {
            // A held milestone ranks by its threshold in the offer in force, or in its own
            // version when the offer no longer has it.
            let rank = |h: &HeldMilestone| current_threshold(h.key).unwrap_or(h.threshold);
            let best = kept.iter().map(|h| rank(h)).max();
            if let Some(top) = reached.last().copied() {
                let top_rank = current_threshold(top).unwrap_or(0);
                let holds_top = kept.iter().any(|h| h.key == top);
                // Only a higher milestone given now replaces the others: switching to "highest
                // only" takes back nothing already earned.
                if !holds_top && best.is_none_or(|b| top_rank > b) {
                    plan.give.push(top);
                    for h in &kept {
                        plan.take_back.push((h.grant_id, TakeBack::Replaced));
                    }
                }
            }
        }
    }
    plan
}

/// The milestones still ahead of a referrer, as the customer page and messages announce them:
/// those of the offer in force they neither hold nor had, above the highest they hold when
/// only the highest counts (see `milestone_plan`).
pub fn milestones_ahead<'a>(
    milestones: &'a [Milestone],
    stacking: Stacking,
    held: &[HeldMilestone],
) -> Vec<&'a Milestone> {
    let current_threshold = |key: u32| milestones.iter().find(|m| m.key == key).map(|m| m.referrals);
    let best = held.iter().map(|h| current_threshold(h.key).unwrap_or(h.threshold)).max();
    milestones
        .iter()
        .filter(|m| {
            !held.iter().any(|h| h.key == m.key || (current_threshold(h.key).is_none() && h.threshold == m.referrals))
        })
        .filter(|m| stacking == Stacking::Cumulative || best.is_none_or(|b| m.referrals > b))
        .collect()
}

/// Rule: a version of the offer counts in the period of the latest earlier version whose
/// dates hold its start date (a start date corrected or moved, an end date changed, next year's
/// offer undone: the places and the budget already used stay used); failing that, in the period
/// of the version before it while its start is not after that one's end (a start moved earlier);
/// otherwise it opens a new period, named by its start date (next year's offer). `versions` are
/// the saved versions, latest first.
pub fn period_of(new: &Offer, versions: &[Offer]) -> NaiveDate {
    let holds = |v: &Offer| v.counts_from() <= new.starts_on && v.ends_on.is_none_or(|end| new.starts_on <= end);
    if let Some(v) = versions.iter().find(|v| holds(v)) {
        return v.period_start();
    }
    match versions.first() {
        Some(b) if b.ends_on.is_none_or(|end| new.starts_on <= end) => b.period_start(),
        _ => new.starts_on,
    }
}

/// Rule: a milestone key names one milestone for the life of the offer (its slots, who
/// holds it). A milestone new in this version whose key an older version used for another
/// milestone (removed since) gets a key never used before; milestones kept keep theirs.
pub fn fresh_keys(milestones: &mut [Milestone], current: &[u32], ever: &[u32]) {
    let mut next = ever.iter().chain(milestones.iter().map(|m| &m.key)).copied().max().unwrap_or(0);
    for m in milestones.iter_mut() {
        if ever.contains(&m.key) && !current.contains(&m.key) {
            next += 1;
            m.key = next;
        }
    }
}

/// Why a reward was not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Every "first N" slot of the milestone is taken.
    NoSlotLeft,
    /// The offer's budget cannot pay for it.
    BudgetSpent,
    /// The referrer already received the most one referrer may.
    CapReached,
    /// The catalogue reward is no longer offered, or gives no voucher.
    RewardUnavailable,
    /// The catalogue gift's stock is used up (a limited stock is limited for everyone).
    OutOfStock,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NoSlotLeft => "no_slot_left",
            Refusal::BudgetSpent => "budget_spent",
            Refusal::CapReached => "cap_reached",
            Refusal::RewardUnavailable => "reward_unavailable",
            Refusal::OutOfStock => "out_of_stock",
        }
    }
}

/// What the offer has given so far in its period, as the grant rule needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spent {
    /// Cost of the rewards given and not taken back (losses included).
    pub committed_cents: Cents,
    /// Slots of this milestone taken (rewards given and not fully taken back).
    pub slots_taken: u32,
    /// What this referrer received under the offer (when the reward goes to a referrer).
    pub referrer_cents: Cents,
}

/// Rule: a reward of `cost` is given only when a slot is left (milestones with slots), the
/// budget can pay for it and the referrer stays within the cap. Checked in this order.
pub fn may_give(
    slots: Option<u32>,
    budget_cents: Option<Cents>,
    cap_cents: Option<Cents>,
    to_referrer: bool,
    spent: Spent,
    cost: Cents,
) -> Result<(), Refusal> {
    if slots.is_some_and(|s| spent.slots_taken >= s) {
        return Err(Refusal::NoSlotLeft);
    }
    if budget_cents.is_some_and(|b| spent.committed_cents + cost > b) {
        return Err(Refusal::BudgetSpent);
    }
    if to_referrer && cap_cents.is_some_and(|c| spent.referrer_cents + cost > c) {
        return Err(Refusal::CapReached);
    }
    Ok(())
}

/// Rule: how many rewards of a milestone remain to give — its slots left, and no more than
/// the budget left can pay for. `None` when nothing limits it.
pub fn remaining(slots_left: Option<u32>, budget_left: Option<Cents>, cost: Cents) -> Option<u32> {
    let by_budget =
        budget_left.map(|b| if cost <= 0 { u32::MAX } else { (b.max(0) / cost).min(i64::from(u32::MAX)) as u32 });
    match (slots_left, by_budget) {
        (Some(s), Some(b)) => Some(s.min(b)),
        (s, b) => s.or(b),
    }
}

/// The next milestone of a referrer: how many more approved referrals it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NextMilestone {
    pub key: u32,
    pub referrals: u32,
    pub missing: u32,
    pub label: String,
}

/// Rule: the next milestone is the first one above the referrer's approved count.
pub fn next_milestone(milestones: &[Milestone], approved: u32) -> Option<(&Milestone, u32)> {
    milestones.iter().find(|m| m.referrals > approved).map(|m| (m, m.referrals - approved))
}

/// Rule: in "highest only", a higher milestone replaces a lower one the referrer already
/// spent by giving only the difference when both are of the same kind (an amount voucher or
/// points); `None` means the full reward.
pub fn top_up(
    higher: &super::offer::RewardSpec,
    spent_lower: &[&super::offer::RewardSpec],
) -> Option<super::offer::RewardSpec> {
    use super::offer::RewardSpec::*;
    match higher {
        Voucher { cents, valid_days } => {
            let already: Cents =
                spent_lower.iter().map(|r| if let Voucher { cents, .. } = r { *cents } else { 0 }).sum();
            (already > 0).then(|| Voucher { cents: (cents - already).max(0), valid_days: *valid_days })
        }
        Points { points } => {
            let already: i64 = spent_lower.iter().map(|r| if let Points { points } = r { *points } else { 0 }).sum();
            (already > 0).then(|| Points { points: (points - already).max(0) })
        }
        _ => None,
    }
}
