//! Merging two records of one person: everything `other` holds moves to `keep`, the fields
//! `keep` lacks are taken from `other` (the address as one block, `merged_address`), and
//! `other` is archived pointing to `keep`. Nothing is deleted.

use super::*;
use crate::error::{Error, Result};
use crate::storage::Store;
use crate::types::Outcome;
use rusqlite::params;

impl Store {
    /// Merge `other` into `keep`: every purchase, note, consent record, card and tag of
    /// `other` now belongs to `keep`; fields `keep` lacks are taken from `other`; `other` is
    /// archived and points to `keep`. Nothing is deleted.
    pub fn merge_customers(&mut self, keep: CustomerId, other: CustomerId, key: Option<&str>) -> Result<Outcome<()>> {
        if keep == other {
            return Err(Error::invalid("other", "field.merge_same"));
        }
        self.transact(("customer.merge", &(keep, other)), key, |tx| {
            ensure_customer(tx, keep)?;
            ensure_customer(tx, other)?;
            for sql in [
                "UPDATE purchases SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE notes SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE consents SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE cards SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE loyalty_sales SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE points_ledger SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE stamps_ledger SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE redemptions SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE vouchers SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE tier_events SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE nps_answers SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE nps_invitations SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE nps_followups SET customer_id = ?1 WHERE customer_id = ?2",
                // The messages sent and queued, and their unsubscribes, follow the person: the
                // survivor's timeline and the campaign results count them, and a queued row is
                // sent to the survivor's address (or skipped if another row has it).
                "UPDATE campaign_recipients SET customer_id = ?1 WHERE customer_id = ?2",
                "UPDATE unsubscribes SET customer_id = ?1 WHERE customer_id = ?2",
            ] {
                tx.execute(sql, params![keep, other])?;
            }
            tx.execute(
                "INSERT OR IGNORE INTO customer_tags (customer_id, tag, tag_fold) SELECT ?1, tag, tag_fold FROM customer_tags WHERE customer_id = ?2",
                params![keep, other],
            )?;
            crate::automations::checker::on_merge(tx, keep, other)?;
            crate::referrals::on_merge(tx, keep, other)?;
            let address_of = |id: CustomerId| -> Result<Address> {
                Ok(tx.query_row(
                    "SELECT address_line1, address_line2, postcode, city, country FROM customers WHERE id = ?1",
                    [id],
                    |r| {
                        Ok(Address {
                            line1: r.get(0)?,
                            line2: r.get(1)?,
                            postcode: r.get(2)?,
                            city: r.get(3)?,
                            country: Country::parse(&r.get::<_, String>(4)?).unwrap_or_default(),
                        })
                    },
                )?)
            };
            let address = super::merged_address(&address_of(keep)?, &address_of(other)?);
            tx.execute(
                "UPDATE customers AS k SET
                   email = coalesce(k.email, o.email), email_norm = coalesce(k.email_norm, o.email_norm),
                   phone_e164 = coalesce(k.phone_e164, o.phone_e164),
                   phone_digits = CASE WHEN k.phone_digits = '' THEN o.phone_digits ELSE k.phone_digits END,
                   address_line1 = ?4, address_line2 = ?5, postcode = ?6, city = ?7, country = ?8,
                   birthday_day = coalesce(k.birthday_day, o.birthday_day), birthday_month = coalesce(k.birthday_month, o.birthday_month),
                   birthday_year = coalesce(k.birthday_year, o.birthday_year), updated_at = ?3
                 FROM customers AS o
                 WHERE k.id = ?1 AND o.id = ?2",
                params![
                    keep,
                    other,
                    tx.now,
                    address.line1,
                    address.line2,
                    address.postcode,
                    address.city,
                    address.country.code()
                ],
            )?;
            tx.execute(
                "UPDATE customers SET merged_into = ?1, archived_at = coalesce(archived_at, ?3), updated_at = ?3 WHERE id = ?2",
                params![keep, other, tx.now],
            )?;
            let name_of = |id: CustomerId| -> Result<String> {
                Ok(tx.query_row("SELECT first_name, last_name FROM customers WHERE id = ?1", [id], |r| {
                    Ok(display_name(&r.get::<_, String>(0)?, &r.get::<_, String>(1)?))
                })?)
            };
            write_event(tx, keep, "merged_from", serde_json::json!({ "other_id": other, "other_name": name_of(other)? }))?;
            write_event(tx, other, "merged_into", serde_json::json!({ "other_id": keep, "other_name": name_of(keep)? }))?;
            crate::purchases::refresh_figures(tx, keep)?;
            crate::purchases::refresh_figures(tx, other)?;
            tx.changes.customer(keep);
            tx.changes.customer(other);
            tx.changes.purchases = true;
            Ok(())
        })
    }
}
