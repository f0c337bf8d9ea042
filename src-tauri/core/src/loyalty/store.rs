//! Loyalty storage: the programme's versions, the ledgers and everything derived from them.
//! Every write runs inside `Store::transact`; a balance is always replayed from its ledger.

use super::programme::{Action, Programme, TierRules};
use super::rules::{self, Earning, Lot, Movement, SaleFacts};
use super::vouchers::{issue_voucher_tx, undo_voucher_uses_of_sale, usable_vouchers, Voucher, VoucherKind};
use crate::customers::ensure_customer;
use crate::error::{Error, FieldError, Result};
use crate::storage::{Store, Tx};
use crate::types::{Cents, CustomerId, Outcome, PurchaseId};
use chrono::{DateTime, Local, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const MAX_REASON: usize = 300;
pub const MAX_STAFF: usize = 60;
/// Points listed as "expiring soon" within this many days.
pub const EXPIRING_SOON_DAYS: i64 = 30;

/// The programme in force: the latest saved version, or nothing configured.
pub fn programme(conn: &Connection) -> Result<Programme> {
    let doc: Option<String> = conn
        .query_row("SELECT document FROM loyalty_programmes ORDER BY id DESC LIMIT 1", [], |r| r.get(0))
        .optional()?;
    Ok(match doc {
        Some(d) => serde_json::from_str(&d)?,
        None => Programme::default(),
    })
}

fn movements(conn: &Connection, customer: CustomerId) -> Result<Vec<Movement>> {
    let mut st =
        conn.prepare_cached("SELECT at, points, expires_at FROM points_ledger WHERE customer_id = ?1 ORDER BY id")?;
    let rows =
        st.query_map([customer], |r| Ok(Movement { at: r.get(0)?, points: r.get(1)?, expires_at: r.get(2)? }))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn last_visit(conn: &Connection, customer: CustomerId) -> Result<Option<DateTime<Utc>>> {
    Ok(conn.query_row("SELECT last_purchase_at FROM customers WHERE id = ?1", [customer], |r| r.get(0))?)
}

/// The points a customer can use now: the ledger replayed, less what is due to expire.
pub(crate) fn usable_points(
    conn: &Connection,
    p: &Programme,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<(i64, Vec<Lot>)> {
    let lots = rules::replay(&movements(conn, customer)?);
    let total = rules::balance(&lots);
    if rules::inactivity_expired(&p.expiry, last_visit(conn, customer)?, now) {
        return Ok((0, lots));
    }
    Ok((total - rules::due_to_expire(&lots, now), lots))
}

/// Append the expiry of the points that are due (by date, or the whole balance after the
/// months without a visit), so that the ledger says why they are gone.
fn expire_due(tx: &Tx, p: &Programme, customer: CustomerId) -> Result<i64> {
    let lots = rules::replay(&movements(tx, customer)?);
    let due = if rules::inactivity_expired(&p.expiry, last_visit(tx, customer)?, tx.now) {
        rules::balance(&lots)
    } else {
        rules::due_to_expire(&lots, tx.now)
    };
    if due > 0 {
        insert_points(tx, customer, "expire", -due, PointsRefs::default())?;
    }
    Ok(due)
}

/// Optional references of a ledger entry.
#[derive(Default)]
struct PointsRefs<'a> {
    expires_at: Option<DateTime<Utc>>,
    purchase_id: Option<PurchaseId>,
    redemption_id: Option<i64>,
    action: Option<&'a str>,
    reason: Option<&'a str>,
    staff: Option<&'a str>,
}

fn insert_points(tx: &Tx, customer: CustomerId, kind: &str, points: i64, r: PointsRefs) -> Result<()> {
    tx.execute(
        "INSERT INTO points_ledger (customer_id, at, kind, points, expires_at, purchase_id, redemption_id, action, reason, staff)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![customer, tx.now, kind, points, r.expires_at, r.purchase_id, r.redemption_id, r.action, r.reason, r.staff],
    )?;
    Ok(())
}

fn insert_stamps(
    tx: &Tx,
    customer: CustomerId,
    kind: &str,
    stamps: i64,
    purchase: Option<PurchaseId>,
    milestone: Option<i64>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO stamps_ledger (customer_id, at, kind, stamps, purchase_id, milestone) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![customer, tx.now, kind, stamps, purchase, milestone],
    )?;
    Ok(())
}

fn stamps_balance(conn: &Connection, customer: CustomerId) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(stamps), 0) FROM stamps_ledger WHERE customer_id = ?1",
        [customer],
        |r| r.get(0),
    )?)
}

