//! Three years of a shop's life, day by day, for the demo: sales that follow the week (busy
//! Saturdays, quiet Sundays) and the year (December peak, August dip) and grow with the shop,
//! customers who come at their own pace and stop coming one day, members who earn points and
//! stamps once they hold a card, use rewards and lose their points after a year away, refunds,
//! three campaigns sent with a control group (the recipients buy a little more), and
//! satisfaction answers at the till with their follow-ups. Written with plain SQL inside the
//! demo's transaction, deterministic for a seed.

use super::{DemoCustomer, CATEGORIES};
use crate::error::Result;
use crate::loyalty::rules::{self, SaleFacts};
use crate::loyalty::Programme;
use crate::storage::Tx;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rusqlite::params;
use std::collections::BTreeMap;

pub(super) struct Made {
    pub sales: u32,
    pub refunds: u32,
}

/// The reward the demo's members use most: 10 % off a purchase for 800 points.
const PERCENT_REWARD: (i64, i64) = (3, 800);
/// A tote bag for 300 points, handed over (no price).
const FREE_REWARD: (i64, i64) = (1, 300);

const CAMPAIGNS: &[(i64, &str)] =
    &[(610, "Les soldes d'hiver"), (250, "La fête des mères"), (40, "Nos nouveautés d'automne")];

/// Comments of promoters, passives and detractors, in French and in English.
const COMMENTS: [[&[&str]; 3]; 2] = [
    [
        &[
            "Accueil toujours chaleureux, merci !",
            "Très bons conseils, on sent la passion.",
            "Produits frais et de qualité.",
            "J'adore la carte de fidélité, les points arrivent vite.",
        ],
        &["Bien, mais un peu cher.", "Parfois de l'attente le samedi.", "Choix correct."],
        &[
            "Trop d'attente à la caisse le samedi.",
            "Les prix ont beaucoup augmenté.",
            "Rupture de stock sur mes produits habituels.",
            "Horaires pas pratiques, fermé le lundi midi.",
        ],
    ],
    [
        &["Great advice and a lovely shop.", "Friendly staff, always a pleasure."],
        &["Good, but a bit expensive."],
        &["Staff was not very friendly.", "Long wait at the till on Saturdays."],
    ],
];

/// How busy a day is, before the number of customers: the week and the season.
fn day_factor(d: NaiveDate) -> f64 {
    let week = match d.weekday() {
        Weekday::Mon => 0.7,
        Weekday::Tue => 0.9,
        Weekday::Wed | Weekday::Thu => 1.0,
        Weekday::Fri => 1.2,
        Weekday::Sat => 1.6,
        Weekday::Sun => 0.4,
    };
    let season = [0.8, 0.8, 0.9, 1.0, 1.05, 1.0, 0.85, 0.7, 1.0, 1.0, 1.15, 1.6][d.month0() as usize];
    week * season
}

