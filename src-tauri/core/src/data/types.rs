//! What the import screens send and receive: options, the per-row outcome, the report.

use super::decode::TextEncoding;
use super::mapping::{Field, Mapping, Preset};
use super::normalise::DateOrder;
use super::source::FileFormat;
use crate::types::CustomerId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// An opened file as the mapping screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FileInfo {
    pub name: String,
    pub format: FileFormat,
    pub encoding: Option<TextEncoding>,
    /// `;` `,` `\t` or `|`.
    pub delimiter: Option<String>,
    pub sheets: Vec<String>,
    pub sheet: u32,
    pub header_row: u32,
    pub headers: Vec<String>,
    /// Columns past the last one shown (no header and no value in the sampled rows, or past the
    /// widest mapping shown): ignored by the import.
    pub hidden_columns: u32,
    /// The first rows (the header row and up to 10 after it), to choose the header row.
    pub sample: Vec<Vec<String>>,
    pub rows: u32,
    pub preset: Preset,
    /// The suggested mapping, with the date order found in each date column.
    pub mapping: Mapping,
    /// Date columns whose values contradict each other (some day-first, some month-first).
    pub ambiguous_dates: Vec<u32>,
    /// A file read as UTF-8 but for some lines (pasted from an old Windows program): how many
    /// lines hold bytes read as Windows-1252, and the first of them, for the merchant to check.
    pub stray_line_count: u32,
    pub stray_lines: Vec<u32>,
}

/// When a row matches a customer already in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MatchPolicy {
    /// Leave the existing customer as it is.
    Skip,
    /// Only fill the fields the customer does not have yet.
    FillEmpty,
    /// Replace the customer's fields by the file's (a blank cell never erases).
    Overwrite,
}

/// What to do with a value that cannot be used (an invalid email, an impossible date…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum BadValues {
    /// Import the customer without it; the value is kept in the customer's notes.
    KeepInNotes,
    /// Do not import the row.
    SkipRow,
}

/// What to do when some rows are in error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum OnErrors {
    /// Import the other rows.
    ImportValid,
    /// Import nothing.
    RefuseAll,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportOptions {
    pub mapping: Mapping,
    pub matching: MatchPolicy,
    pub bad_values: BadValues,
    pub on_errors: OnErrors,
    /// The attestation the merchant ticked to treat everyone in the file as existing
    /// customers (soft opt-in), word for word; `None` when not ticked.
    pub soft_opt_in: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    New,
    Update,
    Unchanged,
    /// Matched an existing customer and the merchant chose to skip those.
    Skipped,
    /// Matches a person who was erased: never imported again.
    Erased,
    Error,
}

/// One problem in a row: the column, what it held, and why it was not used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RowProblem {
    pub column: String,
    pub field: Field,
    /// A reason code: `email_invalid`, `phone_invalid`, `postcode_invalid`, `date_impossible`,
    /// `date_unreadable`, `formula`, `number_invalid`, `too_long`, `name_required`,
    /// `cell_too_long`, `unreadable`, `suppressed`, `balance_not_for_existing`.
    pub reason: String,
    pub value: String,
    /// The row was imported without this value (`false`: the row was not imported).
    pub dropped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RowOutcome {
    /// The line of the file where the row starts (spreadsheet row number for a workbook).
    pub line: u32,
    pub kind: RowKind,
    pub name: String,
    pub customer_id: Option<CustomerId>,
    pub problems: Vec<RowProblem>,
    /// An earlier row of the same file names the same person (same email, phone or card).
    pub duplicate_of_line: Option<u32>,
    /// Customers with a very similar name, or with the row's phone under another email
    /// (reported, never merged).
    pub similar_to: Vec<SimilarCustomer>,
    /// The address went (or already was) on the suppression list.
    pub suppressed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SimilarCustomer {
    pub id: CustomerId,
    pub name: String,
    /// Not a similar name: this customer has the row's phone under another email (a phone
    /// shared by two people), so the row was kept apart from them. (False in the reports
    /// recorded before it existed.)
    #[serde(default)]
    pub same_phone: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportCounts {
    pub rows: u32,
    pub new: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub skipped: u32,
    pub erased: u32,
    pub errors: u32,
    /// Rows imported with a value left out (kept in the notes).
    pub with_dropped_values: u32,
    pub duplicates_in_file: u32,
    pub similar_names: u32,
    /// New customers kept apart from an existing one who has their phone under another email.
    /// (0 for the imports recorded before it existed.)
    #[serde(default)]
    pub shared_phones: u32,
    pub suppressed: u32,
    pub consents: u32,
    pub points: i64,
    pub stamps: i64,
}

/// The preview, or what an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportReport {
    /// The import's id (`None` for a preview, or when nothing was written).
    pub import_id: Option<i64>,
    pub counts: ImportCounts,
    /// Rows with something to say (errors, dropped values, duplicates, similar names,
    /// suppressions) first, then the others, at most `MAX_REPORTED_ROWS`.
    pub rows: Vec<RowOutcome>,
    /// More rows than listed.
    pub truncated: bool,
    /// Nothing was written because rows were in error and the merchant chose "refuse all".
    pub refused: bool,
    pub date_orders: Vec<Option<DateOrder>>,
}

/// One past import, for the history screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportRecord {
    pub id: i64,
    pub file_name: String,
    pub created_at: DateTime<Utc>,
    pub counts: ImportCounts,
    pub undone_at: Option<DateTime<Utc>>,
    /// The undo is possible until then (30 days).
    pub undo_until: DateTime<Utc>,
    pub can_undo: bool,
    pub soft_opt_in: bool,
}

/// What an undo did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UndoReport {
    pub removed: u32,
    /// Created by the import but used since (a sale, a note, an edit…): kept.
    pub kept_touched: u32,
    pub restored: u32,
    /// Fields changed again since the import: left as they are now.
    pub fields_kept: u32,
}

/// Progress of long work, reported every few hundred rows. (`ImportProgress` in TypeScript:
/// the campaigns' outbox has its own `Progress`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(rename = "ImportProgress")]
pub struct Progress {
    pub done: u32,
    pub total: u32,
}

/// A file opened for import, kept by the app under `token` until imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OpenedFile {
    pub token: String,
    pub info: FileInfo,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counts_and_similar_customers_of_imports_recorded_before_shared_phones_still_read() {
        let counts: ImportCounts = serde_json::from_str(
            r#"{"rows":3,"new":2,"updated":1,"unchanged":0,"skipped":0,"erased":0,"errors":0,
                "with_dropped_values":0,"duplicates_in_file":0,"similar_names":1,"suppressed":0,
                "consents":2,"points":0,"stamps":0}"#,
        )
        .expect("an older import's counts read (its history and undo show them)");
        assert_eq!((counts.new, counts.updated, counts.shared_phones), (2, 1, 0));
        let similar: SimilarCustomer = serde_json::from_str(r#"{"id":7,"name":"Zoé Vidal"}"#).unwrap();
        assert!(!similar.same_phone, "an older report's similar customer is a similar name");
    }
}
