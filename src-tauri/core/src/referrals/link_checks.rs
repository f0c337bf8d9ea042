//! Whether a friend may be linked to a referrer: only a genuinely new customer (no purchase, no
//! other customer with their email or phone), the fraud checks with the day's, week's and
//! staff member's counts, and the correction period; and a referral still running checked
//! again when a customer's email, phone or address changes.
//!
//! Invariants: read-only, except `on_contact_change`, which only flags (to the review queue,
//! with an event) and never unflags; `link_refusal` says exactly what `set_referrer` would
//! refuse whoever the referrer, so the customer page offers « Indiquer un parrain » only then.

use super::fraud::{self, Block, Person};
use super::grants::{self, EventFor};
use super::link_input::{refuse, FIELD};
use super::offer::Offer;
use super::versions::{correction_deadline, local_day};
use crate::error::{Error, FieldError, Result};
use crate::storage::Tx;
use crate::types::CustomerId;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};

pub(super) fn person(conn: &Connection, id: CustomerId) -> Result<Person> {
    Ok(conn.query_row(
        "SELECT email_norm, phone_e164, address_line1, postcode FROM customers WHERE id = ?1",
        [id],
        |r| {
            let line1: Option<String> = r.get(2)?;
            let postcode: Option<String> = r.get(3)?;
            Ok(Person {
                id,
                email_norm: r.get(0)?,
                phone_e164: r.get(1)?,
                address_key: fraud::address_key(line1.as_deref(), postcode.as_deref()),
            })
        },
    )?)
}

/// Rule: only a genuinely new customer can be referred — no purchase yet, and no other
/// customer with the same normalised email or phone (the referrer excepted: that is a
/// self-referral, refused on its own).
pub(super) fn ensure_new(conn: &Connection, friend: &Person, referrer: CustomerId, now: DateTime<Utc>) -> Result<()> {
    let bought: bool = conn
        .prepare_cached("SELECT 1 FROM purchases WHERE customer_id = ?1 AND occurred_at <= ?2")?
        .exists(params![friend.id, now])?;
    if bought {
        return Err(refuse("field.referral_not_new_purchases"));
    }
    let other = |col: &str, value: &Option<String>| -> Result<Option<String>> {
        let Some(v) = value.as_deref().filter(|v| !v.is_empty()) else { return Ok(None) };
        let sql = format!(
            "SELECT first_name || ' ' || last_name FROM customers WHERE {col} = ?1 AND id NOT IN (?2, ?3) AND merged_into IS NULL LIMIT 1"
        );
        Ok(conn.query_row(&sql, params![v, friend.id, referrer], |r| r.get::<_, String>(0)).optional()?)
    };
    if let Some(name) = other("email_norm", &friend.email_norm)? {
        return Err(Error::Validation(vec![
            FieldError::new(FIELD, "field.referral_not_new_email").arg("name", name.trim())
        ]));
    }
    if let Some(name) = other("phone_e164", &friend.phone_e164)? {
        return Err(Error::Validation(vec![
            FieldError::new(FIELD, "field.referral_not_new_phone").arg("name", name.trim())
        ]));
    }
    Ok(())
}

