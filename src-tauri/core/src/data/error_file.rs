//! The rows in error, as a file the merchant fixes in Excel and imports again: the same
//! encoding and separator as the file they brought (a workbook's errors come as a French Excel
//! CSV), the header row, then each row in error as it was typed, with an added "Erreur" column
//! (one column for all lines, after the widest of them).
//! A UTF-8 or UTF-16 file starts with its byte-order mark, for Excel to read its accents.
//! A file whose reading stopped halfway (a workbook's reader that failed) gives no error file.

use super::csv_read;
use super::decode::{self, TextEncoding};
use super::source::{FileFormat, ImportFile};
use crate::error::Result;
use crate::i18n::tr;
use crate::types::Lang;
use std::collections::HashMap;

/// The file's bytes and its suggested name.
pub fn error_file(file: &ImportFile, errors: &[(u32, String)], lang: Lang) -> Result<(Vec<u8>, String)> {
    let failed_before = file.failed_readings();
    let by_line: HashMap<u32, &str> = errors.iter().map(|(l, r)| (*l, r.as_str())).collect();
    let mut rows: Vec<Vec<String>> = vec![file.headers()];
    let mut reasons: Vec<&str> = Vec::new();
    for rec in file.data() {
        let (line, cells) = match rec {
            Ok(r) => (r.line as u32, r.cells),
            // A record with a cell too long comes back with its other cells (the long one
            // empty), so the merchant finds the row; one that could not be read at all, empty.
            Err(csv_read::RecordError::CellTooLong { line, short }) => (line as u32, short),
            Err(csv_read::RecordError::Unreadable { line }) => (line as u32, Vec::new()),
        };
        if let Some(reason) = by_line.get(&line) {
            rows.push(cells);
            reasons.push(reason);
        }
    }
    // A workbook whose reader stopped halfway: a file missing rows in error is not given.
    if let Some(e) = file.failure_since(failed_before) {
        return Err(e);
    }
    // "Erreur" is one column for every line: after the widest row (a row wider than its
    // header — a stray cell past the last named column — would otherwise push its reason
    // one column further than the header's "Erreur", or land it under another header).
    // Trailing empty cells are not counted (Excel's CSV of a sheet once used far to the right
    // runs every line to its 16,384th column, where an "Erreur" would be past its last).
    for row in rows.iter_mut() {
        while row.last().is_some_and(|c| c.trim().is_empty()) {
            row.pop();
        }
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    for (i, row) in rows.iter_mut().enumerate() {
        row.resize(width, String::new());
        row.push(if i == 0 { tr(lang, "import.error_column", &[]) } else { reasons[i - 1].to_string() });
    }
    let (delimiter, encoding) = match file.format {
        // UTF-16 comes back little-endian, Excel's own (it reads a big-endian file badly).
        FileFormat::Csv => match file.encoding.unwrap_or(TextEncoding::Utf8) {
            TextEncoding::Utf16be => (file.delimiter.unwrap_or(b';'), TextEncoding::Utf16le),
            e => (file.delimiter.unwrap_or(b';'), e),
        },
        _ => (b';', TextEncoding::Utf8),
    };
    let text = csv_read::write_rows(&rows, delimiter);
    // A Unicode file always starts with its byte-order mark, even when the merchant's had none
    // (a web shop's UTF-8 export): without it Excel reads UTF-8 as Windows-1252 and the accents
    // the merchant is asked to fix come out garbled. The importer leaves the mark out.
    let mut bytes = encoding.bom().to_vec();
    bytes.extend(decode::encode(&text, encoding));
    let stem = file.name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&file.name);
    Ok((bytes, format!("{stem} - {}.csv", tr(lang, "import.error_file_suffix", &[]))))
}
