use super::*;
use crate::clock::FixedClock;
use crate::customers::{CustomerInput, NewCustomer};
use chrono::TimeZone;

pub(super) fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()))
}

fn new_customer(first: &str, last: &str) -> NewCustomer {
    NewCustomer {
        customer: CustomerInput { first_name: first.into(), last_name: last.into(), ..Default::default() },
        ..Default::default()
    }
}

/// A database file built by the steps up to `version`, as that version of the app left it.
/// The plan SQLite picks for `sql`, its steps joined.
pub(super) fn plan(c: &Connection, sql: &str) -> String {
    let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = st.query_map([], |r| r.get::<_, String>(3)).unwrap();
    rows.collect::<rusqlite::Result<Vec<_>>>().unwrap().join(" / ")
}

/// The file opened by the app is at the latest version and sound (`integrity_check`).
pub(super) fn assert_upgraded_and_sound(c: &Connection) {
    let version: u32 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, LATEST_VERSION, "upgraded to the latest version");
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok", "the upgraded file is sound");
}

pub(super) fn file_at_version(path: &std::path::Path, version: u32) -> Connection {
    migrations::create_file_at_version(path, version).unwrap()
}

#[test]
fn a_copy_of_a_backup_is_upgraded_without_a_second_copy_of_its_older_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".restore-1-0.db");
    let from = LATEST_VERSION - 1;
    {
        let c = file_at_version(&path, from);
        c.execute(
            "INSERT INTO customers (first_name, last_name, first_fold, last_fold, created_at, updated_at) VALUES ('Élodie', 'Lefèvre', 'elodie', 'lefevre', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')",
            [],
        )
        .unwrap();
    }
    let store = Store::open_copy(&path).unwrap();
    let v: u32 = store.conn().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, LATEST_VERSION, "the copy is upgraded to this app's schema");
    let n: i64 = store.conn().query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1, "with its data");
    assert!(store.migration_backup.is_none(), "no copy of the older version is taken: the backup is that copy");
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.retain(|n| !n.ends_with("-wal") && !n.ends_with("-shm"));
    assert_eq!(names, [".restore-1-0.db"], "nothing is written beside the copy");
}

#[test]
fn a_new_file_gets_the_pragmas_and_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("shop.db")).unwrap();
    let c = store.conn();
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    let fk: i64 = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    let busy: i64 = c.query_row("PRAGMA busy_timeout", [], |r| r.get(0)).unwrap();
    let version: u32 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal", "a database file is in WAL mode");
    assert_eq!(sync, 2, "synchronous=FULL so a recorded sale survives a power cut");
    assert_eq!(fk, 1, "foreign keys are enforced");
    assert!(busy >= 1000, "a second writer waits instead of failing at once");
    assert_eq!(version, LATEST_VERSION, "a new file is at the latest schema");
    assert!(store.migration_backup.is_none(), "an empty new file needs no backup");
    assert!(store.integrity_check().unwrap());
}

#[test]
fn a_database_from_a_newer_app_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    drop(Store::open(&path).unwrap());
    {
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", LATEST_VERSION + 1).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path).err().expect("a newer schema must be refused");
    assert_eq!(err.code(), "newer_database", "refused with its own code: {err}");
    let c = Connection::open(&path).unwrap();
    let v: u32 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, LATEST_VERSION + 1, "the newer database is not 'fixed'");
    assert_eq!(before.len(), std::fs::read(&path).unwrap().len());
}

/// Every released schema has a fixture: a database built by running the steps up to that
/// version with data in it, then opened by this app. Data survives and a backup is taken.
#[test]
fn a_database_at_each_schema_version_upgrades_keeping_its_data() {
    for from in 1..=LATEST_VERSION {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        {
            let c = Connection::open(&path).unwrap();
            migrations::register_rules(&c).unwrap();
            for (v, _, sql) in migrations::steps().iter().filter(|(v, _, _)| *v <= from) {
                c.execute_batch(sql).unwrap_or_else(|e| panic!("step {v} applies: {e}"));
            }
            c.pragma_update(None, "user_version", from).unwrap();
            c.execute(
                "INSERT INTO customers (first_name, last_name, first_fold, last_fold, created_at, updated_at) VALUES ('Élodie', 'Lefèvre', 'elodie', 'lefevre', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')",
                [],
            )
            .unwrap();
        }
        let store = Store::open_with_clock(&path, clock()).unwrap();
        let v: u32 = store.conn().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, LATEST_VERSION, "version {from} upgrades to the latest");
        let n: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM customers WHERE last_name = 'Lefèvre'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "the customer file survives the upgrade from {from}");
        if from < LATEST_VERSION {
            let backup = store.migration_backup.clone().expect("a backup is taken before migrating a file with data");
            let b = Connection::open(&backup).unwrap();
            let bv: u32 = b.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            assert_eq!(bv, from, "the backup is the database as it was before the upgrade");
        }
    }
}

