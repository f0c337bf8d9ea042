//! The numbers that tell a merchant what to do: the dashboard, RFM segments, churn risk on each
//! customer's rhythm, lifetime value, the loyalty programme's return, loyalty types, and the
//! lists of customers behind each figure.
//!
//! Layout, each file using only those listed before it: `calendar` (local days, weeks, months,
//! the windows compared — pure), `rfm` (scores and named segments — pure), `rhythm` (usual gap
//! and churn risk — pure), `clv` (BG/NBD + Gamma-Gamma — pure), `kinds` (loyalty types —
//! pure), `settings` (RFM period and thresholds, margin), `hooks` (figures other modules will
//! give, such as the referral budget), `days` (per-day figures derived from the purchases,
//! refreshed incrementally), `scores` (every customer's scores in one pass, stored), `programme`
//! (what the programme costs and brings), `dashboard` (the home screen), `insight` (one
//! customer's numbers for their page), `lists` (the customers behind a number).
//!
//! Invariants: everything here is derived from the purchases, ledgers and answers and can be
//! rebuilt; nothing runs inside a sale's transaction; heavy passes run in the background on
//! their own connection, in short transactions.

pub mod calendar;
pub mod clv;
pub mod dashboard;
pub mod days;
pub mod hooks;
pub mod insight;
pub mod kinds;
pub mod lists;
pub mod programme;
pub mod rfm;
pub mod rhythm;
pub mod scores;
pub mod settings;
