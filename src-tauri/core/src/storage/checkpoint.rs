//! WAL checkpoints off the till's path. By default SQLite makes the connection whose commit
//! pushes the write-ahead log past 1000 pages copy the log into the database and sync it,
//! inside that commit: every few hundred sales, one sale pays for all of them (about 8 ms on
//! the 100k shop). Here a thread with its own connection runs a `PASSIVE` checkpoint every
//! moment instead, and publishes what it saw in the file's gate (`gate::LogWatch`).
//!
//! SQLite reuses the log from its start only when a writer begins while every frame in it is
//! copied. Writers that never pause (sales back to back, a long run of automatic work) commit
//! again while each passive checkpoint syncs the database file, so that one never catches up,
//! and a log that grows makes every commit's sync slower (the file's size changes with it:
//! 30 % on this machine's disk). A checkpoint from another connection cannot close the gap: it
//! has to wait for the writers' lock, which writers back to back leave free only for
//! microseconds (a `RESTART` from this thread gave up nine times in ten). So the writer closes
//! it: a commit that leaves the log past [`RESET_PAGES`], when the thread's last look copied
//! all but a little of it, copies that little on its own connection (a passive checkpoint from
//! the connection's WAL hook), and the connection's next write begins on a log fully copied,
//! so it starts the log again. One commit in about 750 back to back pays a short copy and a
//! sync of the database file. A log the thread has not caught up with — written at once by an
//! import or a restore, or held by an older reader's snapshot — stays the thread's to copy: a
//! commit would copy all of it while the till waits ([`checkpoint_at_commit`]).
//!
//! Invariants: commits stay durable (`synchronous = FULL` syncs the log at every commit, and
//! checkpoints sync the database file before the log is reused; a checkpoint only moves
//! committed pages into the database file); no checkpoint here waits for a writer or a reader
//! (a commit's checkpoint that finds the thread copying gives up, and the next commit looks
//! again); with one writer at a time the log is reused from its start once everything in it
//! was copied. Two connections writing back to back at once can keep the restart from
//! happening; the log is then held near twice [`RESET_PAGES`] (60 MB, under the 64 MB
//! `journal_size_limit`) by each commit copying what was written since the thread's look.

use crate::error::Result;
use crate::storage::gate::{Gate, LogWatch};
use crate::storage::Store;
use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the checkpointer looks at the log.
pub const DEFAULT_EVERY: Duration = Duration::from_millis(250);

/// A log past this many pages (30 MB of 4 kB pages with their headers) is started again by
/// the writer's own commit (see the module): about once per 750 sales back to back, beyond the
/// 99th percentile of a till's sales, and never while the thread keeps up with the writers.
pub const RESET_PAGES: i64 = 7_500;

/// At most this many pages left uncopied by the thread's last look for a commit to copy them
/// (4 MB: a few milliseconds).
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

