//! What one row of an import writes (part of `import`, inside its one transaction): a new
//! customer, or the fields an existing one gets under the merchant's choice (skip, fill empty
//! fields, overwrite — a blank cell never erases), its consent record (never invented: only
//! the file's own column or the merchant's attestation), its opening balances (ledger entries
//! with reason "import", never edited balances), and what changed, in `import_changes`, for
//! the undo.

use super::mapping::Field;
use super::matching::{current_values, set_column, values_of};
use super::normalise::ConsentWord;
use super::rows::ParsedRow;
use super::source::ImportFile;
use super::types::*;
use crate::customers::{self, ConsentChoice, ConsentInput, ConsentSource, Normalized};
use crate::error::Result;
use crate::i18n::tr;
use crate::storage::Tx;
use crate::types::{CustomerId, Lang};
use rusqlite::{params, OptionalExtension};
use serde_json::{json, Map, Value};

pub(super) struct Ctx<'a> {
    pub file: &'a ImportFile,
    pub opts: &'a ImportOptions,
    pub lang: Lang,
    pub import_id: i64,
    pub file_date: String,
    pub programme: crate::loyalty::Programme,
}

impl Ctx<'_> {
    pub(super) fn consent_wording(&self, value: &str) -> String {
        tr(
            self.lang,
            "import.consent_wording",
            &[("file", self.file.name.clone()), ("date", self.file_date.clone()), ("value", value.to_string())],
        )
    }
    pub(super) fn notes_for(&self, row: &ParsedRow, currency: &str) -> Option<String> {
        let mut lines: Vec<String> = Vec::new();
        for n in &row.notes {
            match n.strip_prefix("\u{1f}spent:").and_then(|c| c.parse::<i64>().ok()) {
                Some(c) => lines.push(tr(
                    self.lang,
                    "import.note_spent",
                    &[
                        ("file", self.file.name.clone()),
                        ("amount", format!("{}.{:02} {currency}", c / 100, (c % 100).abs())),
                    ],
                )),
                None => lines.push(n.clone()),
            }
        }
        for p in row.problems.iter().filter(|p| p.dropped && !p.value.is_empty()) {
            lines.push(tr(
                self.lang,
                "import.note_dropped",
                &[("file", self.file.name.clone()), ("column", p.column.clone()), ("value", p.value.clone())],
            ));
        }
        let body = lines.join("\n");
        crate::text::clean_multiline(&body).map(|b| b.chars().take(customers::MAX_NOTE).collect())
    }
}

fn consent_value(row: &ParsedRow, opts: &ImportOptions) -> String {
    opts.mapping
        .columns
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f, Field::Consent | Field::Unsubscribed))
        .filter_map(|(i, _)| row.cells.get(i).map(|c| crate::text::visible(c).trim().to_string()))
        .find(|c| !c.is_empty())
        .unwrap_or_default()
}

/// The consent record this row brings, if any: a clear yes (unless the address is suppressed or
/// the customer refused before), a no or an unsubscribe (always), or the merchant's attestation.
pub(super) fn consent_for(
    ctx: &Ctx,
    row: &ParsedRow,
    suppressed: bool,
    current: Option<ConsentChoice>,
) -> Option<ConsentInput> {
    let value = consent_value(row, ctx.opts);
    let (choice, wording) = match row.consent {
        ConsentWord::Granted if suppressed || current == Some(ConsentChoice::Refused) => return None,
        ConsentWord::Granted => (ConsentChoice::Express, ctx.consent_wording(&value)),
        ConsentWord::Refused | ConsentWord::Suppress(_) => (ConsentChoice::Refused, ctx.consent_wording(&value)),
        ConsentWord::Unknown => match &ctx.opts.soft_opt_in {
            Some(att) if !suppressed && current.is_none() => {
                (ConsentChoice::ExistingCustomer, format!("{} — {}", ctx.consent_wording(""), att))
            }
            _ => return None,
        },
    };
    if current == Some(choice) {
        return None;
    }
    Some(ConsentInput { choice, source: ConsentSource::Import, wording })
}

fn add_points(tx: &Tx, ctx: &Ctx, id: CustomerId, points: Option<i64>, stamps: Option<i64>) -> Result<()> {
    if let Some(p) = points {
        let expires = crate::loyalty::rules::expiry_date(&ctx.programme.expiry, tx.now);
        tx.prepare_cached(
            "INSERT INTO points_ledger (customer_id, at, kind, points, expires_at, reason) VALUES (?1, ?2, 'adjust', ?3, ?4, 'import')",
        )?
        .execute(params![id, tx.now, p, expires])?;
    }
    if let Some(s) = stamps {
        tx.prepare_cached(
            "INSERT INTO stamps_ledger (customer_id, at, kind, stamps, reason) VALUES (?1, ?2, 'adjust', ?3, 'import')",
        )?
        .execute(params![id, tx.now, s])?;
    }
    Ok(())
}

