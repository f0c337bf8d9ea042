//! Rewards given and taken back through the loyalty ledgers. A reward is a points entry (an
//! `action` credit) or a voucher attached to the customer, recorded once in
//! `referral_rewards` with its cost. Taking it back withdraws what is unspent (a points
//! debit, a voucher cancellation) and records what was spent as a loss, in one
//! `referral_reward_ends` row. Slots, the budget and the cap per referrer are counted here,
//! inside the caller's `BEGIN IMMEDIATE` transaction, so two tills never give the last slot
//! twice. The budget and the cap are those of the period's latest version of the offer.

use super::offer::{cost_cents, Milestone, Offer, RewardSpec};
use super::rules::{self, Refusal, Spent};
use crate::error::Result;
use crate::i18n;
use crate::loyalty::VoucherKind;
use crate::settings::{Currency, Locale};
use crate::storage::Tx;
use crate::types::{Cents, CustomerId, Lang};
use chrono::{Duration, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension};

/// Who a reward is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Referrer,
    Friend,
    Milestone,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Referrer => "referrer",
            Role::Friend => "friend",
            Role::Milestone => "milestone",
        }
    }
}

/// The offer a reward is given under, and how the shop writes money.
pub(crate) struct Under<'a> {
    pub offer: &'a Offer,
    pub version: i64,
    pub point_value: Cents,
    pub lang: Lang,
    pub currency: Currency,
    pub locale: Locale,
}

impl Under<'_> {
    pub fn period(&self) -> String {
        self.offer.period_start().to_string()
    }
}

/// The words for a reward: "bon de 10,00 €", "100 points", "bon de 10 %", a catalogue name.
pub fn reward_label(r: &RewardSpec, lang: Lang, currency: Currency, locale: Locale) -> String {
    reward_words(r, false, lang, currency, locale)
}

/// The same words in the plural ("bons de 10,00 €"), for counts.
pub fn reward_label_plural(r: &RewardSpec, lang: Lang, currency: Currency, locale: Locale) -> String {
    reward_words(r, true, lang, currency, locale)
}

fn reward_words(r: &RewardSpec, plural: bool, lang: Lang, currency: Currency, locale: Locale) -> String {
    let voucher = if plural { "referral.reward.vouchers" } else { "referral.reward.voucher" };
    match r {
        RewardSpec::Points { points } => i18n::tr(lang, "referral.reward.points", &[("points", points.to_string())]),
        RewardSpec::Voucher { cents, .. } => {
            i18n::tr(lang, voucher, &[("value", crate::campaigns::render::format_money(*cents, currency, locale))])
        }
        RewardSpec::PercentVoucher { percent, .. } => {
            let value = if lang == Lang::En { format!("{percent}%") } else { format!("{percent}\u{a0}%") };
            i18n::tr(lang, voucher, &[("value", value)])
        }
        // A gift reads as its name; counted, as "cadeaux « … »" (its name is the merchant's).
        RewardSpec::Catalogue { label, .. } if plural && super::offer::is_gift(r) => {
            i18n::tr(lang, "referral.reward.gifts", &[("label", label.clone())])
        }
        RewardSpec::Catalogue { label, .. } => label.clone(),
    }
}

/// Cost of the rewards of a period given and not taken back (losses included): the running
/// total kept with every reward row (see `add_committed`).
pub(crate) fn committed(conn: &Connection, period: &str) -> Result<Cents> {
    let mut st = conn.prepare_cached("SELECT committed_cents FROM referral_periods WHERE period = ?1")?;
    Ok(st.query_row([period], |r| r.get(0)).optional()?.unwrap_or(0))
}

/// Keep the running total of a period in step with a reward given (+) or taken back (−).
fn add_committed(tx: &Tx, period: &str, cents: Cents) -> Result<()> {
    let n = tx.execute(
        "UPDATE referral_periods SET committed_cents = committed_cents + ?2 WHERE period = ?1",
        params![period, cents],
    )?;
    if n == 0 {
        tx.execute("INSERT INTO referral_periods (period, committed_cents) VALUES (?1, ?2)", params![period, cents])?;
    }
    Ok(())
}

