//! What the till and the customer page show about one customer's loyalty: balance, tier and
//! progress, stamps and milestones, expiring points, vouchers, the rewards within reach.
//! Read-only: everything here is derived from the ledgers at the time asked.

use super::catalogue::{check_reward_available, rewards_in, Counted, Reward};
use super::ledgers::{carry, claimed_milestones, stamps_balance, usable_points};
use super::programme::programme;
use super::rules::{self, EXPIRING_SOON_DAYS};
use super::tiers::{tier_now, NextTier, TierStatus};
use super::vouchers::{usable_vouchers, Voucher};
use crate::error::Result;
use crate::storage::Store;
use crate::types::{Cents, CustomerId};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExpiringPoints {
    pub at: DateTime<Utc>,
    pub points: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MilestoneStatus {
    pub stamps: i64,
    pub label: String,
    pub reached: bool,
    /// Already claimed on the current card.
    pub claimed: bool,
}

/// What the till and the customer page show about a customer's loyalty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LoyaltyStatus {
    /// A programme with points or stamps is in force.
    pub programme_active: bool,
    pub points: i64,
    pub stamps: i64,
    pub carry_cents: Cents,
    pub tier: Option<TierStatus>,
    pub next_tier: Option<NextTier>,
    pub expiring_soon: Vec<ExpiringPoints>,
    pub milestones: Vec<MilestoneStatus>,
    pub vouchers: Vec<Voucher>,
    /// Catalogue rewards available to this customer now, with whether the points pay for them.
    pub rewards: Vec<RewardOffer>,
    pub next_goal: Option<rules::NextGoal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RewardOffer {
    /// The reward; its `redeemed` is counted only when it has a limited stock (0 otherwise:
    /// the catalogue, not the till, says how often an unlimited reward was given).
    pub reward: Reward,
    pub affordable: bool,
}

impl Store {
    /// Balance, tier and progress, stamps, expiring points and vouchers of a customer.
    pub fn loyalty_status(&self, customer: CustomerId) -> Result<LoyaltyStatus> {
        crate::customers::ensure_exists(self.conn(), customer)?;
        let conn = self.conn();
        let now = self.now();
        let p = programme(conn)?;
        let (points, lots) = usable_points(conn, &p, customer, now)?;
        let stamps = stamps_balance(conn, customer)?;
        let (tier, next_tier) = tier_now(conn, &p, customer, now, None)?;
        let milestones = match &p.stamps {
            None => Vec::new(),
            Some(s) => {
                let claimed = claimed_milestones(conn, customer, s.milestones.len().saturating_sub(1))?;
                s.milestones
                    .iter()
                    .enumerate()
                    .map(|(i, m)| MilestoneStatus {
                        stamps: m.stamps,
                        label: m.label.clone(),
                        reached: stamps >= m.stamps,
                        claimed: claimed.contains(&i),
                    })
                    .collect()
            }
        };
        let mut rewards = Vec::new();
        // Counting how often an unlimited reward was given reads the whole shop's redemptions:
        // the till does not need it, and on a large shop it was most of the look-up.
        for r in rewards_in(conn, false, Counted::Stocked)? {
            if check_reward_available(conn, &r, customer, now).is_ok() {
                rewards.push(RewardOffer { affordable: r.points_cost <= points, reward: r });
            }
        }
        let next_goal = rules::next_goal(
            stamps,
            &milestones.iter().filter(|m| !m.claimed).map(|m| (m.stamps, m.label.clone())).collect::<Vec<_>>(),
            points,
            &rewards.iter().map(|o| (o.reward.points_cost, o.reward.name.clone())).collect::<Vec<_>>(),
        );
        Ok(LoyaltyStatus {
            programme_active: p.is_active(),
            rewards,
            next_goal,
            points,
            stamps,
            carry_cents: carry(conn, customer)?,
            tier,
            next_tier,
            expiring_soon: rules::expiring_within(&lots, now, EXPIRING_SOON_DAYS)
                .into_iter()
                .map(|(at, points)| ExpiringPoints { at, points })
                .collect(),
            milestones,
            vouchers: usable_vouchers(conn, customer, now)?,
        })
    }
}

/// The index of the tier a customer holds now (qualified for, or still kept).
pub(crate) fn tier_index_now(conn: &Connection, customer: CustomerId, now: DateTime<Utc>) -> Result<Option<u32>> {
    let p = programme(conn)?;
    Ok(tier_now(conn, &p, customer, now, None)?.0.map(|t| t.index))
}

/// The index of the tier a customer qualifies for now by spend or points, kept tiers aside.
pub(crate) fn live_tier_index(conn: &Connection, customer: CustomerId, now: DateTime<Utc>) -> Result<Option<u32>> {
    let p = programme(conn)?;
    super::tiers::live_tier(conn, &p, customer, now)
}

/// The loyalty values a message can carry for one customer: points usable now, the tier held,
/// and the voucher attached to them that expires first.
pub(crate) fn personal_loyalty(
    conn: &Connection,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<(i64, Option<String>, Option<Voucher>)> {
    let p = programme(conn)?;
    let (points, _) = usable_points(conn, &p, customer, now)?;
    let (tier, _) = tier_now(conn, &p, customer, now, None)?;
    let voucher = usable_vouchers(conn, customer, now)?.into_iter().next();
    Ok((points, tier.map(|t| t.name), voucher))
}