#[test]
fn an_old_database_upgrade_runs_every_pending_step_in_one_transaction() {
    // Version 0 (an empty file) goes straight to the latest version.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    std::fs::File::create(&path).unwrap();
    let store = Store::open(&path).unwrap();
    let v: u32 = store.conn().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, LATEST_VERSION);
}

#[test]
fn the_same_idempotency_key_records_one_write() {
    let mut store = Store::open_in_memory_with_clock(clock()).unwrap();
    let a = store.create_customer(&new_customer("Jean", "Martin"), Some("key-0000001")).unwrap();
    let b = store.create_customer(&new_customer("Jean", "Martin"), Some("key-0000001")).unwrap();
    assert!(!a.replayed && b.replayed, "the retry is recognised as a replay");
    assert_eq!(a.value, b.value, "the retry answers the same customer id");
    let n: i64 = store.conn().query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1, "a double click creates one customer");
}

#[test]
fn a_key_used_for_another_operation_is_refused() {
    let mut store = Store::open_in_memory_with_clock(clock()).unwrap();
    let id = store.create_customer(&new_customer("Jean", "Martin"), Some("key-0000002")).unwrap().value;
    let err = store.add_note(id, "hello", Some("key-0000002")).unwrap_err();
    assert_eq!(err.code(), "key_reused");
}

#[test]
fn a_failed_write_leaves_nothing_half_written() {
    let mut store = Store::open_in_memory_with_clock(clock()).unwrap();
    let err = store
        .transact("test.fail", Some("key-0000003"), |tx| {
            tx.execute(
                "INSERT INTO customers (first_name, last_name, created_at, updated_at) VALUES ('A', 'B', '2026-01-01', '2026-01-01')",
                [],
            )?;
            Err::<(), _>(Error::conflict("conflict.customer_merged"))
        })
        .unwrap_err();
    assert_eq!(err.code(), "conflict");
    let n: i64 = store.conn().query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0, "the insert was rolled back with the failed operation");
    let k: i64 = store.conn().query_row("SELECT count(*) FROM idempotency", [], |r| r.get(0)).unwrap();
    assert_eq!(k, 0, "a failed write does not burn its key: the retry can succeed");
}

#[test]
fn keys_from_the_interface_are_checked() {
    let mut store = Store::open_in_memory_with_clock(clock()).unwrap();
    for bad in ["short", "has space in it", &"x".repeat(200)] {
        let err = store.create_customer(&new_customer("A", "B"), Some(bad)).unwrap_err();
        assert_eq!(err.code(), "validation", "key {bad:?} is refused");
    }
}

#[test]
fn ledgers_are_append_only_in_the_schema_itself() {
    let mut store = Store::open_in_memory_with_clock(clock()).unwrap();
    let id = store.create_customer(&new_customer("Jean", "Martin"), None).unwrap().value;
    let sale = crate::purchases::SaleInput {
        customer_id: id,
        amount_cents: 1250,
        occurred_at: None,
        note: String::new(),
        category: String::new(),
        apply: None,
    };
    let p = store.record_sale(&sale, None).unwrap().value;
    let upd = store.conn().execute("UPDATE purchases SET amount_cents = 1 WHERE id = ?1", [p.id]);
    assert!(upd.is_err(), "an amount is never edited: a correction is a new entry");
    let del = store.conn().execute("DELETE FROM purchases WHERE id = ?1", [p.id]);
    assert!(del.is_err(), "a sale is never deleted");
}

