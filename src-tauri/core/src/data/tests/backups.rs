//! Backups and restore on real files; erasure and the access pack.

use super::*;
use crate::data::backup::{self, BackupReason};
use crate::data::backup_key;
use crate::data::restore;

fn file_store(dir: &std::path::Path) -> (Store, std::sync::Arc<crate::clock::FixedClock>) {
    let c = testutil::clock();
    (Store::open_with_clock(dir.join("shop.db"), c.clone()).unwrap(), c)
}

fn names(s: &Store) -> Vec<String> {
    let mut st = s.conn().prepare("SELECT last_name FROM customers ORDER BY id").unwrap();
    st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn a_backup_restores_and_the_restore_can_be_undone_with_erasures_and_unsubscribes_applied_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, clock) = file_store(dir.path());
    let bdir = dir.path().join("backups");
    let a = add(&mut s, "Élodie", "Lefèvre", "elodie@example.com", "Lyon");
    let b = add(&mut s, "Gaël", "Côté", "gael@example.com", "Paris");
    s.set_consent(
        b,
        &crate::customers::ConsentInput {
            choice: ConsentChoice::Express,
            source: ConsentSource::Counter,
            wording: "oui".into(),
        },
        None,
    )
    .unwrap();
    let snap = backup::snapshot(s.path().unwrap(), &bdir, BackupReason::Manual, backup_key::Encryption::None, s.now())
        .unwrap();
    assert_eq!((snap.header.customers, snap.header.sales), (2, 0));
    clock.advance(chrono::Duration::minutes(5));
    add(&mut s, "Nouveau", "Après", "apres@example.com", "");
    s.erase_customer(a, None).unwrap();
    s.apply_unsubscribes("gael@example.com", None).unwrap();
    let before_restore = names(&s);

    let r = s.restore_backup(std::path::Path::new(&snap.path), None, &bdir, None).unwrap();
    assert_eq!(r.erasures_reapplied, 1, "the erasure made after the backup is applied again");
    assert_eq!(r.unsubscribes_reapplied, 1);
    assert_eq!(names(&s).len(), 2, "the customer added after the backup is gone");
    assert!(!names(&s).contains(&"Lefèvre".to_string()), "an erased person never comes back with a backup");
    assert_eq!(
        s.customer(b).unwrap().consent.map(|c| c.choice),
        Some(ConsentChoice::Refused),
        "an unsubscribe survives the restore"
    );
    assert!(s.integrity_check().unwrap());

    // Undo: restore the snapshot taken just before.
    s.restore_backup(std::path::Path::new(&r.undo_backup.path), None, &bdir, None).unwrap();
    assert_eq!(names(&s), before_restore, "the restore is undone");
    let listed = backup::list(&bdir);
    assert!(listed.iter().any(|b| b.header.reason == BackupReason::BeforeRestore));
    assert!(
        std::fs::read_dir(&bdir).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with('.')),
        "no temporary file left"
    );
}

