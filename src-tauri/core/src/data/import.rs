//! The import: every row read, checked, matched (normalised email, then phone, then card
//! number) and written inside ONE transaction — all or nothing. The preview runs this same
//! code and rolls back. A blank cell never erases; similar names are reported, never merged;
//! consent comes only from the file (or the merchant's recorded attestation); addresses the
//! file says unsubscribed go to the suppression list; erased people are never imported again;
//! opening balances are ledger entries with reason "import". What each row did is recorded
//! in `import_changes` so the import can be undone.
//!
//! Speed (100,000 rows): the rows are read and checked on a second thread, a bounded queue
//! ahead of the writes; the search index is written once at the end (5,000 customers a
//! statement); a large import (see `builds_indexes_after`) builds the customer indexes it
//! never reads once after its writes, with a larger page cache. All of it inside the one
//! transaction.
//!
//! Memory: the file's bytes once (read as they came), the rows in flight, the report's
//! shown rows, and a 16-byte hash per email, phone and card (`report::Seen`, freed before
//! the indexes are built); the page cache is fixed.

use super::bulk::{builds_indexes_after, restore_cache, BULK_CACHE_KIB, BULK_ROWS, INDEXES_BUILT_AFTER};
use super::csv_read::{Record, RecordError};
use super::erasure;
use super::import_row::{consent_for, create, update, Ctx};
use super::mapping::Field;
use super::matching::{find_match, shared_phone, similar, Found};
use super::normalise::ConsentWord;
use super::report::Seen;
pub use super::report::MAX_REPORTED_ROWS;
use super::rows::{self, ParsedRow, RowContext};
use super::source::ImportFile;
use super::types::*;
use crate::campaigns::suppression;
use crate::customers::{self, ConsentChoice};
use crate::error::{Error, Result};
use crate::i18n::tr;
use crate::storage::{PutBack, Store, Tx};
use crate::types::{CustomerId, Lang, Outcome};
use rusqlite::{params, OptionalExtension};

/// Progress is reported (and cancel checked) every this many rows.
const PROGRESS_EVERY: u32 = 500;
/// How many rows the reader may check ahead of the writes.
const PARSED_AHEAD: usize = 512;
/// The checked rows are handed to the writer this many at a time: one row at a time, the two
/// threads woke each other for every row (a tenth of a large import's time went to that).
const PARSED_BATCH: usize = 128;

/// What a pass over the file produced: the report and, for the file of rows in error, each
/// error's line and reason in the shop's language.
#[derive(Debug, Clone)]
pub struct ImportRun {
    pub report: ImportReport,
    pub errors: Vec<(u32, String)>,
}

/// Called with the progress; returning `false` cancels (nothing is written).
pub type ProgressFn<'a> = &'a mut dyn FnMut(Progress) -> bool;

fn reason_text(lang: Lang, p: &RowProblem) -> String {
    let reason = tr(lang, &format!("import.reason.{}", p.reason), &[]);
    if p.column.starts_with('#') && p.field == Field::Ignore {
        reason
    } else {
        format!("{} : {reason}", p.column)
    }
}

