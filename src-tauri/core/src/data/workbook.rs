//! A workbook's sheet as records, one per row, for the import.
//!
//! XLSX is streamed: each reading of the sheet opens the workbook again from its bytes (shared,
//! never copied) and walks the sheet's XML cell by cell (calamine's cell reader), holding one
//! row at a time. XLS and ODS have no such reader in calamine: their sheet is read whole, as a
//! range (XLS cannot pass 65,536 × 256 cells; calamine refuses an ODS over 100 million).
//!
//! Invariants:
//! - Records are numbered as the sheet's rows: `line` is the row number a spreadsheet shows.
//!   A row without a value between two rows with values is a blank record, so a record's index
//!   is the same on every reading; the first record is the first row with a value.
//! - A row holds at most [`MAX_COLUMNS`] cells: one stray value far to the right (column XFD)
//!   must not make every row sixteen thousand cells wide (nor, through a range, ask for more
//!   memory than the machine has: a 5 KB file with a value in A1 and in XFD1048576 did).
//! - A reading stops after [`MAX_ROWS`] records, a spreadsheet's own limit.
//! - A cell longer than `csv_read::MAX_CELL` characters makes its record `CellTooLong`, as in
//!   a text file.
//! - XML that cannot be read ends the reading with an `Unreadable` record; the sheet is read
//!   once through when the file is opened (`source`), so such a file is refused before
//!   anything is shown.
//! - These readers run in a child process (`workbook_child`), never in the app's.

use super::csv_read::{Record, RecordError, MAX_CELL};
use super::source::FileBytes;
use crate::error::{Error, Result};
use calamine::{Data, DataRef, Reader, Xlsx, XlsxCellReader, XlsxError};
use self_cell::{self_cell, MutBorrow};
use std::io::Cursor;

/// The widest row read (customer files use a few dozen columns).
pub const MAX_COLUMNS: usize = 1_024;
/// A spreadsheet's own limit of rows.
pub const MAX_ROWS: usize = 1_048_576;

fn unreadable<E>(_: E) -> Error {
    Error::invalid("file", "field.import_file_unreadable")
}

/// A record, or why it could not be read.
pub type ReadRecord = std::result::Result<Record, RecordError>;

fn too_long(c: &str) -> bool {
    c.len() > MAX_CELL && c.chars().count() > MAX_CELL
}

/// The bytes of the file, for calamine's reader.
#[derive(Clone)]
struct Bytes(FileBytes);

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

type Book = Xlsx<Cursor<Bytes>>;
type Cells<'a> = XlsxCellReader<'a, Cursor<Bytes>>;

self_cell!(
    /// An open workbook and its cell reader over one sheet (the reader borrows the workbook's
    /// shared strings and its zip).
    struct SheetCells {
        owner: MutBorrow<Book>,
        #[not_covariant]
        dependent: Cells,
    }
);

/// A cell's text as the import reads it.
pub fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => bool_text(*b),
        // Date cells (in the workbook's 1900 or 1904 system) become ISO dates.
        Data::DateTime(dt) => dt.as_datetime().map(|d| d.date().format("%Y-%m-%d").to_string()).unwrap_or_default(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
    }
}