#[test]
fn a_restore_retried_with_its_key_restores_once_and_the_next_write_is_not_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, clock) = file_store(dir.path());
    let bdir = dir.path().join("backups");
    let new = |last: &str| NewCustomer {
        customer: CustomerInput { first_name: "Client".into(), last_name: last.into(), ..Default::default() },
        ..Default::default()
    };
    s.create_customer(&new("Avant"), Some("key-before-backup")).unwrap();
    let snap = backup::snapshot(s.path().unwrap(), &bdir, BackupReason::Manual, backup_key::Encryption::None, s.now())
        .unwrap();
    clock.advance(chrono::Duration::minutes(5));
    s.create_customer(&new("Après"), Some("key-after-backup")).unwrap();

    let first = s.restore_backup(std::path::Path::new(&snap.path), None, &bdir, Some("restore-key-1")).unwrap();
    assert_eq!(names(&s), vec!["Avant"]);
    // A double click: the same key answers the first restore, nothing restored again.
    clock.advance(chrono::Duration::seconds(1));
    let again = s.restore_backup(std::path::Path::new(&snap.path), None, &bdir, Some("restore-key-1")).unwrap();
    assert_eq!(again, first, "the retry answers the first restore's report, its undo included");
    let undos = backup::list(&bdir).into_iter().filter(|b| b.header.reason == BackupReason::BeforeRestore).count();
    assert_eq!(undos, 1, "one restore, one undo snapshot (a second would hold the restored state)");

    // The next writes after the restore are new writes, whatever keys the backup held.
    let after = s.create_customer(&new("Nouveau"), Some("key-after-restore")).unwrap();
    assert!(!after.replayed, "a fresh key after the restore is a new write");
    let redo = s.create_customer(&new("Après"), Some("key-after-backup")).unwrap();
    assert!(!redo.replayed, "a write the restore undid is not taken for done when sent again");
    let dup = s.create_customer(&new("Avant"), Some("key-before-backup")).unwrap();
    assert!(dup.replayed, "a write the backup holds stays done");
    assert_eq!(names(&s), vec!["Avant", "Nouveau", "Après"]);

    // The undo is a restore of its own, with its own key: it goes back to before the restore.
    let undo = std::path::Path::new(&first.undo_backup.path).to_path_buf();
    s.restore_backup(&undo, None, &bdir, Some("restore-key-2")).unwrap();
    assert_eq!(names(&s), vec!["Avant", "Après"], "the undo brings back the state before the restore");
    // A key of another operation is refused, not answered with a restore.
    assert!(matches!(
        s.restore_backup(std::path::Path::new(&snap.path), None, &bdir, Some("key-before-backup")),
        Err(crate::Error::KeyReused(_))
    ));
}

#[test]
fn truncated_corrupted_foreign_and_newer_backups_are_refused_and_the_live_file_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = file_store(dir.path());
    let bdir = dir.path().join("backups");
    for i in 0..200 {
        add(&mut s, "Client", &format!("Numéro {i}"), &format!("c{i}@example.com"), "Lyon");
    }
    let good = backup::snapshot(s.path().unwrap(), &bdir, BackupReason::Manual, backup_key::Encryption::None, s.now())
        .unwrap();
    let bytes = std::fs::read(&good.path).unwrap();
    let bad = |name: &str, b: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    let truncated = bad("t.comptoir-backup", &bytes[..bytes.len() * 2 / 3]);
    let mut flipped = bytes.clone();
    let at = flipped.len() - 200;
    flipped[at] ^= 0xFF;
    let corrupted = bad("c.comptoir-backup", &flipped);
    let foreign = bad("f.comptoir-backup", b"PK\x03\x04 not a backup at all");
    // A backup written by a newer app: its schema is past this app's.
    let newer = {
        let len = u32::from_le_bytes(bytes[18..22].try_into().unwrap()) as usize;
        let mut h: serde_json::Value = serde_json::from_slice(&bytes[22..22 + len]).unwrap();
        h["schema_version"] = serde_json::json!(crate::storage::LATEST_VERSION + 1);
        let json = serde_json::to_vec(&h).unwrap();
        let mut b = bytes[..18].to_vec();
        b.extend((json.len() as u32).to_le_bytes());
        b.extend(json);
        b.extend(&bytes[22 + len..]);
        bad("n.comptoir-backup", &b)
    };
    let live_before = names(&s);
    for (p, code) in [
        (truncated, "conflict.backup_truncated"),
        (corrupted, "conflict.backup_corrupted"),
        (foreign, "conflict.backup_not_a_backup"),
        (newer, "conflict.backup_newer"),
    ] {
        match s.restore_backup(&p, None, &bdir, None) {
            Err(crate::Error::Conflict { key, .. }) => assert_eq!(key, code, "{}", p.display()),
            other => panic!("{} must be refused, got {other:?}", p.display()),
        }
        assert!(restore::inspect(&p, None).is_err());
    }
    assert_eq!(names(&s), live_before, "the live file is untouched");
    assert!(s.integrity_check().unwrap());
    assert_eq!(backup::list(&bdir).len(), 1, "a refused restore takes no snapshot and leaves no file");
}

