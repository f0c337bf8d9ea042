//! The tick: run at start, every few minutes while the app is open, and right after a sale or
//! a customer change. It reads the occasions the data holds (`detect`), then in one write
//! transaction:
//!
//! 1. records what the sender did with queued messages (sent, failed, skipped);
//! 2. makes the new occasions (`INSERT OR IGNORE` on the unique key: a second check, a second
//!    copy of the app or a restart finds them made);
//! 3. after a long closure, puts the occasions that became due meanwhile before the merchant;
//! 4. records as expired, with the reason, those whose window passed;
//! 5. within the sending hours, queues for each customer the most important due message the
//!    pressure limits allow — after checking it is still true (came back, points used,
//!    refunded…) and that the customer may receive marketing — and postpones the others.
//!
//! `precheck` is the same last check, asked by the campaign sender just before an automatic
//! message leaves.

use super::calendar::{sending_window, zone};
use super::detect::{self, Span};
pub use super::last_check::precheck;
pub(crate) use super::last_check::still_due;
use super::occasions::last_check;
pub(crate) use super::occasions::{automations, journal, set_state, settings, Active};
use super::rules::{self, Pressure, Verdict};
use super::{AutomationKind, AutomationSettings, OccasionState, TickReport};
use crate::campaigns::segments;
use crate::error::Result;
use crate::storage::{Store, Tx};
use crate::types::CustomerId;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;

/// At most this many occasions are decided (queued, held out or skipped) by one check: about
/// 0.3 ms each on the 100k shop, so about 50 ms of the check's write transaction (400 at a time
/// held it for 160–280 ms, and put the bench's p99 at the 200 ms target). The rest of the
/// transaction is not bounded by it (reading the due occasions, postponed ones examined again,
/// new occasions made, expired ones). A check that stops here says `more`, and the clock checks
/// again seconds later; decided occasions never come back, so each check makes progress, and
/// the customers whose occasions close first are taken first.
pub(crate) const MAX_DECIDED_PER_CHECK: usize = 150;

/// How far back a check looks after a long closure (older occasions are not recorded).
const MAX_LOOK_BACK_DAYS: i64 = 60;

