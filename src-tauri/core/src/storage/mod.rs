//! Storage: opening the database with the product's pragmas, migrating it, and the single
//! write path (`Store::transact`) with idempotency keys.

mod btree_walk;
pub mod checkpoint;
pub(crate) mod gate;
mod migrations;
mod search_index;
mod set_aside;
mod upgrade_copies;
pub(crate) use set_aside::PutBack;
pub(crate) mod unlock;
pub mod warm;

#[cfg(test)]
pub(crate) use migrations::steps as migration_steps;
pub use migrations::{
    backup_path_for, create_file_at_version, pending_upgrade, PendingUpgrade, UpgradeStage, UpgradeStatus,
    LATEST_VERSION,
};
pub use upgrade_copies::remove_abandoned_copies;

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
    /// The connection's exception to the append-only triggers (see `unlock`).
    unlock: unlock::UnlockCell,
    /// The file's writers and its restore (see `gate`); none in memory.
    pub(crate) gate: Option<gate::Gate>,
    /// Set while a restore of this file checks its backup without holding this store: the
    /// writes of this connection are refused meanwhile (they would land in content about to
    /// be replaced), see `pause_writes`.
    writes_paused: Arc<std::sync::atomic::AtomicBool>,
}

/// Writes through one store are refused while this lives (see `Store::pause_writes`).
#[must_use = "writes are refused only while the guard lives"]
pub struct WritesPaused(Arc<std::sync::atomic::AtomicBool>);

impl Drop for WritesPaused {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}

/// SQLite's page cache per connection, in KiB.
pub(crate) const CACHE_KIB: i64 = 16_000;

/// The pragmas of `shared/quality.md`: WAL, durable commits for sales and ledgers, foreign
/// keys enforced, and a wait rather than an error when another writer holds the lock.
fn apply_pragmas(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    // When the log is reset after a checkpoint, it is cut back to this size (64 MB).
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    // An import keeps about twenty statements busy per row, and every write's statements go
    // through the cache (`Tx::execute`, `Tx::query_row`): keep them all prepared. Parsing a
    // statement again was a sixth of a sale's time at the till.
    conn.set_prepared_statement_cache_capacity(256);
    // One plan per statement, whatever its bound values (the query planner stability
    // guarantee). Without it SQLite marks a statement whose plan could depend on a bound
    // value, and a cached statement so marked is parsed and planned again at every use (its
    // bindings are cleared when it goes back to the cache): the import's customer look-up by
    // email and by phone was a quarter of an import's time. Our statements are written for
    // their indexes; a count by a bound status that could use a partial index is written with
    // literal statuses instead (`referrals_overview`).
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    // An in-memory database answers "memory"; a file must be in WAL.
    debug_assert!(mode == "wal" || mode == "memory", "journal mode {mode}");
    Ok(())
}

