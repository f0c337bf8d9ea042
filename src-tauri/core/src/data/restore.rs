//! Restore, in two halves. The first (`extract_for_restore`) needs no store: the backup is
//! decrypted, decompressed, checked (`integrity_check`, the checksums) and migrated into a work
//! copy, the longest part, while the app goes on. The second (`Store::restore_extracted`)
//! holds the store and the file's gate and reads everything of the live file it needs only
//! then, so what the app's other connections wrote during the first half (messages sent,
//! erasures, unsubscribes) is in the undo copy and applied again. The app refuses the
//! interface's writes during the first half (`Store::pause_writes`): they would be replaced.
//!
//! The chosen backup is verified and summarised before anything changes; a snapshot
//! of the live file is taken first, so the restore can be undone; the erasures, unsubscribes
//! and suppressions recorded after the backup's date are applied again to the restored copy;
//! only then does the copy replace the live content (SQLite's backup API, into the open
//! connection). The messages sent after the backup are carried into the copy and campaigns
//! that could send again are paused (`restore_outbox`). From its first read of the live file
//! to the end, the restore holds the file's gate alone (`storage::gate`): no other write of
//! the app (commands, sender, numbers, referral clock, mailbox reader) can land in the old
//! content, where it would be lost, or in the new content halfway. A truncated, corrupted, foreign or newer file is refused with the live file
//! untouched. Backup settings (the off-machine folder) and status live here too; they and the
//! backup key (`backup_key`) stay as they are on this computer through a restore.
//!
//! A restore from the interface carries an idempotency key like every write: it is recorded
//! in the restored content itself (the file the app goes on with), with the report, so a double
//! click or a retry answers the first restore's report instead of restoring again (a second
//! restore would take its "undo" snapshot of the restored state, and the undo would undo
//! nothing). The keys the backup holds are those of writes it holds: none can make a later
//! write pass for a duplicate, as every write from the interface has a key of its own.

use super::backup::{self, BackupHeader, BackupInfo, BackupReason};
use super::backup_key::Encryption;
use super::erasure;
use crate::campaigns::suppression::{is_suppressed, Suppression, SuppressionReason};
use crate::error::{Error, Result};
use crate::storage::Store;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// The settings rows that describe this computer's backups, not the shop's data.
const MACHINE_SETTINGS: [&str; 2] = ["backup", "backup_key"];

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RestoreReport {
    pub restored: BackupHeader,
    /// The snapshot of what was replaced: restoring it undoes this restore.
    pub undo_backup: BackupInfo,
    pub erasures_reapplied: u32,
    pub unsubscribes_reapplied: u32,
    /// Messages sent after the backup, marked sent in the restored file (never sent twice).
    pub messages_carried: u32,
    /// Campaigns paused so that nothing leaves again by itself; the merchant resumes them.
    pub campaigns_paused: u32,
}

/// An unsubscribe to apply again: the customer and when.
struct Unsub {
    customer_id: i64,
    at: DateTime<Utc>,
    campaign_id: Option<i64>,
    source: String,
}

/// Check a backup and say what it holds, without touching anything.
pub fn inspect(path: &Path, passphrase: Option<&str>) -> Result<BackupHeader> {
    // A folder of its own (private, random name, removed on drop): the decrypted copy is
    // never readable by others, nothing can be planted at its name, and two checks at once
    // never remove each other's file.
    let dir = tempfile::Builder::new().prefix("comptoir-inspect-").tempdir()?;
    let tmp = dir.path().join("backup.db");
    backup::extract(path, passphrase, &tmp).map(BackupHeader::for_display).map_err(backup::BackupProblem::error)
}

/// A backup checked from end to end and written out as a database of this app's schema, ready
/// to replace the live content. Made without the store: the decryption, the decompression,
/// the full `integrity_check` and the migration of an older backup are most of a restore's
/// time, and the app goes on meanwhile (the screens read). Nothing of the live
/// file is read here; all of that is read later, under the gate. Its files are removed when it
/// is dropped, whether the restore went through or not.
pub struct Extracted {
    // Declared first, so the copy is closed before its files are removed.
    copy: Store,
    header: BackupHeader,
    file_name: String,
    files: WorkFiles,
}

/// The work copy's files (with SQLite's `-wal` and `-shm`), removed on drop. What a crash
/// leaves is removed by `backup::clean_leftovers`.
struct WorkFiles(PathBuf);

