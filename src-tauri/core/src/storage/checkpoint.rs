//! WAL checkpoints off the till's path. By default SQLite makes the connection whose commit
//! pushes the write-ahead log past 1000 pages copy the log into the database and sync it,
//! inside that commit: every few hundred sales, one sale pays for all of them (about 8 ms on
//! the 100k shop). Here the app's connections stop checkpointing (`wal_autocheckpoint = 0`)
//! and a thread with its own connection runs a `PASSIVE` checkpoint every moment instead.
//!
//! Invariants: commits stay durable (`synchronous = FULL` syncs the log at every commit; a
//! checkpoint only moves committed pages into the database file); a passive checkpoint never
//! waits for a writer or a reader, so it never delays a sale; the log is reused from its start
//! once everything in it was copied, and kept below `journal_size_limit` when reset.

use crate::error::Result;
use crate::storage::Store;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the checkpointer looks at the log.
pub const DEFAULT_EVERY: Duration = Duration::from_millis(250);

/// The background checkpointer of one database file; stops when dropped.
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// What one passive checkpoint did (SQLite's three numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointResult {
    /// The checkpoint could not run to the end (a writer or reader was in the way).
    pub busy: bool,
    /// Pages in the log.
    pub log_pages: i64,
    /// Pages of the log now in the database file.
    pub copied_pages: i64,
}

/// One passive checkpoint on `conn`.
pub fn checkpoint_passive(conn: &Connection) -> Result<CheckpointResult> {
    Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok(CheckpointResult { busy: r.get::<_, i64>(0)? != 0, log_pages: r.get(1)?, copied_pages: r.get(2)? })
    })?)
}

impl Checkpointer {
    /// Start checkpointing `path` every `every`.
    pub fn spawn(path: &Path, every: Duration) -> Result<Checkpointer> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.pragma_update(None, "busy_timeout", 0)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let name: PathBuf = path.to_path_buf();
        let handle = std::thread::Builder::new().name("wal-checkpointer".into()).spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(every);
                if let Err(e) = checkpoint_passive(&conn) {
                    tracing::debug!(error = %e, file = %name.display(), "checkpoint skipped");
                }
            }
            // A last one on the way out, so the log left behind is short.
            let _ = checkpoint_passive(&conn);
        })?;
        Ok(Checkpointer { stop, handle: Some(handle) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Store {
    /// Stop this connection from checkpointing at commit time: a [`Checkpointer`] does it.
    pub fn leave_checkpoints_to_background(&self) -> Result<()> {
        self.conn().pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{add, input, sale};

    fn log_pages(s: &Store) -> i64 {
        // A passive checkpoint reports the log's size without blocking anyone.
        checkpoint_passive(s.conn()).unwrap().log_pages
    }

    #[test]
    fn without_auto_checkpoints_the_log_grows_and_the_checkpointer_copies_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let mut s = Store::open(&path).unwrap();
        s.leave_checkpoints_to_background().unwrap();
        let auto: i64 = s.conn().query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).unwrap();
        assert_eq!(auto, 0, "commits never checkpoint");
        let c = add(&mut s, input("Zoé", "Côté"));
        for _ in 0..50 {
            sale(&mut s, c, 1200);
        }
        let probe = Connection::open(&path).unwrap();
        let before: i64 = probe.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1)).unwrap();
        assert!(before > 0, "the sales are in the log");
        let cp = Checkpointer::spawn(&path, Duration::from_millis(10)).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        drop(cp);
        let r = checkpoint_passive(&probe).unwrap();
        assert_eq!(r.log_pages, r.copied_pages, "everything in the log reached the database file");
        assert!(s.integrity_check().unwrap());
        assert_eq!(s.customer(c).unwrap().figures.visit_count, 50, "and every sale is there");
        assert!(log_pages(&s) >= 0);
    }
}
