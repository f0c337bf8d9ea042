//! The file a merchant brings, opened: CSV (encoding and separator found, or chosen), XLSX,
//! XLS or ODS (a sheet chosen; date cells in either Excel date system), or Mailchimp's zip of
//! subscribed / unsubscribed / cleaned members (one table with a status column). The header
//! row is chosen (the first non-empty row by default). Bytes in, rows out; the bytes are held
//! once, in memory or mapped from a file (`map_file`), and shared by whoever reads them.

use super::csv_read::{self, Record, RecordError};
use super::decode::{self, TextEncoding};
use super::workbook::{self, ReadRecord};
use super::workbook_child::{self, Records};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use ts_rs::TS;

/// Files larger than this are refused (a customer file of 1M rows is about 150 MB).
pub const MAX_FILE_BYTES: usize = 200 * 1024 * 1024;
/// The column added to Mailchimp's members, from the name of the file in its zip.
pub const MAILCHIMP_STATUS: &str = "Statut Mailchimp";

/// A file's bytes, shared by whoever reads them (the import screens, a preview, the import):
/// a `Vec<u8>` in memory, or a file mapped by [`map_file`].
pub type FileBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

struct Mapped {
    map: Option<memmap2::Mmap>,
    /// Removed once unmapped (the app's own copy of an uploaded file).
    remove: Option<PathBuf>,
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // Unmapped first: Windows cannot remove a mapped file.
        self.map.take();
        if let Some(p) = &self.remove {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The file at `path`, mapped rather than read: its pages are the system's file cache, read
/// as the import reaches them and given back under memory pressure, so the import's own memory
/// does not grow with the file. With `remove`, the file is removed when the last reader lets
/// it go (and at once when it is refused).
///
/// Why the mapping is sound: the file must not be written while mapped. Only Comptoir's own
/// copies are mapped (`upload`: of a file the window sent, or `comptoir-cli` was given),
/// finished and never written again, in a folder of its own.
pub fn map_file(path: &Path, remove: bool) -> Result<FileBytes> {
    let refuse = |e: Error| {
        if remove {
            let _ = std::fs::remove_file(path);
        }
        e
    };
    let file = std::fs::File::open(path).map_err(|e| refuse(e.into()))?;
    let len = file.metadata().map_err(|e| refuse(e.into()))?.len();
    if len > MAX_FILE_BYTES as u64 {
        return Err(refuse(Error::invalid("file", "field.import_file_too_large")));
    }
    // An empty file cannot be mapped on every platform: it is read as empty.
    let map = if len == 0 {
        None
    } else {
        // SAFETY: see above: the file is not written while it is mapped.
        Some(unsafe { memmap2::Mmap::map(&file) }.map_err(|e| refuse(e.into()))?)
    };
    Ok(Arc::new(Mapped { map, remove: remove.then(|| path.to_path_buf()) }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Csv,
    Xlsx,
    Xls,
    Ods,
    MailchimpZip,
}

/// What the merchant chose when the guess was wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReadOptions {
    pub encoding: Option<TextEncoding>,
    /// One of `;` `,` tab `|`.
    pub delimiter: Option<String>,
    /// Index of the sheet of a workbook.
    pub sheet: Option<u32>,
    /// Index of the header row among the file's rows.
    pub header_row: Option<u32>,
}

enum Grid {
    /// A delimited text file's bytes as they came (shared with whoever holds the file), read
    /// from `start` (after a byte-order mark); cells are decoded from `cells` as they are read.
    /// A UTF-16 file's bytes are its text turned into UTF-8 once (`decode::to_utf8`), since its
    /// separators are not bytes of their own.
    Csv { bytes: FileBytes, start: usize, cells: TextEncoding },
    /// An XLSX sheet too large to keep: the workbook's bytes (shared), the index of the sheet
    /// and its first records; every other reading streams the sheet again (`workbook_child`).
    Xlsx { bytes: FileBytes, sheet: u32, head: Vec<std::result::Result<Record, RecordError>> },
    /// A workbook's sheet (XLS and ODS always, XLSX when small), or Mailchimp's files as one
    /// table; a record of theirs that could not be read is kept as its error, to be reported
    /// at its line.
    Rows(Vec<std::result::Result<Record, RecordError>>),
}

/// An opened file, ready to map and import.
pub struct ImportFile {
    pub name: String,
    pub format: FileFormat,
    pub encoding: Option<TextEncoding>,
    pub delimiter: Option<u8>,
    pub sheets: Vec<String>,
    pub sheet: usize,
    pub header_row: usize,
    grid: Grid,
    /// `data_len`, once counted (the file never changes once opened).
    rows: std::sync::OnceLock<usize>,
    /// A workbook's first records' widths, noted when it was read through at opening (see
    /// `noted_data_width`), and whether they are all its records.
    widths: Vec<u32>,
    widths_all: bool,
    /// The readings of a streamed sheet that stopped before its end (their child failed), and
    /// why the last did: the records such a reading gave are not the whole sheet
    /// (`failure_since`).
    failures: std::sync::Mutex<(u32, Option<workbook_child::Failure>)>,
}

fn sniff(bytes: &[u8]) -> Result<FileFormat> {
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Ok(FileFormat::Xls);
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return Ok(FileFormat::Csv);
    }
    let zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| Error::invalid("file", "field.import_file_unreadable"))?;
    let names: Vec<String> = zip.file_names().filter_map(|n| n.ok()).map(|n| n.into_owned()).collect();
    if names.iter().any(|n| n == "[Content_Types].xml") {
        Ok(FileFormat::Xlsx)
    } else if names.iter().any(|n| n == "mimetype" || n == "content.xml") {
        Ok(FileFormat::Ods)
    } else if names.iter().any(|n| n.to_ascii_lowercase().ends_with(".csv")) {
        Ok(FileFormat::MailchimpZip)
    } else {
        Err(Error::invalid("file", "field.import_file_unreadable"))
    }
}

/// Mailchimp's export: one CSV per status in a zip. One table, the status in its own column.
/// Lines are numbered through the table, header first. A record that cannot be read (a cell
/// too long) keeps its line as an error: the merchant sees it in the report, never a member
/// silently left out.
fn read_mailchimp(bytes: &[u8]) -> Result<Vec<std::result::Result<Record, RecordError>>> {
    let unreadable = |_| Error::invalid("file", "field.import_file_unreadable");
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let mut header: Vec<String> = Vec::new();
    let mut out: Vec<std::result::Result<Record, RecordError>> = Vec::new();
    let mut names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok())
        .map(|n| n.into_owned())
        .filter(|n| n.to_ascii_lowercase().ends_with(".csv"))
        .collect();
    names.sort();
    let mut line = 1;
    // The files together stay within one file's limit: a zip of many big (or highly
    // compressed) files never fills the memory.
    let mut total = 0usize;
    for name in names {
        let lower = name.to_ascii_lowercase();
        let status = if lower.contains("unsubscribed") {
            "unsubscribed"
        } else if lower.contains("cleaned") {
            "cleaned"
        } else if lower.contains("subscribed") {
            "subscribed"
        } else {
            ""
        };
        let mut raw = Vec::new();
        let f = zip.by_name(&name).map_err(unreadable)?;
        f.take((MAX_FILE_BYTES - total) as u64 + 1).read_to_end(&mut raw)?;
        total += raw.len();
        if total > MAX_FILE_BYTES {
            return Err(Error::invalid("file", "field.import_file_too_large"));
        }
        let enc = decode::guess(&raw);
        let body = decode::body(&raw, enc);
        let utf8 = decode::to_utf8(body, enc);
        let (body, enc) = match &utf8 {
            Some(text) => (&text[..], TextEncoding::Utf8),
            None => (body, enc),
        };
        let mut recs = csv_read::records(body, csv_read::detect_delimiter(body), enc);
        // The file's header is its first readable record (a file that has none adds nothing).
        let Some(h) = recs.by_ref().find_map(|r| r.ok()) else { continue };
        // Columns in the order of the first file; columns only later files have are added.
        let positions: Vec<usize> = h
            .cells
            .iter()
            .map(|c| match header.iter().position(|x| x == c) {
                Some(p) => p,
                None => {
                    header.push(c.clone());
                    header.len() - 1
                }
            })
            .collect();
        for r in recs {
            line += 1;
            // A member with a cell too long keeps its other cells (their address and status),
            // as the error the report shows at their line.
            let (cells, too_long) = match r {
                Ok(r) => (r.cells, false),
                Err(RecordError::CellTooLong { short, .. }) => (short, true),
                Err(RecordError::Unreadable { .. }) => {
                    out.push(Err(RecordError::Unreadable { line }));
                    continue;
                }
            };
            let mut mapped = vec![String::new(); header.len()];
            for (i, c) in cells.into_iter().enumerate() {
                if let Some(&p) = positions.get(i) {
                    mapped[p] = c;
                }
            }
            mapped.push(status.to_string());
            out.push(if too_long {
                Err(RecordError::CellTooLong { line, short: mapped })
            } else {
                Ok(Record { line, cells: mapped })
            });
        }
    }
    if header.is_empty() {
        return Err(Error::invalid("file", "field.import_file_empty"));
    }
    let width = header.len();
    for cells in out.iter_mut().filter_map(|r| match r {
        Ok(r) => Some(&mut r.cells),
        Err(RecordError::CellTooLong { short, .. }) => Some(short),
        Err(RecordError::Unreadable { .. }) => None,
    }) {
        let status = cells.pop().unwrap_or_default();
        cells.resize(width, String::new());
        cells.push(status);
    }
    header.push(MAILCHIMP_STATUS.to_string());
    out.insert(0, Ok(Record { line: 1, cells: header }));
    Ok(out)
}

