//! WAL checkpoints off the till's path. By default SQLite makes the connection whose commit
//! pushes the write-ahead log past 1000 pages copy the log into the database and sync it,
//! inside that commit: every few hundred sales, one sale pays for all of them (about 8 ms on
//! the 100k shop). Here a thread with its own connection runs a `PASSIVE` checkpoint every
//! moment instead, and the app's connections checkpoint at commit only past [`RESET_PAGES`].
//!
//! SQLite reuses the log from its start only when a writer begins while every frame in it is
//! copied. Writers that never pause (sales back to back, a long run of automatic work) commit
//! again while each passive checkpoint syncs the database file, so that one never catches up,
//! and a log that grows makes every commit's sync slower (the file's size changes with it:
//! 30 % on this machine's disk). A checkpoint from another connection cannot help either: it
//! has to wait for the writers' lock, which writers back to back almost never leave free (a
//! `RESTART` from this thread gave up nine times in ten). So the writer helps itself: the
//! commit that takes the log past [`RESET_PAGES`] runs a passive checkpoint on its own
//! connection (SQLite's automatic checkpoint, at that size). It copies what this thread has
//! not copied yet (a moment's worth), and that connection's next write begins on a log fully
//! copied, so it starts the log again. One commit in about 1,500 back to back pays a short
//! copy and a sync of the database file.
//!
//! Invariants: commits stay durable (`synchronous = FULL` syncs the log at every commit, and
//! checkpoints sync the database file before the log is reused; a checkpoint only moves
//! committed pages into the database file); this thread's checkpoints never wait for a writer
//! or a reader; the log is reused from its start once everything in it was copied, and stays
//! below `journal_size_limit` (64 MB) unless a reader holds an old snapshot (then nothing can
//! be copied past it, and each commit's check costs a read of the log's index).

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

/// A commit that takes the log past this many pages (60 MB of 4 kB pages with their headers,
/// under the 64 MB `journal_size_limit`) checkpoints it itself (see the module): about once
/// per 1,500 sales back to back, beyond the 99th percentile of a till's sales, and never while
/// this thread keeps up.
pub const RESET_PAGES: i64 = 15_000;

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
        // Its checkpoints must sync the database file before the log is reused (OFF would not).
        conn.pragma_update(None, "synchronous", "FULL")?;
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
    /// Leave this connection's checkpoints to a [`Checkpointer`]: its commits checkpoint only a
    /// log past [`RESET_PAGES`], which the checkpointer could not have reused (see the module).
    pub fn leave_checkpoints_to_background(&self) -> Result<()> {
        self.checkpoint_at_commit_past(RESET_PAGES)
    }

    /// The same with another size (the tests use a smaller log).
    fn checkpoint_at_commit_past(&self, pages: i64) -> Result<()> {
        self.conn().pragma_update(None, "wal_autocheckpoint", pages)?;
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

    /// The log limit of these tests (the app's is 15 times more).
    const LIMIT: i64 = 1_000;

    /// The largest the log file grew in `n` sales back to back, in pages (4 kB and their
    /// frame header), on a shop whose commits checkpoint past `limit` pages (0: never), with
    /// or without a checkpointer looking every 5 ms.
    fn largest_log_in_pages(limit: i64, checkpointer: bool, n: usize) -> i64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let mut s = Store::open(&path).unwrap();
        s.checkpoint_at_commit_past(limit).unwrap();
        let c = add(&mut s, input("Zoé", "Côté"));
        let cp = checkpointer.then(|| Checkpointer::spawn(&path, Duration::from_millis(5)).unwrap());
        let wal = dir.path().join("shop.db-wal");
        let mut largest = 0;
        for _ in 0..n {
            sale(&mut s, c, 100);
            largest = largest.max(std::fs::metadata(&wal).unwrap().len());
        }
        drop(cp);
        largest as i64 / (4096 + 24)
    }

    #[test]
    fn sales_that_never_pause_still_have_the_log_reused() {
        // Each sale writes about ten pages: 2,000 of them write many times the limit.
        let never = largest_log_in_pages(0, false, 2000);
        assert!(never > 10 * LIMIT, "the test writes a log many times the limit ({never} pages)");
        let with = largest_log_in_pages(LIMIT, true, 2000);
        assert!(
            with < 2 * LIMIT,
            "with the checkpointer and sales back to back the log is reused: it reached {with} pages for a limit of {LIMIT} ({never} without checkpoints)"
        );
        let alone = largest_log_in_pages(LIMIT, false, 2000);
        assert!(
            alone < LIMIT + 50,
            "without the checkpointer the commit past the limit still has the log reused: it reached {alone} pages"
        );
    }

    #[test]
    fn a_log_held_by_an_old_reader_is_reused_once_the_reader_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let mut s = Store::open(&path).unwrap();
        s.checkpoint_at_commit_past(LIMIT).unwrap();
        let c = add(&mut s, input("Zoé", "Côté"));
        let mut reader = Connection::open(&path).unwrap();
        let snapshot = reader.transaction().unwrap();
        let before: i64 = snapshot.query_row("SELECT count(*) FROM purchases", [], |r| r.get(0)).unwrap();
        for _ in 0..300 {
            sale(&mut s, c, 100);
        }
        assert!(log_pages(&s) > LIMIT, "nothing is copied past a snapshot still read");
        let still: i64 = snapshot.query_row("SELECT count(*) FROM purchases", [], |r| r.get(0)).unwrap();
        assert_eq!(still, before, "and the reader still reads the shop as it was");
        drop(snapshot);
        for _ in 0..10 {
            sale(&mut s, c, 100);
        }
        assert!(log_pages(&s) < 200, "once the reader is gone the next commits start the log again");
        assert!(s.integrity_check().unwrap());
        assert_eq!(s.customer(c).unwrap().figures.visit_count, 310, "and every sale is there");
    }

    #[test]
    fn below_the_limit_commits_leave_the_log_to_the_checkpointer_which_copies_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let mut s = Store::open(&path).unwrap();
        s.leave_checkpoints_to_background().unwrap();
        let auto: i64 = s.conn().query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).unwrap();
        assert_eq!(auto, RESET_PAGES, "commits checkpoint only a log past the limit");
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
