//! Vouchers (bons d'achat). A voucher is issued once, never edited;
//! its use is an append-only log, so "used" is derived and a refund can give it back.
//! A gift voucher (`VoucherKind::Gift`) holds a catalogue gift (a free product, an experience,
//! a partner's gift) under the name it had when issued: using it hands the gift over and takes
//! no money off; it counts against the catalogue reward's stock until it is cancelled.

use crate::customers::ensure_customer;
use crate::error::{Error, Result};
use crate::storage::{Store, Tx};
use crate::types::{Cents, CustomerId, Outcome, PurchaseId};
use chrono::{DateTime, Utc};
use rand::Rng;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Letters and digits that cannot be mistaken for one another on paper (no 0/O, 1/I/L).
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub const CODE_LEN: usize = 8;
pub const MAX_VOUCHER_CENTS: Cents = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum VoucherKind {
    /// `value` in cents.
    Amount,
    /// `value` in whole percent.
    Percent,
    /// A catalogue gift handed over (`label` names it, `reward_id` is the catalogue reward);
    /// `value` is its cost to the shop in cents, never money off.
    Gift,
}

impl VoucherKind {
    fn code(self) -> &'static str {
        match self {
            VoucherKind::Amount => "amount",
            VoucherKind::Percent => "percent",
            VoucherKind::Gift => "gift",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "percent" => VoucherKind::Percent,
            "gift" => VoucherKind::Gift,
            _ => VoucherKind::Amount,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Voucher {
    pub id: i64,
    pub code: String,
    pub customer_id: Option<CustomerId>,
    pub kind: VoucherKind,
    pub value: i64,
    pub expires_at: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub source: String,
    pub reason: Option<String>,
    pub used_at: Option<DateTime<Utc>>,
    /// A gift: its name when the voucher was issued (what the customer receives).
    pub label: Option<String>,
    /// A gift: the catalogue reward it gives.
    pub reward_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct VoucherInput {
    /// Attached to a customer (it appears at the till by itself), or on paper (`None`).
    pub customer_id: Option<CustomerId>,
    pub kind: VoucherKind,
    pub value: i64,
    pub expires_at: DateTime<Utc>,
    pub reason: String,
    pub staff: String,
}

/// A new random code from the unambiguous alphabet, shown as `ABCD-EFGH`.
pub fn new_code<R: Rng>(rng: &mut R) -> String {
    let raw: String = (0..CODE_LEN).map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char).collect();
    format!("{}-{}", &raw[..4], &raw[4..])
}

/// Rule: a typed code is compared without case, spaces or dashes; a character outside the
/// alphabet means it is not a code.
pub fn normalize_code(typed: &str) -> Option<String> {
    let raw: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase();
    (raw.len() == CODE_LEN && raw.bytes().all(|b| CODE_ALPHABET.contains(&b)))
        .then(|| format!("{}-{}", &raw[..4], &raw[4..]))
}

const VOUCHER_COLUMNS_SQL: &str =
    "v.id, v.code, v.customer_id, v.kind, v.value, v.expires_at, v.issued_at, v.source, v.reason,
     (SELECT u.at FROM voucher_uses u WHERE u.voucher_id = v.id ORDER BY u.id DESC LIMIT 1),
     (SELECT u.kind FROM voucher_uses u WHERE u.voucher_id = v.id ORDER BY u.id DESC LIMIT 1),
     v.label, v.reward_id";

fn voucher_from_row(r: &rusqlite::Row) -> rusqlite::Result<Voucher> {
    let last_kind: Option<String> = r.get(10)?;
    Ok(Voucher {
        id: r.get(0)?,
        code: r.get(1)?,
        customer_id: r.get(2)?,
        kind: VoucherKind::parse(&r.get::<_, String>(3)?),
        value: r.get(4)?,
        expires_at: r.get(5)?,
        issued_at: r.get(6)?,
        source: r.get(7)?,
        reason: r.get(8)?,
        used_at: if last_kind.as_deref() == Some("use") { r.get(9)? } else { None },
        label: r.get(11)?,
        reward_id: r.get(12)?,
    })
}

fn voucher_by_id(conn: &Connection, id: i64) -> Result<Voucher> {
    let mut st = conn.prepare_cached(&["SELECT ", VOUCHER_COLUMNS_SQL, " FROM vouchers v WHERE v.id = ?1"].concat())?;
    Ok(st.query_row([id], voucher_from_row)?)
}

/// The vouchers a customer can use now (not used, not expired), soonest to expire first.
pub(crate) fn usable_vouchers(conn: &Connection, customer: CustomerId, now: DateTime<Utc>) -> Result<Vec<Voucher>> {
    let mut st = conn.prepare_cached(
        &[
            "SELECT ",
            VOUCHER_COLUMNS_SQL,
            " FROM vouchers v WHERE v.customer_id = ?1 AND v.expires_at > ?2 ORDER BY v.expires_at",
        ]
        .concat(),
    )?;
    let all: Vec<Voucher> = st.query_map(params![customer, now], voucher_from_row)?.collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(all.len());
    for v in all {
        if v.used_at.is_none() && !is_cancelled(conn, v.id)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// A voucher withdrawn before it was used (see `cancel_voucher_tx`).
pub(crate) fn is_cancelled(conn: &Connection, voucher: i64) -> Result<bool> {
    let mut st = conn.prepare_cached("SELECT 1 FROM voucher_cancellations WHERE voucher_id = ?1")?;
    Ok(st.exists([voucher])?)
}

/// Whether a voucher was used (its last use is not undone).
pub(crate) fn is_used(conn: &Connection, voucher: i64) -> Result<bool> {
    Ok(voucher_by_id(conn, voucher)?.used_at.is_some())
}

/// Withdraw a voucher that was not used (a referral reward taken back): it can no longer be
/// used. Returns false, writing nothing, when it was already used or withdrawn.
pub(crate) fn cancel_voucher_tx(tx: &Tx, voucher: i64, reason: &str) -> Result<bool> {
    if is_used(tx, voucher)? || is_cancelled(tx, voucher)? {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO voucher_cancellations (voucher_id, at, reason) VALUES (?1, ?2, ?3)",
        params![voucher, tx.now, reason],
    )?;
    Ok(true)
}

fn check_voucher_value(kind: VoucherKind, value: i64) -> Result<()> {
    let ok = match kind {
        VoucherKind::Amount => (1..=MAX_VOUCHER_CENTS).contains(&value),
        VoucherKind::Percent => (1..=100).contains(&value),
        // A gift is issued by `issue_gift_voucher_tx` only, never typed as a value.
        VoucherKind::Gift => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("value", "field.reward_value_invalid"))
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn issue_voucher_tx(
    tx: &Tx,
    customer: Option<CustomerId>,
    kind: VoucherKind,
    value: i64,
    expires_at: DateTime<Utc>,
    source: &str,
    reason: Option<&str>,
    staff: Option<&str>,
) -> Result<Voucher> {
    check_voucher_value(kind, value)?;
    let mut rng = rand::rng();
    // 31^8 codes: a collision is rare; try again on one.
    for _ in 0..8 {
        let code = new_code(&mut rng);
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO vouchers (code, customer_id, kind, value, expires_at, issued_at, source, reason, staff)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![code, customer, kind.code(), value, expires_at, tx.now, source, reason, staff],
        )?;
        if inserted == 1 {
            return voucher_by_id(tx, tx.last_insert_rowid());
        }
    }
    Err(Error::conflict("conflict.voucher_code"))
}

/// A gift voucher for `customer`: the catalogue reward `reward_id` under the name `label` (its
/// name when the gift was promised), costing the shop `cost_cents` (> 0).
#[allow(clippy::too_many_arguments)]
pub(crate) fn issue_gift_voucher_tx(
    tx: &Tx,
    customer: CustomerId,
    reward_id: i64,
    label: &str,
    cost_cents: Cents,
    expires_at: DateTime<Utc>,
    source: &str,
    reason: Option<&str>,
) -> Result<Voucher> {
    if !(1..=MAX_VOUCHER_CENTS).contains(&cost_cents) {
        return Err(Error::invalid("value", "field.reward_value_invalid"));
    }
    let label = crate::text::clean(label).ok_or_else(|| Error::invalid("label", "field.required"))?;
    let mut rng = rand::rng();
    for _ in 0..8 {
        let code = new_code(&mut rng);
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO vouchers (code, customer_id, kind, value, expires_at, issued_at, source, reason, reward_id, label)
             VALUES (?1, ?2, 'gift', ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![code, customer, cost_cents, expires_at, tx.now, source, reason, reward_id, label],
        )?;
        if inserted == 1 {
            return voucher_by_id(tx, tx.last_insert_rowid());
        }
    }
    Err(Error::conflict("conflict.voucher_code"))
}

/// Give back the vouchers used on a sale that is fully refunded.
pub(crate) fn undo_voucher_uses_of_sale(tx: &Tx, sale_id: PurchaseId) -> Result<()> {
    let ids: Vec<i64> = {
        let mut st = tx.prepare_cached(
            "SELECT u.voucher_id FROM voucher_uses u WHERE u.purchase_id = ?1 AND u.kind = 'use'
             AND u.id = (SELECT max(id) FROM voucher_uses WHERE voucher_id = u.voucher_id)",
        )?;
        let rows = st.query_map([sale_id], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in ids {
        tx.execute(
            "INSERT INTO voucher_uses (voucher_id, kind, purchase_id, at) VALUES (?1, 'undo', ?2, ?3)",
            params![id, sale_id, tx.now],
        )?;
    }
    Ok(())
}

/// Use a voucher (see `Store::use_voucher`).
pub(crate) fn use_voucher_tx(
    tx: &mut Tx,
    code: &str,
    customer: Option<CustomerId>,
    purchase: Option<PurchaseId>,
) -> Result<Voucher> {
    use_voucher_by(tx, code, customer, purchase, None)
}

/// `use_voucher_tx`, naming the staff member who handed a gift over.
fn use_voucher_by(
    tx: &mut Tx,
    code: &str,
    customer: Option<CustomerId>,
    purchase: Option<PurchaseId>,
    staff: Option<&str>,
) -> Result<Voucher> {
    let code = normalize_code(code).ok_or_else(|| Error::invalid("code", "field.voucher_code_invalid"))?;
    let id: i64 = tx
        .query_row("SELECT id FROM vouchers WHERE code = ?1", [&code], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found("voucher", &code))?;
    let v = voucher_by_id(tx, id)?;
    if v.used_at.is_some() {
        return Err(Error::conflict("conflict.voucher_used"));
    }
    if is_cancelled(tx, id)? {
        return Err(Error::conflict("conflict.voucher_cancelled"));
    }
    if v.expires_at <= tx.now {
        return Err(Error::conflict("conflict.voucher_expired"));
    }
    if v.customer_id.is_some() && v.customer_id != customer {
        return Err(Error::conflict("conflict.voucher_other_customer"));
    }
    tx.execute(
        "INSERT INTO voucher_uses (voucher_id, kind, purchase_id, at, staff) VALUES (?1, 'use', ?2, ?3, ?4)",
        params![id, purchase, tx.now, staff],
    )?;
    if let Some(c) = v.customer_id.or(customer) {
        tx.changes.customer(c);
    }
    voucher_by_id(tx, id)
}

/// The voucher with this code, if any.
pub(crate) fn voucher_by_code(conn: &Connection, code: &str) -> Result<Voucher> {
    let code = normalize_code(code).ok_or_else(|| Error::invalid("code", "field.voucher_code_invalid"))?;
    let id: i64 = conn
        .query_row("SELECT id FROM vouchers WHERE code = ?1", [&code], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found("voucher", &code))?;
    voucher_by_id(conn, id)
}

impl Store {
    /// Issue a voucher by hand (goodwill, surprise, paper voucher): always with a reason and
    /// the staff member.
    pub fn issue_voucher(&mut self, input: &VoucherInput, key: Option<&str>) -> Result<Outcome<Voucher>> {
        let reason = crate::text::check_text("reason", &input.reason, super::ledgers::MAX_REASON, true)?;
        let staff = crate::text::check_text("staff", &input.staff, super::ledgers::MAX_STAFF, true)?;
        crate::types::check_date("expires_at", input.expires_at)?;
        if input.expires_at <= self.now() {
            return Err(Error::invalid("expires_at", "field.date_in_past"));
        }
        self.transact(("loyalty.voucher.issue", input), key, |tx| {
            if let Some(c) = input.customer_id {
                ensure_customer(tx, c)?;
                tx.changes.customer(c);
            }
            issue_voucher_tx(
                tx,
                input.customer_id,
                input.kind,
                input.value,
                input.expires_at,
                "manual",
                reason.as_deref(),
                staff.as_deref(),
            )
        })
    }

    /// Use a voucher (single use). A voucher attached to a customer can only be used for that
    /// customer. Two uses racing for the same voucher: exactly one wins.
    pub fn use_voucher(
        &mut self,
        code: &str,
        customer: Option<CustomerId>,
        purchase: Option<PurchaseId>,
        key: Option<&str>,
    ) -> Result<Outcome<Voucher>> {
        self.transact(("loyalty.voucher.use", &(code, customer, purchase)), key, |tx| {
            use_voucher_tx(tx, code, customer, purchase)
        })
    }

    /// Hand a gift voucher over from the customer page, without a sale (like a catalogue gift
    /// given for points): its single use is recorded with the staff member. A voucher that
    /// takes money off needs a ticket and is refused here. Idempotent on `key`; two hand-overs
    /// racing for the same gift: exactly one wins.
    pub fn hand_over_gift(
        &mut self,
        customer: CustomerId,
        code: &str,
        staff: &str,
        key: Option<&str>,
    ) -> Result<Outcome<Voucher>> {
        let staff = crate::text::check_text("staff", staff, super::ledgers::MAX_STAFF, false)?;
        self.transact(("loyalty.voucher.hand_over", &(customer, code, &staff)), key, |tx| {
            ensure_customer(tx, customer)?;
            if voucher_by_code(tx, code)?.kind != VoucherKind::Gift {
                return Err(Error::conflict("conflict.voucher_needs_sale"));
            }
            use_voucher_by(tx, code, Some(customer), None, staff.as_deref())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn codes_use_only_unambiguous_characters_and_read_back_from_any_typing() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let c = new_code(&mut rng);
            assert_eq!(c.len(), CODE_LEN + 1);
            assert!(!c.contains(['0', 'O', '1', 'I', 'L']), "{c} has no look-alike characters");
            let typed = c.to_lowercase().replace('-', " ");
            assert_eq!(normalize_code(&typed).as_deref(), Some(c.as_str()), "typed as {typed}");
        }
        assert_eq!(normalize_code("ABCD-EF0H"), None, "0 is not in the alphabet");
        assert_eq!(normalize_code("ABC"), None, "too short");
    }
}
