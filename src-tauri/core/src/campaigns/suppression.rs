//! The suppression list: normalised addresses that must never be mailed again (unsubscribed,
//! bounced, complained, cleaned, erased), whatever a later import or campaign says. Written
//! only through [`suppress`]; never shrinks (trigger).
//!
//! Minimal version written with the data import (issue 9); the campaign side (every send,
//! test send and automation checking it) is wired by issue 12.

use crate::error::Result;
use crate::storage::Tx;
use rusqlite::{params, Connection, OptionalExtension};

pub const REASONS: [&str; 5] = ["unsubscribed", "bounced", "complained", "cleaned", "erased"];

/// Put `email` on the list (normalised; a second reason for the same address keeps the
/// first). Returns whether the address was added now.
pub fn suppress(tx: &Tx, email: &str, reason: &str, source: &str) -> Result<bool> {
    debug_assert!(REASONS.contains(&reason), "unknown suppression reason {reason}");
    let norm = crate::text::normalize_email(email);
    if norm.is_empty() {
        return Ok(false);
    }
    let n = tx.execute(
        "INSERT INTO suppressions (email_norm, reason, source, at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (email_norm) DO NOTHING",
        params![norm, reason, source.chars().take(200).collect::<String>(), tx.now],
    )?;
    Ok(n == 1)
}

/// Why an address is suppressed, if it is.
pub fn reason(conn: &Connection, email: &str) -> Result<Option<String>> {
    let norm = crate::text::normalize_email(email);
    Ok(conn
        .prepare_cached("SELECT reason FROM suppressions WHERE email_norm = ?1")?
        .query_row([norm], |r| r.get(0))
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_suppressed_once_and_never_removed() {
        let (mut s, _) = crate::testutil::store();
        let added = s.transact("t", None, |tx| suppress(tx, " Zoe@Example.com ", "unsubscribed", "test")).unwrap();
        assert!(added.value);
        let again = s.transact("t", None, |tx| suppress(tx, "zoe@example.com", "cleaned", "test")).unwrap();
        assert!(!again.value, "already on the list");
        assert_eq!(
            reason(s.conn(), "ZOE@example.com").unwrap().as_deref(),
            Some("unsubscribed"),
            "the first reason stays"
        );
        assert!(s.conn().execute("DELETE FROM suppressions", []).is_err(), "the list never shrinks");
    }
}
