//! The till's pages read once after start, so the first look-ups at the till do not wait for
//! the disk. After the computer starts, none of the shop's file is in the system's cache, and
//! a look-up with its balance reads a page of about twenty b-trees (the customer, their card,
//! points, stamps, tier, vouchers, the programme…): on the 100k-customer shop the first
//! look-ups took 2.7 ms at the median and 49 ms at p99, against 0.34 and 1.1 ms once read.
//!
//! How: a file up to `WHOLE_FILE_MAX` is read whole, from start to end (the disk's fastest
//! read: 1.6 s for the 100k shop's 656 MB here, against 17 s for its till's b-trees walked page
//! by page); a larger one has only the till's b-trees read (`TILL_BTREES`), until `MAX_BYTES`,
//! so a very large file does not push the rest of the system's cache out, each b-tree a level
//! at a time in file order (`btree_walk`: SQLite's own walk, in key order, read 1 GiB of the
//! 10x shop in 15–20 s of random reads). Either way the pages land in the system's cache,
//! shared by every connection of the app.
//!
//! Invariants: only reads, on a handle of its own that is never closed (`keep_open`) and, for
//! the root pages, a read-only connection of its own; `TILL_BTREES` names every b-tree a till
//! look-up with its balance reads, checked by a test that counts the page-cache misses of
//! look-ups after SQLite's own walk of the list (none), while the walk in file order is
//! checked to reach the same pages (`btree_walk`'s tests); a b-tree the file does not have (an
//! older schema) is passed over.

use super::btree_walk;
use crate::error::Result;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::Path;

/// The b-trees (tables and indexes) a look-up at the till and the customer's loyalty status
/// read, the small ones first and the big tables last, in the order a partial read-ahead
/// (`MAX_BYTES`) helps most: the shop's settings and programme, then the indexes that find the
/// customer and their lines, then the rows. Kept honest by
/// `the_till_reads_nothing_after_the_warm_up_that_it_did_not_warm`.
pub const TILL_BTREES: &[&str] = &[
    "settings",
    "loyalty_programmes",
    "rewards",
    "tier_events",
    "vouchers",
    "voucher_uses",
    "voucher_cancellations",
    "sqlite_autoindex_stamp_claim_returns_1",
    "sqlite_autoindex_cards_1",
    "cards_by_customer",
    "cards",
    "customers_by_phone",
    "customers_by_email",
    "tier_events_by_customer",
    "vouchers_by_customer",
    "voucher_uses_by_voucher",
    "redemptions_by_customer",
    "loyalty_sales_by_customer",
    "stamps_ledger_by_customer",
    "stamps_redeemed_by_customer",
    "points_ledger_by_customer",
    "purchases_by_customer",
    "customers",
    // Read only when the tiers count points earned (their date and kind are in no index).
    "points_ledger",
];

/// A file up to this size is read whole; past it, the till's b-trees only, up to `MAX_BYTES`.
pub const WHOLE_FILE_MAX: u64 = 1 << 30;
/// Past this, the rest of the till's b-trees is left to the disk: the system's cache is shared
/// with everything the merchant runs.
pub const MAX_BYTES: u64 = 1 << 30;

/// What a warm-up read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Warmed {
    /// The whole file was read (`WHOLE_FILE_MAX`), not its b-trees one by one.
    pub whole_file: bool,
    pub btrees: u32,
    pub bytes: u64,
}

