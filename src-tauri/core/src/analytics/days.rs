//! The figures of each local day (sales, refunds, revenue, members' revenue, new customers,
//! and the set of customers who bought), derived from the purchases into `analytics_days`, so
//! the dashboard reads a few hundred small rows instead of a million purchases.
//!
//! Invariants: a row is a pure function of the purchases, customers and cards (it can be
//! dropped and rebuilt at any time); after `refresh_days`, every day touched by a purchase
//! written since the last refresh (its own day, and the day that was its customer's first at
//! the last refresh, since a receipt entered late makes someone new on another day), or by a
//! merge, has been rebuilt; nothing here runs inside a sale's transaction (the till never pays for it). Writes
//! are short transactions of at most `CHUNK` days; the watermarks go with the last one.

use super::calendar::{day_key, parse_day};
use crate::error::Result;
use crate::storage::Store;
use crate::types::CustomerId;
use chrono::{Duration, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{BTreeMap, BTreeSet};

/// Days written per transaction.
const CHUNK: usize = 60;
/// At most this many changed days are rebuilt while the dashboard waits.
const QUICK_DAYS: usize = 31;
/// The UTC timestamps around a local day that may hold its purchases (any time zone).
const PAD_HOURS: i64 = 15;

/// One day's figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DayFigures {
    pub sales: i64,
    pub refunds: i64,
    pub sales_cents: i64,
    pub refunds_cents: i64,
    pub member_net_cents: i64,
    pub new_buyers: i64,
    pub buyers: roaring::RoaringBitmap,
}

impl DayFigures {
    fn add(&mut self, customer: CustomerId, kind: &str, cents: i64, member: bool) {
        let signed = if kind == "sale" { cents } else { -cents };
        if kind == "sale" {
            self.sales += 1;
            self.sales_cents += cents;
            self.buyers.insert(customer as u32);
        } else {
            self.refunds += 1;
            self.refunds_cents += cents;
        }
        if member {
            self.member_net_cents += signed;
        }
    }
}

/// How SQLite cuts local days on this computer: the local dates and times of two fixed
/// instants, winter and summer. A change means the days must be cut again.
fn tz_signature(conn: &Connection) -> Result<String> {
    Ok(conn.query_row(
        "SELECT datetime('2024-01-15 23:30:00', 'localtime') || ' ' || datetime('2024-07-15 23:30:00', 'localtime')",
        [],
        |r| r.get(0),
    )?)
}

pub(crate) fn state(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM analytics_state WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub(crate) fn set_state(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO analytics_state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// What a refresh must rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    all: bool,
    days: BTreeSet<NaiveDate>,
    purchase_id: i64,
    event_id: i64,
    tz: String,
}

fn days_of(conn: &Connection, sql: &str, p: impl rusqlite::Params, into: &mut BTreeSet<NaiveDate>) -> Result<()> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(p, |r| r.get::<_, Option<String>>(0))?;
    for d in rows {
        if let Some(d) = d?.as_deref().and_then(parse_day) {
            into.insert(d);
        }
    }
    Ok(())
}

