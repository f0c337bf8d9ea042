//! The demo shop's referrals: the reference offer, run by the real engine over the shop's
//! history. Friends are customers who joined since the offer started, each linked at the
//! moment they joined; their own purchases (and a few refunds) are replayed in time order
//! with the transaction's clock set to each moment, so statuses, rewards, slots and the
//! budget are exactly what the product would have computed. Some friends share their
//! referrer's address or use a throwaway email (flagged), a few reviews are done, some
//! vouchers are used, and one milestone ends close to running out.
//!
//! Invariants: deterministic for a given shop; written inside the demo's transaction.

use super::offer::Offer;
use super::{engine, store, versions};
use crate::error::Result;
use crate::storage::Tx;
use crate::types::{CustomerId, PurchaseId};
use chrono::{DateTime, Duration, Utc};
use rusqlite::params;

/// About one referral for 8 customers (150 in the 1,200-customer shop); one for 5 in a shop
/// of 10,000 customers or more (20,000 in the benchmark shop).
pub fn referral_count(customers: u32) -> usize {
    if customers >= 10_000 {
        customers as usize / 5
    } else {
        customers as usize / 8
    }
}

enum Event {
    Link(usize),
    Sale(PurchaseId),
    Refund(PurchaseId, i64),
}

pub(crate) fn generate(tx: &mut Tx, customers: u32) -> Result<()> {
    let now = tx.now;
    let wanted = referral_count(customers);
    if wanted == 0 {
        return Ok(());
    }
    let start = now - Duration::days(300);
    let mut offer = Offer::reference(versions::local_day(start));
    offer.friend_reward = Some(super::RewardSpec::Points { points: 100 });
    tx.execute(
        "INSERT INTO referral_offers (document, created_at) VALUES (?1, ?2)",
        params![serde_json::to_string(&offer)?, start],
    )?;
    // Friends: mostly customers who bought within a month of joining (they qualify), some who
    // did not (pending or expired), and a few who joined before the offer (outside it).
    let pick = |tx: &Tx,
                sql: &str,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                n: usize|
     -> Result<Vec<(CustomerId, DateTime<Utc>)>> {
        Ok(tx
            .prepare(sql)?
            .query_map(params![from, to, n as i64, offer.min_purchase_cents], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    };
    const BOUGHT: &str = "EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.id AND p.kind = 'sale'
        AND p.amount_cents >= ?4 AND p.occurred_at <= datetime(c.created_at, '+30 days'))";
    let buyers = pick(
        tx,
        &format!("SELECT id, created_at FROM customers c WHERE created_at > ?1 AND created_at < ?2 AND {BOUGHT} ORDER BY created_at, id LIMIT ?3"),
        start,
        now - Duration::days(1),
        wanted * 72 / 100,
    )?;
    let others = pick(
        tx,
        &format!("SELECT id, created_at FROM customers c WHERE created_at > ?1 AND created_at < ?2 AND NOT {BOUGHT} ORDER BY created_at DESC, id LIMIT ?3"),
        start,
        now - Duration::days(1),
        wanted.saturating_sub(buyers.len() + 3),
    )?;
    let before = pick(
        tx,
        "SELECT id, created_at FROM customers c WHERE created_at > ?1 AND created_at < ?2 AND ?4 >= 0 ORDER BY created_at DESC, id LIMIT ?3",
        start - Duration::days(40),
        start,
        3,
    )?;
    let mut friends: Vec<(CustomerId, DateTime<Utc>)> = buyers.into_iter().chain(others).chain(before).collect();
    friends.sort_by_key(|(id, at)| (*at, *id));
    let pool_size = (friends.len() * 2 / 7).max(1);
    let pool: Vec<CustomerId> = tx
        .prepare("SELECT id FROM customers WHERE created_at < ?1 ORDER BY id LIMIT ?2")?
        .query_map(params![start - Duration::days(40), pool_size as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if pool.is_empty() {
        return Ok(());
    }
    // Every moment something happens to a friend, in time order.
    let mut events: Vec<(DateTime<Utc>, Event)> = Vec::new();
    let mut refunded = 0usize;
    for (i, (id, created)) in friends.iter().enumerate() {
        events.push((*created, Event::Link(i)));
        let sales: Vec<(PurchaseId, DateTime<Utc>, i64, Option<PurchaseId>)> = tx
            .prepare_cached("SELECT id, occurred_at, amount_cents, refund_of FROM purchases WHERE customer_id = ?1 ORDER BY occurred_at, id")?
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut refund_one = i % 11 == 7;
        for (pid, at, cents, refund_of) in sales {
            match refund_of {
                Some(sale) => events.push((at, Event::Refund(sale, cents))),
                None => {
                    events.push((at, Event::Sale(pid)));
                    // A few friends bring back their first good purchase within the hold.
                    if refund_one && cents >= offer.min_purchase_cents && at + Duration::days(4) < now {
                        events.push((at + Duration::days(3), Event::Refund(pid, cents)));
                        refund_one = false;
                        refunded += 1;
                    }
                }
            }
        }
    }
    events.sort_by_key(|(at, e)| (*at, matches!(e, Event::Link(_)) as u8 ^ 1));
    let mut day = None;
    let mut done_friends: Vec<CustomerId> = Vec::new();
    for (at, e) in events {
        tx.now = at;
        if day != Some(at.date_naive()) {
            day = Some(at.date_naive());
            engine::process_due(tx, 100_000)?;
        }
        match e {
            Event::Link(i) => {
                let (friend, _) = friends[i];
                // The last tenth are referred by earlier friends: who referred whom goes deep.
                let referrer =
                    if i >= friends.len() * 9 / 10 && i >= 10 { friends[i - 10].0 } else { pool[i % pool.len()] };
                if i % 29 == 3 {
                    // Lives with their referrer: flagged for review.
                    tx.execute(
                        "UPDATE customers SET address_line1 = r.address_line1, postcode = r.postcode, city = r.city, country = r.country
                         FROM customers r WHERE customers.id = ?1 AND r.id = ?2",
                        params![friend, referrer],
                    )?;
                } else if i % 37 == 5 {
                    let email = format!("demo{friend}@{}", super::fraud::RESERVED_THROWAWAY);
                    tx.execute(
                        "UPDATE customers SET email = ?2, email_norm = ?2 WHERE id = ?1",
                        params![friend, email],
                    )?;
                }
                let staff = ["Marie", "Karim", "Élodie"][i % 3];
                // A referral the checks refuse (it cannot happen here) is simply not made.
                let _ =
                    store::create(tx, friend, referrer, if i % 4 == 0 { "card" } else { "code" }, Some(staff), None);
                done_friends.push(friend);
            }
            Event::Sale(pid) => {
                let p = crate::purchases::purchase_tx(tx, pid)?;
                engine::on_sale(tx, &p)?;
            }
            Event::Refund(sale, cents) => {
                let (sold, already): (i64, i64) = tx.query_row(
                    "SELECT p.amount_cents, (SELECT coalesce(sum(r.amount_cents), 0) FROM purchases r WHERE r.refund_of = p.id)
                     FROM purchases p WHERE p.id = ?1",
                    [sale],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let is_new = already == 0 && cents == sold && !refund_exists_at(tx, sale, at)?;
                if is_new {
                    // A refund added by the demo: written as the till writes it.
                    let (customer, category): (CustomerId, Option<String>) =
                        tx.query_row("SELECT customer_id, category FROM purchases WHERE id = ?1", [sale], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })?;
                    tx.execute(
                        "INSERT INTO purchases (customer_id, kind, amount_cents, occurred_at, recorded_at, category, refund_of) VALUES (?1, 'refund', ?2, ?3, ?3, ?4, ?5)",
                        params![customer, cents, at, category, sale],
                    )?;
                    crate::loyalty::on_refund(tx, sale, sold, 0, cents)?;
                    crate::purchases::refresh_figures(tx, customer)?;
                }
                let left = sold - if is_new { cents } else { already };
                engine::on_refund(tx, sale, left)?;
            }
        }
    }
    tx.now = now - Duration::days(1);
    engine::process_due(tx, 1_000_000)?;
    // Reviews: most households are approved, one is rejected, the rest wait in the queue.
    let flagged: Vec<i64> = tx
        .prepare(
            "SELECT id FROM referrals WHERE review = 'flagged' AND status IN ('pending', 'qualified') ORDER BY id",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for (k, id) in flagged.iter().enumerate() {
        if k + 3 >= flagged.len() {
            break;
        }
        let r = engine::load(tx, *id)?;
        if k == 0 {
            engine::end(
                tx,
                *id,
                "rejected",
                "rejected_in_review",
                Some("Même personne, deux fiches"),
                Some("Marie"),
                true,
            )?;
        } else {
            tx.execute("UPDATE referrals SET review = 'cleared' WHERE id = ?1", [id])?;
            let who = super::grants::EventFor { referral: Some(*id), referrer: r.referrer, friend: Some(r.friend) };
            super::grants::event(
                tx,
                &who,
                "cleared",
                None,
                Some("Même foyer, vérifié"),
                Some("Marie"),
                serde_json::json!({}),
            )?;
            if r.status == "qualified" {
                engine::give_friend_reward(tx, *id)?;
                if r.hold_until.is_some_and(|h| h <= tx.now) {
                    engine::approve(tx, *id)?;
                }
            }
        }
    }
    // Half the vouchers given were used a few days later.
    let vouchers: Vec<(String, CustomerId, DateTime<Utc>)> = tx
        .prepare(
            "SELECT v.code, v.customer_id, v.issued_at FROM referral_rewards g JOIN vouchers v ON v.id = g.voucher_id
             WHERE g.id % 2 = 0 ORDER BY g.id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (code, customer, issued) in vouchers {
        tx.now = (issued + Duration::days(2)).min(now);
        let _ = crate::loyalty::use_voucher_tx(tx, &code, Some(customer), None);
    }
    tx.now = now;
    engine::process_due(tx, 1_000_000)?;
    // The merchant narrowed the €5 places so that only a few remain: the notice says so.
    let period = offer.period_start().to_string();
    let taken = super::grants::slots_taken(tx, &period, 1)?;
    if taken > 0 && taken + 4 < 50 {
        offer.milestones[0].slots = Some(taken + 4);
        tx.execute(
            "INSERT INTO referral_offers (document, created_at) VALUES (?1, ?2)",
            params![serde_json::to_string(&offer)?, now - Duration::days(2)],
        )?;
    }
    tracing::debug!(referrals = done_friends.len(), refunded, "demo referrals");
    Ok(())
}

fn refund_exists_at(tx: &Tx, sale: PurchaseId, at: DateTime<Utc>) -> Result<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM purchases WHERE refund_of = ?1 AND occurred_at = ?2")?
        .exists(params![sale, at])?)
}