/// Slots of a milestone taken in a period: rewards given and not fully taken back.
pub(crate) fn slots_taken(conn: &Connection, period: &str, key: u32) -> Result<u32> {
    let mut st = conn.prepare_cached(
        "SELECT count(*) FROM referral_rewards g LEFT JOIN referral_reward_ends e ON e.reward_id = g.id
         WHERE g.period = ?1 AND g.role = 'milestone' AND g.milestone_key = ?2 AND (e.reward_id IS NULL OR e.loss_cents > 0)",
    )?;
    Ok(st.query_row(params![period, key], |r| r.get::<_, i64>(0))? as u32)
}

/// What a referrer received in a period (per-referral and milestone rewards, net).
fn referrer_cents(conn: &Connection, period: &str, customer: CustomerId) -> Result<Cents> {
    let mut st = conn.prepare_cached(
        "SELECT coalesce(sum(g.cost_cents - coalesce(e.taken_back_cents, 0)), 0)
         FROM referral_rewards g LEFT JOIN referral_reward_ends e ON e.reward_id = g.id
         WHERE g.customer_id = ?1 AND g.period = ?2 AND g.role IN ('referrer', 'milestone')",
    )?;
    Ok(st.query_row(params![customer, period], |r| r.get(0))?)
}

/// The referral event a reward writes: for both customers of a referral, or the referrer
/// alone for a milestone.
pub(crate) struct EventFor {
    pub referral: Option<i64>,
    pub referrer: CustomerId,
    pub friend: Option<CustomerId>,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn event(
    tx: &Tx,
    who: &EventFor,
    kind: &str,
    reason: Option<&str>,
    note: Option<&str>,
    staff: Option<&str>,
    data: serde_json::Value,
) -> Result<()> {
    tx.execute(
        "INSERT INTO referral_events (referral_id, referrer_id, friend_id, at, kind, reason, note, staff, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![who.referral, who.referrer, who.friend, tx.now, kind, reason, note, staff, data.to_string()],
    )?;
    Ok(())
}

/// The latest version of the offer for a period (see `rules::period_of`): its
/// budget and cap bind every reward of the period, whatever version the referral was made under.
fn latest_of_period(conn: &Connection, starts_on: NaiveDate) -> Result<Option<Offer>> {
    let mut st = conn.prepare_cached(
        "SELECT document FROM referral_offers
         WHERE coalesce(json_extract(document, '$.period_start'), json_extract(document, '$.starts_on')) = ?1
         ORDER BY id DESC LIMIT 1",
    )?;
    let doc: Option<String> = st.query_row([starts_on.to_string()], |r| r.get(0)).optional()?;
    Ok(match doc {
        Some(d) => Some(serde_json::from_str(&d)?),
        None => None,
    })
}

/// Give `spec` to `customer` if a slot is left, the budget pays for it and the referrer stays
/// under the cap; otherwise record why not. `Ok(Err(refusal))` is a reward not given.
#[allow(clippy::too_many_arguments)]
pub(crate) fn give(
    tx: &mut Tx,
    u: &Under,
    customer: CustomerId,
    role: Role,
    who: &EventFor,
    milestone: Option<&Milestone>,
    spec: &RewardSpec,
    reason: &str,
) -> Result<std::result::Result<i64, Refusal>> {
    give_replacing(tx, u, customer, role, who, milestone, spec, reason, 0)
}

/// `give`, for a reward that replaces others worth `replaced_cents` unspent (a higher
/// milestone when only the highest counts): what they will give back does not count against
/// the budget and the cap when checking this one (they are taken back right after it is given).
#[allow(clippy::too_many_arguments)]
pub(crate) fn give_replacing(
    tx: &mut Tx,
    u: &Under,
    customer: CustomerId,
    role: Role,
    who: &EventFor,
    milestone: Option<&Milestone>,
    spec: &RewardSpec,
    reason: &str,
    replaced_cents: Cents,
) -> Result<std::result::Result<i64, Refusal>> {
    let period = u.period();
    let cost = cost_cents(spec, u.point_value);
    let spent = Spent {
        committed_cents: (committed(tx, &period)? - replaced_cents).max(0),
        slots_taken: match milestone {
            Some(m) => slots_taken(tx, &period, m.key)?,
            None => 0,
        },
        referrer_cents: if role == Role::Friend {
            0
        } else {
            (referrer_cents(tx, &period, customer)? - replaced_cents).max(0)
        },
    };
    let label = reward_label(spec, u.lang, u.currency, u.locale);
    // The reward is the one promised under the referral's version; the budget and the cap are
    // the period's latest (a budget lowered since binds the referrals made before).
    let latest = latest_of_period(tx, u.offer.period_start())?;
    let limits = latest.as_ref().unwrap_or(u.offer);
    let check = rules::may_give(
        milestone.and_then(|m| m.slots),
        limits.budget_cents,
        limits.per_referrer_cap_cents,
        role != Role::Friend,
        spent,
        cost,
    );
    let issued = match check {
        Err(refusal) => Err(refusal),
        Ok(()) => issue(tx, customer, spec, reason)?,
    };
    let (kind, points, points_entry, voucher_id) = match issued {
        Err(refusal) => {
            let data =
                serde_json::json!({ "role": role.code(), "label": label, "milestone": milestone.map(|m| m.key) });
            event(tx, who, "reward_refused", Some(refusal.code()), None, None, data)?;
            return Ok(Err(refusal));
        }
        Ok(x) => x,
    };
    tx.execute(
        "INSERT INTO referral_rewards (customer_id, role, referral_id, milestone_key, offer_version, period, kind, points,
           points_entry, voucher_id, cost_cents, label, granted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            customer,
            role.code(),
            if role == Role::Milestone { None } else { who.referral },
            milestone.map(|m| m.key),
            u.version,
            period,
            kind,
            points,
            points_entry,
            voucher_id,
            cost,
            label,
            tx.now
        ],
    )?;
    let id = tx.last_insert_rowid();
    add_committed(tx, &period, cost)?;
    let data = serde_json::json!({
        "role": role.code(), "label": label, "cost_cents": cost, "beneficiary": customer, "milestone": milestone.map(|m| m.key)
    });
    event(tx, who, "reward_issued", None, None, None, data)?;
    tx.changes.customer(customer);
    Ok(Ok(id))
}

