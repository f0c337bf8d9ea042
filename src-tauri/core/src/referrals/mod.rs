//! Referrals (parrainage): a permanent code per customer, a friend linked to their referrer
//! when they are created (code, loyalty card scan or name search), an offer with qualifying
//! purchase, hold, rewards on both sides, milestones with "first N" slots and a budget,
//! fraud checks with reasons and a review queue, ambassadors and who referred whom.
//!
//! Layout: `code`, `offer`, `rules`, `fraud` are pure; `versions` saves the offer's versions;
//! `link_input` reads what the counter typed (the referrer, staff, note), `link_checks` says
//! whether a friend may be linked, `store` links friends; `engine` moves a referral through
//! its life (sales, refunds, the hold, review, merges); `grants` gives and takes back rewards
//! through the loyalty ledgers; `views` answers the screens (with `counters` and
//! `ambassadors`); `reglement` writes the printable rules and notice; `demo` fills the demo
//! shop.
//!
//! Invariants: every write runs inside the caller's `Store::transact` (sales and refunds call
//! the hooks inside theirs), so slots and the budget are checked and taken under one
//! `BEGIN IMMEDIATE`; a referral is rewarded at most once per side (unique index); every
//! reward is a points entry or a voucher; taking one back is a new entry (a points debit,
//! a voucher cancellation, a loss record), never an edit; every status change is an event
//! with its reason.

mod ambassadors;
pub mod code;
mod counters;
pub(crate) mod demo;
mod engine;
pub mod fraud;
mod grants;
mod link_checks;
mod link_input;
pub mod offer;
pub mod reglement;
pub mod rules;
mod store;
mod versions;
mod views;

pub use engine::{Decision, ProcessReport};
pub use link_input::ReferrerLookup;
pub use offer::{CostPart, FriendRewardAt, Milestone, Offer, RewardSpec, Stacking, WorstCase};
pub use reglement::{Notice, Reglement, ReglementSection};
pub use rules::{NextMilestone, Refusal};
pub use versions::OfferCheck;
pub use views::*;

pub(crate) use counters::{budget_figures, rewards_value_since};
pub(crate) use engine::{on_merge, on_refund, on_sale};
pub(crate) use link_checks::on_contact_change;
pub(crate) use store::link_new_tx;
pub(crate) use views::{personal_fields, timeline_entries};

use crate::types::CustomerId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How the referrer was designated at the counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReferrerRef {
    /// Their referral code, typed or scanned from a referral card.
    Code { code: String },
    /// Their loyalty card, scanned or typed.
    Card { number: String },
    /// Picked from a name search.
    Customer { id: CustomerId },
}

impl ReferrerRef {
    fn via(&self) -> &'static str {
        match self {
            ReferrerRef::Code { .. } => "code",
            ReferrerRef::Card { .. } => "card",
            ReferrerRef::Customer { .. } => "customer",
        }
    }
}

/// "Parrainé par": the referrer and who at the counter made the link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReferrerLink {
    pub referrer: ReferrerRef,
    /// The staff member (kept with every change; also used to spot bursts).
    pub staff: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    /// Waiting for the friend's qualifying purchase.
    Pending,
    /// Qualified; approved when the hold is over (and the review, if flagged, is done).
    Qualified,
    Approved,
    /// Ended without reward (expired, refunded, link removed, merged); see the reason.
    Voided,
    /// Refused in review.
    Rejected,
    /// Made while no offer was running: recorded, never rewarded.
    OutsideOffer,
}

impl ReferralStatus {
    pub const ALL: [ReferralStatus; 6] = [
        ReferralStatus::Pending,
        ReferralStatus::Qualified,
        ReferralStatus::Approved,
        ReferralStatus::Voided,
        ReferralStatus::Rejected,
        ReferralStatus::OutsideOffer,
    ];
    pub fn code(self) -> &'static str {
        match self {
            ReferralStatus::Pending => "pending",
            ReferralStatus::Qualified => "qualified",
            ReferralStatus::Approved => "approved",
            ReferralStatus::Voided => "voided",
            ReferralStatus::Rejected => "rejected",
            ReferralStatus::OutsideOffer => "outside_offer",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.code() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    None,
    /// Waits for a person to approve or reject it.
    Flagged,
    /// Flagged, then approved in review.
    Cleared,
}

impl Review {
    pub fn parse(s: &str) -> Review {
        match s {
            "flagged" => Review::Flagged,
            "cleared" => Review::Cleared,
            _ => Review::None,
        }
    }
}

/// A saved version of the offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OfferVersion {
    pub version: i64,
    pub offer: Offer,
    pub saved_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_gifts;
#[cfg(test)]
mod tests_link;
#[cfg(test)]
mod tests_milestones;
#[cfg(test)]
mod tests_outputs;
#[cfg(test)]
mod tests_props;
#[cfg(test)]
mod tests_refunds;
#[cfg(test)]
mod tests_rules;
#[cfg(test)]
mod tests_versions;
