//! `comptoir-cli check` on a real file: figures equal to the purchases pass (exit 0), a drift
//! fails it (exit 1) naming the customer, and `check --repair` recounts them; a command line
//! not understood exits 2 without touching the file.

use comptoir_core::demo::DemoSpec;
use comptoir_core::Store;
use std::process::Command;

fn cli(db: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_comptoir-cli"))
        .args(["--db", db.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn check_fails_on_drifted_figures_and_check_repair_recounts_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let mut s = Store::open(&path).unwrap();
        s.generate_demo(DemoSpec { customers: 60, purchases: 400, seed: 3 }).unwrap();
    }
    let (ok, out) = cli(&path, &["check"]);
    assert!(ok && out.contains("figures ok (60 customers)"), "a clean file: {out}");
    {
        let s = Store::open(&path).unwrap();
        s.conn().execute("UPDATE customers SET total_spent_cents = total_spent_cents + 1 WHERE id = 7", []).unwrap();
    }
    let (ok, out) = cli(&path, &["check"]);
    assert!(!ok, "drift fails the check (exit 1): {out}");
    assert!(out.contains("figures of 1 of 60 customers differ from their purchases (customers 7)"), "{out}");
    let (ok, out) = cli(&path, &["--repair", "check"]);
    assert!(ok && out.contains("recounted from their purchases (customers 7)"), "a switch before the command: {out}");
    let (ok, out) = cli(&path, &["check"]);
    assert!(ok && out.contains("figures ok"), "repaired: {out}");
}

#[test]
fn a_mistyped_command_exits_2_and_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let out = Command::new(env!("CARGO_BIN_EXE_comptoir-cli"))
        .args(["--db", path.to_str().unwrap(), "chekc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a command line not understood exits 2");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown command \"chekc\""));
    assert!(!path.exists(), "a mistyped command opens (and so creates) no database file");
}
