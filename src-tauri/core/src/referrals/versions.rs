//! The offer's saved versions: the one in force, any earlier one, checking an offer against
//! the shop (the live check of the editor) and saving a new version; what the rewards of a
//! version cost (`under`), and the correction period of a link.
//!
//! Invariants: versions are append-only (a save inserts a new one, referrals keep the version
//! they were made under); a milestone key is never reused by a later version once removed
//! (`rules::fresh_keys`), and a version counts in the period of the one before while their dates
//! meet (`rules::period_of`); an offer is checked (points need a programme with points, a
//! catalogue reward must exist and give a voucher) before it is saved.

use super::grants::Under;
use super::offer::Offer;
use super::OfferVersion;
use crate::error::{Error, FieldError, Result};
use crate::settings::Settings;
use crate::storage::Store;
use crate::types::{Cents, Outcome};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The correction period when no offer says otherwise.
pub const DEFAULT_CORRECTION_DAYS: u32 = 14;

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

/// The offer with each catalogue reward named and typed as the catalogue has it now: the
/// version saved keeps that name and kind whatever the catalogue becomes (renamed,
/// deactivated). A reward not in the catalogue is left as sent (refused by the check).
fn resolve_catalogue(conn: &Connection, o: &Offer) -> Result<Offer> {
    let mut o = o.clone();
    let specs = o
        .referrer_reward
        .iter_mut()
        .chain(o.friend_reward.iter_mut())
        .chain(o.milestones.iter_mut().map(|m| &mut m.reward));
    for spec in specs {
        if let super::RewardSpec::Catalogue { reward_id, label, kind, .. } = spec {
            match crate::loyalty::reward(conn, *reward_id) {
                Ok(r) => {
                    *label = r.name;
                    *kind = Some(r.kind);
                }
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(o)
}

/// Rule checks of an offer that need the database: points need a loyalty programme with
/// points; a catalogue reward must exist and be offered (an inactive one cannot be chosen
/// for a new version). `o` is resolved (see `resolve_catalogue`).
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
            let ok = crate::loyalty::reward(conn, *reward_id).map(|x| x.active).unwrap_or(false);
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

impl Store {
    pub fn referral_offer(&self) -> Result<Option<OfferVersion>> {
        current_offer(self.conn())
    }

    /// Check an offer as it is typed: its worst case, and its problems field by field.
    pub fn referral_offer_check(&self, offer: &Offer) -> Result<OfferCheck> {
        let conn = self.conn();
        let offer = &resolve_catalogue(conn, offer)?;
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
        let mut offer = resolve_catalogue(self.conn(), offer)?;
        check_offer_against_shop(self.conn(), &offer)?;
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
}