/// Run every enabled automation once.
pub fn tick(store: &mut Store) -> Result<TickReport> {
    let now = store.now();
    let all = automations(store.conn())?;
    let enabled: Vec<&Active> = all.iter().filter(|a| a.enabled).collect();
    let s = settings(store.conn())?;
    let country = store.settings()?.country;
    // After a day or more without a check (the app was closed), the occasions whose whole
    // window fell in the closure are found too, and recorded as expired with the reason: none
    // goes missing silently. (Within a day no window can open and close unseen.)
    let from = match last_check(store.conn())? {
        Some(p) if now - p > Duration::hours(24) => p.max(now - Duration::days(MAX_LOOK_BACK_DAYS)),
        _ => now,
    };
    // Reads first, outside the write lock.
    let mut found: Vec<(usize, detect::Candidate)> = Vec::new();
    for (i, a) in enabled.iter().enumerate() {
        let backlog = a.backlog_until.is_some_and(|b| b > now);
        let span = Span { from, to: now, backlog };
        let not_before = a.new_from(zone(&s.time_zone));
        for c in detect::candidates(store.conn(), a.kind, &a.config, &s.time_zone, span, Some(a.id), not_before)? {
            found.push((i, c));
        }
    }
    let out = store.transact("automations.tick", None, |tx| {
        let mut report = TickReport::default();
        sync_with_outbox(tx)?;
        let previous = last_check(tx)?;
        create(tx, &enabled, &found, zone(&s.time_zone), &mut report)?;
        if rules::long_closure(previous, now, s.catch_up_after_hours) {
            report.awaiting += hold_for_decision(tx, previous.unwrap_or(now), now)?;
        }
        report.expired += expire(tx, now)?;
        match sending_window(&s, country, now) {
            Ok(()) => process_due(tx, &all, &s, now, &mut report)?,
            Err(_) => report.quiet = true,
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('automations.last_check', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [now.to_rfc3339()],
        )?;
        Ok(report)
    })?;
    Ok(out.value)
}

/// What the sender did with queued messages: sent, failed, or skipped before leaving.
#[allow(clippy::type_complexity)]
fn sync_with_outbox(tx: &Tx) -> Result<()> {
    let rows: Vec<(i64, String, Option<String>, Option<DateTime<Utc>>)> = tx
        .prepare_cached(
            "SELECT o.id, r.state, r.skip_reason, r.sent_at FROM automation_occasions o
             JOIN campaign_recipients r ON r.id = o.recipient_id
             WHERE o.state = 'queued' AND r.state IN ('sent', 'failed', 'skipped', 'cancelled')",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, state, skip_reason, _sent_at) in rows {
        match state.as_str() {
            "sent" => set_state(tx, id, OccasionState::Sent, None)?,
            // A code, not the server's words: the journal is append-only, and a reply can quote
            // the address (which an erasure must be able to remove from the outbox row).
            "failed" => set_state(tx, id, OccasionState::Failed, Some("send_failed"))?,
            "cancelled" => set_state(tx, id, OccasionState::Skipped, Some("automation_off"))?,
            _ => set_state(tx, id, OccasionState::Skipped, Some(skip_reason.as_deref().unwrap_or("consent")))?,
        };
    }
    Ok(())
}

fn create(
    tx: &Tx,
    enabled: &[&Active],
    found: &[(usize, detect::Candidate)],
    tz: chrono_tz::Tz,
    report: &mut TickReport,
) -> Result<()> {
    // Backlog occasions are spread in the order of their due time.
    let mut backlog_rank: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    for (i, _) in found {
        backlog_rank.entry(*i).or_insert((0, 0)).1 += 1;
    }
    let mut st = tx.prepare_cached(
        "INSERT OR IGNORE INTO automation_occasions
           (automation_id, customer_id, occasion_key, due_at, valid_until, state, reason, data, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?;
    for (i, c) in found {
        let a = enabled[*i];
        let mut w = c.window;
        if let (Some(start), true) = (a.enabled_at, a.new_from(tz).is_some_and(|s| w.due < s)) {
            match a.backlog_until {
                // Turned on for new occasions only: what was due before is not made.
                None => continue,
                Some(until) => {
                    let (rank, total) = backlog_rank.get_mut(i).expect("counted above");
                    w = rules::spread(w, start, until, *rank, *total);
                    *rank += 1;
                }
            }
        }
        // Its whole window passed while the app was closed: recorded as expired, with why.
        let (state, reason) = if w.valid_until <= tx.now {
            (OccasionState::Expired, Some("closed"))
        } else {
            (OccasionState::Pending, None)
        };
        let made = if st.execute(params![
            a.id,
            c.customer_id,
            c.key,
            w.due,
            w.valid_until,
            state.code(),
            reason,
            c.data.to_string(),
            tx.now
        ])? == 1
        {
            let id = tx.last_insert_rowid();
            journal(tx, id, a.id, c.customer_id, state, reason, tx.now)?;
            true
        } else if a.kind == AutomationKind::Birthday {
            // The birthday was corrected: that year's occasion is made again for the new date.
            let Some(id) = reopen(tx, a.id, c, w, state)? else { continue };
            journal(tx, id, a.id, c.customer_id, state, Some("birthday_changed"), tx.now)?;
            true
        } else {
            false
        };
        if !made {
            continue;
        }
        if state == OccasionState::Expired {
            report.expired += 1;
        } else {
            report.created += 1;
        }
    }
    Ok(())
}

/// A birthday occasion made again for a corrected date (`detect::birthday_moved` chose it):
/// its window and what it says follow the new date; nothing had left for the old one.
fn reopen(
    tx: &Tx,
    automation: i64,
    c: &detect::Candidate,
    w: rules::Window,
    state: OccasionState,
) -> Result<Option<i64>> {
    let reason = (state == OccasionState::Expired).then_some("closed");
    Ok(tx
        .prepare_cached(
            "UPDATE automation_occasions SET due_at = ?4, valid_until = ?5, data = ?6, state = ?7, reason = ?8,
                    recipient_id = NULL, decided_at = NULL, updated_at = ?9
             WHERE automation_id = ?1 AND customer_id = ?2 AND occasion_key = ?3
               AND (state IN ('pending', 'postponed', 'expired') OR (state = 'skipped' AND reason = 'birthday_changed'))
               AND voucher_id IS NULL
               -- Read before the write lock: another copy of the app may have made it again.
               AND (state = 'skipped' OR json_extract(data, '$.month') IS NOT ?10 OR json_extract(data, '$.day') IS NOT ?11)
             RETURNING id",
        )?
        .query_row(
            params![
                automation,
                c.customer_id,
                c.key,
                w.due,
                w.valid_until,
                c.data.to_string(),
                state.code(),
                reason,
                tx.now,
                c.data["month"].as_i64(),
                c.data["day"].as_i64()
            ],
            |r| r.get(0),
        )
        .optional()?)
}

/// The outbox holds one message per address and occasion (two records of one person get one
/// copy). A birthday's names its date: two people sharing an address, born on different days,
/// each get theirs, and a birthday corrected after a message was stopped gets a fresh row.
fn outbox_occasion(key: &str, data: &serde_json::Value) -> String {
    match (key.starts_with("birthday:"), data["month"].as_u64(), data["day"].as_u64()) {
        (true, Some(m), Some(d)) => format!("{key}@{m:02}-{d:02}"),
        _ => key.to_string(),
    }
}

/// After a long closure: the occasions that became due while the app was closed, still
/// valid, wait for the merchant's one decision.
fn hold_for_decision(tx: &Tx, since: DateTime<Utc>, now: DateTime<Utc>) -> Result<usize> {
    let ids: Vec<i64> = tx
        .prepare_cached(
            "SELECT id FROM automation_occasions WHERE state IN ('pending', 'postponed')
             AND due_at > ?1 AND due_at <= ?2 AND valid_until > ?2",
        )?
        .query_map(params![since, now], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &ids {
        set_state(tx, *id, OccasionState::Awaiting, Some("closed"))?;
    }
    Ok(ids.len())
}

/// Occasions whose window passed: expired, saying why they were not sent in time. A message
/// still waiting in a paused outbox is taken out of it.
fn expire(tx: &Tx, now: DateTime<Utc>) -> Result<usize> {
    let stale: Vec<(i64, i64)> = tx
        .prepare_cached(
            "SELECT o.id, r.id FROM automation_occasions o JOIN campaign_recipients r ON r.id = o.recipient_id
             WHERE o.state = 'queued' AND o.valid_until <= ?1 AND r.state = 'queued'",
        )?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (occasion, row) in &stale {
        tx.execute("UPDATE campaign_recipients SET state = 'cancelled' WHERE id = ?1 AND state = 'queued'", [row])?;
        set_state(tx, *occasion, OccasionState::Expired, Some("window_passed"))?;
    }
    let rows: Vec<(i64, String, Option<String>)> = tx
        .prepare_cached(
            "SELECT id, state, reason FROM automation_occasions WHERE state IN ('pending', 'postponed', 'awaiting') AND valid_until <= ?1",
        )?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, state, reason) in &rows {
        let why = match (state.as_str(), reason.as_deref()) {
            ("postponed", _) => "postponed_until_expired",
            ("awaiting", _) => "no_decision",
            (_, Some("merchant_send")) => "window_passed",
            _ => "window_passed",
        };
        set_state(tx, *id, OccasionState::Expired, Some(why))?;
    }
    Ok(rows.len() + stale.len())
}

struct Due {
    id: i64,
    automation: usize,
    customer: CustomerId,
    key: String,
    due: DateTime<Utc>,
    data: serde_json::Value,
}

fn process_due(
    tx: &mut Tx,
    all: &[Active],
    s: &AutomationSettings,
    now: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<()> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(i64, i64, CustomerId, String, DateTime<Utc>, String, DateTime<Utc>)> = tx
        .prepare_cached(
            "SELECT o.id, o.automation_id, o.customer_id, o.occasion_key, o.due_at, o.data, o.valid_until
             FROM automation_occasions o
             WHERE o.state IN ('pending', 'postponed') AND o.due_at <= ?1 AND o.valid_until > ?1
             ORDER BY o.customer_id, o.due_at, o.id",
        )?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut by_customer: BTreeMap<CustomerId, Vec<Due>> = BTreeMap::new();
    // When each customer's first occasion closes: a catch-up larger than one check's budget
    // takes the most urgent customers first (then by id).
    let mut closes: BTreeMap<CustomerId, DateTime<Utc>> = BTreeMap::new();
    for (id, automation, customer, key, due, data, valid_until) in rows {
        let Some(ai) = all.iter().position(|a| a.id == automation) else { continue };
        if all[ai].enabled {
            closes.entry(customer).and_modify(|c| *c = (*c).min(valid_until)).or_insert(valid_until);
        }
        by_customer.entry(customer).or_default().push(Due {
            id,
            automation: ai,
            customer,
            key,
            due,
            data: serde_json::from_str(&data).unwrap_or_default(),
        });
    }
    let mut order: Vec<CustomerId> = by_customer.keys().copied().collect();
    order.sort_by_key(|c| (closes.get(c).copied().unwrap_or(DateTime::<Utc>::MAX_UTC), *c));
    for customer in order {
        let mut list = by_customer.remove(&customer).unwrap_or_default();
        // A large catch-up is decided over several checks (`MAX_DECIDED_PER_CHECK`).
        if report.queued + report.held_out + report.skipped >= MAX_DECIDED_PER_CHECK {
            report.more = true;
            break;
        }
        // Occasions of an automation turned off wait (they expire in their time, or go when
        // it is turned on again).
        list.retain(|d| all[d.automation].enabled);
        loop {
            if list.is_empty() {
                break;
            }
            let recent = recent_messages(tx, customer, now)?;
            let p = rules::pressure(s, &recent, now);
            let kinds: Vec<_> = list.iter().map(|d| (all[d.automation].kind, d.due)).collect();
            let verdicts = rules::arbitrate(&kinds, p);
            let Some(pick) = verdicts.iter().position(|v| *v == Verdict::Send) else {
                for d in &list {
                    if set_state(tx, d.id, OccasionState::Postponed, Some("pressure"))? {
                        report.postponed += 1;
                    }
                }
                break;
            };
            let d = list.remove(pick);
            match queue_one(tx, &all[d.automation], s, &d)? {
                Queued::Sent => report.queued += 1,
                Queued::HeldOut => report.held_out += 1,
                // Not sent: the next most important one may go in its place.
                Queued::Skipped => {
                    report.skipped += 1;
                    continue;
                }
            }
            if p == Pressure::Allowed {
                // The one message allowed now is taken; the others wait.
                for rest in &list {
                    if set_state(tx, rest.id, OccasionState::Postponed, Some("pressure"))? {
                        report.postponed += 1;
                    }
                }
                break;
            }
        }
    }
    Ok(())
}

/// The times of the automatic messages a customer was sent (or held out of) in the last 30
/// days, those of a record merged into theirs and those sent to the same address for another
/// record (one inbox, one pressure) included: what the pressure limits count.
fn recent_messages(conn: &Connection, customer: CustomerId, now: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>> {
    Ok(conn
        .prepare_cached(
            "SELECT decided_at FROM automation_occasions WHERE customer_id = ?1
             AND (state IN ('queued', 'sent', 'held_out') OR reason = 'merged') AND decided_at > ?2
             UNION ALL
             SELECT o.decided_at FROM campaign_recipients r JOIN automation_occasions o ON o.recipient_id = r.id
             WHERE r.campaign_id IN (SELECT campaign_id FROM automations)
               AND r.email_norm = (SELECT email_norm FROM customers WHERE id = ?1) AND r.customer_id <> ?1
               AND o.customer_id <> ?1 AND o.state IN ('queued', 'sent', 'held_out') AND o.decided_at > ?2",
        )?
        .query_map(params![customer, now - Duration::days(rules::PRESSURE_MONTH_DAYS)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

enum Queued {
    Sent,
    HeldOut,
    Skipped,
}

fn skip(tx: &Tx, id: i64, reason: &str) -> Result<Queued> {
    set_state(tx, id, OccasionState::Skipped, Some(reason))?;
    Ok(Queued::Skipped)
}

fn queue_one(tx: &mut Tx, a: &Active, s: &AutomationSettings, d: &Due) -> Result<Queued> {
    if let Err(why) = still_due(tx, a, s, d.customer, &d.key, &d.data, tx.now)? {
        return skip(tx, d.id, why);
    }
    if a.kind == AutomationKind::Thanks {
        let since = tx.now - Duration::days(i64::from(a.config.thanks_period_days));
        let recent: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM automation_occasions WHERE automation_id = ?1 AND customer_id = ?2
             AND state IN ('queued', 'sent', 'held_out') AND decided_at > ?3)",
            params![a.id, d.customer, since],
            |r| r.get(0),
        )?;
        if recent {
            return skip(tx, d.id, "once_per_period");
        }
    }
    if let Err(why) = segments::still_eligible(tx, d.customer, tx.now)? {
        return skip(tx, d.id, why.code());
    }
    let (email, lang): (Option<String>, String) =
        tx.query_row("SELECT email, language FROM customers WHERE id = ?1", [d.customer], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let Some(email) = email.filter(|e| !e.trim().is_empty()) else { return skip(tx, d.id, "no_email") };
    let held = rules::held_out(a.id, d.customer, a.config.holdout_percent);
    let variant = if lang == "en" && a.has_english { "b" } else { "a" };
    let (grp, state) = if held { ("control", "control") } else { ("main", "queued") };
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO campaign_recipients (campaign_id, customer_id, email, email_norm, grp, variant, state, token, occasion)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            a.campaign_id,
            d.customer,
            email,
            crate::text::normalize_email(&email),
            grp,
            variant,
            state,
            crate::campaigns::store::new_token(),
            outbox_occasion(&d.key, &d.data)
        ],
    )?;
    let row = if inserted == 1 {
        tx.last_insert_rowid()
    } else {
        // This customer's own row for the same occasion, stopped before it left (a birthday
        // corrected and corrected back): used again. Another record's: one copy per address.
        let own: Option<i64> = tx
            .query_row(
                "UPDATE campaign_recipients SET state = ?5, grp = ?6, variant = ?7, email = ?8, skip_reason = NULL,
                        next_attempt_at = NULL, last_error = NULL, attempts = 0, rejections = 0, fields = NULL
                 WHERE campaign_id = ?1 AND email_norm = ?2 AND occasion = ?3 AND customer_id = ?4
                   AND state = 'skipped' AND sent_at IS NULL AND message_id IS NULL
                 RETURNING id",
                params![
                    a.campaign_id,
                    crate::text::normalize_email(&email),
                    outbox_occasion(&d.key, &d.data),
                    d.customer,
                    state,
                    grp,
                    variant,
                    email
                ],
                |r| r.get(0),
            )
            .optional()?;
        match own {
            Some(row) => row,
            None => return skip(tx, d.id, "duplicate_address"),
        }
    };
    tx.execute("UPDATE automation_occasions SET recipient_id = ?1 WHERE id = ?2", params![row, d.id])?;
    if held {
        set_state(tx, d.id, OccasionState::HeldOut, None)?;
        return Ok(Queued::HeldOut);
    }
    let fields = super::values::message_fields(tx, a, &d.data)?;
    tx.execute("UPDATE campaign_recipients SET fields = ?1 WHERE id = ?2", params![fields.to_string(), row])?;
    set_state(tx, d.id, OccasionState::Queued, None)?;
    Ok(Queued::Sent)
}

/// A record merged into another: the occasions it was sent (or held out of) are the
/// survivor's too — copied to the survivor as skipped, "merged", with their date — so the same
/// birthday, thank-you or tier message is not sent again to the same person (an unfinished one
/// of the survivor for the same occasion is skipped, "merged"), and the pressure limits count
/// them. One still waiting in the outbox is taken out and skipped: the survivor's own check
/// makes it again for the survivor.
#[allow(clippy::type_complexity)]
pub(crate) fn on_merge(tx: &Tx, keep: CustomerId, other: CustomerId) -> Result<()> {
    let waiting: Vec<(i64, Option<i64>)> = tx
        .prepare("SELECT id, recipient_id FROM automation_occasions WHERE customer_id = ?1 AND state = 'queued'")?
        .query_map([other], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (occasion, row) in waiting {
        if let Some(row) = row {
            tx.execute("UPDATE campaign_recipients SET state = 'cancelled' WHERE id = ?1 AND state = 'queued'", [row])?;
        }
        set_state(tx, occasion, OccasionState::Skipped, Some("merged"))?;
    }
    let rows: Vec<(i64, String, DateTime<Utc>, DateTime<Utc>, String, Option<DateTime<Utc>>)> = tx
        .prepare(
            "SELECT automation_id, occasion_key, due_at, valid_until, data, decided_at FROM automation_occasions
             WHERE customer_id = ?1 AND state IN ('sent', 'held_out')",
        )?
        .query_map([other], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (automation, key, due, valid_until, data, decided_at) in rows {
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO automation_occasions
               (automation_id, customer_id, occasion_key, due_at, valid_until, state, reason, data, decided_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'skipped', 'merged', ?6, ?7, ?8, ?8)",
            params![automation, keep, key, due, valid_until, data, decided_at, tx.now],
        )?;
        if inserted == 1 {
            let id = tx.last_insert_rowid();
            journal(tx, id, automation, keep, OccasionState::Skipped, Some("merged"), tx.now)?;
            continue;
        }
        // The survivor has this occasion already: not sent yet, it is not sent at all.
        let open: Option<i64> = tx
            .query_row(
                "SELECT id FROM automation_occasions WHERE automation_id = ?1 AND customer_id = ?2 AND occasion_key = ?3
                 AND state IN ('pending', 'postponed', 'awaiting')",
                params![automation, keep, key],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = open {
            set_state(tx, id, OccasionState::Skipped, Some("merged"))?;
        }
    }
    Ok(())
}
