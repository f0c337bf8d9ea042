//! Tiers (paliers): the tier a customer holds, what is missing for the next one, and the
//! upgrade recorded when a customer qualifies.
//!
//! Invariants: a tier reached is kept at least until the end of its period (`tier_events`,
//! append-only); the tier held is the highest of the tier qualified for now and the tiers still
//! kept; a tier's entry points are granted once per tier ever reached.

use super::ledgers::{insert_points, PointsRefs};
use super::programme::{Programme, TierBasis, TierRules};
use super::rules;
use crate::error::Result;
use crate::storage::Tx;
use crate::types::{Cents, CustomerId, PurchaseId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The tier a customer holds and what qualifies them now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TierStatus {
    pub index: u32,
    pub name: String,
    pub percent: i64,
    pub advantages: String,
    /// Kept at least until then, even without further purchases.
    pub kept_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NextTier {
    pub name: String,
    /// Cents to spend or points to earn (see `basis`) to reach it.
    pub missing: i64,
    pub basis: TierBasis,
}

/// Spend (sales minus refunds) or points earned since the start of the tier period, leaving
/// out the sale being recorded (`except`) so that it earns at the tier held before it. Only the
/// sum the programme's basis counts is read: the spend from `purchases_by_customer` alone (it
/// holds the kind and amount), the points from the ledger's rows (its date and kind).
fn qualifying(
    conn: &Connection,
    t: &TierRules,
    customer: CustomerId,
    now: DateTime<Utc>,
    except: Option<PurchaseId>,
) -> Result<i64> {
    let since = rules::period_start(t.period, now);
    let (spend, points) = match t.basis {
        TierBasis::Spend => {
            let spend: Cents = conn
                .prepare_cached(
                    "SELECT coalesce(sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END), 0)
                     FROM purchases WHERE customer_id = ?1 AND occurred_at >= ?2 AND occurred_at <= ?3 AND id IS NOT ?4",
                )?
                .query_row(params![customer, since, now, except], |r| r.get(0))?;
            (spend, 0)
        }
        TierBasis::Points => {
            let points: i64 = conn
                .prepare_cached(
                    "SELECT coalesce(sum(points), 0) FROM points_ledger WHERE customer_id = ?1
                     AND kind IN ('earn', 'reverse', 'action') AND at >= ?2 AND at <= ?3",
                )?
                .query_row(params![customer, since, now], |r| r.get(0))?;
            (0, points)
        }
    };
    Ok(rules::qualifying_value(t.basis, spend, points))
}

fn held_tier(conn: &Connection, customer: CustomerId, now: DateTime<Utc>) -> Result<Option<(usize, DateTime<Utc>)>> {
    Ok(conn
        .prepare_cached(
            "SELECT tier_index, kept_until FROM tier_events WHERE customer_id = ?1 AND kept_until > ?2
             ORDER BY tier_index DESC, kept_until DESC LIMIT 1",
        )?
        .query_row(params![customer, now], |r| Ok((r.get::<_, i64>(0)? as usize, r.get(1)?)))
        .optional()?)
}

/// The tier held now: the highest of the tier qualified for now and the tiers still kept.
pub(super) fn tier_now(
    conn: &Connection,
    p: &Programme,
    customer: CustomerId,
    now: DateTime<Utc>,
    except: Option<PurchaseId>,
) -> Result<(Option<TierStatus>, Option<NextTier>)> {
    let Some(t) = &p.tiers else { return Ok((None, None)) };
    let thresholds: Vec<i64> = t.tiers.iter().map(|x| x.threshold).collect();
    let q = qualifying(conn, t, customer, now, except)?;
    let live = rules::tier_for(&thresholds, q);
    let held = held_tier(conn, customer, now)?.filter(|(i, _)| *i < t.tiers.len());
    let index = match (live, held) {
        (Some(l), Some((h, _))) => Some(l.max(h)),
        (l, h) => l.or(h.map(|x| x.0)),
    };
    let status = index.map(|i| TierStatus {
        index: i as u32,
        name: t.tiers[i].name.clone(),
        percent: t.tiers[i].percent,
        advantages: t.tiers[i].advantages.clone(),
        kept_until: held.filter(|(h, _)| *h == i).map(|(_, until)| until),
    });
    let next_index = index.map(|i| i + 1).unwrap_or(0);
    let next = t.tiers.get(next_index).map(|n| NextTier {
        name: n.name.clone(),
        missing: (n.threshold - q).max(0),
        basis: t.basis,
    });
    Ok((status, next))
}

/// The tier qualified for now, kept tiers aside.
pub(super) fn live_tier(
    conn: &Connection,
    p: &Programme,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<Option<u32>> {
    let Some(t) = &p.tiers else { return Ok(None) };
    let thresholds: Vec<i64> = t.tiers.iter().map(|x| x.threshold).collect();
    Ok(rules::tier_for(&thresholds, qualifying(conn, t, customer, now, None)?).map(|i| i as u32))
}

/// Record an upgrade when the customer now qualifies for a higher tier than they hold, with
/// its entry points.
pub(super) fn update_tier(tx: &Tx, p: &Programme, customer: CustomerId) -> Result<()> {
    let Some(t) = &p.tiers else { return Ok(()) };
    let thresholds: Vec<i64> = t.tiers.iter().map(|x| x.threshold).collect();
    let Some(live) = rules::tier_for(&thresholds, qualifying(tx, t, customer, tx.now, None)?) else { return Ok(()) };
    let held = held_tier(tx, customer, tx.now)?.map(|(i, _)| i);
    if held.is_some_and(|h| h >= live) {
        return Ok(());
    }
    let tier = &t.tiers[live];
    tx.execute(
        "INSERT INTO tier_events (customer_id, tier_index, tier_name, reached_at, kept_until) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![customer, live as i64, tier.name, tx.now, rules::kept_until(t.period, tx.now)],
    )?;
    // The entry reward of every tier passed, once per tier ever reached.
    for (i, passed) in t.tiers.iter().enumerate().take(live + 1) {
        let already: i64 = tx.query_row(
            "SELECT count(*) FROM tier_events WHERE customer_id = ?1 AND tier_index = ?2",
            params![customer, i as i64],
            |r| r.get(0),
        )?;
        let is_new = if i == live { already == 1 } else { already == 0 && held.is_none_or(|h| i > h) };
        if passed.entry_points > 0 && is_new {
            let expires_at = rules::expiry_date(&p.expiry, tx.now);
            insert_points(
                tx,
                customer,
                "tier_entry",
                passed.entry_points,
                PointsRefs { expires_at, reason: Some(&passed.name), ..Default::default() },
            )?;
        }
    }
    Ok(())
}

/// Rule: what the end of a kept period means. The tier was kept through the period after the
/// one it was reached in; if the customer qualified for it again during the period that just
/// ended (`qualified_then`, the tier index their spend or points reached then), it is kept for
/// another period, otherwise it is lost.
fn renewed_at_end(tier: usize, qualified_then: Option<usize>) -> bool {
    qualified_then.is_some_and(|q| q >= tier)
}

/// A tier event whose kept period ended.
struct Ended {
    event: i64,
    customer: CustomerId,
    index: usize,
    name: String,
    at: DateTime<Utc>,
}

/// Tier events whose kept period ended by `now` and that no later event of the same tier or a
/// higher one carries on, not yet judged.
fn ended_periods(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<Ended>> {
    let mut st = conn.prepare_cached(
        "SELECT e.id, e.customer_id, e.tier_index, e.tier_name, e.kept_until FROM tier_events e
         WHERE e.kept_until <= ?1
           AND NOT EXISTS (SELECT 1 FROM tier_downgrades d WHERE d.tier_event_id = e.id)
           AND NOT EXISTS (SELECT 1 FROM tier_events o WHERE o.customer_id = e.customer_id AND o.id <> e.id
                           AND o.tier_index >= e.tier_index AND o.kept_until > e.kept_until)
         ORDER BY e.kept_until, e.id",
    )?;
    let rows = st.query_map([now], |r| {
        Ok(Ended {
            event: r.get(0)?,
            customer: r.get(1)?,
            index: r.get::<_, i64>(2)? as usize,
            name: r.get(3)?,
            at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl crate::storage::Store {
    /// Tiers whose kept period ended: kept for another period when the customer qualified
    /// for them again in the period that just ended, otherwise lost — an event of its own
    /// (`tier_downgrades`, dated at the end of the kept period, with the tier held after), so
    /// that the tier shown, the segments ("tier at least"), the timeline and the automatic
    /// messages agree. Run at start and at each new day (with the points expiry); after a
    /// long closure every period that ended meanwhile is judged in turn. Returns how many
    /// tiers were lost.
    pub fn run_tier_changes(&mut self) -> Result<crate::types::Outcome<i64>> {
        self.transact("loyalty.tiers", None, |tx| {
            let p = super::programme::programme(tx)?;
            let Some(t) = &p.tiers else { return Ok(0) };
            let thresholds: Vec<i64> = t.tiers.iter().map(|x| x.threshold).collect();
            let mut lost = 0;
            // A renewal may itself end before now (closed for years): judged on the next pass.
            for _ in 0..50 {
                let ended = ended_periods(tx, tx.now)?;
                if ended.is_empty() {
                    break;
                }
                for Ended { event, customer, index, name, at: ended_at } in ended {
                    let last_instant = ended_at - chrono::Duration::seconds(1);
                    let qualified_then =
                        rules::tier_for(&thresholds, qualifying(tx, t, customer, last_instant, None)?);
                    if index < t.tiers.len() && renewed_at_end(index, qualified_then) {
                        // Reached again in the period that ended: not a new upgrade. (Under the
                        // tier's name today, if the merchant renamed it.)
                        tx.execute(
                            "INSERT INTO tier_events (customer_id, tier_index, tier_name, reached_at, kept_until) VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![customer, index as i64, t.tiers[index].name, ended_at, rules::kept_until(t.period, last_instant)],
                        )?;
                    } else {
                        let (mut after, _) = tier_now(tx, &p, customer, ended_at, None)?;
                        // Lost, but the period that ended qualified for a lower tier (Gold kept
                        // for 2027, Silver reached in 2027): that one is kept for the next
                        // period, as for a customer who reached Silver and never Gold.
                        let lower = qualified_then
                            .filter(|q| *q < index && after.as_ref().is_none_or(|a| (a.index as usize) < *q));
                        if let Some(q) = lower {
                            tx.execute(
                                "INSERT INTO tier_events (customer_id, tier_index, tier_name, reached_at, kept_until) VALUES (?1, ?2, ?3, ?4, ?5)",
                                params![customer, q as i64, t.tiers[q].name, ended_at, rules::kept_until(t.period, last_instant)],
                            )?;
                            after = tier_now(tx, &p, customer, ended_at, None)?.0;
                        }
                        tx.execute(
                            "INSERT INTO tier_downgrades (customer_id, tier_event_id, from_index, from_name, to_index, to_name, at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            params![
                                customer,
                                event,
                                index as i64,
                                name,
                                after.as_ref().map(|a| a.index),
                                after.as_ref().map(|a| a.name.clone()),
                                ended_at
                            ],
                        )?;
                        // The tier qualified for then (not one still kept) is recorded as held,
                        // so that it is not announced later as a new one.
                        if let Some(a) = after.filter(|a| a.kept_until.is_none()) {
                            tx.execute(
                                "INSERT INTO tier_events (customer_id, tier_index, tier_name, reached_at, kept_until) VALUES (?1, ?2, ?3, ?4, ?5)",
                                params![customer, a.index, a.name, ended_at, rules::kept_until(t.period, ended_at)],
                            )?;
                        }
                        lost += 1;
                    }
                    tx.changes.customer(customer);
                }
            }
            Ok(lost)
        })
    }

    /// The loyalty work of a new day: points past their date written off (`run_points_expiry`),
    /// then tiers whose kept period ended judged (`run_tier_changes`). The app runs it at start
    /// and whenever the local day changes while it stays open.
    pub fn run_loyalty_day(&mut self) -> Result<DayRun> {
        let expired_points = self.run_points_expiry()?.value;
        let tiers_lost = self.run_tier_changes()?.value;
        Ok(DayRun { expired_points, tiers_lost })
    }
}

/// What a day's loyalty run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayRun {
    pub expired_points: i64,
    pub tiers_lost: i64,
}

#[cfg(test)]
mod day_tests {
    use super::renewed_at_end;

    #[test]
    fn a_tier_is_renewed_only_when_qualified_for_again_in_the_period_that_ended() {
        let cases = [
            (1, Some(1), true, "qualified for the same tier"),
            (1, Some(2), true, "qualified for a higher one"),
            (1, Some(0), false, "only the tier below"),
            (1, None, false, "nothing"),
            (0, Some(0), true, "the first tier, qualified"),
        ];
        for (tier, q, want, why) in cases {
            assert_eq!(renewed_at_end(tier, q), want, "tier {tier}, qualified {q:?}: {why}");
        }
    }
}
