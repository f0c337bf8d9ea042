//! Figures other modules will provide. Today they answer `None` and the dashboard leaves them
//! out; each says where its module plugs in.
//!
//! Referrals (issue 8, branch `referrals`): once `crate::referrals` exists, `referral_budget`
//! returns its offer budget (budget of the year, spent, left) and `referral_rewards_cents` the
//! value of the referral rewards granted since `since`, both read through that module's
//! public functions (no SQL on its tables here).

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

/// The referral offer's budget; `None` while the shop has no referrals module.
pub fn referral_budget(_conn: &Connection, _now: DateTime<Utc>) -> Result<Option<ReferralBudget>> {
    Ok(None)
}

/// What referral rewards cost since `since`; `None` while the shop has no referrals module.
pub fn referral_rewards_cents(_conn: &Connection, _since: DateTime<Utc>) -> Result<Option<Cents>> {
    Ok(None)
}
