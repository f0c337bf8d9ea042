//! WAL checkpoints off the till's path. By default SQLite makes the connection whose commit
//! pushes the write-ahead log past 1000 pages copy the log into the database and sync it,
//! inside that commit: every few hundred sales, one sale pays for all of them (about 8 ms on
//! the 100k shop). Here the app's connections stop checkpointing (`wal_autocheckpoint = 0`)
//! and a thread with its own connection runs a `PASSIVE` checkpoint every moment instead.
//!
//! SQLite reuses the log from its start only when a writer begins while every frame in it is
//! copied. Writers that never pause (sales back to back, a long run of automatic work) commit
//! again while each passive checkpoint syncs the database file, so it never catches up and the
//! log would grow without end — and a log that grows makes every commit's sync slower (the
//! file's size changes with it: 30 % on this machine's disk). So when a passive checkpoint
//! copied a log over [`RESET_PAGES`], a `RESTART` checkpoint follows at once: it copies the
//! little committed since and holds the writers back until the log can be reused — one short
//! pause (a sync of the database file) every 60 MB written.
//!
//! A restart copies under the writers' lock: it never follows a passive checkpoint that an
//! older reader held back (the whole backlog would be copied while sales wait), it is not
//! repeated while the log it made reusable waits for its next writer, and after one that had to
//! give up (a reader in the way) the next looks leave it alone for a while.
//!
//! Invariants: commits stay durable (`synchronous = FULL` syncs the log at every commit, and
//! this connection's checkpoints sync the database file before the log is reused; a checkpoint
//! only moves committed pages into the database file); a passive checkpoint never waits for a
//! writer or a reader; a restart waits for them [`RESTART_WAIT`] in all and gives up when that
//! is not enough; the log is reused from its start once everything in it was copied, and stays
//! below `journal_size_limit` (64 MB).

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

/// A log past this many pages (60 MB of 4 kB pages with their headers, under the 64 MB
/// `journal_size_limit`) is made reusable at once (see the module). Each restart holds the
/// writers back for a moment: about once per 1,500 sales back to back, beyond the 99th
/// percentile of a till's sales.
pub const RESET_PAGES: i64 = 15_000;

/// At most this many pages left uncopied by the passive checkpoint for a restart to follow
/// (about 4 MB: a few milliseconds under the writers' lock). More means an older reader held
/// the passive one back.
pub const MAX_RESTART_COPY: i64 = 1_024;

/// How long a restart waits, in all, for the writer and the readers before giving up.
pub const RESTART_WAIT: Duration = Duration::from_millis(10);

/// Looks without a restart after one that had to give up.
pub const BACKOFF_LOOKS: u32 = 8;

/// What the checkpointer remembers of its restarts between two looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restarts {
    /// The log's size when a restart last made it reusable: until a writer starts it again
    /// the log keeps that size, and needs no other restart.
    pub done_at: Option<i64>,
    /// Looks left before trying again after a restart that had to give up.
    pub backoff: u32,
}

/// Rule: after a passive checkpoint, a restart follows when the log is over `reset_pages`
/// ([`RESET_PAGES`] in the app: the passive ones could not catch up with writers that do not
/// pause), the passive one copied all but [`MAX_RESTART_COPY`] pages of it (else an older
/// reader held it back and a restart would copy the backlog while sales wait), the log is not
/// the one the last restart already made reusable, and no back-off is running.
pub fn restart_after(passive: &CheckpointResult, reset_pages: i64, memory: &Restarts) -> bool {
    passive.log_pages >= reset_pages
        && passive.log_pages - passive.copied_pages <= MAX_RESTART_COPY
        && memory.done_at != Some(passive.log_pages)
        && memory.backoff == 0
}

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

/// One checkpoint on `conn` (`pragma`: `wal_checkpoint(PASSIVE)` or `(RESTART)`).
fn checkpoint(conn: &Connection, pragma: &str) -> rusqlite::Result<CheckpointResult> {
    conn.query_row(&format!("PRAGMA {pragma}"), [], |r| {
        Ok(CheckpointResult { busy: r.get::<_, i64>(0)? != 0, log_pages: r.get(1)?, copied_pages: r.get(2)? })
    })
}

/// One passive checkpoint on `conn`.
pub fn checkpoint_passive(conn: &Connection) -> Result<CheckpointResult> {
    Ok(checkpoint(conn, "wal_checkpoint(PASSIVE)")?)
}

