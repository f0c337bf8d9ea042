//! What the mapping screen shows about an opened file: encoding, separator, sheets, header
//! row, a sample, the recognised columns and the date order found in each date column.

use super::mapping::{self, Field, Mapping};
use super::normalise::{infer_date_order, DateOrder};
use super::source::{last_used, ImportFile};
use super::types::FileInfo;
use crate::types::Lang;

/// Rows read to decide a date column's order.
const DATE_SAMPLE: usize = 20_000;
/// Rows after the header row looked through for columns holding a value (a column without a
/// header whose first value comes after the rows the screen shows).
const WIDTH_SAMPLE: usize = 2_000;

/// The date order of each date column of `mapping` (`None` for other columns), and the
/// columns whose values contradict each other.
pub fn date_orders(file: &ImportFile, columns: &[Field], lang: Lang) -> (Vec<Option<DateOrder>>, Vec<u32>) {
    let default = match lang {
        Lang::Fr => DateOrder::DayMonth,
        Lang::En => DateOrder::MonthDay,
    };
    let mut orders = vec![None; columns.len()];
    let mut ambiguous = Vec::new();
    for (i, f) in columns.iter().enumerate() {
        if *f != Field::Birthday {
            continue;
        }
        let values: Vec<String> =
            file.data().take(DATE_SAMPLE).filter_map(|r| r.ok()).filter_map(|r| r.cells.get(i).cloned()).collect();
        match infer_date_order(values.iter().map(String::as_str), default) {
            Some(o) => orders[i] = Some(o),
            None => {
                orders[i] = Some(default);
                ambiguous.push(i as u32);
            }
        }
    }
    (orders, ambiguous)
}

/// Rule: the mapping screen shows the columns up to the last one with a header or a value in
/// the rows after the header row that it looks through ([`WIDTH_SAMPLE`]), [`MAX_SHOWN_COLUMNS`]
/// at most. A sheet Excel
/// once saw a value far to the right of gives a CSV whose every line runs to that column (16,384
/// cells, all empty): a list that long would freeze the screen, and its empty columns hold
/// nothing to map. The columns not shown are ignored by the import (the mapping is shorter than
/// the rows, and a cell past the mapping is not read), and the screen says how many there are.
/// A column with values but no header (a phone typed to the right of the named columns) is
/// shown too, under "column N", so that it can be mapped.
pub fn shown_width(headers: &[String], rows: &[Vec<String>]) -> usize {
    used_width(headers, rows).min(MAX_SHOWN_COLUMNS)
}

/// The columns up to the last one with a header or a sampled value.
fn used_width(headers: &[String], rows: &[Vec<String>]) -> usize {
    rows.iter().map(|r| last_used(r)).chain([last_used(headers)]).max().unwrap_or(0)
}

/// The columns up to the last holding a value in the first [`WIDTH_SAMPLE`] data rows (as
/// noted when a workbook was opened, without reading it again).
fn data_width(file: &ImportFile) -> usize {
    use super::csv_read::RecordError;
    if let Some(w) = file.noted_data_width(WIDTH_SAMPLE) {
        return w;
    }
    file.data()
        .take(WIDTH_SAMPLE)
        .map(|r| match r {
            Ok(r) => last_used(&r.cells),
            Err(RecordError::CellTooLong { short, .. }) => last_used(&short),
            Err(RecordError::Unreadable { .. }) => 0,
        })
        .max()
        .unwrap_or(0)
}

/// The widest mapping the screen shows (customer files use a few dozen columns).
pub const MAX_SHOWN_COLUMNS: usize = super::workbook::MAX_COLUMNS;

/// The lines read as Windows-1252 in a UTF-8 file that the mapping screen names (the rest are
/// counted).
pub const MAX_STRAY_LINES_SHOWN: usize = 10;

impl ImportFile {
    pub fn info(&self, lang: Lang) -> FileInfo {
        let mut headers = self.headers();
        let mut sample = self.sample(self.header_row + 11);
        let rows = sample.get(self.header_row + 1..).unwrap_or_default();
        let used = used_width(&headers, rows).max(data_width(self));
        let width = used.min(MAX_SHOWN_COLUMNS);
        let used = used.max(headers.len());
        let hidden_columns = used.saturating_sub(width) as u32;
        headers.resize(width, String::new());
        for row in &mut sample {
            row.truncate(width);
        }
        let (preset, columns) = mapping::suggest(&headers);
        let (date_orders, ambiguous_dates) = date_orders(self, &columns, lang);
        let (stray_line_count, stray_lines) = self.stray_lines(MAX_STRAY_LINES_SHOWN);
        FileInfo {
            name: self.name.clone(),
            format: self.format,
            encoding: self.encoding,
            delimiter: self.delimiter.map(|d| if d == b'\t' { "\\t".to_string() } else { (d as char).to_string() }),
            sheets: self.sheets.clone(),
            sheet: self.sheet as u32,
            header_row: self.header_row as u32,
            rows: self.data_len() as u32,
            headers,
            hidden_columns,
            sample,
            preset,
            mapping: Mapping { columns, date_orders },
            ambiguous_dates,
            stray_line_count: u32::try_from(stray_line_count).unwrap_or(u32::MAX),
            stray_lines,
        }
    }
}