#[test]
fn a_backup_taken_while_another_connection_writes_holds_one_consistent_moment() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = file_store(dir.path());
    let bdir = dir.path().join("backups");
    for i in 0..300 {
        add(&mut s, "Client", &format!("Numéro {i}"), &format!("c{i}@example.com"), "Lyon");
    }
    let path = s.path().unwrap().to_path_buf();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            // Two rows per transaction: a copy of one moment holds an even number of them.
            let c = rusqlite::Connection::open(&path).unwrap();
            c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
            c.execute_batch("CREATE TABLE IF NOT EXISTS scratch (x TEXT)").unwrap();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || n < 20 {
                c.execute_batch(
                    "BEGIN IMMEDIATE; INSERT INTO scratch VALUES ('a'); INSERT INTO scratch VALUES ('b'); COMMIT;",
                )
                .unwrap();
                n += 1;
            }
            n
        })
    };
    let mut taken = Vec::new();
    for _ in 0..3 {
        taken
            .push(backup::snapshot(&path, &bdir, BackupReason::Hourly, backup_key::Encryption::None, s.now()).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(writer.join().unwrap() >= 20);
    for b in taken {
        let out = dir.path().join("restored.db");
        let header = backup::extract(std::path::Path::new(&b.path), None, &out).expect("the backup checks out in full");
        assert_eq!(header.customers, 300);
        let c = rusqlite::Connection::open(&out).unwrap();
        // (A backup taken before the writer's first transaction has no such table.)
        let rows: i64 = c.query_row("SELECT count(*) FROM scratch", [], |r| r.get(0)).unwrap_or(0);
        assert_eq!(rows % 2, 0, "a backup holds whole transactions only ({rows} rows)");
        let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "delete", "a backup holds a plain file, not one waiting for its WAL");
        drop(c);
        std::fs::remove_file(&out).unwrap();
    }
}

#[test]
fn a_damaged_live_file_gives_no_backup_and_leaves_nothing_listed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = file_store(dir.path());
    let bdir = dir.path().join("backups");
    for i in 0..400 {
        add(&mut s, &"p".repeat(90), &format!("Numéro {i} {}", "x".repeat(80)), &format!("c{i}@example.com"), "Lyon");
    }
    s.conn().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let path = s.path().unwrap().to_path_buf();
    drop(s);
    // Damage the pages of the customers table (its root page's children) as a failing disk would.
    let (root, page_size): (i64, i64) = {
        let c = rusqlite::Connection::open(&path).unwrap();
        (
            c.query_row("SELECT rootpage FROM sqlite_schema WHERE name = 'customers'", [], |r| r.get(0)).unwrap(),
            c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap(),
        )
    };
    let mut bytes = std::fs::read(&path).unwrap();
    let at = ((root - 1) * page_size) as usize;
    for b in &mut bytes[at + 12..at + 40] {
        *b = 0xEE;
    }
    std::fs::write(&path, &bytes).unwrap();
    use crate::clock::Clock;
    let r = backup::snapshot(&path, &bdir, BackupReason::Hourly, backup_key::Encryption::None, testutil::clock().now());
    assert!(r.is_err(), "a damaged file is never backed up as if it were sound");
    assert!(backup::list(&bdir).is_empty(), "nothing listed");
    assert!(std::fs::read_dir(&bdir).map(|d| d.count()).unwrap_or(0) == 0, "no temporary or partial file left behind");
}

#[test]
fn an_encrypted_backup_needs_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = file_store(dir.path());
    add(&mut s, "Élodie", "Lefèvre", "elodie@example.com", "Lyon");
    let b = backup::snapshot(
        s.path().unwrap(),
        &dir.path().join("b"),
        BackupReason::Manual,
        backup_key::Encryption::Passphrase("phrase de passe"),
        s.now(),
    )
    .unwrap();
    assert!(b.header.encrypted);
    let raw = std::fs::read(&b.path).unwrap();
    assert!(!raw.windows(7).any(|w| w == b"Lef\xc3\xa8vr" || w == b"example"), "nothing readable in the file");
    let p = std::path::Path::new(&b.path);
    assert!(matches!(
        restore::inspect(p, None),
        Err(crate::Error::Conflict { key: "conflict.backup_passphrase_needed", .. })
    ));
    assert!(matches!(
        restore::inspect(p, Some("autre")),
        Err(crate::Error::Conflict { key: "conflict.backup_wrong_passphrase", .. })
    ));
    assert_eq!(restore::inspect(p, Some("phrase de passe")).unwrap().customers, 1);

    let at = raw.windows(10).position(|w| w == b"-> scrypt ").expect("an scrypt stanza");
    let line = &raw[at..at + raw[at..].iter().position(|&b| b == b'\n').unwrap()];
    assert!(
        line.ends_with(format!(" {}", backup_key::SCRYPT_WORK).as_bytes()),
        "the passphrase is stretched at the fixed factor, the same on every computer"
    );
    // A file asking more work than allowed (not made by Comptoir, or altered).
    let heavy = dir.path().join("heavy.comptoir-backup");
    std::fs::write(&heavy, backup_key::tests::with_work_factor(&raw, backup_key::MAX_SCRYPT_WORK + 1)).unwrap();
    assert!(
        matches!(
            restore::inspect(&heavy, Some("phrase de passe")),
            Err(crate::Error::Conflict { key: "conflict.backup_too_much_work", .. })
        ),
        "a backup asking too much work is said so, never called damaged or a wrong passphrase"
    );
}

