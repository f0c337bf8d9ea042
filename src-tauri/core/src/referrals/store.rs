//! The offer's versions, and linking a friend to their referrer: at creation (customer form or
//! till, inside the customer's own transaction), or later within the correction period. Every
//! refusal is a field error on `referred_by` with its reason; nothing is written then.

use super::code::{self, Parsed};
use super::fraud::{self, Block, Person};
use super::grants::{self, EventFor, Under};
use super::offer::{FriendRewardAt, Offer};
use super::{OfferVersion, ReferrerLink, ReferrerRef};
use crate::customers::CustomerSummary;
use crate::error::{Error, FieldError, Result};
use crate::settings::Settings;
use crate::storage::{Store, Tx};
use crate::types::{Cents, CustomerId, Outcome};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const MAX_STAFF: usize = 60;
pub const MAX_NOTE: usize = 300;
/// The correction period when no offer says otherwise.
pub const DEFAULT_CORRECTION_DAYS: u32 = 14;
const FIELD: &str = "referred_by";

fn refuse(key: &'static str) -> Error {
    Error::invalid(FIELD, key)
}

/// The offer in force: the latest saved version.
pub(crate) fn current_offer(conn: &Connection) -> Result<Option<OfferVersion>> {
    let mut st =
        conn.prepare_cached("SELECT id, document, created_at FROM referral_offers ORDER BY id DESC LIMIT 1")?;
    let row: Option<(i64, String, DateTime<Utc>)> =
        st.query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
    Ok(match row {
        Some((version, doc, saved_at)) => Some(OfferVersion { version, offer: serde_json::from_str(&doc)?, saved_at }),
        None => None,
    })
}

/// Every saved version of the offer, latest first.
fn all_versions(conn: &Connection) -> Result<Vec<Offer>> {
    let mut st = conn.prepare_cached("SELECT document FROM referral_offers ORDER BY id DESC")?;
    let docs = st.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    docs.iter().map(|d| Ok(serde_json::from_str(d)?)).collect()
}

/// Every milestone key any version of the offer used.
fn keys_ever(conn: &Connection) -> Result<Vec<u32>> {
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT CAST(json_extract(m.value, '$.key') AS INTEGER)
         FROM referral_offers o, json_each(o.document, '$.milestones') m",
    )?;
    let keys = st.query_map([], |r| r.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(keys.into_iter().map(|k| k as u32).collect())
}

/// One saved version of the offer.
pub(crate) fn offer_version(conn: &Connection, version: i64) -> Result<Offer> {
    let mut st = conn.prepare_cached("SELECT document FROM referral_offers WHERE id = ?1")?;
    let doc: String = st.query_row([version], |r| r.get(0))?;
    Ok(serde_json::from_str(&doc)?)
}

/// The loyalty value of 100 points (the cost of points rewards).
pub(crate) fn point_value(conn: &Connection) -> Result<Cents> {
    Ok(crate::loyalty::programme(conn)?.value_of_100_points_cents)
}

pub(crate) fn under<'a>(conn: &Connection, offer: &'a Offer, version: i64) -> Result<Under<'a>> {
    let s: Settings = crate::settings::read(conn)?;
    Ok(Under {
        offer,
        version,
        point_value: point_value(conn)?,
        lang: s.language,
        currency: s.currency,
        locale: s.locale,
    })
}

/// The local day of an instant, as the shop sees it.
pub(crate) fn local_day(at: DateTime<Utc>) -> chrono::NaiveDate {
    at.with_timezone(&chrono::Local).date_naive()
}