/// A `RESTART` checkpoint on `conn`, waiting [`RESTART_WAIT`] in all (SQLite's busy handler
/// counts from the statement's start): when it returns without `busy`, the next commit writes
/// the log from its start.
pub fn checkpoint_restart(conn: &Connection) -> Result<CheckpointResult> {
    conn.busy_timeout(RESTART_WAIT)?;
    let r = checkpoint(conn, "wal_checkpoint(RESTART)");
    conn.busy_timeout(Duration::ZERO)?;
    Ok(r?)
}

impl Checkpointer {
    /// Start checkpointing `path` every `every`.
    pub fn spawn(path: &Path, every: Duration) -> Result<Checkpointer> {
        Self::spawn_resetting_at(path, every, RESET_PAGES)
    }

    /// The same, restarting the log past `reset_pages` (tests use a smaller log).
    fn spawn_resetting_at(path: &Path, every: Duration, reset_pages: i64) -> Result<Checkpointer> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.pragma_update(None, "busy_timeout", 0)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // Its checkpoints must sync the database file before the log is reused (OFF would not).
        conn.pragma_update(None, "synchronous", "FULL")?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let name: PathBuf = path.to_path_buf();
        let handle = std::thread::Builder::new().name("wal-checkpointer".into()).spawn(move || {
            let mut memory = Restarts::default();
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(every);
                memory.backoff = memory.backoff.saturating_sub(1);
                match checkpoint_passive(&conn) {
                    Ok(r) if restart_after(&r, reset_pages, &memory) => match checkpoint_restart(&conn) {
                        Ok(done) if !done.busy => memory.done_at = Some(done.log_pages),
                        Ok(_) => memory.backoff = BACKOFF_LOOKS,
                        Err(e) => {
                            memory.backoff = BACKOFF_LOOKS;
                            tracing::debug!(error = %e, file = %name.display(), "log reset put off");
                        }
                    },
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, file = %name.display(), "checkpoint skipped"),
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
    fn a_large_log_is_made_reusable_at_once_a_small_one_waits() {
        let r = |log_pages, copied_pages| CheckpointResult { busy: false, log_pages, copied_pages };
        let fresh = Restarts::default();
        let at = RESET_PAGES;
        assert!(!restart_after(&r(0, 0), at, &fresh), "an empty log: nothing to do");
        assert!(!restart_after(&r(at - 1, at - 1), at, &fresh), "a smaller log is reused at the next quiet moment");
        assert!(restart_after(&r(at, at), at, &fresh), "a log as large as the limit is made reusable at once");
        assert!(
            restart_after(&r(at + 10, at + 10 - MAX_RESTART_COPY), at, &fresh),
            "a little left to copy: the restart copies it under the writers' lock"
        );
        assert!(
            !restart_after(&r(at + 10, 2), at, &fresh),
            "an older reader held the passive checkpoint back: no restart copies the backlog while sales wait"
        );
        let done = Restarts { done_at: Some(at + 10), backoff: 0 };
        assert!(!restart_after(&r(at + 10, at + 10), at, &done), "the log already made reusable waits for its writer");
        assert!(restart_after(&r(at + 500, at + 500), at, &done), "a log that grew again is restarted again");
        let waiting = Restarts { done_at: None, backoff: 3 };
        assert!(
            !restart_after(&r(at, at), at, &waiting),
            "after a restart that gave up, the next looks leave it alone"
        );
    }

    /// `n` sales back to back, with or without a checkpointer looking every 5 ms: the size the
    /// log file reached (the file only grows when the log is never reused) per sale.
    fn log_file_per_sale_after_busy_sales(checkpointer: bool, n: usize) -> f64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let mut s = Store::open(&path).unwrap();
        s.leave_checkpoints_to_background().unwrap();
        let c = add(&mut s, input("Zoé", "Côté"));
        let cp = checkpointer
            .then(|| Checkpointer::spawn_resetting_at(&path, Duration::from_millis(5), RESET_PAGES / 16).unwrap());
        for _ in 0..n {
            sale(&mut s, c, 100);
        }
        let wal = std::fs::metadata(dir.path().join("shop.db-wal")).unwrap().len();
        drop(cp);
        wal as f64 / n as f64
    }

    #[test]
    fn sales_that_never_pause_still_have_the_log_reused() {
        // 2,000 sales write a log many times the 1,024 pages this checkpointer restarts at (each
        // sale changes about ten pages): without restarts the two files would be alike.
        let never = log_file_per_sale_after_busy_sales(false, 2000);
        let with = log_file_per_sale_after_busy_sales(true, 2000);
        assert!(
            with * 3.0 < never,
            "the log was reused while the sales went on: {with:.0} bytes of log file per sale against {never:.0} with no checkpoint"
        );
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
