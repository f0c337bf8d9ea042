//! What the loyalty programme costs and brings, each figure labelled for what it is: the
//! rewards, vouchers and points used (at their selling value, and at cost when the merchant
//! gives a margin), the stamp-card milestones and the catalogue's gifts handed over (valued
//! when the catalogue gives their selling value), referral rewards
//! (from the referrals module once it exists), breakage (points that expired unused) and the
//! liability (read through the loyalty module); then what members spend before and after
//! joining against comparable customers without a card (a difference of differences), and the
//! naive members-vs-others comparison, marked as biased (the best customers join more readily).
//!
//! A member is a customer holding a loyalty card; they joined when their first card was issued.
//! Read-only; computed in the background with the scores and kept as a snapshot.

use super::calendar::months_back;
use super::hooks;
use super::settings::analytics_settings;
use crate::error::Result;
use crate::loyalty::Liability;
use crate::storage::Store;
use crate::types::{Cents, CustomerId};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Members who joined at least this long ago are compared 6 months before and after.
const COMPARE_MONTHS: u32 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProgrammeCosts {
    /// Discounts given at the till with rewards, vouchers and points, over the last 12 months.
    pub discounts_cents: Cents,
    pub discounted_sales: i64,
    /// The same at cost, with the merchant's margin (`None` without a margin).
    pub discounts_at_cost_cents: Option<Cents>,
    /// Gifts from the catalogue handed over (free products, experiences, partner offers)
    /// and stamp-card milestones.
    pub free_rewards: i64,
    /// Of those gifts, the ones whose selling value the catalogue gives, and that value (the
    /// catalogue's value today: a redemption keeps which reward, not its price then).
    pub free_rewards_valued: i64,
    pub free_rewards_value_cents: Cents,
    /// The same at cost, with the merchant's margin (`None` without a margin).
    pub free_rewards_at_cost_cents: Option<Cents>,
    pub milestones: i64,
    /// Referral rewards, once the referrals module gives them.
    pub referral_rewards_cents: Option<Cents>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Breakage {
    pub earned_points: i64,
    pub expired_points: i64,
    /// Expired out of earned, in tenths of a percent.
    pub rate_permille: Option<i64>,
    pub expired_value_cents: Cents,
}

/// Average spend per customer and per month, of the members and of the customers without a
/// card matched to them (see [`matched_before_after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BeforeAfter {
    /// Members compared (those with at least one comparable customer without a card).
    pub members: i64,
    /// Members left out: no customer without a card bought as often and as much before.
    pub unmatched_members: i64,
    pub member_before_cents: Cents,
    pub member_after_cents: Cents,
    /// Customers without a card in the members' groups (one counted again for each month of
    /// joining it is compared at).
    pub others: i64,
    pub other_before_cents: Cents,
    pub other_after_cents: Cents,
    /// (members' after − before) − (others' after − before), per customer and month.
    pub uplift_cents: Cents,
}

/// The naive comparison over the last 12 months (biased: marked so in the interface).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Naive {
    pub members: i64,
    pub member_average_cents: Cents,
    pub others: i64,
    pub other_average_cents: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProgrammeReturn {
    pub computed_at: DateTime<Utc>,
    pub active: bool,
    pub margin_percent: Option<u32>,
    pub costs: ProgrammeCosts,
    pub breakage: Breakage,
    pub liability: Liability,
    pub before_after: Option<BeforeAfter>,
    pub naive: Naive,
}

/// Rule: the share of the points earned that expired unused, in tenths of a percent.
pub fn breakage_permille(earned: i64, expired: i64) -> Option<i64> {
    (earned > 0).then(|| (expired.max(0) * 1000 + earned / 2) / earned)
}

/// Rule: a value given at its selling price costs the shop `100 − margin` % of it.
pub fn at_cost(cents: Cents, margin_percent: Option<u32>) -> Option<Cents> {
    margin_percent.map(|m| cents * i64::from(100 - m.min(100)) / 100)
}

/// Rule: the difference of differences, per customer and month.
pub fn uplift(member_before: Cents, member_after: Cents, other_before: Cents, other_after: Cents) -> Cents {
    (member_after - member_before) - (other_after - other_before)
}