type Issued = (&'static str, Option<i64>, Option<i64>, Option<i64>);

/// Write the reward in the loyalty ledgers: (kind, points, points entry, voucher).
fn issue(
    tx: &Tx,
    customer: CustomerId,
    spec: &RewardSpec,
    reason: &str,
) -> Result<std::result::Result<Issued, Refusal>> {
    let voucher = |kind: VoucherKind, value: i64, days: i64| -> Result<Issued> {
        let v = crate::loyalty::issue_voucher_tx(
            tx,
            Some(customer),
            kind,
            value,
            tx.now + Duration::days(days),
            "referral",
            Some(reason),
            None,
        )?;
        Ok(("voucher", None, None, Some(v.id)))
    };
    Ok(Ok(match spec {
        RewardSpec::Points { points } => {
            let entry = crate::loyalty::grant_points_tx(tx, customer, *points, "referral", reason)?;
            ("points", Some(*points), Some(entry), None)
        }
        RewardSpec::Voucher { cents, valid_days } => voucher(VoucherKind::Amount, *cents, i64::from(*valid_days))?,
        RewardSpec::PercentVoucher { percent, valid_days, .. } => {
            voucher(VoucherKind::Percent, *percent, i64::from(*valid_days))?
        }
        RewardSpec::Catalogue { reward_id, label, cost_cents, kind } => {
            use crate::loyalty::RewardKind;
            let Ok(r) = crate::loyalty::reward(tx, *reward_id) else { return Ok(Err(Refusal::RewardUnavailable)) };
            // What is given is what the offer's version promised: a gift when it was saved as
            // one (under the name it had then), whatever the catalogue reward became since.
            let gift = kind.map_or(r.kind.is_gift(), RewardKind::is_gift);
            match r.kind {
                _ if !r.active => return Ok(Err(Refusal::RewardUnavailable)),
                // A limited stock is limited for everyone: a gift promised takes one.
                _ if gift && r.stock.is_some_and(|s| r.redeemed >= s) => return Ok(Err(Refusal::OutOfStock)),
                _ if gift && *cost_cents > 0 => {
                    let v = crate::loyalty::issue_gift_voucher_tx(
                        tx,
                        customer,
                        r.id,
                        label,
                        *cost_cents,
                        tx.now + Duration::days(r.voucher_days),
                        "referral",
                        Some(reason),
                    )?;
                    ("voucher", None, None, Some(v.id))
                }
                _ if gift => return Ok(Err(Refusal::RewardUnavailable)),
                RewardKind::Voucher | RewardKind::FixedDiscount if r.value > 0 => {
                    voucher(VoucherKind::Amount, r.value, r.voucher_days)?
                }
                RewardKind::PercentDiscount if r.value > 0 => voucher(VoucherKind::Percent, r.value, r.voucher_days)?,
                _ => return Ok(Err(Refusal::RewardUnavailable)),
            }
        }
    }))
}

/// What taking a reward back gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TakenBack {
    pub taken_back_cents: Cents,
    pub loss_cents: Cents,
}

