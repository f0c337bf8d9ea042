//! A workbook's reader that fails after the file was opened (it died halfway through a large
//! sheet streamed again for the import, or could not start again): the import keeps nothing,
//! and no error file is made from the rows read so far; a later reading that goes to the end
//! imports the file. The reader here is a script that runs `comptoir-cli` as the child, and
//! cuts its output short while the test says so.

#![cfg(unix)]

use comptoir_core::data::workbook_child::{self, Reader};
use comptoir_core::data::{BadValues, ImportOptions, MatchPolicy, OnErrors};
use comptoir_core::data::{ImportFile, ReadOptions};
use comptoir_core::types::Lang;
use comptoir_core::Store;
use std::os::unix::fs::PermissionsExt;

#[test]
fn an_import_whose_reader_dies_halfway_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // While the file `fail` exists, the reader's output is cut short.
    let fail = dir.path().join("fail");
    let script = dir.path().join("reader.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ ! -e '{fail}' ]; then exec '{cli}' \"$@\"; fi\n\
             '{cli}' \"$@\" | head -c 300000\n",
            fail = fail.display(),
            cli = env!("CARGO_BIN_EXE_comptoir-cli"),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    workbook_child::set_reader(Reader::Child(script));

    // A sheet larger than a workbook keeps: each reading after the first streams it again.
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["Nom", "Prénom", "E-mail", "Notes"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    const ROWS: u32 = 60_000;
    for r in 1..=ROWS {
        ws.write_string(r, 0, format!("Nom{r}")).unwrap();
        ws.write_string(r, 1, "Prénom").unwrap();
        ws.write_string(r, 2, format!("client{r}@example.com")).unwrap();
        ws.write_string(r, 3, format!("{r} {}", "note ".repeat(60))).unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let f = ImportFile::open("clients.xlsx", &bytes, &ReadOptions::default()).unwrap();
    assert_eq!(f.data_len(), ROWS as usize, "the first reading is whole");
    assert_eq!(f.failed_readings(), 0);

    let db = dir.path().join("shop.db");
    let mut store = Store::open(&db).unwrap();
    let info = f.info(Lang::Fr);
    let opts = ImportOptions {
        mapping: info.mapping,
        matching: MatchPolicy::FillEmpty,
        bad_values: BadValues::KeepInNotes,
        on_errors: OnErrors::ImportValid,
        soft_opt_in: None,
    };
    std::fs::write(&fail, "").unwrap();
    let r = store.import_run(&f, &opts, None, &mut |_| true);
    assert!(r.is_err(), "an import of part of the sheet is refused, not committed");
    let customers: i64 = store.conn().query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
    assert_eq!(customers, 0, "no row of the part read is kept");
    assert_eq!(f.failed_readings(), 1, "the file counts the reading that failed");

    // The reader works again: the import is made whole, and its error file too.
    std::fs::remove_file(&fail).unwrap();
    let r = store.import_run(&f, &opts, None, &mut |_| true).expect("a whole reading imports");
    assert_eq!(r.value.report.counts.new, ROWS, "every customer in, the failed reading forgotten");
    let file = comptoir_core::data::error_file::error_file(&f, &[(2, "x".into())], Lang::Fr);
    assert!(file.is_ok(), "an error file from a whole reading");
}