/// Create the customer a row describes.
pub(super) fn create(
    tx: &mut Tx,
    ctx: &Ctx,
    row: &ParsedRow,
    n: &Normalized,
    consent: Option<&ConsentInput>,
    currency: &str,
) -> Result<CustomerId> {
    customers::write_fields(tx, customers::INSERT_CUSTOMER, n, None)?;
    let id = tx.last_insert_rowid();
    if !n.tags.is_empty() {
        customers::write_tags(tx, id, &n.tags)?;
    }
    // The file's card number (checked free by the caller). A customer without one gets a card
    // of Comptoir's numbering after every row is written (`issue_deferred_cards`).
    if let Some(c) = &row.card {
        tx.prepare_cached("INSERT INTO cards (customer_id, number, status, issued_at) VALUES (?1, ?2, 'active', ?3)")?
            .execute(params![id, c, tx.now])?;
    }
    if let Some(c) = consent {
        customers::insert_consent(tx, id, c)?;
    }
    if let Some(body) = ctx.notes_for(row, currency) {
        customers::insert_note(tx, id, &body)?;
    }
    add_points(tx, ctx, id, row.points, row.stamps)?;
    customers::write_event(tx, id, "created", json!({ "import": ctx.import_id, "file": ctx.file.name }))?;
    tx.prepare_cached("INSERT INTO import_changes (import_id, customer_id, action) VALUES (?1, ?2, 'created')")?
        .execute(params![ctx.import_id, id])?;
    tx.changes.customer(id);
    Ok(id)
}

/// Bring an existing customer up to date with a row; `true` when anything changed.
#[allow(clippy::too_many_arguments)]
pub(super) fn update(
    tx: &mut Tx,
    ctx: &Ctx,
    id: CustomerId,
    row: &ParsedRow,
    n: &Normalized,
    consent: Option<&ConsentInput>,
    name_from_email: bool,
    currency: &str,
) -> Result<bool> {
    let current = current_values(tx, id)?;
    let overwrite = ctx.opts.matching == MatchPolicy::Overwrite;
    let given = |f: Field| row.given.contains(&f);
    let mut before = Map::new();
    let mut after = Map::new();
    for (col, new) in values_of(n) {
        let Some(new) = new else { continue };
        let wanted = match col {
            "first_name" | "last_name" => !name_from_email,
            "country" => given(Field::Country) || given(Field::Postcode),
            "language" => given(Field::Language),
            _ => true,
        };
        let old = current.get(col).and_then(Value::as_str);
        // The same address in other letters is the same address.
        let same = match (col, old) {
            ("email", Some(o)) => crate::text::normalize_email(o) == crate::text::normalize_email(&new),
            _ => old == Some(new.as_str()),
        };
        let set = wanted && !same && (overwrite || old.is_none());
        if set {
            before.insert(col.to_string(), current.get(col).cloned().unwrap_or(Value::Null));
            after.insert(col.to_string(), Value::String(new.clone()));
            set_column(tx, id, col, Some(&new))?;
        }
    }
    let fields: Vec<String> = after.keys().cloned().collect();
    let existing_tags: Vec<String> = customers::tags_of(tx, id)?.iter().map(|t| crate::text::fold(t)).collect();
    let new_tags: Vec<String> =
        n.tags.iter().filter(|t| !existing_tags.contains(&crate::text::fold(t))).cloned().collect();
    if !new_tags.is_empty() && existing_tags.len() + new_tags.len() <= customers::MAX_TAGS {
        let mut st =
            tx.prepare_cached("INSERT OR IGNORE INTO customer_tags (customer_id, tag, tag_fold) VALUES (?1, ?2, ?3)")?;
        for t in &new_tags {
            st.execute(params![id, t, crate::text::fold(t)])?;
        }
        after.insert("tags_added".into(), json!(new_tags));
    }
    if let Some(body) = ctx.notes_for(row, currency) {
        let same: bool = tx
            .prepare_cached("SELECT 1 FROM notes WHERE customer_id = ?1 AND body = ?2")?
            .query_row(params![id, body], |_| Ok(()))
            .optional()?
            .is_some();
        if !same {
            let note = customers::insert_note(tx, id, &body)?;
            after.insert("notes_added".into(), json!([note]));
        }
    }
    if let Some(c) = consent {
        let prev = customers::current_consent(tx, id)?.map(|c| c.choice.code());
        customers::insert_consent(tx, id, c)?;
        before.insert("consent".into(), json!(prev));
        after.insert("consent".into(), json!(c.choice.code()));
    }
    if after.is_empty() {
        return Ok(false);
    }
    if !fields.is_empty() {
        tx.execute("UPDATE customers SET updated_at = ?2 WHERE id = ?1", params![id, tx.now])?;
        customers::write_event(tx, id, "edited", json!({ "fields": fields, "import": ctx.import_id }))?;
    }
    tx.prepare_cached(
        "INSERT INTO import_changes (import_id, customer_id, action, before, after) VALUES (?1, ?2, 'updated', ?3, ?4)
         ON CONFLICT (import_id, customer_id) DO NOTHING",
    )?
    .execute(params![ctx.import_id, id, Value::Object(before).to_string(), Value::Object(after).to_string()])?;
    tx.changes.customer(id);
    Ok(true)
}