/// Take a reward back: what is unspent comes back through the ledgers, what was spent is
/// recorded as a loss. A reward already taken back is left alone.
pub(crate) fn take_back(tx: &mut Tx, grant: i64, who: &EventFor, reason: &str) -> Result<TakenBack> {
    take_back_at_most(tx, grant, who, reason, None)
}

/// `take_back`, taking back at most `max_points` of a points reward (the part not spent when a
/// higher milestone was costed; what the higher one just gave is not taken back with it).
pub(crate) fn take_back_at_most(
    tx: &mut Tx,
    grant: i64,
    who: &EventFor,
    reason: &str,
    max_points: Option<i64>,
) -> Result<TakenBack> {
    type Row = (CustomerId, String, Option<i64>, Option<i64>, Cents, String, String);
    let row: Option<Row> = tx
        .query_row(
            "SELECT customer_id, kind, points, voucher_id, cost_cents, label, period FROM referral_rewards g
             WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM referral_reward_ends e WHERE e.reward_id = g.id)",
            [grant],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .optional()?;
    let Some((customer, kind, points, voucher, cost, label, period)) = row else { return Ok(TakenBack::default()) };
    let text = crate::i18n::tr(lang_of(tx)?, &format!("referral.end.{reason}"), &[]);
    let (back, points_back) = match (kind.as_str(), points, voucher) {
        ("points", Some(p), _) => {
            let taken = crate::loyalty::take_back_points_tx(tx, customer, max_points.map_or(p, |m| m.min(p)), &text)?;
            ((i128::from(cost) * i128::from(taken) / i128::from(p.max(1))) as Cents, taken)
        }
        (_, _, Some(v)) if crate::loyalty::cancel_voucher_tx(tx, v, &text)? => (cost, 0),
        _ => (0, 0),
    };
    let out = TakenBack { taken_back_cents: back, loss_cents: cost - back };
    add_committed(tx, &period, -back)?;
    tx.execute(
        "INSERT INTO referral_reward_ends (reward_id, at, reason, taken_back_cents, loss_cents, points_taken_back)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![grant, tx.now, reason, out.taken_back_cents, out.loss_cents, points_back],
    )?;
    let data = serde_json::json!({
        "label": label, "beneficiary": customer, "taken_back_cents": out.taken_back_cents, "loss_cents": out.loss_cents
    });
    event(tx, who, "reward_taken_back", Some(reason), None, None, data)?;
    tx.changes.customer(customer);
    Ok(out)
}

