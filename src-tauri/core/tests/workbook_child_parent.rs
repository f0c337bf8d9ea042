//! A reader that finds it is not the child of the program that asked (given another parent's
//! id, as when the app quit before it started) stops at once; the merchant is told the reader
//! could not start, not that the file cannot be read.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use comptoir_core::data::workbook_child::{self, Reader};
use comptoir_core::data::{ImportFile, ReadOptions};
use comptoir_core::Error;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

#[test]
fn a_reader_that_is_not_its_parents_child_is_a_reader_that_could_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("reader.sh");
    // The reader is given a parent id that is not its parent's.
    std::fs::write(
        &script,
        format!("#!/bin/sh\nexec '{}' {} 999999999\n", env!("CARGO_BIN_EXE_comptoir-cli"), workbook_child::ARG),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    workbook_child::set_reader(Reader::Child(script));
    let bytes =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import/excel-97.xls")).unwrap();
    match ImportFile::open("excel-97.xls", &bytes, &ReadOptions::default()) {
        Err(Error::Validation(v)) => assert_eq!(v[0].key, "field.import_reader_unavailable"),
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("opened"),
    }
}
