//! Sales and refunds. Both are append-only entries; a refund is a new entry pointing at its
//! sale, never an edit. A customer's figures are derived from these entries.

use crate::customers::ensure_customer;
use crate::error::{Error, FieldError, Problems, Result};
use crate::storage::Store;
use crate::types::{Cents, CustomerId, Outcome, PurchaseId};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod figures;
pub use figures::FiguresCheck;
pub(crate) use figures::{add_sale_to_figures, refresh_figures};

/// The largest amount one receipt may carry: 100,000.00 (a typo guard, not a business cap).
pub const MAX_AMOUNT_CENTS: Cents = 10_000_000;
pub const MAX_NOTE: usize = 500;
pub const MAX_CATEGORY: usize = 60;
/// Receipts cannot be dated before this year.
pub const EARLIEST_YEAR: i32 = 2000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SaleInput {
    pub customer_id: CustomerId,
    pub amount_cents: Cents,
    /// When it happened; now when not given. A past date records a receipt entered later.
    pub occurred_at: Option<DateTime<Utc>>,
    pub note: String,
    pub category: String,
    /// A reward, voucher, points or stamp milestone used on this sale. `amount_cents` is then
    /// the ticket before the discount; what is recorded is what the customer paid.
    #[serde(default)]
    pub apply: Option<crate::loyalty::Apply>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RefundInput {
    pub sale_id: PurchaseId,
    /// The amount to refund; the whole remaining amount when not given.
    pub amount_cents: Option<Cents>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Purchase {
    pub id: PurchaseId,
    pub customer_id: CustomerId,
    pub amount_cents: Cents,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub note: Option<String>,
    pub category: Option<String>,
    /// For a refund, the sale it refunds.
    pub refund_of: Option<PurchaseId>,
}

/// A clean, validated sale ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSale {
    pub amount_cents: Cents,
    pub occurred_at: DateTime<Utc>,
    pub note: Option<String>,
    pub category: Option<String>,
}

/// Rule: a sale is a positive amount of at most `MAX_AMOUNT_CENTS`, dated between the year
/// 2000 and now (a few minutes of clock drift allowed), with a short note and category.
pub fn validate_sale(input: &SaleInput, now: DateTime<Utc>) -> Result<ValidSale> {
    let mut p = Problems::default();
    check_amount(&mut p, "amount_cents", input.amount_cents);
    let occurred_at = input.occurred_at.unwrap_or(now);
    crate::types::check_date("occurred_at", occurred_at)?;
    if occurred_at > now + chrono::Duration::minutes(5) {
        p.add("occurred_at", "field.date_in_future");
    }
    if occurred_at.date_naive() < chrono::NaiveDate::from_ymd_opt(EARLIEST_YEAR, 1, 1).expect("valid date") {
        p.push(FieldError::new("occurred_at", "field.date_too_old").arg("year", EARLIEST_YEAR));
    }
    let note = crate::text::clean_multiline(&input.note);
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
        p.push(FieldError::new("note", "field.too_long").arg("max", MAX_NOTE));
    }
    let category = crate::text::clean(&input.category);
    if category.as_ref().is_some_and(|c| c.chars().count() > MAX_CATEGORY) {
        p.push(FieldError::new("category", "field.too_long").arg("max", MAX_CATEGORY));
    }
    p.into_result()?;
    Ok(ValidSale { amount_cents: input.amount_cents, occurred_at, note, category })
}

fn check_amount(p: &mut Problems, field: &'static str, amount: Cents) {
    if amount <= 0 {
        p.add(field, "field.amount_positive");
    } else if amount > MAX_AMOUNT_CENTS {
        p.push(FieldError::new(field, "field.amount_too_large").arg("max", MAX_AMOUNT_CENTS / 100));
    }
}

/// Rule: what the customer pays is the ticket minus the discount used on it. A reward worth the
/// whole ticket (a free coffee), or a voucher of exactly its value, leaves a sale recorded at
/// zero (a voucher worth more is refused before: `loyalty::discount_for`); points worth
/// more than the ticket are refused (the customer would lose the difference).
pub fn amount_paid(ticket: Cents, discount: Cents) -> Result<Cents> {
    if discount < 0 || discount > ticket {
        Err(Error::conflict("conflict.discount_covers_sale"))
    } else {
        Ok(ticket - discount)
    }
}

/// Rule: a refund takes back at most what is left of its sale (the sale minus earlier
/// refunds); with no amount given, it takes back all that is left.
pub fn refund_amount(sale_cents: Cents, already_refunded: Cents, requested: Option<Cents>) -> Result<Cents> {
    let remaining = sale_cents - already_refunded;
    if remaining <= 0 {
        return Err(Error::conflict("conflict.sale_fully_refunded"));
    }
    match requested {
        None => Ok(remaining),
        Some(a) => {
            let mut p = Problems::default();
            check_amount(&mut p, "amount_cents", a);
            p.into_result()?;
            if a > remaining {
                Err(Error::Validation(vec![
                    FieldError::new("amount_cents", "field.refund_too_large").arg("remaining_cents", remaining)
                ]))
            } else {
                Ok(a)
            }
        }
    }
}

fn purchase_from_row(r: &rusqlite::Row) -> rusqlite::Result<Purchase> {
    Ok(Purchase {
        id: r.get(0)?,
        customer_id: r.get(1)?,
        amount_cents: r.get(2)?,
        occurred_at: r.get(3)?,
        recorded_at: r.get(4)?,
        note: r.get(5)?,
        category: r.get(6)?,
        refund_of: r.get(7)?,
    })
}

