//! SQLite b-trees read straight from the file, a level at a time, each level's pages in the
//! order they sit in the file: the read-ahead of a shop too large to read whole (`warm`).
//! Walked through SQLite (`dbstat`), a b-tree is read in key order, which on a file written
//! day by day is a random order on the disk: 1 GiB of the 10x shop's till b-trees took 15–20 s
//! that way, while the whole 6.7 GB file read from start to end took 11 s.
//!
//! How: each b-tree from its root page; an interior page (types 2 and 5 of SQLite's file
//! format) names its children (a 4-byte page number at the start of each cell, and the
//! right-most child in its header); the next level is those children sorted by page number
//! and read in runs (neighbours a few pages apart are read in one go, the pages between them
//! too). A leaf names nothing, so the walk ends with the leaves. Overflow pages (a value too
//! long for its page) are not followed.
//!
//! Invariants: only reads, never through SQLite's locks, so what it reads may be changing (a
//! checkpoint writing pages meanwhile): a page number outside the file is passed over, a level
//! is never walked twice (at most `MAX_DEPTH` levels), and no more than the budget is read,
//! so a page misread costs a wasted read, never a wrong answer: only the system's cache is
//! filled, and SQLite reads every page again through its own locks.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// Deeper than any b-tree of a SQLite file of this app's size can be (a 4 KiB page holds at
/// least four children: 2^40 pages is far past the largest file SQLite can hold).
const MAX_DEPTH: usize = 40;
/// Pages this close to each other are read in one go, the pages between them too: one read of
/// 12 KiB costs less than two reads on every disk.
const GAP_PAGES: u32 = 2;
/// The longest single read.
const MAX_RUN_PAGES: u32 = 256;
/// The largest piece of read-ahead asked of the system at once (see `advise`).
#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
const ADVICE_BYTES: i64 = 128 * 1024;
/// SQLite's lock bytes start at this offset of the file (its "pending byte"): the page holding
/// them is never read, on Windows a lock there makes a read of it fail.
const LOCK_BYTE: u64 = 0x4000_0000;

/// What a walk read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Walked {
    /// B-trees read whole (the last one may have been cut short by the budget and is counted).
    pub btrees: u32,
    pub pages: u64,
}

/// The child page numbers named by a b-tree page (none for a leaf or a page that is not a
/// b-tree page). `header_at` is 100 on page 1 (after the file's header), else 0.
pub fn child_pages(page: &[u8], header_at: usize) -> Vec<u32> {
    let Some(&kind) = page.get(header_at) else { return Vec::new() };
    if kind != 2 && kind != 5 {
        return Vec::new();
    }
    let u16_at = |i: usize| page.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize);
    let u32_at = |i: usize| page.get(i..i + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let Some(cells) = u16_at(header_at + 3) else { return Vec::new() };
    // A cell sits after the header and the array of pointers to the cells, never inside them.
    let content_from = header_at + 12 + 2 * cells;
    let mut out = Vec::with_capacity(cells.min(page.len() / 4) + 1);
    for c in 0..cells {
        let cell = u16_at(header_at + 12 + 2 * c).filter(|at| *at >= content_from);
        if let Some(child) = cell.and_then(u32_at) {
            out.push(child);
        }
    }
    out.extend(u32_at(header_at + 8));
    out
}