#[test]
fn an_upgrade_suppresses_the_addresses_whose_latest_consent_is_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = file_at_version(&path, 3);
        let at = "2026-01-01 00:00:00+00:00";
        for (id, email) in [(1, "no@example.com"), (2, "yes@example.com"), (3, "NO@example.com")] {
            c.execute(
                "INSERT INTO customers (id, first_name, last_name, email, email_norm, created_at, updated_at) VALUES (?1, 'A', 'B', ?2, lower(?2), ?3, ?3)",
                rusqlite::params![id, email, at],
            )
            .unwrap();
        }
        // 1: yes then no (refused now); 2: no then yes (agrees now); 3: nothing recorded.
        for (cust, granted) in [(1, 1), (2, 0), (1, 0), (2, 1)] {
            c.execute(
                "INSERT INTO consents (customer_id, granted, basis, source, recorded_at) VALUES (?1, ?2, 'express', 'counter', ?3)",
                rusqlite::params![cust, granted, at],
            )
            .unwrap();
        }
    }
    let s = Store::open_with_clock(&path, clock()).unwrap();
    assert!(
        crate::campaigns::suppression::is_suppressed(s.conn(), "no@example.com").unwrap().is_some(),
        "an address whose latest consent is a refusal is on the list after the upgrade"
    );
    assert!(
        crate::campaigns::suppression::is_suppressed(s.conn(), "yes@example.com").unwrap().is_none(),
        "one who agreed again is not"
    );
    let n: i64 = s.conn().query_row("SELECT count(*) FROM suppressions", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1, "one event per address, even for two records sharing it");
}

/// Version 10 makes the numbers' answers the one place for satisfaction answers: what the
/// mailbox reader kept before (version 7's `survey_replies`) is carried over, the latest per
/// token, with the follow-up of a low score; nothing is lost on the way.
#[test]
fn survey_replies_read_before_version_10_become_satisfaction_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = file_at_version(&path, 8);
        c.execute_batch(
            "INSERT INTO customers (id, first_name, last_name, first_fold, last_fold, created_at, updated_at)
                 VALUES (1, 'Anaïs', 'Roy', 'anais', 'roy', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
             INSERT INTO mailbox_messages (id, origin, source, account, read_at, kind, decision)
                 VALUES (1, 'imap:a/INBOX/1/1', 'imap', 'a', '2026-11-01 10:00:00+00:00', 'survey', 'recorded'),
                        (2, 'imap:a/INBOX/1/2', 'imap', 'a', '2026-11-01 11:00:00+00:00', 'survey', 'recorded'),
                        (3, 'imap:a/INBOX/1/3', 'imap', 'a', '2026-11-01 12:00:00+00:00', 'survey', 'recorded');
             INSERT INTO survey_replies (message_id, token, score, email_norm, customer_id, comment, answered_at) VALUES
                 (1, 'tok1', 8, 'anais@example.com', 1, 'Bien', '2026-11-01 10:00:00+00:00'),
                 (2, 'tok1', 4, 'anais@example.com', 1, 'Trop d''attente <b>', '2026-11-01 11:00:00+00:00'),
                 (3, 'tok2', 9, 'x@example.com', NULL, NULL, '2026-11-01 12:00:00+00:00');",
        )
        .unwrap();
    }
    let store = Store::open_with_clock(&path, clock()).unwrap();
    let rows: Vec<(Option<i64>, i64, Option<String>, String)> = store
        .conn()
        .prepare("SELECT customer_id, score, comment, channel FROM nps_answers ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            (Some(1), 4, Some("Trop d'attente <b>".to_string()), "email".to_string()),
            (None, 9, None, "email".to_string())
        ],
        "the latest answer per token, its comment as written; an unrecognised answer still counts"
    );
    let followups: i64 = store.conn().query_row("SELECT count(*) FROM nps_followups", [], |r| r.get(0)).unwrap();
    assert_eq!(followups, 1, "the low score waits for a call back");
    let kept: i64 = store.conn().query_row("SELECT count(*) FROM survey_replies", [], |r| r.get(0)).unwrap();
    assert_eq!(kept, 3, "the mailbox's own rows stay as they were");
}

