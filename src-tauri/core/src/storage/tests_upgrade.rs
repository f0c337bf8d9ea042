//! An upgrade seen from outside: whether one is pending is known before the file is opened
//! for writing, it says where it is as it goes (copy, check, steps), and a half-written copy
//! that an interrupted upgrade left beside the file does not stay for ever.

use super::tests::file_at_version;
use super::*;
use std::cell::RefCell;

fn old_file_with_a_customer(path: &Path, lang: &str) {
    let c = file_at_version(path, LATEST_VERSION - 1);
    c.execute_batch(&format!(
        "INSERT INTO customers (first_name, last_name, first_fold, last_fold, created_at, updated_at)
           VALUES ('Zoé', 'Côté', 'zoe', 'cote', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
         INSERT INTO settings (key, value) VALUES ('locale', '{lang}');"
    ))
    .unwrap();
}

#[test]
fn an_upgrade_is_pending_only_for_a_file_with_data_at_an_older_version() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    assert_eq!(pending_upgrade(&missing), None, "no file: nothing to upgrade (a new one is created)");
    assert!(!missing.exists(), "asking does not create the file");

    let old = dir.path().join("old.db");
    old_file_with_a_customer(&old, "en");
    let pending = pending_upgrade(&old).expect("an older file is upgraded when opened");
    assert_eq!(pending.from_version, LATEST_VERSION - 1);
    assert_eq!(pending.lang, crate::types::Lang::En, "the shop's language is read before the upgrade, for its screen");

    Store::open(&old).unwrap();
    assert_eq!(pending_upgrade(&old), None, "once upgraded, nothing is pending");

    let newer = dir.path().join("newer.db");
    {
        let c = rusqlite::Connection::open(&newer).unwrap();
        c.pragma_update(None, "user_version", LATEST_VERSION + 1).unwrap();
    }
    assert_eq!(pending_upgrade(&newer), None, "a newer app's file is not upgraded (its open refuses it)");

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"not a database at all, just text that a merchant renamed").unwrap();
    assert_eq!(pending_upgrade(&garbage), None, "an unreadable file: its open says why");
}

#[test]
fn an_upgrade_says_it_copies_then_checks_then_upgrades_and_a_current_file_says_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    old_file_with_a_customer(&path, "fr");
    let seen = RefCell::new(Vec::new());
    let store = Store::open_with_progress(&path, &|s| seen.borrow_mut().push(s)).unwrap();
    assert_eq!(
        *seen.borrow(),
        vec![UpgradeStage::Copying, UpgradeStage::Checking, UpgradeStage::Upgrading],
        "the stages in the order they run"
    );
    assert!(store.migration_backup.as_ref().is_some_and(|b| b.is_file()), "the copy was written");
    let n: i64 = store.conn().query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1, "the customer is still there");
    drop(store);

    seen.borrow_mut().clear();
    Store::open_with_progress(&path, &|s| seen.borrow_mut().push(s)).unwrap();
    assert!(seen.borrow().is_empty(), "no upgrade, nothing said: {:?}", seen.borrow());
}

#[test]
fn an_upgrade_removes_the_copy_an_interrupted_one_left_and_keeps_one_still_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    old_file_with_a_customer(&path, "fr");
    let stamp = "v18-20261201T090000Z";
    // A copy whose writer stopped: its lock file is there, nobody holds it.
    let abandoned = dir.path().join(format!("shop.db.{stamp}.bak.4242-17.tmp"));
    let journal = dir.path().join(format!("shop.db.{stamp}.bak.4242-17.tmp-journal"));
    let free_lock = dir.path().join(format!("shop.db.{stamp}.bak.4242-17.tmp.lock"));
    // A copy another window is writing: it holds its lock.
    let written = dir.path().join(format!("shop.db.{stamp}.bak.4343-18.tmp"));
    let held_lock = dir.path().join(format!("shop.db.{stamp}.bak.4343-18.tmp.lock"));
    for f in [&abandoned, &journal, &free_lock, &written, &held_lock] {
        std::fs::write(f, vec![0u8; 4096]).unwrap();
    }
    let holder = std::fs::File::open(&held_lock).unwrap();
    holder.lock().unwrap();
    let store = Store::open(&path).unwrap();
    assert!(
        !abandoned.exists() && !journal.exists() && !free_lock.exists(),
        "the stopped writer's copy goes, with its journal and its lock"
    );
    assert!(written.exists() && held_lock.exists(), "a copy whose writer holds its lock stays");
    assert!(store.migration_backup.as_ref().is_some_and(|b| b.is_file()), "this upgrade's own copy is finished");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp") && !n.contains("4343-18"))
        .collect();
    assert!(leftovers.is_empty(), "the upgrade left no temporary file of its own, lock included: {leftovers:?}");
}
