//! The last check of an automatic message: whether its occasion is still true (`still_due`:
//! the customer active, the automation on, and its own condition — birthday unchanged, not
//! come back, points not used, tier held, purchase not refunded) and, asked by the campaign
//! sender just before an outbox row leaves (`precheck`), whether it may leave now. Reads only,
//! except the occasion's own state (skipped with its reason) and the birthday voucher, given
//! when the message leaves.

use super::calendar::{local_date, sending_window, zone};
use super::detect;
use super::occasions::{automations, set_state, settings, Active};
use super::{AutomationKind, AutomationSettings, OccasionState};
use crate::error::Result;
use crate::storage::Tx;
use crate::types::CustomerId;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};

/// Rule (on the data): the occasion is still true — the customer is active, the automation on,
/// and its own condition holds: the birthday did not change, the customer did not come back,
/// the points were not used, the tier is still held (or, for the notice before losing it, not
/// requalified), the purchase was not refunded. `Err` is the reason.
#[allow(clippy::type_complexity)]
pub(crate) fn still_due(
    conn: &Connection,
    a: &Active,
    s: &AutomationSettings,
    customer: CustomerId,
    key: &str,
    data: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<std::result::Result<(), &'static str>> {
    if !a.enabled {
        return Ok(Err("automation_off"));
    }
    let row: Option<(Option<String>, Option<i64>, Option<u32>, Option<u32>, Option<DateTime<Utc>>)> = conn
        .prepare_cached(
            "SELECT archived_at, merged_into, birthday_month, birthday_day, last_purchase_at FROM customers WHERE id = ?1",
        )?
        .query_row([customer], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .optional()?;
    let Some((archived, merged, month, day, last)) = row else { return Ok(Err("customer_archived")) };
    if archived.is_some() || merged.is_some() {
        return Ok(Err("customer_archived"));
    }
    let ok = match a.kind {
        AutomationKind::Welcome => true,
        AutomationKind::Birthday => {
            month.map(i64::from) == data["month"].as_i64() && day.map(i64::from) == data["day"].as_i64()
        }
        AutomationKind::Winback => {
            let then: Option<DateTime<Utc>> = serde_json::from_value(data["last_visit"].clone()).ok();
            if last != then {
                return Ok(Err("came_back"));
            }
            true
        }
        AutomationKind::Expiry => {
            let date: Option<chrono::NaiveDate> = serde_json::from_value(data["date"].clone()).ok();
            let Some(date) = date else { return Ok(Err("points_used")) };
            let p = crate::loyalty::programme::programme(conn)?;
            let tz = zone(&s.time_zone);
            // Points that expire after months without a visit: a visit since moved the date.
            if let crate::loyalty::Expiry::AfterInactivityMonths { months } = p.expiry {
                let moved = last
                    .and_then(|l| l.checked_add_months(chrono::Months::new(months)))
                    .is_none_or(|at| local_date(tz, at) != date);
                if moved {
                    return Ok(Err("came_back"));
                }
            }
            let points = detect::points_expiring_on(conn, &p, customer, tz, date, now)?;
            if points < a.config.expiry_min_points.max(1) {
                return Ok(Err("points_used"));
            }
            true
        }
        AutomationKind::Tier => {
            let index = data["tier_index"].as_i64().unwrap_or(0);
            if key.starts_with("tierloss:") {
                let live = crate::loyalty::live_tier_index(conn, customer, now)?;
                if live.is_some_and(|l| i64::from(l) >= index) {
                    return Ok(Err("requalified"));
                }
                true
            } else {
                let held = crate::loyalty::tier_index_now(conn, customer, now)?;
                if held.is_none_or(|h| i64::from(h) < index) {
                    return Ok(Err("tier_lost"));
                }
                // Reached in this period and no longer qualified for (the sale that reached it
                // was refunded): not announced. Reached in the period before, it is kept.
                let reached: Option<DateTime<Utc>> = serde_json::from_value(data["reached_at"].clone()).ok();
                let p = crate::loyalty::programme::programme(conn)?;
                let this_period = match (reached, &p.tiers) {
                    (Some(r), Some(t)) => r >= crate::loyalty::rules::period_start(t.period, now),
                    _ => false,
                };
                if this_period {
                    let live = crate::loyalty::live_tier_index(conn, customer, now)?;
                    if live.is_none_or(|l| i64::from(l) < index) {
                        return Ok(Err("tier_lost"));
                    }
                }
                true
            }
        }
        AutomationKind::Thanks => {
            let sale = data["purchase_id"].as_i64().unwrap_or(0);
            // Given back in full (a partial refund still deserves a thank-you).
            let refunded: bool = conn
                .prepare_cached(
                    "SELECT coalesce((SELECT sum(r.amount_cents) FROM purchases r WHERE r.refund_of = p.id), 0) >= p.amount_cents
                     FROM purchases p WHERE p.id = ?1",
                )?
                .query_row([sale], |r| r.get(0))
                .optional()?
                .unwrap_or(true);
            if refunded {
                return Ok(Err("refunded"));
            }
            true
        }
    };
    Ok(if ok { Ok(()) } else { Err("birthday_changed") })
}

/// Asked by the campaign sender just before an outbox row leaves: for a row of an automatic
/// message, whether its occasion is still true and may leave now. Past its window it is
/// skipped ("window_passed"); outside the sending hours it waits for them (a message queued
/// at 19:25 and a sender resumed at night do not mail at 3 in the morning); an occasion no
/// longer true is skipped with the reason. When it leaves, the birthday voucher is given.
pub fn precheck(tx: &Tx, row: i64) -> Result<crate::campaigns::engine::Verdict> {
    use crate::campaigns::engine::Verdict;
    let occ: Option<(i64, i64, CustomerId, String, String, DateTime<Utc>)> = tx
        .prepare_cached(
            "SELECT id, automation_id, customer_id, occasion_key, data, valid_until FROM automation_occasions
             WHERE recipient_id = ?1 AND state = 'queued'",
        )?
        .query_row([row], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .optional()?;
    let Some((id, automation, customer, key, data, valid_until)) = occ else { return Ok(Verdict::Send) };
    let all = automations(tx)?;
    let Some(a) = all.iter().find(|a| a.id == automation) else { return Ok(Verdict::Send) };
    if valid_until <= tx.now {
        set_state(tx, id, OccasionState::Skipped, Some("window_passed"))?;
        return Ok(Verdict::Skip("window_passed".into()));
    }
    let s = settings(tx)?;
    let country: Option<String> =
        tx.query_row("SELECT value FROM settings WHERE key = 'country'", [], |r| r.get(0)).optional()?;
    let country = country.as_deref().and_then(crate::types::Country::parse).unwrap_or_default();
    if let Err(next) = sending_window(&s, country, tx.now) {
        return Ok(Verdict::Defer(next));
    }
    let data: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
    match still_due(tx, a, &s, customer, &key, &data, tx.now)? {
        Ok(()) => {
            super::values::attach_voucher(tx, a, &s, id, row, customer, &key, &data)?;
            Ok(Verdict::Send)
        }
        Err(why) => {
            set_state(tx, id, OccasionState::Skipped, Some(why))?;
            Ok(Verdict::Skip(why.to_string()))
        }
    }
}
