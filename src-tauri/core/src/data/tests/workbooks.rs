//! Workbooks read as the import reads them: XLSX streamed cell by cell, and what a streamed
//! reading must still refuse or bound (a stray cell far away, a broken sheet, a long cell).

use super::fixtures::fixtures_dir;
use super::*;
use crate::data::csv_read::{RecordError, MAX_CELL};
use crate::data::workbook;
use rust_xlsxwriter::Workbook;
use std::io::{Read, Write};
use std::sync::Arc;

fn xlsx(fill: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Clients").unwrap();
    fill(ws);
    wb.save_to_buffer().unwrap()
}

fn cells(f: &ImportFile) -> Vec<(usize, Vec<String>)> {
    f.records()
        .map(|r| match r {
            Ok(r) => (r.line, r.cells),
            Err(e) => panic!("every record is readable: {e:?}"),
        })
        .collect()
}

#[test]
fn a_stray_value_far_away_neither_exhausts_the_memory_nor_widens_every_row() {
    // A 5 KB file with a value in A1 and one in XFD1048576 asked calamine's whole-sheet range
    // for 512 GiB and aborted the app. Streamed, the far value is past the widest row read.
    let bytes = xlsx(|ws| {
        ws.write_string(0, 0, "Nom").unwrap();
        ws.write_string(0, 1, "Courriel").unwrap();
        ws.write_string(1, 0, "Anne").unwrap();
        ws.write_string(1, 1, "anne@example.com").unwrap();
        ws.write_string(1_048_575, 16_383, "x").unwrap();
    });
    assert!(bytes.len() < 10_000, "the hostile file is small");
    let f = ImportFile::open("loin.xlsx", &bytes, &ReadOptions::default()).unwrap();
    assert_eq!(f.headers(), vec!["Nom", "Courriel"]);
    assert_eq!(f.data_len(), 1, "the far value is past the widest row read: the last row is blank");
    assert!(f.records().all(|r| r.unwrap().cells.len() <= 2), "no row is widened by the stray value");
    let (mut s, _) = testutil::store();
    let r = import_auto(&mut s, &f).report;
    assert_eq!((r.counts.new, r.counts.errors), (1, 0), "{:#?}", r.rows);
}

#[test]
fn rows_keep_their_sheet_numbers_and_a_gap_reads_as_blank_rows() {
    let bytes = xlsx(|ws| {
        ws.write_string(1, 1, "Nom").unwrap();
        ws.write_string(1, 2, "Courriel").unwrap();
        ws.write_string(2, 1, "Anne").unwrap();
        ws.write_string(5, 1, "Bruno").unwrap();
        ws.write_string(5, 2, "bruno@example.com").unwrap();
        ws.write_string(6, 1, "").unwrap();
    });
    let f = ImportFile::open("trous.xlsx", &bytes, &ReadOptions::default()).unwrap();
    let rows = cells(&f);
    let lines: Vec<usize> = rows.iter().map(|r| r.0).collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6], "one record per row from the first with a value, gaps included");
    assert_eq!(rows[0].1, vec!["", "Nom", "Courriel"], "cells keep their column (a blank column A)");
    assert!(rows[2].1.is_empty() && rows[3].1.is_empty(), "rows 4 and 5 are blank records");
    assert_eq!(f.header_row, 0);
    let data: Vec<usize> = f.data().map(|r| r.unwrap().line).collect();
    assert_eq!(data, vec![3, 6], "blank rows are left out of the data, lines are the sheet's");
    assert_eq!(f.data_len(), 2);
}

#[test]
fn the_streamed_sheet_reads_as_the_whole_sheet_did() {
    // The committed workbooks, read by calamine's range (the reading before streaming) and
    // streamed: the same records, line for line.
    for name in ["excel-serial-dates.xlsx", "excel-1904-dates.xlsx"] {
        let bytes = std::fs::read(fixtures_dir().join(name)).unwrap();
        let (_, _, whole) = workbook::read_range(&bytes, workbook::Whole::Xlsx, None).unwrap();
        let whole: Vec<_> = whole.collect();
        let streamed: Vec<_> = workbook::xlsx_records(Arc::new(bytes), "Clients").unwrap().collect();
        assert_eq!(streamed, whole, "{name}: the streamed records are the range's");
    }
}

