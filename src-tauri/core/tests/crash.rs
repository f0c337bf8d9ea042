//! Killed in the middle of a write, the file stays sound and shows nothing half-done.

use comptoir_core::Store;
use std::process::Command;
use std::time::Duration;

#[test]
fn a_process_killed_mid_write_leaves_a_sound_file_with_nothing_half_done() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    drop(Store::open(&path).unwrap());
    // A large demo shop is written in one transaction; kill the writer while it runs.
    let mut child = Command::new(env!("CARGO_BIN_EXE_comptoir-cli"))
        .args(["--db", path.to_str().unwrap(), "demo", "--customers", "40000", "--purchases", "400000"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().ok();
    child.wait().unwrap();

    let store = Store::open(&path).unwrap();
    assert!(store.integrity_check().unwrap(), "the file passes PRAGMA integrity_check after the kill");
    let stats = store.stats().unwrap();
    if still_running {
        assert_eq!(stats.customers_active, 0, "the interrupted import left no customer behind");
        assert_eq!(stats.sales, 0, "and no sale");
    } else {
        // The machine was fast enough to finish: then everything is there.
        assert_eq!(stats.customers_active, 40000);
    }
}