/// Bring the till's pages of the shop's file at `path` into the system's cache: the whole file
/// when it is small enough (`WHOLE_FILE_MAX`), else the till's b-trees
/// (`warm_till_btrees_in_file_order`). Nothing is created, migrated or written: a file that is
/// not there is left so.
pub fn warm_till_pages(path: &Path) -> Result<Warmed> {
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Warmed::default()),
        Err(e) => return Err(e.into()),
    };
    if len > WHOLE_FILE_MAX {
        return warm_till_btrees_in_file_order(path);
    }
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    let read = loop {
        match std::io::Read::read(&mut file, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => bytes += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    keep_open(file);
    read?;
    Ok(Warmed { whole_file: true, btrees: 0, bytes })
}

/// Never close a handle on a database file SQLite has open in this process: on Linux and
/// macOS, closing any descriptor of a file releases every lock the process holds on it
/// (POSIX advisory locks belong to the process), SQLite's included. Another process (a second
/// window, `comptoir-cli`) could then take the file for its own alone and remove the log under
/// the app. The handle is kept for the life of the process instead, as SQLite keeps its own;
/// one per read-ahead. Windows' locks belong to the handle: closing it there is safe.
fn keep_open(file: std::fs::File) {
    #[cfg(unix)]
    {
        static KEPT: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());
        KEPT.lock().unwrap_or_else(|e| e.into_inner()).push(file);
    }
    #[cfg(not(unix))]
    drop(file);
}

/// Read the till's b-trees (`TILL_BTREES`), each whole, in turn, from the file itself, each
/// level in file order (`btree_walk`), until `MAX_BYTES` in all. Their root pages come from a
/// read-only connection of its own.
fn warm_till_btrees_in_file_order(path: &Path) -> Result<Warmed> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let page_size: u32 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let mut root = conn.prepare("SELECT rootpage FROM sqlite_schema WHERE name = ?1 AND rootpage > 0")?;
    let mut roots = Vec::with_capacity(TILL_BTREES.len());
    for name in TILL_BTREES {
        // A b-tree the file does not have (an older schema) is passed over.
        if let Some(r) = root.query_row([name], |r| r.get::<_, u32>(0)).optional()? {
            roots.push(r);
        }
    }
    drop(root);
    drop(conn);
    // Kept open even if the walk panicked: closing it would release SQLite's locks (`keep_open`).
    struct Kept(Option<std::fs::File>);
    impl Drop for Kept {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                keep_open(f);
            }
        }
    }
    let file = Kept(Some(std::fs::File::open(path)?));
    let Some(f) = &file.0 else { return Ok(Warmed::default()) };
    let walked = btree_walk::read_btrees(f, page_size, &roots, MAX_BYTES / u64::from(page_size.max(512)))?;
    Ok(Warmed { whole_file: false, btrees: walked.btrees, bytes: walked.pages * u64::from(page_size) })
}

