//! Every customer's scores, computed in one pass over the purchases of the last months and
//! stored in `customer_scores`, with a summary for the dashboard (`analytics_state['scores']`):
//! RFM now and a month ago (for the moves), the rhythm and churn risk, the loyalty type, and
//! the expected spend of the next 12 months with a range.
//!
//! The lifetime value comes from one of three models, said with the figure: BG/NBD +
//! Gamma-Gamma with enough history (`clv::enough_history`); otherwise what customers of the same
//! RFM segment a year ago spent in the following year; otherwise, for a shop younger than a year,
//! the customer's own pace of spending, discounted by their churn risk.
//!
//! Invariants: scores are derived data (a refresh rewrites them from the purchases); only rows
//! that changed are written, in short transactions, so the till never waits long; archived and
//! merged customers have no row. Runs in the background, never inside a sale.

use super::calendar::months_back;
use super::clv::{self, BgNbd, GammaGamma, Histories, History};
use super::days::{set_state, state};
use super::kinds::{kind, KindFacts, LoyaltyKind};
use super::rfm::{self, RfmSegment, RfmThresholds, ThresholdSource};
use super::rhythm::{own_gap, risk, shop_gap, ChurnRisk};
use super::settings::analytics_settings;
use crate::error::Result;
use crate::storage::Store;
use crate::types::CustomerId;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

/// Rows written per transaction.
const CHUNK: usize = 2_000;
/// The models are fitted on at most this many customers (evenly picked).
const FIT_SAMPLE: usize = 20_000;
/// A segment needs this many customers a year ago for its own spending history.
const MIN_SEGMENT_HISTORY: usize = 20;

/// Which model the lifetime values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ClvModel {
    BgNbd,
    SegmentHistory,
    Pace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SegmentCount {
    pub segment: RfmSegment,
    pub customers: i64,
    /// Spent in the period (refunds deducted) by the segment's customers.
    pub monetary_cents: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GridCell {
    pub r: u8,
    pub fm: u8,
    pub customers: i64,
}

/// Customers who went from one segment to another since last month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SegmentMove {
    pub from: RfmSegment,
    pub to: RfmSegment,
    pub customers: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChurnCount {
    pub risk: ChurnRisk,
    pub customers: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct KindCount {
    pub kind: LoyaltyKind,
    pub customers: i64,
}

/// The lifetime values of the shop as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct ClvSummary {
    pub model: ClvModel,
    /// Expected spend of all customers over the next 12 months.
    pub total_cents: i64,
    pub average_cents: i64,
    pub bgnbd: Option<BgNbd>,
    pub gamma_gamma: Option<GammaGamma>,
    pub fitted_at: Option<DateTime<Utc>>,
}

/// What the dashboard shows of the scores, computed with them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ScoresSummary {
    pub computed_at: DateTime<Utc>,
    pub period_months: u32,
    pub thresholds: RfmThresholds,
    pub threshold_source: ThresholdSource,
    /// Customers who bought at least once (scored), and those who never did.
    pub buyers: i64,
    pub never_bought: i64,
    pub segments: Vec<SegmentCount>,
    pub grid: Vec<GridCell>,
    pub moves: Vec<SegmentMove>,
    pub shop_gap_days: i64,
    pub churn: Vec<ChurnCount>,
    pub kinds: Vec<KindCount>,
    pub clv: ClvSummary,
    pub median_basket_cents: Option<i64>,
}

/// One customer's stored scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StoredScores {
    pub customer_id: CustomerId,
    pub rfm: rfm::RfmScore,
    pub prev_segment: Option<RfmSegment>,
    pub usual_gap_days: i64,
    pub own_rhythm: bool,
    pub churn: ChurnRisk,
    pub clv_cents: i64,
    pub clv_low_cents: i64,
    pub clv_high_cents: i64,
    pub p_alive_permille: Option<i64>,
    pub kind: LoyaltyKind,
}

