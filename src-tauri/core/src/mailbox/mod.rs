//! What comes back to the mailbox: bounces, complaints, unsubscribe and STOP replies,
//! automatic replies, answers to the satisfaction question, and the tests the merchant sent
//! to themself — read over IMAP (or through the bounce API of Brevo and Mailjet), classified,
//! and acted on through the suppression list (`campaigns::suppression`).
//!
//! - `settings`: where to read (IMAP from the presets, the API), passwords in the keychain.
//! - `imap`: the connection and the reading, read-only by default, a position per folder.
//! - `dsn`, `classify`: what a message is, as pure functions with table tests.
//! - `record`: matching to the shop's message, the decision (hard bounce → suppressed, soft →
//!   after three over two sendings, complaint → suppressed and unsubscribed, token →
//!   unsubscribed, STOP → waits for confirmation, NPS → the numbers' `nps_answers` through
//!   `nps::record_email_answer`), the log.
//! - `readback`: what the receiving side saw of a test (folder, SPF/DKIM/DMARC, spam).
//! - `providers`: Brevo and Mailjet's bounce APIs.
//! - `run`: one reading of every source, recorded in `mailbox_runs`.
//! - `freshness`: the 48-hour rule that holds campaigns back when the mailbox is not read.
//! - `views`: what the screen lists, and the merchant's confirmations.
//!
//! Invariants: nothing is read twice (positions, unique origins); nothing is deleted from the
//! mailbox; every decision is logged with its reason and the raw message of what was acted on;
//! the database never holds a password or key.

pub(crate) mod bench;
pub mod classify;
pub mod dsn;
pub mod freshness;
pub mod imap;
pub mod providers;
pub mod readback;
pub mod record;
pub mod run;
pub mod settings;
pub mod views;

#[cfg(test)]
mod tests;