/// Version 12 rebuilds `purchases` (a sale may be recorded at zero): the rows keep their ids and
/// the ledgers pointing at them, the append-only triggers and the foreign keys hold after it.
#[test]
fn the_purchases_rebuild_keeps_rows_references_and_guards() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "foreign_keys", "ON").unwrap();
        for (_, _, sql) in migrations::steps().iter().filter(|(v, _, _)| *v <= 11) {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 11).unwrap();
        c.execute_batch(
            "INSERT INTO customers (id, first_name, last_name, first_fold, last_fold, created_at, updated_at)
               VALUES (7, 'Élodie', 'Lefèvre', 'elodie', 'lefevre', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
             INSERT INTO purchases (id, customer_id, kind, amount_cents, occurred_at, recorded_at) VALUES
               (40, 7, 'sale', 1250, '2026-02-01 10:00:00+00:00', '2026-02-01 10:00:00+00:00');
             INSERT INTO purchases (id, customer_id, kind, amount_cents, occurred_at, recorded_at, refund_of) VALUES
               (41, 7, 'refund', 250, '2026-02-02 10:00:00+00:00', '2026-02-02 10:00:00+00:00', 40);
             INSERT INTO points_ledger (customer_id, at, kind, points, purchase_id) VALUES (7, '2026-02-01 10:00:00+00:00', 'earn', 12, 40);",
        )
        .unwrap();
    }
    let store = Store::open_with_clock(&path, clock()).unwrap();
    let c = store.conn();
    let rows: Vec<(i64, String, i64, Option<i64>)> = c
        .prepare("SELECT id, kind, amount_cents, refund_of FROM purchases ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![(40, "sale".into(), 1250, None), (41, "refund".into(), 250, Some(40))],
        "same rows, same ids"
    );
    let fk: bool = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    assert!(fk, "foreign keys are on again after the upgrade");
    let none: Option<String> = c.query_row("PRAGMA foreign_key_check", [], |r| r.get(0)).optional().unwrap();
    assert_eq!(none, None, "the ledger still points at its sale");
    let dangling = c.execute(
        "INSERT INTO points_ledger (customer_id, at, kind, points, purchase_id) VALUES (7, '2026-03-01 10:00:00+00:00', 'earn', 1, 999)",
        [],
    );
    assert!(dangling.is_err(), "a reference to a sale that does not exist is still refused");
    assert!(c.execute("UPDATE purchases SET amount_cents = 1 WHERE id = 40", []).is_err(), "still append-only");
    assert!(c.execute("DELETE FROM purchases WHERE id = 41", []).is_err(), "still never deleted");
    let zero_sale = c.execute(
        "INSERT INTO purchases (customer_id, kind, amount_cents, occurred_at, recorded_at) VALUES (7, 'sale', 0, '2026-03-01 10:00:00+00:00', '2026-03-01 10:00:00+00:00')",
        [],
    );
    assert!(zero_sale.is_ok(), "a sale covered in full is recorded at zero: {zero_sale:?}");
    let zero_refund = c.execute(
        "INSERT INTO purchases (customer_id, kind, amount_cents, occurred_at, recorded_at, refund_of) VALUES (7, 'refund', 0, '2026-03-01 10:00:00+00:00', '2026-03-01 10:00:00+00:00', 40)",
        [],
    );
    assert!(zero_refund.is_err(), "a refund of zero does not touch a sale that was paid");
    let zero_id = c.last_insert_rowid();
    let cancel = c.execute(
        "INSERT INTO purchases (customer_id, kind, amount_cents, occurred_at, recorded_at, refund_of) VALUES (7, 'refund', 0, '2026-03-01 11:00:00+00:00', '2026-03-01 11:00:00+00:00', ?1)",
        [zero_id],
    );
    assert!(cancel.is_ok(), "a sale recorded at zero can be cancelled by a refund of zero: {cancel:?}");
    let negative = c.execute(
        "INSERT INTO purchases (customer_id, kind, amount_cents, occurred_at, recorded_at) VALUES (7, 'sale', -5, '2026-03-01 10:00:00+00:00', '2026-03-01 10:00:00+00:00')",
        [],
    );
    assert!(negative.is_err(), "nor a sale below zero");
}