/// This computer's offset from UTC now, in minutes (Paris in winter: 60). The scores count
/// local days with it, as the shop does; a sale within an hour of midnight on the other side of
/// a change of time may land on the next or previous day, which no score notices.
pub(crate) fn local_offset_minutes(now: DateTime<Utc>) -> i32 {
    chrono::Local.offset_from_utc_datetime(&now.naive_utc()).local_minus_utc() / 60
}

/// Days since the common era of the local day holding `t`.
pub(crate) fn local_day(t: DateTime<Utc>, offset_minutes: i32) -> i32 {
    (t + chrono::Duration::minutes(i64::from(offset_minutes))).date_naive().num_days_from_ce()
}

/// Rule: days since the common era of the local day holding a stored UTC timestamp
/// (`YYYY-MM-DD HH:MM…`, read from its characters: no parsing of the whole value, a million
/// times a pass), `offset_minutes` from UTC. A date alone is that day.
pub(crate) fn day_number(ts: &str, offset_minutes: i32) -> Option<i32> {
    let b = ts.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &[u8]| std::str::from_utf8(s).ok()?.parse::<u32>().ok();
    let day = NaiveDate::from_ymd_opt(num(&b[0..4])? as i32, num(&b[5..7])?, num(&b[8..10])?)?.num_days_from_ce();
    if b.len() < 16 || b[13] != b':' {
        return Some(day);
    }
    let minutes = (num(&b[11..13])? * 60 + num(&b[14..16])?) as i32;
    Some(day + (minutes + offset_minutes).div_euclid(1440))
}

struct Customer {
    id: CustomerId,
    visits: i64,
    total_cents: i64,
    first_day: i32,
    last_day: i32,
}

/// A customer's purchases in the windows of the pass.
#[derive(Default, Clone, Copy)]
struct Acc {
    now_f: i32,
    now_m: i64,
    discounted: i32,
    prev_f: i32,
    prev_m: i64,
    prev_last: i32,
    ya_f: i32,
    ya_m: i64,
    ya_last: i32,
    future_m: i64,
}

/// The windows of the pass, as day numbers.
struct Marks {
    /// This computer's offset from UTC, in minutes: the days are local.
    offset: i32,
    today: i32,
    now_start: i32,
    prev: i32,
    prev_start: i32,
    ya: i32,
    ya_start: i32,
}

/// Days from `earlier` to `later` (never overflows, whatever the marks).
fn gap_days(later: i32, earlier: i32) -> i64 {
    i64::from(later) - i64::from(earlier)
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2])
}

/// Mean and 10th–90th percentiles of what a group spent in the following year.
#[derive(Debug, Clone, Copy)]
struct Spread {
    n: usize,
    mean: i64,
    low: i64,
    high: i64,
}

fn spread(mut v: Vec<i64>) -> Spread {
    if v.is_empty() {
        return Spread { n: 0, mean: 0, low: 0, high: 0 };
    }
    v.sort_unstable();
    let n = v.len();
    let at = |p: f64| v[((n as f64 - 1.0) * p).round() as usize];
    Spread { n, mean: v.iter().sum::<i64>() / n as i64, low: at(0.1), high: at(0.9) }
}

/// What the pass computes, before it is written.
struct Computed {
    rows: Vec<StoredScores>,
    summary: ScoresSummary,
}

fn load_customers(conn: &Connection, offset: i32) -> Result<(Vec<Customer>, i64)> {
    let mut st = conn.prepare(
        "SELECT id, visit_count, total_spent_cents, first_purchase_at, last_purchase_at FROM customers
         WHERE archived_at IS NULL AND merged_into IS NULL ORDER BY id",
    )?;
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    let mut never = 0;
    while let Some(r) = rows.next()? {
        let visits: i64 = r.get(1)?;
        let first: Option<String> = r.get(3)?;
        let last: Option<String> = r.get(4)?;
        let day = |t: Option<String>| t.as_deref().and_then(|t| day_number(t, offset));
        match (visits > 0, day(first), day(last)) {
            (true, Some(first_day), Some(last_day)) => {
                out.push(Customer { id: r.get(0)?, visits, total_cents: r.get(2)?, first_day, last_day })
            }
            _ => never += 1,
        }
    }
    Ok((out, never))
}

