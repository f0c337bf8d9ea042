//! Encrypted backups to the shop's key (`backup_key`): taken without the passphrase, opened
//! with it alone (even on another computer), a new passphrase for the backups to come only,
//! and a restore that never changes how this computer's backups are made.

use super::*;
use crate::data::backup::{self, BackupReason};
use crate::data::backup_key::Encryption;
use crate::data::restore::{self, BackupSettings};
use std::path::Path;

const PASS: &str = "la boutique de Zoé 🌸";

fn file_store(dir: &std::path::Path) -> (Store, std::sync::Arc<crate::clock::FixedClock>) {
    let c = testutil::clock();
    (Store::open_with_clock(dir.join("shop.db"), c.clone()).unwrap(), c)
}

/// A low scrypt work factor: these tests are about who can open what, not about scrypt.
fn choose(s: &mut Store, pass: Option<&str>) {
    s.set_backup_passphrase_with(pass, None, Some(10)).unwrap();
}

fn take(s: &Store, dir: &std::path::Path) -> backup::BackupInfo {
    let key = s.backup_key().unwrap();
    let enc = key.as_ref().map_or(Encryption::None, Encryption::Key);
    backup::snapshot(s.path().unwrap(), dir, BackupReason::Hourly, enc, s.now()).unwrap()
}

fn conflict(r: crate::Result<impl std::fmt::Debug>) -> &'static str {
    match r {
        Err(crate::Error::Conflict { key, .. }) => key,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn an_automatic_backup_is_encrypted_without_the_passphrase_and_opens_with_it_alone_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = file_store(dir.path());
    add(&mut s, "Élodie", "Lefèvre", "elodie@example.com", "Lyon");
    choose(&mut s, Some(PASS));
    let b = take(&s, &dir.path().join("backups"));
    assert!(b.header.encrypted, "a backup of a shop with a passphrase is encrypted");
    let raw = std::fs::read(&b.path).unwrap();
    assert!(
        !raw.windows(7).any(|w| w == b"Lef\xc3\xa8vr" || w == b"example"),
        "nothing of the customer file is readable in it"
    );
    assert!(!raw.windows(14).any(|w| w == b"AGE-SECRET-KEY"), "the private key is not in the file in clear");
    let in_db: String =
        s.conn().query_row("SELECT value FROM settings WHERE key = 'backup_key'", [], |r| r.get(0)).unwrap();
    assert!(
        !in_db.contains("AGE-SECRET-KEY") && !in_db.contains("Zoé"),
        "neither the private key nor the passphrase is stored"
    );

    // The shop's computer is gone: the backup file and the passphrase are all there is.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join(&b.file_name);
    std::fs::copy(&b.path, &copy).unwrap();
    assert_eq!(conflict(restore::inspect(&copy, None)), "conflict.backup_passphrase_needed");
    assert_eq!(
        conflict(restore::inspect(&copy, Some("la boutique de zoé 🌸"))),
        "conflict.backup_wrong_passphrase",
        "one letter's case is a wrong passphrase"
    );
    assert_eq!(restore::inspect(&copy, Some(PASS)).unwrap().customers, 1, "the passphrase alone opens it");
    let (mut fresh, _) = file_store(elsewhere.path());
    let report = fresh.restore_backup(&copy, Some(PASS), &elsewhere.path().join("backups"), None).unwrap();
    assert_eq!(report.restored.customers, 1);
    let last: String = fresh.conn().query_row("SELECT last_name FROM customers", [], |r| r.get(0)).unwrap();
    assert_eq!(last, "Lefèvre", "the customer file comes back on a new computer");
}

#[test]
fn a_new_passphrase_serves_the_backups_to_come_and_the_older_ones_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = file_store(dir.path());
    let bdir = dir.path().join("backups");
    add(&mut s, "Gaël", "Côté", "gael@example.com", "Paris");
    choose(&mut s, Some(PASS));
    assert!(s.check_backup_passphrase(PASS).unwrap(), "the merchant can check the passphrase");
    assert!(!s.check_backup_passphrase("autre phrase de passe").unwrap(), "a wrong one is said so");
    let old = take(&s, &bdir);
    choose(&mut s, Some("une toute nouvelle phrase"));
    let new = take(&s, &bdir.join("new"));
    assert_eq!(
        conflict(restore::inspect(Path::new(&old.path), Some("une toute nouvelle phrase"))),
        "conflict.backup_wrong_passphrase",
        "the new passphrase does not open an older backup"
    );
    assert!(
        restore::inspect(Path::new(&old.path), Some(PASS)).is_ok(),
        "an older backup opens with its own passphrase"
    );
    assert!(restore::inspect(Path::new(&new.path), Some("une toute nouvelle phrase")).is_ok());
    assert_eq!(conflict(restore::inspect(Path::new(&new.path), Some(PASS))), "conflict.backup_wrong_passphrase");
    choose(&mut s, None);
    assert!(!take(&s, &bdir.join("clear")).header.encrypted, "stopping encryption makes the next backups plain");
    assert_eq!(conflict(s.check_backup_passphrase(PASS)), "conflict.backup_not_encrypted");
    assert!(
        matches!(s.set_backup_passphrase_with(Some("court"), None, Some(10)), Err(crate::Error::Validation(f)) if f[0].field == "passphrase"),
        "a short passphrase is refused against its field"
    );
}

