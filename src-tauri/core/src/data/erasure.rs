//! Erasure (GDPR article 17, Québec's Law 25): the person is anonymised — name, contact,
//! address, birthday, notes, tags, the addresses their messages went to, the wording of their
//! consent records, what came back from them by mail (the messages as received, STOP
//! excerpts, satisfaction comments, the merchant's follow-up notes), their place in the
//! search index — while sales, scores and ledger amounts stay for
//! the accounts. Only salted hashes of the email and phone remain (`erasures`), so the person
//! is never imported again; the erasure is applied again after restoring an older backup.
//! Freed pages are overwritten (`secure_delete`), the search index is rebuilt and the WAL
//! truncated so the old text is not left on disk.

use crate::campaigns::suppression::{suppress, SuppressionReason};
use crate::customers::ensure_exists;
use crate::error::Result;
use crate::i18n::tr;
use crate::storage::unlock::Purpose;
use crate::storage::{Store, Tx};
use crate::types::{CustomerId, Outcome};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

/// The address an erased person's sent messages now show.
pub const ERASED_EMAIL: &str = "erased@erased.invalid";

/// The shop's salt for erasure hashes (random, created with the first import or erasure).
pub fn salt(conn: &Connection) -> Result<String> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = 'erasure_salt'", [], |r| r.get(0))
        .optional()?
        .unwrap_or_default())
}

pub(crate) fn ensure_salt(tx: &Tx) -> Result<()> {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('erasure_salt', ?1) ON CONFLICT (key) DO NOTHING",
        [hex::encode(bytes)],
    )?;
    Ok(())
}

/// Rule: the hash of a normalised email or an E.164 phone, salted with the shop's salt.
pub fn hash(salt: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(value.as_bytes());
    hex::encode(h.finalize())
}

/// Whether this email (normalised) or phone (E.164) belongs to someone who was erased.
pub fn is_erased(conn: &Connection, salt: &str, email_norm: Option<&str>, phone: Option<&str>) -> Result<bool> {
    if salt.is_empty() {
        return Ok(false);
    }
    let mut st = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM erasures WHERE email_hash = ?1) OR EXISTS (SELECT 1 FROM erasures WHERE phone_hash = ?2)",
    )?;
    let p = phone.map(|p| hash(salt, p));
    // Addresses erased before emails were compared in NFC (migration 14) were hashed as they
    // were typed: a decomposed accent (NFD) is looked for too.
    let nfd = email_norm.map(|e| unicode_normalization::UnicodeNormalization::nfd(e).collect::<String>());
    for e in [email_norm, nfd.as_deref()].into_iter().flatten() {
        if st.query_row(params![hash(salt, e), p], |r| r.get::<_, bool>(0))? {
            return Ok(true);
        }
    }
    // An address typed with accents half composed, half not, was hashed in that form: its
    // erasure's entry on the suppression list (written again in NFC by migration 14) says it.
    if let Some(e) = email_norm {
        let listed: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM suppressions WHERE email_norm = ?1 AND reason = 'erased')")?
            .query_row([e], |r| r.get(0))?;
        if listed {
            return Ok(true);
        }
    }
    Ok(p.is_some() && st.query_row(params![None::<String>, p], |r| r.get(0))?)
}

/// One recorded erasure (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Erasure {
    pub customer_id: CustomerId,
    pub email_hash: Option<String>,
    pub phone_hash: Option<String>,
    pub at: DateTime<Utc>,
    /// When the erased customer's record was created (ids can be reused after an import is
    /// undone: the same id in an older backup may be someone else).
    #[serde(default)]
    pub customer_created_at: Option<DateTime<Utc>>,
}

