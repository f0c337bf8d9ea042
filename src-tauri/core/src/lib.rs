//! Comptoir core: every domain rule and all storage. No tauri, no UI.
//!
//! Layout: one module per domain (`customers`, `purchases`, `search`, `cards`, `settings`),
//! `storage` for opening, migrating and the single write path (`Store::transact`), `text` and
//! `phone` for the normalisations search relies on, `i18n` for the shared catalogues.
//! Pure rule functions take the time as an argument; only `Store` reads its `Clock`.

pub mod analytics;
pub mod automations;
pub mod bench;
mod bench_automations;
mod bench_campaigns;
mod bench_loyalty;
mod bench_numbers;
mod bench_sales;
mod bench_till;
pub mod bindings;
pub mod campaigns;
pub mod cards;
pub mod clock;
pub mod customers;
pub mod data;
pub mod demo;
pub mod error;
pub mod i18n;
pub mod loyalty;
pub mod mailbox;
pub mod nps;
pub mod phone;
pub mod purchases;
pub mod referrals;
pub mod search;
pub mod settings;
pub mod stats;
pub mod storage;
pub mod text;
pub mod types;

#[cfg(test)]
pub(crate) mod testutil;

pub use error::{Error, ErrorPayload, Result};
pub use storage::Store;
pub use types::*;
