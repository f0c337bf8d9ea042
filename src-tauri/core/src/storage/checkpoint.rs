//! WAL checkpoints off the till's path. By default SQLite makes the connection whose commit
//! pushes the write-ahead log past 1000 pages copy the log into the database and sync it,
//! inside that commit: every few hundred sales, one sale pays for all of them (about 8 ms on
//! the 100k shop). Here a thread with its own connection runs a `PASSIVE` checkpoint every
//! moment instead ([`Checkpointer`]), and the app's connections leave the log to it
//! ([`Store::leave_checkpoints_to_background`]) but for one case.
//!
//! SQLite reuses the log from its start only when a writer begins while every frame in it is
//! copied. Writers that never pause (sales back to back, a long run of automatic work) commit
//! again while each passive checkpoint syncs the database file, so that one never catches up,
//! and a log that grows makes every commit's sync slower (the file's size changes with it:
//! 30 % on this machine's disk). A checkpoint from another connection cannot close the gap: it
//! has to wait for the writers' lock, which writers back to back leave free only for
//! microseconds (a `RESTART` from the thread gave up nine times in ten). So the writer closes
//! it: after each commit that leaves the log past [`RESET_PAGES`], its connection's WAL hook
//! reads how much of the log is copied (a `NOOP` checkpoint: no lock, no work) and, when the
//! thread left at most [`MAX_COMMIT_COPY`] pages, copies them (a passive checkpoint). That
//! connection's next write then begins on a log fully copied and starts it again. One commit
//! in about 750 back to back pays a short copy and a sync of the database file. Any larger
//! backlog — written at once by an import or a restore, held back by an older reader — stays
//! the thread's: a sale does not copy it while the till waits. (The look and the copy are two
//! calls: a commit of another connection landing between them, within microseconds, is
//! copied too.)
//!
//! Invariants: commits stay durable (`synchronous = FULL` syncs the log at every commit, and
//! checkpoints sync the database file before the log is reused; a checkpoint only moves
//! committed pages into the database file); no checkpoint here waits for a writer or a reader
//! (a commit's copy that finds the thread copying gives up, and the next commit looks again);
//! a commit copies at most [`MAX_COMMIT_COPY`] pages (and what another writer may commit
//! between its look and its copy); the log is started again once the
//! thread copied it and a writer begins (at once when writers pause, within about a second
//! when one writes back to back). Writers that outrun the thread by more than
//! [`MAX_COMMIT_COPY`] pages at every look (two at once on a slow disk) can keep the log
//! growing until they pause; a connection that leaves its checkpoints to a thread must have
//! one running (the others keep SQLite's own rule).

use crate::error::Result;
use crate::storage::Store;
use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the checkpointer looks at the log.
pub const DEFAULT_EVERY: Duration = Duration::from_millis(250);

/// A log past this many pages (30 MB of 4 kB pages with their headers) is started again with
/// the writer's help (see the module): about once per 750 sales back to back, beyond the 99th
/// percentile of a till's sales; never while writers pause between commits.
pub const RESET_PAGES: i64 = 7_500;

/// At most this many pages left uncopied by the thread for a commit to copy them (4 MB: a
/// few milliseconds).
pub const MAX_COMMIT_COPY: i64 = 1_024;

/// Which commits copy the log themselves: past `limit` pages, with at most `max_copy` left to
/// copy (the app's: [`RESET_PAGES`] and [`MAX_COMMIT_COPY`]; tests use a smaller log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitRule {
    pub limit: i64,
    pub max_copy: i64,
}

/// The app's rule.
pub const APP_RULE: CommitRule = CommitRule { limit: RESET_PAGES, max_copy: MAX_COMMIT_COPY };

