//! Which occasions the shop's data holds: for each kind, set-based reads over indexed ranges
//! (birthdays by month and day, visits by date, points by expiry date, tiers by date, sales by
//! date) that return the candidates whose window is open between `from` and `to`. Nothing is
//! written here; occasions that already exist for the automation are left out.

use super::calendar::{local_date, zone};
use super::rules::{self, Window};
use super::{AutomationConfig, AutomationKind, WelcomeOn};
use crate::error::Result;
use crate::loyalty::programme::{programme, Expiry};
use crate::types::CustomerId;
use chrono::{DateTime, Duration, Months, Utc};
use rusqlite::{params, Connection};
use std::collections::BTreeMap;

/// An occasion found in the data.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub customer_id: CustomerId,
    pub key: String,
    pub window: Window,
    /// What the message says (points, dates, tier), and what the last check compares.
    pub data: serde_json::Value,
}

/// The range looked at: occasions due by `to` and still valid after `from`. With `backlog`,
/// occasions whose window already passed are kept too (the merchant turned the automation on
/// with its backlog, which is then spread over the days chosen).
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub backlog: bool,
}

impl Span {
    fn open(&self, w: &Window) -> bool {
        w.due <= self.to && (self.backlog || w.valid_until > self.from)
    }
}

fn exists(conn: &Connection, automation: Option<i64>, customer: CustomerId, key: &str) -> Result<bool> {
    Ok(existing(conn, automation, customer, key)?.is_some())
}

