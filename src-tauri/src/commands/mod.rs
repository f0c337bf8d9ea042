//! Tauri commands: thin adapters that take the arguments, call the core, and hand back its
//! answer or its `{code, message}` error. No business rule lives here.

pub mod app;
pub mod automations;
pub mod campaigns;
pub mod customers;
pub mod data;
pub mod deliverability;
pub mod loyalty;
pub mod mailbox;
pub mod numbers;
pub mod referrals;
pub mod sales;
