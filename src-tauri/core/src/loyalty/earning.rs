//! Earning: what a sale, a refund or an action outside the till does to the ledgers.
//!
//! Invariants: a sale's earning is recorded with its explanation (`loyalty_sales`) in the
//! sale's own transaction; a refund takes back exactly what the sale earned (in proportion,
//! all of it on a full refund) and never more than the balance; a full refund gives back the
//! points, stamps and vouchers spent on the sale.

use super::ledgers::{
    carry, expire_due, insert_points, insert_stamps, stamps_balance, usable_points, PointsRefs, MAX_STAFF,
};
use super::programme::{programme, Action, TierPeriod};
use super::rules::{self, Earning, SaleFacts};
use super::tiers::{tier_now, update_tier};
use super::vouchers::undo_voucher_uses_of_sale;
use crate::customers::ensure_customer;
use crate::error::{Error, Result};
use crate::storage::{Store, Tx};
use crate::text::check_text;
use crate::types::{Cents, CustomerId, Outcome, PurchaseId};
use chrono::Local;
use rusqlite::{params, OptionalExtension};

/// Earn for a sale just recorded, inside the sale's transaction. `None` when no programme is
/// configured.
pub(crate) fn on_sale(
    tx: &Tx,
    purchase: &crate::purchases::Purchase,
    discount_cents: Cents,
) -> Result<Option<Earning>> {
    let p = programme(tx)?;
    if !p.is_active() {
        return Ok(None);
    }
    let customer = purchase.customer_id;
    expire_due(tx, &p, customer)?;
    let (tier, _) = tier_now(tx, &p, customer, tx.now, Some(purchase.id))?;
    let facts = SaleFacts {
        paid_cents: purchase.amount_cents,
        discount_cents,
        category: purchase.category.as_deref(),
        local_at: purchase.occurred_at.with_timezone(&Local).naive_local(),
    };
    let e = rules::earn(&p, &facts, carry(tx, customer)?, tier.as_ref().map(|t| (t.name.as_str(), t.percent)));
    tx.execute(
        "INSERT INTO loyalty_sales (purchase_id, customer_id, points, stamps, carry_after_cents, discount_cents, lines) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![purchase.id, customer, e.points, e.stamps, e.carry_after_cents, discount_cents, serde_json::to_string(&e.lines)?],
    )?;
    if e.points > 0 {
        let expires_at = rules::expiry_date(&p.expiry, purchase.occurred_at);
        insert_points(
            tx,
            customer,
            "earn",
            e.points,
            PointsRefs { expires_at, purchase_id: Some(purchase.id), ..Default::default() },
        )?;
    }
    if e.stamps > 0 {
        insert_stamps(tx, customer, "earn", e.stamps, Some(purchase.id), None)?;
    }
    update_tier(tx, &p, customer)?;
    Ok(Some(e))
}

