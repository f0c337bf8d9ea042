//! Storage: opening the database with the product's pragmas, migrating it, and the single
//! write path (`Store::transact`) with idempotency keys.

pub mod checkpoint;
mod migrations;

pub use migrations::{backup_path_for, LATEST_VERSION};

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::types::{Changes, Outcome};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An open Comptoir database. Reads go straight to the connection; every write goes through
/// [`Store::transact`].
pub struct Store {
    conn: Connection,
    clock: Arc<dyn Clock>,
    path: Option<PathBuf>,
    /// The copy taken before the last migration, if one ran when opening.
    pub migration_backup: Option<PathBuf>,
}

/// The pragmas of `shared/quality.md`: WAL, durable commits for sales and ledgers, foreign
/// keys enforced, and a wait rather than an error when another writer holds the lock.
fn apply_pragmas(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -16_000)?;
    // When the log is reset after a checkpoint, it is cut back to this size (64 MB).
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    // An in-memory database answers "memory"; a file must be in WAL.
    debug_assert!(mode == "wal" || mode == "memory", "journal mode {mode}");
    Ok(())
}

impl Store {
    /// Open (or create) the database at `path`, migrating it if it is older than this app.
    /// A database written by a newer version of the app is refused.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_with_clock(path, Arc::new(SystemClock))
    }

    pub fn open_with_clock(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        apply_pragmas(&conn)?;
        let backup = migrations::migrate(&mut conn, Some(&path), clock.now())?;
        Ok(Store { conn, clock, path: Some(path), migration_backup: backup })
    }

    /// A fresh in-memory database, for tests and tools.
    pub fn open_in_memory() -> Result<Store> {
        Self::open_in_memory_with_clock(Arc::new(SystemClock))
    }

    pub fn open_in_memory_with_clock(clock: Arc<dyn Clock>) -> Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        apply_pragmas(&conn)?;
        migrations::migrate(&mut conn, None, clock.now())?;
        Ok(Store { conn, clock, path: None, migration_backup: None })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Read-only access for queries.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Run `f` as one write transaction (`BEGIN IMMEDIATE`, so a read-modify-write cannot
    /// interleave with another writer). Everything `f` writes commits together or not at all.
    ///
    /// With an idempotency `key`, the outcome is stored with the write; a second call with the
    /// same key returns the stored outcome (`replayed: true`) and writes nothing. Reusing a key
    /// for a different operation is an error.
    pub fn transact<T, F>(&mut self, op: &'static str, key: Option<&str>, f: F) -> Result<Outcome<T>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(&mut Tx) -> Result<T>,
    {
        if let Some(k) = key {
            validate_key(k)?;
        }
        let now = self.clock.now();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(k) = key {
            let stored: Option<(String, String)> = tx
                .query_row("SELECT op, outcome FROM idempotency WHERE key = ?1", [k], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((stored_op, outcome)) = stored {
                if stored_op != op {
                    return Err(Error::KeyReused(k.to_string()));
                }
                let mut out: Outcome<T> = serde_json::from_str(&outcome)?;
                out.replayed = true;
                return Ok(out);
            }
        }
        let mut t = Tx { tx, changes: Changes::default(), now };
        let value = f(&mut t)?;
        let Tx { tx, changes, .. } = t;
        let outcome = Outcome { value, changes, replayed: false };
        if let Some(k) = key {
            tx.execute(
                "INSERT INTO idempotency (key, op, outcome, created_at) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![k, op, serde_json::to_string(&outcome)?, now],
            )?;
        }
        tx.commit()?;
        Ok(outcome)
    }

    /// Check the file is sound (`PRAGMA integrity_check`).
    pub fn integrity_check(&self) -> Result<bool> {
        let s: String = self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(s == "ok")
    }
}

fn validate_key(k: &str) -> Result<()> {
    let ok = (8..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("key", "field.key_invalid"))
    }
}

/// An open write transaction and what it changed so far.
pub struct Tx<'a> {
    tx: Transaction<'a>,
    pub changes: Changes,
    /// The time of this write, read once from the store's clock.
    pub now: DateTime<Utc>,
}

impl<'a> Deref for Tx<'a> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.tx
    }
}

#[cfg(test)]
mod tests;