/// Why no referrer can be set or corrected on `friend` now, whoever the referrer is, as
/// `set_referrer` would refuse it: a merged customer, a referral already approved or ended, the
/// correction period over, a purchase already made, or another customer with the same email or
/// phone. `None` when a link would be accepted save for the checks about the referrer chosen
/// (unknown code, self-referral, archived referrer). Read-only: the customer page shows
/// « Indiquer un parrain » only then, and the reason otherwise.
pub(crate) fn link_refusal(conn: &Connection, friend: CustomerId, now: DateTime<Utc>) -> Result<Option<Error>> {
    if let Err(e) = crate::customers::ensure_customer(conn, friend) {
        return match e {
            Error::Conflict { .. } => Ok(Some(e)),
            e => Err(e),
        };
    }
    /// status, end reason, created at, offer version.
    type Link = (String, Option<String>, DateTime<Utc>, Option<i64>);
    let existing: Option<Link> = conn
        .query_row(
            "SELECT status, end_reason, created_at, offer_version FROM referrals WHERE friend_id = ?1",
            [friend],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let verdict = match existing {
        None => {
            let created: DateTime<Utc> =
                conn.query_row("SELECT created_at FROM customers WHERE id = ?1", [friend], |r| r.get(0))?;
            if now > correction_deadline(conn, created, None)? {
                Err(refuse("field.referral_too_late"))
            } else {
                ensure_new(conn, &person(conn, friend)?, friend, now)
            }
        }
        Some((status, end_reason, created, version)) => {
            let removed = status == "voided" && end_reason.as_deref() == Some("link_removed");
            if !(matches!(status.as_str(), "pending" | "qualified" | "outside_offer") || removed) {
                Err(refuse("field.referral_locked"))
            } else if now > correction_deadline(conn, created, version)? {
                Err(refuse("field.referral_too_late"))
            } else if removed {
                ensure_new(conn, &person(conn, friend)?, friend, now)
            } else {
                Ok(())
            }
        }
    };
    match verdict {
        Ok(()) => Ok(None),
        Err(e @ (Error::Validation(_) | Error::Conflict { .. })) => Ok(Some(e)),
        Err(e) => Err(e),
    }
}

fn count(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<u32> {
    Ok(conn.prepare_cached(sql)?.query_row(p, |r| r.get::<_, i64>(0))? as u32)
}

/// A customer's email, phone or address changed: a referral still running (pending or
/// qualified) where they are the friend or the referrer is checked again, as it would be at
/// the link — the same email or phone as the other side, the same address, a throwaway
/// email — and anything new sends it to the review queue, with an event.
pub(crate) fn on_contact_change(tx: &mut Tx, customer: CustomerId) -> Result<()> {
    let running: Vec<(i64, CustomerId, CustomerId, String)> = tx
        .prepare_cached(
            "SELECT id, referrer_id, friend_id, flags FROM referrals
             WHERE (friend_id = ?1 OR referrer_id = ?1) AND status IN ('pending', 'qualified')",
        )?
        .query_map([customer], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, referrer, friend, flags_json) in running {
        let mut flags: Vec<fraud::Flag> = serde_json::from_str(&flags_json).unwrap_or_default();
        let found = match fraud::check(&person(tx, referrer)?, &person(tx, friend)?, &fraud::Context::default()) {
            Ok(f) => f,
            Err(Block::SameEmail) => vec![fraud::Flag::SameContact { field: "email".into() }],
            Err(Block::SamePhone) => vec![fraud::Flag::SameContact { field: "phone".into() }],
            Err(_) => vec![],
        };
        let new: Vec<fraud::Flag> = found.into_iter().filter(|f| !flags.contains(f)).collect();
        if new.is_empty() {
            continue;
        }
        flags.extend(new.iter().cloned());
        tx.execute(
            "UPDATE referrals SET review = 'flagged', flags = ?2 WHERE id = ?1",
            params![id, serde_json::to_string(&flags)?],
        )?;
        let who = EventFor { referral: Some(id), referrer, friend: Some(friend) };
        grants::event(tx, &who, "flagged", None, None, None, serde_json::json!({ "flags": new }))?;
        tx.changes.customer(referrer);
        tx.changes.customer(friend);
    }
    Ok(())
}

/// The fraud checks for `referrer` → `friend` made now by `staff` (the new referral counted).
pub(super) fn checks(
    tx: &Tx,
    referrer: CustomerId,
    friend: CustomerId,
    staff: &str,
    o: Option<&Offer>,
) -> Result<Vec<fraud::Flag>> {
    let d = Offer::reference(local_day(tx.now));
    let o = o.unwrap_or(&d);
    let ctx = fraud::Context {
        referrer_today: 1 + count(
            tx,
            "SELECT count(*) FROM referrals WHERE referrer_id = ?1 AND created_at > ?2 AND friend_id <> ?3",
            params![referrer, tx.now - Duration::days(1), friend],
        )?,
        referrer_week: 1 + count(
            tx,
            "SELECT count(*) FROM referrals WHERE referrer_id = ?1 AND created_at > ?2 AND friend_id <> ?3",
            params![referrer, tx.now - Duration::days(7), friend],
        )?,
        max_per_day: o.max_per_day,
        max_per_week: o.max_per_week,
        staff: staff.to_string(),
        staff_last_hour: 1 + count(
            tx,
            "SELECT count(*) FROM referrals WHERE staff IS ?1 AND created_at > ?2 AND friend_id <> ?3",
            params![(!staff.is_empty()).then_some(staff), tx.now - Duration::hours(1), friend],
        )?,
        staff_burst_per_hour: o.staff_burst_per_hour,
    };
    match fraud::check(&person(tx, referrer)?, &person(tx, friend)?, &ctx) {
        Ok(flags) => Ok(flags),
        Err(b) => Err(refuse(Block::key(b))),
    }
}