/// Take back what a sale earned when it is refunded, inside the refund's transaction: points
/// in proportion (exactly all on a full refund), never more than the balance; stamps and the
/// points or vouchers spent on the sale come back only with a full refund. Every read names
/// the customer, so it goes through the customer's indexes: the ledgers have no index by
/// purchase, and a look-up by purchase alone read the whole points ledger at every full
/// refund (about 50 ms on the 100k shop, and quadratic in the demo shop's generation).
pub(crate) fn on_refund(
    tx: &Tx,
    sale_id: PurchaseId,
    sale_cents: Cents,
    refunded_before: Cents,
    refund_cents: Cents,
) -> Result<()> {
    let earned: Option<(CustomerId, i64, i64)> = tx
        .query_row("SELECT customer_id, points, stamps FROM loyalty_sales WHERE purchase_id = ?1", [sale_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((customer, points, stamps)) = earned else { return Ok(()) };
    let p = programme(tx)?;
    expire_due(tx, &p, customer)?;
    let reversed_before: i64 = -tx.query_row(
        // Through the customer's index (migration 17 dropped the one by purchase).
        "SELECT coalesce(sum(points), 0) FROM points_ledger WHERE customer_id = ?2 AND purchase_id = ?1 AND kind = 'reverse'",
        params![sale_id, customer],
        |r| r.get::<_, i64>(0),
    )?;
    let want = rules::points_to_reverse(points, sale_cents, refunded_before, refund_cents, reversed_before);
    let (usable, _) = usable_points(tx, &p, customer, tx.now)?;
    let take = want.min(usable);
    if take > 0 {
        insert_points(tx, customer, "reverse", -take, PointsRefs { purchase_id: Some(sale_id), ..Default::default() })?;
    }
    let full = refunded_before + refund_cents >= sale_cents;
    if full {
        // A stamp milestone used on this sale is given back: the claim no longer counts, and
        // the stamps a full card took come back.
        let claims: Vec<(i64, i64)> = tx
            .prepare_cached(
                "SELECT s.id, s.stamps FROM stamps_ledger s WHERE s.customer_id = ?2 AND s.purchase_id = ?1 AND s.kind = 'redeem'
                 AND NOT EXISTS (SELECT 1 FROM stamp_claim_returns x WHERE x.claim_id = s.id)",
            )?
            .query_map(params![sale_id, customer], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (claim, taken) in claims {
            tx.execute(
                "INSERT INTO stamp_claim_returns (claim_id, purchase_id, at) VALUES (?1, ?2, ?3)",
                params![claim, sale_id, tx.now],
            )?;
            if taken < 0 {
                insert_stamps(tx, customer, "adjust", -taken, Some(sale_id), None)?;
            }
        }
        let take_stamps = stamps.min(stamps_balance(tx, customer)?);
        if take_stamps > 0 {
            insert_stamps(tx, customer, "reverse", -take_stamps, Some(sale_id), None)?;
        }
        // Points spent on this sale come back.
        let mut st = tx.prepare_cached(
            "SELECT r.id, r.points FROM redemptions r WHERE r.customer_id = ?2 AND r.purchase_id = ?1
             AND NOT EXISTS (SELECT 1 FROM points_ledger l WHERE l.customer_id = ?2 AND l.redemption_id = r.id AND l.kind = 'restore')",
        )?;
        let spent: Vec<(i64, i64)> = st
            .query_map(params![sale_id, customer], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (redemption, pts) in spent {
            let expires_at = rules::expiry_date(&p.expiry, tx.now);
            insert_points(
                tx,
                customer,
                "restore",
                pts,
                PointsRefs {
                    expires_at,
                    redemption_id: Some(redemption),
                    purchase_id: Some(sale_id),
                    ..Default::default()
                },
            )?;
        }
        undo_voucher_uses_of_sale(tx, sale_id)?;
    }
    Ok(())
}

impl Store {
    /// What a sale earned, as recorded with it (`None` when no programme was in force).
    pub fn sale_earning(&self, purchase: PurchaseId) -> Result<Option<Earning>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT points, stamps, carry_after_cents, lines FROM loyalty_sales WHERE purchase_id = ?1",
                [purchase],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?)),
            )
            .optional()?
            .map(|(points, stamps, carry_after_cents, lines)| Earning {
                points,
                stamps,
                carry_after_cents,
                lines: serde_json::from_str(&lines).unwrap_or_default(),
            }))
    }

    /// Points for something that is not a purchase (a review, a survey answer…), within the
    /// programme's amount and yearly limit.
    pub fn grant_action(
        &mut self,
        customer: CustomerId,
        action: Action,
        staff: &str,
        key: Option<&str>,
    ) -> Result<Outcome<i64>> {
        let staff = check_text("staff", staff, MAX_STAFF, false)?;
        self.transact(("loyalty.action", &(customer, action, &staff)), key, |tx| {
            ensure_customer(tx, customer)?;
            let p = programme(tx)?;
            let Some(rule) = p.actions.iter().find(|a| a.action == action).cloned() else {
                return Err(Error::conflict("conflict.action_not_in_programme"));
            };
            if let Some(max) = rule.max_per_year {
                let year_start = rules::period_start(TierPeriod::CalendarYear, tx.now);
                let done: i64 = tx.query_row(
                    "SELECT count(*) FROM points_ledger WHERE customer_id = ?1 AND kind = 'action' AND action = ?2 AND at >= ?3",
                    params![customer, action.code(), year_start],
                    |r| r.get(0),
                )?;
                if done >= max {
                    return Err(Error::Conflict { key: "conflict.action_limit", args: vec![("max", max.to_string())] });
                }
            }
            expire_due(tx, &p, customer)?;
            let expires_at = rules::expiry_date(&p.expiry, tx.now);
            insert_points(tx, customer, "action", rule.points, PointsRefs { expires_at, action: Some(action.code()), staff: staff.as_deref(), ..Default::default() })?;
            update_tier(tx, &p, customer)?;
            tx.changes.customer(customer);
            Ok(rule.points)
        })
    }
}

/// Points given for something other than a sale (a referral reward), inside the caller's
/// transaction, with the programme's expiry; the tier follows. Returns the ledger entry's id.
pub(crate) fn grant_points_tx(tx: &Tx, customer: CustomerId, points: i64, action: &str, reason: &str) -> Result<i64> {
    let p = programme(tx)?;
    expire_due(tx, &p, customer)?;
    let expires_at = rules::expiry_date(&p.expiry, tx.now);
    insert_points(
        tx,
        customer,
        "action",
        points,
        PointsRefs { expires_at, action: Some(action), reason: Some(reason), ..Default::default() },
    )?;
    let id = tx.last_insert_rowid();
    update_tier(tx, &p, customer)?;
    Ok(id)
}

/// Take back up to `points` of what a customer can use now (a reward withdrawn), inside the
/// caller's transaction, as a correction entry with its reason. Never more than the usable
/// balance: what was already spent stays spent. Returns the points taken back.
pub(crate) fn take_back_points_tx(tx: &Tx, customer: CustomerId, points: i64, reason: &str) -> Result<i64> {
    let p = programme(tx)?;
    expire_due(tx, &p, customer)?;
    let (usable, _) = usable_points(tx, &p, customer, tx.now)?;
    let take = points.min(usable).max(0);
    if take > 0 {
        insert_points(tx, customer, "adjust", -take, PointsRefs { reason: Some(reason), ..Default::default() })?;
    }
    Ok(take)
}