fn cell_ref_text(d: DataRef<'_>) -> String {
    match d {
        DataRef::SharedString(s) => s.to_string(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s,
        other => cell_text(&Data::from(other)),
    }
}

fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

fn bool_text(b: bool) -> String {
    if b { "oui" } else { "non" }.to_string()
}

/// The sheets of an XLSX workbook, in order, the index of the sheet `sheet` (the first by
/// default) and its records, streamed: the workbook (its shared strings, its styles) is read
/// once for both.
pub fn xlsx_open(bytes: FileBytes, sheet: Option<u32>) -> Result<(Vec<String>, usize, XlsxRows)> {
    let book: Book = Xlsx::new(Cursor::new(Bytes(bytes))).map_err(unreadable)?;
    let names = book.sheet_names();
    if names.is_empty() {
        return Err(Error::invalid("file", "field.import_file_empty"));
    }
    let index = sheet.map(|s| s as usize).unwrap_or(0);
    let name = names.get(index).ok_or_else(|| Error::invalid("sheet", "field.import_sheet_unknown"))?.clone();
    Ok((names, index, rows_of(book, &name)?))
}

/// The records of the sheet `name` of an XLSX workbook, streamed (see the module's header).
pub fn xlsx_records(bytes: FileBytes, name: &str) -> Result<XlsxRows> {
    let book: Book = Xlsx::new(Cursor::new(Bytes(bytes))).map_err(unreadable)?;
    rows_of(book, name)
}

fn rows_of(book: Book, name: &str) -> Result<XlsxRows> {
    let cells = SheetCells::try_new(MutBorrow::new(book), |b| b.borrow_mut().worksheet_cells_reader(name));
    let cells = match cells {
        Ok(c) => Some(c),
        // A chart sheet has no cells: it reads as an empty sheet.
        Err(XlsxError::NotAWorksheet(_)) => None,
        Err(e) => return Err(unreadable(e)),
    };
    Ok(XlsxRows { cells, row: None, next_row: None, cells_of_row: Vec::new(), too_long: false, emitted: 0 })
}

/// The iterator of [`xlsx_records`].
pub struct XlsxRows {
    /// `None` once the sheet is read to its end (or failed).
    cells: Option<SheetCells>,
    /// The row being gathered (0-based), with its cells so far.
    row: Option<u32>,
    /// The row after the last one given, while blank records fill a gap up to `row`.
    next_row: Option<u32>,
    cells_of_row: Vec<String>,
    too_long: bool,
    emitted: usize,
}

impl XlsxRows {
    fn take_row(&mut self, row: u32) -> ReadRecord {
        let line = row as usize + 1;
        let cells = std::mem::take(&mut self.cells_of_row);
        if std::mem::take(&mut self.too_long) {
            let short = cells.into_iter().map(|c| if too_long(&c) { String::new() } else { c }).collect();
            Err(RecordError::CellTooLong { line, short })
        } else {
            Ok(Record { line, cells })
        }
    }

    /// The next record, before the `MAX_ROWS` cut.
    fn step(&mut self) -> Option<ReadRecord> {
        loop {
            // A gap before the row gathered is filled with blank records first.
            if let (Some(next), Some(row)) = (self.next_row, self.row) {
                if next < row {
                    self.next_row = Some(next + 1);
                    return Some(Ok(Record { line: next as usize + 1, cells: Vec::new() }));
                }
            }
            let Some(cells) = self.cells.as_mut() else {
                // The sheet is read: the row gathered last is the last record.
                let row = self.row.take()?;
                return Some(self.take_row(row));
            };
            // The cell's text is made inside: a shared string is borrowed from the workbook, and
            // one too long is not copied (`None`: a shared string of 200 MB in a thousand cells
            // would be copied a thousand times).
            let next = cells.with_dependent_mut(|_, r| {
                r.next_cell().map(|c| {
                    c.map(|c| {
                        let v = c.get_value();
                        let long = match v {
                            DataRef::SharedString(s) => too_long(s),
                            DataRef::String(s) => too_long(s),
                            _ => false,
                        };
                        (c.get_position(), (!long).then(|| cell_ref_text(v.clone())))
                    })
                })
            });
            match next {
                Ok(None) => self.cells = None,
                Err(_) => {
                    self.cells = None;
                    let line = self.row.map(|r| r as usize + 2).unwrap_or(1);
                    self.row = None;
                    self.cells_of_row.clear();
                    return Some(Err(RecordError::Unreadable { line }));
                }
                Ok(Some(((r, c), text))) => {
                    let (text, long) = match text {
                        Some(t) => (t, false),
                        None => (String::new(), true),
                    };
                    // Empty cells (a format without a value) are not the sheet's content.
                    if text.is_empty() && !long {
                        continue;
                    }
                    let mut given = None;
                    match self.row {
                        Some(cur) if cur == r => {}
                        Some(cur) => {
                            // A new row: the one gathered is given, then the gap (rows are in
                            // order in a well-formed sheet; one out of order starts a record
                            // of its own, no gap filled).
                            given = Some(self.take_row(cur));
                            self.next_row = (r > cur).then_some(cur + 1);
                            self.row = Some(r);
                        }
                        None => {
                            self.row = Some(r);
                            self.next_row = None;
                        }
                    }
                    let c = c as usize;
                    if c < MAX_COLUMNS {
                        if self.cells_of_row.len() <= c {
                            self.cells_of_row.resize(c + 1, String::new());
                        }
                        self.too_long |= long || too_long(&text);
                        self.cells_of_row[c] = text;
                    }
                    if given.is_some() {
                        return given;
                    }
                }
            }
        }
    }
}

impl Iterator for XlsxRows {
    type Item = ReadRecord;

    fn next(&mut self) -> Option<Self::Item> {
        if self.emitted >= MAX_ROWS {
            return None;
        }
        let r = self.step()?;
        self.emitted += 1;
        Some(r)
    }
}

/// A workbook's format. XLS and ODS sheets are read whole ([`read_range`]; an XLSX only by the
/// tests, which compare it with the streamed reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whole {
    Xls,
    Ods,
    Xlsx,
}

