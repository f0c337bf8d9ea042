//! Reading delimited text: the separator (`;` `,` tab `|`) is found from the first lines (an
//! Excel `sep=` first line wins), quoted fields may hold separators and newlines, CRLF and LF
//! both end a record, rows may have more or fewer cells than the header. Pure functions.
//!
//! Invariant: the file is read as it came, in its own encoding, and only each cell is decoded
//! (so a file is held once, never beside a decoded copy). That is exact for the encodings read
//! here: in UTF-8, Windows-1252, ISO-8859-15 and Mac Roman, the separators, quotes and line
//! ends are the ASCII bytes and no byte of another character takes their value. Records are
//! read one at a time.

use super::decode::{self, TextEncoding};

pub const DELIMITERS: [u8; 4] = [b';', b',', b'\t', b'|'];
/// A cell longer than this is refused (an unbalanced quote swallowing the rest of the file).
pub const MAX_CELL: usize = 10_000;

/// The separator named by an Excel `sep=` first line, if there is one.
pub fn sep_line(bytes: &[u8]) -> Option<u8> {
    let first = bytes.split(|b| *b == b'\n' || *b == b'\r').next()?;
    let mut first = first.trim_ascii();
    while let Some(inner) = first.strip_prefix(b"\"") {
        first = inner;
    }
    while let Some(inner) = first.strip_suffix(b"\"") {
        first = inner;
    }
    let rest = first.strip_prefix(b"sep=").or_else(|| first.strip_prefix(b"SEP="))?;
    (rest.len() == 1 && DELIMITERS.contains(&rest[0])).then_some(rest[0])
}

/// Where the file's second line starts: after the first LF, CRLF, CR CR LF (as Windows
/// sometimes writes) or lone CR.
fn first_line_end(bytes: &[u8]) -> usize {
    let Some(i) = bytes.iter().position(|b| *b == b'\n' || *b == b'\r') else { return bytes.len() };
    let crs = bytes[i..].iter().take_while(|b| **b == b'\r').count();
    if crs > 0 && bytes.get(i + crs) == Some(&b'\n') {
        i + crs + 1
    } else {
        i + 1
    }
}

fn reader(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(bytes)
}

/// Rule: the separator is the one that splits the first 50 records into the same number of
/// cells (more than one) most often; ties go to the order `;` `,` tab `|` (French Excel first).
pub fn detect_delimiter(bytes: &[u8]) -> u8 {
    if let Some(d) = sep_line(bytes) {
        return d;
    }
    let mut best = (b';', 0usize);
    let mut rec = csv::ByteRecord::new();
    for d in DELIMITERS {
        let mut counts: Vec<usize> = Vec::new();
        let mut r = reader(bytes, d);
        for _ in 0..50 {
            match r.read_byte_record(&mut rec) {
                Ok(true) if rec.iter().any(|c| !c.trim_ascii().is_empty()) => counts.push(rec.len()),
                Ok(true) => {}
                Ok(false) | Err(_) => break,
            }
        }
        let Some(&first) = counts.first() else { continue };
        if first < 2 {
            continue;
        }
        let agree = counts.iter().filter(|&&c| c == first).count();
        let score = agree * 100 + first;
        if score > best.1 {
            best = (d, score);
        }
    }
    best.0
}

/// A record of the file: its line number (1-based, where it starts) and its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub cells: Vec<String>,
}

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// `short`: the record's cells with the long ones left empty, to read what the row says
    /// about its address (an unsubscribe is applied whatever happens to the row).
    CellTooLong {
        line: usize,
        short: Vec<String>,
    },
    Unreadable {
        line: usize,
    },
}

