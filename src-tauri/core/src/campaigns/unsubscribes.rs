//! Unsubscribes: a pasted list of addresses or message tokens, and the unsubscribe replies the
//! mailbox reader finds, withdraw consent and put the addresses on the suppression list.
//!
//! Invariants: inside the caller's one transaction; consent is withdrawn by a new `consents`
//! entry (never an edit) and each unsubscribe recorded in `unsubscribes`; an address no
//! customer carries is suppressed all the same; a token also suppresses the address its
//! message went to; a customer merged since is followed to the survivor; a line naming nobody
//! is reported back, never guessed.

use super::outbox::TOKEN_ALPHABET;
use super::suppression::SuppressionReason;
use super::{CampaignId, UnsubscribeReport};
use crate::customers::ConsentSource;
use crate::error::{Error, Result};
use crate::storage::{Store, Tx};
use crate::types::Outcome;
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Withdraw consent for every customer or message token found in a pasted list (one
    /// address or `unsubscribe <token>` subject per line, as the replies arrive). Each address
    /// goes to the suppression list, so every customer record carrying it stops receiving.
    pub fn apply_unsubscribes(&mut self, text: &str, key: Option<&str>) -> Result<Outcome<UnsubscribeReport>> {
        if text.len() > 2_000_000 {
            return Err(Error::invalid("text", "field.too_long_text"));
        }
        // Hidden characters (a zero-width space copied from a web page) are left out, as
        // where every address comes in: they would make another address.
        let lines: Vec<String> =
            text.lines().map(|l| crate::text::visible(l).trim().to_string()).filter(|l| !l.is_empty()).collect();
        self.transact(("unsubscribes_apply", text), key, |tx| unsubscribe_lines(tx, &lines))
    }
}

/// Withdraw consent for the customers and message tokens found in `lines` (one address or
/// `unsubscribe <token>` per line), inside the caller's transaction: the pasted list, and the
/// replies the mailbox reader finds.
pub(crate) fn unsubscribe_lines(tx: &mut Tx, lines: &[String]) -> Result<UnsubscribeReport> {
    let mut report = UnsubscribeReport::default();
    for line in lines {
        let wording: String = line.chars().take(200).collect();
        let mut found: Vec<(crate::types::CustomerId, Option<CampaignId>, &str)> = Vec::new();
        let mut loose: Vec<String> = Vec::new();
        let mut tokened: Vec<(String, crate::types::CustomerId, CampaignId)> = Vec::new();
        for word in line.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';' | '"' | '\'' | ':')) {
            let w = word.trim_matches(|c: char| c == '.' || c == '(' || c == ')');
            if w.contains('@') {
                let norm = crate::text::normalize_email(w);
                if !crate::customers::is_email(&norm) {
                    continue;
                }
                let mut st =
                    tx.prepare_cached("SELECT id FROM customers WHERE email_norm = ?1 AND merged_into IS NULL")?;
                let ids: Vec<i64> = st.query_map([&norm], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
                if ids.is_empty() {
                    loose.push(norm);
                }
                found.extend(ids.into_iter().map(|id| (id, None, "list")));
            } else if w.len() == 20 && w.bytes().all(|b| TOKEN_ALPHABET.contains(&b)) {
                let row: Option<(i64, i64, Option<String>)> = tx
                    .query_row(
                        "SELECT customer_id, campaign_id, email_norm FROM campaign_recipients WHERE token = ?1",
                        [w],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()?;
                if let Some((cust, camp, mailed)) = row {
                    found.push((cust, Some(camp), "token"));
                    // The address the message went to leaves the list too, even if the
                    // customer's address has changed since.
                    if let Some(m) = mailed.filter(|m| !m.is_empty()) {
                        tokened.push((m, cust, camp));
                    }
                }
            }
        }
        if found.is_empty() && loose.is_empty() {
            report.unknown.push(line.chars().take(120).collect());
            continue;
        }
        for norm in loose {
            if super::suppression::suppress(
                tx,
                &norm,
                SuppressionReason::Unsubscribed,
                "list",
                Some(&wording),
                None,
                None,
            )? {
                report.addresses += 1;
            } else {
                report.already += 1;
            }
        }
        for (mailed, cust, camp) in tokened {
            super::suppression::suppress(
                tx,
                &mailed,
                SuppressionReason::Unsubscribed,
                "token",
                Some(&wording),
                Some(cust),
                Some(camp),
            )?;
            super::suppression::mark_customers_changed(tx, &mailed)?;
        }
        // A token names the campaign; prefer it over the bare address of the same line.
        // A customer merged since the message went out: the survivor is unsubscribed.
        for f in found.iter_mut() {
            for _ in 0..10 {
                let next: Option<i64> =
                    tx.query_row("SELECT merged_into FROM customers WHERE id = ?1", [f.0], |r| r.get(0))?;
                match next {
                    Some(n) => f.0 = n,
                    None => break,
                }
            }
        }
        found.sort_by_key(|(_, camp, _)| camp.is_none());
        found.dedup_by_key(|(cust, _, _)| *cust);
        for (cust, camp, source) in found {
            let email: Option<String> =
                tx.query_row("SELECT email_norm FROM customers WHERE id = ?1", [cust], |r| r.get(0))?;
            let newly_suppressed = match email.as_deref().filter(|e| !e.is_empty()) {
                Some(e) => super::suppression::suppress(
                    tx,
                    e,
                    SuppressionReason::Unsubscribed,
                    source,
                    Some(&wording),
                    Some(cust),
                    camp,
                )?,
                None => false,
            };
            let current = crate::customers::current_consent(tx, cust)?;
            let refused = current.as_ref().is_some_and(|c| c.choice == crate::customers::ConsentChoice::Refused);
            if refused && !newly_suppressed {
                report.already += 1;
                continue;
            }
            if !refused {
                tx.execute(
                            "INSERT INTO consents (customer_id, channel, granted, basis, source, wording, recorded_at) VALUES (?1, 'email', 0, 'refused', ?2, ?3, ?4)",
                            params![cust, ConsentSource::Unsubscribe.code(), wording, tx.now],
                        )?;
            }
            tx.execute(
                "INSERT INTO unsubscribes (customer_id, campaign_id, at, source) VALUES (?1, ?2, ?3, ?4)",
                params![cust, camp, tx.now, source],
            )?;
            if let Some(e) = &email {
                super::suppression::mark_customers_changed(tx, e)?;
            }
            tx.changes.customer(cust);
            report.recorded += 1;
        }
    }
    Ok(report)
}
