//! Satisfaction (NPS): one 0–10 question ("Would you recommend us to a friend?") with an
//! optional comment, asked at the till on a screen the customer reads, typed from a paper
//! form, or sent by email with eleven links that open a reply to the shop (the mailbox reader
//! brings the answers back through `record_email_answer`).
//!
//! `rules` holds the pure rules (groups, score, 90 days between questions, themes of the
//! comments, the reply subject); `store` the answers, invitations and follow-ups.

pub mod rules;
mod store;

pub use rules::{NpsGroup, Theme};
pub use store::*;
