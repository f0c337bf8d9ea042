//! The printable règlement (rules) of the referral offer, in French or English, written from
//! the offer's settings alone, and the printable notice of the rewards that remain ("il reste
//! 12 bons de 10 €"). The sentences are in the shared catalogues (`referral.rules.*`).
//!
//! Invariant: every figure printed comes from the offer (tested: each setting changes the
//! text), so the rules always match the configuration.

use super::counters::Counters;
use super::grants::reward_label;
use super::offer::{FriendRewardAt, Offer, RewardSpec, Stacking};
use crate::campaigns::render::format_money;
use crate::error::Result;
use crate::i18n::tr;
use crate::settings::{Currency, Locale};
use crate::storage::Store;
use crate::types::{Cents, Lang};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReglementSection {
    pub heading: String,
    pub paragraphs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Reglement {
    pub title: String,
    pub version: i64,
    pub sections: Vec<ReglementSection>,
}

/// How the text writes money and dates.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub lang: Lang,
    pub currency: Currency,
    pub locale: Locale,
    /// The loyalty value of 100 points, for nothing but costs (not printed).
    pub point_value: Cents,
}

impl Style {
    fn money(&self, cents: Cents) -> String {
        format_money(cents, self.currency, self.locale)
    }
    fn date(&self, d: NaiveDate) -> String {
        match self.locale {
            Locale::FrFr => d.format("%d/%m/%Y").to_string(),
            Locale::FrCa | Locale::En => d.format("%Y-%m-%d").to_string(),
        }
    }
    fn reward(&self, r: &RewardSpec) -> String {
        let label = reward_label(r, self.lang, self.currency, self.locale);
        match r {
            RewardSpec::Voucher { valid_days, .. } | RewardSpec::PercentVoucher { valid_days, .. } => {
                tr(self.lang, "referral.rules.valid_for", &[("reward", label), ("days", valid_days.to_string())])
            }
            // "« Viennoiserie offerte », un cadeau à retirer en boutique".
            r if super::offer::is_gift(r) => tr(self.lang, "referral.rules.gift", &[("reward", label)]),
            _ => label,
        }
    }
    fn t(&self, key: &str, args: &[(&'static str, String)]) -> String {
        tr(self.lang, key, args)
    }
}

/// Rule: the règlement of an offer, section by section.
pub fn reglement(o: &Offer, version: i64, shop: &str, s: &Style) -> Reglement {
    let mut sections = Vec::new();
    let min = s.money(o.min_purchase_cents);
    // Who and when.
    let dates = match o.ends_on {
        Some(end) => s.t("referral.rules.dates", &[("start", s.date(o.starts_on)), ("end", s.date(end))]),
        None => s.t("referral.rules.dates_open", &[("start", s.date(o.starts_on))]),
    };
    let mut who = vec![s.t("referral.rules.who", &[]), s.t("referral.rules.new_friend", &[]), dates];
    if !o.active {
        who.push(s.t("referral.rules.paused", &[]));
    }
    sections.push(ReglementSection { heading: s.t("referral.rules.h_who", &[]), paragraphs: who });
    // When a referral counts.
    let mut when = vec![s.t("referral.rules.qualify", &[("min", min.clone()), ("days", o.within_days.to_string())])];
    if o.second_purchase {
        when.push(s.t("referral.rules.second", &[("min", min.clone())]));
    }
    when.push(if o.hold_days == 0 {
        s.t("referral.rules.no_hold", &[])
    } else {
        s.t("referral.rules.hold", &[("days", o.hold_days.to_string()), ("min", min.clone())])
    });
    when.push(s.t("referral.rules.reversal", &[]));
    sections.push(ReglementSection { heading: s.t("referral.rules.h_when", &[]), paragraphs: when });
    // Rewards.
    let mut rewards = Vec::new();
    if let Some(r) = &o.referrer_reward {
        rewards.push(s.t("referral.rules.referrer_reward", &[("reward", s.reward(r))]));
    }
    if let Some(r) = &o.friend_reward {
        let key = match o.friend_reward_at {
            FriendRewardAt::SignUp => "referral.rules.friend_signup",
            FriendRewardAt::FirstPurchase => "referral.rules.friend_purchase",
        };
        rewards.push(s.t(key, &[("reward", s.reward(r))]));
    }
    if rewards.is_empty() && o.milestones.is_empty() {
        rewards.push(s.t("referral.rules.no_reward", &[]));
    }
    if !rewards.is_empty() {
        sections.push(ReglementSection { heading: s.t("referral.rules.h_rewards", &[]), paragraphs: rewards });
    }
    // Milestones.
    if !o.milestones.is_empty() {
        let mut p: Vec<String> = o
            .milestones
            .iter()
            .map(|m| {
                let args = vec![("count", m.referrals.to_string()), ("reward", s.reward(&m.reward))];
                match m.slots {
                    Some(n) => {
                        let mut a = args.clone();
                        a.push(("slots", n.to_string()));
                        s.t("referral.rules.milestone_slots", &a)
                    }
                    None => s.t("referral.rules.milestone", &args),
                }
            })
            .collect();
        p.push(match o.stacking {
            Stacking::Cumulative => s.t("referral.rules.cumulative", &[]),
            Stacking::HighestOnly => s.t("referral.rules.highest", &[]),
        });
        p.push(s.t("referral.rules.slot_order", &[]));
        sections.push(ReglementSection { heading: s.t("referral.rules.h_milestones", &[]), paragraphs: p });
    }
    // Limits.
    let mut limits = Vec::new();
    if let Some(cap) = o.per_referrer_cap_cents {
        limits.push(s.t("referral.rules.cap", &[("cap", s.money(cap))]));
    }
    if let Some(b) = o.budget_cents {
        limits.push(s.t("referral.rules.budget", &[("budget", s.money(b))]));
    }
    limits.push(s.t("referral.rules.stop", &[]));
    sections.push(ReglementSection { heading: s.t("referral.rules.h_limits", &[]), paragraphs: limits });
    // Fairness and exclusions.
    let mut fair = vec![
        s.t("referral.rules.no_self", &[]),
        s.t(
            "referral.rules.review",
            &[("per_day", o.max_per_day.to_string()), ("per_week", o.max_per_week.to_string())],
        ),
        s.t("referral.rules.correction", &[("days", o.correction_days.to_string())]),
        s.t("referral.rules.no_email", &[]),
    ];
    if let Some(x) = crate::text::clean_multiline(&o.exclusions) {
        fair.push(x);
    }
    sections.push(ReglementSection { heading: s.t("referral.rules.h_fair", &[]), paragraphs: fair });
    let title = if shop.trim().is_empty() {
        s.t("referral.rules.title", &[])
    } else {
        s.t("referral.rules.title_shop", &[("shop", shop.trim().to_string())])
    };
    Reglement { title, version, sections }
}

/// The printable notice: the rewards that remain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Notice {
    pub title: String,
    pub lines: Vec<String>,
    /// Nothing more will be given: every slot taken or the budget spent.
    pub finished: bool,
}

/// Rule: one line per milestone with what remains ("il reste 12 bons de 10 €"), or that the
/// offer gives no more.
pub fn notice(o: &Offer, c: &Counters, running: bool, s: &Style) -> Notice {
    let mut lines = Vec::new();
    let mut any_left = false;
    for (m, spec) in c.milestones.iter().zip(o.milestones.iter()) {
        let plural = super::grants::reward_label_plural(&spec.reward, s.lang, s.currency, s.locale);
        let (key, n) = match m.remaining {
            Some(0) => ("referral.notice.none_left", 0),
            Some(1) => ("referral.notice.one_left", 1),
            Some(n) => ("referral.notice.left", n),
            None => ("referral.notice.unlimited", u32::MAX),
        };
        any_left |= n > 0;
        let reward = if n > 1 { plural } else { m.label.clone() };
        lines.push(s.t(key, &[("count", n.to_string()), ("reward", reward), ("referrals", m.referrals.to_string())]));
    }
    if let Some(left) = c.remaining_budget_cents {
        lines.push(s.t("referral.notice.budget", &[("left", s.money(left))]));
    }
    let budget_spent = c.remaining_budget_cents.is_some_and(|b| {
        let cheapest = o.rewards().iter().map(|(_, r)| super::offer::cost_cents(r, s.point_value)).min().unwrap_or(0);
        b < cheapest
    });
    let finished = !running
        || budget_spent
        || (!c.milestones.is_empty() && !any_left && o.referrer_reward.is_none() && o.friend_reward.is_none());
    if finished {
        lines.insert(0, s.t("referral.notice.finished", &[]));
    }
    Notice { title: s.t("referral.notice.title", &[]), lines, finished }
}

impl Store {
    fn style(&self, lang: Lang) -> Result<Style> {
        let st = self.settings()?;
        let locale = match (lang, st.locale) {
            (Lang::En, _) => Locale::En,
            (Lang::Fr, Locale::En) => Locale::FrFr,
            (Lang::Fr, l) => l,
        };
        Ok(Style { lang, currency: st.currency, locale, point_value: super::versions::point_value(self.conn())? })
    }

    /// The printable rules of the offer in force, in `lang`; `None` with no offer.
    pub fn referral_reglement(&self, lang: Lang) -> Result<Option<Reglement>> {
        let Some(v) = super::versions::current_offer(self.conn())? else { return Ok(None) };
        let shop = self.settings()?.shop_name;
        Ok(Some(reglement(&v.offer, v.version, &shop, &self.style(lang)?)))
    }

    /// The printable notice of what remains, in `lang`; `None` with no offer.
    pub fn referral_notice(&self, lang: Lang) -> Result<Option<Notice>> {
        let Some(v) = super::versions::current_offer(self.conn())? else { return Ok(None) };
        let s = self.style(lang)?;
        let mut c = super::counters::counters(self.conn(), &v.offer)?;
        for (m, spec) in c.milestones.iter_mut().zip(v.offer.milestones.iter()) {
            m.label = reward_label(&spec.reward, lang, s.currency, s.locale);
        }
        let running = v.offer.runs_on(super::versions::local_day(self.now()));
        Ok(Some(notice(&v.offer, &c, running, &s)))
    }
}