#[test]
fn a_restore_keeps_this_computers_way_of_backing_up_and_its_undo_is_encrypted_too() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, clock) = file_store(dir.path());
    let bdir = dir.path().join("backups");
    add(&mut s, "Anne", "Avant", "anne@example.com", "");
    // A backup from before the passphrase and before the off-machine folder.
    let before = take(&s, &bdir);
    assert!(!before.header.encrypted);
    clock.advance(chrono::Duration::minutes(5));
    let usb = dir.path().join("usb");
    std::fs::create_dir_all(&usb).unwrap();
    s.save_backup_settings(&BackupSettings { offsite_dir: Some(usb.to_string_lossy().into_owned()) }, None).unwrap();
    choose(&mut s, Some(PASS));
    let key = s.backup_key().unwrap().unwrap();
    add(&mut s, "Bruno", "Après", "bruno@example.com", "");

    let report = s.restore_backup(Path::new(&before.path), None, &bdir, None).unwrap();
    assert_eq!(s.backup_key().unwrap(), Some(key), "the restore of an older backup does not turn encryption off");
    assert_eq!(
        s.backup_settings().unwrap().offsite_dir.as_deref(),
        Some(usb.to_string_lossy().as_ref()),
        "nor forget the off-machine folder"
    );
    let undo_header = backup::read_info(Path::new(&report.undo_backup.path)).unwrap().header;
    assert!(undo_header.encrypted && undo_header.wrapped_key.is_some(), "the undo copy is encrypted to the shop's key");
    assert!(report.undo_backup.header.wrapped_key.is_none(), "the wrapped key is not sent to the interface");
    assert_eq!(report.undo_backup.header.customers, 2);
    assert!(take(&s, &bdir.join("next")).header.encrypted, "the next backups are still encrypted");
    // Undo: the shop's passphrase opens the undo copy.
    let undo = std::path::PathBuf::from(&report.undo_backup.path);
    assert_eq!(conflict(s.restore_backup(&undo, None, &bdir, None)), "conflict.backup_passphrase_needed");
    s.restore_backup(&undo, Some(PASS), &bdir, None).unwrap();
    let n: i64 = s.conn().query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 2, "the undo brings back what the restore replaced");
}

#[test]
fn a_damaged_key_stops_backups_but_not_the_backup_screen_nor_a_restore() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = file_store(dir.path());
    let bdir = dir.path().join("backups");
    add(&mut s, "Anne", "Avant", "anne@example.com", "");
    let plain = take(&s, &bdir);
    choose(&mut s, Some(PASS));
    s.conn().execute("UPDATE settings SET value = '{\"recipient\":' WHERE key = 'backup_key'", []).unwrap();
    assert_eq!(
        conflict(s.backup_key()),
        "conflict.backup_key_corrupt",
        "a key that does not read is an error, never 'not encrypted'"
    );
    let status =
        s.backup_status(&bdir).expect("the backup screen still opens: it is where a passphrase is chosen again");
    assert!(status.warnings.contains(&"key_corrupt".to_string()), "and it says the key is damaged");
    assert_eq!(status.encrypted_since, None);
    s.restore_backup(Path::new(&plain.path), None, &bdir, None).expect("a damaged key does not stop the recovery");
    choose(&mut s, Some("une nouvelle phrase"));
    assert!(take(&s, &bdir.join("after")).header.encrypted, "a passphrase chosen again repairs it");
}

#[test]
fn a_restore_on_a_new_computer_keeps_the_encryption_the_backup_had() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = file_store(dir.path());
    add(&mut s, "Élodie", "Lefèvre", "elodie@example.com", "Lyon");
    choose(&mut s, Some(PASS));
    let b = take(&s, &dir.path().join("backups"));
    let elsewhere = tempfile::tempdir().unwrap();
    let (mut fresh, _) = file_store(elsewhere.path());
    assert_eq!(fresh.backup_key().unwrap(), None, "a new computer has no key");
    fresh.restore_backup(Path::new(&b.path), Some(PASS), &elsewhere.path().join("backups"), None).unwrap();
    assert_eq!(
        fresh.backup_key().unwrap(),
        s.backup_key().unwrap(),
        "the recovery does not silently turn encryption off"
    );
    assert!(
        take(&fresh, &elsewhere.path().join("backups").join("next")).header.encrypted,
        "the next backups are encrypted"
    );
    assert!(fresh.check_backup_passphrase(PASS).unwrap());
}

#[test]
fn a_key_whose_halves_do_not_match_fails_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = file_store(dir.path());
    choose(&mut s, Some(PASS));
    let mut k = s.backup_key().unwrap().unwrap();
    let other = crate::data::backup_key::make_key(PASS, s.now(), Some(10)).unwrap();
    k.recipient = other.recipient;
    s.save_backup_key(Some(&k), None).unwrap();
    assert_eq!(
        conflict(s.check_backup_passphrase(PASS)),
        "conflict.backup_key_corrupt",
        "the passphrase opens the private half, but backups would be encrypted to another key: said so, not 'right passphrase'"
    );
}