impl Drop for WorkFiles {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

impl Extracted {
    /// What the backup says of itself (date, counts), for the confirmation.
    pub fn header(&self) -> &BackupHeader {
        &self.header
    }
}

/// Check the backup at `path` and write it out in `backup_dir` (the same disk as the backups,
/// not a small temporary folder), migrated to this app's schema: the first half of a restore,
/// which needs no store. A truncated, corrupted, foreign or newer file is refused here.
pub fn extract_for_restore(path: &Path, passphrase: Option<&str>, backup_dir: &Path) -> Result<Extracted> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    std::fs::create_dir_all(backup_dir)?;
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let files = WorkFiles(backup_dir.join(format!(".restore-{}-{n}.db", std::process::id())));
    // A file of that name left by a crashed process of the same number is not ours to trust.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", files.0.display()));
    }
    let header = backup::extract(path, passphrase, &files.0).map_err(backup::BackupProblem::error)?;
    // Opening it migrates an older backup to this app's schema (the backup itself stands for
    // the copy a migration keeps of the older version: none is written).
    let copy = Store::open_copy(&files.0)?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Extracted { copy, header, file_name, files })
}

impl Store {
    /// The report of a restore already done under this idempotency key (a double click, a
    /// retry), if there was one: looked up before the backup is extracted again.
    pub fn restore_done(&mut self, path: &Path, key: &str) -> Result<Option<RestoreReport>> {
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.replay::<RestoreReport>(("data.restore", &file_name), key)
    }

    /// Restore the backup at `path` into this (file) database: both halves, the store held
    /// throughout (the command-line tool and tests; the app extracts first, without the store).
    pub fn restore_backup(
        &mut self,
        path: &Path,
        passphrase: Option<&str>,
        backup_dir: &Path,
        key: Option<&str>,
    ) -> Result<RestoreReport> {
        self.path().ok_or_else(|| Error::conflict("conflict.backup_in_memory"))?;
        if let Some(k) = key {
            if let Some(done) = self.restore_done(path, k)? {
                return Ok(done);
            }
        }
        let extracted = extract_for_restore(path, passphrase, backup_dir)?;
        self.restore_extracted(extracted, passphrase, backup_dir, key)
    }