/// Rule checks of an offer that need the database: points need a loyalty programme with
/// points; a catalogue reward must exist and give a voucher.
fn check_offer_against_shop(conn: &Connection, o: &Offer) -> Result<()> {
    let s = crate::settings::read(conn)?;
    o.validate(point_value(conn)?, s.currency, s.locale)?;
    let mut problems = Vec::new();
    if o.uses_points() && crate::loyalty::programme(conn)?.points.is_none() {
        for (field, r) in o.rewards() {
            if matches!(r, super::RewardSpec::Points { .. }) {
                problems.push(FieldError::new(static_field(&field), "field.referral_points_need_programme"));
            }
        }
    }
    for (field, r) in o.rewards() {
        if let super::RewardSpec::Catalogue { reward_id, .. } = r {
            use crate::loyalty::RewardKind::*;
            let ok = crate::loyalty::reward(conn, *reward_id)
                .map(|x| x.active && matches!(x.kind, Voucher | FixedDiscount | PercentDiscount))
                .unwrap_or(false);
            if !ok {
                problems.push(FieldError::new(static_field(&field), "field.referral_catalogue_reward"));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(problems))
    }
}

fn static_field(f: &str) -> &'static str {
    match f {
        "referrer_reward" => "referrer_reward",
        "friend_reward" => "friend_reward",
        _ => "milestones",
    }
}

/// The live check of the offer editor: the worst case, and the problems of each field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OfferCheck {
    pub worst_case: super::WorstCase,
    pub problems: Option<crate::ErrorPayload>,
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

fn person(conn: &Connection, id: CustomerId) -> Result<Person> {
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
fn ensure_new(conn: &Connection, friend: &Person, referrer: CustomerId, now: DateTime<Utc>) -> Result<()> {
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
fn checks(
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

pub(crate) fn clean_staff(staff: &str, required: bool) -> Result<Option<String>> {
    crate::text::check_text("staff", staff, MAX_STAFF, required)
}

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

/// When the link of a referral can no longer be corrected.
pub(crate) fn correction_deadline(
    conn: &Connection,
    created_at: DateTime<Utc>,
    version: Option<i64>,
) -> Result<DateTime<Utc>> {
    let days = match version {
        Some(v) => offer_version(conn, v)?.correction_days,
        None => current_offer(conn)?.map(|v| v.offer.correction_days).unwrap_or(DEFAULT_CORRECTION_DAYS),
    };
    Ok(created_at + Duration::days(i64::from(days)))
}

fn check_note(note: &str) -> Result<Option<String>> {
    crate::text::check_text("note", note, MAX_NOTE, false)
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

    pub fn referral_offer(&self) -> Result<Option<OfferVersion>> {
        current_offer(self.conn())
    }

    /// Check an offer as it is typed: its worst case, and its problems field by field.
    pub fn referral_offer_check(&self, offer: &Offer) -> Result<OfferCheck> {
        let conn = self.conn();
        let worst_case = super::offer::worst_case(offer, point_value(conn)?);
        let problems = match check_offer_against_shop(conn, offer) {
            Ok(()) => None,
            Err(e @ Error::Validation(_)) => Some(e.to_payload(self.settings()?.language)),
            Err(e) => return Err(e),
        };
        Ok(OfferCheck { worst_case, problems })
    }

    /// Save a new version of the offer; referrals keep the version they were made under.
    pub fn save_referral_offer(&mut self, offer: &Offer, key: Option<&str>) -> Result<Outcome<OfferVersion>> {
        check_offer_against_shop(self.conn(), offer)?;
        let mut offer = offer.clone();
        offer.exclusions = crate::text::clean_multiline(&offer.exclusions).unwrap_or_default();
        self.transact(("referral_offer_save", &offer), key, |tx| {
            let mut offer = offer.clone();
            let before = current_offer(tx)?;
            offer.period_start = Some(super::rules::period_of(&offer, &all_versions(tx)?));
            let current: Vec<u32> =
                before.map(|c| c.offer.milestones.iter().map(|m| m.key).collect()).unwrap_or_default();
            let ever = keys_ever(tx)?;
            super::rules::fresh_keys(&mut offer.milestones, &current, &ever);
            tx.execute(
                "INSERT INTO referral_offers (document, created_at) VALUES (?1, ?2)",
                params![serde_json::to_string(&offer)?, tx.now],
            )?;
            tx.changes.settings = true;
            Ok(OfferVersion { version: tx.last_insert_rowid(), offer: offer.clone(), saved_at: tx.now })
        })
    }

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
