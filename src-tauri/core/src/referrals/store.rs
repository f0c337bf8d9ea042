//! Linking a friend to their referrer: at creation (customer form or till, inside the
//! customer's own transaction), or later within the correction period; correcting and
//! removing a link. Every refusal is a field error on `referred_by` with its reason; nothing is
//! written then.
//!
//! Split by concept, each using only those before it: `versions` (the offer's versions),
//! `link_input` (what the counter typed), `link_checks` (whether the friend may be linked);
//! this module writes the links.
//!
//! Invariants: every change of a link is kept with the staff member and the reason, as an
//! event on both sides (the former referrer sees it too); a friend rewarded at sign-up is
//! rewarded in the same transaction as the link.

use super::grants::{self, EventFor};
use super::link_checks::{checks, ensure_new, person};
use super::link_input::{check_note, clean_staff, refuse, resolve};
use super::offer::FriendRewardAt;
use super::versions::{correction_deadline, current_offer, local_day, offer_version};
use super::ReferrerLink;
use crate::error::{Error, Result};
use crate::storage::{Store, Tx};
use crate::types::{CustomerId, Outcome};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

/// Link a customer being created to their referrer, inside the customer's transaction.
pub(crate) fn link_new_tx(tx: &mut Tx, friend: CustomerId, link: &ReferrerLink) -> Result<()> {
    let staff = clean_staff(&link.staff, false)?;
    let referrer = resolve(tx, &link.referrer)?;
    create(tx, friend, referrer, link.referrer.via(), staff.as_deref(), None)
}

/// Create the referral row, its events, and the friend's sign-up reward.
pub(crate) fn create(
    tx: &mut Tx,
    friend: CustomerId,
    referrer: CustomerId,
    via: &str,
    staff: Option<&str>,
    note: Option<&str>,
) -> Result<()> {
    let current = current_offer(tx)?.filter(|v| v.offer.runs_on(local_day(tx.now)));
    let flags = checks(tx, referrer, friend, staff.unwrap_or(""), current.as_ref().map(|v| &v.offer))?;
    ensure_new(tx, &person(tx, friend)?, referrer, tx.now)?;
    let status = if current.is_some() { "pending" } else { "outside_offer" };
    let review = if flags.is_empty() { "none" } else { "flagged" };
    tx.execute(
        "INSERT INTO referrals (referrer_id, friend_id, offer_version, created_at, via, staff, status, review, flags)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            referrer,
            friend,
            current.as_ref().map(|v| v.version),
            tx.now,
            via,
            staff,
            status,
            review,
            serde_json::to_string(&flags)?
        ],
    )?;
    let id = tx.last_insert_rowid();
    let who = EventFor { referral: Some(id), referrer, friend: Some(friend) };
    let reason = if current.is_none() { Some("outside_offer") } else { None };
    grants::event(tx, &who, "referred", reason, note, staff, serde_json::json!({ "via": via }))?;
    if !flags.is_empty() {
        grants::event(tx, &who, "flagged", None, None, None, serde_json::json!({ "flags": flags }))?;
    }
    tx.changes.customer(referrer);
    tx.changes.customer(friend);
    if let Some(v) = &current {
        if flags.is_empty() && v.offer.friend_reward_at == FriendRewardAt::SignUp {
            super::engine::give_friend_reward(tx, id)?;
        }
    }
    Ok(())
}

impl Store {
    /// Create a customer referred by someone ("Parrainé par" on the customer form or at the
    /// till): the customer and the referral are written together, or not at all.
    pub fn create_referred_customer(
        &mut self,
        new: &crate::customers::NewCustomer,
        link: &ReferrerLink,
        key: Option<&str>,
    ) -> Result<Outcome<CustomerId>> {
        self.create_customer_linked(new, Some(link), key)
    }