#[test]
fn finished_backups_go_off_machine_and_old_ones_are_thinned() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = file_store(dir.path());
    let bdir = dir.path().join("backups");
    let off = dir.path().join("usb");
    std::fs::create_dir_all(&off).unwrap();
    let now = s.now();
    for d in (0..30).rev() {
        backup::snapshot(
            s.path().unwrap(),
            &bdir,
            BackupReason::Hourly,
            backup_key::Encryption::None,
            now - chrono::Duration::days(d),
        )
        .unwrap();
    }
    assert_eq!(backup::list(&bdir).len(), 30);
    let removed = backup::rotate(&bdir, now);
    assert_eq!(backup::list(&bdir).len(), 30 - removed);
    assert!(removed > 0 && backup::list(&bdir).len() > rotation::DAILY, "thinned, the last 12 days kept");
    let newest = backup::list(&bdir).remove(0);
    let copied = backup::copy_offsite(&newest, &off).unwrap();
    assert!(copied.exists() && backup::list(&off).len() == 1);
    assert!(backup::copy_offsite(&newest, &dir.path().join("unplugged")).is_err());
}

#[test]
fn an_erased_customer_is_gone_from_search_while_sales_stay() {
    let (mut s, _) = testutil::store();
    let id = add(&mut s, "Élodie", "Lefèvre", "elodie@example.com", "Lyon");
    s.add_note(id, "Allergique aux noix", None).unwrap();
    testutil::sale(&mut s, id, 4250);
    let revenue = |s: &Store| count(s, "SELECT sum(amount_cents) FROM purchases");
    assert_eq!(s.search_customers("lefèvre", 20).unwrap().len(), 1);
    s.erase_customer(id, None).unwrap();
    assert!(s.search_customers("lefèvre", 20).unwrap().is_empty(), "gone from search");
    assert!(s.search_customers("elodie@", 20).unwrap().is_empty());
    assert_eq!(revenue(&s), 4250, "the day's revenue is unchanged");
    let c = s.customer(id).unwrap();
    assert!(c.email.is_none() && c.phone_e164.is_none() && c.address.city.is_none() && c.tags.is_empty());
    assert_eq!(count(&s, "SELECT count(*) FROM notes"), 0);
    let kept: String = s.conn().query_row("SELECT coalesce(email_hash, '') FROM erasures", [], |r| r.get(0)).unwrap();
    assert_eq!(kept.len(), 64, "only a salted hash is kept");
    assert_eq!(s.erase_customer(id, None).unwrap_err().code(), "conflict");
}