fn pending(conn: &Connection) -> Result<Pending> {
    let purchase_id: i64 = conn.query_row("SELECT coalesce(max(id), 0) FROM purchases", [], |r| r.get(0))?;
    let event_id: i64 = conn.query_row("SELECT coalesce(max(id), 0) FROM customer_events", [], |r| r.get(0))?;
    let tz = tz_signature(conn)?;
    let seen_purchase: Option<i64> = state(conn, "days.purchase_id")?.and_then(|v| v.parse().ok());
    let seen_event: Option<i64> = state(conn, "days.event_id")?.and_then(|v| v.parse().ok());
    let seen_tz = state(conn, "days.tz")?;
    let (Some(seen_purchase), Some(seen_event)) = (seen_purchase, seen_event) else {
        return Ok(Pending { all: true, days: BTreeSet::new(), purchase_id, event_id, tz });
    };
    if seen_tz.as_deref() != Some(tz.as_str()) || seen_purchase > purchase_id {
        return Ok(Pending { all: true, days: BTreeSet::new(), purchase_id, event_id, tz });
    }
    let mut days = BTreeSet::new();
    let mut touched: BTreeSet<CustomerId> = BTreeSet::new();
    {
        let mut st = conn.prepare_cached(
            "SELECT DISTINCT date(occurred_at, 'localtime'), customer_id FROM purchases WHERE id > ?1 AND id <= ?2",
        )?;
        let rows = st.query_map(params![seen_purchase, purchase_id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
        for row in rows {
            let (d, c) = row?;
            if let Some(d) = parse_day(&d) {
                days.insert(d);
            }
            touched.insert(c);
        }
    }
    // A customer is new on the day of their first sale: the day that was their first at the
    // last refresh may have lost them to a receipt entered late.
    for c in &touched {
        days_of(
            conn,
            "SELECT date(occurred_at, 'localtime') FROM purchases WHERE customer_id = ?1 AND kind = 'sale' AND id <= ?2
             ORDER BY occurred_at LIMIT 1",
            params![c, seen_purchase],
            &mut days,
        )?;
    }
    // A merge moves purchases from one customer to the other: every day of the kept one.
    let merged: Vec<CustomerId> = {
        let mut st = conn.prepare_cached(
            "SELECT customer_id FROM customer_events WHERE id > ?1 AND id <= ?2 AND kind = 'merged_from'",
        )?;
        let rows = st.query_map(params![seen_event, event_id], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for c in merged {
        days_of(
            conn,
            "SELECT DISTINCT date(occurred_at, 'localtime') FROM purchases WHERE customer_id = ?1",
            [c],
            &mut days,
        )?;
    }
    Ok(Pending { all: false, days, purchase_id, event_id, tz })
}

const FIGURES_SQL: &str = "SELECT p.customer_id, p.kind, p.amount_cents, date(p.occurred_at, 'localtime'),
        EXISTS (SELECT 1 FROM cards k WHERE k.customer_id = p.customer_id AND k.issued_at <= p.occurred_at)
     FROM purchases p";

fn accumulate(
    rows: &mut rusqlite::Rows,
    wanted: Option<&BTreeSet<NaiveDate>>,
    out: &mut BTreeMap<NaiveDate, DayFigures>,
) -> Result<()> {
    while let Some(r) = rows.next()? {
        let Some(day) = parse_day(text(r, 3)?) else { continue };
        if wanted.is_some_and(|w| !w.contains(&day)) {
            continue;
        }
        let customer: CustomerId = r.get(0)?;
        out.entry(day).or_default().add(customer, text(r, 1)?, r.get(2)?, r.get(4)?);
    }
    Ok(())
}

/// The UTC text bounds that hold every instant of the local days from `from` to `to`.
fn padded(from: NaiveDate, to: NaiveDate) -> (String, String) {
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight exists");
    let lo = midnight(from) - Duration::hours(PAD_HOURS);
    let hi = midnight(to + Duration::days(1)) + Duration::hours(PAD_HOURS);
    (lo.format("%Y-%m-%d %H:%M:%S").to_string(), hi.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// A text column without copying it.
pub(crate) fn text<'r>(r: &'r rusqlite::Row, i: usize) -> rusqlite::Result<&'r str> {
    r.get_ref(i)?
        .as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
}

fn new_buyers(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    out: &mut BTreeMap<NaiveDate, DayFigures>,
) -> Result<()> {
    let (lo, hi) = padded(from, to);
    let mut st = conn.prepare_cached(
        "SELECT date(first_purchase_at, 'localtime') AS d, count(*) FROM customers
         WHERE first_purchase_at >= ?1 AND first_purchase_at < ?2 GROUP BY d",
    )?;
    let rows = st.query_map(params![lo, hi], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (d, n) = row?;
        if let Some(day) = parse_day(&d).filter(|d| *d >= from && *d <= to) {
            if let Some(f) = out.get_mut(&day) {
                f.new_buyers = n;
            }
        }
    }
    Ok(())
}

/// The figures of the given days (every day when `days` is `None`), read from the purchases.
pub fn compute_days(conn: &Connection, days: Option<&BTreeSet<NaiveDate>>) -> Result<BTreeMap<NaiveDate, DayFigures>> {
    let mut out = BTreeMap::new();
    match days {
        None => {
            let mut st = conn.prepare(FIGURES_SQL)?;
            accumulate(&mut st.query([])?, None, &mut out)?;
        }
        Some(wanted) => {
            let mut st =
                conn.prepare_cached(&format!("{FIGURES_SQL} WHERE p.occurred_at >= ?1 AND p.occurred_at < ?2"))?;
            for run in runs(wanted) {
                let (lo, hi) = padded(run.0, run.1);
                accumulate(&mut st.query(params![lo, hi])?, Some(wanted), &mut out)?;
            }
        }
    }
    if let (Some(first), Some(last)) = (out.keys().next().copied(), out.keys().next_back().copied()) {
        match days {
            None => new_buyers(conn, first, last, &mut out)?,
            Some(wanted) => {
                for run in runs(wanted) {
                    new_buyers(conn, run.0, run.1, &mut out)?;
                }
            }
        }
    }
    Ok(out)
}

/// Consecutive days grouped into (first, last) runs.
fn runs(days: &BTreeSet<NaiveDate>) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for d in days {
        match out.last_mut() {
            Some((_, last)) if *last + Duration::days(1) == *d => *last = *d,
            _ => out.push((*d, *d)),
        }
    }
    out
}

fn write_day(conn: &Connection, day: NaiveDate, f: &DayFigures) -> Result<()> {
    let mut blob = Vec::with_capacity(f.buyers.serialized_size());
    f.buyers.serialize_into(&mut blob)?;
    conn.prepare_cached(
        "INSERT INTO analytics_days (day, sales, refunds, sales_cents, refunds_cents, member_net_cents, new_buyers, buyers)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (day) DO UPDATE SET sales = excluded.sales, refunds = excluded.refunds, sales_cents = excluded.sales_cents,
           refunds_cents = excluded.refunds_cents, member_net_cents = excluded.member_net_cents,
           new_buyers = excluded.new_buyers, buyers = excluded.buyers",
    )?
    .execute(params![
        day_key(day),
        f.sales,
        f.refunds,
        f.sales_cents,
        f.refunds_cents,
        f.member_net_cents,
        f.new_buyers,
        blob
    ])?;
    Ok(())
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaysRefresh {
    pub rebuilt_all: bool,
    pub days: usize,
}

impl Store {
    /// Bring `analytics_days` up to date with the purchases (see the module's invariants).
    pub fn refresh_days(&mut self) -> Result<DaysRefresh> {
        let p = pending(self.conn())?;
        self.rebuild_days(p)
    }

    /// Refresh now when the days were built before and only a few changed (sales just made),
    /// so the dashboard shows them; a first build or a change of time zone is left to the
    /// background. Whether it ran.
    pub fn refresh_days_if_quick(&mut self) -> Result<bool> {
        let p = pending(self.conn())?;
        if p.all || p.days.is_empty() || p.days.len() > QUICK_DAYS {
            return Ok(false);
        }
        self.rebuild_days(p)?;
        Ok(true)
    }

    fn rebuild_days(&mut self, p: Pending) -> Result<DaysRefresh> {
        let figures = compute_days(self.conn(), if p.all { None } else { Some(&p.days) })?;
        // Days to write: the ones computed, plus emptied ones (which get no row).
        let mut todo: Vec<NaiveDate> = figures.keys().copied().collect();
        let stale: Vec<NaiveDate> = if p.all {
            let mut st = self.conn().prepare("SELECT day FROM analytics_days")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.filter_map(|d| d.ok().and_then(|d| parse_day(&d))).filter(|d| !figures.contains_key(d)).collect()
        } else {
            p.days.iter().copied().filter(|d| !figures.contains_key(d)).collect()
        };
        todo.extend(stale.iter().copied());
        let n = todo.len();
        let chunks: Vec<&[NaiveDate]> = if todo.is_empty() { vec![&[]] } else { todo.chunks(CHUNK).collect() };
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            self.transact("analytics.days", None, |tx| {
                for day in chunk {
                    match figures.get(day) {
                        Some(f) => write_day(tx, *day, f)?,
                        None => {
                            tx.execute("DELETE FROM analytics_days WHERE day = ?1", [day_key(*day)])?;
                        }
                    }
                }
                if i == last {
                    set_state(tx, "days.purchase_id", &p.purchase_id.to_string())?;
                    set_state(tx, "days.event_id", &p.event_id.to_string())?;
                    set_state(tx, "days.tz", &p.tz)?;
                }
                Ok(())
            })?;
        }
        Ok(DaysRefresh { rebuilt_all: p.all, days: n })
    }

    /// Whether purchases or merges were written since the last refresh of the days.
    pub fn days_behind(&self) -> Result<bool> {
        let p = pending(self.conn())?;
        Ok(p.all || !p.days.is_empty())
    }
}

/// The stored figures of the days from `from` to `to`, by day.
pub fn read_days(conn: &Connection, from: NaiveDate, to: NaiveDate) -> Result<BTreeMap<NaiveDate, DayFigures>> {
    let mut st = conn.prepare_cached(
        "SELECT day, sales, refunds, sales_cents, refunds_cents, member_net_cents, new_buyers, buyers
         FROM analytics_days WHERE day >= ?1 AND day <= ?2",
    )?;
    let mut rows = st.query(params![day_key(from), day_key(to)])?;
    let mut out = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let Some(day) = parse_day(text(r, 0)?) else { continue };
        let blob = r
            .get_ref(7)?
            .as_blob()
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Blob, Box::new(e)))?;
        let buyers = roaring::RoaringBitmap::deserialize_unchecked_from(blob)?;
        out.insert(
            day,
            DayFigures {
                sales: r.get(1)?,
                refunds: r.get(2)?,
                sales_cents: r.get(3)?,
                refunds_cents: r.get(4)?,
                member_net_cents: r.get(5)?,
                new_buyers: r.get(6)?,
                buyers,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
#[path = "days_tests.rs"]
mod tests;