/// Git's rule for a file that is not text: a zero byte among its first 8,000 (UTF-16 aside,
/// told before), or a PDF's opening. Zero bytes that only pad the end of a file (an old till's
/// export written in fixed blocks) do not count.
fn looks_binary(bytes: &[u8]) -> bool {
    let text = &bytes[..bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1)];
    bytes.starts_with(b"%PDF-") || text[..text.len().min(8000)].contains(&0)
}

fn parse_delimiter(s: &str) -> Result<u8> {
    let d = match s {
        "\\t" | "tab" => b'\t',
        _ if s.len() == 1 => s.as_bytes()[0],
        _ => 0,
    };
    if csv_read::DELIMITERS.contains(&d) {
        Ok(d)
    } else {
        Err(Error::invalid("delimiter", "field.import_delimiter_invalid"))
    }
}

impl ImportFile {
    /// Open a copy of `bytes` (see [`ImportFile::open_shared`]).
    pub fn open(name: &str, bytes: &[u8], opts: &ReadOptions) -> Result<ImportFile> {
        Self::open_shared(name, Arc::new(bytes.to_vec()), opts)
    }

    /// Open the file whose bytes the caller already holds: a delimited text file is read from
    /// those same bytes, never copied or decoded whole.
    pub fn open_shared(name: &str, shared: FileBytes, opts: &ReadOptions) -> Result<ImportFile> {
        let bytes: &[u8] = (*shared).as_ref();
        if bytes.len() > MAX_FILE_BYTES {
            return Err(Error::invalid("file", "field.import_file_too_large"));
        }
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::invalid("file", "field.import_file_empty"));
        }
        let format = sniff(bytes)?;
        let name = crate::text::clean(name).unwrap_or_else(|| "import".into()).chars().take(200).collect();
        let mut f = ImportFile {
            name,
            format,
            encoding: None,
            delimiter: None,
            sheets: Vec::new(),
            sheet: 0,
            header_row: 0,
            grid: Grid::Rows(Vec::new()),
            rows: std::sync::OnceLock::new(),
            widths: Vec::new(),
            widths_all: false,
            failures: std::sync::Mutex::new((0, None)),
        };
        match format {
            FileFormat::Csv => {
                // Zero bytes padding the end (an old till's fixed blocks) are no part of the
                // text, in any encoding (a UTF-16 character's zero half is put back below).
                let unpadded = &bytes[..bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1)];
                let guessed = decode::guess(unpadded);
                if !guessed.is_utf16() && looks_binary(bytes) {
                    // A picture, a PDF or a program chosen by mistake: said at once, not shown
                    // as a table of strange characters.
                    return Err(Error::invalid("file", "field.import_file_unreadable"));
                }
                let enc = opts.encoding.unwrap_or(guessed);
                let body = if enc.is_utf16() {
                    // Whole characters: the zero half of the last one, taken as padding, is put back.
                    let b = decode::body(unpadded, enc);
                    let start = unpadded.len() - b.len();
                    &bytes[start..(unpadded.len() + b.len() % 2).min(bytes.len())]
                } else {
                    decode::body(bytes, enc)
                };
                let (mut text, mut start, cells): (FileBytes, usize, TextEncoding) = match decode::to_utf8(body, enc) {
                    Some(utf8) => (Arc::new(utf8), 0, TextEncoding::Utf8),
                    None => (shared.clone(), bytes.len() - body.len(), enc),
                };
                // Zero bytes padding the end (an old till's fixed blocks) are no row: the
                // text is kept without them (a copy, for such a file only).
                let all: &[u8] = (*text).as_ref();
                if all.last() == Some(&0) {
                    let end = all.iter().rposition(|b| *b != 0).map_or(start, |i| (i + 1).max(start));
                    text = Arc::new(all[start..end].to_vec());
                    start = 0;
                }
                let d = match &opts.delimiter {
                    Some(d) => parse_delimiter(d)?,
                    None => csv_read::detect_delimiter(&(*text).as_ref()[start..]),
                };
                f.encoding = Some(enc);
                f.delimiter = Some(d);
                f.grid = Grid::Csv { bytes: text, start, cells };
            }
            FileFormat::Xlsx | FileFormat::Xls | FileFormat::Ods => {
                let whole = match format {
                    FileFormat::Xlsx => workbook::Whole::Xlsx,
                    FileFormat::Ods => workbook::Whole::Ods,
                    _ => workbook::Whole::Xls,
                };
                let mut opened = workbook_child::open(shared.clone(), whole, opts.sheet)?;
                let pass = read_through(&mut opened.records, opts.header_row.map(|h| h as usize), whole)?;
                f.sheets = opened.names;
                f.sheet = opened.index;
                f.header_row = pass.header_row;
                let _ = f.rows.set(pass.data_len);
                f.widths = pass.widths;
                f.widths_all = pass.widths_all;
                f.grid = if pass.whole {
                    Grid::Rows(pass.kept)
                } else {
                    Grid::Xlsx { bytes: shared.clone(), sheet: opened.index as u32, head: pass.kept }
                };
            }
            FileFormat::MailchimpZip => {
                f.encoding = Some(TextEncoding::Utf8);
                f.delimiter = Some(b',');
                f.grid = Grid::Rows(read_mailchimp(bytes)?);
            }
        }
        if matches!(format, FileFormat::Csv | FileFormat::MailchimpZip) {
            f.header_row = match opts.header_row {
                Some(h) => h as usize,
                None => self_first_non_empty(&f),
            };
        }
        if f.headers().iter().all(|h| h.trim().is_empty()) {
            return Err(Error::invalid("header_row", "field.import_no_header"));
        }
        Ok(f)
    }

    /// Every record of the file, the header row included.
    pub fn records(&self) -> Box<dyn Iterator<Item = std::result::Result<Record, RecordError>> + '_> {
        match &self.grid {
            Grid::Csv { bytes, start, cells } => {
                Box::new(csv_read::records(&(**bytes).as_ref()[*start..], self.delimiter.unwrap_or(b';'), *cells))
            }
            Grid::Xlsx { bytes, sheet, .. } => {
                match workbook_child::open(bytes.clone(), workbook::Whole::Xlsx, Some(*sheet)) {
                    Ok(opened) => Box::new(Noted { records: opened.records, failures: &self.failures, noted: false }),
                    // It opened when the file was opened, from the same bytes: its reader
                    // could not start again.
                    Err(e) => {
                        note_failure(&self.failures, workbook_child::Failure::of(&e));
                        Box::new(std::iter::once(Err(RecordError::Unreadable { line: 1 })))
                    }
                }
            }
            Grid::Rows(r) => Box::new(r.iter().cloned()),
        }
    }

    /// How many readings of this file stopped before the end of its sheet so far (a
    /// workbook's reader that failed, or could not start again).
    pub fn failed_readings(&self) -> u32 {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// Why a reading stopped before the end of its sheet, if one did after `before` readings
    /// had (`failed_readings` taken when a reading began): what it read is then not the whole
    /// file, and an import or an error file made from it must not be kept.
    pub fn failure_since(&self, before: u32) -> Option<Error> {
        let f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        f.1.filter(|_| f.0 > before).map(|f| f.error())
    }

    /// The widest of the `n` records after the header row (blank ones included), as the
    /// reading at opening noted it: `None` when it did not note that far (a text file; a
    /// workbook's header row far down). A streamed sheet is not read again for it.
    pub(crate) fn noted_data_width(&self, n: usize) -> Option<usize> {
        let from = (self.header_row + 1).min(self.widths.len());
        let to = self.header_row + 1 + n;
        if self.widths.is_empty() || (to > self.widths.len() && !self.widths_all) {
            return None;
        }
        Some(self.widths[from..to.min(self.widths.len())].iter().max().copied().unwrap_or(0) as usize)
    }

    /// The cells of the header row. `header_row` counts every record, those that could not be
    /// read included, as `data()` and the mapping screen's sample do: a file opening with a
    /// note too long to read still has its headers found on the right row.
    pub fn headers(&self) -> Vec<String> {
        self.first_records(self.header_row + 1)
            .nth(self.header_row)
            .map(shown_cells)
            .map(|cells| cells.iter().map(|c| c.trim().trim_start_matches('\u{feff}').to_string()).collect())
            .unwrap_or_default()
    }

    /// The first `n` records as the mapping screen shows them, indexed as `header_row` is.
    pub fn sample(&self, n: usize) -> Vec<Vec<String>> {
        self.first_records(n).take(n).map(shown_cells).collect()
    }

    /// Records from the first, at least `n` of them (the kept first records of a streamed
    /// sheet when they are enough, without reading the workbook again).
    fn first_records(&self, n: usize) -> Box<dyn Iterator<Item = std::result::Result<Record, RecordError>> + '_> {
        match &self.grid {
            Grid::Xlsx { head, .. } if head.len() >= n => Box::new(head.iter().cloned()),
            _ => self.records(),
        }
    }

    /// The records after the header row; blank records are left out.
    pub fn data(&self) -> impl Iterator<Item = std::result::Result<Record, RecordError>> + '_ {
        let mut n = 0usize;
        let header = self.header_row;
        self.records().filter(move |r| {
            let keep = n > header;
            n += 1;
            keep && !matches!(r, Ok(rec) if rec.cells.iter().all(|c| c.trim().is_empty()))
        })
    }

    /// `data().count()`, without decoding (or copying) the cells that cannot be blank: the
    /// import's progress bar needs the count before the rows are read.
    pub fn data_len(&self) -> usize {
        *self.rows.get_or_init(|| self.count_data())
    }

    /// The rows (from the header row on) of a file read as UTF-8 that hold bytes that are no
    /// part of a UTF-8 character, read as Windows-1252: how many, and the lines of the first
    /// `max` of them, numbered as the import's report numbers rows (the line a row starts on).
    pub fn stray_lines(&self, max: usize) -> (usize, Vec<u32>) {
        let Grid::Csv { bytes, start, cells: TextEncoding::Utf8 } = &self.grid else { return (0, Vec::new()) };
        let body = &(**bytes).as_ref()[*start..];
        let mut stray = decode::stray_offsets(body).peekable();
        if stray.peek().is_none() {
            return (0, Vec::new());
        }
        let (mut count, mut first) = (0usize, Vec::new());
        let mut rows = csv_read::record_starts(body, self.delimiter.unwrap_or(b';')).enumerate().peekable();
        while let Some((n, (from, line))) = rows.next() {
            let to = rows.peek().map_or(body.len(), |(_, (next, _))| *next);
            let mut held = false;
            while let Some(at) = stray.next_if(|at| *at < to) {
                held |= at >= from;
            }
            if held && n >= self.header_row {
                count += 1;
                if first.len() < max {
                    first.push(u32::try_from(line).unwrap_or(u32::MAX));
                }
            }
            if stray.peek().is_none() {
                break;
            }
        }
        (count, first)
    }

    fn count_data(&self) -> usize {
        match &self.grid {
            Grid::Csv { bytes, start, cells } => csv_read::count_records(
                &(**bytes).as_ref()[*start..],
                self.delimiter.unwrap_or(b';'),
                *cells,
                self.header_row + 1,
            ),
            Grid::Xlsx { .. } => self.data().count(),
            Grid::Rows(r) => r
                .iter()
                .skip(self.header_row + 1)
                .filter(|r| !matches!(r, Ok(rec) if rec.cells.iter().all(|c| c.trim().is_empty())))
                .count(),
        }
    }
}

