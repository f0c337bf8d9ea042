//! What the mapping screen shows about an opened file: encoding, separator, sheets, header
//! row, a sample, the recognised columns and the date order found in each date column.

use super::mapping::{self, Field, Mapping};
use super::normalise::{infer_date_order, DateOrder};
use super::source::ImportFile;
use super::types::FileInfo;
use crate::types::Lang;

/// Rows read to decide a date column's order.
const DATE_SAMPLE: usize = 20_000;

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

impl ImportFile {
    pub fn info(&self, lang: Lang) -> FileInfo {
        let headers = self.headers();
        let (preset, columns) = mapping::suggest(&headers);
        let (date_orders, ambiguous_dates) = date_orders(self, &columns, lang);
        let sample = self.sample(self.header_row + 11);
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
            sample,
            preset,
            mapping: Mapping { columns, date_orders },
            ambiguous_dates,
        }
    }
}