/// One purchase, read inside a transaction.
pub(crate) fn purchase_tx(conn: &rusqlite::Connection, id: PurchaseId) -> Result<Purchase> {
    conn.query_row(
        "SELECT id, customer_id, amount_cents, occurred_at, recorded_at, note, category, refund_of FROM purchases WHERE id = ?1",
        [id],
        purchase_from_row,
    )
    .optional()?
    .ok_or_else(|| Error::not_found("sale", id))
}

impl Store {
    /// Record a sale against a customer. Idempotent on `key`: a retry records it once.
    pub fn record_sale(&mut self, input: &SaleInput, key: Option<&str>) -> Result<Outcome<Purchase>> {
        let sale = validate_sale(input, self.now())?;
        self.transact(("sale.record", input), key, |tx| {
            ensure_customer(tx, input.customer_id)?;
            let discount = match &input.apply {
                Some(a) => crate::loyalty::discount_for(tx, input.customer_id, a, sale.amount_cents)?,
                None => 0,
            };
            let paid = amount_paid(sale.amount_cents, discount)?;
            tx.execute(
                "INSERT INTO purchases (customer_id, kind, amount_cents, occurred_at, recorded_at, note, category) VALUES (?1, 'sale', ?2, ?3, ?4, ?5, ?6)",
                params![input.customer_id, paid, sale.occurred_at, tx.now, sale.note, sale.category],
            )?;
            let id = tx.last_insert_rowid();
            if let Some(a) = &input.apply {
                crate::loyalty::apply_to_sale(tx, input.customer_id, id, a, sale.amount_cents)?;
            }
            add_sale_to_figures(tx, input.customer_id, paid, sale.occurred_at)?;
            let purchase = Purchase {
                id,
                customer_id: input.customer_id,
                amount_cents: paid,
                occurred_at: sale.occurred_at,
                recorded_at: tx.now,
                note: sale.note,
                category: sale.category,
                refund_of: None,
            };
            crate::loyalty::on_sale(tx, &purchase, discount)?;
            crate::referrals::on_sale(tx, &purchase)?;
            tx.changes.customer(input.customer_id);
            tx.changes.purchases = true;
            Ok(purchase)
        })
    }

    /// Refund all or part of a sale, as a new entry. Idempotent on `key`.
    pub fn refund(&mut self, input: &RefundInput, key: Option<&str>) -> Result<Outcome<Purchase>> {
        let note = crate::text::clean_multiline(&input.note);
        if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
            return Err(Error::Validation(vec![FieldError::new("note", "field.too_long").arg("max", MAX_NOTE)]));
        }
        self.transact(("sale.refund", input), key, |tx| {
            let sale: Option<(CustomerId, String, Cents, Option<String>)> = tx
                .query_row("SELECT customer_id, kind, amount_cents, category FROM purchases WHERE id = ?1", [input.sale_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            let Some((customer_id, kind, sale_cents, category)) = sale else {
                return Err(Error::not_found("sale", input.sale_id));
            };
            if kind != "sale" {
                return Err(Error::conflict("conflict.refund_of_refund"));
            }
            let refunded: Cents = tx.query_row(
                "SELECT coalesce(sum(amount_cents), 0) FROM purchases WHERE refund_of = ?1",
                [input.sale_id],
                |r| r.get(0),
            )?;
            let amount = if sale_cents == 0 {
                // A sale recorded at zero (covered in full) is cancelled by a refund of zero,
                // once: what it used comes back as after any full refund.
                let cancelled: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM purchases WHERE refund_of = ?1)",
                    [input.sale_id],
                    |r| r.get(0),
                )?;
                if cancelled {
                    return Err(Error::conflict("conflict.sale_fully_refunded"));
                }
                if input.amount_cents.is_some_and(|a| a != 0) {
                    return Err(Error::Validation(vec![
                        FieldError::new("amount_cents", "field.refund_too_large").arg("remaining_cents", 0)
                    ]));
                }
                0
            } else {
                refund_amount(sale_cents, refunded, input.amount_cents)?
            };
            tx.execute(
                "INSERT INTO purchases (customer_id, kind, amount_cents, occurred_at, recorded_at, note, category, refund_of) VALUES (?1, 'refund', ?2, ?3, ?3, ?4, ?5, ?6)",
                params![customer_id, amount, tx.now, note, category, input.sale_id],
            )?;
            let id = tx.last_insert_rowid();
            refresh_figures(tx, customer_id)?;
            crate::loyalty::on_refund(tx, input.sale_id, sale_cents, refunded, amount)?;
            crate::referrals::on_refund(tx, input.sale_id, sale_cents - refunded - amount)?;
            tx.changes.customer(customer_id);
            tx.changes.purchases = true;
            Ok(Purchase {
                id,
                customer_id,
                amount_cents: amount,
                occurred_at: tx.now,
                recorded_at: tx.now,
                note,
                category,
                refund_of: Some(input.sale_id),
            })
        })
    }

    /// One purchase (sale or refund).
    pub fn purchase(&self, id: PurchaseId) -> Result<Purchase> {
        self.conn()
            .query_row(
                "SELECT id, customer_id, amount_cents, occurred_at, recorded_at, note, category, refund_of FROM purchases WHERE id = ?1",
                [id],
                purchase_from_row,
            )
            .optional()?
            .ok_or_else(|| Error::not_found("sale", id))
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_figures;