/// Erasures recorded after `since`, to apply again to a restored backup.
pub fn erasures_since(conn: &Connection, since: DateTime<Utc>) -> Result<Vec<Erasure>> {
    let mut st = conn.prepare(
        "SELECT e.customer_id, e.email_hash, e.phone_hash, e.at, c.created_at
         FROM erasures e LEFT JOIN customers c ON c.id = e.customer_id WHERE e.at > ?1 ORDER BY e.id",
    )?;
    let rows = st.query_map([since], |r| {
        Ok(Erasure {
            customer_id: r.get(0)?,
            email_hash: r.get(1)?,
            phone_hash: r.get(2)?,
            at: r.get(3)?,
            customer_created_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Anonymise one customer inside `tx`. `record`: write the erasure (with the hashes of the
/// current email and phone); `false` when applying an erasure again after a restore.
pub(crate) fn erase_tx(tx: &mut Tx, id: CustomerId, record: Option<&Erasure>) -> Result<()> {
    ensure_exists(tx, id)?;
    ensure_salt(tx)?;
    let salt = salt(tx)?;
    let (email, phone): (Option<String>, Option<String>) =
        tx.query_row("SELECT email_norm, phone_e164 FROM customers WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let lang = crate::settings::read(tx)?.language;
    let label = tr(lang, "erasure.name", &[("id", id.to_string())]);
    match record {
        None => {
            tx.execute(
                "INSERT INTO erasures (customer_id, email_hash, phone_hash, at) VALUES (?1, ?2, ?3, ?4)",
                params![id, email.as_deref().map(|e| hash(&salt, e)), phone.as_deref().map(|p| hash(&salt, p)), tx.now],
            )?;
        }
        Some(e) => {
            let known: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM erasures WHERE customer_id = ?1 AND at = ?2)",
                params![id, e.at],
                |r| r.get(0),
            )?;
            if !known {
                tx.execute(
                    "INSERT INTO erasures (customer_id, email_hash, phone_hash, at) VALUES (?1, ?2, ?3, ?4)",
                    params![id, e.email_hash, e.phone_hash, e.at],
                )?;
            }
        }
    }
    if let Some(e) = &email {
        // The address is never mailed again: on the suppression list (an opposition list the
        // law lets a shop keep), and as a salted hash above so that no import brings it back.
        suppress(tx, e, SuppressionReason::Erased, "erasure", None, None, None)?;
    }
    tx.execute(
        "UPDATE customers SET first_name = '', last_name = ?2, first_fold = '', last_fold = ?3, email = NULL,
           email_norm = NULL, phone_e164 = NULL, phone_digits = '', address_line1 = NULL, address_line2 = NULL,
           postcode = NULL, city = NULL, birthday_day = NULL, birthday_month = NULL, birthday_year = NULL,
           updated_at = ?4, archived_at = coalesce(archived_at, ?4)
         WHERE id = ?1",
        params![id, label, crate::text::fold(&label), tx.now],
    )?;
    tx.execute("DELETE FROM customer_tags WHERE customer_id = ?1", [id])?;
    tx.execute("DELETE FROM notes WHERE customer_id = ?1", [id])?;
    tx.execute("UPDATE customer_events SET data = '{}' WHERE customer_id = ?1 AND data != '{}'", [id])?;
    tx.execute(
        "UPDATE customer_events SET data = json_set(data, '$.other_name', ?2) WHERE json_extract(data, '$.other_id') = ?1",
        params![id, label],
    )?;
    // What the append-only triggers protect, changed for this one customer only.
    tx.unlocked(Purpose::Erasure, id, |tx| {
        tx.execute("UPDATE consents SET wording = NULL WHERE customer_id = ?1 AND wording IS NOT NULL", [id])?;
        tx.execute(
            "UPDATE campaign_recipients SET email = ?2, email_norm = NULL WHERE customer_id = ?1 AND email != ?2",
            params![id, ERASED_EMAIL],
        )?;
        // Automatic messages: the values a message carried (a voucher, points expiring) and what
        // an occasion was about (a birthday's date, a last visit); the server's words on a failure.
        tx.execute(
            "UPDATE campaign_recipients SET fields = NULL, last_error = NULL
             WHERE customer_id = ?1 AND (fields IS NOT NULL OR last_error IS NOT NULL)",
            [id],
        )?;
        tx.execute("UPDATE automation_occasions SET data = '{}' WHERE customer_id = ?1 AND data <> '{}'", [id])?;
        // A birthday's outbox row names its date (`birthday:2027@03-14`): the date goes.
        tx.execute(
            "UPDATE campaign_recipients SET occasion = substr(occasion, 1, instr(occasion, '@') - 1)
             WHERE customer_id = ?1 AND instr(occasion, '@') > 0",
            [id],
        )?;
        // What came back from the mailbox and the satisfaction survey: the text that may
        // identify or quote the person goes; decisions, scores and dates stay for the figures.
        tx.execute(
            "UPDATE mailbox_messages SET from_addr = NULL, subject = NULL, email_norm = NULL, diagnostic = NULL, raw = NULL
             WHERE customer_id = ?1",
            [id],
        )?;
        tx.execute(
            "UPDATE survey_replies SET comment = NULL, email_norm = NULL
             WHERE customer_id = ?1 AND (comment IS NOT NULL OR email_norm IS NOT NULL)",
            [id],
        )?;
        tx.execute(
            "UPDATE nps_answers SET comment = NULL, reply_from = NULL
             WHERE customer_id = ?1 AND (comment IS NOT NULL OR reply_from IS NOT NULL)",
            [id],
        )?;
        tx.execute(
            "UPDATE nps_followups SET done_note = NULL WHERE customer_id = ?1 AND done_note IS NOT NULL",
            [id],
        )?;
        Ok(())
    })?;
    tx.execute(
        "UPDATE mailbox_stop_requests SET email_norm = ?2, excerpt = NULL WHERE customer_id = ?1",
        params![id, ERASED_EMAIL],
    )?;
    tx.execute("UPDATE cards SET status = 'blocked' WHERE customer_id = ?1 AND status = 'active'", [id])?;
    tx.changes.customer(id);
    Ok(())
}

/// Overwrite what was freed: rebuild the search index's segments and truncate the WAL. A
/// reader that outlasts the busy timeout keeps the log from being truncated (SQLite answers
/// "busy" rather than an error): said in the log, as the earlier page images stay in the WAL
/// until the next truncation (the app's last close deletes it).
pub(crate) fn scrub(conn: &Connection) -> Result<()> {
    conn.execute("INSERT INTO customers_fts (customers_fts) VALUES ('optimize')", [])?;
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if busy != 0 {
        tracing::warn!(
            "erasure: the log could not be truncated (a reader held it); the erased page images go at the next one"
        );
    }
    Ok(())
}

impl Store {
    /// Erase a customer (a GDPR / Law 25 request). Sales and ledgers stay, anonymous.
    pub fn erase_customer(&mut self, id: CustomerId, key: Option<&str>) -> Result<Outcome<()>> {
        self.conn().pragma_update(None, "secure_delete", "ON")?;
        let out = self.transact("data.erase", key, |tx| {
            let done: bool =
                tx.query_row("SELECT EXISTS (SELECT 1 FROM erasures WHERE customer_id = ?1)", [id], |r| r.get(0))?;
            if done {
                return Err(crate::Error::conflict("conflict.already_erased"));
            }
            erase_tx(tx, id, None)?;
            // The records merged into this one are the same person: their name and addresses
            // stay on them otherwise (a merge only marks them), and an import could bring
            // them back.
            let merged: Vec<CustomerId> = tx
                .prepare(
                    "WITH RECURSIVE m(id) AS (
                       SELECT id FROM customers WHERE merged_into = ?1
                       UNION SELECT c.id FROM customers c JOIN m ON c.merged_into = m.id)
                     SELECT id FROM m WHERE id NOT IN (SELECT customer_id FROM erasures)",
                )?
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for other in merged {
                erase_tx(tx, other, None)?;
            }
            tx.changes.purchases = true;
            Ok(())
        });
        if out.as_ref().is_ok_and(|o| !o.replayed) {
            scrub(self.conn())?;
        }
        self.conn().pragma_update(None, "secure_delete", "OFF")?;
        out
    }

    /// Apply erasures recorded elsewhere (the live file, when restoring an older backup).
    pub fn reapply_erasures(&mut self, erasures: &[Erasure]) -> Result<u32> {
        if erasures.is_empty() {
            return Ok(0);
        }
        self.conn().pragma_update(None, "secure_delete", "ON")?;
        let n = self.transact("data.erasures_reapply", None, |tx| {
            let mut n = 0;
            for e in erasures {
                // The same person: the same id *and* the same creation (an id freed by an import
                // undo may belong to someone else in the older file — left alone).
                let created: Option<DateTime<Utc>> = tx
                    .query_row("SELECT created_at FROM customers WHERE id = ?1", [e.customer_id], |r| r.get(0))
                    .optional()?;
                let same = created.is_some_and(|c| e.customer_created_at.is_none_or(|x| x == c));
                if same {
                    erase_tx(tx, e.customer_id, Some(e))?;
                    n += 1;
                }
            }
            Ok(n)
        })?;
        scrub(self.conn())?;
        self.conn().pragma_update(None, "secure_delete", "OFF")?;
        Ok(n.value)
    }
}