fn token(rng: &mut ChaCha8Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// A member's running loyalty state while the days go by.
#[derive(Default, Clone)]
struct Loyal {
    points: i64,
    stamps: i64,
    carry: i64,
    last_visit: Option<DateTime<Utc>>,
    answered: bool,
}

pub(super) fn generate(
    tx: &Tx,
    rng: &mut ChaCha8Rng,
    people: &[DemoCustomer],
    purchases: u32,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    programme: &Programme,
) -> Result<Made> {
    for (name, kind, cost, value) in [
        ("Tote bag de la boutique", "free_product", 300, 800),
        ("Bon d'achat de 5 €", "voucher", 500, 500),
        ("-10 % sur un achat", "percent_discount", 800, 10),
    ] {
        tx.execute(
            "INSERT INTO rewards (name, kind, points_cost, value, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![name, kind, cost, value, start],
        )?;
    }
    let (first_day, last_day) = (start.date_naive(), now.date_naive());
    let days = (last_day - first_day).num_days() as usize + 1;
    let day_of = |t: DateTime<Utc>| ((t.date_naive() - first_day).num_days().max(0) as usize).min(days);
    // How much buying weight is in the shop each day: customers come, then go.
    let mut delta = vec![0f64; days + 1];
    for p in people {
        delta[day_of(p.created)] += p.weight;
        delta[day_of(p.until)] -= p.weight;
    }
    let mut mass = 0.0;
    let busy: Vec<f64> = (0..days)
        .map(|i| {
            mass += delta[i];
            mass.max(0.0) * day_factor(first_day + Duration::days(i as i64))
        })
        .collect();
    let total: f64 = busy.iter().sum();
    // Purchases per day in proportion, the remainder to the days with the largest fractions.
    let mut counts: Vec<usize> = vec![0; days];
    if total > 0.0 {
        let exact: Vec<f64> = busy.iter().map(|b| b / total * f64::from(purchases)).collect();
        for (c, e) in counts.iter_mut().zip(&exact) {
            *c = e.floor() as usize;
        }
        let mut order: Vec<usize> = (0..days).collect();
        order
            .sort_by(|a, b| (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor())).then(a.cmp(b)));
        let missing = purchases as usize - counts.iter().sum::<usize>();
        for i in order.into_iter().take(missing) {
            counts[i] += 1;
        }
    }
    let mut cumulative = Vec::with_capacity(people.len());
    let mut acc = 0.0;
    for p in people {
        acc += p.weight;
        cumulative.push(acc);
    }
    let mut st_sale = tx.prepare(
        "INSERT INTO purchases (customer_id, kind, amount_cents, occurred_at, recorded_at, category) VALUES (?1, 'sale', ?2, ?3, ?3, ?4)",
    )?;
    let mut st_refund = tx.prepare(
        "INSERT INTO purchases (customer_id, kind, amount_cents, occurred_at, recorded_at, category, refund_of) VALUES (?1, 'refund', ?2, ?3, ?3, ?4, ?5)",
    )?;
    let mut st_loyalty = tx.prepare(
        "INSERT INTO loyalty_sales (purchase_id, customer_id, points, stamps, carry_after_cents, discount_cents, lines) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut st_points = tx.prepare(
        "INSERT INTO points_ledger (customer_id, at, kind, points, purchase_id, redemption_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut st_redeem = tx.prepare(
        "INSERT INTO redemptions (customer_id, reward_id, points, purchase_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut st_stamp = tx.prepare("INSERT INTO stamps_ledger (customer_id, at, kind, stamps, purchase_id, milestone) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    let mut st_answer = tx.prepare(
        "INSERT INTO nps_answers (customer_id, score, comment, channel, answered_at, recorded_at) VALUES (?1, ?2, ?3, 'till', ?4, ?4)",
    )?;
    let mut st_followup =
        tx.prepare("INSERT INTO nps_followups (answer_id, customer_id, created_at, done_at, done_note) VALUES (?1, ?2, ?3, ?4, ?5)")?;
    let card = programme.stamps.as_ref().and_then(|s| s.milestones.last().map(|m| m.stamps)).unwrap_or(0);
    let last_milestone = programme.stamps.as_ref().map(|s| s.milestones.len() as i64 - 1).unwrap_or(0);
    let mut loyal: Vec<Loyal> = vec![Loyal::default(); people.len()];
    // Extra purchases a campaign brings, by day.
    let mut extra: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let campaign_days: BTreeMap<usize, &str> = CAMPAIGNS
        .iter()
        .filter(|(ago, _)| now - Duration::days(*ago) > start)
        .map(|(ago, name)| (day_of(now - Duration::days(*ago)), *name))
        .collect();
    let template = crate::campaigns::render::templates(crate::types::Lang::Fr).remove(0).content;
    let (mut sales, mut refunds) = (0u32, 0u32);
    for (day, count) in counts.iter().enumerate() {
        let date = first_day + Duration::days(day as i64);
        let opening = date.and_hms_opt(8, 0, 0).expect("8 o'clock").and_utc();
        if let Some(name) = campaign_days.get(&day) {
            send_campaign(tx, rng, people, name, opening + Duration::hours(9), &template, day, days, &mut extra)?;
        }
        let known = people.partition_point(|p| p.created < opening + Duration::days(1));
        if known == 0 {
            continue;
        }
        let mut buyers: Vec<usize> = extra.remove(&day).unwrap_or_default();
        for _ in 0..*count {
            let mut pick = 0;
            for _ in 0..30 {
                let u: f64 = rng.random::<f64>() * cumulative[known - 1];
                pick = cumulative.partition_point(|c| *c < u).min(known - 1);
                if people[pick].until > opening {
                    break;
                }
            }
            buyers.push(pick);
        }
        for idx in buyers {
            let p = &people[idx];
            let at = (opening + Duration::minutes(rng.random_range(0..600))).max(p.created).min(now);
            let customer = idx as i64 + 1;
            let base: f64 = rng.random_range(3.0..40.0) * if date.month() == 12 { 1.3 } else { 1.0 };
            let amount = if rng.random_bool(0.1) { base * rng.random_range(2.0..6.0) } else { base };
            let cents = (amount * 100.0).round() as i64;
            let category = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
            let member = p.joined.is_some_and(|j| j <= at);
            let l = &mut loyal[idx];
            // A year away: the member's points expired on the anniversary of their last visit.
            if let Some(last) = l.last_visit {
                if member && l.points > 0 && last + Duration::days(365) <= at {
                    st_points.execute(params![
                        customer,
                        last + Duration::days(365),
                        "expire",
                        -l.points,
                        None::<i64>,
                        None::<i64>
                    ])?;
                    l.points = 0;
                }
            }
            // Members use a reward now and then: 10 % off, or the tote bag.
            let use_percent = member && l.points >= 1_800 && cents >= 1_500 && rng.random_bool(0.25);
            let use_free = !use_percent && member && l.points >= 1_300 && rng.random_bool(0.03);
            let discount = if use_percent { cents / 10 } else { 0 };
            let paid = cents - discount;
            st_sale.execute(params![customer, paid, at, category])?;
            let sale_id = tx.last_insert_rowid();
            sales += 1;
            if member {
                for (used, (reward, cost)) in [(use_percent, PERCENT_REWARD), (use_free, FREE_REWARD)] {
                    if used {
                        st_redeem.execute(params![customer, reward, cost, sale_id, at])?;
                        let redemption = tx.last_insert_rowid();
                        st_points.execute(params![customer, at, "redeem", -cost, sale_id, redemption])?;
                        l.points -= cost;
                    }
                }
                let facts = SaleFacts {
                    paid_cents: paid,
                    discount_cents: discount,
                    category: Some(category),
                    local_at: at.naive_utc(),
                };
                let earned = rules::earn(programme, &facts, l.carry, None);
                l.carry = earned.carry_after_cents;
                st_loyalty.execute(params![
                    sale_id,
                    customer,
                    earned.points,
                    earned.stamps,
                    earned.carry_after_cents,
                    discount,
                    serde_json::to_string(&earned.lines)?
                ])?;
                if earned.points > 0 {
                    st_points.execute(params![customer, at, "earn", earned.points, sale_id, None::<i64>])?;
                    l.points += earned.points;
                }
                st_stamp.execute(params![customer, at, "earn", 1, sale_id, None::<i64>])?;
                l.stamps += 1;
                // Regulars take their free coffee when the card is full.
                if card > 0 && l.stamps >= card {
                    st_stamp.execute(params![customer, at, "redeem", -card, None::<i64>, last_milestone])?;
                    l.stamps -= card;
                }
            }
            l.last_visit = Some(at);
            if rng.random_bool(0.02) {
                let back = (at + Duration::days(rng.random_range(0..14))).min(now);
                let part = if rng.random_bool(0.5) { paid } else { (paid / 2).max(1) };
                st_refund.execute(params![customer, part, back, category, sale_id])?;
                refunds += 1;
                if member {
                    let earned_points =
                        tx.query_row("SELECT points FROM loyalty_sales WHERE purchase_id = ?1", [sale_id], |r| {
                            r.get::<_, i64>(0)
                        })?;
                    let back_points = rules::points_to_reverse(earned_points, paid, 0, part, 0).min(l.points);
                    if back_points > 0 {
                        st_points.execute(params![customer, back, "reverse", -back_points, sale_id, None::<i64>])?;
                        l.points -= back_points;
                    }
                    if part == paid && l.stamps > 0 {
                        st_stamp.execute(params![customer, back, "reverse", -1, sale_id, None::<i64>])?;
                        l.stamps -= 1;
                    }
                }
            }
            // In the last year, a few customers answer the satisfaction question at the till.
            if !l.answered && now - at < Duration::days(365) && rng.random_bool(0.012) {
                l.answered = true;
                let happy = (p.weight / 10.0).min(1.0);
                let roll: f64 = rng.random::<f64>() * 0.8 + happy * 0.2;
                let score: u8 = if roll > 0.42 {
                    rng.random_range(9..=10)
                } else if roll > 0.2 {
                    rng.random_range(7..=8)
                } else {
                    rng.random_range(0..=6)
                };
                let comments = COMMENTS[usize::from(p.english)][match score {
                    9.. => 0,
                    7 | 8 => 1,
                    _ => 2,
                }];
                let comment = rng.random_bool(0.5).then(|| comments[rng.random_range(0..comments.len())]);
                st_answer.execute(params![customer, score, comment, at])?;
                if score <= 6 {
                    let answer = tx.last_insert_rowid();
                    let done = (now - at > Duration::days(120)).then(|| at + Duration::days(3));
                    st_followup.execute(params![
                        answer,
                        customer,
                        at,
                        done,
                        done.map(|_| "Rappelé(e), geste commercial offert")
                    ])?;
                }
            }
        }
    }
    // Members away for a year lose their points on the anniversary of their last visit.
    for (idx, l) in loyal.iter().enumerate() {
        if let Some(last) = l.last_visit {
            if l.points > 0 && last + Duration::days(365) <= now {
                st_points.execute(params![
                    idx as i64 + 1,
                    last + Duration::days(365),
                    "expire",
                    -l.points,
                    None::<i64>,
                    None::<i64>
                ])?;
            }
        }
    }
    Ok(Made { sales, refunds })
}

/// A campaign sent on `at` to everyone reachable, 15 % held out as a control group; about 12 %
/// of the recipients come to buy in the two weeks after (on top of their usual visits).
#[allow(clippy::too_many_arguments)]
fn send_campaign(
    tx: &Tx,
    rng: &mut ChaCha8Rng,
    people: &[DemoCustomer],
    name: &str,
    at: DateTime<Utc>,
    template: &crate::campaigns::MessageContent,
    day: usize,
    days: usize,
    extra: &mut BTreeMap<usize, Vec<usize>>,
) -> Result<()> {
    let audience = crate::campaigns::Audience { control_percent: 15, ..Default::default() };
    let content = crate::campaigns::CampaignContent {
        a: crate::campaigns::MessageContent { subject: name.to_string(), ..template.clone() },
        b: None,
    };
    tx.execute(
        "INSERT INTO campaigns (name, state, content, audience, started_at, finished_at, created_at, updated_at)
         VALUES (?1, 'finished', ?2, ?3, ?4, ?5, ?4, ?5)",
        params![name, serde_json::to_string(&content)?, serde_json::to_string(&audience)?, at, at + Duration::hours(2)],
    )?;
    let campaign = tx.last_insert_rowid();
    let mut st = tx.prepare(
        "INSERT INTO campaign_recipients (campaign_id, customer_id, email, grp, state, token, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (idx, p) in people.iter().enumerate().filter(|(_, p)| p.created < at) {
        let Some(email) = &p.reachable else { continue };
        let control = rng.random_bool(0.15);
        let (grp, state, sent) = if control { ("control", "control", None) } else { ("main", "sent", Some(at)) };
        st.execute(params![campaign, idx as i64 + 1, email, grp, state, token(rng), sent])?;
        if !control && p.until > at && rng.random_bool(0.12) {
            let when = (day + rng.random_range(0..14)).min(days - 1);
            extra.entry(when).or_default().push(idx);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::analytics::calendar::Grain;
    use crate::analytics::dashboard::DashboardRequest;
    use crate::demo::DemoSpec;
    use crate::testutil::store;

    /// The demo shop gives the dashboard something to say: seasons, members, rewards used,
    /// campaigns against their control groups, satisfaction answers, points that expired.
    #[test]
    fn the_demo_shops_figures_make_sense_on_the_dashboard() {
        let (mut s, _) = store();
        s.generate_demo(DemoSpec::explore()).unwrap();
        s.refresh_days().unwrap();
        s.refresh_scores().unwrap();
        let insights = s.refresh_insights().unwrap();
        let d = s.dashboard(&DashboardRequest { grain: Grain::Month, until: None }).unwrap();
        let month = |m: u32| {
            d.series.iter().find(|b| b.period.from.format("%m").to_string() == format!("{m:02}")).unwrap().totals
        };
        assert!(
            month(12).revenue_cents > month(8).revenue_cents * 3 / 2,
            "December is the busy month, August the quiet one"
        );
        let share = d.current.member_share_permille.unwrap();
        assert!((500..=980).contains(&share), "members bring most of the revenue, not all: {share} ‰");
        assert!(d.current.new_customers > 0 && d.current.returning_customers > d.current.new_customers);
        let p = &insights.programme;
        assert!(p.costs.discounts_cents > 0 && p.costs.milestones > 0, "rewards were used: {:?}", p.costs);
        assert!(p.breakage.expired_points > 0, "points of customers gone for a year expired");
        assert_eq!(insights.campaigns.len(), 3, "three campaigns sent");
        let uplifts: Vec<_> = insights.campaigns.iter().map(|c| c.results.uplift.expect("a control group")).collect();
        let extra: i64 = uplifts.iter().map(|u| u.extra_buyers).sum();
        assert!(extra > 0, "the recipients bought more than the control groups: {uplifts:?}");
        assert!(d.nps.answers >= 30 && !d.nps.indicative, "{} answers", d.nps.answers);
        assert!(!s.nps_summary(12).unwrap().open_followups.is_empty(), "recent detractors wait for a call back");
        assert!(!insights.nps_themes.is_empty(), "comments sorted by theme");
        let scores = d.scores.unwrap();
        assert!(scores.segments.iter().filter(|c| c.customers > 0).count() >= 8, "most segments are populated");
        assert!(scores.churn.iter().all(|c| c.customers > 0), "some customers at each level of risk");
        assert!(s.integrity_check().unwrap());
    }
}