/// Where each customer's figures are, by id: customers are read in id order, so a binary
/// search finds them without a map of 100,000 entries.
fn position(customers: &[Customer], id: CustomerId) -> Option<usize> {
    customers.binary_search_by_key(&id, |c| c.id).ok()
}

/// One pass over the purchases since `since`, read in the table's own order (id order) from the
/// first purchase of the period: through the date index each row cost a second look-up in the
/// table for its amount (measured on the 100k shop: 0.35 s through the index, 0.1–0.18 s
/// straight). That first id comes from the date index alone (it holds the ids): every purchase
/// of the period has an id from there on, whatever order they were recorded in, and the years
/// before it are never read. The sales paid partly with a reward come from `loyalty_sales` in
/// the same id order and are merged in, instead of a look-up per purchase.
fn scan(conn: &Connection, since: DateTime<Utc>, m: &Marks, customers: &[Customer]) -> Result<Vec<Acc>> {
    let mut acc = vec![Acc { prev_last: i32::MIN, ya_last: i32::MIN, ..Acc::default() }; customers.len()];
    let first: Option<i64> = conn.query_row(
        "SELECT min(id) FROM purchases INDEXED BY purchases_by_date WHERE occurred_at >= ?1",
        [since],
        |r| r.get(0),
    )?;
    let Some(first) = first else { return Ok(acc) };
    let mut st = conn.prepare(
        "SELECT p.id, p.customer_id, p.kind = 'sale', p.amount_cents, p.occurred_at
         FROM purchases p NOT INDEXED WHERE p.id >= ?2 AND p.occurred_at >= ?1 ORDER BY p.id",
    )?;
    let mut with_reward = conn.prepare(
        "SELECT purchase_id FROM loyalty_sales WHERE purchase_id >= ?1 AND discount_cents > 0 ORDER BY purchase_id",
    )?;
    let mut with_reward = with_reward.query([first])?;
    let mut next_with_reward: Option<i64> = match with_reward.next()? {
        Some(r) => Some(r.get(0)?),
        None => None,
    };
    let mut rows = st.query(params![since, first])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let Some(i) = position(customers, r.get(1)?) else { continue };
        let sale: bool = r.get(2)?;
        let cents: i64 = r.get(3)?;
        let signed = if sale { cents } else { -cents };
        let Some(d) = super::days::text(r, 4).ok().and_then(|t| day_number(t, m.offset)) else { continue };
        while next_with_reward.is_some_and(|w| w < id) {
            next_with_reward = match with_reward.next()? {
                Some(r) => Some(r.get(0)?),
                None => None,
            };
        }
        let rewarded = next_with_reward == Some(id);
        let a = &mut acc[i];
        if d >= m.now_start {
            a.now_m += signed;
            if sale {
                a.now_f += 1;
                if rewarded {
                    a.discounted += 1;
                }
            }
        }
        if d >= m.prev_start && d < m.prev {
            a.prev_m += signed;
            if sale {
                a.prev_f += 1;
                a.prev_last = a.prev_last.max(d);
            }
        }
        if d >= m.ya_start && d < m.ya {
            a.ya_m += signed;
            if sale {
                a.ya_f += 1;
                a.ya_last = a.ya_last.max(d);
            }
        }
        if d >= m.ya {
            a.future_m += signed;
        }
    }
    Ok(acc)
}

/// Thresholds for one date: the merchant's, or from that date's buyers.
fn thresholds_for(
    edited: Option<RfmThresholds>,
    people: impl Iterator<Item = (i64, i64, i64)>,
    months: u32,
) -> (RfmThresholds, ThresholdSource, Option<i64>) {
    let (mut rec, mut mon, mut baskets) = (Vec::new(), Vec::new(), Vec::new());
    for (days, f, m) in people.filter(|(_, f, _)| *f > 0) {
        rec.push(days);
        mon.push(m);
        baskets.push(m / f);
    }
    rec.sort_unstable();
    mon.sort_unstable();
    let basket = median(baskets);
    let (t, src) = rfm::thresholds(edited, &rec, &mon, months, basket);
    (t, src, basket)
}

