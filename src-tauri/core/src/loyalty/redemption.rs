//! Redemption (burning points): a reward from the catalogue, points as a discount, a stamp-card
//! milestone, or a voucher, alone or applied to a sale at the till.
//!
//! Invariants: never more than the usable balance is spent (checked inside `BEGIN IMMEDIATE`,
//! so two redemptions racing for the same points: the second finds them gone); a redemption
//! is an append-only `redemptions` row with its `redeem` ledger entry; an intermediate stamp
//! milestone is claimed once per card, the last one takes the full card.

use super::catalogue::{check_reward_available, reward, RewardKind};
use super::ledgers::{claimed_milestones, expire_due, insert_points, stamps_balance, usable_points, PointsRefs};
use super::programme::programme;
use super::rules;
use super::vouchers::{issue_voucher_tx, use_voucher_tx, voucher_by_code, Voucher, VoucherKind};
use crate::customers::ensure_customer;
use crate::error::{Error, Result};
use crate::storage::{Store, Tx};
use crate::types::{Cents, CustomerId, Outcome, PurchaseId};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What the customer uses on a sale at the till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Apply {
    /// A catalogue reward, paid with its points.
    Reward { reward_id: i64 },
    /// A voucher, by its code.
    Voucher { code: String },
    /// Points of the balance, as a discount at the programme's rate.
    Points { points: i64 },
    /// A stamp-card milestone (the free product is handed over).
    Milestone { milestone: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RedeemRequest {
    pub customer_id: CustomerId,
    /// A catalogue reward; or `None` to spend `points` as a discount.
    pub reward_id: Option<i64>,
    pub points: Option<i64>,
    /// The sale it is used on, if any (a full refund of that sale gives the points back).
    pub purchase_id: Option<PurchaseId>,
}

/// A redemption's result: the points spent and what the customer gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Redemption {
    pub id: i64,
    pub points: i64,
    /// The discount to apply to the sale, in cents (0 for a product or an experience).
    pub discount_cents: Cents,
    pub voucher: Option<Voucher>,
}

/// The discount `apply` gives on a ticket of `total` for `customer` (no write; the checks
/// run when it is applied).
pub(crate) fn discount_for(tx: &Tx, customer: CustomerId, apply: &Apply, total: Cents) -> Result<Cents> {
    use RewardKind;
    Ok(match apply {
        Apply::Reward { reward_id } => {
            let r = reward(tx, *reward_id)?;
            match r.kind {
                RewardKind::FixedDiscount => rules::discount_cents(false, r.value, total),
                RewardKind::PercentDiscount => rules::discount_cents(true, r.value, total),
                _ => 0,
            }
        }
        Apply::Voucher { code } => {
            let v = voucher_by_code(tx, code)?;
            if v.customer_id.is_some_and(|c| c != customer) {
                return Err(Error::conflict("conflict.voucher_other_customer"));
            }
            match v.kind {
                // A voucher is used once: worth more than the ticket, the rest would be lost.
                VoucherKind::Amount if v.value > total => return Err(Error::conflict("conflict.voucher_exceeds_sale")),
                VoucherKind::Amount => rules::discount_cents(false, v.value, total),
                VoucherKind::Percent => rules::discount_cents(true, v.value, total),
                // A gift is handed over with the sale: nothing comes off the ticket.
                VoucherKind::Gift => 0,
            }
        }
        Apply::Points { points } => rules::liability_cents(*points, programme(tx)?.value_of_100_points_cents),
        Apply::Milestone { .. } => 0,
    })
}

/// Spend what `apply` names on the sale `purchase`, inside the sale's transaction.
pub(crate) fn apply_to_sale(
    tx: &mut Tx,
    customer: CustomerId,
    purchase: PurchaseId,
    apply: &Apply,
    total: Cents,
) -> Result<()> {
    match apply {
        Apply::Reward { reward_id } => {
            let req = RedeemRequest {
                customer_id: customer,
                reward_id: Some(*reward_id),
                points: None,
                purchase_id: Some(purchase),
            };
            redeem_tx(tx, &req, Some(total))?;
        }
        Apply::Points { points } => {
            let req = RedeemRequest {
                customer_id: customer,
                reward_id: None,
                points: Some(*points),
                purchase_id: Some(purchase),
            };
            redeem_tx(tx, &req, Some(total))?;
        }
        Apply::Voucher { code } => {
            use_voucher_tx(tx, code, Some(customer), Some(purchase))?;
        }
        Apply::Milestone { milestone } => {
            redeem_stamps_tx(tx, customer, *milestone as usize, Some(purchase))?;
        }
    }
    Ok(())
}

/// Spend points on a reward or as a discount (see `Store::redeem`); `sale_total` is the ticket
/// it is applied to, when there is one, for a percentage discount.
pub(crate) fn redeem_tx(tx: &mut Tx, req: &RedeemRequest, sale_total: Option<Cents>) -> Result<Redemption> {
    redeem_by(tx, req, sale_total, None)
}

/// `redeem_tx`, naming the staff member who gave it (a reward given from the customer page).
fn redeem_by(tx: &mut Tx, req: &RedeemRequest, sale_total: Option<Cents>, staff: Option<&str>) -> Result<Redemption> {
    ensure_customer(tx, req.customer_id)?;
    let p = programme(tx)?;
    expire_due(tx, &p, req.customer_id)?;
    let (usable, _) = usable_points(tx, &p, req.customer_id, tx.now)?;
    let (reward, cost) = match req.reward_id {
        Some(id) => {
            let r = reward(tx, id)?;
            check_reward_available(tx, &r, req.customer_id, tx.now)?;
            let cost = r.points_cost;
            (Some(r), cost)
        }
        None => match req.points {
            Some(n) if n > 0 => (None, n),
            _ => return Err(Error::invalid("points", "field.loyalty_points_invalid")),
        },
    };
    if cost > usable {
        return Err(Error::Conflict { key: "conflict.not_enough_points", args: vec![("balance", usable.to_string())] });
    }
    if let Some(purchase) = req.purchase_id {
        let owner: Option<CustomerId> =
            tx.query_row("SELECT customer_id FROM purchases WHERE id = ?1", [purchase], |r| r.get(0)).optional()?;
        if owner != Some(req.customer_id) {
            return Err(Error::not_found("sale", purchase));
        }
    }
    tx.execute(
        "INSERT INTO redemptions (customer_id, reward_id, points, purchase_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![req.customer_id, reward.as_ref().map(|r| r.id), cost, req.purchase_id, tx.now],
    )?;
    let redemption = tx.last_insert_rowid();
    insert_points(
        tx,
        req.customer_id,
        "redeem",
        -cost,
        PointsRefs {
            redemption_id: Some(redemption),
            purchase_id: req.purchase_id,
            // The ledger says which reward the points went on.
            reason: reward.as_ref().map(|r| r.name.as_str()),
            staff,
            ..Default::default()
        },
    )?;
    let (discount_cents, voucher) = match &reward {
        None => (rules::liability_cents(cost, p.value_of_100_points_cents), None),
        Some(r) => match r.kind {
            RewardKind::FixedDiscount => (rules::discount_cents(false, r.value, sale_total.unwrap_or(r.value)), None),
            RewardKind::PercentDiscount => {
                (sale_total.map(|t| rules::discount_cents(true, r.value, t)).unwrap_or(0), None)
            }
            RewardKind::Voucher => {
                let v = issue_voucher_tx(
                    tx,
                    Some(req.customer_id),
                    VoucherKind::Amount,
                    r.value,
                    tx.now + chrono::Duration::days(r.voucher_days),
                    "reward",
                    Some(&r.name),
                    None,
                )?;
                tx.execute("UPDATE redemptions SET voucher_id = ?1 WHERE id = ?2", params![v.id, redemption])?;
                (0, Some(v))
            }
            _ => (0, None),
        },
    };
    tx.changes.customer(req.customer_id);
    Ok(Redemption { id: redemption, points: cost, discount_cents, voucher })
}

/// Use a stamp-card milestone (see `Store::redeem_stamps`).
pub(crate) fn redeem_stamps_tx(
    tx: &mut Tx,
    customer: CustomerId,
    milestone: usize,
    purchase: Option<PurchaseId>,
) -> Result<i64> {
    ensure_customer(tx, customer)?;
    let p = programme(tx)?;
    let Some(rule) = &p.stamps else { return Err(Error::conflict("conflict.no_stamp_card")) };
    let Some(m) = rule.milestones.get(milestone) else {
        return Err(Error::invalid("milestone", "field.loyalty_milestones"));
    };
    let balance = stamps_balance(tx, customer)?;
    if balance < m.stamps {
        return Err(Error::Conflict { key: "conflict.not_enough_stamps", args: vec![("stamps", balance.to_string())] });
    }
    let last = rule.milestones.len() - 1;
    if milestone < last && claimed_milestones(tx, customer, last)?.contains(&milestone) {
        return Err(Error::conflict("conflict.milestone_claimed"));
    }
    let taken = if milestone == last { -m.stamps } else { 0 };
    tx.execute(
        "INSERT INTO stamps_ledger (customer_id, at, kind, stamps, milestone, purchase_id) VALUES (?1, ?2, 'redeem', ?3, ?4, ?5)",
        params![customer, tx.now, taken, milestone as i64, purchase],
    )?;
    tx.changes.customer(customer);
    Ok(balance + taken)
}

impl Store {
    /// Spend points: on a catalogue reward (its cost), or, with no reward, `points` of the
    /// balance as a discount at the programme's rate. Never more than the customer has; two
    /// redemptions racing for the same points: the second finds them gone.
    pub fn redeem(&mut self, req: &RedeemRequest, key: Option<&str>) -> Result<Outcome<Redemption>> {
        self.transact(("loyalty.redeem", req), key, |tx| redeem_tx(tx, req, None))
    }

    /// Give a catalogue reward that is not a discount (a product, an experience, a partner's
    /// gift, a voucher for later) from the customer page, without a sale: its points are spent
    /// like at the till, the ledger entry names the reward and the staff member. A discount
    /// needs a ticket and is refused here. Idempotent on `key`: a double click gives it once.
    pub fn give_reward(
        &mut self,
        customer: CustomerId,
        reward_id: i64,
        staff: &str,
        key: Option<&str>,
    ) -> Result<Outcome<Redemption>> {
        let staff = crate::text::check_text("staff", staff, super::ledgers::MAX_STAFF, false)?;
        self.transact(("loyalty.reward.give", &(customer, reward_id, &staff)), key, |tx| {
            let r = reward(tx, reward_id)?;
            if r.kind.needs_sale() {
                return Err(Error::conflict("conflict.reward_needs_sale"));
            }
            let req =
                RedeemRequest { customer_id: customer, reward_id: Some(reward_id), points: None, purchase_id: None };
            redeem_by(tx, &req, None, staff.as_deref())
        })
    }

    /// Use a stamp-card milestone: an intermediate one once per card, the last one takes the
    /// full card (extra stamps stay for the next card).
    pub fn redeem_stamps(&mut self, customer: CustomerId, milestone: usize, key: Option<&str>) -> Result<Outcome<i64>> {
        self.transact(("loyalty.stamps.redeem", &(customer, milestone)), key, |tx| {
            redeem_stamps_tx(tx, customer, milestone, None)
        })
    }
}
