//! Checks a zipped workbook (XLSX, ODS) before calamine opens it, so that a small hostile
//! file cannot make the app ask for more memory than the machine has.
//!
//! Invariants:
//! - A part of the zip other than a worksheet (shared strings, styles, the workbook itself)
//!   declares at most [`MAX_PART`] bytes unpacked: calamine reads those parts whole into
//!   memory. The zip reader stops a part at the size it declares, so the check holds for the
//!   bytes actually unpacked. XLSX worksheets are streamed (see `workbook`) and may be larger,
//!   but only under `xl/worksheets/` of a package whose workbook is `xl/` (calamine reads the
//!   shared strings and styles beside the workbook the package names).
//! - An ODS workbook's sheets expand to at most [`MAX_ODS_BYTES`]: calamine reads every sheet
//!   whole when it opens the file, repeating a cell (its text included) as often as
//!   `number-columns-repeated` says (up to 16,384 times a row) and a row as often as
//!   `number-rows-repeated` says. A few kilobytes of such XML ask for terabytes. The estimate
//!   here is an upper bound of calamine's (a cell with any attribute but its style, or any
//!   text, counts as a value; a row's cells are counted once more than it repeats), never
//!   below it.

use crate::error::{Error, Result};
use quick_xml::events::{BytesStart, Event};
use std::io::{BufReader, Cursor};

/// The largest part of a workbook read whole (a million customers' shared strings take
/// about 200 MB).
pub const MAX_PART: u64 = 512 * 1024 * 1024;
/// The most bytes an ODS workbook's sheets may take once calamine has expanded them (a
/// 100,000-customer file of 30 columns takes about 250 MB).
pub const MAX_ODS_BYTES: u64 = 1 << 30;
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
    // A workbook has a few dozen parts; millions of tiny ones cost memory in every reader.
    if zip.len() > MAX_PARTS {
        return Err(too_large());
    }
    // The sheets, streamed, may be larger, but only where a workbook keeps them: calamine looks
    // for the shared strings and styles beside the workbook the package names, so a package
    // naming a workbook in `xl/worksheets/` would have them read whole from there.
    let sheets_streamed = office_document_dir(&mut zip).as_deref() == Some("xl/");
    let mut shared_strings = Vec::new();
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(unreadable)?;
        let name = part.name().map_err(unreadable)?.replace('\\', "/").to_ascii_lowercase();
        let sheet =
            (sheets_streamed && name.starts_with("xl/worksheets/") && name.ends_with(".xml")) || name == "content.xml";
        let limit = if name.ends_with("sharedstrings.xml") {
            max_part.min(MAX_SHARED_STRINGS)
        } else if name.ends_with("styles.xml") {
            // Excel's own limit is 64,000 formats: a few MB. calamine keeps ~160 bytes a format.
            max_part.min(MAX_STYLES)
        } else if name.ends_with(".rels") || name.ends_with("workbook.xml") || name.ends_with("manifest.xml") {
            // Relationships, the list of sheets, the manifest: kilobytes in a real file.
            max_part.min(MAX_SMALL_PART)
        } else {
            max_part
        };
        if !sheet && part.size() > limit {
            return Err(too_large());
        }
        if name.ends_with("sharedstrings.xml") {
            shared_strings.push((i, part.size()));
        }
    }
    for (i, size) in shared_strings {
        check_string_count(zip.by_index(i).map_err(unreadable)?, size)?;
    }
    Ok(())
}

/// The most bytes of styles read whole (a workbook bloated to Excel's 64,000 formats takes a
/// few MB).
pub const MAX_STYLES: u64 = 32 * 1024 * 1024;
/// The most bytes of the relationships, the workbook's list of sheets or an ODS manifest.
pub const MAX_SMALL_PART: u64 = 16 * 1024 * 1024;
/// The most parts (entries) of a zipped workbook.
pub const MAX_PARTS: usize = 10_000;

/// The most bytes of shared strings read whole (a million customers' take about 200 MB; each
/// string costs calamine 24 bytes beside its text, however short its XML).
pub const MAX_SHARED_STRINGS: u64 = 256 * 1024 * 1024;

/// Rule: the count of strings a shared-strings part announces is no more than its XML can
/// hold (`<si/>` is 5 bytes): calamine reserves room for that many before reading any, and a
/// 60-byte part announcing ten billion asks for 240 GB.
fn check_string_count(part: impl std::io::Read, size: u64) -> Result<()> {
    // `count` is the cells using shared strings (often more than the strings): not checked.
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(part.take(1 << 16)));
    let mut buf = Vec::new();
    loop {
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "sst" => {
                if let Some(a) = e.try_get_attribute("uniqueCount").map_err(unreadable)? {
                    let n: u64 = a.value.trim().parse().map_err(unreadable)?;
                    if n > size / 5 + 1 {
                        return Err(unreadable(()));
                    }
                }
                return Ok(());
            }
            // No `sst` in its first 64 KiB (calamine would look further): refused.
            Ok(Event::Eof) | Err(_) => return Err(unreadable(())),
            _ => {}
        }
        buf.clear();
    }
}

