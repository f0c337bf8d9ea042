//! The loyalty programme: settings, what sales earn, rewards and vouchers, tiers, expiry.
//! Points, stamps and vouchers are append-only ledgers; every balance is derived from them.
//!
//! Split by concept, each file depending only on those listed before it:
//! `programme` (the merchant's settings and their versions), `rules` (pure functions),
//! `ledgers` (points and stamps entries, balances, expiry), `tiers`, `vouchers` (reward
//! catalogue, vouchers), `earning` (sales, refunds, actions), `redemption` (rewards, points,
//! milestones and vouchers spent, alone or on a sale), `status` (one customer), `reports`
//! (liability, expiring points, suspicious activity), `expiry` (the shop-wide expiry run,
//! incremental, in short transactions), `facts` (usable balance and tier held, as SQL over
//! many customers).

mod catalogue;
mod earning;
mod expiry;
mod facts;
mod ledgers;
#[cfg(test)]
pub(crate) use ledgers::CLAIMED_MILESTONES_SQL;
pub mod programme;
mod redemption;
mod reports;
pub mod rules;
mod status;
mod tiers;
mod vouchers;

pub use catalogue::*;
pub(crate) use earning::{grant_points_tx, on_refund, on_sale, take_back_points_tx};
pub use facts::LoyaltyFacts;
pub(crate) use ledgers::usable_points;
pub use ledgers::*;
pub use programme::*;
pub use redemption::*;
pub use reports::*;
pub use rules::{EarnLine, Earning, Lot, NextGoal};
pub use status::*;
pub use tiers::*;
pub use vouchers::*;
pub(crate) use vouchers::{issue_gift_voucher_tx, issue_voucher_tx};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_facts;
