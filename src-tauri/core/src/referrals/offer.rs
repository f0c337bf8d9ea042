//! The referral offer (programme de parrainage) a merchant sets up: when a referral
//! qualifies, the hold before approval, rewards for the referrer and the friend, milestones
//! with "first N" slots, a cap per referrer and a budget in money. Stored as one versioned
//! document; every save is a new version and a referral keeps the version it was made under.
//!
//! Invariants: `validate` reports every problem against its field; `worst_case` is the most
//! the offer can cost, computed from the settings alone.

use crate::campaigns::render::format_money;
use crate::error::{FieldError, Problems, Result};
use crate::loyalty::RewardKind;
use crate::settings::{Currency, Locale};
use crate::types::Cents;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a customer receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RewardSpec {
    /// Loyalty points (needs a loyalty programme with points); costed at the programme's
    /// value of 100 points.
    Points { points: i64 },
    /// A voucher of an amount, valid `valid_days`.
    Voucher { cents: Cents, valid_days: u32 },
    /// A voucher of a percentage off; `cost_cents` is what the merchant expects one to cost,
    /// counted against the budget.
    PercentVoucher { percent: i64, valid_days: u32, cost_cents: Cents },
    /// A reward of the loyalty catalogue, given as a voucher the customer keeps until used: a
    /// voucher or a discount as money off; a gift (free product, experience, partner's gift)
    /// as a gift voucher handed over at the till or from the customer page. `label` is its
    /// name when the offer was saved and `kind` its kind then (both set by the core from the
    /// catalogue when the offer is checked or saved; absent in offers saved before gifts,
    /// which were all money off); `cost_cents` is its cost to the shop (its value for an
    /// amount; the merchant's estimate for a percentage or a gift, required for a gift).
    Catalogue {
        reward_id: i64,
        label: String,
        cost_cents: Cents,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        kind: Option<RewardKind>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FriendRewardAt {
    /// As soon as the friend is linked to their referrer.
    SignUp,
    /// When the friend's purchase qualifies the referral.
    FirstPurchase,
}

/// Whether every milestone reached gives its reward, or only the highest one counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Stacking {
    Cumulative,
    HighestOnly,
}

/// A palier: `referrals` approved referrals within the offer's dates give `reward`, to the
/// first `slots` referrers who reach it (no limit when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Milestone {
    /// Stable identity across versions of the offer (slots are counted by it).
    pub key: u32,
    pub referrals: u32,
    pub reward: RewardSpec,
    pub slots: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Offer {
    /// New referrals are made under the offer; when off, links are recorded, never rewarded.
    pub active: bool,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// The friend's purchase that qualifies the referral: at least this much, paid…
    pub min_purchase_cents: Cents,
    /// …within this many days of being referred.
    pub within_days: u32,
    /// A second purchase (of at least the minimum, in the same period) is also needed.
    pub second_purchase: bool,
    /// Days after qualifying before the referral is approved (the shop's return period).
    pub hold_days: u32,
    pub referrer_reward: Option<RewardSpec>,
    pub friend_reward: Option<RewardSpec>,
    pub friend_reward_at: FriendRewardAt,
    /// Ascending by `referrals`.
    pub milestones: Vec<Milestone>,
    pub stacking: Stacking,
    /// The most one referrer can receive under the offer (per-referral and milestone rewards).
    pub per_referrer_cap_cents: Option<Cents>,
    /// The most all the offer's rewards may cost.
    pub budget_cents: Option<Cents>,
    /// Days during which the link to a referrer can be corrected.
    pub correction_days: u32,
    /// More referrals than this by one referrer in a day, or in a week, are flagged.
    pub max_per_day: u32,
    pub max_per_week: u32,
    /// One staff member creating this many referred customers within an hour is flagged.
    pub staff_burst_per_hour: u32,
    /// Exclusions in the merchant's words, printed in the rules ("staff cannot take part").
    pub exclusions: String,
    /// The period whose slots, budget and caps this version counts in, named by its first
    /// day. Set by the core when the version is saved (see `rules::period_of`); whatever the
    /// interface sends is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub period_start: Option<NaiveDate>,
}

pub const MAX_DAYS: u32 = 3650;
pub const MAX_MONEY: Cents = 100_000_000;
pub const MAX_POINTS: i64 = 1_000_000;
pub const MAX_MILESTONES: usize = 10;
pub const MAX_EXCLUSIONS: usize = 2000;
pub const MAX_LABEL: usize = 100;

impl Offer {
    /// The reference offer of the issue: a €10 voucher for the first 50 customers who refer at
    /// least 4 friends, a €5 voucher for the first 50 who refer at least 2, €750 in all, for
    /// a year from `today`. Friends get 10 % off their next purchase.
    pub fn reference(today: NaiveDate) -> Offer {
        Offer {
            active: true,
            starts_on: today,
            ends_on: today.checked_add_signed(chrono::Duration::days(364)),
            min_purchase_cents: 2000,
            within_days: 30,
            second_purchase: false,
            hold_days: 14,
            referrer_reward: None,
            friend_reward: Some(RewardSpec::PercentVoucher { percent: 10, valid_days: 60, cost_cents: 200 }),
            friend_reward_at: FriendRewardAt::FirstPurchase,
            milestones: vec![
                Milestone {
                    key: 1,
                    referrals: 2,
                    reward: RewardSpec::Voucher { cents: 500, valid_days: 90 },
                    slots: Some(50),
                },
                Milestone {
                    key: 2,
                    referrals: 4,
                    reward: RewardSpec::Voucher { cents: 1000, valid_days: 90 },
                    slots: Some(50),
                },
            ],
            stacking: Stacking::HighestOnly,
            per_referrer_cap_cents: None,
            budget_cents: Some(75_000),
            correction_days: 14,
            max_per_day: 5,
            max_per_week: 15,
            staff_burst_per_hour: 10,
            exclusions: String::new(),
            period_start: None,
        }
    }

    /// Every reward the offer can give, with the field it is set in.
    pub fn rewards(&self) -> Vec<(String, &RewardSpec)> {
        let mut out = Vec::new();
        if let Some(r) = &self.referrer_reward {
            out.push(("referrer_reward".to_string(), r));
        }
        if let Some(r) = &self.friend_reward {
            out.push(("friend_reward".to_string(), r));
        }
        for (i, m) in self.milestones.iter().enumerate() {
            out.push((format!("milestones.{i}"), &m.reward));
        }
        out
    }

    pub fn uses_points(&self) -> bool {
        self.rewards().iter().any(|(_, r)| matches!(r, RewardSpec::Points { .. }))
    }

    /// The first day of the version's period (its start date for a version saved before
    /// periods were kept).
    pub fn period_start(&self) -> NaiveDate {
        self.period_start.unwrap_or(self.starts_on)
    }

    /// Referrals made from this instant's day count towards the period's milestones: the
    /// period's first day, or the start date when it was moved earlier.
    pub fn counts_from(&self) -> NaiveDate {
        self.period_start().min(self.starts_on)
    }

    /// Rule: the offer is in force on `day` when active and within its dates.
    pub fn runs_on(&self, day: NaiveDate) -> bool {
        self.active && day >= self.starts_on && self.ends_on.is_none_or(|e| day <= e)
    }

    /// Rule: an offer is coherent — dates in order, sensible periods, rewards with a value
    /// and a cost, ascending milestones with distinct keys, a budget that pays for at least
    /// every single reward, short texts. `point_value` is the loyalty value of 100 points.
    pub fn validate(&self, point_value: Cents, currency: Currency, locale: Locale) -> Result<()> {
        let mut p = Problems::default();
        if let Some(end) = self.ends_on {
            if end < self.starts_on {
                p.add("ends_on", "field.referral_dates_order");
            }
        }
        if !(0..=MAX_MONEY).contains(&self.min_purchase_cents) {
            p.add("min_purchase_cents", "field.referral_amount_invalid");
        }
        if !(1..=MAX_DAYS).contains(&self.within_days) {
            p.add("within_days", "field.referral_days_invalid");
        }
        if self.hold_days > 365 {
            p.add("hold_days", "field.referral_days_invalid");
        }
        if self.correction_days > 365 {
            p.add("correction_days", "field.referral_days_invalid");
        }
        for (field, value) in [
            ("max_per_day", self.max_per_day),
            ("max_per_week", self.max_per_week),
            ("staff_burst_per_hour", self.staff_burst_per_hour),
        ] {
            if !(1..=1000).contains(&value) {
                p.add(field, "field.referral_limit_invalid");
            }
        }
        if self.max_per_week < self.max_per_day {
            p.add("max_per_week", "field.referral_week_below_day");
        }
        if let Some(r) = &self.referrer_reward {
            check_reward(&mut p, "referrer_reward", r);
        }
        if let Some(r) = &self.friend_reward {
            check_reward(&mut p, "friend_reward", r);
        }
        if self.milestones.len() > MAX_MILESTONES {
            p.push(FieldError::new("milestones", "field.too_many").arg("max", MAX_MILESTONES));
        }
        for (i, m) in self.milestones.iter().enumerate() {
            check_reward(&mut p, "milestones", &m.reward);
            if !(1..=1000).contains(&m.referrals) {
                p.add("milestones", "field.referral_milestone_count");
            }
            if m.slots.is_some_and(|s| !(1..=1_000_000).contains(&s)) {
                p.add("milestones", "field.referral_slots_invalid");
            }
            if self.milestones[..i].iter().any(|o| o.key == m.key) {
                p.add("milestones", "field.referral_milestone_key");
            }
        }
        if self.milestones.windows(2).any(|w| w[0].referrals >= w[1].referrals) {
            p.add("milestones", "field.referral_milestones_order");
        }
        let biggest = self.rewards().iter().map(|(_, r)| cost_cents(r, point_value)).max().unwrap_or(0);
        for (field, v) in [("budget_cents", self.budget_cents), ("per_referrer_cap_cents", self.per_referrer_cap_cents)]
        {
            match v {
                Some(b) if !(1..=MAX_MONEY).contains(&b) => p.add(field, "field.referral_amount_invalid"),
                Some(b) if b < biggest => p.push(
                    FieldError::new(field, "field.referral_budget_below_reward")
                        .arg("amount", format_money(biggest, currency, locale)),
                ),
                _ => {}
            }
        }
        if self.exclusions.chars().count() > MAX_EXCLUSIONS {
            p.push(FieldError::new("exclusions", "field.too_long").arg("max", MAX_EXCLUSIONS));
        }
        p.into_result()
    }
}

fn check_reward(p: &mut Problems, field: &'static str, r: &RewardSpec) {
    let ok = match r {
        RewardSpec::Points { points } => (1..=MAX_POINTS).contains(points),
        RewardSpec::Voucher { cents, valid_days } => {
            (1..=crate::loyalty::MAX_VOUCHER_CENTS).contains(cents) && (1..=MAX_DAYS).contains(valid_days)
        }
        RewardSpec::PercentVoucher { percent, valid_days, cost_cents } => {
            (1..=100).contains(percent) && (1..=MAX_DAYS).contains(valid_days) && (1..=MAX_MONEY).contains(cost_cents)
        }
        RewardSpec::Catalogue { reward_id, label, cost_cents, kind } => {
            if matches!(kind, Some(k) if k.is_gift()) && !(1..=crate::loyalty::MAX_VOUCHER_CENTS).contains(cost_cents) {
                // What the gift costs the shop is what the budget counts: it must be said.
                p.add(field, "field.referral_gift_cost");
                return;
            }
            *reward_id > 0
                && crate::text::clean(label).is_some_and(|l| l.chars().count() <= MAX_LABEL)
                && (0..=MAX_MONEY).contains(cost_cents)
        }
    };
    if !ok {
        p.add(field, "field.referral_reward_invalid");
    }
}

/// Rule: what a reward costs the shop, in cents: a voucher its amount, points their value at
/// the loyalty programme's rate (rounded up), a percentage or catalogue reward the merchant's
/// figure.
pub fn cost_cents(r: &RewardSpec, point_value: Cents) -> Cents {
    match r {
        RewardSpec::Points { points } => {
            let v = i128::from(*points) * i128::from(point_value.max(0));
            ((v + 99) / 100) as Cents
        }
        RewardSpec::Voucher { cents, .. } => *cents,
        RewardSpec::PercentVoucher { cost_cents, .. } | RewardSpec::Catalogue { cost_cents, .. } => *cost_cents,
    }
}

/// Whether a reward is a catalogue gift (held as a gift voucher, handed over, never money off).
pub fn is_gift(r: &RewardSpec) -> bool {
    matches!(r, RewardSpec::Catalogue { kind: Some(k), .. } if k.is_gift())
}

/// One bounded part of the worst case: `slots` rewards of `cost_cents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CostPart {
    pub milestone_key: u32,
    pub slots: u32,
    pub cost_cents: Cents,
    /// The catalogue reward's name, when the milestone gives one ("Une viennoiserie offerte").
    pub label: Option<String>,
}