/// The shop's language, for the reasons written in the ledgers.
pub(crate) fn lang_of(conn: &Connection) -> Result<Lang> {
    Ok(crate::settings::read(conn)?.language)
}

/// Rewards of a referral not taken back yet, with their role.
pub(crate) fn live_rewards_of(conn: &Connection, referral: i64) -> Result<Vec<(i64, String)>> {
    let mut st = conn.prepare_cached(
        "SELECT g.id, g.role FROM referral_rewards g WHERE g.referral_id = ?1
         AND NOT EXISTS (SELECT 1 FROM referral_reward_ends e WHERE e.reward_id = g.id) ORDER BY g.id",
    )?;
    let rows = st.query_map([referral], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The points a reward gave, when it gave points.
pub(crate) fn points_of(conn: &Connection, grant: i64) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT CASE kind WHEN 'points' THEN points END FROM referral_rewards WHERE id = ?1",
        [grant],
        |r| r.get(0),
    )?)
}

/// What a reward cost when given.
pub(crate) fn cost_of(conn: &Connection, grant: i64) -> Result<Cents> {
    Ok(conn.query_row("SELECT cost_cents FROM referral_rewards WHERE id = ?1", [grant], |r| r.get(0))?)
}

/// Whether a referral already rewarded this side (taken back or not: once only).
pub(crate) fn rewarded(conn: &Connection, referral: i64, role: Role) -> Result<bool> {
    let mut st = conn.prepare_cached("SELECT 1 FROM referral_rewards WHERE referral_id = ?1 AND role = ?2")?;
    Ok(st.exists(params![referral, role.code()])?)
}

/// Whether the reward of `role` for this referral was refused (budget, stock, cap…).
pub(crate) fn refused(conn: &Connection, referral: i64, role: Role) -> Result<bool> {
    let mut st = conn.prepare_cached(
        "SELECT 1 FROM referral_events WHERE referral_id = ?1 AND kind = 'reward_refused'
         AND json_extract(data, '$.role') = ?2",
    )?;
    Ok(st.exists(params![referral, role.code()])?)
}

/// A milestone reward of a referrer in a period: held now (`active`), or taken back after it
/// was spent (what it gave counts for a top-up).
pub(crate) struct MilestoneGrant {
    pub id: i64,
    pub key: u32,
    /// The version of the offer it was given under.
    pub version: i64,
    pub active: bool,
    pub given: Option<RewardSpec>,
}

/// The milestone rewards of a referrer in a period: held now, and spent ones taken back.
pub(crate) fn milestone_grants(conn: &Connection, referrer: CustomerId, period: &str) -> Result<Vec<MilestoneGrant>> {
    let mut st = conn.prepare_cached(
        "SELECT g.id, g.milestone_key, e.reward_id IS NULL, g.kind, g.points, v.kind, v.value, g.offer_version
         FROM referral_rewards g LEFT JOIN referral_reward_ends e ON e.reward_id = g.id
         LEFT JOIN vouchers v ON v.id = g.voucher_id
         WHERE g.customer_id = ?1 AND g.period = ?2 AND g.role = 'milestone'
           AND (e.reward_id IS NULL OR e.loss_cents > 0) ORDER BY g.id",
    )?;
    let rows = st.query_map(params![referrer, period], |r| {
        let kind: String = r.get(3)?;
        let points: Option<i64> = r.get(4)?;
        let vkind: Option<String> = r.get(5)?;
        let value: Option<i64> = r.get(6)?;
        let given = match (kind.as_str(), points, vkind.as_deref(), value) {
            ("points", Some(p), _, _) => Some(RewardSpec::Points { points: p }),
            ("voucher", _, Some("amount"), Some(v)) => Some(RewardSpec::Voucher { cents: v, valid_days: 1 }),
            _ => None,
        };
        Ok(MilestoneGrant {
            id: r.get(0)?,
            key: r.get::<_, i64>(1)? as u32,
            version: r.get(7)?,
            active: r.get(2)?,
            given,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