/// Every record of `bytes` (a file's text in `enc`, any UTF-8 byte-order mark already left
/// out), each cell decoded; the `sep=` line left out.
pub fn records(
    bytes: &[u8],
    delimiter: u8,
    enc: TextEncoding,
) -> impl Iterator<Item = Result<Record, RecordError>> + '_ {
    each_record(bytes, delimiter, move |_, line, rec| {
        // The csv reader resynchronises at the next record.
        let Some(rec) = rec else { return Err(RecordError::Unreadable { line }) };
        // A character takes at least one byte: only a long cell is decoded to be counted,
        // before anything else of the record is decoded.
        let too_long = |c: &[u8]| c.len() > MAX_CELL && decode::decode_cell(c, enc).chars().count() > MAX_CELL;
        if rec.iter().any(too_long) {
            let short =
                rec.iter().map(|c| if too_long(c) { String::new() } else { decode::decode_cell(c, enc) }).collect();
            return Err(RecordError::CellTooLong { line, short });
        }
        Ok(Record { line, cells: rec.iter().map(|c| decode::decode_cell(c, enc)).collect() })
    })
}

/// The file's records (the `sep=` line left out), each given to `f` with the byte where the
/// reader was before it, the line it starts on (`line_counter`) and its cells (`None` for a
/// record the reader could not read): what `records` and `record_starts` share.
fn each_record<'a, T>(
    bytes: &'a [u8],
    delimiter: u8,
    mut f: impl FnMut(usize, usize, Option<&csv::ByteRecord>) -> T + 'a,
) -> impl Iterator<Item = T> + 'a {
    // The `sep=` line is cut off before the csv reader sees it: with a quote it does not close
    // (`"sep=;`), the reader would take it as a cell running over the lines after it.
    let body_start = if sep_line(bytes).is_some() { first_line_end(bytes) } else { 0 };
    let mut r = reader(&bytes[body_start..], delimiter);
    let mut rec = csv::ByteRecord::new();
    let mut done = false;
    let mut line_of = line_counter(bytes, body_start);
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let before = body_start + r.position().byte() as usize;
        match r.read_byte_record(&mut rec) {
            Ok(false) => {
                done = true;
                None
            }
            Ok(true) => {
                let line = line_of(rec.position().map(|p| body_start + p.byte() as usize).unwrap_or(before));
                Some(f(before, line, Some(&rec)))
            }
            Err(_) => Some(f(before, line_of(before), None)),
        }
    })
}

/// The line a record starts on, from the byte where the reader was before it (`line_of(at)`,
/// called with ever larger offsets). Lines are counted from byte offsets: the csv reader's own
/// count is off by one after a CRLF (the LF is read as the start of the next record). A line
/// ends with LF or CRLF, or, in a file with no LF at all (old Mac files), with a CR: a CR
/// elsewhere (in a quoted cell, or Windows' CR CR LF) is not a line of its own, as a
/// spreadsheet counts. The `sep=` line (`body_start` > 0) is line 1 whatever ends it (a lone CR
/// in a file of LFs too).
fn line_counter(bytes: &[u8], body_start: usize) -> impl FnMut(usize) -> usize + '_ {
    let cr_ends = !bytes.contains(&b'\n');
    // `counted_to` is always a record's start, never inside a CRLF.
    let (mut counted_to, mut line_at) = if body_start > 0 { (body_start, 2usize) } else { (0usize, 1usize) };
    move |mut start: usize| {
        while start < bytes.len() && (bytes[start] == b'\n' || bytes[start] == b'\r') {
            start += 1;
        }
        let start = start.min(bytes.len());
        if start >= counted_to {
            let span = &bytes[counted_to..start];
            line_at += span
                .iter()
                .enumerate()
                .filter(|(i, b)| **b == b'\n' || (cr_ends && **b == b'\r' && span.get(i + 1) != Some(&b'\n')))
                .count();
            counted_to = start;
        }
        line_at
    }
}

/// Each record's first byte (where the reader was before it) and its line, as `records`
/// numbers them, without decoding a cell: record `n` runs from its byte to the next one's.
pub fn record_starts(bytes: &[u8], delimiter: u8) -> impl Iterator<Item = (usize, usize)> + '_ {
    each_record(bytes, delimiter, |before, line, _| (before, line))
}