/// One pass over the file inside `tx`: the import (or its preview, when the caller rolls back).
/// Rule: the suppression list is by address, whatever happens to the row (in error, skipped,
/// erased): an unsubscribed, cleaned or blocklisted row's valid address goes on it. Whether it did.
fn suppress_address(tx: &Tx, row: &ParsedRow, file_name: &str) -> Result<bool> {
    match (row.suppress, row.raw_email.as_ref()) {
        (Some(reason), Some(email)) if customers::is_email(email) => {
            suppression::suppress(tx, email, reason, "import", Some(file_name), None, None)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Rule: the name of a row in error as the file wrote it (full name, else first and last
/// name), so the report says whose row it is. Shown as text only; capped.
fn name_as_written(cells: &[String], columns: &[Field]) -> String {
    let pick = |f: Field| columns.iter().zip(cells).filter(|(c, _)| **c == f).find_map(|(_, v)| crate::text::clean(v));
    let name = match pick(Field::FullName) {
        Some(full) => full,
        None => [pick(Field::FirstName), pick(Field::LastName)].into_iter().flatten().collect::<Vec<_>>().join(" "),
    };
    name.chars().take(120).collect()
}

/// Whether a card (of any status) already carries this number.
fn card_taken(tx: &Tx, number: &str) -> Result<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM cards WHERE number = ?1")?
        .query_row([number], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Rule: the customers this import created without a card of the file's get one now, in the
/// order they were created, once every number the file carries is written. Issued row by
/// row, a number of Comptoir's sequence could be one that a later row of the same file
/// brings (an export of another Comptoir shop): that row's printed card would then scan as
/// someone else.
fn issue_deferred_cards(tx: &Tx, import_id: i64) -> Result<()> {
    let mut st = tx.prepare(
        "SELECT customer_id FROM import_changes i WHERE import_id = ?1 AND action = 'created'
         AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.customer_id = i.customer_id) ORDER BY customer_id",
    )?;
    let ids: Vec<CustomerId> = st.query_map([import_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    crate::cards::issue_each(tx, &ids)
}

/// `put_back`: `No` for a preview, whose rollback restores the indexes a large import drops.
pub(crate) fn run(
    tx: &mut Tx,
    file: &ImportFile,
    opts: &ImportOptions,
    progress: ProgressFn,
    put_back: PutBack,
) -> Result<ImportRun> {
    if opts.mapping.columns.iter().all(|f| *f == Field::Ignore) {
        return Err(Error::invalid("mapping", "field.import_mapping_empty"));
    }
    if opts.soft_opt_in.as_ref().is_some_and(|a| a.trim().is_empty() || a.chars().count() > 1000) {
        return Err(Error::invalid("soft_opt_in", "field.import_attestation_invalid"));
    }
    // The readings of the file that failed before this one (a preview's, say) are not its.
    let failed_before = file.failed_readings();
    let settings = crate::settings::read(tx)?;
    let headers = file.headers();
    let row_ctx = RowContext {
        headers: &headers,
        mapping: &opts.mapping,
        shop_country: settings.country,
        shop_lang: settings.language,
        today: tx.now.date_naive(),
        bad_values: opts.bad_values,
        check_formulas: matches!(file.format, super::source::FileFormat::Csv | super::source::FileFormat::MailchimpZip),
    };
    tx.execute(
        "INSERT INTO imports (file_name, format, options, counts, attestation, created_at) VALUES (?1, ?2, ?3, '{}', ?4, ?5)",
        params![file.name, serde_json::to_value(file.format)?.as_str().unwrap_or(""), serde_json::to_string(opts)?, opts.soft_opt_in, tx.now],
    )?;
    let ctx = Ctx {
        file,
        opts,
        lang: settings.language,
        import_id: tx.last_insert_rowid(),
        file_date: tx.now.with_timezone(&chrono::Local).format("%d/%m/%Y").to_string(),
        programme: crate::loyalty::programme(tx)?,
    };
    let currency = settings.currency.code();
    erasure::ensure_salt(tx)?;
    let salt = erasure::salt(tx)?;
    let total = file.data_len() as u32;
    // Most shops have no erasure and no suppression yet: no look-up per row then.
    let any_erasure: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM erasures)", [], |r| r.get(0))?;
    let mut any_suppression: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM suppressions)", [], |r| r.get(0))?;
    // A shop's first import: no customer to find but those of the file's own rows.
    let shop_was_empty: bool = tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM customers)", [], |r| r.get(0))?;
    let mut counts = ImportCounts::default();
    let mut outcomes = super::report::Reported::default();
    let mut errors: Vec<(u32, String)> = Vec::new();
    let mut done = 0u32;
    // Reading and checking the rows (the CSV, dates, phone numbers) runs on a second thread,
    // ahead of the writes; the bounded queue keeps memory flat. Should the writes stop (an
    // error, a cancel), the queue closes and the reader stops at its next row.
    let row_ctx = &row_ctx;
    let bulk = total >= BULK_ROWS && {
        let customers: i64 = tx.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
        builds_indexes_after(total, customers)
    };
    let deferred: &[&str] = if bulk { &INDEXES_BUILT_AFTER } else { &[] };
    if bulk {
        // Its pages stay in memory rather than going to the log and back (the callers put the
        // usual size back, whatever happens).
        tx.pragma_update(None, "cache_size", -BULK_CACHE_KIB)?;
    }
    tx.with_indexes_deferred(deferred, put_back, |tx| {
        // What only the pass over the rows needs lives in it, so it is freed before the indexes
        // are built (their sort is the other peak of a large import's memory).
        // The postcodes with more customers than a new name is compared with whole.
        let mut crowded = std::collections::HashSet::new();
        // The email, phone and card of each row so far, as hashes, with the first line.
        let mut seen = Seen::new();
        std::thread::scope(|scope| -> Result<()> {
            let (sender, parsed) = std::sync::mpsc::sync_channel::<Vec<_>>(PARSED_AHEAD / PARSED_BATCH);
            scope.spawn(move || {
                let mut batch = Vec::with_capacity(PARSED_BATCH);
                for rec in file.data() {
                    // A record with a cell too long is still read without it, for what it
                    // says about its address (an unsubscribe is applied all the same).
                    let item = match rec {
                        Ok(r) => Ok(rows::parse(&r, row_ctx)),
                        Err(RecordError::CellTooLong { line, short }) => {
                            Err((line, "cell_too_long", Some(rows::parse(&Record { line, cells: short }, row_ctx))))
                        }
                        Err(RecordError::Unreadable { line }) => Err((line, "unreadable", None)),
                    };
                    batch.push(item);
                    if batch.len() == PARSED_BATCH
                        && sender.send(std::mem::replace(&mut batch, Vec::with_capacity(PARSED_BATCH))).is_err()
                    {
                        return;
                    }
                }
                if !batch.is_empty() {
                    let _ = sender.send(batch);
                }
            });
            for rec in parsed.into_iter().flatten() {
                done += 1;
                if done.is_multiple_of(PROGRESS_EVERY) && !progress(Progress { done, total }) {
                    return Err(Error::conflict("conflict.import_cancelled"));
                }
                counts.rows += 1;
                let mut row = match rec {
                    Ok(r) => r,
                    Err((line, reason, short)) => {
                        let (mut name, mut suppressed) = (String::new(), false);
                        if let Some(row) = short {
                            name = name_as_written(&row.cells, &opts.mapping.columns);
                            suppressed = suppress_address(tx, &row, &file.name)?;
                            any_suppression |= suppressed;
                            counts.suppressed += u32::from(suppressed);
                        }
                        let p = RowProblem {
                            column: String::new(),
                            field: Field::Ignore,
                            reason: reason.into(),
                            value: String::new(),
                            dropped: false,
                        };
                        errors.push((line as u32, tr(ctx.lang, &format!("import.reason.{reason}"), &[])));
                        counts.errors += 1;
                        outcomes.push(RowOutcome {
                            line: line as u32,
                            kind: RowKind::Error,
                            name,
                            customer_id: None,
                            problems: vec![p],
                            duplicate_of_line: None,
                            similar_to: vec![],
                            suppressed,
                        });
                        continue;
                    }
                };
                let mut out = RowOutcome {
                    line: row.line,
                    kind: RowKind::Error,
                    name: row
                        .customer
                        .as_ref()
                        .map(|n| customers::display_name(&n.first_name, &n.last_name))
                        .unwrap_or_default(),
                    customer_id: None,
                    problems: row.problems.clone(),
                    duplicate_of_line: None,
                    similar_to: Vec::new(),
                    suppressed: false,
                };
                out.suppressed = suppress_address(tx, &row, &file.name)?;
                any_suppression |= out.suppressed;
                let Some(n) = row.customer.as_ref() else {
                    out.name = name_as_written(&row.cells, &opts.mapping.columns);
                    counts.errors += 1;
                    counts.suppressed += u32::from(out.suppressed);
                    errors.push((
                        row.line,
                        row.problems.iter().map(|p| reason_text(ctx.lang, p)).collect::<Vec<_>>().join(" ; "),
                    ));
                    outcomes.push(out);
                    continue;
                };
                if any_erasure
                    && erasure::is_erased(
                        tx,
                        &salt,
                        n.email_norm.as_deref(),
                        n.phone.as_ref().map(|p| p.e164.as_str()),
                    )?
                {
                    counts.erased += 1;
                    out.kind = RowKind::Erased;
                    out.name = String::new();
                    outcomes.push(out);
                    continue;
                }
                let suppressed_already = match &n.email_norm {
                    Some(e) if any_suppression || out.suppressed => suppression::is_suppressed(tx, e)?.is_some(),
                    _ => false,
                };
                if suppressed_already && row.consent == ConsentWord::Granted {
                    out.problems.push(RowProblem {
                        column: String::new(),
                        field: Field::Consent,
                        reason: "suppressed".into(),
                        value: String::new(),
                        dropped: true,
                    });
                }
                out.suppressed |= suppressed_already;
                let (email, phone) = (n.email_norm.as_deref(), n.phone.as_ref().map(|p| p.e164.as_str()));
                let name_from_email = n.email.as_deref() == Some(n.last_name.as_str()) && n.first_name.is_empty();
                // In a shop that had no customer, a row bringing no email, phone or card an
                // earlier row brought finds no one: the look-ups are skipped (`Seen::may_know`).
                let found = if shop_was_empty && !seen.may_know(email, phone, row.card.as_deref()) {
                    Found::default()
                } else {
                    find_match(tx, n, row.card.as_deref())?
                };
                // The in-file report follows the matching: a row whose phone the matching found
                // under another person's email, or under two people's, is not the same person
                // as an earlier row by that phone; a row the matching took for the same
                // customer as an earlier row is (two emails on one customer without email,
                // under "skip").
                let by_phone = phone.filter(|_| found.shared_phone.is_none());
                // A card the matching found on someone the row is not does not make the row
                // an earlier row's person either.
                let by_card = row.card.as_deref().filter(|_| !found.card_of_another);
                out.duplicate_of_line = seen
                    .same_person(email, by_phone, by_card)
                    .or_else(|| found.id.and_then(|id| seen.same_customer(id)));
                seen.remember(email, phone, row.card.as_deref(), found.shared_phone.is_some(), row.line);
                if let Some(id) = found.id {
                    seen.remember_customer(id, row.line);
                }
                match found.id {
                    Some(id) => {
                        out.customer_id = Some(id);
                        if row.points.is_some() || row.stamps.is_some() {
                            out.problems.push(RowProblem {
                                column: String::new(),
                                field: Field::Points,
                                reason: "balance_not_for_existing".into(),
                                value: String::new(),
                                dropped: true,
                            });
                        }
                        let current = customers::current_consent(tx, id)?.map(|c| c.choice);
                        let consent = consent_for(&ctx, &row, suppressed_already || out.suppressed, current);
                        if opts.matching == MatchPolicy::Skip {
                            // A refusal or an unsubscribe is recorded even for a skipped customer.
                            if let Some(c) = consent.filter(|c| c.choice == ConsentChoice::Refused) {
                                customers::insert_consent(tx, id, &c)?;
                                counts.consents += 1;
                            }
                            out.kind = RowKind::Skipped;
                            counts.skipped += 1;
                        } else if update(tx, &ctx, id, &row, n, consent.as_ref(), name_from_email, currency)? {
                            out.kind = RowKind::Update;
                            counts.updated += 1;
                            counts.consents += u32::from(consent.is_some());
                        } else {
                            out.kind = RowKind::Unchanged;
                            counts.unchanged += 1;
                        }
                    }
                    None => {
                        let consent = consent_for(&ctx, &row, suppressed_already || out.suppressed, None);
                        // A number already on a card (replaced, blocked, a merged customer's,
                        // or someone else's by name: see `find_match`) is not given twice:
                        // the customer gets a card of their own, and the number goes to their
                        // notes and the report.
                        let taken = match &row.card {
                            Some(c) => card_taken(tx, c)?,
                            None => false,
                        };
                        if let Some(c) = if taken { row.card.take() } else { None } {
                            let p = RowProblem {
                                column: row.card_column.clone(),
                                field: Field::CardNumber,
                                reason: "card_taken".into(),
                                value: c,
                                dropped: true,
                            };
                            row.problems.push(p.clone());
                            out.problems.push(p);
                        }
                        let id = create(tx, &ctx, &row, n, consent.as_ref(), currency)?;
                        out.similar_to = similar(tx, n, id, &mut crowded)?;
                        if let Some(other) = found.shared_phone {
                            // Kept apart from the customer who has this phone under another
                            // email, and said so.
                            match out.similar_to.iter_mut().find(|s| s.id == other) {
                                Some(s) => s.same_phone = true,
                                None => out.similar_to.insert(0, shared_phone(tx, other)?),
                            }
                            counts.shared_phones += 1;
                        }
                        out.customer_id = Some(id);
                        out.kind = RowKind::New;
                        counts.new += 1;
                        counts.consents += u32::from(consent.is_some());
                        counts.points += row.points.unwrap_or(0);
                        counts.stamps += row.stamps.unwrap_or(0);
                    }
                }
                counts.with_dropped_values += u32::from(
                    out.problems
                        .iter()
                        .any(|p| p.dropped && p.reason != "balance_not_for_existing" && p.reason != "suppressed"),
                );
                counts.duplicates_in_file += u32::from(out.duplicate_of_line.is_some());
                counts.similar_names += u32::from(out.similar_to.iter().any(|s| !s.same_phone));
                counts.suppressed += u32::from(out.suppressed);
                outcomes.push(out);
            }
            // A workbook whose reader stopped halfway gave only part of its rows: nothing is
            // kept (the rows read so far are rolled back with the transaction).
            if let Some(e) = file.failure_since(failed_before) {
                return Err(e);
            }
            issue_deferred_cards(tx, ctx.import_id)?;
            // The last tick, and the last chance to cancel, before the indexes are built.
            if !progress(Progress { done: total, total }) {
                return Err(Error::conflict("conflict.import_cancelled"));
            }
            Ok(())
        })
    })?;
    let (outcomes, truncated) = outcomes.finish();
    tx.execute(
        "UPDATE imports SET counts = ?2 WHERE id = ?1",
        params![ctx.import_id, serde_json::to_string(&counts)?],
    )?;
    Ok(ImportRun {
        report: ImportReport {
            import_id: Some(ctx.import_id),
            counts,
            rows: outcomes,
            truncated,
            refused: false,
            date_orders: opts.mapping.date_orders.clone(),
        },
        errors,
    })
}

impl Store {
    /// What the import would do, row by row: the same code as the import, rolled back.
    pub fn import_preview(
        &mut self,
        file: &ImportFile,
        opts: &ImportOptions,
        progress: ProgressFn,
    ) -> Result<ImportRun> {
        let run =
            self.rehearse(|tx| tx.with_search_index_paused(false, |tx| run(tx, file, opts, progress, PutBack::No)));
        restore_cache(self);
        let mut run = run?;
        run.report.import_id = None;
        Ok(run)
    }

    /// Import the file: everything or nothing. With "refuse all", rows in error mean nothing
    /// is written and the report says so.
    pub fn import_run(
        &mut self,
        file: &ImportFile,
        opts: &ImportOptions,
        key: Option<&str>,
        progress: ProgressFn,
    ) -> Result<Outcome<ImportRun>> {
        let mut held: Option<ImportRun> = None;
        let result = self.transact("data.import", key, |tx| {
            // A bulk write: the search index is written once at the end (storage::search_index).
            let r = tx.with_search_index_paused(true, |tx| run(tx, file, opts, progress, PutBack::Yes))?;
            let refused = opts.on_errors == OnErrors::RefuseAll && r.report.counts.errors > 0;
            let mut summary = r.report.clone();
            summary.rows = Vec::new();
            held = Some(r);
            if refused {
                return Err(Error::conflict("conflict.import_refused"));
            }
            Ok(summary)
        });
        restore_cache(self);
        match result {
            Ok(out) => {
                let run = match held {
                    Some(r) => r,
                    None => ImportRun { report: out.value.clone(), errors: Vec::new() },
                };
                Ok(Outcome { value: run, changes: out.changes, replayed: out.replayed })
            }
            Err(Error::Conflict { key: "conflict.import_refused", .. }) => {
                let mut run = held.expect("the pass ran before refusing");
                run.report.import_id = None;
                run.report.refused = true;
                Ok(Outcome { value: run, changes: Default::default(), replayed: false })
            }
            Err(e) => Err(e),
        }
    }
}