/// The BG/NBD and Gamma-Gamma fits, reused from the last summary for a week.
fn fit_models(
    customers: &[Customer],
    today: i32,
    now: DateTime<Utc>,
    previous: Option<&ScoresSummary>,
) -> Option<(BgNbd, Option<GammaGamma>, DateTime<Utc>)> {
    let first = customers.iter().map(|c| c.first_day).min()?;
    if !clv::enough_history(customers.len(), f64::from(today - first) / 7.0) {
        return None;
    }
    if let Some(p) = previous.filter(|p| p.clv.model == ClvModel::BgNbd) {
        if let (Some(b), Some(at)) = (p.clv.bgnbd, p.clv.fitted_at) {
            if now - at < chrono::Duration::days(7) && now >= at {
                return Some((b, p.clv.gamma_gamma, at));
            }
        }
    }
    let step = customers.len().div_ceil(FIT_SAMPLE).max(1);
    let sample = customers.iter().step_by(step);
    let histories = Histories::new(sample.clone().map(|c| (history(c, today), 1.0)));
    let b = clv::fit_bgnbd(&histories)?.model;
    let spend: Vec<(f64, f64)> = sample
        .filter(|c| c.total_cents > 0)
        .map(|c| (c.visits as f64, c.total_cents as f64 / c.visits as f64))
        .collect();
    Some((b, clv::fit_gamma_gamma(&spend).map(|f| f.model), now))
}

fn history(c: &Customer, today: i32) -> History {
    History {
        x: (c.visits - 1) as f64,
        t_x: f64::from(c.last_day - c.first_day) / 7.0,
        t: f64::from(today - c.first_day).max(1.0) / 7.0,
    }
}

