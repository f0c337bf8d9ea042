//! Figures the dashboard takes from other modules, read through their functions (no SQL on
//! their tables here).
//!
//! Referrals: `referral_budget` is the budget of the offer in force for its period (what was
//! given and not taken back counts against it, as the offer screen counts it; `None` without an
//! offer or without a budget); `referral_rewards_cents` the value of the referral rewards given
//! since `since` and not taken back.

use crate::error::Result;
use crate::types::Cents;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The referral offer's budget, as the referrals module tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReferralBudget {
    pub budget_cents: Cents,
    pub spent_cents: Cents,
    pub left_cents: Cents,
}

/// The referral offer's budget; `None` without an offer or when it has no budget.
pub fn referral_budget(conn: &Connection) -> Result<Option<ReferralBudget>> {
    Ok(crate::referrals::budget_figures(conn)?.map(|(budget, spent)| ReferralBudget {
        budget_cents: budget,
        spent_cents: spent,
        left_cents: (budget - spent).max(0),
    }))
}

/// What referral rewards cost since `since`; `None` while none was ever given.
pub fn referral_rewards_cents(conn: &Connection, since: DateTime<Utc>) -> Result<Option<Cents>> {
    let any: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM referral_rewards)", [], |r| r.get(0))?;
    Ok(if any { Some(crate::referrals::rewards_value_since(conn, since)?) } else { None })
}
