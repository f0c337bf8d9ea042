//! Import history and undo. For 30 days an import can be undone: the customers it created
//! that nobody touched since are removed (with the opening balances and consent records the
//! import wrote — the only case where those rows may go, unlocked for that one customer inside
//! the undo's transaction); the fields it changed go back to their earlier values unless they
//! were changed again since. Suppressions it added stay: an unsubscribe is never forgotten.

use super::matching::{current_values, set_column};
use super::types::{ImportCounts, ImportRecord, UndoReport};
use crate::customers::{ConsentChoice, ConsentInput, ConsentSource};
use crate::error::{Error, Result};
use crate::storage::unlock::Purpose;
use crate::storage::{Store, Tx};
use crate::types::{CustomerId, Outcome};
use chrono::{DateTime, Duration, Utc};
use rusqlite::params;
use serde_json::{Map, Value};

pub const UNDO_DAYS: i64 = 30;

/// Rule: an import can be undone within 30 days, once.
pub fn can_undo(created_at: DateTime<Utc>, undone_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    undone_at.is_none() && now < created_at + Duration::days(UNDO_DAYS)
}

/// Rule: a customer an import created is untouched when nothing but the import wrote about
/// them: no sale, no later edit, note, consent, card change, ledger entry, voucher, message,
/// merge or event — nor a row in any other table that refers to customers (referrals,
/// satisfaction answers, mail read back…), so the delete never meets a foreign key. An
/// automatic message that never reached the outbox (a birthday found, expired or skipped
/// before anything was sent or held out) is not a touch: it goes with the customer.
fn untouched(tx: &Tx, id: CustomerId, import_at: DateTime<Utc>, import_id: i64) -> Result<bool> {
    let q = "SELECT
        (SELECT updated_at FROM customers WHERE id = ?1) = ?2
        AND (SELECT merged_into IS NULL AND archived_at IS NULL FROM customers WHERE id = ?1)
        AND NOT EXISTS (SELECT 1 FROM customers WHERE merged_into = ?1)
        AND NOT EXISTS (SELECT 1 FROM purchases WHERE customer_id = ?1)
        AND NOT EXISTS (SELECT 1 FROM notes WHERE customer_id = ?1 AND created_at != ?2)
        AND NOT EXISTS (SELECT 1 FROM consents WHERE customer_id = ?1 AND recorded_at != ?2)
        AND NOT EXISTS (SELECT 1 FROM customer_events WHERE customer_id = ?1 AND at != ?2)
        AND NOT EXISTS (SELECT 1 FROM points_ledger WHERE customer_id = ?1 AND (reason IS NOT 'import' OR at != ?2))
        AND NOT EXISTS (SELECT 1 FROM stamps_ledger WHERE customer_id = ?1 AND (reason IS NOT 'import' OR at != ?2))
        AND NOT EXISTS (SELECT 1 FROM cards WHERE customer_id = ?1 AND (status != 'active' OR issued_at != ?2))
        AND NOT EXISTS (SELECT 1 FROM vouchers WHERE customer_id = ?1)
        AND NOT EXISTS (SELECT 1 FROM redemptions WHERE customer_id = ?1)
        AND NOT EXISTS (SELECT 1 FROM campaign_recipients WHERE customer_id = ?1)
        AND NOT EXISTS (SELECT 1 FROM unsubscribes WHERE customer_id = ?1)
        AND NOT EXISTS (SELECT 1 FROM suppressions WHERE customer_id = ?1)
        AND NOT EXISTS (SELECT 1 FROM tier_events WHERE customer_id = ?1)
        AND NOT EXISTS (SELECT 1 FROM loyalty_sales WHERE customer_id = ?1)
        AND NOT EXISTS (SELECT 1 FROM erasures WHERE customer_id = ?1)
        AND NOT EXISTS (SELECT 1 FROM import_changes WHERE customer_id = ?1 AND import_id != ?3)
        AND NOT EXISTS (SELECT 1 FROM automation_occasions WHERE customer_id = ?1
                        AND (recipient_id IS NOT NULL OR voucher_id IS NOT NULL
                             OR state IN ('queued', 'sent', 'failed', 'held_out')))";
    let untouched =
        tx.query_row(q, params![id, import_at, import_id], |r| r.get::<_, Option<bool>>(0))?.unwrap_or(false);
    Ok(untouched && !referred_elsewhere(tx, id)?)
}