/// The occasion `automation` already has for this key: (state, reason, data).
fn existing(
    conn: &Connection,
    automation: Option<i64>,
    customer: CustomerId,
    key: &str,
) -> Result<Option<(String, Option<String>, String)>> {
    use rusqlite::OptionalExtension;
    let Some(a) = automation else { return Ok(None) };
    Ok(conn
        .prepare_cached(
            "SELECT state, reason, data FROM automation_occasions WHERE automation_id = ?1 AND customer_id = ?2 AND occasion_key = ?3",
        )?
        .query_row(params![a, customer, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

/// Rule: a birthday corrected on the customer's record makes that year's occasion again for
/// the new date when nothing left for the old one — still waiting, expired, or skipped because
/// the date changed (then even for the same date: corrected back) — never when a message was
/// queued, sent or held out for it. One waiting
/// for the merchant's decision after a closure keeps waiting (the decision is theirs; once
/// taken, the last check sees the new date and the next check makes it again).
pub(crate) fn birthday_moved(
    state: &str,
    reason: Option<&str>,
    old: &serde_json::Value,
    new: &serde_json::Value,
) -> bool {
    // Stopped because the date changed: whatever the date now (corrected back included), the
    // candidate is the birthday on the record today.
    if state == "skipped" && reason == Some("birthday_changed") {
        return true;
    }
    matches!(state, "pending" | "postponed" | "expired") && (old["month"] != new["month"] || old["day"] != new["day"])
}

/// The candidates of `kind` in `span`, leaving out those `automation` already has and (outside
/// a backlog) those due before `not_before`.
pub fn candidates(
    conn: &Connection,
    kind: AutomationKind,
    cfg: &AutomationConfig,
    time_zone: &str,
    span: Span,
    automation: Option<i64>,
    not_before: Option<DateTime<Utc>>,
) -> Result<Vec<Candidate>> {
    let mut out = match kind {
        AutomationKind::Welcome => welcome(conn, cfg, span)?,
        AutomationKind::Birthday => birthday(conn, cfg, time_zone, span)?,
        AutomationKind::Winback => winback(conn, cfg, span, automation)?,
        AutomationKind::Expiry => expiry(conn, cfg, time_zone, span, automation)?,
        AutomationKind::Tier => tier(conn, cfg, time_zone, span)?,
        AutomationKind::Thanks => thanks(conn, cfg, span, automation)?,
    };
    let mut kept = Vec::with_capacity(out.len());
    for c in out.drain(..) {
        // Occasions due before the automation was turned on (for new ones only) are not made:
        // left out before the look-up, which is most of the candidates of a large shop.
        let too_old = !span.backlog && not_before.is_some_and(|t| c.window.due < t);
        if too_old || !span.open(&c.window) {
            continue;
        }
        let keep = match existing(conn, automation, c.customer_id, &c.key)? {
            None => true,
            Some((state, reason, data)) => {
                kind == AutomationKind::Birthday
                    && birthday_moved(
                        &state,
                        reason.as_deref(),
                        &serde_json::from_str(&data).unwrap_or_default(),
                        &c.data,
                    )
            }
        };
        if keep {
            kept.push(c);
        }
    }
    Ok(kept)
}

const ACTIVE: &str = "c.archived_at IS NULL AND c.merged_into IS NULL";

fn welcome(conn: &Connection, cfg: &AutomationConfig, span: Span) -> Result<Vec<Candidate>> {
    let column = match cfg.welcome_on {
        WelcomeOn::FirstPurchase => "first_purchase_at",
        WelcomeOn::SignUp => "created_at",
    };
    let lo = if span.backlog {
        span.from - Duration::days(365)
    } else {
        span.from - Duration::days(rules::WELCOME_VALID_DAYS)
    };
    let hi = span.to;
    // A welcome on sign-up is for people who signed up: not for the records of an import.
    let not_imported = match cfg.welcome_on {
        WelcomeOn::SignUp => {
            " AND NOT EXISTS (SELECT 1 FROM import_changes ic WHERE ic.customer_id = c.id AND ic.action = 'created')"
        }
        WelcomeOn::FirstPurchase => "",
    };
    let sql = format!(
        "SELECT c.id, c.{column} FROM customers c WHERE c.{column} >= ?1 AND c.{column} <= ?2 AND {ACTIVE}{not_imported}"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(params![lo, hi], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, DateTime<Utc>>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, at) = row?;
        out.push(Candidate {
            customer_id: id,
            key: "welcome".into(),
            window: rules::welcome_window(at, cfg.welcome_delay_hours),
            data: serde_json::json!({ "since": at }),
        });
    }
    Ok(out)
}

fn birthday(conn: &Connection, cfg: &AutomationConfig, time_zone: &str, span: Span) -> Result<Vec<Candidate>> {
    let tz = zone(time_zone);
    // Every (month, day) whose window can be open in the span: from 3 days before `from` to
    // 7 days after `to`; 29 February with the 28th and the 1st March.
    let first = local_date(tz, span.from) - Duration::days(rules::BIRTHDAY_AFTER_DAYS + 1);
    let last = local_date(tz, span.to) + Duration::days(rules::BIRTHDAY_BEFORE_DAYS + 1);
    let mut days: Vec<(u32, u32)> = Vec::new();
    let mut d = first;
    while d <= last && days.len() < 400 {
        use chrono::Datelike;
        days.push((d.month(), d.day()));
        if (d.month(), d.day()) == (2, 28) || (d.month(), d.day()) == (3, 1) {
            days.push((2, 29));
        }
        d += Duration::days(1);
    }
    days.sort_unstable();
    days.dedup();
    let mut st = conn.prepare_cached(&format!(
        "SELECT c.id, c.birthday_month, c.birthday_day FROM customers c
         WHERE c.birthday_month = ?1 AND c.birthday_day = ?2 AND {ACTIVE}"
    ))?;
    let mut out = Vec::new();
    for (m, d) in days {
        let rows =
            st.query_map(params![m, d], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, u32>(1)?, r.get::<_, u32>(2)?)))?;
        for row in rows {
            let (id, month, day) = row?;
            for (year, date, window) in
                rules::birthday_occasions(tz, month, day, cfg.feb29, cfg.birthday_days_before, span.from, span.to)
            {
                out.push(Candidate {
                    customer_id: id,
                    key: format!("birthday:{year}"),
                    window,
                    data: serde_json::json!({ "date": date, "month": month, "day": day }),
                });
            }
        }
    }
    Ok(out)
}

fn winback(conn: &Connection, cfg: &AutomationConfig, span: Span, automation: Option<i64>) -> Result<Vec<Candidate>> {
    let fixed = Duration::days(i64::from(cfg.winback_days.max(1)));
    let soonest = if cfg.winback_rhythm { Duration::days(rules::WINBACK_RHYTHM_MIN_DAYS).min(fixed) } else { fixed };
    let lo = if span.backlog {
        span.from - Duration::days(730)
    } else {
        span.from - Duration::days(rules::WINBACK_VALID_DAYS) - fixed
    };
    let hi = span.to - soonest;
    // In the query itself: only customers absent long enough by `span.to` (the fixed number of
    // days, or their own rhythm: `rules::winback_window`), and not already given this absence's
    // occasion — a large shop has tens of thousands of lapsed customers, nearly all decided.
    let mut st = conn.prepare_cached(&format!(
        "SELECT c.id, c.last_purchase_at, c.first_purchase_at, c.visit_count FROM customers c
         WHERE c.last_purchase_at >= ?1 AND c.last_purchase_at <= ?2 AND {ACTIVE}
           AND julianday(?3) - julianday(c.last_purchase_at) >= CASE
                 WHEN ?4 AND c.visit_count >= 3 AND c.first_purchase_at < c.last_purchase_at
                 THEN min(?5, max((julianday(c.last_purchase_at) - julianday(c.first_purchase_at)) / (c.visit_count - 1) * ?6 / 100.0, ?7))
                 ELSE ?5 END - 0.0001
           AND NOT EXISTS (SELECT 1 FROM automation_occasions o WHERE o.automation_id = ?8 AND o.customer_id = c.id
                           AND o.occasion_key = 'winback:' || substr(c.last_purchase_at, 1, 10))"
    ))?;
    let rows = st.query_map(
        params![
            lo,
            hi,
            span.to,
            cfg.winback_rhythm,
            i64::from(cfg.winback_days.max(1)),
            i64::from(cfg.winback_rhythm_percent.max(100)),
            rules::WINBACK_RHYTHM_MIN_DAYS,
            automation.unwrap_or(-1)
        ],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, DateTime<Utc>>(1)?,
                r.get::<_, Option<DateTime<Utc>>>(2)?,
                r.get::<_, i64>(3)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (id, last, first, visits) = row?;
        out.push(Candidate {
            customer_id: id,
            // The UTC date of the last visit (the query above builds the same key).
            key: format!("winback:{}", last.format("%Y-%m-%d")),
            window: rules::winback_window(cfg, last, first, visits),
            data: serde_json::json!({ "last_visit": last, "attempt": 1 }),
        });
    }
    // The second attempt: the first was sent, and the customer is still absent since the
    // same visit.
    if let (Some(days), Some(a)) = (cfg.winback_second_days, automation) {
        let mut st = conn.prepare_cached(&format!(
            "SELECT o.customer_id, o.occasion_key, r.sent_at, c.last_purchase_at, json_extract(o.data, '$.last_visit')
             FROM automation_occasions o JOIN campaign_recipients r ON r.id = o.recipient_id JOIN customers c ON c.id = o.customer_id
             WHERE o.automation_id = ?1 AND o.state = 'sent' AND o.occasion_key NOT LIKE '%:2'
               AND r.sent_at >= ?2 AND r.sent_at <= ?3 AND {ACTIVE}"
        ))?;
        let d = Duration::days(i64::from(days));
        let rows = st.query_map(params![a, span.from - d - Duration::days(30), span.to - d], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, DateTime<Utc>>(2)?,
                r.get::<_, Option<DateTime<Utc>>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        for row in rows {
            let (id, key, sent_at, last_now, last_then) = row?;
            let last_then: Option<DateTime<Utc>> =
                last_then.and_then(|s| serde_json::from_value(serde_json::json!(s)).ok());
            if last_now.is_some() && last_now == last_then {
                out.push(Candidate {
                    customer_id: id,
                    key: format!("{key}:2"),
                    window: rules::winback_second_window(sent_at, days),
                    data: serde_json::json!({ "last_visit": last_then, "attempt": 2 }),
                });
            }
        }
    }
    Ok(out)
}

fn expiry(
    conn: &Connection,
    cfg: &AutomationConfig,
    time_zone: &str,
    span: Span,
    automation: Option<i64>,
) -> Result<Vec<Candidate>> {
    let tz = zone(time_zone);
    let p = programme(conn)?;
    let mut out = Vec::new();
    for &n in &cfg.expiry_reminders {
        let ahead = Duration::days(i64::from(n) + 1);
        // (customer, local date of expiry) → the first instant of that date's expiries, and the
        // points those lots were given with (what is left of them is at most that).
        let mut groups: BTreeMap<(CustomerId, chrono::NaiveDate), (DateTime<Utc>, i64)> = BTreeMap::new();
        match p.expiry {
            Expiry::AfterMonths { .. } => {
                let mut st = conn.prepare_cached(
                    "SELECT customer_id, expires_at, points FROM points_ledger
                     WHERE expires_at IS NOT NULL AND expires_at > ?1 AND expires_at <= ?2 AND points > 0",
                )?;
                let rows = st.query_map(params![span.from, span.to + ahead], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, DateTime<Utc>>(1)?, r.get::<_, i64>(2)?))
                })?;
                for row in rows {
                    let (c, at, points) = row?;
                    let e = groups.entry((c, local_date(tz, at))).or_insert((at, 0));
                    e.0 = e.0.min(at);
                    e.1 += points;
                }
            }
            Expiry::AfterInactivityMonths { months } => {
                let m = Months::new(months);
                let lo = span.from.checked_sub_months(m).unwrap_or(span.from);
                let hi = (span.to + ahead).checked_sub_months(m).unwrap_or(span.to);
                let mut st = conn.prepare_cached(&format!(
                    "SELECT c.id, c.last_purchase_at FROM customers c WHERE c.last_purchase_at > ?1 AND c.last_purchase_at <= ?2 AND {ACTIVE}"
                ))?;
                let rows =
                    st.query_map(params![lo, hi], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, DateTime<Utc>>(1)?)))?;
                for row in rows {
                    let (c, last) = row?;
                    if let Some(at) = last.checked_add_months(m) {
                        groups.insert((c, local_date(tz, at)), (at, i64::MAX));
                    }
                }
            }
            Expiry::Never => {}
        }
        for ((customer, date), (at, given)) in groups {
            // Lots given with fewer points than the threshold cannot leave enough: no need to
            // work out what is left of them.
            if given < cfg.expiry_min_points.max(1) {
                continue;
            }
            let key = format!("expiry:{date}:{n}");
            let window = rules::expiry_window(tz, at, n);
            if !span.open(&window) || exists(conn, automation, customer, &key)? {
                continue;
            }
            let points = points_expiring_on(conn, &p, customer, tz, date, span.from)?;
            if points >= cfg.expiry_min_points.max(1) {
                out.push(Candidate {
                    customer_id: customer,
                    key,
                    window,
                    data: serde_json::json!({ "date": date, "expires_at": at, "points": points }),
                });
            }
        }
    }
    Ok(out)
}

