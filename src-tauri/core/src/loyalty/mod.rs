//! The loyalty programme: settings, what sales earn, rewards and vouchers, tiers, expiry.
//! Points, stamps and vouchers are append-only ledgers; every balance is derived from them.

pub mod programme;
pub mod rules;
mod store;
mod vouchers;

pub use programme::*;
pub use rules::{EarnLine, Earning, Lot, NextGoal};
pub use store::*;
pub use vouchers::*;

#[cfg(test)]
mod tests;