#[test]
fn erasing_a_customer_also_erases_the_records_merged_into_them() {
    let (mut s, _) = testutil::store();
    let old = add(&mut s, "Zoé", "M.", "zoe@old.example.com", "Lyon");
    let zoe = add(&mut s, "Zoé", "Martin", "zoe@example.com", "Lyon");
    s.merge_customers(zoe, old, None).unwrap();
    s.erase_customer(zoe, None).unwrap();
    let left: (Option<String>, String) = s
        .conn()
        .query_row("SELECT email, last_name FROM customers WHERE id = ?1", [old], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert!(left.0.is_none() && left.1 != "M.", "the merged-away record keeps nothing of her: {left:?}");
    assert_eq!(count(&s, "SELECT count(*) FROM erasures"), 2, "both addresses are hashed against a re-import");
}

#[test]
fn an_erasure_applied_again_after_a_restore_spares_someone_else_under_the_same_id() {
    let (mut s, clock) = testutil::store();
    let id = add(&mut s, "Bob", "Importé", "bob@example.com", "Lyon");
    let created: chrono::DateTime<chrono::Utc> =
        s.conn().query_row("SELECT created_at FROM customers WHERE id = ?1", [id], |r| r.get(0)).unwrap();
    clock.advance(chrono::Duration::hours(1));
    // Alice was erased in the live file under the same id, created later (Bob's import undone).
    let alice = crate::data::erasure::Erasure {
        customer_id: id,
        email_hash: None,
        phone_hash: None,
        at: s.now(),
        customer_created_at: Some(created + chrono::Duration::minutes(30)),
    };
    assert_eq!(s.reapply_erasures(&[alice]).unwrap(), 0, "Bob is not Alice: nothing erased");
    assert_eq!(s.customer(id).unwrap().email.as_deref(), Some("bob@example.com"));
    let bob = crate::data::erasure::Erasure {
        customer_id: id,
        email_hash: None,
        phone_hash: None,
        at: s.now(),
        customer_created_at: Some(created),
    };
    assert_eq!(s.reapply_erasures(&[bob]).unwrap(), 1, "the same person (same id, same creation) is erased again");
    assert!(s.customer(id).unwrap().email.is_none());
}

#[test]
fn the_access_pack_holds_everything_with_the_page_escaped() {
    let (mut s, _) = testutil::store();
    let id = add(&mut s, "Zoé", "<script>alert(1)</script>", "zoe@example.com", "Lyon");
    s.add_note(id, "<img src=x onerror=alert(1)>", None).unwrap();
    testutil::sale(&mut s, id, 1990);
    let (bytes, name) = s.access_pack(id).unwrap();
    assert!(name.ends_with(".zip"));
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let files: Vec<String> = z.file_names().filter_map(|n| n.ok()).map(|n| n.into_owned()).collect();
    for f in [
        "everything.json",
        "profile.json",
        "consents.csv",
        "purchases.csv",
        "points.csv",
        "vouchers.csv",
        "messages.csv",
        "unsubscribes.csv",
        "referrals.csv",
        "satisfaction.csv",
        "mail_received.csv",
        "page.html",
    ] {
        assert!(files.contains(&f.to_string()), "{f} in {files:?}");
    }
    let mut html = String::new();
    std::io::Read::read_to_string(&mut z.by_name("page.html").unwrap(), &mut html).unwrap();
    assert!(!html.contains("<script>alert") && !html.contains("<img src=x"), "the page is inert");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "…and shows the text");
    let mut json = String::new();
    std::io::Read::read_to_string(&mut z.by_name("everything.json").unwrap(), &mut json).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["purchases"][0]["amount_cents"], 1990);
    assert_eq!(v["notes"][0]["body"], "<img src=x onerror=alert(1)>");
}

#[test]
fn the_access_pack_holds_only_the_persons_own_data() {
    let (mut s, _) = testutil::store();
    let id = add(&mut s, "Zoé", "Vidal", "zoe@example.com", "Lyon");
    let other = add(&mut s, "Gaspard", "Quelqu'unDAutre", "gaspard@example.com", "Paris");
    s.adjust_points(id, 25, "Geste commercial", "Martine Employée", None).unwrap();
    s.merge_customers(id, other, None).unwrap();
    let (bytes, _) = s.access_pack(id).unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut all = String::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        std::io::Read::read_to_string(&mut f, &mut all).unwrap();
    }
    for name in ["Gaspard", "Quelqu'unDAutre", "Quelqu&#39;unDAutre", "Martine", "Employée"] {
        assert!(!all.contains(name), "the pack names nobody else ({name})");
    }
    assert!(
        all.contains("un membre de l'équipe") || all.contains("un membre de l&#39;équipe"),
        "staff given as a role"
    );
    assert!(all.contains("fusionnée avec une fiche antérieure à votre nom"), "the merge told as their own record");
    assert!(all.contains("Geste commercial"), "what is theirs stays");
    let mut json = String::new();
    std::io::Read::read_to_string(&mut z.by_name("everything.json").unwrap(), &mut json).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let merged = v["events"].as_array().unwrap().iter().find(|e| e["kind"] == "merged_from").expect("the merge event");
    let data: serde_json::Value = serde_json::from_str(merged["data"].as_str().unwrap()).unwrap();
    assert!(
        data.get("other_id").is_none() && data.get("other_name").is_none(),
        "no pointer to the other record: {data}"
    );
}