/// Read the b-trees whose root pages are `roots`, one after the other in that order, each a
/// level at a time in file order, until `budget` pages read in all (the pages between two of a
/// run's pages included; the b-tree that reaches it is read only that far). A level of leaves,
/// known from its first page, is handed to the system to read ahead (`advise`, Linux) rather
/// than read here one run after the other: the disk then has many reads in flight, not one.
/// A run that cannot be read is passed over (on Windows, the page SQLite locks is never read:
/// no run crosses it).
pub fn read_btrees(file: &File, page_size: u32, roots: &[u32], budget: u64) -> io::Result<Walked> {
    let page_size = page_size.max(512);
    let page_count = u32::try_from(file.metadata()?.len() / u64::from(page_size)).unwrap_or(u32::MAX);
    // The page holding SQLite's lock bytes (offset 1 GiB), which no run reads across.
    let lock_page = u32::try_from(LOCK_BYTE / u64::from(page_size) + 1).unwrap_or(u32::MAX);
    let in_file = |p: &u32| (1..=page_count).contains(p) && *p != lock_page;
    // This handle's own reads are not to be read ahead by the system (its pages are chosen).
    no_read_ahead(file);
    let mut w = Walked::default();
    let mut buf = Vec::new();
    for &root in roots {
        if w.pages >= budget {
            break;
        }
        if !in_file(&root) {
            continue;
        }
        w.btrees += 1;
        let mut level = vec![root];
        for _ in 0..MAX_DEPTH {
            level.sort_unstable();
            level.dedup();
            if level.is_empty() || w.pages >= budget {
                break;
            }
            let mut next: Vec<u32> = Vec::new();
            let mut leaves = false;
            let mut advised = None;
            let mut i = 0;
            while i < level.len() && w.pages < budget {
                // A run: the next pages while they are near, the read stays short, it does not
                // cross the lock page, and the budget holds all it reads.
                let left = budget - w.pages;
                let first = level[i];
                let mut j = i + 1;
                while j < level.len()
                    && level[j] - level[j - 1] <= GAP_PAGES
                    && level[j] - first < MAX_RUN_PAGES
                    && u64::from(level[j] - first) < left
                    && !(first..=level[j]).contains(&lock_page)
                {
                    j += 1;
                }
                let len = level[j - 1] - first + 1;
                w.pages += u64::from(len);
                if leaves && advise(file, page_size, first, len) {
                    advised = Some((first, len));
                } else if read_pages(file, page_size, first, len, &mut buf).is_ok() {
                    for &p in &level[i..j] {
                        let at = (p - first) as usize * page_size as usize;
                        let Some(page) = buf.get(at..at + page_size as usize) else { continue };
                        let header_at = if p == 1 { 100 } else { 0 };
                        if i == 0 && p == first {
                            // Every page of a level is at the same depth: its first says which.
                            leaves = matches!(page.get(header_at), Some(10 | 13));
                        }
                        next.extend(child_pages(page, header_at).into_iter().filter(in_file));
                    }
                    // Garbage pages can name thousands of children each: the next level is
                    // kept to distinct pages of the file.
                    if next.len() > 2 * page_count as usize {
                        next.sort_unstable();
                        next.dedup();
                    }
                }
                i = j;
            }
            if let Some((first, len)) = advised {
                // The last run asked for, read here, so the walk does not end long before the
                // system has read what it was asked (reads may finish in another order).
                let _ = read_pages(file, page_size, first, len, &mut buf);
            }
            level = next;
        }
    }
    Ok(w)
}

/// Ask the system to read `len` pages from page `first` into its cache, without waiting for
/// them; false where it cannot be asked (the caller reads them itself). Asked in pieces of
/// `ADVICE_BYTES`: Linux reads no more than the disk's own read-ahead size (often 128 KiB) of
/// each request and still says yes.
#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
fn advise(file: &File, page_size: u32, first: u32, len: u32) -> bool {
    use std::os::fd::AsRawFd;
    let start = i64::from(first - 1) * i64::from(page_size);
    let end = start + i64::from(len) * i64::from(page_size);
    let mut at = start;
    while at < end {
        let piece = (end - at).min(ADVICE_BYTES);
        // SAFETY: a plain system call on a descriptor this function borrows for its duration.
        if unsafe { libc::posix_fadvise(file.as_raw_fd(), at, piece, libc::POSIX_FADV_WILLNEED) } != 0 {
            return false;
        }
        at += piece;
    }
    true
}

