//! A restore in two halves: the backup is extracted without the store, and what the app did
//! meanwhile is neither lost nor undone by the restore.

use super::*;
use crate::data::backup::{self, BackupReason};
use crate::data::backup_key;
use crate::data::restore;

fn names(s: &Store) -> Vec<String> {
    let mut st = s.conn().prepare("SELECT last_name FROM customers ORDER BY id").unwrap();
    st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn named(first: &str, last: &str) -> NewCustomer {
    NewCustomer {
        customer: CustomerInput { first_name: first.into(), last_name: last.into(), ..Default::default() },
        ..Default::default()
    }
}

fn dot_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn during_the_extraction_the_interface_cannot_write_and_the_other_connections_writes_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let clock = testutil::clock();
    let mut s = Store::open_with_clock(dir.path().join("shop.db"), clock.clone()).unwrap();
    let bdir = dir.path().join("backups");
    let a = add(&mut s, "Élodie", "Lefèvre", "elodie@example.com", "Lyon");
    let b = add(&mut s, "Gaël", "Côté", "gael@example.com", "Paris");
    let snap = backup::snapshot(s.path().unwrap(), &bdir, BackupReason::Manual, backup_key::Encryption::None, s.now())
        .unwrap();
    clock.advance(chrono::Duration::minutes(5));

    // As the app does: the interface's store refuses writes while the backup is extracted.
    let paused = s.pause_writes();
    let extracted = restore::extract_for_restore(std::path::Path::new(&snap.path), None, &bdir).unwrap();
    assert_eq!(extracted.header().customers, 2);
    let refused = s.create_customer(&named("Pendant", "Extraction"), Some("key-during-restore"));
    assert!(
        matches!(&refused, Err(crate::Error::Conflict { key, .. }) if *key == "conflict.restore_in_progress"),
        "a write from the interface is refused with a message, not accepted and then replaced: {refused:?}"
    );
    assert_eq!(names(&s).len(), 2, "the refused write left nothing");
    // The app's other connections (the mailbox reader, the sender) go on writing.
    let mut other = Store::open_with_clock(dir.path().join("shop.db"), clock.clone()).unwrap();
    add(&mut other, "Pendant", "Autre connexion", "autre@example.com", "");
    other.erase_customer(a, None).unwrap();
    other.apply_unsubscribes("gael@example.com", None).unwrap();
    drop(other);
    let during = names(&s);

    let r = s.restore_extracted(extracted, None, &bdir, Some("restore-halves")).unwrap();
    drop(paused);
    assert_eq!(r.erasures_reapplied, 1, "an erasure made during the extraction is applied to the restored file");
    assert_eq!(r.unsubscribes_reapplied, 1, "an unsubscribe made during the extraction survives the restore");
    assert!(!names(&s).contains(&"Lefèvre".to_string()), "an erased person never comes back with a backup");
    assert_eq!(names(&s).len(), 2, "the restored content is the backup's");
    assert_eq!(
        s.customer(b).unwrap().consent.map(|c| c.choice),
        Some(ConsentChoice::Refused),
        "the unsubscribe holds in the restored file"
    );
    assert_eq!(
        s.restore_done(std::path::Path::new(&snap.path), "restore-halves").unwrap(),
        Some(r.clone()),
        "the restore's key is recorded in the content the app goes on with"
    );
    assert!(dot_files(&bdir).is_empty(), "the work copy is removed: {:?}", dot_files(&bdir));

    // The undo copy was taken under the gate, after the extraction: it holds what was done during it.
    s.restore_backup(std::path::Path::new(&r.undo_backup.path), None, &bdir, None).unwrap();
    assert_eq!(names(&s), during, "undoing the restore brings back what was written during the extraction");
    let again = s.create_customer(&named("Après", "Restauration"), Some("key-during-restore"));
    assert!(again.is_ok_and(|o| !o.replayed), "once the restore is done, the refused write goes through with its key");
}

#[test]
fn an_extraction_refused_or_dropped_leaves_no_file_and_no_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open_with_clock(dir.path().join("shop.db"), testutil::clock()).unwrap();
    let bdir = dir.path().join("backups");
    for i in 0..50 {
        add(&mut s, "Client", &format!("Numéro {i}"), &format!("c{i}@example.com"), "Lyon");
    }
    let good = backup::snapshot(s.path().unwrap(), &bdir, BackupReason::Manual, backup_key::Encryption::None, s.now())
        .unwrap();
    let bytes = std::fs::read(&good.path).unwrap();
    let truncated = dir.path().join("t.comptoir-backup");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert!(restore::extract_for_restore(&truncated, None, &bdir).is_err());
    assert!(dot_files(&bdir).is_empty(), "a refused extraction leaves nothing: {:?}", dot_files(&bdir));

    // Extracted, then given up (the window closed, an error before the second half).
    let ex = restore::extract_for_restore(std::path::Path::new(&good.path), None, &bdir).unwrap();
    assert!(!dot_files(&bdir).is_empty(), "the work copy exists while it is held");
    drop(ex);
    assert!(dot_files(&bdir).is_empty(), "a dropped extraction removes its files: {:?}", dot_files(&bdir));
    assert_eq!(backup::list(&bdir).len(), 1, "no snapshot was taken: nothing of the live file was touched");
    assert_eq!(names(&s).len(), 50);
}

#[test]
fn what_a_crashed_restore_left_is_removed_after_an_hour_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    let make = |name: &str, old: bool| {
        let p = dir.path().join(name);
        std::fs::write(&p, b"x").unwrap();
        if old {
            std::fs::File::options().write(true).open(&p).unwrap().set_modified(two_hours_ago).unwrap();
        }
    };
    for n in [
        ".restore-41-0.db",
        ".restore-41-0.db-wal",
        ".restore-41-0.db-shm",
        ".restore-41-0.db.v16-20261201T100000Z.bak",
        ".restore-41-0.db.v16-20261201T100000Z.bak.41-8f3a.tmp",
    ] {
        make(n, true);
    }
    make(".snapshot-00ff00ff00ff00ff.db", true); // a backup's copy, left by a crash
    make(".other-app.db", true); // another program's database: not ours
    make(".other-app.db-wal", true);
    make(".restore-42-0.db", false); // a restore running now
    make("comptoir-20261201.comptoir-backup", true);
    make("notes.db", true);
    make(".hidden-of-the-merchant", true);
    backup::clean_leftovers(dir.path());
    let mut left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(
        left,
        vec![
            ".hidden-of-the-merchant",
            ".other-app.db",
            ".other-app.db-wal",
            ".restore-42-0.db",
            "comptoir-20261201.comptoir-backup",
            "notes.db"
        ],
        "an hour-old work copy and its SQLite files go; a running restore's copy, backups and others' files stay"
    );
}
