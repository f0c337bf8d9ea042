//! Killed with SIGKILL in the middle of an import or a backup (through `comptoir-cli`, the same
//! code as the app's): the import left nothing or everything and the file is sound; earlier
//! backups are intact and no partial backup is ever listed.

use comptoir_core::data::backup;
use comptoir_core::Store;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROWS: usize = 150_000;

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_comptoir-cli"))
}

#[test]
fn an_import_killed_midway_leaves_nothing_or_everything() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    drop(Store::open(&db).unwrap());
    let csv = dir.path().join("clients.csv");
    let mut text = String::from("Nom;Prénom;E-mail;Téléphone;Notes\r\n");
    for i in 0..ROWS {
        text.push_str(&format!("Nom{i};Prénom;client{i}@example.com;06{i:08};\"note\r\nsur deux lignes\"\r\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let mut child = cli()
        .args(["--db", db.to_str().unwrap(), "import", "--file", csv.to_str().unwrap(), "--no-backup"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until rows are being written (the progress counter moves), then kill.
    let mut err = child.stderr.take().unwrap();
    let t0 = Instant::now();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    while !seen.contains("1000/") && t0.elapsed() < Duration::from_secs(60) {
        let n = err.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().ok();
    child.wait().unwrap();

    let s = Store::open(&db).unwrap();
    assert!(s.integrity_check().unwrap(), "the file passes integrity_check after the kill");
    let customers: i64 = s.conn().query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
    let imports: i64 = s.conn().query_row("SELECT count(*) FROM imports", [], |r| r.get(0)).unwrap();
    if still_running {
        assert_eq!((customers, imports), (0, 0), "an interrupted import leaves nothing behind");
    } else {
        assert_eq!(customers, ROWS as i64, "a finished import is all there");
    }
}

#[test]
fn a_backup_killed_midway_never_lists_a_partial_file_and_earlier_ones_stay_intact() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let bdir = dir.path().join("backups");
    let status = cli()
        .args(["--db", db.to_str().unwrap(), "demo", "--customers", "20000", "--purchases", "150000"])
        .status()
        .unwrap();
    assert!(status.success());
    let first = cli().args(["--db", db.to_str().unwrap(), "backup", "--dir", bdir.to_str().unwrap()]).output().unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let earlier = backup::list(&bdir);
    assert_eq!(earlier.len(), 1);
    let mut killed_midway = 0;
    for delay_ms in [30u64, 120, 300] {
        let mut child =
            cli().args(["--db", db.to_str().unwrap(), "backup", "--dir", bdir.to_str().unwrap()]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            killed_midway += 1;
        }
        child.kill().ok();
        child.wait().unwrap();
        for b in backup::list(&bdir) {
            assert!(!b.file_name.starts_with('.'), "a partial file is never listed: {}", b.file_name);
            let out = dir.path().join("check.db");
            backup::extract(std::path::Path::new(&b.path), None, &out)
                .unwrap_or_else(|p| panic!("every listed backup is whole ({}: {p:?})", b.file_name));
        }
    }
    assert!(killed_midway > 0, "at least one backup was killed while it ran");
    assert!(backup::list(&bdir).iter().any(|b| b.file_name == earlier[0].file_name), "the earlier backup is intact");
    let s = Store::open(&db).unwrap();
    assert!(s.integrity_check().unwrap(), "the live file is sound");
}