#[test]
fn a_cell_too_long_in_a_workbook_is_reported_at_its_row_as_in_a_text_file() {
    let long = "é".repeat(MAX_CELL + 1);
    let bytes = xlsx(|ws| {
        ws.write_string(0, 0, "Nom").unwrap();
        ws.write_string(0, 1, "Courriel").unwrap();
        ws.write_string(0, 2, "Notes").unwrap();
        ws.write_string(1, 0, "Anne").unwrap();
        ws.write_string(1, 1, "anne@example.com").unwrap();
        ws.write_string(1, 2, &long).unwrap();
    });
    let f = ImportFile::open("long.xlsx", &bytes, &ReadOptions::default()).unwrap();
    let rows: Vec<_> = f.data().collect();
    assert_eq!(
        rows,
        vec![Err(RecordError::CellTooLong {
            line: 2,
            short: vec!["Anne".into(), "anne@example.com".into(), String::new()]
        })],
        "the long cell is left out, the row reported at its line"
    );
}

/// `bytes` (a zip) with the part `name` changed by `change`, every other part as it was.
fn with_part(bytes: &[u8], name: &str, change: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut zout = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut change = Some(change);
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let part = f.name().unwrap().to_string();
        let mut body = Vec::new();
        f.read_to_end(&mut body).unwrap();
        if part == name {
            if let Some(c) = change.take() {
                c(&mut body);
            }
        }
        zout.start_file(part, zip::write::SimpleFileOptions::default()).unwrap();
        zout.write_all(&body).unwrap();
    }
    zout.finish().unwrap().into_inner()
}

/// `bytes` with the sheet's XML cut after `keep` bytes (a file damaged in a copy).
fn with_broken_sheet(bytes: &[u8], keep: usize) -> Vec<u8> {
    with_part(bytes, "xl/worksheets/sheet1.xml", |body| {
        body.truncate(keep.min(body.len()));
        body.extend_from_slice(b"<row r=\"9\"><c r=\"A9\" t=\"s\"><v>");
    })
}

#[test]
fn a_sheet_broken_halfway_is_refused_when_opened_not_halfway_through_an_import() {
    let bytes = xlsx(|ws| {
        ws.write_string(0, 0, "Nom").unwrap();
        ws.write_string(0, 1, "Courriel").unwrap();
        for r in 1..200u32 {
            ws.write_string(r, 0, format!("Client {r}")).unwrap();
            ws.write_string(r, 1, format!("client{r}@example.com")).unwrap();
        }
    });
    let sheet_len = {
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let n = z.by_name("xl/worksheets/sheet1.xml").unwrap().size();
        n as usize
    };
    let broken = with_broken_sheet(&bytes, sheet_len / 2);
    let e = ImportFile::open("abime.xlsx", &broken, &ReadOptions::default()).err().expect("a broken sheet is refused");
    assert!(format!("{e:?}").contains("import_file_unreadable"), "said unreadable: {e:?}");
    assert!(
        ImportFile::open("entier.xlsx", &bytes, &ReadOptions::default()).is_ok(),
        "the file before the damage opens"
    );
}

/// The LibreOffice fixture with its `content.xml` replaced by `content`.
fn ods_with_content(content: &str) -> Vec<u8> {
    let bytes = std::fs::read(fixtures_dir().join("libreoffice-calc.ods")).unwrap();
    with_part(&bytes, "content.xml", |body| *body = content.as_bytes().to_vec())
}

fn ods_sheet(rows: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><office:document-content \
         xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
         xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
         xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\"><office:body><office:spreadsheet>\
         <table:table table:name=\"Clients\">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"
    )
}

