//! Workbooks read in a child process (`data::workbook_child`), as the app and `comptoir-cli`
//! read them: `comptoir-cli` is the child here. An ordinary workbook reads as it did in the
//! process; a hostile one (a few kilobytes that make calamine panic, loop or ask for gigabytes)
//! is refused with a message, and this test process, like the app, goes on.

use comptoir_core::data::csv_read::RecordError;
use comptoir_core::data::workbook::{self, Whole};
use comptoir_core::data::workbook_child::{self, Reader};
use comptoir_core::data::{ImportFile, ReadOptions};
use comptoir_core::Error;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

fn in_child() {
    workbook_child::set_reader(Reader::Child(PathBuf::from(env!("CARGO_BIN_EXE_comptoir-cli"))));
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import").join(name)).unwrap()
}

fn key_of(e: Error) -> &'static str {
    match e {
        Error::Validation(v) => v[0].key,
        other => panic!("not a refusal: {other:?}"),
    }
}

fn open_err(name: &str, bytes: &[u8]) -> &'static str {
    match ImportFile::open(name, bytes, &ReadOptions::default()) {
        Ok(_) => panic!("{name} was opened"),
        Err(e) => key_of(e),
    }
}

#[test]
fn the_project_workbooks_read_in_a_child_as_in_the_process() {
    in_child();
    for (name, format) in
        [("excel-serial-dates.xlsx", Whole::Xlsx), ("excel-97.xls", Whole::Xls), ("libreoffice-calc.ods", Whole::Ods)]
    {
        let bytes = fixture(name);
        let (names, _, here) = workbook::read_range(&bytes, format, None).unwrap();
        let here: Vec<_> = here.collect();
        let f = ImportFile::open(name, &bytes, &ReadOptions::default()).unwrap();
        assert_eq!(f.sheets, names, "{name}: the child names the same sheets");
        let there: Vec<_> = f.records().collect();
        assert_eq!(there, here, "{name}: the child's records are the process's, line for line");
        assert!(f.data_len() > 0 && f.data_len() == f.data().count(), "{name}: the rows counted at opening");
    }
}

/// A header row and `rows` customers, each cell some forty characters (a wide customer file).
fn big_xlsx(rows: u32) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["Nom", "Prénom", "E-mail", "Adresse", "Ville", "Notes"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for r in 1..=rows {
        ws.write_string(r, 0, format!("Nom-{r:06}-{}", "x".repeat(30))).unwrap();
        ws.write_string(r, 1, format!("Prénom-{r:06}-{}", "y".repeat(28))).unwrap();
        ws.write_string(r, 2, format!("client{r}@example.com")).unwrap();
        ws.write_string(r, 3, format!("{r} rue de la Paix, bâtiment B, escalier 3")).unwrap();
        ws.write_string(r, 4, "Saint-Rémy-de-Provence").unwrap();
        ws.write_string(r, 5, format!("Note {r}: cliente fidèle depuis 2009 😀")).unwrap();
    }
    book.save_to_buffer().unwrap()
}

#[test]
fn a_large_sheet_is_streamed_from_a_child_on_each_reading() {
    in_child();
    // About 27 MB of records: more than a workbook keeps, so every reading streams it again.
    const ROWS: u32 = 70_000;
    let bytes = big_xlsx(ROWS);
    let f = ImportFile::open("grand.xlsx", &bytes, &ReadOptions::default()).unwrap();
    assert_eq!(f.header_row, 0);
    assert_eq!(f.headers()[2], "E-mail");
    assert_eq!(f.data_len(), ROWS as usize, "every customer counted when the file is opened");
    // A reading left after a few rows (the mapping screen's sample) stops its child; the next
    // reading starts again from the first row.
    let first: Vec<_> = f.records().take(3).collect();
    assert_eq!(first[1].as_ref().unwrap().cells[2], "client1@example.com");
    let sample = f.sample(200);
    assert_eq!(sample.len(), 200, "a sample longer than the rows kept is read from the workbook");
    assert_eq!(sample[199][2], "client199@example.com");
    let mut n = 0;
    let mut last = None;
    for r in f.data() {
        n += 1;
        last = Some(r.unwrap());
    }
    assert_eq!(n, ROWS as usize, "the whole sheet streams through");
    let last = last.unwrap();
    assert_eq!(last.line, ROWS as usize + 1);
    assert_eq!(last.cells[5], format!("Note {ROWS}: cliente fidèle depuis 2009 😀"), "text comes through whole");
    let streamed: Vec<_> = workbook::xlsx_records(Arc::new(bytes), "Sheet1").unwrap().collect();
    assert!(f.records().eq(streamed.into_iter()), "the child's stream is the process's reading");
}