/// An old file with a reference already broken (edited by hand with foreign keys off) is still
/// upgraded: only what the upgrade itself would break stops it.
#[test]
fn a_reference_broken_before_the_upgrade_does_not_lock_the_shop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = file_at_version(&path, 11);
        c.pragma_update(None, "foreign_keys", "OFF").unwrap();
        c.execute_batch(
            "INSERT INTO customers (id, first_name, last_name, first_fold, last_fold, created_at, updated_at)
               VALUES (7, 'Élodie', 'Lefèvre', 'elodie', 'lefevre', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
             INSERT INTO points_ledger (customer_id, at, kind, points, purchase_id) VALUES (7, '2026-02-01 10:00:00+00:00', 'earn', 12, 999);",
        )
        .unwrap();
    }
    let store = Store::open_with_clock(&path, clock()).expect("the shop opens, upgraded");
    let v: u32 = store.conn().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, LATEST_VERSION, "upgraded to the latest version");
    let points: i64 = store.conn().query_row("SELECT sum(points) FROM points_ledger", [], |r| r.get(0)).unwrap();
    assert_eq!(points, 12, "the old row is kept as it was");
}

#[test]
fn a_failed_upgrade_leaves_the_file_as_it_was_and_no_extra_copy_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = file_at_version(&path, 11);
        // A table the next step creates already exists (a hand-made file): that step fails.
        c.execute_batch("CREATE TABLE automations (x INTEGER)").unwrap();
    }
    let copies = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".bak"))
            .count()
    };
    for launch in 1..=3 {
        assert!(Store::open_with_clock(&path, clock()).is_err(), "launch {launch}: the upgrade fails");
        assert_eq!(copies(), 0, "launch {launch}: a failed upgrade changed nothing, so it keeps no copy");
    }
    let c = Connection::open(&path).unwrap();
    let v: u32 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, 11, "the file stays at its version");
}

/// Version 14 stores emails in NFC: a customer typed with a decomposed accent and one typed
/// precomposed both stay (for the duplicates screen, never merged), now under one normalised
/// address, and a suppression recorded under the decomposed form holds for the precomposed one.
#[test]
fn an_upgrade_puts_emails_in_nfc_keeping_both_customers_and_their_suppressions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let nfd = "E\u{301}lodie@example.com";
    let nfc = "Élodie@example.com";
    {
        let c = file_at_version(&path, 12);
        let at = "2026-01-01 00:00:00+00:00";
        for (id, email) in [(1, nfd), (2, nfc)] {
            c.execute(
                "INSERT INTO customers (id, first_name, last_name, email, email_norm, created_at, updated_at) VALUES (?1, 'Élodie', 'Lefèvre', ?2, lower(?2), ?3, ?3)",
                rusqlite::params![id, email, at],
            )
            .unwrap();
        }
        // The precomposed form was lifted first; the decomposed one unsubscribed later.
        for (norm, action, when) in [
            ("élodie@example.com", "lift", "2026-01-02 00:00:00+00:00"),
            ("e\u{301}lodie@example.com", "suppress", "2026-01-03 00:00:00+00:00"),
        ] {
            c.execute(
                "INSERT INTO suppressions (email_norm, action, reason, source, at) VALUES (?1, ?2, 'unsubscribed', 'token', ?3)",
                rusqlite::params![norm, action, when],
            )
            .unwrap();
        }
    }
    let s = Store::open_with_clock(&path, clock()).unwrap();
    let rows: Vec<(i64, String, String)> = s
        .conn()
        .prepare("SELECT id, email, email_norm FROM customers ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2, "both customers kept, none merged");
    for (id, email, norm) in &rows {
        assert_eq!(email, nfc, "customer {id}: the email is stored in NFC, as typed otherwise");
        assert_eq!(norm, "élodie@example.com", "customer {id}: one normalised address");
    }
    assert!(
        crate::campaigns::suppression::is_suppressed(s.conn(), nfc).unwrap().is_some(),
        "the unsubscribe typed decomposed holds for the precomposed address"
    );
    assert!(crate::campaigns::suppression::is_suppressed(s.conn(), nfd).unwrap().is_some());
}

