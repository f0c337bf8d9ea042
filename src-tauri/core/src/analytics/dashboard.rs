//! The home screen's figures: revenue, visits and customers over time (this period, the one
//! before, the same one a year earlier), new and returning customers, the average basket, the
//! share of revenue from loyalty members; with the snapshots computed in the background (RFM,
//! churn, lifetime value, loyalty types, the programme's return, the last campaigns against
//! their control groups) and the satisfaction score.
//!
//! Invariants: read-only, and fast on any shop: it reads the per-day figures (`days`), the
//! snapshots and the few satisfaction answers, never the whole purchase history; a figure that
//! is not computed yet is absent (`None`), never zero.

use super::calendar::{self, change_permille, Grain, Period, ToDate, Windows};
use super::days::{read_days, set_state, state, DayFigures};
use super::hooks::{self, ReferralBudget};
use super::programme::ProgrammeReturn;
use super::scores::ScoresSummary;
use crate::campaigns::results::CampaignResults;
use crate::error::Result;
use crate::nps::NpsSummary;
use crate::storage::Store;
use crate::types::Cents;
use chrono::{DateTime, NaiveDate, Utc};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

/// How many of the last campaigns the dashboard compares with their control groups.
const LAST_CAMPAIGNS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub struct DashboardRequest {
    pub grain: Grain,
    /// The last day shown, for the monthly report: its figures are then the last bucket's (the
    /// month) against the one before and the same one last year. Today when not given, and the
    /// figures are the whole chart's against the stretch before it and last year's.
    pub until: Option<NaiveDate>,
}

/// The figures of a stretch of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub struct Totals {
    /// Sales less refunds.
    pub revenue_cents: Cents,
    pub sales: i64,
    pub refunds: i64,
    /// Different customers who bought.
    pub active_customers: i64,
    /// Of them, those whose first purchase ever falls in the stretch.
    pub new_customers: i64,
    pub returning_customers: i64,
    pub average_basket_cents: Option<Cents>,
    pub member_revenue_cents: Cents,
    /// Members' share of the revenue, in tenths of a percent.
    pub member_share_permille: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Bucket {
    pub period: Period,
    pub totals: Totals,
}

/// Changes against the previous period and last year, in tenths of a percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TotalsChanges {
    pub revenue_vs_previous: Option<i64>,
    pub revenue_vs_last_year: Option<i64>,
    pub sales_vs_previous: Option<i64>,
    pub sales_vs_last_year: Option<i64>,
    pub active_vs_previous: Option<i64>,
    pub active_vs_last_year: Option<i64>,
    pub basket_vs_previous: Option<i64>,
    pub basket_vs_last_year: Option<i64>,
}

/// The running week or month so far, its figures and their changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SoFar {
    pub periods: ToDate,
    pub current: Totals,
    pub previous: Totals,
    pub last_year: Totals,
    pub changes: TotalsChanges,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CampaignFigure {
    pub id: i64,
    pub name: String,
    pub started_at: Option<DateTime<Utc>>,
    pub results: CampaignResults,
}

/// What the background computes besides the scores, kept as one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Insights {
    pub computed_at: DateTime<Utc>,
    pub programme: ProgrammeReturn,
    pub campaigns: Vec<CampaignFigure>,
    /// Satisfaction comments of the last 12 months by theme.
    pub nps_themes: Vec<crate::nps::ThemeCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Dashboard {
    pub grain: Grain,
    pub today: NaiveDate,
    pub windows: Windows,
    pub current: Totals,
    pub previous: Totals,
    pub last_year: Totals,
    pub changes: TotalsChanges,
    pub series: Vec<Bucket>,
    pub series_last_year: Vec<Bucket>,
    /// The home screen's running week or month so far against the same days before (not for
    /// days, nor in the monthly report, whose figures are already its month's).
    pub so_far: Option<SoFar>,
    /// The per-day figures have been built at least once (a large file upgraded a moment ago
    /// may still be computing them).
    pub days_ready: bool,
    pub scores: Option<ScoresSummary>,
    pub insights: Option<Insights>,
    pub referral_budget: Option<ReferralBudget>,
    pub nps: NpsSummary,
}

/// Rule: the figures of a stretch of days from the per-day figures (distinct customers are the
/// union of each day's buyers).
pub fn totals(days: &BTreeMap<NaiveDate, DayFigures>, p: Period) -> Totals {
    let mut t = Totals::default();
    let mut buyers = RoaringBitmap::new();
    for (_, d) in days.range(p.from..=p.to) {
        t.revenue_cents += d.sales_cents - d.refunds_cents;
        t.sales += d.sales;
        t.refunds += d.refunds;
        t.new_customers += d.new_buyers;
        t.member_revenue_cents += d.member_net_cents;
        buyers |= &d.buyers;
    }
    t.active_customers = buyers.len() as i64;
    t.returning_customers = (t.active_customers - t.new_customers).max(0);
    t.average_basket_cents = crate::customers::average_basket(t.revenue_cents, t.sales);
    t.member_share_permille = (t.revenue_cents > 0).then(|| t.member_revenue_cents * 1000 / t.revenue_cents);
    t
}