/// A record's cells as shown: one with a cell too long shows its other cells (the long one
/// blank); one that could not be read shows none. Either keeps its place in the count.
fn shown_cells(r: std::result::Result<Record, RecordError>) -> Vec<String> {
    match r {
        Ok(r) => r.cells,
        Err(RecordError::CellTooLong { short, .. }) => short,
        Err(RecordError::Unreadable { .. }) => Vec::new(),
    }
}

fn self_first_non_empty(f: &ImportFile) -> usize {
    f.records()
        .position(|r| matches!(r, Ok(rec) if rec.cells.iter().filter(|c| !c.trim().is_empty()).count() >= 2))
        .unwrap_or(0)
}

type Failures = std::sync::Mutex<(u32, Option<workbook_child::Failure>)>;

fn note_failure(failures: &Failures, f: workbook_child::Failure) {
    let mut n = failures.lock().unwrap_or_else(|e| e.into_inner());
    *n = (n.0 + 1, Some(f));
}

/// A streamed sheet's records, its reading's failure noted on the file (once).
struct Noted<'a> {
    records: Records,
    failures: &'a Failures,
    noted: bool,
}

impl Iterator for Noted<'_> {
    type Item = ReadRecord;

    fn next(&mut self) -> Option<ReadRecord> {
        let r = self.records.next();
        if let (Some(f), false) = (self.records.failure(), self.noted) {
            self.noted = true;
            note_failure(self.failures, f);
        }
        r
    }
}

