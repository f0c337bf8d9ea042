//! Building a campaign's outbox when it starts, and the tokens that name each message.
//!
//! Invariants: one outbox row per normalised address (`segments::eligible` keeps the first
//! customer of each, a unique index makes sure), nobody on the suppression list or without
//! consent; the order is shuffled before the control group is held out and the A/B samples are
//! split, so neither depends on the order of the customers; every row carries its own
//! 20-character token (100 bits from the operating system's generator), the key of its
//! unsubscribe link. A campaign asking the satisfaction question leaves out whoever was asked
//! or answered in 90 days and records the others as asked, under their message's token.

use super::{segments, Campaign};
use crate::error::{Error, Result};
use crate::storage::Tx;
use rand::seq::SliceRandom;
use rand::Rng;
use rusqlite::params;

/// A 20-character token: 100 bits from the operating system's generator.
pub(crate) const TOKEN_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";

pub fn new_token() -> String {
    let mut rng = rand::rng();
    (0..20).map(|_| TOKEN_ALPHABET[rng.random_range(0..TOKEN_ALPHABET.len())] as char).collect()
}

/// Build the outbox: everyone the filter holds who may receive marketing now — one row per
/// normalised address (`segments::eligible` keeps the first customer of each; a unique index
/// makes sure), none on the suppression list — shuffled; the control group is held out, the
/// A/B samples split, the rest held for the winner.
pub(super) fn materialise(tx: &Tx, c: &Campaign) -> Result<i64> {
    let mut people = segments::eligible(tx, &c.audience.filter, tx.now)?;
    // A message that asks the satisfaction question goes to those who may be asked: nobody is
    // asked twice in 90 days, whatever the way (till, paper, email).
    // (An A/B test cannot carry the question: refused when saved.)
    let survey = c.audience.ab.is_none() && c.content.a.asks_survey();
    if survey {
        let mut keep = Vec::with_capacity(people.len());
        for p in people {
            if crate::nps::may_ask_now(tx, p.customer_id, tx.now)? {
                keep.push(p);
            }
        }
        people = keep;
    }
    if people.is_empty() && survey {
        return Err(Error::conflict("conflict.campaign_no_recipient_survey"));
    }
    if people.is_empty() {
        return Err(Error::conflict("conflict.campaign_no_recipient"));
    }
    people.shuffle(&mut rand::rng());
    let n = people.len();
    let control = n * usize::from(c.audience.control_percent) / 100;
    let rest_n = n - control;
    let (a_n, b_n) = match &c.audience.ab {
        Some(ab) => {
            let sample = (rest_n * usize::from(ab.sample_percent) / 100).max(2).min(rest_n);
            (sample / 2, sample - sample / 2)
        }
        None => (rest_n, 0),
    };
    let mut st = tx.prepare_cached(
        "INSERT INTO campaign_recipients (campaign_id, customer_id, email, email_norm, grp, variant, state, token) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let ab = c.audience.ab.is_some();
    for (i, p) in people.iter().enumerate() {
        let (grp, variant, state) = if i < control {
            ("control", None, "control")
        } else if !ab {
            ("main", Some("a"), "queued")
        } else if i < control + a_n {
            ("a", Some("a"), "queued")
        } else if i < control + a_n + b_n {
            ("b", Some("b"), "queued")
        } else {
            ("rest", None, "held")
        };
        let token = new_token();
        st.execute(params![
            c.id,
            p.customer_id,
            p.email,
            crate::text::normalize_email(&p.email),
            grp,
            variant,
            state,
            token
        ])?;
        // Asked from now on (the control group is not): their answer links carry this token.
        // Recorded when the campaign starts, so that two campaigns or the till never ask them
        // again meanwhile; a message then skipped at sending (consent withdrawn, address
        // suppressed) or a campaign cancelled still counts as an ask for 90 days.
        if survey && grp == "main" {
            crate::nps::invite_by_campaign(tx, p.customer_id, c.id, &token)?;
        }
    }
    Ok((n - control) as i64)
}