const ODS_HEADER: &str = "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>Nom</text:p></table:table-cell>\
    <table:table-cell office:value-type=\"string\"><text:p>Courriel</text:p></table:table-cell></table:table-row>\
    <table:table-row><table:table-cell office:value-type=\"string\"><text:p>Anne</text:p></table:table-cell>\
    <table:table-cell office:value-type=\"string\"><text:p>anne@example.com</text:p></table:table-cell></table:table-row>";

#[test]
fn an_ods_whose_repeated_cells_would_fill_the_memory_is_refused_before_it_is_expanded() {
    // LibreOffice ends every sheet with its empty rows and columns as repeats: not counted.
    let trailing = "<table:table-row table:number-rows-repeated=\"1048574\"><table:table-cell table:number-columns-repeated=\"1024\"/></table:table-row>";
    let fine = ods_with_content(&ods_sheet(&format!("{ODS_HEADER}{trailing}")));
    let f =
        ImportFile::open("clients.ods", &fine, &ReadOptions::default()).expect("a sheet with its empty repeats opens");
    assert_eq!(cells(&f)[1].1, vec!["Anne", "anne@example.com"]);
    assert!(
        crate::data::workbook_guard::check_ods(&std::fs::read(fixtures_dir().join("libreoffice-calc.ods")).unwrap())
            .is_ok(),
        "the real LibreOffice file passes"
    );

    // One value repeated across a row a million times over: 99 million cells from a few bytes.
    let rows = "<table:table-row table:number-rows-repeated=\"1000000\"><table:table-cell office:value-type=\"string\" table:number-columns-repeated=\"99\"><text:p>x</text:p></table:table-cell></table:table-row>";
    // And a value repeated to column XFD on 1,000 rows: 16 million cells, no row repeat.
    let wide = "<table:table-row><table:table-cell office:value-type=\"string\" table:number-columns-repeated=\"16384\"><text:p>x</text:p></table:table-cell></table:table-row>".repeat(1_000);
    // A value without a value type (`office:value`), repeated: calamine keeps it all the same.
    let untyped = "<table:table-row table:number-rows-repeated=\"6000\"><table:table-cell office:value=\"1\" table:number-columns-repeated=\"16384\"/></table:table-row>";
    // Few cells, each a long text repeated: a megabyte of spaces written as one `text:s`.
    let spaces = "<table:table-row table:number-rows-repeated=\"2000\"><table:table-cell office:value-type=\"string\"><text:p><text:s text:c=\"1000000\"/></text:p></table:table-cell></table:table-row>";
    let sheets = [
        ("rows repeated", ods_sheet(&format!("{ODS_HEADER}{rows}"))),
        ("columns repeated", ods_sheet(&format!("{ODS_HEADER}{wide}"))),
        ("a value without a type", ods_sheet(&format!("{ODS_HEADER}{untyped}"))),
        ("a long text repeated", ods_sheet(&format!("{ODS_HEADER}{spaces}"))),
        // calamine reads every sheet when it opens the file: a small first sheet does not hide
        // the second.
        ("in the second sheet", ods_sheet(ODS_HEADER).replace("</table:table>", &format!("</table:table><table:table table:name=\"Autre\">{rows}</table:table>"))),
        // A table inside a cell does not end the count of the sheet around it.
        ("after a nested table", ods_sheet(&format!("{ODS_HEADER}<table:table-row><table:table-cell><table:table table:name=\"n\"></table:table></table:table-cell></table:table-row>{rows}"))),
    ];
    for (what, content) in sheets {
        let bomb = ods_with_content(&content);
        assert!(bomb.len() < 200_000, "{what}: the hostile file is small ({} bytes)", bomb.len());
        let e = ImportFile::open("bombe.ods", &bomb, &ReadOptions::default()).err().expect("refused");
        assert!(format!("{e:?}").contains("import_sheet_too_large"), "{what}: said too large: {e:?}");
    }
}