/// An XLS or ODS sheet (by index; the first by default), read whole: the sheets' names, the
/// index read and its records. The workbook is let go once the sheet is taken from it, and
/// the records are made one at a time from the sheet (the reader's peak is the sheet twice,
/// briefly, while calamine copies it out; never the sheet and all its records besides).
pub fn read_range(bytes: &[u8], format: Whole, sheet: Option<u32>) -> Result<(Vec<String>, usize, WholeRows)> {
    // The reader of the format the file was taken for, never calamine's guess (which tries
    // XLSX first: an "ODS" carrying an XLSX's parts would skip the checks made for an ODS).
    let c = Cursor::new(bytes);
    let mut wb: calamine::Sheets<Cursor<&[u8]>> = match format {
        Whole::Ods => calamine::Sheets::Ods(calamine::Ods::new(c).map_err(unreadable)?),
        Whole::Xls => calamine::Sheets::Xls(calamine::Xls::new(c).map_err(unreadable)?),
        Whole::Xlsx => calamine::Sheets::Xlsx(Xlsx::new(c).map_err(unreadable)?),
    };
    let names = wb.sheet_names().to_vec();
    if names.is_empty() {
        return Err(Error::invalid("file", "field.import_file_empty"));
    }
    let idx = sheet.map(|s| s as usize).unwrap_or(0);
    let name = names.get(idx).ok_or_else(|| Error::invalid("sheet", "field.import_sheet_unknown"))?.clone();
    let range = wb.worksheet_range(&name).map_err(unreadable)?;
    drop(wb);
    let start_row = range.start().map(|(r, _)| r as usize).unwrap_or(0);
    let start_col = range.start().map(|(_, c)| c as usize).unwrap_or(0).min(MAX_COLUMNS);
    Ok((names, idx, WholeRows { range, row: 0, start_row, start_col }))
}

/// The records of a sheet read whole ([`read_range`]), made as they are asked for.
pub struct WholeRows {
    range: calamine::Range<Data>,
    /// The next row, counted from the range's first.
    row: usize,
    start_row: usize,
    start_col: usize,
}

impl Iterator for WholeRows {
    type Item = ReadRecord;

    fn next(&mut self) -> Option<ReadRecord> {
        if self.row >= self.range.height() || self.row >= MAX_ROWS {
            return None;
        }
        let width = self.range.width().min(MAX_COLUMNS - self.start_col);
        let mut cells: Vec<String> = vec![String::new(); self.start_col];
        let mut long = Vec::new();
        for c in 0..width {
            // A text too long is never copied (a string of 30,000 characters in every cell).
            let text = match self.range.get((self.row, c)) {
                Some(Data::String(t)) if too_long(t) => None,
                Some(d) => Some(cell_text(d)).filter(|t| !too_long(t)),
                None => Some(String::new()),
            };
            if text.is_none() {
                long.push(cells.len());
            }
            cells.push(text.unwrap_or_default());
        }
        while cells.last().is_some_and(|c| c.is_empty()) && !long.contains(&(cells.len() - 1)) {
            cells.pop();
        }
        let line = self.start_row + self.row + 1;
        self.row += 1;
        Some(if long.is_empty() {
            Ok(Record { line, cells })
        } else {
            Err(RecordError::CellTooLong { line, short: cells })
        })
    }
}
