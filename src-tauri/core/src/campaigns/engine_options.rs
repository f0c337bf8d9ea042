//! What the sender is given: its tunables (`EngineOptions`, shortened by the tests) and the
//! last check an outbox row passes just before it leaves (`Precheck`), with that check's
//! `Verdict`.
//!
//! Invariants: a precheck is given by the caller (automations), so the sender knows nothing of
//! automations; campaigns have none. A verdict only ever sends, skips with a reason, or defers
//! a row to a later time: it never sends a row that consent or the one-message-per-address
//! rule would stop (those are checked first, see `claim`).

use crate::error::Result;
use chrono::{DateTime, Duration, Utc};

/// A last check on one outbox row just before it leaves, beyond consent and the one message
/// per address. Automatic messages use it (a win-back whose customer came back, outside the
/// sending hours, past its window; the birthday voucher is given there, when the message
/// really leaves); campaigns have none. Given by the caller, so that this module knows
/// nothing of automations.
pub type Precheck = fn(&crate::storage::Tx, i64) -> Result<Verdict>;

/// What the last check says of an outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Not sent, with the reason.
    Skip(String),
    /// Not now: tried again from then (the sending hours begin).
    Defer(DateTime<Utc>),
}

/// Tunables (tests shorten the waits).
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub precheck: Option<Precheck>,
    pub backoff_base: Duration,
    /// Temporary failures before a recipient is marked failed.
    pub max_attempts: u32,
    /// Failures in a row that pause the campaign.
    pub pause_after_errors: u32,
    /// Most rows in flight at once.
    pub batch: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            precheck: None,
            backoff_base: Duration::seconds(60),
            max_attempts: 5,
            pause_after_errors: 10,
            batch: 32,
        }
    }
}
