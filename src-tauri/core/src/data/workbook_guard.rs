//! Checks a zipped workbook (XLSX, ODS) before calamine opens it, so that a small hostile
//! file cannot make the app ask for more memory than the machine has.
//!
//! Invariants:
//! - A part of the zip other than a worksheet (shared strings, styles, the workbook itself)
//!   declares at most [`MAX_PART`] bytes unpacked: calamine reads those parts whole into
//!   memory. The zip reader stops a part at the size it declares, so the check holds for the
//!   bytes actually unpacked. XLSX worksheets are streamed (see `workbook`) and may be larger.
//! - An ODS sheet expands to at most [`MAX_ODS_CELLS`] cells: calamine reads an ODS sheet
//!   whole, repeating a cell as often as `number-columns-repeated` says (up to 16,384 times a
//!   row) and a row as often as `number-rows-repeated` says. A few kilobytes of such XML ask for
//!   tens of gigabytes. The count here over-estimates calamine's (a cell with content counts
//!   even when calamine would find it empty), never under-estimates it.

use crate::error::{Error, Result};
use quick_xml::events::{BytesStart, Event};
use std::io::{BufReader, Cursor, Read};

/// The largest part of a workbook read whole (a million customers' shared strings take
/// about 200 MB).
pub const MAX_PART: u64 = 512 * 1024 * 1024;
/// The most cells an ODS sheet may expand to (a 100,000-customer file of 30 columns has
/// 3 million; calamine holds about 56 bytes a cell).
pub const MAX_ODS_CELLS: u64 = 10_000_000;
/// Calamine's own limits for an ODS sheet.
const ODS_MAX_COLUMNS: u64 = 16_384;
const ODS_MAX_ROWS: u64 = 1_048_576;

fn unreadable<E>(_: E) -> Error {
    Error::invalid("file", "field.import_file_unreadable")
}

fn too_large() -> Error {
    Error::invalid("file", "field.import_sheet_too_large")
}

/// Refuses a workbook with a part read whole that would unpack past [`MAX_PART`].
pub fn check_parts(bytes: &[u8]) -> Result<()> {
    check_parts_within(bytes, MAX_PART)
}

pub(crate) fn check_parts_within(bytes: &[u8], max_part: u64) -> Result<()> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(unreadable)?;
        let name = part.name().map_err(unreadable)?;
        let sheet = name.starts_with("xl/worksheets/") || name == "content.xml";
        if !sheet && part.size() > max_part {
            return Err(too_large());
        }
    }
    Ok(())
}

/// Refuses an ODS workbook whose sheet `sheet` (0-based) would expand past
/// [`MAX_ODS_CELLS`] cells, or whose parts read whole are too large.
pub fn check_ods(bytes: &[u8], sheet: usize) -> Result<()> {
    check_parts(bytes)?;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let content = zip.by_name("content.xml").map_err(unreadable)?;
    let cells = ods_sheet_cells(BufReader::new(content), sheet)?;
    if cells > MAX_ODS_CELLS {
        return Err(too_large());
    }
    Ok(())
}

fn repeats(e: &BytesStart, name: &str) -> Result<u64> {
    match e.try_get_attribute(name).map_err(unreadable)? {
        Some(a) => a.value.trim().parse().map_err(unreadable),
        None => Ok(1),
    }
}

/// What the sheet `sheet` of an ODS `content.xml` expands to in calamine, at most: the cells
/// of each row up to its last value, plus the rectangle from the first row with a value to
/// the last (repeated rows counted as often as they repeat) as wide as the widest row.
pub fn ods_sheet_cells<R: Read>(content: R, sheet: usize) -> Result<u64> {
    let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(content));
    let mut buf = Vec::new();
    let mut table: Option<usize> = None; // the index of the table being read
    let mut tables = 0usize;
    let (mut pushed, mut width, mut rows) = (0u64, 0u64, 0u64);
    let (mut first_row, mut last_row): (Option<u64>, u64) = (None, 0);
    // The row being read: its repeats, the column reached and the end of its last value.
    let (mut row_repeats, mut col, mut last) = (1u64, 0u64, 0u64);
    loop {
        let event = xml.read_event_into(&mut buf).map_err(unreadable)?;
        let (e, has_content) = match &event {
            Event::Start(e) => (Some(e), true),
            Event::Empty(e) => (Some(e), false),
            Event::End(e) if e.name().as_ref() == "table:table" => {
                if table == Some(sheet) {
                    break;
                }
                table = None;
                buf.clear();
                continue;
            }
            Event::End(e) if table == Some(sheet) && e.name().as_ref() == "table:table-row" => {
                if last > 0 {
                    pushed = pushed.saturating_add(last);
                    width = width.max(last);
                    first_row.get_or_insert(rows);
                    last_row = rows.saturating_add(row_repeats);
                }
                rows = rows.saturating_add(row_repeats).min(ODS_MAX_ROWS);
                buf.clear();
                continue;
            }
            Event::Eof => break,
            _ => (None, false),
        };
        if let Some(e) = e {
            match e.name().as_ref() {
                "table:table" => {
                    table = Some(tables);
                    tables += 1;
                }
                "table:table-row" if table == Some(sheet) => {
                    row_repeats = repeats(e, "table:number-rows-repeated")?;
                    (col, last) = (0, 0);
                    if !has_content {
                        rows = rows.saturating_add(row_repeats).min(ODS_MAX_ROWS);
                    }
                }
                "table:table-cell" | "table:covered-table-cell" if table == Some(sheet) => {
                    let n = repeats(e, "table:number-columns-repeated")?;
                    col = col.saturating_add(n).min(ODS_MAX_COLUMNS);
                    if has_content || e.try_get_attribute("office:value-type").map_err(unreadable)?.is_some() {
                        last = col;
                    }
                }
                _ => {}
            }
        }
        buf.clear();
    }
    let span = first_row.map_or(0, |f| last_row.min(ODS_MAX_ROWS).saturating_sub(f));
    Ok(pushed.saturating_add(span.saturating_mul(width)))
}