/// Rule: a commit that leaves `log_pages` in the log, of which it wrote `written` (as far as
/// its connection can tell), checkpoints the log on its own connection when the log is past the
/// limit, the commit itself was small (a big write, an import's or a restore's, leaves its log
/// to the thread), and
/// - no checkpointer watches the file (`seen` is `None`: nobody else will), or
/// - the checkpointer's last look (`seen`: the log's pages then, and the pages copied) was of
///   this log, not one since started again, and copied all but `max_copy` pages of it, or
/// - the log reached twice the limit although the checkpointer had copied past the limit, and
///   at most the limit is left: the thread cannot catch up with these writers (a slow disk, two
///   writers at once), so the commit copies what they wrote since its look.
///
/// A backlog the checkpointer has not reached (an older reader holds it back) is left to it:
/// a sale would copy it while the till waits.
pub fn checkpoint_at_commit(log_pages: i64, written: i64, seen: Option<(i64, i64)>, rule: CommitRule) -> bool {
    if log_pages < rule.limit || written > rule.max_copy {
        return false;
    }
    let Some((seen_log, copied)) = seen else { return true };
    let left = log_pages - copied;
    let same_log = log_pages >= seen_log;
    let caught_up = left <= rule.max_copy;
    let outrun = log_pages >= 2 * rule.limit && copied >= rule.limit && left <= rule.limit;
    same_log && (caught_up || outrun)
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
        let watch = Gate::for_file(path);
        let handle = std::thread::Builder::new().name("wal-checkpointer".into()).spawn(move || {
            let log = watch.log();
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(every);
                match checkpoint_passive(&conn) {
                    Ok(r) => log.publish(r.log_pages, r.copied_pages),
                    Err(e) => tracing::debug!(error = %e, file = %name.display(), "checkpoint skipped"),
                }
            }
            // From now on the writers' commits copy a long log themselves.
            log.forget();
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
    /// Leave this connection's checkpoints to a [`Checkpointer`]: its commits copy the log only
    /// under [`APP_RULE`] (see [`checkpoint_at_commit`]).
    pub fn leave_checkpoints_to_background(&mut self) -> Result<()> {
        self.checkpoint_at_commit_under(APP_RULE).map(drop)
    }

    /// The same under another rule (the tests use a smaller log).
    /// Returns the count of the commits that copied the log.
    fn checkpoint_at_commit_under(&mut self, rule: CommitRule) -> Result<Arc<AtomicU64>> {
        let watch: Option<Arc<LogWatch>> = self.gate.as_ref().map(Gate::log);
        let copies = Arc::new(AtomicU64::new(0));
        let counted = copies.clone();
        // The log's pages after this connection's last commit: a log smaller now was started
        // again since, and all of it is this commit's (or its neighbours').
        let mut last = 0_i64;
        // Replaces SQLite's own hook (its automatic checkpoint past 1000 pages).
        self.conn.wal_hook(Some(move |wal: &mut Wal, pages: std::ffi::c_int| {
            let pages = i64::from(pages);
            let written = if pages >= last { pages - last } else { pages };
            last = pages;
            let seen = watch.as_ref().and_then(|w| w.seen());
            if checkpoint_at_commit(pages, written, seen, rule) {
                // The commit is durable whatever happens here: a checkpoint that finds the
                // thread copying (busy) or fails is left to the next commit.
                let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
                counted.fetch_add(1, Ordering::Relaxed);
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

    /// The rule of these tests: a log 7.5 times smaller than the app's, a tenth of a look's copy.
    const RULE: CommitRule = CommitRule { limit: 1_000, max_copy: 100 };
    const LIMIT: i64 = RULE.limit;

    #[test]
    fn a_commit_copies_the_log_only_when_the_thread_cannot_and_little_is_left() {
        // A sale writes about ten pages.
        let at = |log, seen| checkpoint_at_commit(log, 10, seen, RULE);
        assert!(!at(LIMIT - 1, None), "a log under the limit is left to the thread's looks");
        assert!(!at(LIMIT - 1, Some((LIMIT - 1, 0))), "whatever the thread has copied of it");
        assert!(at(LIMIT, None), "past the limit with no thread watching, the commit copies it");
        assert!(
            at(LIMIT + 50, Some((LIMIT, LIMIT - 40))),
            "the thread copied all but a little: the commit copies the rest and the log starts again"
        );
        assert!(
            !checkpoint_at_commit(LIMIT + 50, RULE.max_copy + 1, Some((LIMIT, LIMIT - 40)), RULE),
            "a big write (an import's, a restore's) leaves its log to the thread"
        );
        assert!(
            !checkpoint_at_commit(LIMIT, LIMIT, None, RULE),
            "even with no thread watching (the next small commit copies it)"
        );
        assert!(
            !at(LIMIT + 50, Some((200, 150))),
            "a log the thread has not reached (an old reader held it back) is the thread's"
        );
        assert!(
            !at(LIMIT + 50, Some((5 * LIMIT, 5 * LIMIT - 60))),
            "a log started again and filled since the look is not the one the thread copied"
        );
        assert!(
            !at(2 * LIMIT - 1, Some((LIMIT + 400, LIMIT + 400))),
            "writers ahead of the thread by more than a little: the thread may still catch up"
        );
        assert!(
            at(2 * LIMIT, Some((LIMIT + 400, LIMIT + 400))),
            "at twice the limit, the thread outrun although it copied past the limit: the commit copies"
        );
        assert!(!at(3 * LIMIT, Some((LIMIT + 400, LIMIT + 400))), "but never more than the limit at once");
        assert!(!at(3 * LIMIT, Some((LIMIT / 2, LIMIT / 2))), "nor a backlog the thread has not reached");
    }

    /// A shop on `path` with one customer, whose commits copy the log under [`RULE`].
    fn shop(path: &Path) -> (Store, crate::types::CustomerId, Arc<AtomicU64>) {
        let mut s = Store::open(path).unwrap();
        let copies = s.checkpoint_at_commit_under(RULE).unwrap();
        let c = add(&mut s, input("Zoé", "Côté"));
        (s, c, copies)
    }

    /// A checkpointer on `path` looking every 5 ms, once it has published its first look.
    fn watching(path: &Path) -> Checkpointer {
        let cp = Checkpointer::spawn(path, Duration::from_millis(5)).unwrap();
        let log = Gate::for_file(path).log();
        let start = std::time::Instant::now();
        while log.seen().is_none() {
            assert!(start.elapsed() < Duration::from_secs(10), "the checkpointer looks");
            std::thread::sleep(Duration::from_millis(1));
        }
        cp
    }

    /// The largest the log file grew in `n` sales back to back, in pages (4 kB and their
    /// frame header), under [`RULE`] or with no checkpoint at all, with or without a
    /// checkpointer; and how many commits copied the log.
    fn largest_log_in_pages(checkpoints: bool, checkpointer: bool, n: usize) -> (i64, u64) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let (mut s, c, copies) = shop(&path);
        if !checkpoints {
            s.conn().pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        }
        let cp = checkpointer.then(|| watching(&path));
        let wal = dir.path().join("shop.db-wal");
        let mut largest = 0;
        for _ in 0..n {
            sale(&mut s, c, 100);
            largest = largest.max(std::fs::metadata(&wal).unwrap().len());
        }
        drop(cp);
        (largest as i64 / (4096 + 24), copies.load(Ordering::Relaxed))
    }

    #[test]
    fn sales_that_never_pause_still_have_the_log_reused() {
        // Each sale writes about ten pages: 2,000 of them write many times the limit.
        let (never, _) = largest_log_in_pages(false, false, 2000);
        assert!(never > 10 * LIMIT, "the test writes a log many times the limit ({never} pages)");
        let (alone, _) = largest_log_in_pages(true, false, 2000);
        assert!(
            alone < LIMIT + 50,
            "with no thread the commit past the limit copies the log and it starts again: it reached {alone} pages"
        );
        let (with, copies) = largest_log_in_pages(true, true, 2000);
        assert!(copies > 0, "with the thread and sales back to back, the writer still copies the last of the log");
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
        let cp = watching(&path);
        // An older reader holds the log back while 300 sales write three times the limit.
        let mut reader = Connection::open(&path).unwrap();
        let snapshot = reader.transaction().unwrap();
        let before: i64 = snapshot.query_row("SELECT count(*) FROM purchases", [], |r| r.get(0)).unwrap();
        for _ in 0..300 {
            sale(&mut s, c, 100);
        }
        let still: i64 = snapshot.query_row("SELECT count(*) FROM purchases", [], |r| r.get(0)).unwrap();
        assert_eq!(still, before, "the reader still reads the shop as it was");
        drop(snapshot);
        sale(&mut s, c, 100);
        assert_eq!(copies.load(Ordering::Relaxed), 0, "no sale copied the backlog, during the read or after it");
        // One big write at once (an import's): left to the thread too.
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
        assert_eq!(copies.load(Ordering::Relaxed), 0, "nor the import's commit its own log");
        // The thread copies it all between two sales: the next one starts the log again.
        let (start, mut sales) = (std::time::Instant::now(), 301);
        loop {
            std::thread::sleep(Duration::from_millis(20));
            sale(&mut s, c, 100);
            sales += 1;
            let (log, _) = Gate::for_file(&path).log().seen().unwrap();
            if log < 100 {
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
        let (mut s, c, copies) = shop(&path);
        for _ in 0..50 {
            sale(&mut s, c, 1200);
        }
        let log = Gate::for_file(&path).log();
        assert_eq!(log.seen(), None, "no checkpointer has looked yet");
        let cp = watching(&path);
        let (pages, copied) = log.seen().unwrap();
        assert!(pages > 0 && pages < LIMIT, "the sales are in the log, under the limit ({pages} pages)");
        assert_eq!(copied, pages, "the thread's look copied all of it into the database file");
        assert_eq!(copies.load(Ordering::Relaxed), 0, "and no commit copied anything");
        drop(cp);
        assert_eq!(log.seen(), None, "a stopped checkpointer leaves the long logs to the commits again");
        assert!(s.integrity_check().unwrap());
        assert_eq!(s.customer(c).unwrap().figures.visit_count, 50, "every sale is there");
    }
}