fn compute(conn: &Connection, now: DateTime<Utc>) -> Result<Computed> {
    let settings = analytics_settings(conn)?;
    let months = settings.rfm_months;
    let previous: Option<ScoresSummary> = state(conn, "scores")?.and_then(|s| serde_json::from_str(&s).ok());
    let offset = local_offset_minutes(now);
    let (customers, never_bought) = load_customers(conn, offset)?;
    let day = |t: DateTime<Utc>| local_day(t, offset);
    let (prev_at, ya_at) = (months_back(now, 1), months_back(now, 12));
    let marks = Marks {
        offset,
        today: day(now),
        now_start: day(months_back(now, months)),
        prev: day(prev_at),
        prev_start: day(months_back(prev_at, months)),
        ya: day(ya_at),
        ya_start: day(months_back(ya_at, months)),
    };
    let since = months_back(ya_at, months).min(months_back(now, months));
    let acc = scan(conn, since, &marks, &customers)?;
    let edited = settings.rfm_thresholds;

    // RFM now, a month ago and a year ago, each with its own thresholds.
    let (t_now, src, basket) = thresholds_for(
        edited,
        customers.iter().zip(&acc).map(|(c, a)| (gap_days(marks.today, c.last_day), i64::from(a.now_f), a.now_m)),
        months,
    );
    let (t_prev, _, _) = thresholds_for(
        edited,
        acc.iter().map(|a| (gap_days(marks.prev, a.prev_last), i64::from(a.prev_f), a.prev_m)),
        months,
    );
    let (t_ya, _, _) =
        thresholds_for(edited, acc.iter().map(|a| (gap_days(marks.ya, a.ya_last), i64::from(a.ya_f), a.ya_m)), months);

    // What each segment of a year ago spent in the year that followed.
    let mut by_segment: BTreeMap<RfmSegment, Vec<i64>> = BTreeMap::new();
    let mut everyone = Vec::new();
    for (c, a) in customers.iter().zip(&acc) {
        if c.first_day < marks.ya {
            let s = rfm::score(gap_days(marks.ya, a.ya_last), i64::from(a.ya_f), a.ya_m, &t_ya).segment;
            by_segment.entry(s).or_default().push(a.future_m.max(0));
            everyone.push(a.future_m.max(0));
        }
    }
    let history_spread: BTreeMap<RfmSegment, Spread> = by_segment.into_iter().map(|(s, v)| (s, spread(v))).collect();
    let overall = spread(everyone);

    let gaps: Vec<i64> =
        customers.iter().filter_map(|c| own_gap(c.visits, c.first_day.into(), c.last_day.into())).collect();
    let shop_gap_days = shop_gap(gaps);
    let models = fit_models(&customers, marks.today, now, previous.as_ref());
    let model = if models.is_some() {
        ClvModel::BgNbd
    } else if overall.n >= MIN_SEGMENT_HISTORY {
        ClvModel::SegmentHistory
    } else {
        ClvModel::Pace
    };

    let mut rows = Vec::with_capacity(customers.len());
    for (c, a) in customers.iter().zip(&acc) {
        let score = rfm::score(gap_days(marks.today, c.last_day), i64::from(a.now_f), a.now_m, &t_now);
        let prev_segment = (c.first_day < marks.prev)
            .then(|| rfm::score(gap_days(marks.prev, a.prev_last), i64::from(a.prev_f), a.prev_m, &t_prev).segment);
        let own = own_gap(c.visits, c.first_day.into(), c.last_day.into());
        let gap = own.unwrap_or(shop_gap_days);
        let churn = risk(gap_days(marks.today, c.last_day), gap);
        let facts = KindFacts {
            visits_total: c.visits,
            visits_in_period: a.now_f.into(),
            discounted_in_period: a.discounted.into(),
            average_basket_cents: (a.now_f > 0).then(|| a.now_m / i64::from(a.now_f)),
            shop_median_basket_cents: basket,
            own_rhythm: own.is_some(),
            churn,
        };
        let (clv_cents, low, high, p_alive) = match (model, &models) {
            (ClvModel::BgNbd, Some((b, gg, _))) => {
                let h = history(c, marks.today);
                let mean = c.total_cents.max(0) as f64 / c.visits as f64;
                let spend = gg.map(|g| clv::expected_spend(&g, c.visits as f64, mean)).unwrap_or(mean);
                let e = clv::expected_purchases(b, &h, 52.0);
                let lo = clv::purchases_quantile(b, &h, 52.0, 0.1);
                let hi = clv::purchases_quantile(b, &h, 52.0, 0.9);
                let cents = |v: f64| if v.is_finite() { v.round() as i64 } else { 0 };
                // A single purchase says nothing of leaving: the model's answer is 100 % by
                // assumption, which a merchant would read as a fact; none is shown.
                let alive = (h.x > 0.0).then(|| cents(clv::p_alive(b, &h) * 1000.0));
                (cents(e * spend), cents(lo * spend), cents(hi * spend), alive)
            }
            (ClvModel::SegmentHistory, _) => {
                let s = history_spread.get(&score.segment).filter(|s| s.n >= MIN_SEGMENT_HISTORY).unwrap_or(&overall);
                (s.mean, s.low, s.high, None)
            }
            _ => {
                // The customer's pace of spending over a year, less the chance they stopped.
                let tenure = i64::from(marks.today - c.first_day + 1).max(90);
                let keep = match churn {
                    ChurnRisk::Low => 100,
                    ChurnRisk::Medium => 50,
                    ChurnRisk::High => 20,
                    ChurnRisk::Gone => 0,
                };
                let yearly = c.total_cents.max(0) * 365 / tenure * keep / 100;
                (yearly, yearly / 2, yearly * 3 / 2, None)
            }
        };
        rows.push(StoredScores {
            customer_id: c.id,
            rfm: score,
            prev_segment,
            usual_gap_days: gap,
            own_rhythm: own.is_some(),
            churn,
            clv_cents,
            clv_low_cents: low,
            clv_high_cents: high,
            p_alive_permille: p_alive,
            kind: kind(&facts),
        });
    }
    let summary = summarise(&rows, now, months, t_now, src, never_bought, shop_gap_days, basket, model, &models);
    Ok(Computed { rows, summary })
}