/// The most the offer can cost, as the editor shows it while typing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WorstCase {
    /// Milestones with slots: slots × cost each (reference offer: 50 × €10 + 50 × €5).
    pub parts: Vec<CostPart>,
    /// The sum of `parts`.
    pub milestones_cents: Cents,
    /// Some rewards have no slot limit (per-referral rewards, milestones without slots):
    /// only the budget bounds them.
    pub unbounded: bool,
    /// The most the offer can cost: the smaller of the budget and the bounded total; `None`
    /// when nothing bounds it.
    pub total_cents: Option<Cents>,
    /// The milestones alone could cost more than the budget: the budget will stop the offer
    /// before every slot is given.
    pub budget_stops_first: bool,
}

/// Rule: the worst case is every slot of every milestone given at full cost, plus per-referral
/// rewards without bound; the budget, when set, caps the whole.
pub fn worst_case(o: &Offer, point_value: Cents) -> WorstCase {
    let mut parts = Vec::new();
    let mut unbounded = o.referrer_reward.is_some() || o.friend_reward.is_some();
    for m in &o.milestones {
        match m.slots {
            Some(slots) => parts.push(CostPart {
                milestone_key: m.key,
                slots,
                cost_cents: cost_cents(&m.reward, point_value),
                label: match &m.reward {
                    RewardSpec::Catalogue { label, .. } => Some(label.clone()),
                    _ => None,
                },
            }),
            None => unbounded = true,
        }
    }
    let milestones_cents: Cents = parts.iter().map(|p| i64::from(p.slots) * p.cost_cents).sum();
    let total_cents = match (o.budget_cents, unbounded) {
        (Some(b), true) => Some(b),
        (Some(b), false) => Some(b.min(milestones_cents)),
        (None, true) => None,
        (None, false) => Some(milestones_cents),
    };
    WorstCase {
        parts,
        milestones_cents,
        unbounded,
        total_cents,
        budget_stops_first: o.budget_cents.is_some_and(|b| milestones_cents > b),
    }
}
