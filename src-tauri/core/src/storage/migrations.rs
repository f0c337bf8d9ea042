//! Schema migrations on `PRAGMA user_version`. Steps are numbered and append-only: a released
//! step is never edited, a change is a new step. Before upgrading a database that holds data,
//! a consistent copy is written beside it (`VACUUM INTO`); then every pending step runs in one
//! transaction, so a crash leaves either the old schema or the new one. Foreign keys are off
//! while the steps run (a step may rebuild a table) and checked as a whole before the commit.
//! An upgrade says where it is (copy, check, steps) to whoever opens the file, so the window
//! can show it instead of staying blank; whether one is pending is known without opening the
//! file for writing ([`pending_upgrade`]).

use crate::error::{Error, Result};
use crate::types::Lang;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use ts_rs::TS;

/// (version reached, name, SQL). Version N is reached by running step N on version N-1.
const STEPS: &[(u32, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (2, "loyalty", include_str!("migrations/0002_loyalty.sql")),
    (3, "campaigns", include_str!("migrations/0003_campaigns.sql")),
    (4, "email_safety", include_str!("migrations/0004_email_safety.sql")),
    (7, "mailbox", include_str!("migrations/0007_mailbox.sql")),
    (8, "email_safety_2", include_str!("migrations/0008_email_safety_2.sql")),
    (9, "referrals", include_str!("migrations/0009_referrals.sql")),
    (10, "numbers", include_str!("migrations/0010_numbers.sql")),
    (11, "data", include_str!("migrations/0011_data.sql")),
    (12, "automations", include_str!("migrations/0012_automations.sql")),
    (13, "automation_undo", include_str!("migrations/0013_automation_undo.sql")),
    (14, "email_nfc", include_str!("migrations/0014_email_nfc.sql")),
    (15, "gift_vouchers", include_str!("migrations/0015_gift_vouchers.sql")),
    (16, "sale_pages", include_str!("migrations/0016_sale_pages.sql")),
    (17, "sale_pages_2", include_str!("migrations/0017_sale_pages_2.sql")),
    (18, "postcode_names", include_str!("migrations/0018_postcode_names.sql")),
    (19, "till_covering", include_str!("migrations/0019_till_covering.sql")),
    (20, "churn_gone", include_str!("migrations/0020_churn_gone.sql")),
    (21, "score_sorts", include_str!("migrations/0021_score_sorts.sql")),
    (22, "programme_comparison", include_str!("migrations/0022_programme_comparison.sql")),
];

pub const LATEST_VERSION: u32 = STEPS[STEPS.len() - 1].0;

/// Where an upgrade is: the copy of the file as it was, its check, then the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum UpgradeStage {
    Copying,
    Checking,
    Upgrading,
}

/// What the window shows while the file is upgraded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UpgradeStatus {
    pub from_version: u32,
    pub to_version: u32,
    pub stage: UpgradeStage,
    /// Since the upgrade started, in milliseconds.
    #[ts(type = "number")]
    pub elapsed_ms: u64,
    /// The shop's language, read from the file before the upgrade (no other setting is
    /// readable while it runs).
    pub lang: Lang,
}

/// An upgrade opening the file would run: a file that holds data at an older version. None
/// for a missing or new file, one at this version, one from a newer app (refused when opened),
/// and one that cannot be read (its open says why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingUpgrade {
    pub from_version: u32,
    pub lang: Lang,
}

pub fn pending_upgrade(path: &Path) -> Option<PendingUpgrade> {
    if !path.is_file() {
        return None;
    }
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).ok()?;
    let _ = conn.pragma_update(None, "busy_timeout", 2000);
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).ok()?;
    if version == 0 || version >= LATEST_VERSION {
        return None;
    }
    let lang = crate::settings::read(&conn).map(|s| s.language).unwrap_or_default();
    Some(PendingUpgrade { from_version: version, lang })
}

/// Where the copy taken before migrating from `from_version` is written.
pub fn backup_path_for(db: &Path, from_version: u32, now: DateTime<Utc>) -> PathBuf {
    let name = db.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "comptoir.db".into());
    db.with_file_name(format!("{name}.v{from_version}-{}.bak", now.format("%Y%m%dT%H%M%SZ")))
}

pub(super) fn migrate(
    conn: &mut Connection,
    path: Option<&Path>,
    now: DateTime<Utc>,
    progress: &dyn Fn(UpgradeStage),
) -> Result<Option<PathBuf>> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > LATEST_VERSION {
        return Err(Error::NewerDatabase { found: current, supported: LATEST_VERSION });
    }
    if current == LATEST_VERSION {
        return Ok(None);
    }
    let backup = match path {
        Some(p) if current > 0 => Some(write_backup(conn, p, current, now, progress)?),
        _ => None,
    };
    progress(UpgradeStage::Upgrading);
    // A step may rebuild a table (SQLite's 12-step procedure): foreign keys are off during the
    // upgrade, checked as a whole before it commits, and on again after, whatever happens.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = apply_steps(conn);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if let Err(e) = result {
        // Nothing was changed (one transaction, rolled back): the copy is the live file again.
        // Kept, each failed launch would leave one more.
        if let Some(copy) = &backup {
            let _ = std::fs::remove_file(copy);
        }
        return Err(e);
    }
    Ok(backup)
}