#[test]
fn a_workbook_part_read_whole_is_refused_past_its_limit() {
    let bytes = xlsx(|ws| {
        ws.write_string(0, 0, "Nom").unwrap();
        ws.write_string(1, 0, "Anne").unwrap();
    });
    let guard = crate::data::workbook_guard::check_parts_within;
    assert!(guard(&bytes, crate::data::workbook_guard::MAX_PART).is_ok());
    // The shared strings of this file are a few hundred bytes: under a limit of 100, refused;
    // its sheet is streamed and never counted.
    let e = guard(&bytes, 100).expect_err("a part past the limit is refused");
    assert!(format!("{e:?}").contains("import_sheet_too_large"), "{e:?}");
}

/// A zip of `parts` (name, text).
fn zipped(parts: &[(&str, String)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in parts {
        z.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

#[test]
fn only_sheets_where_a_workbook_keeps_them_escape_the_limit_of_parts_read_whole() {
    let guard = crate::data::workbook_guard::check_parts_within;
    let rels = |target: &str| {
        format!(
            "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
             <Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"{target}\"/></Relationships>"
        )
    };
    let big = "x".repeat(5_000);
    // A sheet written in capitals by some tool is still a sheet.
    let upper = zipped(&[("_rels/.rels", rels("xl/workbook.xml")), ("XL/Worksheets/Sheet1.xml", big.clone())]);
    assert!(guard(&upper, 1_000).is_ok(), "a large sheet is streamed, whatever its case");
    // A package naming its workbook inside xl/worksheets/ has its shared strings read whole from
    // there: they are not a sheet.
    let moved =
        zipped(&[("_rels/.rels", rels("/xl/worksheets/workbook.xml")), ("xl/worksheets/sharedStrings.xml", big)]);
    let e = guard(&moved, 1_000).expect_err("the shared strings moved beside the sheets are refused");
    assert!(format!("{e:?}").contains("import_sheet_too_large"), "{e:?}");
}

#[test]
fn hostile_workbooks_found_by_review_are_refused_without_exhausting_the_memory() {
    // Tabs inside a text repeated over columns and rows: each is a character of every copy.
    let tabs = format!(
        "<table:table-row table:number-rows-repeated=\"200\"><table:table-cell table:number-columns-repeated=\"16384\" office:value-type=\"string\"><text:p>{}</text:p></table:table-cell></table:table-row>",
        "<text:tab/>".repeat(10_000)
    );
    // Rows inside a cell, which calamine would read as rows of the sheet.
    let nested = "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>x</text:p><table:table><table:table-row><table:table-cell/></table:table-row></table:table></table:table-cell></table:table-row>";
    for (what, rows) in [("tabs", tabs.as_str()), ("rows in a cell", nested)] {
        let e = ImportFile::open(
            "bombe.ods",
            &ods_with_content(&ods_sheet(&format!("{ODS_HEADER}{rows}"))),
            &ReadOptions::default(),
        )
        .err()
        .unwrap_or_else(|| panic!("{what}: refused"));
        assert!(format!("{e:?}").contains("import_"), "{what}: {e:?}");
    }

    // A zip taken for an ODS (a content.xml) that carries an XLSX's parts: read as an ODS,
    // never as the XLSX whose far cell would ask for 512 GiB.
    let rels = "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>";
    let book_rels = "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>";
    let book = "<?xml version=\"1.0\"?><workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets><sheet name=\"A\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
    let sheet = "<?xml version=\"1.0\"?><worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData><row r=\"1\"><c r=\"A1\"><v>1</v></c></row><row r=\"1048576\"><c r=\"XFD1048576\"><v>1</v></c></row></sheetData></worksheet>";
    let disguised = zipped(&[
        ("content.xml", "<x/>".into()),
        ("_rels/.rels", rels.into()),
        ("xl/_rels/workbook.xml.rels", book_rels.into()),
        ("xl/workbook.xml", book.into()),
        ("xl/worksheets/sheet1.xml", sheet.into()),
    ]);
    if let Ok(f) = ImportFile::open("deguise.ods", &disguised, &ReadOptions::default()) {
        assert!(f.records().count() < 10, "read as the ODS it claims to be");
    }

    // Shared strings announcing ten billion strings in 60 bytes: calamine would reserve room
    // for all of them first.
    let bytes = xlsx(|ws| {
        ws.write_string(0, 0, "Nom").unwrap();
    });
    let sst = "<?xml version=\"1.0\"?><sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"1\" uniqueCount=\"10000000000\"><si><t>Nom</t></si></sst>";
    let announced = with_part(&bytes, "xl/sharedStrings.xml", |body| *body = sst.as_bytes().to_vec());
    let e = ImportFile::open("annonce.xlsx", &announced, &ReadOptions::default()).err().expect("refused");
    assert!(format!("{e:?}").contains("import_file_unreadable"), "{e:?}");
}

#[test]
fn a_workbook_of_repeated_words_is_not_taken_for_a_shared_strings_bomb() {
    // A civility, a town and a yes/no on every row: 15,000 cells use three shared strings.
    // `count` (the cells) is far more than the strings' XML could hold; only `uniqueCount`
    // says what calamine reserves.
    let bytes = xlsx(|ws| {
        for (c, h) in ["Civilité", "Ville", "Accepte les offres"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for r in 1..=5_000u32 {
            ws.write_string(r, 0, "Mme").unwrap();
            ws.write_string(r, 1, "Lyon").unwrap();
            ws.write_string(r, 2, "oui").unwrap();
        }
    });
    let f = ImportFile::open("clients.xlsx", &bytes, &ReadOptions::default()).expect("an ordinary workbook opens");
    assert_eq!(f.data_len(), 5_000);

    // An `sst` announcing two billion strings after another element is still seen.
    let check = |xml: &str| {
        let changed = with_part(&bytes, "xl/sharedStrings.xml", |body| *body = xml.as_bytes().to_vec());
        ImportFile::open("x.xlsx", &changed, &ReadOptions::default()).err()
    };
    let hidden = "<?xml version=\"1.0\"?><x/><sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" uniqueCount=\"2000000000\"><si><t>Mme</t></si></sst>";
    assert!(check(hidden).is_some(), "the announced count is found wherever sst starts");
}

#[test]
fn a_workbook_column_whose_first_value_comes_late_is_listed_from_the_reading_at_opening() {
    // Phones typed without a header from row 42 on; and a header row far down (past the widths
    // noted at opening): the column is listed either way.
    for title_rows in [0u32, 5_000] {
        let bytes = xlsx(|ws| {
            for r in 0..title_rows {
                ws.write_string(r, 0, format!("note {r}")).unwrap();
            }
            ws.write_string(title_rows, 0, "Nom").unwrap();
            ws.write_string(title_rows, 1, "E-mail").unwrap();
            for i in 1..=40u32 {
                ws.write_string(title_rows + i, 0, format!("Client{i}")).unwrap();
                ws.write_string(title_rows + i, 1, format!("client{i}@example.com")).unwrap();
            }
            ws.write_string(title_rows + 41, 0, "Tardif").unwrap();
            ws.write_string(title_rows + 41, 1, "tardif@example.com").unwrap();
            ws.write_string(title_rows + 41, 2, "06 12 34 56 79").unwrap();
        });
        let opts = ReadOptions { header_row: Some(title_rows), ..Default::default() };
        let f = ImportFile::open("carnet.xlsx", &bytes, &opts).unwrap();
        let info = f.info(crate::types::Lang::Fr);
        assert_eq!(info.headers, vec!["Nom", "E-mail", ""], "{title_rows} rows before the header");
        assert_eq!(f.noted_data_width(2_000).is_some(), title_rows == 0, "noted at opening only within its rows");
    }
}