/// Two spellings of one address with their own histories: a lift that answered a bounce on
/// one never lifts an unsubscribe made on the other; and a history whose dates are out of
/// order (a clock that was wrong) keeps the state its last recorded event gave.
#[test]
fn an_upgrade_to_nfc_never_lifts_a_suppression_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let nfd = "e\u{301}lodie@example.com";
    let nfc = "élodie@example.com";
    let clock_nfd = "zoe\u{308}@example.com";
    {
        let c = file_at_version(&path, 13);
        for (norm, action, reason, when) in [
            (nfd, "suppress", "hard_bounce", "2026-02-01 00:00:00+00:00"),
            (nfc, "suppress", "unsubscribed", "2026-03-01 00:00:00+00:00"),
            (nfd, "lift", "hard_bounce", "2026-03-05 00:00:00+00:00"),
            // Recorded in this order, dated out of order.
            (clock_nfd, "suppress", "unsubscribed", "2026-01-01 00:00:00+00:00"),
            (clock_nfd, "lift", "unsubscribed", "2027-01-01 00:00:00+00:00"),
            (clock_nfd, "suppress", "unsubscribed", "2026-07-01 00:00:00+00:00"),
        ] {
            c.execute(
                "INSERT INTO suppressions (email_norm, action, reason, source, at) VALUES (?1, ?2, ?3, 'token', ?4)",
                rusqlite::params![norm, action, reason, when],
            )
            .unwrap();
        }
    }
    let s = Store::open_with_clock(&path, clock()).unwrap();
    for (who, email) in [("the unsubscribe on the precomposed spelling", nfc), ("the decomposed one", nfd)] {
        assert!(
            crate::campaigns::suppression::is_suppressed(s.conn(), email).unwrap().is_some(),
            "{who}: still suppressed after the upgrade"
        );
    }
    assert!(
        crate::campaigns::suppression::is_suppressed(s.conn(), "zoë@example.com").unwrap().is_some(),
        "the last recorded event decides, not its date"
    );
}

/// Migration 15 rebuilds `vouchers` (a gift kind, its catalogue reward and name): every voucher
/// of a version-14 file keeps its id, code, uses and cancellation, and the table is still
/// append-only, with a gift always naming what it gives.
#[test]
fn migration_15_keeps_every_voucher_and_its_history_and_the_table_stays_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    {
        let c = file_at_version(&path, 14);
        c.execute_batch(
            "INSERT INTO customers (id, first_name, last_name, first_fold, last_fold, created_at, updated_at)
               VALUES (1, 'Léa', 'Martin', 'lea', 'martin', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
             INSERT INTO vouchers (id, code, customer_id, kind, value, expires_at, issued_at, source, reason, staff) VALUES
               (7, 'ABCD-EFGH', 1, 'amount', 1000, '2027-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 'referral', 'Palier', NULL),
               (8, 'JKMN-PQRS', 1, 'percent', 10, '2027-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 'manual', 'Geste', 'Marie');
             INSERT INTO voucher_uses (voucher_id, kind, purchase_id, at) VALUES (7, 'use', NULL, '2026-02-01 00:00:00+00:00');
             INSERT INTO voucher_cancellations (voucher_id, at, reason) VALUES (8, '2026-02-02 00:00:00+00:00', 'Reprise');",
        )
        .unwrap();
    }
    let store = Store::open_with_clock(&path, clock()).unwrap();
    let c = store.conn();
    let rows: Vec<(i64, String, String, i64, Option<String>)> = c
        .prepare("SELECT id, code, kind, value, label FROM vouchers ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (7, "ABCD-EFGH".to_string(), "amount".to_string(), 1000, None),
            (8, "JKMN-PQRS".to_string(), "percent".to_string(), 10, None)
        ],
        "same ids, codes, kinds and values"
    );
    let history: i64 = c
        .query_row(
            "SELECT (SELECT count(*) FROM voucher_uses WHERE voucher_id = 7) + (SELECT count(*) FROM voucher_cancellations WHERE voucher_id = 8)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(history, 2, "the use and the cancellation still point at their vouchers");
    assert!(c.execute("UPDATE vouchers SET value = 1 WHERE id = 7", []).is_err(), "a voucher is never edited");
    assert!(c.execute("UPDATE vouchers SET label = 'x' WHERE id = 7", []).is_err(), "nor given a gift's name");
    assert!(c.execute("DELETE FROM vouchers WHERE id = 8", []).is_err(), "nor deleted");
    let unnamed = c.execute(
        "INSERT INTO vouchers (code, customer_id, kind, value, expires_at, issued_at, source) VALUES ('TUVW-XYZ2', 1, 'gift', 150, '2027-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 'referral')",
        [],
    );
    assert!(unnamed.is_err(), "a gift names its catalogue reward and what it is");
    let fk: i64 = c.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(fk, 0, "no broken reference after the rebuild");
}

/// The query planner stability guarantee is on: a cached statement whose plan SQLite could
/// have tied to a bound value (here the import's look-up by email, whose bindings are cleared
/// each time it goes back to the cache) is not parsed and planned again at every use.
#[test]
fn a_cached_look_up_is_planned_once_not_at_every_use() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("plan.db")).unwrap();
    let sql = "SELECT id FROM customers WHERE email_norm = ?1 AND merged_into IS NULL ORDER BY archived_at IS NOT NULL, id LIMIT 1";
    store
        .transact("test.plan", None, |tx| {
            for i in 0..50 {
                tx.execute(
                    "INSERT INTO customers (first_name, last_name, email_norm, created_at, updated_at) VALUES ('A', 'B', ?1, ?2, ?2)",
                    rusqlite::params![format!("a{i}@example.com"), tx.now],
                )?;
                let _: Option<i64> = tx
                    .query_row(sql, [format!("a{i}@example.com")], |r| r.get(0))
                    .optional()?;
            }
            Ok(())
        })
        .unwrap();
    let st = store.conn().prepare_cached(sql).unwrap();
    assert_eq!(st.get_status(rusqlite::StatementStatus::Run), 50, "the cached statement ran 50 times");
    assert_eq!(
        st.get_status(rusqlite::StatementStatus::RePrepare),
        0,
        "a cached statement must keep its plan: planning it again at each use was a quarter of an import"
    );
}