/// The app's own rules that steps call from SQL (step 14: emails in NFC).
pub(crate) fn register_rules(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("comptoir_nfc", 1, flags, |ctx| {
        Ok(ctx.get::<Option<String>>(0)?.map(|s| crate::text::nfc(&s)))
    })?;
    conn.create_scalar_function("comptoir_email_norm", 1, flags, |ctx| {
        Ok(ctx.get::<Option<String>>(0)?.map(|s| crate::text::normalize_email(&s)))
    })?;
    Ok(())
}

fn apply_steps(conn: &mut Connection) -> Result<()> {
    register_rules(conn)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another copy of the app may have upgraded the file between the first read and this
    // lock: the version is read again under the lock, and only what is still pending runs.
    let locked: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if locked > LATEST_VERSION {
        return Err(Error::NewerDatabase { found: locked, supported: LATEST_VERSION });
    }
    // A reference already broken in an old file (edited by hand, with foreign keys off) must
    // not lock the merchant out of their shop: only what the upgrade itself breaks stops it.
    let before = foreign_key_violations(&tx)?;
    if !before.is_empty() {
        tracing::warn!(count = before.len(), "broken references found before the upgrade; left as they were");
    }
    for (version, name, sql) in STEPS.iter().filter(|(v, _, _)| *v > locked) {
        tracing::info!(version, name, "applying migration");
        tx.execute_batch(sql)?;
    }
    if locked < LATEST_VERSION {
        tx.pragma_update(None, "user_version", LATEST_VERSION)?;
    }
    let broken = foreign_key_violations(&tx)?.into_iter().find(|v| !before.contains(v)).map(|v| v.0);
    if let Some(table) = broken {
        tracing::error!(table, "an upgrade step left a broken reference");
        return Err(Error::Storage(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
            Some(format!("foreign key check failed on {table}")),
        )));
    }
    tx.commit()?;
    Ok(())
}

/// One broken reference: (table, row, referenced table, which reference).
type Violation = (String, Option<i64>, String, i64);

/// Every broken reference.
fn foreign_key_violations(conn: &Connection) -> Result<std::collections::HashSet<Violation>> {
    let mut st = conn.prepare("PRAGMA foreign_key_check")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The copy taken before an upgrade: written under a temporary name (`VACUUM INTO`), opened
/// again and checked (`integrity_check`, its schema version), then renamed. An upgrade never
/// starts without a sound copy.
///
/// The full `integrity_check` here, not the `quick_check` of backups (`data::backup`): `VACUUM
/// INTO` copies each index as it is, so only the full check (each index compared with its
/// table) finds an index that disagrees with its table, and this is the one time the live
/// data gets that check before it is changed. It costs 8.8 s against 3.3 s on the 100k shop's
/// copy, about 95 s on the 10x shop's 6.4 GB one, once per upgrade.
fn write_backup(
    conn: &Connection,
    db: &Path,
    version: u32,
    now: DateTime<Utc>,
    progress: &dyn Fn(UpgradeStage),
) -> Result<PathBuf> {
    super::upgrade_copies::remove_abandoned_copies(db, SystemTime::now());
    progress(UpgradeStage::Copying);
    let mut dest = backup_path_for(db, version, now);
    // Another copy of the app may be writing its own backup in the same second.
    for n in 2.. {
        if !dest.exists() {
            break;
        }
        dest = dest.with_extension(format!("{n}.bak"));
    }
    // The copy's lock is held until it is renamed or removed (end of this function).
    let writing = super::upgrade_copies::start_copy(&dest)?;
    let tmp = writing.tmp.clone();
    if let Err(e) = conn.execute("VACUUM INTO ?1", [tmp.to_string_lossy()]) {
        // A full disk leaves an empty copy, a file-size limit a partial one: neither stays.
        super::upgrade_copies::remove_copy(&tmp);
        return Err(e.into());
    }
    progress(UpgradeStage::Checking);
    let verified = (|| -> rusqlite::Result<bool> {
        let copy = Connection::open_with_flags(&tmp, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        let v: u32 = copy.pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok(check == "ok" && v == version)
    })();
    if !matches!(verified, Ok(true)) {
        super::upgrade_copies::remove_copy(&tmp);
        tracing::error!(?verified, path = %tmp.display(), "the copy taken before the upgrade is not sound");
        return Err(Error::BackupFailed);
    }
    std::fs::rename(&tmp, &dest)?;
    drop(writing);
    Ok(dest)
}

/// A new file with the schema of an older `version` of the app (one of the steps'), for tests
/// of upgrades and for reproducing one (`comptoir-cli old-file`). An existing file is refused.
pub fn create_file_at_version(path: &Path, version: u32) -> Result<Connection> {
    use std::io::{Error as IoError, ErrorKind};
    if !STEPS.iter().any(|(v, _, _)| *v == version) {
        return Err(IoError::new(ErrorKind::InvalidInput, format!("no schema version {version}")).into());
    }
    if path.exists() {
        return Err(IoError::new(ErrorKind::AlreadyExists, format!("{} exists", path.display())).into());
    }
    let conn = Connection::open(path)?;
    // Steps call the app's own rules (step 14: emails in NFC), as the runner registers them.
    register_rules(&conn)?;
    for (_, _, sql) in STEPS.iter().filter(|(v, _, _)| *v <= version) {
        conn.execute_batch(sql)?;
    }
    conn.pragma_update(None, "user_version", version)?;
    Ok(conn)
}

#[cfg(test)]
pub(crate) fn steps() -> &'static [(u32, &'static str, &'static str)] {
    STEPS
}