/// How many records `records` would give after the first `skip`, leaving out those whose cells
/// are all blank (as `ImportFile::data` does), without decoding a cell that cannot be blank: a
/// count for the progress bar that costs a fraction of the reading it announces.
pub fn count_records(bytes: &[u8], delimiter: u8, enc: TextEncoding, skip: usize) -> usize {
    let body_start = if sep_line(bytes).is_some() { first_line_end(bytes) } else { 0 };
    let mut r = reader(&bytes[body_start..], delimiter);
    let mut rec = csv::ByteRecord::new();
    let (mut n, mut kept) = (0usize, 0usize);
    loop {
        let read = r.read_byte_record(&mut rec);
        let keep = match read {
            Ok(false) => break,
            // An unreadable record, or one with a cell too long, is one of the rows reported.
            Err(_) => true,
            Ok(true) => rec.iter().any(|c| !blank_cell(c, enc)),
        };
        if n >= skip && keep {
            kept += 1;
        }
        n += 1;
    }
    kept
}

/// Whether a cell is empty once decoded and trimmed (`str::trim`), or so long it is refused
/// (`records` reports it). An ASCII byte other than whitespace settles it at once: in the four
/// encodings read here, ASCII bytes are the ASCII characters.
fn blank_cell(c: &[u8], enc: TextEncoding) -> bool {
    let ascii_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r');
    if c.iter().any(|b| b.is_ascii() && !ascii_space(b)) {
        return false;
    }
    if c.iter().all(ascii_space) {
        return c.len() <= MAX_CELL;
    }
    let text = decode::decode_cell(c, enc);
    text.trim().is_empty() && text.chars().count() <= MAX_CELL
}