/// Rule: a commit that leaves `log_pages` in the log, `copied_pages` of them already copied
/// into the database file, copies the rest on its own connection when the log is past the
/// limit and at most `max_copy` pages are left: the thread could not catch up with writers
/// that do not pause, and the little it left is quickly copied. A larger backlog (an import's,
/// a restore's, one an older reader held back) stays the thread's. Negative numbers are
/// SQLite's "could not tell": nothing is done.
pub fn checkpoint_at_commit(log_pages: i64, copied_pages: i64, rule: CommitRule) -> bool {
    log_pages >= rule.limit && copied_pages >= 0 && log_pages - copied_pages <= rule.max_copy
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

/// The copies a connection's commits made (what the tests check of the rule at work).
#[derive(Debug, Default)]
struct CommitCopies {
    /// Commits that copied the log.
    commits: AtomicI64,
    /// The most pages one of them copied.
    largest: AtomicI64,
}

impl Store {
    /// Leave this connection's checkpoints to a [`Checkpointer`], which must run on the file:
    /// its commits copy only the last of a log the thread could not catch up with (under
    /// [`APP_RULE`], see [`checkpoint_at_commit`]).
    pub fn leave_checkpoints_to_background(&mut self) -> Result<()> {
        self.checkpoint_at_commit_under(APP_RULE).map(drop)
    }

    /// The same under another rule (the tests use a smaller log); returns what the commits
    /// copy.
    fn checkpoint_at_commit_under(&mut self, rule: CommitRule) -> Result<Arc<CommitCopies>> {
        let copies = Arc::new(CommitCopies::default());
        let counted = copies.clone();
        // Replaces SQLite's own hook (its automatic checkpoint past 1000 pages). The commit is
        // durable whatever happens here, so the hook never reports an error: a look or a copy
        // that fails (the thread is copying: busy) is left to the next commit.
        self.conn.wal_hook(Some(move |wal: &mut Wal, pages: std::ffi::c_int| {
            if i64::from(pages) < rule.limit {
                return Ok(());
            }
            let Ok((log, copied)) = wal.checkpoint_v2(CheckpointMode::NOOP) else { return Ok(()) };
            if checkpoint_at_commit(i64::from(log), i64::from(copied), rule) {
                if let Ok((_, now_copied)) = wal.checkpoint_v2(CheckpointMode::PASSIVE) {
                    counted.commits.fetch_add(1, Ordering::Relaxed);
                    counted.largest.fetch_max(i64::from(now_copied - copied), Ordering::Relaxed);
                }
            }
            Ok(())
        }))?;
        Ok(copies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{add, input, sale};
    use crate::types::CustomerId;

    /// The rule of these tests: a log 7.5 times smaller than the app's, and a quarter of it
    /// for a commit to copy (room for a slow disk's checkpoints).
    const RULE: CommitRule = CommitRule { limit: 1_000, max_copy: 250 };
    const LIMIT: i64 = RULE.limit;

    #[test]
    fn a_commit_copies_only_the_little_the_thread_left_of_a_long_log() {
        let at = |log, copied| checkpoint_at_commit(log, copied, RULE);
        assert!(!at(LIMIT - 1, 0), "a log under the limit is left to the thread's looks");
        assert!(at(LIMIT, LIMIT - RULE.max_copy), "past the limit, a little left: the commit copies it");
        assert!(at(LIMIT + 50, LIMIT + 50), "nothing left to copy: the next write starts the log again");
        assert!(
            !at(LIMIT + 50, LIMIT + 50 - RULE.max_copy - 1),
            "more left than a commit may copy (an import's, a reader's backlog): left to the thread"
        );
        assert!(!at(20 * LIMIT, 0), "however long the log");
        assert!(!at(-1, -1), "SQLite could not tell: nothing is done");
        assert!(!at(LIMIT, -1), "nor with half an answer");
    }

    /// A shop on `path` with one customer, whose commits leave the log to a thread under [`RULE`].
    fn shop(path: &Path) -> (Store, CustomerId, Arc<CommitCopies>) {
        let mut s = Store::open(path).unwrap();
        let copies = s.checkpoint_at_commit_under(RULE).unwrap();
        let c = add(&mut s, input("Zoé", "Côté"));
        (s, c, copies)
    }

    /// The log's pages and how many are copied, read without copying anything.
    fn log_state(s: &Store) -> (i64, i64) {
        s.conn().query_row("PRAGMA wal_checkpoint(NOOP)", [], |r| Ok((r.get(1)?, r.get(2)?))).unwrap()
    }

    /// The largest the log file grew in `n` sales back to back, in pages (4 kB and their
    /// frame header), with or without the rule and a checkpointer looking every 5 ms; and the
    /// commits' copies.
    fn largest_log_in_pages(checkpoints: bool, n: usize) -> (i64, Arc<CommitCopies>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let (mut s, c, copies) = shop(&path);
        if !checkpoints {
            s.conn().pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        }
        let cp = checkpoints.then(|| Checkpointer::spawn(&path, Duration::from_millis(5)).unwrap());
        let wal = dir.path().join("shop.db-wal");
        let mut largest = 0;
        for _ in 0..n {
            sale(&mut s, c, 100);
            largest = largest.max(std::fs::metadata(&wal).unwrap().len());
        }
        drop(cp);
        (largest as i64 / (4096 + 24), copies)
    }

    #[test]
    fn sales_that_never_pause_still_have_the_log_reused() {
        // Each sale writes about ten pages: 2,000 of them write many times the limit.
        let (never, _) = largest_log_in_pages(false, 2000);
        assert!(never > 10 * LIMIT, "the test writes a log many times the limit ({never} pages)");
        let (with, copies) = largest_log_in_pages(true, 2000);
        let commits = copies.commits.load(Ordering::Relaxed);
        assert!(commits > 0, "with sales back to back, the writer copies the last of the log the thread left");
        assert!(
            with < 4 * LIMIT,
            "and the log is reused: it reached {with} pages for a limit of {LIMIT} ({never} without checkpoints)"
        );
    }

    #[test]
    fn a_backlog_the_thread_has_not_reached_is_never_copied_by_a_sale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let (mut s, c, copies) = shop(&path);
        let cp = Checkpointer::spawn(&path, Duration::from_millis(5)).unwrap();
        // An older reader holds the log back while 300 sales write three times the limit.
        let mut reader = Connection::open(&path).unwrap();
        let snapshot = reader.transaction().unwrap();
        let before: i64 = snapshot.query_row("SELECT count(*) FROM purchases", [], |r| r.get(0)).unwrap();
        for _ in 0..300 {
            sale(&mut s, c, 100);
        }
        let (log, copied) = log_state(&s);
        assert!(log - copied > RULE.max_copy, "the reader held a backlog back ({log} pages, {copied} copied)");
        let still: i64 = snapshot.query_row("SELECT count(*) FROM purchases", [], |r| r.get(0)).unwrap();
        assert_eq!(still, before, "the reader still reads the shop as it was");
        drop(snapshot);
        sale(&mut s, c, 100);
        // One big write at once (an import's), then a sale.
        s.transact("test.bulk", None, |tx| {
            for i in 0..2000 {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)",
                    rusqlite::params![format!("bulk{i}"), "x".repeat(4000)],
                )?;
            }
            Ok(())
        })
        .unwrap();
        sale(&mut s, c, 100);
        let largest = copies.largest.load(Ordering::Relaxed);
        assert!(largest <= RULE.max_copy, "no commit copied a backlog: the most one copied is {largest} pages");
        // The thread copies it all between two sales: the next one starts the log again.
        let (start, mut sales) = (std::time::Instant::now(), 302);
        loop {
            std::thread::sleep(Duration::from_millis(20));
            sale(&mut s, c, 100);
            sales += 1;
            if log_state(&s).0 < 100 {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "the log starts again once the thread copied it");
        }
        drop(cp);
        assert!(s.integrity_check().unwrap());
        assert_eq!(s.customer(c).unwrap().figures.visit_count, sales, "every sale is there");
    }

    #[test]
    fn below_the_limit_commits_leave_the_log_to_the_checkpointer_which_copies_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let mut s = Store::open(&path).unwrap();
        let copies = s.checkpoint_at_commit_under(APP_RULE).unwrap();
        let c = add(&mut s, input("Zoé", "Côté"));
        for _ in 0..50 {
            sale(&mut s, c, 1200);
        }
        let (log, copied) = log_state(&s);
        assert!(log > 0 && copied < log, "the sales are in the log, not yet copied ({log} pages)");
        let cp = Checkpointer::spawn(&path, Duration::from_millis(5)).unwrap();
        let start = std::time::Instant::now();
        while log_state(&s).1 < log {
            assert!(start.elapsed() < Duration::from_secs(20), "the thread copies the log");
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(cp);
        assert_eq!(copies.commits.load(Ordering::Relaxed), 0, "no commit copied anything");
        assert!(s.integrity_check().unwrap());
        assert_eq!(s.customer(c).unwrap().figures.visit_count, 50, "every sale is there");
    }
}