/// An OLE compound file of 512-byte sectors with `fat` as its only FAT sector (in sector 1)
/// and the directory chain starting at sector 0.
fn compound_file(fat: Option<&[u32]>) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..8].copy_from_slice(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    h[24..26].copy_from_slice(&0x3Eu16.to_le_bytes());
    h[26..28].copy_from_slice(&3u16.to_le_bytes());
    h[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
    h[30..32].copy_from_slice(&9u16.to_le_bytes());
    h[32..34].copy_from_slice(&6u16.to_le_bytes());
    h[44..48].copy_from_slice(&(fat.is_some() as u32).to_le_bytes());
    h[48..52].copy_from_slice(&0u32.to_le_bytes());
    h[60..64].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
    h[68..72].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
    for slot in h[76..512].chunks_mut(4) {
        slot.copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    }
    let mut sectors = vec![0u8; 512];
    if let Some(fat) = fat {
        h[76..80].copy_from_slice(&1u32.to_le_bytes());
        let mut s = vec![0xFFu8; 512];
        for (i, id) in fat.iter().enumerate() {
            s[i * 4..i * 4 + 4].copy_from_slice(&id.to_le_bytes());
        }
        sectors.extend(s);
    }
    h.extend(sectors);
    h
}

#[test]
fn an_xls_whose_sectors_point_nowhere_is_unreadable_and_the_app_goes_on() {
    in_child();
    // No FAT at all: calamine looks the directory's next sector up in an empty table and
    // panics (in the app's release build, a panic ends the process).
    let bytes = compound_file(None);
    assert_eq!(open_err("cassé.xls", &bytes), "field.import_file_unreadable");
    // And the next file opens as usual.
    assert!(ImportFile::open("excel-97.xls", &fixture("excel-97.xls"), &ReadOptions::default()).is_ok());
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn an_xls_whose_sectors_loop_is_stopped_by_the_childs_memory_limit() {
    in_child();
    // The directory's sector is followed by itself: calamine copies it again and again until
    // memory runs out (the directory's length is unbounded while it reads the chain).
    let bytes = compound_file(Some(&[0, 0xFFFF_FFFD]));
    assert_eq!(open_err("boucle.xls", &bytes), "field.import_sheet_too_large");
}

/// `bytes` (a zip) with the part `name` replaced by `body`.
fn with_part(bytes: &[u8], name: &str, body: &[u8]) -> Vec<u8> {
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut zout = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflate = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let part = f.name().unwrap().to_string();
        let mut old = Vec::new();
        f.read_to_end(&mut old).unwrap();
        zout.start_file(part.clone(), deflate).unwrap();
        zout.write_all(if part == name { body } else { &old }).unwrap();
    }
    zout.finish().unwrap().into_inner()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn an_xlsx_whose_styles_repeat_a_long_font_name_is_refused_as_too_large() {
    in_child();
    // Within the guard's size for styles (32 MiB): a font named with 8 MB of letters, and 400
    // formats using it. calamine copies the name into each format: 3.2 GB from 40 KB zipped.
    let mut styles = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><name val=""#,
    );
    styles.push_str(&"A".repeat(8 << 20));
    styles.push_str(r#""/></font></fonts><cellXfs count="400">"#);
    for _ in 0..400 {
        styles.push_str(r#"<xf fontId="0"/>"#);
    }
    styles.push_str("</cellXfs></styleSheet>");
    let bytes = with_part(&big_xlsx(3), "xl/styles.xml", styles.as_bytes());
    assert!(bytes.len() < 100_000, "a small file: {} bytes", bytes.len());
    assert_eq!(open_err("styles.xlsx", &bytes), "field.import_sheet_too_large");
}

#[test]
fn a_record_from_the_child_keeps_its_kind() {
    in_child();
    // A cell over the limit in a workbook read by the child: reported at its row, as in the
    // process (the stream carries the record's kind).
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.write_string(0, 0, "Nom").unwrap();
    ws.write_string(0, 1, "Notes").unwrap();
    ws.write_string(1, 0, "Anne").unwrap();
    ws.write_string(1, 1, "é".repeat(10_001)).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let f = ImportFile::open("long.xlsx", &bytes, &ReadOptions::default()).unwrap();
    let rows: Vec<_> = f.data().collect();
    assert_eq!(rows, vec![Err(RecordError::CellTooLong { line: 2, short: vec!["Anne".into(), String::new()] })]);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_child_limits_itself_before_reading_a_byte() {
    // A child started and given nothing yet: its limits are already set. The processor time's
    // soft limit is below the hard one, so a loop gets SIGXCPU (told apart from a crash: "too
    // large") before the hard limit's SIGKILL.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_comptoir-cli"))
        .arg(workbook_child::ARG)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let limits_path = format!("/proc/{}/limits", child.id());
    let wanted = |l: &str| l.starts_with("Max cpu time") && l.split_whitespace().any(|w| w == "180");
    let mut limits = String::new();
    for _ in 0..100 {
        limits = std::fs::read_to_string(&limits_path).unwrap_or_default();
        if limits.lines().any(wanted) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = |name: &str| {
        limits.lines().find(|l| l.starts_with(name)).unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ")
    };
    assert_eq!(line("Max cpu time"), "Max cpu time 180 190 seconds", "{limits}");
    assert_eq!(line("Max file size"), "Max file size 0 0 bytes", "{limits}");
    assert_eq!(line("Max core file size"), "Max core file size 0 0 bytes", "no core dump of a reader: {limits}");
    let address: Vec<&str> =
        limits.lines().find(|l| l.starts_with("Max address space")).unwrap().split_whitespace().collect();
    let soft: u64 = address[3].parse().unwrap();
    assert!(soft > workbook_child::CHILD_MEMORY && soft < workbook_child::CHILD_MEMORY + (2 << 30), "{limits}");
}

#[test]
fn a_sheet_number_past_any_workbook_is_unknown() {
    in_child();
    let bytes = fixture("excel-serial-dates.xlsx");
    let opts = ReadOptions { sheet: Some(u32::MAX), ..Default::default() };
    let e = ImportFile::open("x.xlsx", &bytes, &opts).err().expect("refused");
    assert_eq!(key_of(e), "field.import_sheet_unknown", "u32::MAX is no sheet, not 'the first'");
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_child_does_not_outlive_the_program_that_started_it() {
    // A shell starts a reader (its input kept open, so it waits) and exits half a second later
    // (the reader started and waiting), as an app
    // that quits in the middle of a reading: the reader is killed with it.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "sleep 30 2>/dev/null | '{}' {} >/dev/null 2>&1 & echo $!; sleep 0.5",
            env!("CARGO_BIN_EXE_comptoir-cli"),
            workbook_child::ARG
        ))
        .output()
        .unwrap();
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.split_whitespace().nth(2).is_none_or(|state| state != "Z"))
            .unwrap_or(false)
    };
    let t0 = std::time::Instant::now();
    while alive() && t0.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!alive(), "the reader {pid} still runs after the program that started it quit");
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_child_whose_parent_is_gone_before_it_starts_stops_at_once() {
    // The parent's id comes as an argument: a child whose parent is not that one (it quit, the
    // child went to another) stops; one whose parent it is waits for its workbook, whatever
    // the parent's id (a program run as process 1 in a container is a parent too).
    let start = |parent: u32| {
        std::process::Command::new(env!("CARGO_BIN_EXE_comptoir-cli"))
            .args([workbook_child::ARG, &parent.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut orphan = start(u32::MAX / 2);
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(s) = orphan.try_wait().unwrap() {
            break Some(s);
        }
        if t0.elapsed() > std::time::Duration::from_secs(10) {
            let _ = orphan.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.and_then(|s| s.code()), Some(3), "a reader with another parent stops");
    let mut child = start(std::process::id());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "a reader whose parent it is waits for its workbook");
    let _ = child.kill();
    let _ = child.wait();
}