/// Tables `untouched` and `remove` deal with by name; any other table that refers to a
/// customer (a referral, a satisfaction answer, a mail read back… tables added later too, as
/// the schema lists them) holding a row for them means they were used since.
const HANDLED: [&str; 11] = [
    "customers",
    "points_ledger",
    "stamps_ledger",
    "consents",
    "notes",
    "customer_tags",
    "cards",
    "customer_events",
    "import_changes",
    "automation_occasions",
    "automation_journal",
];

fn referred_elsewhere(tx: &Tx, id: CustomerId) -> Result<bool> {
    let refs: Vec<(String, String)> = tx
        .prepare_cached(
            "SELECT m.name, p.\"from\" FROM sqlite_master m, pragma_foreign_key_list(m.name) p
             WHERE m.type = 'table' AND p.\"table\" = 'customers'",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (table, column) in refs.iter().filter(|(t, _)| !HANDLED.contains(&t.as_str())) {
        // Names from the schema itself, quoted; the id is bound.
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM \"{}\" WHERE \"{}\" = ?1)",
            table.replace('"', "\"\""),
            column.replace('"', "\"\"")
        );
        if tx.query_row(&sql, [id], |r| r.get::<_, bool>(0))? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn remove(tx: &mut Tx, id: CustomerId) -> Result<()> {
    // The import's own consent records and opening balances, for this one customer only
    // (the triggers refuse anything else).
    tx.unlocked(Purpose::ImportUndo, id, |tx| {
        for sql in [
            "DELETE FROM points_ledger WHERE customer_id = ?1",
            "DELETE FROM stamps_ledger WHERE customer_id = ?1",
            "DELETE FROM consents WHERE customer_id = ?1",
            "DELETE FROM automation_journal WHERE customer_id = ?1",
            "DELETE FROM automation_occasions WHERE customer_id = ?1",
        ] {
            tx.execute(sql, [id])?;
        }
        Ok(())
    })?;
    for sql in [
        "DELETE FROM notes WHERE customer_id = ?1",
        "DELETE FROM customer_tags WHERE customer_id = ?1",
        "DELETE FROM cards WHERE customer_id = ?1",
        "DELETE FROM customer_events WHERE customer_id = ?1",
        "DELETE FROM customers WHERE id = ?1",
    ] {
        tx.execute(sql, [id])?;
    }
    Ok(())
}

fn restore(
    tx: &mut Tx,
    id: CustomerId,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    import_id: i64,
    report: &mut UndoReport,
) -> Result<()> {
    let now = current_values(tx, id)?;
    let mut restored = Vec::new();
    for (col, written) in after {
        match col.as_str() {
            "tags_added" => {
                for t in written.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    tx.execute(
                        "DELETE FROM customer_tags WHERE customer_id = ?1 AND tag_fold = ?2",
                        params![id, crate::text::fold(t)],
                    )?;
                }
            }
            "notes_added" => {
                for n in written.as_array().into_iter().flatten().filter_map(Value::as_i64) {
                    tx.execute("DELETE FROM notes WHERE id = ?1 AND customer_id = ?2", params![n, id])?;
                }
            }
            "consent" => {
                // Consent records are append-only: a new record puts the earlier state back
                // (no earlier record: no marketing).
                let prev = before.get("consent").and_then(Value::as_str).and_then(ConsentChoice::parse);
                let current = crate::customers::current_consent(tx, id)?.map(|c| c.choice.code().to_string());
                if current.as_deref() == written.as_str() {
                    let choice = prev.unwrap_or(ConsentChoice::Refused);
                    let wording = crate::i18n::tr(
                        crate::settings::read(tx)?.language,
                        "import.undo_consent_wording",
                        &[("id", import_id.to_string())],
                    );
                    // The earlier state, recorded as it was: the suppression list is not
                    // touched (nobody said no; what the file unsubscribed stays unsubscribed).
                    crate::customers::insert_consent(
                        tx,
                        id,
                        &ConsentInput { choice, source: ConsentSource::Import, wording },
                    )?;
                } else {
                    report.fields_kept += 1;
                }
            }
            _ => {
                if now.get(col) == Some(written) {
                    let old = before.get(col).and_then(Value::as_str);
                    set_column(tx, id, col, old)?;
                    restored.push(col.clone());
                } else {
                    report.fields_kept += 1;
                }
            }
        }
    }
    if !restored.is_empty() {
        tx.execute("UPDATE customers SET updated_at = ?2 WHERE id = ?1", params![id, tx.now])?;
        crate::customers::write_event(
            tx,
            id,
            "edited",
            serde_json::json!({ "fields": restored, "import_undone": import_id }),
        )?;
    }
    tx.changes.customer(id);
    report.restored += 1;
    Ok(())
}

impl Store {
    /// The imports, newest first.
    pub fn imports(&self) -> Result<Vec<ImportRecord>> {
        let now = self.now();
        let mut st = self.conn().prepare(
            "SELECT id, file_name, created_at, counts, undone_at, attestation IS NOT NULL FROM imports ORDER BY id DESC LIMIT 200",
        )?;
        let rows = st.query_map([], |r| {
            let created_at: DateTime<Utc> = r.get(2)?;
            let undone_at: Option<DateTime<Utc>> = r.get(4)?;
            let counts: String = r.get(3)?;
            Ok(ImportRecord {
                id: r.get(0)?,
                file_name: r.get(1)?,
                created_at,
                counts: serde_json::from_str::<ImportCounts>(&counts).unwrap_or_default(),
                undone_at,
                undo_until: created_at + Duration::days(UNDO_DAYS),
                can_undo: can_undo(created_at, undone_at, now),
                soft_opt_in: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Undo an import (within 30 days, once).
    pub fn undo_import(&mut self, import_id: i64, key: Option<&str>) -> Result<Outcome<UndoReport>> {
        self.transact("data.import_undo", key, |tx| {
            let (created_at, undone_at): (DateTime<Utc>, Option<DateTime<Utc>>) = tx
                .query_row("SELECT created_at, undone_at FROM imports WHERE id = ?1", [import_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|_| Error::not_found("import", import_id))?;
            if undone_at.is_some() {
                return Err(Error::conflict("conflict.import_already_undone"));
            }
            if !can_undo(created_at, undone_at, tx.now) {
                return Err(Error::conflict("conflict.import_undo_too_late"));
            }
            let changes: Vec<(CustomerId, String, Option<String>, Option<String>)> = {
                let mut st = tx.prepare("SELECT customer_id, action, before, after FROM import_changes WHERE import_id = ?1 ORDER BY customer_id DESC")?;
                let rows = st.query_map([import_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut report = UndoReport::default();
            for (id, action, before, after) in changes {
                let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM customers WHERE id = ?1)", [id], |r| r.get(0))?;
                if !exists {
                    continue;
                }
                if action == "created" {
                    if untouched(tx, id, created_at, import_id)? {
                        remove(tx, id)?;
                        tx.changes.customer(id);
                        report.removed += 1;
                    } else {
                        report.kept_touched += 1;
                    }
                } else {
                    let parse = |s: Option<String>| -> Map<String, Value> {
                        s.and_then(|s| serde_json::from_str::<Value>(&s).ok()).and_then(|v| v.as_object().cloned()).unwrap_or_default()
                    };
                    restore(tx, id, &parse(before), &parse(after), import_id, &mut report)?;
                }
            }
            tx.execute("UPDATE imports SET undone_at = ?2 WHERE id = ?1", params![import_id, tx.now])?;
            Ok(report)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_import_can_be_undone_for_thirty_days_once() {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap();
        assert!(can_undo(at, None, at + Duration::days(29)));
        assert!(!can_undo(at, None, at + Duration::days(30)), "30 days later it is too late");
        assert!(!can_undo(at, Some(at), at + Duration::days(1)), "an undone import is not undone twice");
    }
}