/// Write rows as delimited text with CRLF line ends, quoting only where needed.
pub fn write_rows(rows: &[Vec<String>], delimiter: u8) -> String {
    let mut w =
        csv::WriterBuilder::new().delimiter(delimiter).terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    for r in rows {
        // Writing to memory cannot fail.
        let _ = w.write_record(r);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<Vec<String>> {
        let b = text.as_bytes();
        records(b, detect_delimiter(b), TextEncoding::Utf8).map(|r| r.unwrap().cells).collect()
    }

    #[test]
    fn the_separator_is_found_from_the_lines() {
        let cases = [
            ("Nom;Prénom;Ville\nA;B;C\nD;E;F\n", b';', "French Excel"),
            ("name,first,city\na,b,c\n", b',', "standard"),
            ("name\tfirst\tcity\na\tb\tc\n", b'\t', "tab"),
            ("name|first|city\na|b|c\n", b'|', "pipe"),
            ("sep=,\nNom;Prénom,Ville\nA;B,C\n", b',', "an Excel sep= line wins"),
            ("Nom;Adresse;Ville\nA;\"1, rue Haute\";Lyon\nB;\"2, rue Basse\";Paris\n", b';', "commas inside quotes"),
        ];
        for (text, want, why) in cases {
            assert_eq!(detect_delimiter(text.as_bytes()) as char, want as char, "{why}");
        }
    }

    #[test]
    fn quoted_newlines_crlf_and_ragged_rows_are_read() {
        let rows = all("Nom;Notes\r\nLefèvre;\"deux\r\nlignes; et un point-virgule\"\r\nCôté\r\nDurand;x;en trop\r\n");
        assert_eq!(rows[1], vec!["Lefèvre", "deux\r\nlignes; et un point-virgule"]);
        assert_eq!(rows[2], vec!["Côté"], "a short row is kept");
        assert_eq!(rows[3].len(), 3, "a long row is kept");
    }

    #[test]
    fn the_sep_line_is_not_a_record_and_line_numbers_follow_the_file() {
        let text = "sep=;\nNom;Ville\nA;\"x\ny\"\nB;C\n";
        let recs: Vec<Record> = records(text.as_bytes(), b';', TextEncoding::Utf8).map(Result::unwrap).collect();
        assert_eq!(recs[0].cells, vec!["Nom", "Ville"]);
        assert_eq!(recs.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 3, 5], "line where each record starts");
        let crlf: Vec<usize> =
            records(b"a;b\r\nc;\"d\r\ne\"\r\n\r\nf;g\r\n", b';', TextEncoding::Utf8).map(|r| r.unwrap().line).collect();
        assert_eq!(crlf, vec![1, 2, 5], "CRLF, a quoted newline and an empty line counted alike");
    }

    #[test]
    fn a_sep_line_ended_by_a_lone_cr_in_a_file_of_lf_is_still_line_1() {
        for text in [&b"sep=;\rNom;Ville\nZo\xc3\xa9;Lyon\n"[..], b"sep=;\r\r\nNom;Ville\r\r\nZo\xc3\xa9;Lyon\r\r\n"] {
            let lines: Vec<usize> = records(text, b';', TextEncoding::Utf8).map(|r| r.unwrap().line).collect();
            assert_eq!(lines, vec![2, 3], "the header is line 2, the first customer line 3: {text:?}");
        }
    }

    #[test]
    fn a_sep_line_with_a_quote_it_never_closes_swallows_no_line_after_it() {
        for text in ["\"sep=;\nNom;Ville\nA;Lyon\nB;Paris\n", "\"sep=;\r\nNom;Ville\r\nA;Lyon\r\nB;Paris\r\n"] {
            assert_eq!(sep_line(text.as_bytes()), Some(b';'), "{text:?} names its separator");
            let recs: Vec<Record> = records(text.as_bytes(), b';', TextEncoding::Utf8).map(Result::unwrap).collect();
            assert_eq!(
                recs.iter().map(|r| (r.line, r.cells.join("|"))).collect::<Vec<_>>(),
                vec![(2, "Nom|Ville".to_string()), (3, "A|Lyon".into()), (4, "B|Paris".into())],
                "every line after the sep= line is a record of its own: {text:?}"
            );
        }
    }

    #[test]
    fn an_old_mac_file_ending_its_lines_with_cr_alone_is_numbered_line_by_line() {
        let text = b"sep=;\rNom;Ville\rA;\"x\ry\"\r\rB;C\r";
        assert_eq!(sep_line(text), Some(b';'), "the sep= line ends at its CR");
        let recs: Vec<Record> = records(text, b';', TextEncoding::MacRoman).map(Result::unwrap).collect();
        assert_eq!(recs[0].cells, vec!["Nom", "Ville"], "the sep= line is not a record");
        assert_eq!(recs.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 3, 6], "a lone CR ends a line");
        assert_eq!(sep_line(b"\"\"sep=,\"\"\r\nA,B"), Some(b','), "quotes around the sep= line are left out");
        // In a file with LF line ends, a CR is not a line: the numbers stay the spreadsheet's.
        for (text, want) in [
            (&b"Nom;Notes\nA;\"x\ry\"\nB;C\n"[..], [1, 2, 3]),
            (&b"Nom;Notes\r\nA;\"x\ry\"\r\nB;C\r\n"[..], [1, 2, 3]),
            (&b"Nom;Ville\r\r\nA;B\r\r\nC;D\r\r\n"[..], [1, 2, 3]),
        ] {
            let lines: Vec<usize> = records(text, b';', TextEncoding::Utf8).map(|r| r.unwrap().line).collect();
            assert_eq!(lines, want, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn an_unbalanced_quote_does_not_swallow_the_file_silently() {
        let mut text = String::from("Nom;Notes\nA;\"ouvert\n");
        for i in 0..2000 {
            text.push_str(&format!("Client{i};rien\n"));
        }
        let recs: Vec<_> = records(text.as_bytes(), b';', TextEncoding::Utf8).collect();
        assert!(
            recs.iter().any(|r| matches!(r, Err(RecordError::CellTooLong { line: 2, .. }))),
            "reported at its line"
        );
    }

    #[test]
    fn written_rows_read_back_the_same() {
        let rows = vec![vec!["a;b".to_string(), "deux\nlignes".into(), "\"guillemets\"".into()]];
        let text = write_rows(&rows, b';');
        assert!(text.ends_with("\r\n"));
        assert_eq!(all(&text), rows);
    }
}
