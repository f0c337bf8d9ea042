//! The reward catalogue: what customers can spend their points on (a discount, a free
//! product, a voucher, an experience, a partner's gift), with its stock, per-customer limit and
//! validity window. A reward is edited in place (its redemptions and gift vouchers keep what
//! they gave); its stock counts the redemptions and the gift vouchers not cancelled.

use crate::error::{Error, FieldError, Problems, Result};
use crate::storage::Store;
use crate::types::{CustomerId, Outcome};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    FixedDiscount,
    PercentDiscount,
    FreeProduct,
    Voucher,
    Experience,
    Partner,
}

impl RewardKind {
    const ALL: [RewardKind; 6] = [
        RewardKind::FixedDiscount,
        RewardKind::PercentDiscount,
        RewardKind::FreeProduct,
        RewardKind::Voucher,
        RewardKind::Experience,
        RewardKind::Partner,
    ];
    pub fn code(self) -> &'static str {
        match self {
            RewardKind::FixedDiscount => "fixed_discount",
            RewardKind::PercentDiscount => "percent_discount",
            RewardKind::FreeProduct => "free_product",
            RewardKind::Voucher => "voucher",
            RewardKind::Experience => "experience",
            RewardKind::Partner => "partner",
        }
    }
    /// Rule: a discount lowers a ticket, so it is used on a sale at the till; the other
    /// rewards (a product, an experience, a partner's gift, a voucher for later) can also be
    /// given from the customer page without a sale.
    pub fn needs_sale(self) -> bool {
        matches!(self, RewardKind::FixedDiscount | RewardKind::PercentDiscount)
    }

    /// Rule: a product, an experience or a partner's gift is handed over, never money off;
    /// given as a referral reward it is held as a gift voucher.
    pub fn is_gift(self) -> bool {
        matches!(self, RewardKind::FreeProduct | RewardKind::Experience | RewardKind::Partner)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RewardInput {
    pub name: String,
    pub kind: RewardKind,
    pub points_cost: i64,
    /// Cents for a fixed discount or a voucher; whole percent for a percentage discount.
    pub value: i64,
    pub stock: Option<i64>,
    pub per_customer_limit: Option<i64>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    /// How long a voucher given by this reward stays valid.
    pub voucher_days: i64,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Reward {
    pub id: i64,
    pub name: String,
    pub kind: RewardKind,
    pub points_cost: i64,
    pub value: i64,
    pub stock: Option<i64>,
    pub per_customer_limit: Option<i64>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    pub voucher_days: i64,
    pub active: bool,
    /// How many times it was redeemed, gift vouchers held or handed over included (stock
    /// left = stock − redeemed: a limited stock is limited for every way of giving it).
    pub redeemed: i64,
}

/// Rule: a reward is coherent — a name, a positive cost, a value that fits its kind.
pub fn validate_reward(r: &RewardInput) -> Result<()> {
    if let Some(at) = r.valid_from {
        crate::types::check_date("valid_from", at)?;
    }
    if let Some(at) = r.valid_to {
        crate::types::check_date("valid_to", at)?;
    }
    let mut p = Problems::default();
    match crate::text::clean(&r.name) {
        None => p.add("name", "field.required"),
        Some(n) if n.chars().count() > 100 => p.push(FieldError::new("name", "field.too_long").arg("max", 100)),
        _ => {}
    }
    if !(1..=1_000_000).contains(&r.points_cost) {
        p.add("points_cost", "field.loyalty_points_invalid");
    }
    let value_ok = match r.kind {
        RewardKind::FixedDiscount | RewardKind::Voucher => (1..=super::vouchers::MAX_VOUCHER_CENTS).contains(&r.value),
        RewardKind::PercentDiscount => (1..=100).contains(&r.value),
        // A gift's selling value is optional (0: not given); it prices the programme's cost.
        _ => (0..=super::vouchers::MAX_VOUCHER_CENTS).contains(&r.value),
    };
    if !value_ok {
        p.add("value", "field.reward_value_invalid");
    }
    if r.stock.is_some_and(|s| s < 0) || r.per_customer_limit.is_some_and(|l| l < 1) {
        p.add("stock", "field.loyalty_points_invalid");
    }
    if let (Some(f), Some(t)) = (r.valid_from, r.valid_to) {
        if f > t {
            p.add("valid_to", "field.date_order");
        }
    }
    if !(1..=3650).contains(&r.voucher_days) {
        p.add("voucher_days", "field.loyalty_points_invalid");
    }
    p.into_result()
}

pub(crate) fn reward(conn: &Connection, id: i64) -> Result<Reward> {
    conn.query_row(
        "SELECT id, name, kind, points_cost, value, stock, per_customer_limit, valid_from, valid_to, voucher_days, active,
                (SELECT count(*) FROM redemptions WHERE reward_id = rewards.id)
                + (SELECT count(*) FROM vouchers v WHERE v.reward_id = rewards.id
                   AND NOT EXISTS (SELECT 1 FROM voucher_cancellations c WHERE c.voucher_id = v.id))
         FROM rewards WHERE id = ?1",
        [id],
        reward_from_row,
    )
    .optional()?
    .ok_or_else(|| Error::not_found("reward", id))
}

fn reward_from_row(r: &rusqlite::Row) -> rusqlite::Result<Reward> {
    Ok(Reward {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: RewardKind::parse(&r.get::<_, String>(2)?).unwrap_or(RewardKind::FreeProduct),
        points_cost: r.get(3)?,
        value: r.get(4)?,
        stock: r.get(5)?,
        per_customer_limit: r.get(6)?,
        valid_from: r.get(7)?,
        valid_to: r.get(8)?,
        voucher_days: r.get(9)?,
        active: r.get(10)?,
        redeemed: r.get(11)?,
    })
}

/// Rule: a reward can be redeemed when it is active, within its validity window, still in
/// stock, and under the customer's limit.
pub(crate) fn check_reward_available(
    conn: &Connection,
    r: &Reward,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<()> {
    if !r.active || r.valid_from.is_some_and(|f| now < f) || r.valid_to.is_some_and(|t| now > t) {
        return Err(Error::conflict("conflict.reward_unavailable"));
    }
    if r.stock.is_some_and(|s| r.redeemed >= s) {
        return Err(Error::conflict("conflict.reward_out_of_stock"));
    }
    if let Some(limit) = r.per_customer_limit {
        let mine: i64 = conn.query_row(
            "SELECT count(*) FROM redemptions WHERE reward_id = ?1 AND customer_id = ?2",
            params![r.id, customer],
            |x| x.get(0),
        )?;
        if mine >= limit {
            return Err(Error::Conflict { key: "conflict.reward_limit", args: vec![("max", limit.to_string())] });
        }
    }
    Ok(())
}

impl Store {
    /// Add a reward to the catalogue (`id` = None) or change one.
    pub fn save_reward(&mut self, id: Option<i64>, input: &RewardInput, key: Option<&str>) -> Result<Outcome<Reward>> {
        validate_reward(input)?;
        let name = crate::text::clean(&input.name).unwrap_or_default();
        self.transact(("loyalty.reward", &(id, input)), key, |tx| {
            let rid = match id {
                None => {
                    tx.execute(
                        "INSERT INTO rewards (name, kind, points_cost, value, stock, per_customer_limit, valid_from, valid_to, voucher_days, active, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
                        params![name, input.kind.code(), input.points_cost, input.value, input.stock, input.per_customer_limit,
                                input.valid_from, input.valid_to, input.voucher_days, input.active, tx.now],
                    )?;
                    tx.last_insert_rowid()
                }
                Some(id) => {
                    let n = tx.execute(
                        "UPDATE rewards SET name = ?2, kind = ?3, points_cost = ?4, value = ?5, stock = ?6, per_customer_limit = ?7,
                           valid_from = ?8, valid_to = ?9, voucher_days = ?10, active = ?11, updated_at = ?12 WHERE id = ?1",
                        params![id, name, input.kind.code(), input.points_cost, input.value, input.stock, input.per_customer_limit,
                                input.valid_from, input.valid_to, input.voucher_days, input.active, tx.now],
                    )?;
                    if n == 0 {
                        return Err(Error::not_found("reward", id));
                    }
                    id
                }
            };
            tx.changes.settings = true;
            reward(tx, rid)
        })
    }

    /// The reward catalogue (inactive rewards too when asked).
    pub fn rewards(&self, include_inactive: bool) -> Result<Vec<Reward>> {
        rewards_in(self.conn(), include_inactive, Counted::All)
    }
}

/// Which rewards have their redemptions counted (a count reads every redemption and voucher of
/// the reward, all customers together: it grows with the shop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted {
    /// Every reward: the catalogue shows how often each was given.
    All,
    /// Only those with a limited stock, where the count decides whether one is left. A
    /// customer's status at the till needs no more: `redeemed` is 0 for the others.
    Stocked,
}

/// The catalogue's rewards (the active ones unless `include_inactive`), cheapest first.
pub(crate) fn rewards_in(conn: &Connection, include_inactive: bool, counted: Counted) -> Result<Vec<Reward>> {
    // CASE evaluates the count only for the rows that need it.
    let mut st = conn.prepare_cached(
        "SELECT id, name, kind, points_cost, value, stock, per_customer_limit, valid_from, valid_to, voucher_days, active,
                CASE WHEN stock IS NULL AND ?2 THEN 0 ELSE
                  (SELECT count(*) FROM redemptions WHERE reward_id = rewards.id)
                  + (SELECT count(*) FROM vouchers v WHERE v.reward_id = rewards.id
                     AND NOT EXISTS (SELECT 1 FROM voucher_cancellations c WHERE c.voucher_id = v.id))
                END
         FROM rewards WHERE active = 1 OR ?1 ORDER BY points_cost, name",
    )?;
    let rows = st.query_map(params![include_inactive, counted == Counted::Stocked], reward_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_values_fit_their_kind() {
        let base = RewardInput {
            name: "Café offert".into(),
            kind: RewardKind::FreeProduct,
            points_cost: 100,
            value: 0,
            stock: None,
            per_customer_limit: None,
            valid_from: None,
            valid_to: None,
            voucher_days: 90,
            active: true,
        };
        assert!(validate_reward(&base).is_ok(), "a free product needs no value");
        assert!(
            validate_reward(&RewardInput { kind: RewardKind::PercentDiscount, value: 150, ..base.clone() }).is_err(),
            "150 % off is refused"
        );
        assert!(
            validate_reward(&RewardInput { kind: RewardKind::Voucher, value: 0, ..base.clone() }).is_err(),
            "a voucher has a value"
        );
        assert!(validate_reward(&RewardInput { points_cost: 0, ..base.clone() }).is_err(), "a reward costs points");
        assert!(validate_reward(&RewardInput { name: "  ".into(), ..base }).is_err(), "a reward has a name");
    }
}