/// Hand the memory the whole process has freed back to the system (glibc keeps what each
/// thread frees in that thread's arena). It walks every arena under its lock, so it is called
/// after a round of real work, never while the caller holds the store. Linux with glibc only.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl Store {
    /// Open (or create) the database at `path`, migrating it if it is older than this app.
    /// A database written by a newer version of the app is refused.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_with_clock(path, Arc::new(SystemClock))
    }

    pub fn open_with_clock(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<Store> {
        Self::open_file(path.as_ref(), clock, true, &|_| {})
    }

    /// [`Store::open`], saying where an upgrade of the file is as it goes (nothing is said
    /// when none runs).
    pub fn open_with_progress(path: impl AsRef<Path>, progress: &dyn Fn(UpgradeStage)) -> Result<Store> {
        Self::open_file(path.as_ref(), Arc::new(SystemClock), true, progress)
    }

    /// Open a copy that is itself a copy of a file kept elsewhere (a restore's work copy of a
    /// backup), migrating it without writing a copy of the older version beside it first: the
    /// backup it came from is that copy already, and a second one of a large shop costs the
    /// restore its time and its disk for nothing.
    pub fn open_copy(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_file(path.as_ref(), Arc::new(SystemClock), false, &|_| {})
    }

    fn open_file(
        path: &Path,
        clock: Arc<dyn Clock>,
        copy_before_upgrade: bool,
        progress: &dyn Fn(UpgradeStage),
    ) -> Result<Store> {
        let path = path.to_path_buf();
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
        let unlock = unlock::UnlockCell::default();
        unlock::register(&conn, &unlock)?;
        let backup = migrations::migrate(
            &mut conn,
            Some(path.as_path()).filter(|_| copy_before_upgrade),
            clock.now(),
            progress,
        )?;
        let gate = Some(gate::Gate::for_file(&path));
        Ok(Store {
            conn,
            clock,
            path: Some(path),
            migration_backup: backup,
            unlock,
            gate,
            writes_paused: Default::default(),
        })
    }

    /// A fresh in-memory database, for tests and tools.
    pub fn open_in_memory() -> Result<Store> {
        Self::open_in_memory_with_clock(Arc::new(SystemClock))
    }

    pub fn open_in_memory_with_clock(clock: Arc<dyn Clock>) -> Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        apply_pragmas(&conn)?;
        let unlock = unlock::UnlockCell::default();
        unlock::register(&conn, &unlock)?;
        migrations::migrate(&mut conn, None, clock.now(), &|_| {})?;
        Ok(Store {
            conn,
            clock,
            path: None,
            migration_backup: None,
            unlock,
            gate: None,
            writes_paused: Default::default(),
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Give back the memory this connection holds for pages it no longer needs (`PRAGMA
    /// shrink_memory`; pages in use by an open statement or transaction stay). For the
    /// background connections between their rounds, and the app's own connection once idle:
    /// after a pass over the shop each would otherwise keep up to `CACHE_KIB` of pages. The
    /// memory goes back to the allocator; [`trim_heap`] hands it to the system.
    pub fn release_memory(&self) -> Result<()> {
        self.conn().execute_batch("PRAGMA shrink_memory")?;
        Ok(())
    }

    /// Read-only access for queries.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Run `f` as one write transaction (`BEGIN IMMEDIATE`, so a read-modify-write cannot
    /// interleave with another writer). Everything `f` writes commits together or not at all.
    ///
    /// With an idempotency `key`, the outcome is stored with the write; a second call with the
    /// same key returns the stored outcome (`replayed: true`) and writes nothing. `op` names the
    /// operation, alone or with its input (`("sale.record", &input)`): reusing a key for another
    /// operation, or for the same operation with a different input, is refused rather than
    /// answered with another write's outcome.
    pub fn transact<T, F>(&mut self, op: impl Op, key: Option<&str>, f: F) -> Result<Outcome<T>>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(&mut Tx) -> Result<T>,
    {
        if let Some(k) = key {
            validate_key(k)?;
        }
        if self.writes_paused.load(std::sync::atomic::Ordering::Acquire) {
            // Refused at once, never queued: nothing is recorded, the same key works after.
            return Err(Error::conflict("conflict.restore_in_progress"));
        }
        let (name, fingerprint) = (op.name(), op.fingerprint());
        // No restore of this file runs while the write does (see `gate`).
        let file_gate = self.gate.clone();
        let _writing = file_gate.as_ref().map(gate::Gate::shared);
        let now = self.clock.now();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(k) = key {
            let stored: Option<(String, String, Option<String>)> = tx
                .prepare_cached("SELECT op, outcome, fingerprint FROM idempotency WHERE key = ?1")?
                .query_row([k], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            if let Some((stored_op, outcome, stored_fp)) = stored {
                let same_input = match (&stored_fp, &fingerprint) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                if stored_op != name || !same_input {
                    return Err(Error::KeyReused(k.to_string()));
                }
                let mut out: Outcome<T> = serde_json::from_str(&outcome)?;
                out.replayed = true;
                return Ok(out);
            }
        }
        let mut t = Tx { tx, changes: Changes::default(), now, unlock: self.unlock.clone() };
        let value = f(&mut t)?;
        let Tx { tx, changes, .. } = t;
        let outcome = Outcome { value, changes, replayed: false };
        if let Some(k) = key {
            tx.prepare_cached(
                "INSERT INTO idempotency (key, op, outcome, created_at, fingerprint) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(rusqlite::params![k, name, serde_json::to_string(&outcome)?, now, fingerprint])?;
        }
        tx.commit()?;
        Ok(outcome)
    }

    /// The stored outcome of the write done with `key` for `op`, if it was done (a write whose
    /// result is recorded outside `transact`, as a restore's is in the restored content).
    /// A key used for another operation or input is refused, as `transact` does.
    pub fn replay<T: DeserializeOwned>(&self, op: impl Op, key: &str) -> Result<Option<T>> {
        validate_key(key)?;
        let stored: Option<(String, String, Option<String>)> = self
            .conn
            .query_row("SELECT op, outcome, fingerprint FROM idempotency WHERE key = ?1", [key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let Some((stored_op, outcome, stored_fp)) = stored else { return Ok(None) };
        let fingerprint = op.fingerprint();
        let same_input = match (&stored_fp, &fingerprint) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        if stored_op != op.name() || !same_input {
            return Err(Error::KeyReused(key.to_string()));
        }
        let out: Outcome<T> = serde_json::from_str(&outcome)?;
        Ok(Some(out.value))
    }

    /// Run the reads of `f` on one snapshot of the file (a deferred transaction: it takes no
    /// lock but the readers'): a commit from another connection between two of them is seen by
    /// neither. Inside a transaction already, `f` reads that one's. `f` only reads: writes go
    /// through [`Store::transact`] (here they would be rolled back, or kept with the outer
    /// transaction).
    pub fn on_one_snapshot<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        if !self.conn.is_autocommit() {
            return f(&self.conn);
        }
        let snapshot = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)?;
        let out = f(&snapshot);
        // Nothing was written: ending the read cannot lose anything.
        let _ = snapshot.rollback();
        out
    }

    /// Run `f` exactly as a write would run (one `BEGIN IMMEDIATE` transaction), then roll
    /// everything back: a preview that runs the same code as the write it previews.
    pub fn rehearse<T, F>(&mut self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Tx) -> Result<T>,
    {
        let file_gate = self.gate.clone();
        let _writing = file_gate.as_ref().map(gate::Gate::shared);
        let now = self.clock.now();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut t = Tx { tx, changes: Changes::default(), now, unlock: self.unlock.clone() };
        let value = f(&mut t);
        // After a full disk or an I/O error SQLite has already rolled back: the caller hears
        // that error, not "no transaction is active".
        if !t.tx.is_autocommit() {
            t.tx.rollback()?;
        }
        value
    }

    /// Replace the whole content of this database by the database file at `src`, through
    /// SQLite's backup API into this connection: other connections to the live file (the
    /// campaign sender) wait on its lock and then see the new content; nothing is renamed
    /// under them. Used by a restore, once `src` is verified.
    pub fn replace_contents_from(&mut self, src: &Path) -> Result<()> {
        let from = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        // Statements prepared against the content being replaced are let go first.
        self.conn.flush_prepared_statement_cache();
        {
            let b = rusqlite::backup::Backup::new(&from, &mut self.conn)?;
            b.run_to_completion(1024, std::time::Duration::ZERO, None)?;
        }
        apply_pragmas(&self.conn)?;
        Ok(())
    }

    /// Forget idempotency keys older than `KEY_RETENTION_DAYS`: a retry comes within seconds or
    /// minutes, and the table would otherwise grow with every write. Run at each start.
    pub fn prune_idempotency_keys(&mut self) -> Result<usize> {
        let before = self.now() - chrono::Duration::days(KEY_RETENTION_DAYS);
        Ok(self
            .transact("idempotency.prune", None, |tx| {
                Ok(tx.execute("DELETE FROM idempotency WHERE created_at < ?1", [before])?)
            })?
            .value)
    }

    /// Refuse this store's writes until the guard is dropped: a restore checks its backup
    /// (the longest part) without holding the store, so the screens keep reading, but a write
    /// made meanwhile would land in the content the restore then replaces. Only this store:
    /// the app's other connections (the sender, the clocks) go on, and what they record that a
    /// restore must keep (messages sent, erasures, unsubscribes) is carried into the restored
    /// file.
    pub fn pause_writes(&self) -> WritesPaused {
        self.writes_paused.store(true, std::sync::atomic::Ordering::Release);
        WritesPaused(self.writes_paused.clone())
    }

    /// Whether this store's writes are refused now (a restore under way).
    pub fn writes_paused(&self) -> bool {
        self.writes_paused.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Check the file is sound (`PRAGMA integrity_check`).
    pub fn integrity_check(&self) -> Result<bool> {
        let s: String = self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(s == "ok")
    }
}

/// How long an idempotency key is remembered.
pub const KEY_RETENTION_DAYS: i64 = 30;

/// The operation a write is, and optionally the input it was asked with: a fingerprint of the
/// input is stored with the idempotency key.
pub trait Op {
    fn name(&self) -> &'static str;
    fn fingerprint(&self) -> Option<String>;
}

impl Op for &'static str {
    fn name(&self) -> &'static str {
        self
    }
    fn fingerprint(&self) -> Option<String> {
        None
    }
}

impl<I: Serialize + ?Sized> Op for (&'static str, &I) {
    fn name(&self) -> &'static str {
        self.0
    }
    fn fingerprint(&self) -> Option<String> {
        serde_json::to_vec(self.1).ok().map(|bytes| format!("{:016x}", fnv1a64(&bytes)))
    }
}

/// A text column of `r`, borrowed from the row (no copy): for loops over many rows.
pub(crate) fn text_at<'r>(r: &'r rusqlite::Row, i: usize) -> rusqlite::Result<&'r str> {
    r.get_ref(i)?
        .as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
}

/// FNV-1a, 64 bits: stable across Rust versions (unlike `DefaultHasher`), enough to tell a
/// retry of the same input from a different one.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
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
    unlock: unlock::UnlockCell,
}

impl Tx<'_> {
    /// `Connection::execute` through the statement cache: the statements of a write are the
    /// same at every sale, so they are parsed once per connection, not once per write.
    pub fn execute<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.tx.prepare_cached(sql)?.execute(params)
    }

    /// `Connection::query_row` through the statement cache (see `execute`).
    pub fn query_row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.tx.prepare_cached(sql)?.query_row(params, f)
    }
}

impl<'a> Deref for Tx<'a> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.tx
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_migration_17;
#[cfg(test)]
mod tests_migration_18;
#[cfg(test)]
mod tests_migration_19;
#[cfg(test)]
mod tests_migration_20;
#[cfg(test)]
mod tests_migration_21;
#[cfg(test)]
mod tests_upgrade;
