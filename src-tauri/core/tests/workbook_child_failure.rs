//! A workbook's reader that fails after the file was opened (it died halfway through a large
//! sheet streamed again for the import, or could not start again): the import keeps nothing,
//! and no error file is made from the rows read so far. The reader here is a script that runs
//! `comptoir-cli` as the child the first time, and cuts its output short after that.

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
    let count = dir.path().join("count");
    std::fs::write(&count, "0").unwrap();
    let script = dir.path().join("reader.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nn=$(cat '{count}')\necho $((n + 1)) > '{count}'\n\
             if [ \"$n\" -eq 0 ]; then exec '{cli}' \"$@\"; fi\n\
             '{cli}' \"$@\" | head -c 300000\n",
            count = count.display(),
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
    assert!(f.reading_failed().is_none());

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
    let r = store.import_run(&f, &opts, None, &mut |_| true);
    assert!(r.is_err(), "an import of part of the sheet is refused, not committed");
    let customers: i64 = store.conn().query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
    assert_eq!(customers, 0, "no row of the part read is kept");
    assert!(f.reading_failed().is_some(), "the file says its reading failed");
    let err = comptoir_core::data::error_file::error_file(&f, &[(2, "x".into())], Lang::Fr);
    assert!(err.is_err(), "no error file from a reading that stopped halfway");
}
