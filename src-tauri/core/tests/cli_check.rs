//! `comptoir-cli check` on a real file: figures equal to the purchases pass (exit 0), a drift
//! fails it (exit 1) naming the customer, and `check --repair` recounts them; a command line
//! not understood exits 2 without touching the file.

use comptoir_core::demo::DemoSpec;
use comptoir_core::Store;
use std::process::Command;

fn cli(db: &std::path::Path, args: &[&str]) -> (bool, String) {
    let (code, out, _) = cli_in(None, &["--db", db.to_str().unwrap()], args);
    (code == Some(0), out)
}

/// The exit code, the output and the errors of `comptoir-cli` run in `cwd`.
fn cli_in(cwd: Option<&std::path::Path>, before: &[&str], args: &[&str]) -> (Option<i32>, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_comptoir-cli"));
    if let Some(cwd) = cwd {
        c.current_dir(cwd);
    }
    let out = c.args(before).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
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
    let (code, out, _) = cli_in(None, &["--db", path.to_str().unwrap()], &["check"]);
    assert_eq!(code, Some(1), "drift fails the check (exit 1): {out}");
    assert!(out.contains("figures of 1 of 60 customers differ from their purchases (customers 7)"), "{out}");
    let (ok, out) = cli(&path, &["--repair", "check"]);
    assert!(ok && out.contains("recounted from their purchases (customers 7)"), "a switch before the command: {out}");
    let (ok, out) = cli(&path, &["check"]);
    assert!(ok && out.contains("figures ok"), "repaired: {out}");
}

#[test]
fn a_command_line_not_understood_exits_2_and_creates_or_changes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let new = d.join("new.db");
    let new = new.to_str().unwrap();
    let (code, _, err) = cli_in(Some(d), &["--db", new], &["chekc"]);
    assert_eq!(code, Some(2), "a mistyped command exits 2: {err}");
    assert!(err.contains("unknown command \"chekc\""), "{err}");
    let (code, _, err) = cli_in(Some(d), &["--db", new], &["check"]);
    assert_eq!(
        code,
        Some(2),
        "a shop file that does not exist is not checked (it would be made empty and sound): {err}"
    );
    assert!(err.contains("not a shop's file"), "{err}");
    // The path forgotten: the switch after --db is not taken for the file's name.
    let (code, _, err) = cli_in(Some(d), &["--db", "--repair", "check"], &[]);
    assert_eq!(code, Some(2), "--db --repair check: {err}");
    let (code, _, err) = cli_in(Some(d), &["--db", "--no-backup", "import", "--file", "x.csv"], &[]);
    assert_eq!(code, Some(2), "--db --no-backup import: {err}");
    let left: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "no database file was created: {left:?}");

    // A preview mistyped is refused, not run as a real import.
    let shop = d.join("shop.db");
    drop(Store::open(&shop).unwrap());
    std::fs::write(d.join("clients.csv"), "Nom;Prénom;E-mail\r\nDupont;Zoé;zoe@example.com\r\n").unwrap();
    let (code, _, err) =
        cli_in(Some(d), &["--db", shop.to_str().unwrap()], &["import", "--file", "clients.csv", "--dry_run"]);
    assert_eq!(code, Some(2), "--dry_run is not --dry-run: {err}");
    assert!(err.contains("--dry_run: not an option of import"), "{err}");
    let s = Store::open(&shop).unwrap();
    assert_eq!(s.stats().unwrap().customers_active, 0, "nothing was imported");
}