/// The pages a connection holds in its cache, in bytes.
fn cache_used(s: &Store) -> i64 {
    let (mut cur, mut hi) = (0, 0);
    // SAFETY: the handle is the store's open connection, read on this thread only.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_status(
            s.conn().handle(),
            rusqlite::ffi::SQLITE_DBSTATUS_CACHE_USED,
            &mut cur,
            &mut hi,
            0,
        )
    };
    assert_eq!(rc, 0);
    i64::from(cur)
}

/// A background connection gives its page cache back between rounds.
#[test]
fn a_connection_gives_back_its_pages_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let mut s = Store::open_with_clock(&path, clock()).unwrap();
    for i in 0..400 {
        s.create_customer(&new_customer(&format!("Élodie{i}"), &format!("Lefèvre{i}")), None).unwrap();
    }
    drop(s);
    let s = Store::open(&path).unwrap();
    let _: i64 =
        s.conn().query_row("SELECT sum(length(first_name)) FROM customers NOT INDEXED", [], |r| r.get(0)).unwrap();
    let full = cache_used(&s);
    assert!(full > 50_000, "a pass over the customers fills the cache ({full} bytes)");
    s.release_memory().unwrap();
    let after = cache_used(&s);
    assert!(after < full / 4, "the pages are given back ({full} → {after} bytes)");
}

#[test]
fn reads_on_one_snapshot_see_no_commit_made_between_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let store = Store::open(&path).unwrap();
    let other = Connection::open(&path).unwrap();
    let count = |c: &Connection| -> Result<i64> { Ok(c.query_row("SELECT count(*) FROM settings", [], |r| r.get(0))?) };
    let (first, second) = store
        .on_one_snapshot(|c| {
            let first = count(c)?;
            other.execute("INSERT INTO settings (key, value) VALUES ('snapshot_test', '1')", []).unwrap();
            Ok((first, count(c)?))
        })
        .unwrap();
    assert_eq!(first, second, "a commit made between two reads of one snapshot is seen by neither");
    assert_eq!(count(store.conn()).unwrap(), first + 1, "and the next read sees it");
}