fn one<T: rusqlite::types::FromSql>(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<T> {
    Ok(conn.query_row(sql, p, |r| r.get(0))?)
}

/// One customer's 6 months before a date and 6 months after: what they spent, how many sales.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub customer_id: CustomerId,
    pub before_cents: Cents,
    pub before_visits: i64,
    pub after_cents: Cents,
}

/// Rule: visits before joining are grouped like the RFM frequency's steps (1, 2, 3–4, 5–9, 10+).
pub fn visits_band(visits: i64) -> u8 {
    match visits {
        ..=1 => 0,
        2 => 1,
        3..=4 => 2,
        5..=9 => 3,
        _ => 4,
    }
}

/// Rule: the spend before joining is grouped by the members' quartiles (three cut points, the
/// lower bound of the 2nd, 3rd and 4th quarters).
pub fn spend_cuts(mut members_before: Vec<Cents>) -> [Cents; 3] {
    members_before.sort_unstable();
    let n = members_before.len();
    if n == 0 {
        return [0; 3];
    }
    [1, 2, 3].map(|q| members_before[(q * n / 4).min(n - 1)])
}

pub fn spend_band(before: Cents, cuts: &[Cents; 3]) -> u8 {
    cuts.iter().filter(|c| before >= **c).count() as u8
}

/// Rule: each member is compared with the customers without a card who, over the same 6 months
/// before (the month the member joined), bought as often (the same visits band) and as much
/// (the same quarter of the members' spend): coarsened exact matching. The comparison's before
/// and after are those customers' averages in the member's group, each member weighing the
/// same; members without such customers are left out and counted. `others` holds, for each
/// month of joining, the customers without a card around its first day. The customers compared
/// on each side are given with the figures (the lists behind the chart's bars).
pub fn matched_before_after(
    members: &[(&str, Window)],
    others: &std::collections::BTreeMap<&str, Vec<Window>>,
) -> Option<Matched> {
    use std::collections::{BTreeMap, BTreeSet};
    let cuts = spend_cuts(members.iter().map(|(_, w)| w.before_cents).collect());
    let group = |w: &Window| (visits_band(w.before_visits), spend_band(w.before_cents, &cuts));
    /// A month of joining and a group (visits band, spend band).
    type Cell<'m> = (&'m str, (u8, u8));
    // Each cell's customers without a card: how many, their spend before, after, who.
    let mut cells: BTreeMap<Cell, (i64, i64, i64, Vec<CustomerId>)> = BTreeMap::new();
    for (month, list) in others {
        for w in list.iter().filter(|w| w.before_cents > 0) {
            let cell = cells.entry((*month, group(w))).or_default();
            cell.0 += 1;
            cell.1 += w.before_cents;
            cell.2 += w.after_cents;
            cell.3.push(w.customer_id);
        }
    }
    let (mut n, mut unmatched) = (0i64, 0i64);
    let (mut mb, mut ma, mut ob, mut oa) = (0f64, 0f64, 0f64, 0f64);
    let mut used: BTreeSet<Cell> = BTreeSet::new();
    let mut compared: BTreeSet<CustomerId> = BTreeSet::new();
    for (month, w) in members {
        match cells.get(&(*month, group(w))) {
            Some(&(count, before, after, _)) if count > 0 => {
                n += 1;
                compared.insert(w.customer_id);
                mb += w.before_cents as f64;
                ma += w.after_cents as f64;
                ob += before as f64 / count as f64;
                oa += after as f64 / count as f64;
                used.insert((*month, group(w)));
            }
            _ => unmatched += 1,
        }
    }
    if n == 0 {
        return None;
    }
    let per_month = |total: f64| (total / n as f64 / f64::from(COMPARE_MONTHS)).round() as i64;
    let (mb, ma, obm, oam) = (per_month(mb), per_month(ma), per_month(ob), per_month(oa));
    let others: BTreeSet<CustomerId> = used.iter().flat_map(|k| cells[k].3.iter().copied()).collect();
    Some(Matched {
        figures: BeforeAfter {
            members: n,
            unmatched_members: unmatched,
            member_before_cents: mb,
            member_after_cents: ma,
            others: others.len() as i64,
            other_before_cents: obm,
            other_after_cents: oam,
            uplift_cents: uplift(mb, ma, obm, oam),
        },
        members: compared.into_iter().collect(),
        others: others.into_iter().collect(),
    })
}