    /// Set or correct the referrer of an existing customer, within the correction period:
    /// every change is kept with the staff member and the reason.
    pub fn set_referrer(
        &mut self,
        friend: CustomerId,
        link: &ReferrerLink,
        note: &str,
        key: Option<&str>,
    ) -> Result<Outcome<()>> {
        let staff = clean_staff(&link.staff, true)?;
        let note = check_note(note)?;
        self.transact(("referral_link", &(friend, link, note.as_deref())), key, |tx| {
            crate::customers::ensure_customer(tx, friend)?;
            let referrer = resolve(tx, &link.referrer)?;
            type Existing = (i64, CustomerId, String, Option<String>, DateTime<Utc>, Option<i64>);
            let existing: Option<Existing> = tx
                .query_row(
                    "SELECT id, referrer_id, status, end_reason, created_at, offer_version FROM referrals WHERE friend_id = ?1",
                    [friend],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                )
                .optional()?;
            match existing {
                None => {
                    let created: DateTime<Utc> =
                        tx.query_row("SELECT created_at FROM customers WHERE id = ?1", [friend], |r| r.get(0))?;
                    if tx.now > correction_deadline(tx, created, None)? {
                        return Err(refuse("field.referral_too_late"));
                    }
                    create(tx, friend, referrer, link.referrer.via(), staff.as_deref(), note.as_deref())
                }
                Some((id, old, status, end_reason, created, version)) => {
                    let removed = status == "voided" && end_reason.as_deref() == Some("link_removed");
                    if !(matches!(status.as_str(), "pending" | "qualified" | "outside_offer") || removed) {
                        return Err(refuse("field.referral_locked"));
                    }
                    if tx.now > correction_deadline(tx, created, version)? {
                        return Err(refuse("field.referral_too_late"));
                    }
                    if old == referrer && !removed {
                        return Ok(());
                    }
                    let offer = match version {
                        Some(v) => Some(offer_version(tx, v)?),
                        None => None,
                    };
                    let flags = checks(tx, referrer, friend, staff.as_deref().unwrap_or(""), offer.as_ref())?;
                    if removed {
                        ensure_new(tx, &person(tx, friend)?, referrer, tx.now)?;
                    }
                    let new_status = if removed {
                        if version.is_some() { "pending" } else { "outside_offer" }
                    } else {
                        status.as_str()
                    };
                    tx.execute(
                        "UPDATE referrals SET referrer_id = ?2, status = ?3, ended_at = NULL, end_reason = NULL,
                           review = CASE WHEN ?4 THEN 'flagged' ELSE review END,
                           flags = CASE WHEN ?4 THEN ?5 ELSE flags END
                         WHERE id = ?1",
                        params![id, referrer, new_status, !flags.is_empty(), serde_json::to_string(&flags)?],
                    )?;
                    let who = EventFor { referral: Some(id), referrer, friend: Some(friend) };
                    grants::event(
                        tx,
                        &who,
                        "link_changed",
                        None,
                        note.as_deref(),
                        staff.as_deref(),
                        serde_json::json!({ "from": old, "to": referrer }),
                    )?;
                    // The former referrer sees the change too.
                    let former = EventFor { referral: Some(id), referrer: old, friend: None };
                    grants::event(
                        tx,
                        &former,
                        "link_changed",
                        None,
                        note.as_deref(),
                        staff.as_deref(),
                        serde_json::json!({ "from": old, "to": referrer }),
                    )?;
                    if !flags.is_empty() {
                        grants::event(tx, &who, "flagged", None, None, None, serde_json::json!({ "flags": flags }))?;
                    }
                    tx.changes.customer(old);
                    tx.changes.customer(referrer);
                    tx.changes.customer(friend);
                    Ok(())
                }
            }
        })
    }

    /// Remove the link to a referrer within the correction period (a mistake at the counter).
    pub fn remove_referrer(
        &mut self,
        friend: CustomerId,
        staff: &str,
        note: &str,
        key: Option<&str>,
    ) -> Result<Outcome<()>> {
        let staff = clean_staff(staff, true)?;
        let note = check_note(note)?;
        self.transact(("referral_unlink", &(friend, staff.as_deref(), note.as_deref())), key, |tx| {
            let row: Option<(i64, String, DateTime<Utc>, Option<i64>)> = tx
                .query_row(
                    "SELECT id, status, created_at, offer_version FROM referrals WHERE friend_id = ?1",
                    [friend],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let Some((id, status, created, version)) = row else { return Err(Error::not_found("referral", friend)) };
            if !matches!(status.as_str(), "pending" | "qualified" | "outside_offer") {
                return Err(refuse("field.referral_locked"));
            }
            if tx.now > correction_deadline(tx, created, version)? {
                return Err(refuse("field.referral_too_late"));
            }
            super::engine::end(tx, id, "voided", "link_removed", note.as_deref(), staff.as_deref(), true)
        })
    }
}