/// The records of a streamed sheet kept with it (the mapping screen shows about a dozen).
const HEAD: usize = 64;
/// An XLSX sheet whose records take less than this is kept whole (no reading again).
const KEEP_XLSX_BYTES: usize = 16 << 20;
/// The most an XLS or ODS sheet's records may take once read.
const MAX_KEPT_BYTES: usize = 1 << 30;

fn record_bytes(r: &ReadRecord) -> usize {
    let cells = match r {
        Ok(r) => &r.cells[..],
        Err(RecordError::CellTooLong { short, .. }) => &short[..],
        Err(RecordError::Unreadable { .. }) => &[][..],
    };
    48 + cells.iter().map(|c| 24 + c.len()).sum::<usize>()
}

/// The records whose width the reading at opening notes.
const NOTED_WIDTHS: usize = 4_096;

/// The cells up to the last holding something.
pub(crate) fn last_used(cells: &[String]) -> usize {
    cells.iter().rposition(|c| !c.trim().is_empty()).map_or(0, |i| i + 1)
}

/// A workbook's sheet read through once, when it is opened.
struct Pass {
    /// The widths of the first [`NOTED_WIDTHS`] records, and whether that is all of them.
    widths: Vec<u32>,
    widths_all: bool,
    /// Every record (`whole`), or the first [`HEAD`].
    kept: Vec<ReadRecord>,
    whole: bool,
    header_row: usize,
    /// What `ImportFile::data_len` counts.
    data_len: usize,
}