/// The comparison's figures and the customers compared on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub figures: BeforeAfter,
    pub members: Vec<CustomerId>,
    pub others: Vec<CustomerId>,
}

/// The members who joined 6 to 18 months ago and bought in the 6 months before, against the
/// customers without a card matched to them (see [`matched_before_after`]); customers in use
/// only (not archived, erased or merged), so that each bar's list holds every customer counted. A member's windows
/// are around the day they joined; those of the customers without a card around the first day
/// of that month (one read of them per month of joining, not per member).
fn before_after(conn: &Connection, now: DateTime<Utc>) -> Result<Option<Matched>> {
    const SIGNED: &str = "CASE p.kind WHEN 'sale' THEN p.amount_cents ELSE -p.amount_cents END";
    let joined_from = months_back(now, 18);
    let joined_to = months_back(now, COMPARE_MONTHS);
    // A customer's window around ?1: spend before, sales before, spend after.
    let window = |who: &str| {
        format!(
            "(SELECT coalesce(sum({SIGNED}), 0) FROM purchases p WHERE p.customer_id = {who}
               AND p.occurred_at >= datetime(?1, '-6 months') AND p.occurred_at < ?1) AS before,
             (SELECT count(*) FROM purchases p WHERE p.customer_id = {who} AND p.kind = 'sale'
               AND p.occurred_at >= datetime(?1, '-6 months') AND p.occurred_at < ?1) AS visits,
             (SELECT coalesce(sum({SIGNED}), 0) FROM purchases p WHERE p.customer_id = {who}
               AND p.occurred_at >= ?1 AND p.occurred_at < datetime(?1, '+6 months')) AS after"
        )
    };
    let row = |r: &rusqlite::Row, at: usize| -> rusqlite::Result<Window> {
        Ok(Window {
            customer_id: r.get(at)?,
            before_cents: r.get(at + 1)?,
            before_visits: r.get(at + 2)?,
            after_cents: r.get(at + 3)?,
        })
    };
    // Members, each around the day they joined, with the month they joined.
    let mut st = conn.prepare(&format!(
        "WITH m AS (SELECT customer_id, min(issued_at) AS joined FROM cards GROUP BY customer_id)
         SELECT strftime('%Y-%m-01 00:00:00', m.joined), m.customer_id, {}
         FROM m JOIN customers c ON c.id = m.customer_id
         WHERE m.joined >= ?1 AND m.joined < ?2 AND c.archived_at IS NULL AND c.merged_into IS NULL",
        window("m.customer_id").replace("?1", "m.joined")
    ))?;
    let rows: Vec<(String, Window)> = st
        .query_map(params![joined_from, joined_to], |r| Ok((r.get(0)?, row(r, 1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let members: Vec<(&str, Window)> =
        rows.iter().filter(|(_, w)| w.before_cents > 0).map(|(m, w)| (m.as_str(), *w)).collect();
    if members.is_empty() {
        return Ok(None);
    }
    // Customers without a card who bought in the 6 months before the first day of each month
    // members joined in (only those can be compared: the others are not kept in memory).
    let mut others_st = conn.prepare(&format!(
        "SELECT * FROM (SELECT c.id, {} FROM customers c
           WHERE c.archived_at IS NULL AND c.merged_into IS NULL AND NOT EXISTS (SELECT 1 FROM cards k WHERE k.customer_id = c.id)
             AND c.first_purchase_at < ?1)
         WHERE before > 0",
        window("c.id")
    ))?;
    let mut others = std::collections::BTreeMap::new();
    for (month, _) in &members {
        if !others.contains_key(month) {
            let list = others_st.query_map([month], |r| row(r, 0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            others.insert(*month, list);
        }
    }
    Ok(matched_before_after(&members, &others))
}

fn naive(conn: &Connection, since: DateTime<Utc>) -> Result<Naive> {
    let mut st = conn.prepare(
        "SELECT EXISTS (SELECT 1 FROM cards k WHERE k.customer_id = s.customer_id) AS member, count(*), coalesce(sum(spent), 0)
         FROM (SELECT customer_id, sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END) AS spent
               FROM purchases WHERE occurred_at >= ?1 GROUP BY customer_id) s GROUP BY member",
    )?;
    let mut n = Naive { members: 0, member_average_cents: 0, others: 0, other_average_cents: 0 };
    let rows = st.query_map([since], |r| Ok((r.get::<_, bool>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?;
    for row in rows {
        let (member, count, spent) = row?;
        let avg = if count > 0 { spent / count } else { 0 };
        if member {
            (n.members, n.member_average_cents) = (count, avg);
        } else {
            (n.others, n.other_average_cents) = (count, avg);
        }
    }
    Ok(n)
}

impl Store {
    /// The programme's cost and return over the last 12 months (see the module's header).
    pub fn compute_programme_return(&self) -> Result<ProgrammeReturn> {
        Ok(self.programme_return_and_comparison()?.0)
    }

    /// The same, with the customers its before/after comparison compared on each side.
    pub(crate) fn programme_return_and_comparison(&self) -> Result<(ProgrammeReturn, Option<Matched>)> {
        let now = self.now();
        let since = months_back(now, 12);
        let conn = self.conn();
        let programme = crate::loyalty::programme::programme(conn)?;
        let margin = analytics_settings(conn)?.margin_percent;
        let (discounts, discounted): (i64, i64) = conn.query_row(
            "SELECT coalesce(sum(s.discount_cents), 0), count(*) FROM loyalty_sales s JOIN purchases p ON p.id = s.purchase_id
             WHERE s.discount_cents > 0 AND p.occurred_at >= ?1",
            [since],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (free_rewards, free_valued, free_value): (i64, i64, i64) = conn.query_row(
            "SELECT count(*), count(CASE WHEN w.value > 0 THEN 1 END), coalesce(sum(w.value), 0)
             FROM redemptions r JOIN rewards w ON w.id = r.reward_id
             WHERE r.at >= ?1 AND w.kind IN ('free_product', 'experience', 'partner')",
            [since],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        // The ledger read in order, as before the claims had an index of their own: through
        // it, each claim would cost a read of its row, scattered over the file.
        let milestones: i64 = one(
            conn,
            "SELECT count(*) FROM stamps_ledger NOT INDEXED WHERE kind = 'redeem' AND milestone IS NOT NULL AND at >= ?1",
            [since],
        )?;
        let (earned, expired): (i64, i64) = conn.query_row(
            "SELECT coalesce(sum(CASE WHEN points > 0 AND kind IN ('earn', 'action', 'tier_entry', 'adjust') THEN points END), 0),
                    coalesce(-sum(CASE WHEN kind = 'expire' THEN points END), 0)
             FROM points_ledger WHERE at >= ?1",
            [since],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let matched = before_after(conn, now)?;
        let figures = ProgrammeReturn {
            computed_at: now,
            active: programme.is_active(),
            margin_percent: margin,
            costs: ProgrammeCosts {
                discounts_cents: discounts,
                discounted_sales: discounted,
                discounts_at_cost_cents: at_cost(discounts, margin),
                free_rewards,
                free_rewards_valued: free_valued,
                free_rewards_value_cents: free_value,
                free_rewards_at_cost_cents: at_cost(free_value, margin),
                milestones,
                referral_rewards_cents: hooks::referral_rewards_cents(conn, since)?,
            },
            breakage: Breakage {
                earned_points: earned,
                expired_points: expired,
                rate_permille: breakage_permille(earned, expired),
                expired_value_cents: crate::loyalty::rules::liability_cents(
                    expired,
                    programme.value_of_100_points_cents,
                ),
            },
            liability: self.points_liability()?,
            before_after: matched.as_ref().map(|m| m.figures),
            naive: naive(conn, since)?,
        };
        Ok((figures, matched))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breakage_is_the_share_of_earned_points_that_expired() {
        assert_eq!(breakage_permille(1000, 150), Some(150), "15 %");
        assert_eq!(breakage_permille(3, 1), Some(333));
        assert_eq!(breakage_permille(0, 0), None, "nothing earned: no rate");
    }

    #[test]
    fn a_reward_at_cost_keeps_the_share_the_shop_paid_for() {
        assert_eq!(at_cost(10_000, Some(40)), Some(6_000), "a 100 € reward costs 60 € with a 40 % margin");
        assert_eq!(at_cost(10_000, None), None, "no margin given: no cost price");
    }

    #[test]
    fn gifts_from_the_catalogue_are_valued_when_the_catalogue_gives_their_price() {
        use crate::loyalty::{Programme, RewardInput, RewardKind};
        let (mut s, _) = crate::testutil::store();
        let points = crate::loyalty::PointsRule { points_per_unit: 1, unit_cents: 100, points_per_visit: 0 };
        let stamps = crate::loyalty::StampRule {
            per_visit: 1,
            milestones: vec![crate::loyalty::StampMilestone { stamps: 2, label: "Café offert".into() }],
        };
        let programme = Programme { points: Some(points), stamps: Some(stamps), ..Programme::default() };
        s.save_loyalty_programme(&programme, None).unwrap();
        let c = crate::testutil::add(&mut s, crate::testutil::input("Léa", "Martin"));
        let sale = crate::purchases::SaleInput {
            customer_id: c,
            amount_cents: 9000,
            occurred_at: None,
            note: String::new(),
            category: String::new(),
            apply: None,
        };
        s.record_sale(&sale, None).unwrap();
        let gift = |name: &str, kind, value| RewardInput {
            name: name.into(),
            kind,
            points_cost: 20,
            value,
            stock: None,
            per_customer_limit: None,
            valid_from: None,
            valid_to: None,
            voucher_days: 90,
            active: true,
        };
        let coffee = s.save_reward(None, &gift("Café offert", RewardKind::FreeProduct, 250), None).unwrap().value;
        let workshop = s.save_reward(None, &gift("Atelier", RewardKind::Experience, 0), None).unwrap().value;
        for r in [coffee.id, coffee.id, workshop.id] {
            s.give_reward(c, r, "Marie", None).unwrap();
        }
        let other = crate::testutil::add(&mut s, crate::testutil::input("Paul", "Roy"));
        // A full stamp card is a gift too.
        let stamped = crate::testutil::add(&mut s, crate::testutil::input("Zoé", "Côté"));
        for _ in 0..2 {
            s.record_sale(
                &crate::purchases::SaleInput { customer_id: stamped, amount_cents: 500, ..sale.clone() },
                None,
            )
            .unwrap();
        }
        s.redeem_stamps(stamped, 0, None).unwrap();
        let costs = s.compute_programme_return().unwrap().costs;
        assert_eq!(costs.free_rewards, 3, "every gift handed over is counted");
        let gifted = s
            .numbers_list(&crate::analytics::lists::NumbersListRequest {
                filter: crate::campaigns::segments::SegmentFilter {
                    combine: crate::campaigns::segments::Combine::All,
                    conditions: vec![crate::campaigns::segments::Condition::GiftReceivedWithin { months: 12 }],
                },
                after: None,
                limit: 50,
            })
            .unwrap();
        let mut ids: Vec<CustomerId> = gifted.items.iter().map(|i| i.customer.id).collect();
        ids.sort();
        assert_eq!(
            ids,
            [c, stamped],
            "the gifts' figure opens who received them (catalogue or stamp card), not {other}"
        );
        assert_eq!(costs.free_rewards_valued, 2, "the two coffees have a price, the workshop has none");
        assert_eq!(costs.free_rewards_value_cents, 500, "two coffees at 2.50 € at their selling price");
        assert_eq!(costs.free_rewards_at_cost_cents, None, "no margin given: no cost price");
        let mut settings = s.analytics_settings().unwrap();
        settings.margin_percent = Some(60);
        s.save_analytics_settings(&settings, None).unwrap();
        let costs = s.compute_programme_return().unwrap().costs;
        assert_eq!(costs.free_rewards_at_cost_cents, Some(200), "with a 60 % margin, 5 € of coffee cost the shop 2 €");
        let too_much = gift("Vélo", RewardKind::Partner, 1_000_001);
        assert_eq!(
            s.save_reward(None, &too_much, None).unwrap_err().code(),
            "validation",
            "a gift is worth at most 10,000 €, as a voucher"
        );
    }

    fn w(customer_id: CustomerId, before_cents: Cents, before_visits: i64, after_cents: Cents) -> Window {
        Window { customer_id, before_cents, before_visits, after_cents }
    }

    #[test]
    fn visits_before_joining_are_grouped_like_the_rfm_frequency() {
        let bands: Vec<u8> = [0, 1, 2, 3, 4, 5, 9, 10, 250].into_iter().map(visits_band).collect();
        assert_eq!(bands, [0, 0, 1, 2, 2, 3, 3, 4, 4], "1, 2, 3–4, 5–9, 10+");
    }

    #[test]
    fn the_spend_before_is_grouped_by_the_members_quarters() {
        let cuts = spend_cuts(vec![800, 100, 400, 200, 300, 600, 500, 700]);
        assert_eq!(cuts, [300, 500, 700], "eight members: two in each quarter");
        assert_eq!([100, 299, 300, 650, 700, 9_000].map(|b| spend_band(b, &cuts)), [0, 0, 1, 2, 3, 3]);
        assert_eq!(spend_cuts(vec![500; 5]), [500; 3], "members who all spent the same make one group");
        assert_eq!(spend_band(500, &[500; 3]), 3);
        assert_eq!(spend_band(499, &[500; 3]), 0);
        assert_eq!(spend_cuts(Vec::new()), [0; 3]);
    }

    #[test]
    fn members_are_compared_with_customers_who_bought_as_often_and_as_much_before() {
        // Members are big regulars. Without a card: big regulars who grew a little, and many
        // small occasional buyers who grew a lot. Compared with everyone, the programme would
        // seem to lose money; compared with their like, it brings 10 € a month.
        let members = [("2026-01-01", w(1, 60_000, 6, 72_000)), ("2026-01-01", w(2, 60_000, 6, 72_000))];
        let mut others = std::collections::BTreeMap::new();
        let mut list = vec![w(10, 60_000, 6, 66_000), w(11, 60_000, 6, 66_000)];
        list.extend((100..120).map(|id| w(id, 6_000, 1, 30_000)));
        others.insert("2026-01-01", list);
        let m = matched_before_after(&members, &others).expect("matched");
        let r = m.figures;
        assert_eq!((r.member_before_cents, r.member_after_cents), (10_000, 12_000), "per month: 100 € then 120 €");
        assert_eq!((r.other_before_cents, r.other_after_cents), (10_000, 11_000), "their like: 100 € then 110 €");
        assert_eq!(r.uplift_cents, 1_000, "the programme's part: 10 € a month, not the small buyers' growth");
        assert_eq!((r.members, r.unmatched_members, r.others), (2, 0, 2), "only the comparable customers count");
        assert_eq!((m.members, m.others), (vec![1, 2], vec![10, 11]), "the bars' lists hold the customers compared");
    }

    #[test]
    fn a_member_without_a_comparable_customer_is_left_out_and_counted() {
        let members = [
            ("2026-01-01", w(1, 6_000, 1, 6_000)),
            ("2026-01-01", w(2, 90_000, 12, 96_000)),
            ("2026-02-01", w(3, 6_000, 1, 12_000)),
        ];
        let mut others = std::collections::BTreeMap::new();
        // January: only small buyers without a card; February: none who bought before.
        others.insert("2026-01-01", vec![w(10, 6_000, 1, 3_000), w(11, 0, 0, 50_000)]);
        others.insert("2026-02-01", vec![w(11, 0, 0, 9_000)]);
        let m = matched_before_after(&members, &others).expect("one member matched");
        let r = m.figures;
        assert_eq!((r.members, r.unmatched_members), (1, 2), "the big regular and February's member have no match");
        assert_eq!(r.uplift_cents, 500, "(10 − 10) − (5 − 10) € a month for the one compared");
        assert_eq!(r.others, 1, "a customer who bought nothing before is not comparable");
        assert_eq!((m.members, m.others), (vec![1], vec![10]), "the unmatched members are in no list");
        assert!(matched_before_after(&members[2..], &others).is_none(), "nobody to compare with: no figure");
    }

    #[test]
    fn a_customer_compared_in_two_months_is_one_customer() {
        let members = [("2026-01-01", w(1, 6_000, 1, 6_000)), ("2026-02-01", w(2, 6_000, 1, 6_000))];
        let mut others = std::collections::BTreeMap::new();
        others.insert("2026-01-01", vec![w(10, 6_000, 1, 6_000)]);
        others.insert("2026-02-01", vec![w(10, 6_000, 1, 6_000), w(11, 6_000, 1, 6_000)]);
        let m = matched_before_after(&members, &others).expect("matched");
        assert_eq!(m.figures.others, 2, "customer 10 stands beside both members, and is counted once");
        assert_eq!(m.others, vec![10, 11]);
    }

    #[test]
    fn each_bar_of_the_comparison_opens_exactly_the_customers_it_averages() {
        use crate::campaigns::segments::{Combine, Condition, SegmentFilter};
        use chrono::Duration;
        let (mut s, clock) = crate::testutil::store();
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 23, 12, 0, 0).unwrap();
        clock.set(now);
        let ago = |d: i64| now - Duration::days(d);
        let people: Vec<CustomerId> = ["Léa", "Zoé", "Paul", "Anaïs"]
            .iter()
            .map(|n| crate::testutil::add(&mut s, crate::testutil::input(n, "Martin")))
            .collect();
        let (member, like, late, big) = (people[0], people[1], people[2], people[3]);
        // Léa joined 10 months ago; the others hold no card.
        s.conn()
            .execute("UPDATE cards SET issued_at = ?1 WHERE customer_id = ?2", rusqlite::params![ago(300), member])
            .unwrap();
        s.conn().execute("DELETE FROM cards WHERE customer_id <> ?1", [member]).unwrap();
        let sell = |s: &mut Store, c, cents, days| {
            let sale = crate::purchases::SaleInput {
                customer_id: c,
                amount_cents: cents,
                occurred_at: Some(ago(days)),
                note: String::new(),
                category: String::new(),
                apply: None,
            };
            s.record_sale(&sale, None).unwrap();
        };
        sell(&mut s, member, 3000, 400);
        sell(&mut s, member, 5000, 200);
        sell(&mut s, like, 3000, 390);
        sell(&mut s, like, 3500, 210);
        sell(&mut s, late, 4000, 100); // bought nothing before: not comparable
                                       // An archived customer who bought alike: not counted, as no list could show them.
        let gone = crate::testutil::add(&mut s, crate::testutil::input("Jean", "Roy"));
        s.conn().execute("DELETE FROM cards WHERE customer_id = ?1", [gone]).unwrap();
        sell(&mut s, gone, 3000, 390);
        s.archive_customer(gone, None).unwrap();
        for d in [380, 370, 360, 350, 340, 330] {
            sell(&mut s, big, 20_000, d); // bought far more often before: another group
        }
        s.refresh_insights().unwrap();
        let ba = s.insights().unwrap().unwrap().programme.before_after.expect("a comparison");
        assert_eq!((ba.members, ba.others), (1, 1), "the archived customer is not among those compared");
        let list = |member_side: bool| -> Vec<CustomerId> {
            let req = crate::analytics::lists::NumbersListRequest {
                filter: SegmentFilter {
                    combine: Combine::All,
                    conditions: vec![Condition::ProgrammeCompared { member: member_side }],
                },
                after: None,
                limit: 50,
            };
            s.numbers_list(&req).unwrap().items.iter().map(|i| i.customer.id).collect()
        };
        assert_eq!(list(true), [member], "the members' bar opens the member compared");
        assert_eq!(list(false), [like], "the other bar opens only the customer who bought alike before");
    }

    #[test]
    fn the_return_is_the_members_change_beyond_the_others_change() {
        assert_eq!(uplift(4000, 5500, 3000, 3200), 1300, "members +15 €, others +2 €: 13 € a month from the programme");
        assert_eq!(uplift(4000, 4000, 3000, 2500), 500, "holding steady while others drop is a return too");
    }
}