#[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
fn no_read_ahead(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: as in `advise`; the advice is this open file's own, not SQLite's handles'.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64")))]
fn no_read_ahead(_file: &File) {}

#[cfg(not(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64")))]
fn advise(_file: &File, _page_size: u32, _first: u32, _len: u32) -> bool {
    false
}

/// `len` pages from page `first` (1-based) into `buf`; a file that ends sooner gives fewer.
fn read_pages(mut file: &File, page_size: u32, first: u32, len: u32, buf: &mut Vec<u8>) -> io::Result<()> {
    let bytes = len as usize * page_size as usize;
    buf.clear();
    buf.resize(bytes, 0);
    file.seek(SeekFrom::Start(u64::from(first - 1) * u64::from(page_size)))?;
    let mut filled = 0;
    while filled < bytes {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Store;
    use crate::testutil;
    use std::collections::BTreeSet;

    /// Every page of each b-tree but its overflow pages, as SQLite itself lists them.
    fn dbstat_pages(store: &Store, name: &str) -> BTreeSet<u32> {
        let mut st = store
            .conn()
            .prepare("SELECT pageno FROM dbstat('main') WHERE name = ?1 AND pagetype != 'overflow'")
            .unwrap();
        st.query_map([name], |r| r.get::<_, u32>(0)).unwrap().map(|r| r.unwrap()).collect()
    }

    fn root(store: &Store, name: &str) -> u32 {
        store.conn().query_row("SELECT rootpage FROM sqlite_schema WHERE name = ?1", [name], |r| r.get(0)).unwrap()
    }

    /// The walk's own list of the pages it found, by following the same rules level by level.
    fn walked_pages(file: &File, page_size: u32, root: u32) -> BTreeSet<u32> {
        let mut all = BTreeSet::new();
        let mut level = vec![root];
        let mut buf = Vec::new();
        while !level.is_empty() {
            let mut next = Vec::new();
            for p in level {
                all.insert(p);
                read_pages(file, page_size, p, 1, &mut buf).unwrap();
                next.extend(child_pages(&buf, if p == 1 { 100 } else { 0 }));
            }
            level = next;
        }
        all
    }

    #[test]
    fn the_walk_finds_every_page_sqlite_lists_for_each_btree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let mut s = Store::open_with_clock(&path, testutil::clock()).unwrap();
        s.generate_demo(crate::demo::DemoSpec { customers: 600, purchases: 5000, seed: 5 }).unwrap();
        s.conn().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
        let file = File::open(&path).unwrap();
        let page_size: u32 = s.conn().query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        let mut deep = 0;
        for name in
            ["sqlite_schema", "customers", "purchases", "purchases_by_customer", "points_ledger_by_customer", "cards"]
        {
            let r = if name == "sqlite_schema" { 1 } else { root(&s, name) };
            let expected = dbstat_pages(&s, name);
            assert!(!expected.is_empty(), "{name} has pages");
            assert_eq!(walked_pages(&file, page_size, r), expected, "{name}: the walk reaches exactly SQLite's pages");
            deep += usize::from(expected.len() > 1);
        }
        assert!(deep >= 4, "most of these b-trees have interior pages, so children are followed: {deep}");
    }

    #[test]
    fn the_walk_reads_each_btree_whole_in_turn_and_stops_at_its_budget() {
        // (What a walk reads is counted as the pages read, the few between two of a b-tree's
        // pages included, so the budget bounds what lands in the cache.)
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let mut s = Store::open_with_clock(&path, testutil::clock()).unwrap();
        s.generate_demo(crate::demo::DemoSpec { customers: 300, purchases: 3000, seed: 9 }).unwrap();
        s.conn().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
        let file = File::open(&path).unwrap();
        let page_size: u32 = s.conn().query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        let names = ["customers_by_email", "purchases_by_customer"];
        let roots: Vec<u32> = names.iter().map(|n| root(&s, n)).collect();
        let sizes: Vec<u64> = names.iter().map(|n| dbstat_pages(&s, n).len() as u64).collect();
        let w = read_btrees(&file, page_size, &roots, u64::MAX).unwrap();
        assert_eq!(w.btrees, 2);
        assert!(w.pages >= sizes[0] + sizes[1], "every page of both, and the gaps read with them: {w:?} {sizes:?}");
        assert!(w.pages <= 3 * (sizes[0] + sizes[1]), "at most two pages between two of theirs: {w:?} {sizes:?}");
        for budget in [1, 3, sizes[0] + 1] {
            let w = read_btrees(&file, page_size, &roots, budget).unwrap();
            assert_eq!(w.pages, budget, "the budget is what is read, never more");
        }
        assert_eq!(
            read_btrees(&file, page_size, &roots, 3).unwrap().btrees,
            1,
            "it stops the walk inside the first b-tree"
        );
    }

    #[test]
    fn a_page_that_is_not_what_it_seems_is_passed_over() {
        assert!(child_pages(&[], 0).is_empty(), "an empty read");
        assert!(child_pages(&[13; 4096], 0).is_empty(), "a leaf names no child");
        // An interior page with a cell pointer past its end and one into its own header.
        let mut page = vec![0u8; 64];
        page[0] = 5;
        page[3..5].copy_from_slice(&3u16.to_be_bytes());
        page[8..12].copy_from_slice(&7u32.to_be_bytes());
        page[12..14].copy_from_slice(&40u16.to_be_bytes());
        page[40..44].copy_from_slice(&3u32.to_be_bytes());
        page[14..16].copy_from_slice(&60000u16.to_be_bytes());
        page[16..18].copy_from_slice(&2u16.to_be_bytes());
        assert_eq!(child_pages(&page, 0), vec![3, 7], "the readable child and the right-most one; the rest ignored");
        page[3..5].copy_from_slice(&200u16.to_be_bytes());
        assert_eq!(child_pages(&page, 0), vec![7], "more cells claimed than the page holds: only the right-most child");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk");
        std::fs::write(&path, vec![5u8; 4096 * 3]).unwrap();
        let file = File::open(&path).unwrap();
        let w = read_btrees(&file, 4096, &[1, 2, 99], 1000).unwrap();
        assert!(w.pages <= 1000, "a file of garbage is read within the budget: {w:?}");
    }

    /// The read-ahead asked of the system brings in every page of the run, from its first to
    /// its last (checked with `mincore` on a file whose pages were first given back).
    #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
    #[test]
    fn the_system_is_asked_for_exactly_the_run() {
        use std::os::fd::AsRawFd;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pages");
        std::fs::write(&path, vec![7u8; 4096 * 600]).unwrap();
        let file = File::open(&path).unwrap();
        file.sync_all().unwrap();
        let fd = file.as_raw_fd();
        let resident = || -> Vec<bool> {
            let mut v = vec![0u8; 600];
            // SAFETY: a read-only shared mapping of the whole file, unmapped before returning;
            // `mincore` writes one byte per page into a vector of that many bytes.
            unsafe {
                let m = libc::mmap(std::ptr::null_mut(), 4096 * 600, libc::PROT_READ, libc::MAP_SHARED, fd, 0);
                assert_ne!(m, libc::MAP_FAILED);
                assert_eq!(libc::mincore(m, 4096 * 600, v.as_mut_ptr()), 0);
                libc::munmap(m, 4096 * 600);
            }
            v.into_iter().map(|b| b & 1 == 1).collect()
        };
        // SAFETY: a plain system call on this test's own descriptor.
        unsafe { libc::posix_fadvise(fd, 0, 0, libc::POSIX_FADV_DONTNEED) };
        if resident().iter().any(|r| *r) {
            // The system kept the pages (another reader of the file): nothing to conclude.
            return;
        }
        // Pages 101..=400 (1-based): 300 pages, more than one piece of advice.
        assert!(advise(&file, 4096, 101, 300));
        let mut r = resident();
        for _ in 0..200 {
            if r[100..400].iter().all(|x| *x) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            r = resident();
        }
        assert!(r[100..400].iter().all(|x| *x), "every page of the run is read");
        assert!(!r[..100].iter().any(|x| *x), "nothing before its first page");
    }
}