/// The points of a customer that expire on the local date `date` (every lot of that day).
pub(crate) fn points_expiring_on(
    conn: &Connection,
    p: &crate::loyalty::programme::Programme,
    customer: CustomerId,
    tz: chrono_tz::Tz,
    date: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<i64> {
    let (usable, lots) = crate::loyalty::usable_points(conn, p, customer, now)?;
    Ok(match p.expiry {
        Expiry::AfterInactivityMonths { .. } => usable,
        _ => lots
            .iter()
            .filter(|l| l.remaining > 0 && l.expires_at.is_some_and(|e| e > now && local_date(tz, e) == date))
            .map(|l| l.remaining)
            .sum(),
    })
}

fn tier(conn: &Connection, cfg: &AutomationConfig, time_zone: &str, span: Span) -> Result<Vec<Candidate>> {
    let tz = zone(time_zone);
    let delay = Duration::hours(i64::from(cfg.tier_delay_hours));
    let mut out = Vec::new();
    // An upgrade: no tier at least as high was held when it was reached (a renewal of a tier
    // kept is not one).
    let mut st = conn.prepare_cached(&format!(
        "SELECT e.customer_id, e.tier_index, e.tier_name, e.reached_at FROM tier_events e JOIN customers c ON c.id = e.customer_id
         WHERE e.reached_at >= ?1 AND e.reached_at <= ?2 AND {ACTIVE}
           AND NOT EXISTS (SELECT 1 FROM tier_events p WHERE p.customer_id = e.customer_id AND p.id < e.id
                           AND p.tier_index >= e.tier_index AND p.kept_until >= e.reached_at)"
    ))?;
    let lo = if span.backlog {
        span.from - Duration::days(365)
    } else {
        span.from - Duration::days(rules::TIER_VALID_DAYS) - delay
    };
    let rows = st.query_map(params![lo, span.to - delay], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, DateTime<Utc>>(3)?))
    })?;
    for row in rows {
        let (id, index, name, reached) = row?;
        use chrono::Datelike;
        out.push(Candidate {
            customer_id: id,
            // The year it was reached: a tier is kept 12 months at least (through the next
            // calendar year, or 12 rolling months), so losing it and reaching it again always
            // falls in another year — a new key — while a refund and a new purchase within the
            // period are one upgrade (the query above finds no second one).
            key: format!("tier:{index}:{}", local_date(tz, reached).year()),
            window: rules::tier_window(reached, cfg.tier_delay_hours),
            data: serde_json::json!({ "tier_index": index, "tier": name, "reached_at": reached }),
        });
    }
    if let Some(days) = cfg.tier_loss_days {
        let ahead = Duration::days(i64::from(days));
        let mut st = conn.prepare_cached(&format!(
            "SELECT e.customer_id, e.tier_index, e.tier_name, e.kept_until FROM tier_events e JOIN customers c ON c.id = e.customer_id
             WHERE e.kept_until > ?1 AND e.kept_until <= ?2 AND {ACTIVE}
               AND NOT EXISTS (SELECT 1 FROM tier_events p WHERE p.customer_id = e.customer_id AND p.id <> e.id
                               AND p.tier_index >= e.tier_index AND p.kept_until > e.kept_until)"
        ))?;
        let rows = st.query_map(params![span.from, span.to + ahead], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, DateTime<Utc>>(3)?))
        })?;
        for row in rows {
            let (id, index, name, until) = row?;
            out.push(Candidate {
                customer_id: id,
                key: format!("tierloss:{index}:{}", local_date(tz, until)),
                window: rules::tier_loss_window(until, days),
                data: serde_json::json!({ "tier_index": index, "tier": name, "kept_until": until }),
            });
        }
    }
    Ok(out)
}