/// Reads a workbook's sheet through: a sheet that cannot be read to its end (XML broken
/// halfway, a reader that gave up) is refused now, not found out in the middle of an import;
/// the header row is found (the first with two values, unless chosen) and the data rows are
/// counted for the progress bar.
fn read_through(records: &mut Records, header_row: Option<usize>, format: workbook::Whole) -> Result<Pass> {
    let keep_all = format != workbook::Whole::Xlsx;
    let mut pass =
        Pass { widths: Vec::new(), widths_all: true, kept: Vec::new(), whole: true, header_row: 0, data_len: 0 };
    let (mut kept_bytes, mut not_blank, mut at_first) = (0usize, 0usize, 0usize);
    let (mut guess, mut upto_header) = (None, None);
    for (i, r) in records.by_ref().enumerate() {
        if let Err(RecordError::Unreadable { .. }) = r {
            return Err(records
                .failure()
                .map(|f| f.error())
                .unwrap_or_else(|| Error::invalid("file", "field.import_file_unreadable")));
        }
        if !matches!(&r, Ok(rec) if rec.cells.iter().all(|c| c.trim().is_empty())) {
            not_blank += 1;
        }
        if i < NOTED_WIDTHS {
            pass.widths.push(match &r {
                Ok(rec) => last_used(&rec.cells) as u32,
                Err(RecordError::CellTooLong { short, .. }) => last_used(short) as u32,
                Err(RecordError::Unreadable { .. }) => 0,
            });
        } else {
            pass.widths_all = false;
        }
        if guess.is_none() && matches!(&r, Ok(rec) if rec.cells.iter().filter(|c| !c.trim().is_empty()).count() >= 2) {
            guess = Some(i);
        }
        if i == 0 {
            at_first = not_blank;
        }
        if upto_header.is_none() && header_row.or(guess) == Some(i) {
            upto_header = Some(not_blank);
        }
        if pass.whole {
            kept_bytes += record_bytes(&r);
            if keep_all && kept_bytes > MAX_KEPT_BYTES {
                return Err(Error::invalid("file", "field.import_sheet_too_large"));
            }
            if !keep_all && kept_bytes > KEEP_XLSX_BYTES {
                pass.whole = false;
                pass.kept.truncate(HEAD);
                pass.kept.shrink_to_fit();
            }
        }
        if pass.whole || pass.kept.len() < HEAD {
            pass.kept.push(r);
        }
    }
    pass.header_row = header_row.or(guess).unwrap_or(0);
    let upto = match (header_row, guess) {
        (None, None) => at_first,
        _ => upto_header.unwrap_or(not_blank),
    };
    pass.data_len = not_blank - upto;
    Ok(pass)
}