    /// The second half of a restore: everything that reads or writes the live file, under its
    /// gate. `passphrase` is the one the backup was opened with (for the undo copy).
    pub fn restore_extracted(
        &mut self,
        mut extracted: Extracted,
        passphrase: Option<&str>,
        backup_dir: &Path,
        key: Option<&str>,
    ) -> Result<RestoreReport> {
        let live = self.path().ok_or_else(|| Error::conflict("conflict.backup_in_memory"))?.to_path_buf();
        let file_name = extracted.file_name.clone();
        let op = ("data.restore", file_name.as_str());
        if let Some(k) = key {
            // Done already (a double click, a retry): the first restore's report.
            if let Some(done) = self.replay::<RestoreReport>(op, k)? {
                return Ok(done);
            }
        }
        std::fs::create_dir_all(backup_dir)?;
        let header = extracted.header.clone();
        // From here to the replacement, no other write of this app runs on the live file.
        let file_gate = self.gate.clone();
        let _alone = file_gate.as_ref().map(crate::storage::gate::Gate::alone);
        let now = self.now();
        // The undo copy is encrypted like this computer's backups; where they are not but
        // the backup restored was, with the passphrase it was opened with.
        // A key row that does not read does not stop a restore (the merchant may be
        // recovering from exactly that): the undo copy then takes the passphrase typed, or
        // stays in clear in the local folder beside the live file (it is not copied off
        // the machine).
        let shop_key = self.backup_key().ok().flatten();
        let encryption = match (&shop_key, passphrase) {
            (Some(k), _) => Encryption::Key(k),
            (None, Some(p)) => Encryption::Passphrase(p),
            (None, None) => Encryption::None,
        };
        let undo_backup = backup::snapshot(&live, backup_dir, BackupReason::BeforeRestore, encryption, now)?;
        // How this computer's backups are made (the off-machine folder, the key) is not
        // part of the data a backup brings back: carried over from the live file.
        let machine_settings: Vec<(String, Option<String>)> = MACHINE_SETTINGS
            .iter()
            .map(|k| {
                let v =
                    self.conn().query_row("SELECT value FROM settings WHERE key = ?1", [k], |r| r.get(0)).optional()?;
                Ok((k.to_string(), v))
            })
            .collect::<Result<_>>()?;
        let since = header.created_at;
        let erasures = erasure::erasures_since(self.conn(), since)?;
        let sent = super::restore_outbox::sent_since(self.conn(), since)?;
        let unsubs: Vec<Unsub> = {
            let mut st = self
                .conn()
                .prepare("SELECT customer_id, at, campaign_id, source FROM unsubscribes WHERE at > ?1 ORDER BY id")?;
            let rows = st.query_map([since], |r| {
                Ok(Unsub { customer_id: r.get(0)?, at: r.get(1)?, campaign_id: r.get(2)?, source: r.get(3)? })
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        // Every address suppressed in the live file now, with the event that suppressed it:
        // the backup may predate it (or may have had it lifted since; the live word wins).
        let suppressed: Vec<Suppression> = {
            let mut st = self.conn().prepare(
                "SELECT email_norm, reason, source, detail, at FROM suppressions s
                 WHERE s.action = 'suppress' AND s.id = (SELECT max(id) FROM suppressions x WHERE x.email_norm = s.email_norm)
                 ORDER BY id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(Suppression {
                    email: r.get(0)?,
                    reason: SuppressionReason::parse(&r.get::<_, String>(1)?).unwrap_or(SuppressionReason::Merchant),
                    source: r.get(2)?,
                    detail: r.get(3)?,
                    customer_id: None,
                    campaign_id: None,
                    at: r.get(4)?,
                })
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let report = {
            let copy = &mut extracted.copy;
            let erased = copy.reapply_erasures(&erasures)?;
            let reapplied = copy.transact("data.restore_reapply", None, |tx| {
                let mut n = 0u32;
                for u in &unsubs {
                    let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM customers WHERE id = ?1)", [u.customer_id], |r| r.get(0))?;
                    if !exists {
                        continue;
                    }
                    let current = crate::customers::current_consent(tx, u.customer_id)?;
                    if current.is_some_and(|c| c.choice == crate::customers::ConsentChoice::Refused) {
                        continue;
                    }
                    let campaign = u.campaign_id.filter(|c| {
                        tx.query_row("SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = ?1)", [c], |r| r.get::<_, bool>(0)).unwrap_or(false)
                    });
                    tx.execute(
                        "INSERT INTO consents (customer_id, channel, granted, basis, source, wording, recorded_at) VALUES (?1, 'email', 0, 'refused', 'unsubscribe', NULL, ?2)",
                        params![u.customer_id, u.at],
                    )?;
                    tx.execute(
                        "INSERT INTO unsubscribes (customer_id, campaign_id, at, source) VALUES (?1, ?2, ?3, ?4)",
                        params![u.customer_id, campaign, u.at, u.source],
                    )?;
                    n += 1;
                }
                for sup in &suppressed {
                    if is_suppressed(tx, &sup.email)?.is_none() {
                        tx.execute(
                            "INSERT INTO suppressions (email_norm, action, reason, source, detail, at) VALUES (?1, 'suppress', ?2, ?3, ?4, ?5)",
                            params![sup.email, sup.reason.code(), sup.source, sup.detail, sup.at],
                        )?;
                    }
                }
                for (k, v) in &machine_settings {
                    match v {
                        Some(v) => tx.execute(
                            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            params![k, v],
                        )?,
                        // No key on this computer (a new one, after a lost disk): the
                        // backup's key stays, so encryption the merchant chose is not
                        // silently dropped by the recovery itself.
                        None if k == "backup_key" => 0,
                        None => tx.execute("DELETE FROM settings WHERE key = ?1", [k])?,
                    };
                }
                let carried = super::restore_outbox::carry(tx, &sent)?;
                Ok((n, carried.messages, carried.campaigns_paused))
            })?;
            let (n, messages, paused) = reapplied.value;
            let report = RestoreReport {
                restored: header.for_display(),
                undo_backup: undo_backup.for_display(),
                erasures_reapplied: erased,
                unsubscribes_reapplied: n,
                messages_carried: messages,
                campaigns_paused: paused,
            };
            // The key goes into the content the app goes on with, with the report.
            let report = copy.transact(op, key, |_| Ok(report))?.value;
            copy.conn().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            report
        };
        self.replace_contents_from(&extracted.files.0)?;
        Ok(report)
    }
}

/// The backup settings the merchant chose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BackupSettings {
    /// A second folder (USB stick, Dropbox, OneDrive, Nextcloud) that receives finished files.
    pub offsite_dir: Option<String>,
}

/// What the backups screen shows, always.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BackupStatus {
    pub dir: String,
    pub settings: BackupSettings,
    /// Since when new backups are encrypted (a passphrase chosen), if they are.
    pub encrypted_since: Option<DateTime<Utc>>,
    pub last_local: Option<DateTime<Utc>>,
    pub last_offsite: Option<DateTime<Utc>>,
    /// Every backup is read back and checked before it is listed: the newest one's time.
    pub last_verified: Option<DateTime<Utc>>,
    pub backups: Vec<BackupInfo>,
    /// `no_backup`, `local_old` (over 24 h), `no_offsite`, `offsite_missing`, `offsite_old`
    /// (over 7 days), `db_in_synced_folder`.
    pub warnings: Vec<String>,
}

/// Rule: a database inside a synced folder (Dropbox, OneDrive, iCloud, Google Drive,
/// Nextcloud…) can be corrupted by the sync: warn.
pub fn in_synced_folder(path: &Path) -> bool {
    let p = path.to_string_lossy().to_lowercase();
    [
        "dropbox",
        "onedrive",
        "icloud",
        "google drive",
        "googledrive",
        "nextcloud",
        "owncloud",
        "mobile documents",
        "pcloud",
        "syncthing",
    ]
    .iter()
    .any(|w| p.contains(w))
}

/// Rule: the warnings of the backup status.
pub fn warnings(
    last_local: Option<DateTime<Utc>>,
    offsite: Option<&Path>,
    last_offsite: Option<DateTime<Utc>>,
    db: &Path,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut w = Vec::new();
    match last_local {
        None => w.push("no_backup"),
        Some(t) if now - t > Duration::hours(24) => w.push("local_old"),
        _ => {}
    }
    match offsite {
        None => w.push("no_offsite"),
        Some(p) if !p.is_dir() => w.push("offsite_missing"),
        Some(_) => {
            if last_offsite.is_none_or(|t| now - t > Duration::days(7)) {
                w.push("offsite_old");
            }
        }
    }
    if in_synced_folder(db) {
        w.push("db_in_synced_folder");
    }
    w.into_iter().map(String::from).collect()
}

impl Store {
    pub fn backup_settings(&self) -> Result<BackupSettings> {
        let v: Option<String> =
            self.conn().query_row("SELECT value FROM settings WHERE key = 'backup'", [], |r| r.get(0)).optional()?;
        Ok(v.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default())
    }

    pub fn save_backup_settings(&mut self, s: &BackupSettings, key: Option<&str>) -> Result<crate::types::Outcome<()>> {
        let dir = s.offsite_dir.as_deref().and_then(crate::text::clean);
        if dir.as_ref().is_some_and(|d| d.chars().count() > 1000 || !Path::new(d).is_absolute()) {
            return Err(Error::invalid("offsite_dir", "field.backup_folder_invalid"));
        }
        let s = BackupSettings { offsite_dir: dir };
        self.transact("data.backup_settings", key, |tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('backup', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [serde_json::to_string(&s)?],
            )?;
            tx.changes.settings = true;
            Ok(())
        })
    }

    pub fn backup_status(&self, dir: &Path) -> Result<BackupStatus> {
        let settings = self.backup_settings()?;
        let key = self.backup_key();
        let backups: Vec<BackupInfo> = backup::list(dir).into_iter().map(BackupInfo::for_display).collect();
        let last_local = backups.first().map(|b| b.header.created_at);
        let offsite = settings.offsite_dir.as_deref().map(Path::new);
        let last_offsite = offsite.and_then(|o| backup::list(o).first().map(|b| b.header.created_at));
        let db = self.path().map(Path::to_path_buf).unwrap_or_default();
        Ok(BackupStatus {
            dir: dir.to_string_lossy().into_owned(),
            warnings: {
                let mut w = warnings(last_local, offsite, last_offsite, &db, self.now());
                if key.is_err() {
                    w.push("key_corrupt".into());
                }
                w
            },
            last_verified: last_local,
            last_local,
            last_offsite,
            // An unreadable key is a warning here, not an error: this screen is where the
            // merchant chooses a passphrase again.
            encrypted_since: key.as_ref().ok().and_then(|k| k.as_ref().map(|k| k.set_at)),
            settings,
            backups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_status_warns_about_what_would_lose_data() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let db = Path::new("/home/shop/comptoir.db");
        let here = std::env::temp_dir();
        assert_eq!(warnings(None, None, None, db, now), vec!["no_backup", "no_offsite"]);
        assert_eq!(warnings(Some(now - Duration::hours(30)), Some(&here), Some(now), db, now), vec!["local_old"]);
        assert_eq!(warnings(Some(now), Some(Path::new("/nowhere/usb")), None, db, now), vec!["offsite_missing"]);
        assert_eq!(warnings(Some(now), Some(&here), Some(now - Duration::days(8)), db, now), vec!["offsite_old"]);
        assert_eq!(
            warnings(Some(now), Some(&here), Some(now), Path::new("/home/x/Dropbox/comptoir.db"), now),
            vec!["db_in_synced_folder"]
        );
    }
}
