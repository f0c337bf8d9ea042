//! What the counter types for a link, checked: the referrer designated by code, loyalty card
//! or name (`resolve`, and the live look-up of "Parrainé par"), the staff member and the note.
//!
//! Invariants: every refusal is a field error on `referred_by` with its reason (a mistyped
//! code's check character, an unknown or blocked card, an archived referrer); merges are
//! followed to the customer kept; a code made only of digits typed without its dash is read as
//! a code, not a card; staff and note are checked user text of bounded length.

use super::code::{self, Parsed};
use super::ReferrerRef;
use crate::customers::CustomerSummary;
use crate::error::{Error, Result};
use crate::storage::Store;
use crate::types::CustomerId;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const MAX_STAFF: usize = 60;
pub const MAX_NOTE: usize = 300;

pub(super) const FIELD: &str = "referred_by";

pub(super) fn refuse(key: &'static str) -> Error {
    Error::invalid(FIELD, key)
}

/// What the counter typed for "Parrainé par": the referrer found by code or card, or why
/// not, and customers whose name matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReferrerLookup {
    pub found: Option<CustomerSummary>,
    /// `code` or `card` when found so.
    pub via: Option<String>,
    /// Why the code or card was refused, in the shop's language.
    pub problem: Option<String>,
    pub candidates: Vec<CustomerSummary>,
}

/// Follow merges to the customer kept; refuse an archived one.
fn live_customer(conn: &Connection, mut id: CustomerId, unknown: &'static str) -> Result<CustomerId> {
    for _ in 0..8 {
        let row: Option<(Option<CustomerId>, Option<String>)> = conn
            .query_row("SELECT merged_into, archived_at FROM customers WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        match row {
            None => return Err(refuse(unknown)),
            Some((Some(into), _)) => id = into,
            Some((None, Some(_))) => return Err(refuse("field.referral_referrer_archived")),
            Some((None, None)) => return Ok(id),
        }
    }
    Err(refuse(unknown))
}

/// Rule at the counter: a code must carry its check character, a card must be active, and the
/// referrer must be a current customer (merges are followed).
pub(crate) fn resolve(conn: &Connection, r: &ReferrerRef) -> Result<CustomerId> {
    match r {
        ReferrerRef::Code { code } => match code::parse(code) {
            Parsed::NotACode => Err(refuse("field.referral_code_invalid")),
            Parsed::Typo => Err(refuse("field.referral_code_typo")),
            Parsed::Id(id) => live_customer(conn, id, "field.referral_code_unknown"),
        },
        ReferrerRef::Card { number } => {
            let digits: String = number.chars().filter(|c| !c.is_whitespace()).collect();
            if !crate::cards::is_valid_number(&digits) {
                // A code made only of digits, typed without its dash, reads like a number.
                if let Parsed::Id(id) = code::parse(number) {
                    return live_customer(conn, id, "field.referral_code_unknown");
                }
                return Err(refuse("field.referral_card_invalid"));
            }
            let row: Option<(CustomerId, String)> = conn
                .query_row("SELECT customer_id, status FROM cards WHERE number = ?1", [&digits], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            match row {
                None => Err(refuse("field.referral_card_unknown")),
                Some((_, s)) if s == "blocked" => Err(refuse("field.referral_card_blocked")),
                Some((_, s)) if s == "replaced" => Err(refuse("field.referral_card_replaced")),
                Some((id, _)) => live_customer(conn, id, "field.referral_card_unknown"),
            }
        }
        ReferrerRef::Customer { id } => live_customer(conn, *id, "field.referral_referrer_unknown"),
    }
}

pub(crate) fn clean_staff(staff: &str, required: bool) -> Result<Option<String>> {
    crate::text::check_text("staff", staff, MAX_STAFF, required)
}

pub(super) fn check_note(note: &str) -> Result<Option<String>> {
    crate::text::check_text("note", note, MAX_NOTE, false)
}

impl Store {
    /// What was typed in "Parrainé par": a code or a card designates one referrer (or says
    /// why not); other text searches names.
    pub fn referrer_lookup(&self, text: &str) -> Result<ReferrerLookup> {
        let conn = self.conn();
        let s = self.settings()?;
        let t = text.trim();
        let digits = t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let all_digits = !digits.is_empty() && digits.len() <= 16 && digits.bytes().all(|b| b.is_ascii_digit());
        let by = if all_digits && !crate::cards::is_valid_number(&digits) && code::parse(t) != Parsed::NotACode {
            // A code made only of digits, typed without its dash: a code, not a card.
            Some(ReferrerRef::Code { code: t.to_string() })
        } else if all_digits {
            Some(ReferrerRef::Card { number: digits })
        } else if code::parse(t) != Parsed::NotACode {
            Some(ReferrerRef::Code { code: t.to_string() })
        } else {
            None
        };
        let mut out = ReferrerLookup { found: None, via: None, problem: None, candidates: Vec::new() };
        if let Some(by) = by {
            match resolve(conn, &by) {
                Ok(id) => {
                    out.found = crate::customers::summaries(conn, &[id], s.country)?.pop();
                    out.via = Some(by.via().to_string());
                    return Ok(out);
                }
                Err(e @ Error::Validation(_)) => out.problem = Some(e.message(s.language)),
                Err(e) => return Err(e),
            }
        }
        if t.chars().count() >= 2 {
            out.candidates = self.search_customers(t, 8)?.into_iter().filter(|c| !c.archived).collect();
        }
        Ok(out)
    }
}