#[allow(clippy::too_many_arguments)]
fn summarise(
    rows: &[StoredScores],
    now: DateTime<Utc>,
    months: u32,
    thresholds: RfmThresholds,
    threshold_source: ThresholdSource,
    never_bought: i64,
    shop_gap_days: i64,
    median_basket_cents: Option<i64>,
    model: ClvModel,
    models: &Option<(BgNbd, Option<GammaGamma>, DateTime<Utc>)>,
) -> ScoresSummary {
    let mut segments: BTreeMap<RfmSegment, (i64, i64)> = BTreeMap::new();
    let mut grid: BTreeMap<(u8, u8), i64> = BTreeMap::new();
    let mut moves: BTreeMap<(RfmSegment, RfmSegment), i64> = BTreeMap::new();
    let mut churn: BTreeMap<ChurnRisk, i64> = BTreeMap::new();
    let mut kinds: BTreeMap<LoyaltyKind, i64> = BTreeMap::new();
    let mut total = 0i64;
    for r in rows {
        let e = segments.entry(r.rfm.segment).or_default();
        e.0 += 1;
        e.1 += r.rfm.monetary_cents;
        *grid.entry((r.rfm.r, rfm::fm(r.rfm.f, r.rfm.m))).or_default() += 1;
        if let Some(p) = r.prev_segment.filter(|p| *p != r.rfm.segment) {
            *moves.entry((p, r.rfm.segment)).or_default() += 1;
        }
        *churn.entry(r.churn).or_default() += 1;
        *kinds.entry(r.kind).or_default() += 1;
        total += r.clv_cents;
    }
    let mut moves: Vec<SegmentMove> =
        moves.into_iter().map(|((from, to), customers)| SegmentMove { from, to, customers }).collect();
    moves.sort_by(|a, b| b.customers.cmp(&a.customers).then(a.from.cmp(&b.from)).then(a.to.cmp(&b.to)));
    moves.truncate(12);
    ScoresSummary {
        computed_at: now,
        period_months: months,
        thresholds,
        threshold_source,
        buyers: rows.len() as i64,
        never_bought,
        segments: RfmSegment::ALL
            .iter()
            .map(|s| {
                let (customers, monetary_cents) = segments.get(s).copied().unwrap_or_default();
                SegmentCount { segment: *s, customers, monetary_cents }
            })
            .collect(),
        grid: (1..=5u8)
            .flat_map(|r| (1..=5u8).map(move |fm| (r, fm)))
            .map(|(r, fm)| GridCell { r, fm, customers: grid.get(&(r, fm)).copied().unwrap_or(0) })
            .collect(),
        moves,
        shop_gap_days,
        churn: ChurnRisk::ALL
            .iter()
            .map(|c| ChurnCount { risk: *c, customers: churn.get(c).copied().unwrap_or(0) })
            .collect(),
        kinds: LoyaltyKind::ALL
            .iter()
            .map(|k| KindCount { kind: *k, customers: kinds.get(k).copied().unwrap_or(0) })
            .collect(),
        clv: ClvSummary {
            model,
            total_cents: total,
            average_cents: if rows.is_empty() { 0 } else { total / rows.len() as i64 },
            bgnbd: models.as_ref().map(|m| m.0),
            gamma_gamma: models.as_ref().and_then(|m| m.1),
            fitted_at: models.as_ref().map(|m| m.2),
        },
        median_basket_cents,
    }
}

#[path = "scores_store.rs"]
mod store;
pub use store::*;

#[cfg(test)]
#[path = "scores_tests.rs"]
mod tests;