/// Read every page of the till's b-trees (`TILL_BTREES`), each whole, in turn, through `conn`
/// (SQLite's own walk, in key order), until `MAX_BYTES` in all: the reference the list is
/// checked against, since it fills the connection's own cache, which counts what it misses.
#[cfg(test)]
fn warm_till_btrees(conn: &Connection) -> Result<Warmed> {
    let page_size: u64 = conn.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))? as u64;
    let budget_pages = (MAX_BYTES / page_size.max(1)) as i64;
    let mut pages_read = 0i64;
    let mut w = Warmed::default();
    // `dbstat` walks one b-tree page by page when its name is given, each page through the
    // pager like any read, one row each: the LIMIT stops the walk itself.
    let mut st = conn.prepare("SELECT count(*) FROM (SELECT 1 FROM dbstat('main') WHERE name = ?1 LIMIT ?2)")?;
    let mut exists = conn.prepare("SELECT 1 FROM sqlite_schema WHERE name = ?1")?;
    for name in TILL_BTREES {
        let left = budget_pages - pages_read;
        if left <= 0 {
            break;
        }
        if !exists.exists([name])? {
            continue;
        }
        let pages: i64 = st.query_row(rusqlite::params![name, left], |r| r.get(0))?;
        w.btrees += 1;
        pages_read += pages;
    }
    w.bytes = pages_read.max(0) as u64 * page_size;
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Store;
    use crate::testutil;

    /// Pages this connection had to read from the file (not from its own cache) since the
    /// last call.
    fn misses(store: &Store) -> i64 {
        let (mut cur, mut high) = (0, 0);
        // SAFETY: the handle is this live connection's, used on its own thread for one call
        // that only reads its counters; the two pointers are to locals that outlive it.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_db_status(
                store.conn().handle(),
                rusqlite::ffi::SQLITE_DBSTATUS_CACHE_MISS,
                &mut cur,
                &mut high,
                1,
            )
        };
        assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
        i64::from(cur)
    }

    /// Look up each card, phone and email at the till, with the balance, as the till does.
    fn till_lookups(store: &Store, queries: &[String]) {
        for q in queries {
            let m = store.till_lookup(q).unwrap().unwrap_or_else(|| panic!("{q} designates a customer"));
            store.loyalty_status(m.customer.id).unwrap();
        }
    }

    #[test]
    fn the_till_reads_nothing_after_the_warm_up_that_it_did_not_warm() {
        the_till_reads_only_what_was_warmed(crate::loyalty::TierBasis::Spend);
    }

    #[test]
    fn with_tiers_on_points_earned_the_till_reads_nothing_it_did_not_warm() {
        the_till_reads_only_what_was_warmed(crate::loyalty::TierBasis::Points);
    }

    fn the_till_reads_only_what_was_warmed(basis: crate::loyalty::TierBasis) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let clock = testutil::clock();
        {
            let mut s = Store::open_with_clock(&path, clock.clone()).unwrap();
            s.generate_demo(crate::demo::DemoSpec { customers: 400, purchases: 3000, seed: 11 }).unwrap();
            let mut p = s.loyalty_programme().unwrap();
            p.tiers.as_mut().expect("the demo's programme has tiers").basis = basis;
            s.save_loyalty_programme(&p, None).unwrap();
        }
        let queries: Vec<String> = {
            let s = Store::open_with_clock(&path, clock.clone()).unwrap();
            let mut st = s
                .conn()
                .prepare(
                    "SELECT k.number, c.phone_e164, c.email FROM cards k JOIN customers c ON c.id = k.customer_id
                     WHERE k.status = 'active' AND c.merged_into IS NULL AND c.archived_at IS NULL ORDER BY k.id",
                )
                .unwrap();
            let rows: Vec<(String, Option<String>, Option<String>)> =
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(|r| r.unwrap()).collect();
            let mut q: Vec<String> = rows.iter().step_by(3).map(|r| r.0.clone()).collect();
            q.extend(rows.iter().skip(1).step_by(7).filter_map(|r| r.1.clone()));
            q.extend(rows.iter().skip(2).step_by(7).filter_map(|r| r.2.clone()));
            q
        };
        assert!(queries.len() > 100, "cards, phones and emails to look up: {}", queries.len());
        // Without the warm-up, the look-ups read pages from the file: the check can fail.
        let cold = Store::open_with_clock(&path, clock.clone()).unwrap();
        misses(&cold);
        till_lookups(&cold, &queries);
        assert!(misses(&cold) > 0, "a fresh connection reads the till's pages from the file");
        drop(cold);

        let s = Store::open_with_clock(&path, clock.clone()).unwrap();
        let w = warm_till_btrees(s.conn()).unwrap();
        assert_eq!(w.btrees as usize, TILL_BTREES.len(), "every b-tree of the list exists in this schema");
        assert!(w.bytes > 0 && w.bytes.is_multiple_of(4096) && !w.whole_file);
        misses(&s);
        till_lookups(&s, &queries);
        let left = misses(&s);
        if left > 0 {
            // Name the b-trees that would close the gap, for whoever changed the till's reads.
            let all: Vec<String> = s
                .conn()
                .prepare("SELECT name FROM sqlite_schema WHERE rootpage > 0")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let mut needed = Vec::new();
            for name in all.iter().filter(|n| !TILL_BTREES.contains(&n.as_str())) {
                let t = Store::open_with_clock(&path, clock.clone()).unwrap();
                warm_till_btrees(t.conn()).unwrap();
                let _: i64 = t
                    .conn()
                    .query_row("SELECT pageno FROM dbstat('main', 1) WHERE name = ?1", [name], |r| r.get(0))
                    .unwrap();
                misses(&t);
                till_lookups(&t, &queries);
                if misses(&t) < left {
                    needed.push(name.clone());
                }
            }
            panic!("the till read {left} pages the warm-up left out; b-trees that would close the gap: {needed:?}");
        }
    }

    #[test]
    fn the_walk_in_file_order_reads_every_till_btree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let mut s = Store::open_with_clock(&path, testutil::clock()).unwrap();
        s.generate_demo(crate::demo::DemoSpec { customers: 300, purchases: 2000, seed: 3 }).unwrap();
        s.conn().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
        let pages: i64 = s
            .conn()
            .query_row(
                &format!(
                    "SELECT count(*) FROM dbstat('main') WHERE pagetype != 'overflow' AND name IN ({})",
                    TILL_BTREES.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(",")
                ),
                [],
                |r| r.get(0),
            )
            .unwrap();
        let w = warm_till_btrees_in_file_order(&path).unwrap();
        assert_eq!(w.btrees as usize, TILL_BTREES.len(), "every b-tree of the list, from its root");
        assert!(!w.whole_file && w.bytes >= pages as u64 * 4096, "at least every page of them: {w:?}, {pages} pages");
        assert!(w.bytes <= std::fs::metadata(&path).unwrap().len(), "no page read twice: {w:?}");
        s.conn().execute_batch("DROP INDEX loyalty_sales_by_customer").unwrap();
        assert_eq!(
            warm_till_btrees_in_file_order(&path).unwrap().btrees as usize,
            TILL_BTREES.len() - 1,
            "a b-tree the file lacks is passed over"
        );
    }

    #[test]
    fn the_walk_passes_over_what_an_older_file_lacks() {
        let (s, _) = testutil::store();
        s.conn().execute_batch("DROP INDEX loyalty_sales_by_customer").unwrap();
        let w = warm_till_btrees(s.conn()).unwrap();
        assert_eq!(w.btrees as usize, TILL_BTREES.len() - 1, "a b-tree the file lacks is passed over, the rest read");
    }

    #[test]
    fn a_shop_file_of_ordinary_size_is_read_whole_and_a_missing_one_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        assert_eq!(warm_till_pages(&path).unwrap(), Warmed::default(), "no file, nothing read");
        assert!(!path.exists(), "the read-ahead never creates the shop's file");
        let s = Store::open_with_clock(&path, testutil::clock()).unwrap();
        let w = warm_till_pages(&path).unwrap();
        assert!(w.whole_file, "a small file is read from start to end, the disk's fastest read");
        assert_eq!(w.bytes, std::fs::metadata(&path).unwrap().len(), "every byte of it");
        drop(s);
    }

    /// A second process opening the same file and closing it must not be able to take it for
    /// its own while this one has it open: the read-ahead's handle closed would have released
    /// this process's SQLite locks (POSIX locks belong to the process).
    #[cfg(unix)]
    #[test]
    fn the_read_ahead_leaves_sqlites_locks_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let s = Store::open_with_clock(&path, testutil::clock()).unwrap();
        // A read transaction on this connection holds its shared lock on the file.
        s.conn().execute_batch("BEGIN; SELECT count(*) FROM customers;").unwrap();
        warm_till_pages(&path).unwrap();
        // The path of a file too large to read whole too: a connection opened and dropped for
        // the root pages, and a handle of its own on the file.
        warm_till_btrees_in_file_order(&path).unwrap();
        // Another process (a child, so the locks are truly another owner's) asks for an
        // exclusive lock, as SQLite does at its last close before removing the log.
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(
                "import fcntl,sys,os\nfd=os.open(sys.argv[1],os.O_RDWR)\n\
                 try:\n fcntl.lockf(fd,fcntl.LOCK_EX|fcntl.LOCK_NB,510,1073741826,0)\n print('taken')\n\
                 except OSError:\n print('refused')",
            )
            .arg(&path)
            .output();
        let Ok(out) = out else { return };
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if said.is_empty() {
            // No Python here to play the other process: nothing to conclude.
            return;
        }
        assert_eq!(said, "refused", "this process's shared lock is still held after the read-ahead");
        s.conn().execute_batch("COMMIT").unwrap();
    }
}
