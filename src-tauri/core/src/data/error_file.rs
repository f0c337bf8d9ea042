//! The rows in error, as a file the merchant fixes in Excel and imports again: the same
//! encoding and separator as the file they brought (a workbook's errors come as a French Excel
//! CSV), the header row, then each row in error as it was typed, with an added "Erreur" column.

use super::csv_read;
use super::decode::{self, TextEncoding};
use super::source::{FileFormat, ImportFile};
use crate::i18n::tr;
use crate::types::Lang;
use std::collections::HashMap;

/// The file's bytes and its suggested name.
pub fn error_file(file: &ImportFile, errors: &[(u32, String)], lang: Lang) -> (Vec<u8>, String) {
    let by_line: HashMap<u32, &str> = errors.iter().map(|(l, r)| (*l, r.as_str())).collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = file.headers();
    header.push(tr(lang, "import.error_column", &[]));
    rows.push(header);
    let width = rows[0].len() - 1;
    for rec in file.data() {
        let (line, mut cells) = match rec {
            Ok(r) => (r.line as u32, r.cells),
            // A record with a cell too long comes back with its other cells (the long one
            // empty), so the merchant finds the row; one that could not be read at all, empty.
            Err(csv_read::RecordError::CellTooLong { line, short }) => (line as u32, short),
            Err(csv_read::RecordError::Unreadable { line }) => (line as u32, Vec::new()),
        };
        if let Some(reason) = by_line.get(&line) {
            cells.resize(width.max(cells.len()), String::new());
            cells.push(reason.to_string());
            rows.push(cells);
        }
    }
    let (delimiter, encoding, bom) = match file.format {
        FileFormat::Csv => (file.delimiter.unwrap_or(b';'), file.encoding.unwrap_or(TextEncoding::Utf8), false),
        _ => (b';', TextEncoding::Utf8, true),
    };
    let text = csv_read::write_rows(&rows, delimiter);
    let mut bytes = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
    bytes.extend(decode::encode(&text, encoding));
    let stem = file.name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&file.name);
    (bytes, format!("{stem} - {}.csv", tr(lang, "import.error_file_suffix", &[])))
}