/// A campaign of two recipients, in the given state, with its outbox (raw rows: the restore
/// works on rows, not on the sender).
fn campaign_with_outbox(s: &mut Store, state: &str, to: &[(i64, &str, &str)]) -> i64 {
    s.transact("t", None, |tx| {
        tx.execute(
            "INSERT INTO campaigns (name, state, content, audience, created_at, updated_at) VALUES ('Soldes', ?1, '{}', '{}', ?2, ?2)",
            rusqlite::params![state, tx.now],
        )?;
        let c = tx.last_insert_rowid();
        for (customer, email, token) in to {
            tx.execute(
                "INSERT INTO campaign_recipients (campaign_id, customer_id, email, email_norm, grp, state, token)
                 VALUES (?1, ?2, ?3, ?3, 'main', 'queued', ?4)",
                rusqlite::params![c, customer, email, token],
            )?;
        }
        Ok(c)
    })
    .unwrap()
    .value
}

fn mark_sent(s: &mut Store, token: &str) {
    s.transact("t", None, |tx| {
        Ok(tx.execute(
            "UPDATE campaign_recipients SET state = 'sent', message_id = ?1, sent_at = ?2 WHERE token = ?3",
            rusqlite::params![format!("{token}@shop.example.com"), tx.now, token],
        )?)
    })
    .unwrap();
}

#[test]
fn a_restored_older_file_never_sends_a_message_that_already_left() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, clock) = file_store(dir.path());
    let bdir = dir.path().join("backups");
    let a = add(&mut s, "Élodie", "Lefèvre", "elodie@example.com", "Lyon");
    let b = add(&mut s, "Gaël", "Côté", "gael@example.com", "Paris");
    let running = campaign_with_outbox(
        &mut s,
        "running",
        &[(a, "elodie@example.com", "tok-a"), (b, "gael@example.com", "tok-b")],
    );
    let scheduled = campaign_with_outbox(&mut s, "scheduled", &[]);
    let snap = backup::snapshot(s.path().unwrap(), &bdir, BackupReason::Manual, backup_key::Encryption::None, s.now())
        .unwrap();
    clock.advance(chrono::Duration::minutes(5));
    // After the backup: the running campaign sent to Élodie; the scheduled one left to Gaël.
    mark_sent(&mut s, "tok-a");
    s.transact("t", None, |tx| {
        tx.execute("UPDATE campaigns SET state = 'running' WHERE id = ?1", [scheduled])?;
        tx.execute(
            "INSERT INTO campaign_recipients (campaign_id, customer_id, email, email_norm, grp, state, token, message_id, sent_at)
             VALUES (?1, ?2, 'gael@example.com', 'gael@example.com', 'main', 'sent', 'tok-s', 'tok-s@shop.example.com', ?3)",
            rusqlite::params![scheduled, b, tx.now],
        )?;
        Ok(())
    })
    .unwrap();

    let r = s.restore_backup(std::path::Path::new(&snap.path), None, &bdir, None).unwrap();
    assert_eq!(r.messages_carried, 2, "both messages that left after the backup are carried into the restored file");
    let state = |s: &Store, token: &str| -> String {
        s.conn().query_row("SELECT state FROM campaign_recipients WHERE token = ?1", [token], |r| r.get(0)).unwrap()
    };
    assert_eq!(state(&s, "tok-a"), "sent", "a message that left is sent in the restored file: never again");
    assert_eq!(state(&s, "tok-b"), "queued", "one that had not left still waits");
    assert_eq!(state(&s, "tok-s"), "sent", "a row the backup did not have is brought in whole");
    let campaign_state = |s: &Store, id: i64| -> (String, Option<String>) {
        s.conn()
            .query_row("SELECT state, pause_detail FROM campaigns WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
    };
    assert_eq!(campaign_state(&s, running), ("paused".into(), Some("restore".into())), "nothing leaves by itself");
    assert_eq!(
        campaign_state(&s, scheduled),
        ("paused".into(), Some("restore".into())),
        "a campaign that left after the backup does not leave again at its time"
    );
    assert_eq!(r.campaigns_paused, 2);
}