fn carry(conn: &Connection, customer: CustomerId) -> Result<Cents> {
    Ok(conn
        .query_row(
            "SELECT carry_after_cents FROM loyalty_sales WHERE customer_id = ?1 ORDER BY purchase_id DESC LIMIT 1",
            [customer],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// The tier a customer holds and what qualifies them now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TierStatus {
    pub index: u32,
    pub name: String,
    pub percent: i64,
    pub advantages: String,
    /// Kept at least until then, even without further purchases.
    pub kept_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NextTier {
    pub name: String,
    /// Cents to spend or points to earn (see `basis`) to reach it.
    pub missing: i64,
    pub basis: super::programme::TierBasis,
}

/// Spend (sales minus refunds) or points earned since the start of the tier period, leaving
/// out the sale being recorded (`except`) so that it earns at the tier held before it.
fn qualifying(
    conn: &Connection,
    t: &TierRules,
    customer: CustomerId,
    now: DateTime<Utc>,
    except: Option<PurchaseId>,
) -> Result<i64> {
    let since = rules::period_start(t.period, now);
    let spend: Cents = conn.query_row(
        "SELECT coalesce(sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END), 0)
         FROM purchases WHERE customer_id = ?1 AND occurred_at >= ?2 AND occurred_at <= ?3 AND id IS NOT ?4",
        params![customer, since, now, except],
        |r| r.get(0),
    )?;
    let points: i64 = conn.query_row(
        "SELECT coalesce(sum(points), 0) FROM points_ledger WHERE customer_id = ?1 AND kind IN ('earn', 'reverse', 'action') AND at >= ?2",
        params![customer, since],
        |r| r.get(0),
    )?;
    Ok(rules::qualifying_value(t.basis, spend, points))
}

fn held_tier(conn: &Connection, customer: CustomerId, now: DateTime<Utc>) -> Result<Option<(usize, DateTime<Utc>)>> {
    Ok(conn
        .query_row(
            "SELECT tier_index, kept_until FROM tier_events WHERE customer_id = ?1 AND kept_until > ?2
             ORDER BY tier_index DESC, kept_until DESC LIMIT 1",
            params![customer, now],
            |r| Ok((r.get::<_, i64>(0)? as usize, r.get(1)?)),
        )
        .optional()?)
}

/// The tier held now: the highest of the tier qualified for now and the tiers still kept.
fn tier_now(
    conn: &Connection,
    p: &Programme,
    customer: CustomerId,
    now: DateTime<Utc>,
    except: Option<PurchaseId>,
) -> Result<(Option<TierStatus>, Option<NextTier>)> {
    let Some(t) = &p.tiers else { return Ok((None, None)) };
    let thresholds: Vec<i64> = t.tiers.iter().map(|x| x.threshold).collect();
    let q = qualifying(conn, t, customer, now, except)?;
    let live = rules::tier_for(&thresholds, q);
    let held = held_tier(conn, customer, now)?.filter(|(i, _)| *i < t.tiers.len());
    let index = match (live, held) {
        (Some(l), Some((h, _))) => Some(l.max(h)),
        (l, h) => l.or(h.map(|x| x.0)),
    };
    let status = index.map(|i| TierStatus {
        index: i as u32,
        name: t.tiers[i].name.clone(),
        percent: t.tiers[i].percent,
        advantages: t.tiers[i].advantages.clone(),
        kept_until: held.filter(|(h, _)| *h == i).map(|(_, until)| until),
    });
    let next_index = index.map(|i| i + 1).unwrap_or(0);
    let next = t.tiers.get(next_index).map(|n| NextTier {
        name: n.name.clone(),
        missing: (n.threshold - q).max(0),
        basis: t.basis,
    });
    Ok((status, next))
}

/// Record an upgrade when the customer now qualifies for a higher tier than they hold, with
/// its entry points.
fn update_tier(tx: &Tx, p: &Programme, customer: CustomerId) -> Result<()> {
    let Some(t) = &p.tiers else { return Ok(()) };
    let thresholds: Vec<i64> = t.tiers.iter().map(|x| x.threshold).collect();
    let Some(live) = rules::tier_for(&thresholds, qualifying(tx, t, customer, tx.now, None)?) else { return Ok(()) };
    let held = held_tier(tx, customer, tx.now)?.map(|(i, _)| i);
    if held.is_some_and(|h| h >= live) {
        return Ok(());
    }
    let tier = &t.tiers[live];
    tx.execute(
        "INSERT INTO tier_events (customer_id, tier_index, tier_name, reached_at, kept_until) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![customer, live as i64, tier.name, tx.now, rules::kept_until(t.period, tx.now)],
    )?;
    // The entry reward of every tier passed, once per tier ever reached.
    for (i, passed) in t.tiers.iter().enumerate().take(live + 1) {
        let already: i64 = tx.query_row(
            "SELECT count(*) FROM tier_events WHERE customer_id = ?1 AND tier_index = ?2",
            params![customer, i as i64],
            |r| r.get(0),
        )?;
        let is_new = if i == live { already == 1 } else { already == 0 && held.is_none_or(|h| i > h) };
        if passed.entry_points > 0 && is_new {
            let expires_at = rules::expiry_date(&p.expiry, tx.now);
            insert_points(
                tx,
                customer,
                "tier_entry",
                passed.entry_points,
                PointsRefs { expires_at, reason: Some(&passed.name), ..Default::default() },
            )?;
        }
    }
    Ok(())
}

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
/// points or vouchers spent on the sale come back only with a full refund.
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
        "SELECT coalesce(sum(points), 0) FROM points_ledger WHERE purchase_id = ?1 AND kind = 'reverse'",
        [sale_id],
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
        let take_stamps = stamps.min(stamps_balance(tx, customer)?);
        if take_stamps > 0 {
            insert_stamps(tx, customer, "reverse", -take_stamps, Some(sale_id), None)?;
        }
        // Points spent on this sale come back.
        let mut st = tx.prepare_cached(
            "SELECT r.id, r.points FROM redemptions r WHERE r.purchase_id = ?1
             AND NOT EXISTS (SELECT 1 FROM points_ledger l WHERE l.redemption_id = r.id AND l.kind = 'restore')",
        )?;
        let spent: Vec<(i64, i64)> =
            st.query_map([sale_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
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

/// One line of a customer's points ledger, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PointsEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub points: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub purchase_id: Option<PurchaseId>,
    pub action: Option<String>,
    pub reason: Option<String>,
    pub staff: Option<String>,
    /// For an earn entry: how the points were computed.
    pub lines: Vec<rules::EarnLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExpiringPoints {
    pub at: DateTime<Utc>,
    pub points: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MilestoneStatus {
    pub stamps: i64,
    pub label: String,
    pub reached: bool,
    /// Already claimed on the current card.
    pub claimed: bool,
}

/// Milestones claimed on the current card (since the last full card was used).
fn claimed_milestones(conn: &Connection, customer: CustomerId, last: usize) -> Result<Vec<usize>> {
    let mut st = conn.prepare_cached(
        "SELECT milestone FROM stamps_ledger WHERE customer_id = ?1 AND kind = 'redeem' AND id > coalesce(
           (SELECT max(id) FROM stamps_ledger WHERE customer_id = ?1 AND kind = 'redeem' AND milestone = ?2), 0)",
    )?;
    let rows = st.query_map(params![customer, last as i64], |r| r.get::<_, i64>(0))?;
    Ok(rows.filter_map(|r| r.ok()).map(|m| m as usize).collect())
}

/// What the till and the customer page show about a customer's loyalty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LoyaltyStatus {
    /// A programme with points or stamps is in force.
    pub programme_active: bool,
    pub points: i64,
    pub stamps: i64,
    pub carry_cents: Cents,
    pub tier: Option<TierStatus>,
    pub next_tier: Option<NextTier>,
    pub expiring_soon: Vec<ExpiringPoints>,
    pub milestones: Vec<MilestoneStatus>,
    pub vouchers: Vec<Voucher>,
    /// Catalogue rewards available to this customer now, with whether the points pay for them.
    pub rewards: Vec<RewardOffer>,
    pub next_goal: Option<rules::NextGoal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RewardOffer {
    pub reward: super::vouchers::Reward,
    pub affordable: bool,
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

pub(crate) fn check_text(field: &'static str, value: &str, max: usize, required: bool) -> Result<Option<String>> {
    match crate::text::clean(value) {
        None if required => Err(Error::invalid(field, "field.required")),
        None => Ok(None),
        Some(v) if v.chars().count() > max => {
            Err(Error::Validation(vec![FieldError::new(field, "field.too_long").arg("max", max)]))
        }
        Some(v) => Ok(Some(v)),
    }
}

/// Spend points on a reward or as a discount (see `Store::redeem`); `sale_total` is the ticket
/// it is applied to, when there is one, for a percentage discount.
pub(crate) fn redeem_tx(tx: &mut Tx, req: &RedeemRequest, sale_total: Option<Cents>) -> Result<Redemption> {
    ensure_customer(tx, req.customer_id)?;
    let p = programme(tx)?;
    expire_due(tx, &p, req.customer_id)?;
    let (usable, _) = usable_points(tx, &p, req.customer_id, tx.now)?;
    let (reward, cost) = match req.reward_id {
        Some(id) => {
            let r = super::vouchers::reward(tx, id)?;
            super::vouchers::check_reward_available(tx, &r, req.customer_id, tx.now)?;
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
        PointsRefs { redemption_id: Some(redemption), purchase_id: req.purchase_id, ..Default::default() },
    )?;
    let (discount_cents, voucher) = match &reward {
        None => (rules::liability_cents(cost, p.value_of_100_points_cents), None),
        Some(r) => match r.kind {
            super::vouchers::RewardKind::FixedDiscount => {
                (rules::discount_cents(false, r.value, sale_total.unwrap_or(r.value)), None)
            }
            super::vouchers::RewardKind::PercentDiscount => {
                (sale_total.map(|t| rules::discount_cents(true, r.value, t)).unwrap_or(0), None)
            }
            super::vouchers::RewardKind::Voucher => {
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
pub(crate) fn redeem_stamps_tx(tx: &mut Tx, customer: CustomerId, milestone: usize) -> Result<i64> {
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
        "INSERT INTO stamps_ledger (customer_id, at, kind, stamps, milestone) VALUES (?1, ?2, 'redeem', ?3, ?4)",
        params![customer, tx.now, taken, milestone as i64],
    )?;
    tx.changes.customer(customer);
    Ok(balance + taken)
}

impl Store {
    pub fn loyalty_programme(&self) -> Result<Programme> {
        programme(self.conn())
    }

    /// Save a new version of the programme (earlier versions stay, for the record).
    pub fn save_loyalty_programme(&mut self, p: &Programme, key: Option<&str>) -> Result<Outcome<Programme>> {
        p.validate()?;
        self.transact("loyalty.programme", key, |tx| {
            tx.execute(
                "INSERT INTO loyalty_programmes (document, created_at) VALUES (?1, ?2)",
                params![serde_json::to_string(p)?, tx.now],
            )?;
            tx.changes.settings = true;
            Ok(p.clone())
        })
    }

    /// Balance, tier and progress, stamps, expiring points and vouchers of a customer.
    pub fn loyalty_status(&self, customer: CustomerId) -> Result<LoyaltyStatus> {
        crate::customers::ensure_exists(self.conn(), customer)?;
        let conn = self.conn();
        let now = self.now();
        let p = programme(conn)?;
        let (points, lots) = usable_points(conn, &p, customer, now)?;
        let stamps = stamps_balance(conn, customer)?;
        let (tier, next_tier) = tier_now(conn, &p, customer, now, None)?;
        let milestones = match &p.stamps {
            None => Vec::new(),
            Some(s) => {
                let claimed = claimed_milestones(conn, customer, s.milestones.len().saturating_sub(1))?;
                s.milestones
                    .iter()
                    .enumerate()
                    .map(|(i, m)| MilestoneStatus {
                        stamps: m.stamps,
                        label: m.label.clone(),
                        reached: stamps >= m.stamps,
                        claimed: claimed.contains(&i),
                    })
                    .collect()
            }
        };
        let mut rewards = Vec::new();
        for r in self.rewards(false)? {
            if super::vouchers::check_reward_available(conn, &r, customer, now).is_ok() {
                rewards.push(RewardOffer { affordable: r.points_cost <= points, reward: r });
            }
        }
        let next_goal = rules::next_goal(
            stamps,
            &milestones.iter().filter(|m| !m.claimed).map(|m| (m.stamps, m.label.clone())).collect::<Vec<_>>(),
            points,
            &rewards.iter().map(|o| (o.reward.points_cost, o.reward.name.clone())).collect::<Vec<_>>(),
        );
        Ok(LoyaltyStatus {
            programme_active: p.is_active(),
            rewards,
            next_goal,
            points,
            stamps,
            carry_cents: carry(conn, customer)?,
            tier,
            next_tier,
            expiring_soon: rules::expiring_within(&lots, now, EXPIRING_SOON_DAYS)
                .into_iter()
                .map(|(at, points)| ExpiringPoints { at, points })
                .collect(),
            milestones,
            vouchers: usable_vouchers(conn, customer, now)?,
        })
    }

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

    /// The points ledger of a customer, newest first, each entry with its reason.
    pub fn points_ledger(&self, customer: CustomerId, limit: usize) -> Result<Vec<PointsEntry>> {
        crate::customers::ensure_exists(self.conn(), customer)?;
        let mut st = self.conn().prepare_cached(
            "SELECT l.id, l.at, l.kind, l.points, l.expires_at, l.purchase_id, l.action, l.reason, l.staff, s.lines
             FROM points_ledger l LEFT JOIN loyalty_sales s ON s.purchase_id = l.purchase_id AND l.kind = 'earn'
             WHERE l.customer_id = ?1 ORDER BY l.id DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![customer, limit as i64], |r| {
            let lines: Option<String> = r.get(9)?;
            Ok(PointsEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                kind: r.get(2)?,
                points: r.get(3)?,
                expires_at: r.get(4)?,
                purchase_id: r.get(5)?,
                action: r.get(6)?,
                reason: r.get(7)?,
                staff: r.get(8)?,
                lines: lines.and_then(|l| serde_json::from_str(&l).ok()).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A correction or a goodwill gesture granted by hand: always with a reason and the staff
    /// member. A debit never takes more than the balance.
    pub fn adjust_points(
        &mut self,
        customer: CustomerId,
        points: i64,
        reason: &str,
        staff: &str,
        key: Option<&str>,
    ) -> Result<Outcome<i64>> {
        let reason = check_text("reason", reason, MAX_REASON, true)?;
        let staff = check_text("staff", staff, MAX_STAFF, true)?;
        if points == 0 || points.abs() > 1_000_000 {
            return Err(Error::invalid("points", "field.loyalty_points_invalid"));
        }
        self.transact("loyalty.adjust", key, |tx| {
            ensure_customer(tx, customer)?;
            let p = programme(tx)?;
            expire_due(tx, &p, customer)?;
            let (usable, _) = usable_points(tx, &p, customer, tx.now)?;
            if points < 0 && -points > usable {
                return Err(Error::Conflict {
                    key: "conflict.not_enough_points",
                    args: vec![("balance", usable.to_string())],
                });
            }
            let expires_at = if points > 0 { rules::expiry_date(&p.expiry, tx.now) } else { None };
            insert_points(
                tx,
                customer,
                "adjust",
                points,
                PointsRefs { expires_at, reason: reason.as_deref(), staff: staff.as_deref(), ..Default::default() },
            )?;
            tx.changes.customer(customer);
            Ok(usable + points)
        })
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
        self.transact("loyalty.action", key, |tx| {
            ensure_customer(tx, customer)?;
            let p = programme(tx)?;
            let Some(rule) = p.actions.iter().find(|a| a.action == action).cloned() else {
                return Err(Error::conflict("conflict.action_not_in_programme"));
            };
            if let Some(max) = rule.max_per_year {
                let year_start = rules::period_start(super::programme::TierPeriod::CalendarYear, tx.now);
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

    /// Spend points: on a catalogue reward (its cost), or, with no reward, `points` of the
    /// balance as a discount at the programme's rate. Never more than the customer has; two
    /// redemptions racing for the same points: the second finds them gone.
    pub fn redeem(&mut self, req: &RedeemRequest, key: Option<&str>) -> Result<Outcome<Redemption>> {
        self.transact("loyalty.redeem", key, |tx| redeem_tx(tx, req, None))
    }

    /// Use a stamp-card milestone: an intermediate one once per card, the last one takes the
    /// full card (extra stamps stay for the next card).
    pub fn redeem_stamps(&mut self, customer: CustomerId, milestone: usize, key: Option<&str>) -> Result<Outcome<i64>> {
        self.transact("loyalty.stamps.redeem", key, |tx| redeem_stamps_tx(tx, customer, milestone))
    }

    /// Append the expiry of every customer's points that are due. Run at start and daily.
    pub fn run_points_expiry(&mut self) -> Result<Outcome<i64>> {
        self.transact("loyalty.expiry", None, |tx| {
            let p = programme(tx)?;
            let customers: Vec<CustomerId> = {
                let mut st = tx.prepare(
                    "SELECT DISTINCT customer_id FROM points_ledger WHERE (expires_at IS NOT NULL AND expires_at <= ?1)
                     UNION SELECT l.customer_id FROM points_ledger l JOIN customers c ON c.id = l.customer_id
                     WHERE ?2 AND c.last_purchase_at IS NOT NULL GROUP BY l.customer_id HAVING sum(l.points) > 0",
                )?;
                let inactivity = matches!(p.expiry, super::programme::Expiry::AfterInactivityMonths { .. });
                let rows = st.query_map(params![tx.now, inactivity], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut expired = 0;
            for c in customers {
                let n = expire_due(tx, &p, c)?;
                if n > 0 {
                    tx.changes.customer(c);
                }
                expired += n;
            }
            Ok(expired)
        })
    }

    /// Points earned and not yet spent across the shop, and their value at the programme's rate.
    pub fn points_liability(&self) -> Result<Liability> {
        let p = programme(self.conn())?;
        let points: i64 = self.conn().query_row(
            "SELECT coalesce(sum(b), 0) FROM (SELECT max(sum(points), 0) AS b FROM points_ledger GROUP BY customer_id)",
            [],
            |r| r.get(0),
        )?;
        Ok(Liability { points, value_cents: rules::liability_cents(points, p.value_of_100_points_cents) })
    }

    /// Customers with points expiring in the next 30 days.
    pub fn points_expiring_soon(&self) -> Result<Vec<ExpiringForCustomer>> {
        let now = self.now();
        let p = programme(self.conn())?;
        let horizon = now + chrono::Duration::days(EXPIRING_SOON_DAYS);
        let ids: Vec<CustomerId> = {
            let mut st = self.conn().prepare(
                "SELECT DISTINCT customer_id FROM points_ledger WHERE expires_at > ?1 AND expires_at <= ?2 ORDER BY customer_id",
            )?;
            let rows = st.query_map(params![now, horizon], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let country = self.settings()?.country;
        let mut out = Vec::new();
        for id in ids {
            let (_, lots) = usable_points(self.conn(), &p, id, now)?;
            let soon = rules::expiring_within(&lots, now, EXPIRING_SOON_DAYS);
            if let Some(first) = soon.first() {
                let points = soon.iter().map(|(_, n)| n).sum();
                if let Some(customer) = crate::customers::summaries(self.conn(), &[id], country)?.pop() {
                    out.push(ExpiringForCustomer { customer, points, first_at: first.0 });
                }
            }
        }
        out.sort_by_key(|e| e.first_at);
        Ok(out)
    }

    /// Customers with many loyalty operations on the day starting at `day_start` (UTC
    /// instant of the shop's local midnight), as tills list them for checking.
    pub fn suspicious_activity(&self, day_start: DateTime<Utc>) -> Result<Vec<SuspiciousDay>> {
        let p = programme(self.conn())?;
        let day_end = day_start + chrono::Duration::days(1);
        let mut st = self.conn().prepare(
            "SELECT customer_id, count(*) FROM (
                 SELECT customer_id FROM points_ledger WHERE at >= ?1 AND at < ?2 AND kind IN ('earn', 'redeem', 'adjust', 'action', 'reverse')
                 UNION ALL SELECT customer_id FROM stamps_ledger WHERE at >= ?1 AND at < ?2 AND kind IN ('redeem', 'adjust')
                 UNION ALL SELECT v.customer_id FROM voucher_uses u JOIN vouchers v ON v.id = u.voucher_id
                   WHERE u.at >= ?1 AND u.at < ?2 AND v.customer_id IS NOT NULL)
             GROUP BY customer_id HAVING count(*) >= ?3 ORDER BY count(*) DESC",
        )?;
        let rows: Vec<(CustomerId, i64)> = st
            .query_map(params![day_start, day_end, p.suspicious_operations_per_day], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let country = self.settings()?.country;
        let mut out = Vec::new();
        for (id, operations) in rows {
            if rules::is_suspicious(operations, p.suspicious_operations_per_day) {
                if let Some(customer) = crate::customers::summaries(self.conn(), &[id], country)?.pop() {
                    out.push(SuspiciousDay { customer, operations });
                }
            }
        }
        Ok(out)
    }
}

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

/// The discount `apply` gives on a ticket of `total` for `customer` (no write; the checks
/// run when it is applied).
pub(crate) fn discount_for(tx: &Tx, customer: CustomerId, apply: &Apply, total: Cents) -> Result<Cents> {
    use super::vouchers::RewardKind;
    Ok(match apply {
        Apply::Reward { reward_id } => {
            let r = super::vouchers::reward(tx, *reward_id)?;
            match r.kind {
                RewardKind::FixedDiscount => rules::discount_cents(false, r.value, total),
                RewardKind::PercentDiscount => rules::discount_cents(true, r.value, total),
                _ => 0,
            }
        }
        Apply::Voucher { code } => {
            let v = super::vouchers::voucher_by_code(tx, code)?;
            if v.customer_id.is_some_and(|c| c != customer) {
                return Err(Error::conflict("conflict.voucher_other_customer"));
            }
            rules::discount_cents(v.kind == VoucherKind::Percent, v.value, total)
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
            super::vouchers::use_voucher_tx(tx, code, Some(customer), Some(purchase))?;
        }
        Apply::Milestone { milestone } => {
            redeem_stamps_tx(tx, customer, *milestone as usize)?;
        }
    }
    Ok(())
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Liability {
    pub points: i64,
    pub value_cents: Cents,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExpiringForCustomer {
    pub customer: crate::customers::CustomerSummary,
    pub points: i64,
    pub first_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SuspiciousDay {
    pub customer: crate::customers::CustomerSummary,
    pub operations: i64,
}

#[cfg(test)]
pub(crate) fn movements_for_test(s: &Store, customer: CustomerId) -> Vec<Movement> {
    movements(s.conn(), customer).unwrap()
}

/// The loyalty values a message can carry for one customer: points usable now, the tier held,
/// and the voucher attached to them that expires first.
pub(crate) fn personal_loyalty(
    conn: &Connection,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<(i64, Option<String>, Option<Voucher>)> {
    let p = programme(conn)?;
    let (points, _) = usable_points(conn, &p, customer, now)?;
    let (tier, _) = tier_now(conn, &p, customer, now, None)?;
    let voucher = usable_vouchers(conn, customer, now)?.into_iter().next();
    Ok((points, tier.map(|t| t.name), voucher))
}
