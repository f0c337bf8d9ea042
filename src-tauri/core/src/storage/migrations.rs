//! Schema migrations on `PRAGMA user_version`. Steps are numbered and append-only: a released
//! step is never edited, a change is a new step. Before upgrading a database that holds data,
//! a consistent copy is written beside it (`VACUUM INTO`); then every pending step runs in one
//! transaction, so a crash leaves either the old schema or the new one.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior};
use std::path::{Path, PathBuf};

/// (version reached, name, SQL). Version N is reached by running step N on version N-1.
const STEPS: &[(u32, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (2, "loyalty", include_str!("migrations/0002_loyalty.sql")),
    (3, "campaigns", include_str!("migrations/0003_campaigns.sql")),
    (6, "referrals", include_str!("migrations/0006_referrals.sql")),
];

pub const LATEST_VERSION: u32 = STEPS[STEPS.len() - 1].0;

/// Where the copy taken before migrating from `from_version` is written.
pub fn backup_path_for(db: &Path, from_version: u32, now: DateTime<Utc>) -> PathBuf {
    let name = db.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "comptoir.db".into());
    db.with_file_name(format!("{name}.v{from_version}-{}.bak", now.format("%Y%m%dT%H%M%SZ")))
}

pub(super) fn migrate(conn: &mut Connection, path: Option<&Path>, now: DateTime<Utc>) -> Result<Option<PathBuf>> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > LATEST_VERSION {
        return Err(Error::NewerDatabase { found: current, supported: LATEST_VERSION });
    }
    if current == LATEST_VERSION {
        return Ok(None);
    }
    let backup = match path {
        Some(p) if current > 0 => {
            let dest = backup_path_for(p, current, now);
            conn.execute("VACUUM INTO ?1", [dest.to_string_lossy()])?;
            Some(dest)
        }
        _ => None,
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (version, name, sql) in STEPS.iter().filter(|(v, _, _)| *v > current) {
        tracing::info!(version, name, "applying migration");
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", LATEST_VERSION)?;
    tx.commit()?;
    Ok(backup)
}

#[cfg(test)]
pub(crate) fn steps() -> &'static [(u32, &'static str, &'static str)] {
    STEPS
}