#[test]
fn writes_of_other_threads_during_a_restore_are_never_lost_between_the_old_file_and_the_new() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, clock) = file_store(dir.path());
    let bdir = dir.path().join("backups");
    add(&mut s, "Élodie", "Lefèvre", "elodie@example.com", "Lyon");
    let snap = backup::snapshot(s.path().unwrap(), &bdir, BackupReason::Manual, backup_key::Encryption::None, s.now())
        .unwrap();
    clock.advance(chrono::Duration::minutes(5));
    // A background thread (the sender, the numbers…) writes on its own connection all along.
    let path = s.path().unwrap().to_path_buf();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut other = Store::open(&path).unwrap();
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || n < 5 {
                other
                    .transact("t", None, |tx| {
                        Ok(tx.execute("INSERT INTO settings (key, value) VALUES (?1, '1')", [format!("w{n:05}")])?)
                    })
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(30));
    let r = s.restore_backup(std::path::Path::new(&snap.path), None, &bdir, None).unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let written = writer.join().unwrap();
    let keys = |c: &rusqlite::Connection| -> Vec<String> {
        let mut st = c.prepare("SELECT key FROM settings WHERE key LIKE 'w%' ORDER BY key").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let live = keys(s.conn());
    let undo = dir.path().join("undo.db");
    backup::extract(std::path::Path::new(&r.undo_backup.path), None, &undo).unwrap();
    let before = keys(&rusqlite::Connection::open(&undo).unwrap());
    let mut all: Vec<String> = before.iter().chain(live.iter()).cloned().collect();
    all.sort();
    let expected: Vec<String> = (0..written).map(|n| format!("w{n:05}")).collect();
    assert_eq!(
        all, expected,
        "each write is either in what the restore replaced (its undo) or in the restored file, once: none lost, none twice"
    );
    assert!(s.integrity_check().unwrap());
}

#[test]
fn an_erasure_blanks_what_came_back_by_mail_and_keeps_the_scores() {
    let (mut s, _) = testutil::store();
    let id = add(&mut s, "Élodie", "Lefèvre", "elodie@example.com", "Lyon");
    s.transact("t", None, |tx| {
        tx.execute(
            "INSERT INTO mailbox_messages (origin, source, account, from_addr, subject, read_at, kind, decision, email_norm, customer_id, raw, raw_size)
             VALUES ('imap:x/INBOX/1/1', 'imap', 'x', 'elodie@example.com', 'STOP Élodie', ?1, 'stop_request', 'pending', 'elodie@example.com', ?2, X'4142', 2)",
            rusqlite::params![tx.now, id],
        )?;
        let m = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO mailbox_stop_requests (message_id, email_norm, customer_id, excerpt, state) VALUES (?1, 'elodie@example.com', ?2, 'Stop, Élodie', 'pending')",
            rusqlite::params![m, id],
        )?;
        tx.execute(
            "INSERT INTO nps_answers (customer_id, score, comment, channel, answered_at, recorded_at, reply_from)
             VALUES (?1, 4, 'Élodie, déçue du service', 'email', ?2, ?2, 'elodie@example.com')",
            rusqlite::params![id, tx.now],
        )?;
        Ok(())
    })
    .unwrap();
    let refused = s.transact("t", None, |tx| Ok(tx.execute("UPDATE nps_answers SET comment = NULL", []).is_err()));
    assert!(refused.unwrap().value, "without an erasure, an answer's comment cannot be changed");
    s.erase_customer(id, None).unwrap();
    let left: (Option<String>, Option<Vec<u8>>, Option<String>) = s
        .conn()
        .query_row("SELECT from_addr, raw, email_norm FROM mailbox_messages", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(left, (None, None, None), "the message as received and its sender are gone");
    let excerpt: Option<String> =
        s.conn().query_row("SELECT excerpt FROM mailbox_stop_requests", [], |r| r.get(0)).unwrap();
    assert_eq!(excerpt, None);
    let answer: (i64, Option<String>, Option<String>) = s
        .conn()
        .query_row("SELECT score, comment, reply_from FROM nps_answers", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    assert_eq!(answer, (4, None, None), "the score stays for the figures, the words go");
}