fn thanks(conn: &Connection, cfg: &AutomationConfig, span: Span, automation: Option<i64>) -> Result<Vec<Candidate>> {
    let after = Duration::days(i64::from(cfg.thanks_days));
    let lo = if span.backlog {
        span.from - Duration::days(30)
    } else {
        span.from - Duration::days(rules::THANKS_VALID_DAYS)
    } - after;
    // Sales already thanked (or decided) are left out in the query itself.
    let mut st = conn.prepare_cached(&format!(
        "SELECT p.id, p.customer_id, p.occurred_at FROM purchases p JOIN customers c ON c.id = p.customer_id
         WHERE p.kind = 'sale' AND p.occurred_at >= ?1 AND p.occurred_at <= ?2 AND {ACTIVE}
           AND NOT EXISTS (SELECT 1 FROM automation_occasions o WHERE o.automation_id = ?3 AND o.customer_id = p.customer_id
                           AND o.occasion_key = 'thanks:' || p.id)"
    ))?;
    let rows = st.query_map(params![lo, span.to - after, automation.unwrap_or(-1)], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, DateTime<Utc>>(2)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (sale, customer, at) = row?;
        out.push(Candidate {
            customer_id: customer,
            key: format!("thanks:{sale}"),
            window: rules::thanks_window(at, cfg.thanks_days),
            data: serde_json::json!({ "purchase_id": sale }),
        });
    }
    Ok(out)
}
