//! The referrers: the ambassadors ranking (approved referrals, their friends' spending over 90
//! days and 12 months, what the rewards of their referrals cost, the return), who referred whom
//! three levels deep, and printable referral cards (the code as text, Code128 and QR).
//!
//! Invariants: read-only; a level of the tree lists at most `MAX_TREE_CHILDREN` friends; a
//! customer who cannot be summarised (unknown id) is skipped, never an error.

use super::{code, ReferralStatus};
use crate::customers::{summaries, CustomerSummary};
use crate::error::Result;
use crate::storage::Store;
use crate::types::{Cents, CustomerId};
use chrono::Duration;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
