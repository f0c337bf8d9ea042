//! The loyalty programme a merchant sets up: points, stamps, multipliers, boosters, points for
//! actions, tiers, expiry. Stored as one versioned document; every change is a new version.

use crate::error::{FieldError, Problems, Result};
use crate::storage::Store;
use crate::types::Cents;
use crate::types::Outcome;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Points for money spent: `points_per_unit` for every `unit_cents` (1 point per euro is
/// 1 / 100), plus `points_per_visit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PointsRule {
    pub points_per_unit: i64,
    pub unit_cents: Cents,
    pub points_per_visit: i64,
}

/// A stamp card: `per_visit` stamps a visit; milestones such as "10th coffee free".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StampRule {
    pub per_visit: i64,
    /// Ascending; the last one is the size of the card, which then starts again.
    pub milestones: Vec<StampMilestone>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StampMilestone {
    pub stamps: i64,
    /// What the customer gets, in the merchant's words ("un café offert").
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CategoryMultiplier {
    pub category: String,
    /// 200 = double points.
    pub percent: i64,
}

/// Extra points limited in time: dates, weekdays (1 = Monday … 7 = Sunday; empty = every day)
/// and hours (minutes after midnight, local time; `to_minute` excluded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Booster {
    pub name: String,
    pub percent: i64,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub weekdays: Vec<u8>,
    pub from_minute: Option<u16>,
    pub to_minute: Option<u16>,
}

/// Things that earn points without a purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Referral,
    Review,
    Survey,
    Birthday,
    SecondLife,
}

