//! The merchant's data in, out, and never lost (issue 9).
//!
//! - In: `upload` (the window's file, copied piece by piece and mapped), `decode` (text
//!   encodings), `csv_read` (separators, quoted newlines), `source` (CSV, XLSX/XLS/ODS,
//!   Mailchimp's zip; sheet and header row), `workbook` / `workbook_guard` / `workbook_child`
//!   (a workbook's sheet, its parts bounded, read in a child process), `mapping` (headers
//!   recognised, presets), `normalise` (Excel's damage repaired, dates, amounts, consent
//!   words — pure), `rows` (a row → a checked customer, pure), `matching` (the existing
//!   customer a row is, similar names, the columns an import sets), `import` (preview and
//!   import: one transaction, the preview rolled back), `import_row` (what one row writes),
//!   `bulk` (the indexes a large import builds after its rows), `undo` (an import undone
//!   within 30 days), `error_file` (the rows in error, in the file's own encoding and
//!   separator).
//! - Out: `export` (CSV Excel France, CSV standard, XLSX; formulas neutralised),
//!   `access_pack` (everything held about one person, as a zip).
//! - GDPR / Law 25: `erasure` (anonymise, keep salted hashes, applied again after a restore),
//!   `retention` (who to re-consent or anonymise).
//! - Never lost: `backup` (snapshot → verify → rename; compressed, optionally encrypted;
//!   restore with a summary and an undo), `rotation` (which snapshots to keep — pure).
//!
//! Invariants: an import writes in one transaction or not at all; a blank cell never erases;
//! consent is never invented; erased people are never imported again; a backup file is listed
//! only once verified and renamed; a restore never touches the live file before the backup is
//! verified, and keeps a snapshot of what it replaced.

pub mod access_pack;
pub mod backup;
pub mod backup_key;
mod backup_stream;
mod bulk;
pub mod csv_read;
pub mod decode;
pub mod erasure;
pub mod error_file;
pub mod export;
pub mod import;
mod import_row;
pub mod inspect;
pub mod mapping;
mod matching;
pub mod normalise;
mod report;
pub mod restore;
mod restore_outbox;
pub mod retention;
pub mod rotation;
pub mod rows;
pub mod source;
pub mod types;
pub mod undo;
pub mod upload;
pub mod workbook;
pub mod workbook_child;
pub(crate) mod workbook_guard;

pub use decode::TextEncoding;
pub use mapping::{Field, Mapping, Preset};
pub use normalise::DateOrder;
pub use source::{FileFormat, ImportFile, ReadOptions};
pub use types::*;

#[cfg(test)]
mod tests;