/// Rule: the changes of the current period against the previous one and last year.
pub fn changes(now: &Totals, previous: &Totals, last_year: &Totals) -> TotalsChanges {
    let basket = |a: &Totals, b: &Totals| match (a.average_basket_cents, b.average_basket_cents) {
        (Some(x), Some(y)) => change_permille(x, y),
        _ => None,
    };
    TotalsChanges {
        revenue_vs_previous: change_permille(now.revenue_cents, previous.revenue_cents),
        revenue_vs_last_year: change_permille(now.revenue_cents, last_year.revenue_cents),
        sales_vs_previous: change_permille(now.sales, previous.sales),
        sales_vs_last_year: change_permille(now.sales, last_year.sales),
        active_vs_previous: change_permille(now.active_customers, previous.active_customers),
        active_vs_last_year: change_permille(now.active_customers, last_year.active_customers),
        basket_vs_previous: basket(now, previous),
        basket_vs_last_year: basket(now, last_year),
    }
}

impl Store {
    /// The dashboard (see the module's invariants).
    pub fn dashboard(&self, req: &DashboardRequest) -> Result<Dashboard> {
        let now = self.now();
        let today = req.until.unwrap_or_else(|| calendar::local_date(now));
        let w = calendar::windows(req.grain, today);
        let w = if req.until.is_some() { calendar::last_bucket(w) } else { w };
        // Every day a figure or a chart reads: the report's last-year chart starts a year before
        // its first month, earlier than the month it compares with.
        let from = [w.previous.from, w.last_year.from, w.buckets[0].from, w.buckets_last_year[0].from]
            .into_iter()
            .min()
            .unwrap_or(w.current.from);
        let days = read_days(self.conn(), from, w.current.to)?;
        let (current, previous, last_year) =
            (totals(&days, w.current), totals(&days, w.previous), totals(&days, w.last_year));
        let bucket = |p: &Period| Bucket { period: *p, totals: totals(&days, *p) };
        let so_far = calendar::to_date(req.grain, &w).filter(|_| req.until.is_none()).map(|periods| {
            let (c, p, l) =
                (totals(&days, periods.current), totals(&days, periods.previous), totals(&days, periods.last_year));
            SoFar { periods, current: c, previous: p, last_year: l, changes: changes(&c, &p, &l) }
        });
        Ok(Dashboard {
            grain: req.grain,
            today,
            changes: changes(&current, &previous, &last_year),
            series: w.buckets.iter().map(bucket).collect(),
            series_last_year: w.buckets_last_year.iter().map(bucket).collect(),
            so_far,
            windows: w,
            current,
            previous,
            last_year,
            days_ready: state(self.conn(), "days.purchase_id")?.is_some(),
            scores: self.scores_summary()?,
            insights: self.insights()?,
            referral_budget: hooks::referral_budget(self.conn())?,
            nps: self.nps_overview(12)?,
        })
    }

    pub fn insights(&self) -> Result<Option<Insights>> {
        Ok(state(self.conn(), "insights")?.and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// Compute the programme's return and the last campaigns' results, and keep them.
    pub fn refresh_insights(&mut self) -> Result<Insights> {
        let (programme, compared) = self.programme_return_and_comparison()?;
        let mut campaigns = Vec::new();
        for c in self.campaigns()?.into_iter().filter(|c| c.started_at.is_some()) {
            let results = self.campaign_results(c.id)?;
            campaigns.push(CampaignFigure { id: c.id, name: c.name, started_at: c.started_at, results });
        }
        campaigns.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        campaigns.truncate(LAST_CAMPAIGNS);
        let nps_themes = self.nps_themes(calendar::months_back(self.now(), 12))?;
        let insights = Insights { computed_at: self.now(), programme, campaigns, nps_themes };
        let json = serde_json::to_string(&insights)?;
        self.transact("analytics.insights", None, |tx| {
            // The customers behind the before/after chart's bars, kept with its figures.
            tx.execute("DELETE FROM programme_comparison", [])?;
            if let Some(m) = &compared {
                let mut st = tx.prepare_cached(
                    "INSERT OR IGNORE INTO programme_comparison (customer_id, member) VALUES (?1, ?2)",
                )?;
                for (ids, member) in [(&m.members, true), (&m.others, false)] {
                    for id in ids {
                        st.execute(rusqlite::params![id, member])?;
                    }
                }
            }
            set_state(tx, "insights", &json)
        })?;
        Ok(insights)
    }
}

#[cfg(test)]
#[path = "dashboard_tests.rs"]
mod tests;