impl Action {
    pub const ALL: [Action; 5] =
        [Action::Referral, Action::Review, Action::Survey, Action::Birthday, Action::SecondLife];
    pub fn code(self) -> &'static str {
        match self {
            Action::Referral => "referral",
            Action::Review => "review",
            Action::Survey => "survey",
            Action::Birthday => "birthday",
            Action::SecondLife => "second_life",
        }
    }
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ActionRule {
    pub action: Action,
    pub points: i64,
    /// At most this many times per customer per calendar year (`None`: no limit).
    pub max_per_year: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TierBasis {
    Spend,
    Points,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TierPeriod {
    Rolling12Months,
    CalendarYear,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Tier {
    pub name: String,
    /// Cents spent or points earned over the period to reach it.
    pub threshold: i64,
    /// Earning multiplier, 100 = none.
    pub percent: i64,
    /// The advantages, in the merchant's words.
    pub advantages: String,
    /// Points given once when the tier is reached.
    pub entry_points: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TierRules {
    pub basis: TierBasis,
    pub period: TierPeriod,
    /// In ascending order of threshold.
    pub tiers: Vec<Tier>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Expiry {
    #[default]
    Never,
    AfterMonths {
        months: u32,
    },
    AfterInactivityMonths {
        months: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Programme {
    pub points: Option<PointsRule>,
    pub stamps: Option<StampRule>,
    pub category_multipliers: Vec<CategoryMultiplier>,
    pub boosters: Vec<Booster>,
    pub actions: Vec<ActionRule>,
    pub tiers: Option<TierRules>,
    pub expiry: Expiry,
    /// Points are earned on the amount before a reward's discount (true) or on what was paid.
    pub earn_before_discount: bool,
    /// The value of 100 points in cents, to show the liability of unspent points.
    pub value_of_100_points_cents: Cents,
    /// Loyalty operations in one day for one customer from which the day is listed as
    /// suspicious.
    pub suspicious_operations_per_day: i64,
}

impl Default for Programme {
    /// Nothing configured: no points, no stamps.
    fn default() -> Self {
        Programme {
            points: None,
            stamps: None,
            category_multipliers: Vec::new(),
            boosters: Vec::new(),
            actions: Vec::new(),
            tiers: None,
            expiry: Expiry::Never,
            earn_before_discount: false,
            value_of_100_points_cents: 100,
            suspicious_operations_per_day: 5,
        }
    }
}

const MAX_PERCENT: i64 = 1000;
const MAX_LABEL: usize = 100;
const MAX_POINTS: i64 = 1_000_000;

impl Programme {
    pub fn is_active(&self) -> bool {
        self.points.is_some() || self.stamps.is_some()
    }

    /// Rule: a programme is coherent — positive units, multipliers between 1 % and 1000 %,
    /// ascending milestones and tiers, valid weekdays and hours, short labels.
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::default();
        if let Some(r) = &self.points {
            if r.unit_cents <= 0 || r.unit_cents > 1_000_000 {
                p.add("points.unit_cents", "field.loyalty_unit_invalid");
            }
            if !(0..=MAX_POINTS).contains(&r.points_per_unit) || !(0..=MAX_POINTS).contains(&r.points_per_visit) {
                p.add("points.points_per_unit", "field.loyalty_points_invalid");
            }
            if r.points_per_unit == 0 && r.points_per_visit == 0 {
                p.add("points.points_per_unit", "field.loyalty_points_nothing");
            }
        }
        if let Some(s) = &self.stamps {
            if !(1..=10).contains(&s.per_visit) {
                p.add("stamps.per_visit", "field.loyalty_stamps_per_visit");
            }
            let ascending = s.milestones.windows(2).all(|w| w[0].stamps < w[1].stamps);
            if s.milestones.is_empty() || !ascending || s.milestones.iter().any(|m| !(1..=100).contains(&m.stamps)) {
                p.add("stamps.milestones", "field.loyalty_milestones");
            }
            if s.milestones
                .iter()
                .any(|m| crate::text::clean(&m.label).is_none() || m.label.chars().count() > MAX_LABEL)
            {
                p.add("stamps.milestones", "field.loyalty_label");
            }
        }
        let percent_ok = |v: i64| (1..=MAX_PERCENT).contains(&v);
        if self.category_multipliers.iter().any(|m| !percent_ok(m.percent) || crate::text::clean(&m.category).is_none())
        {
            p.add("category_multipliers", "field.loyalty_percent");
        }
        for b in &self.boosters {
            let hours_ok = b.from_minute.is_none_or(|m| m < 1440) && b.to_minute.is_none_or(|m| m <= 1440);
            let order_ok = match (b.from_minute, b.to_minute) {
                (Some(f), Some(t)) => f < t,
                _ => true,
            };
            let dates_ok = match (b.starts_on, b.ends_on) {
                (Some(s), Some(e)) => s <= e,
                _ => true,
            };
            if !percent_ok(b.percent)
                || !hours_ok
                || !order_ok
                || !dates_ok
                || b.weekdays.iter().any(|d| !(1..=7).contains(d))
                || crate::text::clean(&b.name).is_none()
            {
                p.push(FieldError::new("boosters", "field.loyalty_booster").arg("name", &b.name));
            }
        }
        if self.actions.iter().any(|a| !(1..=MAX_POINTS).contains(&a.points) || a.max_per_year.is_some_and(|m| m < 1)) {
            p.add("actions", "field.loyalty_points_invalid");
        }
        if let Some(t) = &self.tiers {
            let ascending = t.tiers.windows(2).all(|w| w[0].threshold < w[1].threshold);
            if t.tiers.is_empty() || !ascending || t.tiers.iter().any(|x| x.threshold < 0) {
                p.add("tiers", "field.loyalty_tiers_order");
            }
            if t.tiers.iter().any(|x| !percent_ok(x.percent) || !(0..=MAX_POINTS).contains(&x.entry_points)) {
                p.add("tiers", "field.loyalty_percent");
            }
            if t.tiers.iter().any(|x| crate::text::clean(&x.name).is_none() || x.name.chars().count() > MAX_LABEL) {
                p.add("tiers", "field.loyalty_label");
            }
        }
        match self.expiry {
            Expiry::AfterMonths { months } | Expiry::AfterInactivityMonths { months }
                if !(1..=120).contains(&months) =>
            {
                p.add("expiry", "field.loyalty_expiry")
            }
            _ => {}
        }
        if !(0..=100_000).contains(&self.value_of_100_points_cents) {
            p.add("value_of_100_points_cents", "field.loyalty_points_invalid");
        }
        if !(1..=1000).contains(&self.suspicious_operations_per_day) {
            p.add("suspicious_operations_per_day", "field.loyalty_points_invalid");
        }
        p.into_result()
    }
}

/// The programme in force: the latest saved version, or nothing configured.
pub fn programme(conn: &Connection) -> Result<Programme> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT document FROM loyalty_programmes ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(match doc {
        Some(d) => serde_json::from_str(&d)?,
        None => Programme::default(),
    })
}

impl Store {
    pub fn loyalty_programme(&self) -> Result<Programme> {
        programme(self.conn())
    }

    /// Save a new version of the programme (earlier versions stay, for the record).
    pub fn save_loyalty_programme(&mut self, p: &Programme, key: Option<&str>) -> Result<Outcome<Programme>> {
        p.validate()?;
        self.transact(("loyalty.programme", p), key, |tx| {
            tx.execute(
                "INSERT INTO loyalty_programmes (document, created_at) VALUES (?1, ?2)",
                params![serde_json::to_string(p)?, tx.now],
            )?;
            tx.changes.settings = true;
            Ok(p.clone())
        })
    }
}