/// The folder of the workbook the package's `_rels/.rels` names (lower case), as calamine
/// finds it; `None` for a package without one (an ODS file), one that cannot be read, or one
/// whose relationships (in any of its copies, whatever their case) name more than one folder:
/// then no part is taken for a streamed sheet.
fn office_document_dir<R: std::io::Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>) -> Option<String> {
    let names: Vec<String> = zip
        .file_names()
        .flatten()
        .filter(|n| n.replace('\\', "/").eq_ignore_ascii_case("_rels/.rels"))
        .map(|n| n.to_string())
        .collect();
    let mut dirs = std::collections::BTreeSet::new();
    for name in names {
        // The package's relationships are a few hundred bytes: a larger part is not read.
        let rels = zip.by_name(&name).ok().filter(|f| f.size() <= 1 << 20)?;
        let mut xml = quick_xml::Reader::from_reader(BufReader::new(rels));
        let mut buf = Vec::new();
        loop {
            match xml.read_event_into(&mut buf).ok()? {
                Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "Relationship" => {
                    let attr = |k: &str| {
                        e.try_get_attribute(k).ok().flatten().and_then(|a| {
                            a.normalized_value(quick_xml::XmlVersion::default()).ok().map(|v| v.to_string())
                        })
                    };
                    if attr("Type").is_some_and(|t| t.ends_with("/relationships/officeDocument")) {
                        let target = attr("Target")?.replace('\\', "/").to_ascii_lowercase();
                        let target = target.strip_prefix('/').unwrap_or(&target);
                        dirs.insert(target.rfind('/').map_or(String::new(), |i| target[..=i].to_string()));
                    }
                }
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
    }
    match dirs.len() {
        1 => dirs.pop_first(),
        _ => None,
    }
}

/// Refuses an ODS workbook whose sheets would take more than [`MAX_ODS_BYTES`] once
/// calamine has expanded them (it reads every sheet when it opens the file), or whose parts
/// read whole are too large.
pub fn check_ods(bytes: &[u8]) -> Result<()> {
    check_parts(bytes)?;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let content = zip.by_name("content.xml").map_err(unreadable)?;
    if content.size() > MAX_CONTENT {
        return Err(too_large());
    }
    if ods_expanded_bytes(BufReader::new(content))? > MAX_ODS_BYTES {
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

/// The largest `content.xml` read (a 100,000-customer sheet of 30 columns is about 150 MB):
/// it bounds too what one text or tag, held whole by the XML reader here, can take.
const MAX_CONTENT: u64 = 512 * 1024 * 1024;

/// What calamine holds per cell besides its text: the value and the formula beside it.
const CELL: u64 = 56;

/// A cell's attributes that hold no value (any other, `office:value`, `table:formula`…, may).
fn holds_value(e: &BytesStart) -> bool {
    e.attributes().flatten().any(|a| {
        !matches!(
            a.key.as_ref(),
            "table:style-name"
                | "table:number-columns-repeated"
                | "table:number-columns-spanned"
                | "table:number-rows-spanned"
                | "table:content-validation-name"
        )
    })
}

/// A row being read: how often it repeats, the column reached, the end of its last value,
/// the bytes of its cells up to that value, and the empty cells waiting for a value.
#[derive(Default)]
struct Row {
    repeats: u64,
    col: u64,
    last: u64,
    bytes: u64,
    pending_empty: u64,
}

/// A cell being read: how often it repeats and its bytes so far (attributes and text).
struct Cell {
    repeats: u64,
    bytes: u64,
    value: bool,
}

/// An upper bound of the bytes calamine allocates for the sheets of an ODS `content.xml`:
/// for each row with a value, its cells (text three times — calamine's sheet, the copy of
/// its range, our records — attributes, and `CELL` each; a run of spaces `text:s` counted at
/// its length, a tab or a line break as one) once as read and once per repeat; for each
/// sheet, the rectangle from its first row with a value to its last (repeats counted) as wide
/// as its widest row, at `CELL` a cell. Rows inside a cell are refused.
pub fn ods_expanded_bytes<R: std::io::BufRead>(content: R) -> Result<u64> {
    let mut xml = quick_xml::Reader::from_reader(content);
    let mut buf = Vec::new();
    let mut total = 0u64;
    let mut depth = 0usize; // of tables
    let (mut rows, mut width, mut first, mut last_row) = (0u64, 0u64, None::<u64>, 0u64);
    let mut row_stack: Vec<Row> = Vec::new();
    let mut cell_stack: Vec<Cell> = Vec::new();
    let finish_cell = |cell: Cell, row: &mut Row| {
        let n = cell.repeats;
        if cell.value {
            row.bytes = row.bytes.saturating_add(row.pending_empty.saturating_mul(CELL)).saturating_add(
                cell.bytes.saturating_mul(3).saturating_add(CELL).saturating_mul(n.min(ODS_MAX_COLUMNS)),
            );
            row.pending_empty = 0;
            row.col = row.col.saturating_add(n).min(ODS_MAX_COLUMNS);
            row.last = row.col;
        } else {
            row.pending_empty = row.pending_empty.saturating_add(n).min(ODS_MAX_COLUMNS);
            row.col = row.col.saturating_add(n).min(ODS_MAX_COLUMNS);
        }
    };
    loop {
        let event = xml.read_event_into(&mut buf).map_err(unreadable)?;
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::Text(t) => {
                if let Some(c) = cell_stack.last_mut() {
                    let t: &str = t.as_ref();
                    c.bytes = c.bytes.saturating_add(t.len() as u64);
                    c.value |= !t.trim().is_empty();
                }
                (None, false)
            }
            Event::GeneralRef(r) => {
                if let Some(c) = cell_stack.last_mut() {
                    let r: &str = r.as_ref();
                    c.bytes = c.bytes.saturating_add(r.len() as u64 + 2);
                    c.value = true;
                }
                (None, false)
            }
            Event::End(e) => {
                match e.name().as_ref() {
                    "table:table-cell" | "table:covered-table-cell" => {
                        if let (Some(cell), Some(row)) = (cell_stack.pop(), row_stack.last_mut()) {
                            finish_cell(cell, row);
                        }
                    }
                    "table:table-row" => {
                        if let Some(row) = row_stack.pop() {
                            if row.last > 0 {
                                total = total.saturating_add(row.bytes.saturating_mul(row.repeats.saturating_add(1)));
                                if row_stack.is_empty() {
                                    width = width.max(row.last);
                                    first.get_or_insert(rows);
                                    last_row = rows.saturating_add(row.repeats);
                                }
                            }
                            if row_stack.is_empty() {
                                rows = rows.saturating_add(row.repeats).min(ODS_MAX_ROWS);
                            }
                        }
                    }
                    "table:table" => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            let span = first.map_or(0, |f| last_row.min(ODS_MAX_ROWS).saturating_sub(f));
                            total = total.saturating_add(span.saturating_mul(width).saturating_mul(CELL));
                            (rows, width, first, last_row) = (0, 0, None, 0);
                        }
                    }
                    _ => {}
                }
                (None, false)
            }
            Event::Eof => break,
            _ => (None, false),
        };
        if let Some(e) = start {
            let name = e.name();
            let name = name.as_ref();
            if let Some(c) = cell_stack.last_mut() {
                // A row or a cell inside a cell: calamine ends the cell at the first inner end
                // and reads the rest as rows of the sheet. No spreadsheet writes it: refused.
                if matches!(name, "table:table-row" | "table:table-cell" | "table:covered-table-cell") {
                    return Err(unreadable(()));
                }
                // A tab, a line break, a paragraph: a character each.
                c.bytes = c.bytes.saturating_add(1);
            }
            match name {
                "table:table" if !empty => depth += 1,
                "table:table-row" => {
                    let row = Row { repeats: repeats(e, "table:number-rows-repeated")?, ..Row::default() };
                    if empty {
                        if row_stack.is_empty() {
                            rows = rows.saturating_add(row.repeats).min(ODS_MAX_ROWS);
                        }
                    } else {
                        row_stack.push(row);
                    }
                }
                "table:table-cell" | "table:covered-table-cell" => {
                    let cell = Cell {
                        repeats: repeats(e, "table:number-columns-repeated")?,
                        bytes: e.attributes_raw().len() as u64,
                        value: holds_value(e),
                    };
                    if empty {
                        if let Some(row) = row_stack.last_mut() {
                            finish_cell(cell, row);
                        }
                    } else {
                        cell_stack.push(cell);
                    }
                }
                // A run of spaces, `c` of them.
                "text:s" => {
                    if let Some(c) = cell_stack.last_mut() {
                        c.bytes = c.bytes.saturating_add(repeats(e, "text:c")?);
                    }
                }
                _ => {}
            }
        }
        buf.clear();
    }
    Ok(total)
}
