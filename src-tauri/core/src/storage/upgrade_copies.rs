//! The copy of a file taken before an upgrade, while it is written and checked: its temporary
//! name beside the file (`shop.db.v18-20261201T090000Z.bak.<pid>-<random>.tmp`, the `-journal`
//! SQLite gives it while writing, and a `.lock` its writer holds), and the removal of the copies
//! a closed window or a crash abandoned (a copy is as large as the file: gigabytes on a large
//! shop, and a second one would be written beside it at the next upgrade).
//!
//! Invariants: only names of exactly that form, for exactly this file, are ever removed (never a
//! finished `.bak`, never another file's copy); the writer holds an exclusive lock on the copy's
//! `.lock` file from before the copy exists until it is renamed or removed, and the lock goes
//! with its program (closed, killed, the computer stopped): a copy is abandoned when its lock
//! can be taken, whatever the program's number or the machine it ran on. A copy with no lock
//! file (written by an older version) is abandoned once untouched for an hour.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A copy with no lock file, untouched this long, is abandoned.
const ABANDONED_AFTER: Duration = Duration::from_secs(3600);

/// A copy being written: its name, and the lock held for as long as this lives.
pub(super) struct Writing {
    pub tmp: PathBuf,
    lock: PathBuf,
    held: Option<File>,
}

impl Drop for Writing {
    fn drop(&mut self) {
        // Unlocked (the handle closed) before the lock file goes: Windows does not remove an
        // open file. By then the copy has been renamed or removed.
        drop(self.held.take());
        let _ = std::fs::remove_file(&self.lock);
    }
}

/// Start a copy of `dest`: the lock taken first, then the copy's name handed out.
pub(super) fn start_copy(dest: &Path) -> std::io::Result<Writing> {
    let tmp = dest.with_extension(format!("bak.{}-{}.tmp", std::process::id(), rand::random::<u32>()));
    let lock = with_suffix(&tmp, ".lock");
    let file = OpenOptions::new().write(true).create_new(true).open(&lock)?;
    if let Err(e) = file.lock() {
        drop(file);
        let _ = std::fs::remove_file(&lock);
        return Err(e);
    }
    Ok(Writing { tmp, lock, held: Some(file) })
}

/// Remove a copy and its journal, if they are there (its lock goes with its `Writing`).
pub(super) fn remove_copy(tmp: &Path) {
    let _ = std::fs::remove_file(tmp);
    let _ = std::fs::remove_file(with_suffix(tmp, "-journal"));
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// If `file` is a copy of the file named `db_name` (or its journal, or its lock), the length
/// of the copy's own name (up to `.tmp`).
fn copy_name_len(file: &[u8], db_name: &[u8]) -> Option<usize> {
    let rest = file.strip_prefix(db_name)?.strip_prefix(b".v")?;
    let rest = [&b"-journal"[..], b".lock"].iter().find_map(|s| rest.strip_suffix(*s)).unwrap_or(rest);
    let base = rest.strip_suffix(b".tmp")?;
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    // v<version>-<yyyymmdd>T<hhmmss>Z[.<n>].bak.<pid>-<random>
    let (version, after) = split_once(base, b'-')?;
    let (stamp, after) = split_once(after, b'.')?;
    let ok_stamp =
        stamp.len() == 16 && digits(&stamp[..8]) && stamp[8] == b'T' && digits(&stamp[9..15]) && stamp[15] == b'Z';
    let after = match split_once(after, b'.') {
        Some((n, tail)) if digits(n) => tail,
        _ => after,
    };
    let (pid, random) = split_once(after.strip_prefix(b"bak.")?, b'-')?;
    (digits(version) && ok_stamp && digits(pid) && digits(random)).then_some(db_name.len() + 2 + base.len() + 4)
}

fn split_once(s: &[u8], at: u8) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|b| *b == at)?;
    Some((&s[..i], &s[i + 1..]))
}

/// Remove the copies of `db` taken before an upgrade that were never finished: their writer's
/// lock can be taken (or, with no lock file, they have been untouched for an hour at `now`).
/// Called at every start and before every upgrade. Returns how many files went.
pub fn remove_abandoned_copies(db: &Path, now: SystemTime) -> usize {
    let (Some(dir), Some(name)) = (db.parent(), db.file_name()) else { return 0 };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    // Each copy's files (the copy, its journal, its lock), by the copy's name.
    let mut copies: BTreeMap<OsString, Vec<PathBuf>> = BTreeMap::new();
    for e in entries.flatten() {
        let file = e.file_name();
        let bytes = file.as_encoded_bytes();
        let Some(len) = copy_name_len(bytes, name.as_encoded_bytes()) else { continue };
        // SAFETY: `len` ends right after ".tmp", an ASCII boundary of the same encoded bytes.
        let copy = unsafe { OsString::from_encoded_bytes_unchecked(bytes[..len].to_vec()) };
        copies.entry(copy).or_default().push(e.path());
    }
    let mut removed = 0;
    for (copy, files) in copies {
        let lock = with_suffix(&dir.join(&copy), ".lock");
        // Held while the copy's files go, so that no writer can start on them meanwhile.
        let taken = match File::open(&lock) {
            Ok(f) => match f.try_lock() {
                Ok(()) => Some(f),
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Error(err)) => {
                    tracing::warn!(file = %lock.display(), error = %err, "an upgrade's copy left: its lock cannot be read");
                    continue;
                }
            },
            Err(_) => {
                let untouched = |p: &PathBuf| {
                    std::fs::metadata(p)
                        .and_then(|m| m.modified())
                        .is_ok_and(|t| now.duration_since(t).is_ok_and(|d| d >= ABANDONED_AFTER))
                };
                if !files.iter().all(untouched) {
                    continue;
                }
                None
            }
        };
        // The lock file last, once the copy and its journal are gone and the lock let go.
        let (locks, others): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(|p| *p == lock);
        let mut remove = |f: &Path| match std::fs::remove_file(f) {
            Ok(()) => {
                removed += 1;
                tracing::info!(file = %f.display(), "half-written copy from an earlier upgrade removed");
            }
            Err(err) => {
                tracing::warn!(file = %f.display(), error = %err, "half-written copy from an earlier upgrade left")
            }
        };
        others.iter().for_each(|f| remove(f));
        drop(taken);
        locks.iter().for_each(|f| remove(f));
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_names_of_this_files_unfinished_copies_are_recognised() {
        let n = |f: &str| copy_name_len(f.as_bytes(), b"shop.db").map(|l| f[..l].to_string());
        let copy = "shop.db.v18-20261201T090000Z.bak.4242-17.tmp";
        assert_eq!(n(copy).as_deref(), Some(copy));
        assert_eq!(n(&format!("{copy}-journal")).as_deref(), Some(copy), "its journal");
        assert_eq!(n(&format!("{copy}.lock")).as_deref(), Some(copy), "its lock");
        let second = "shop.db.v18-20261201T090000Z.2.bak.4242-17.tmp";
        assert_eq!(n(second).as_deref(), Some(second), "the second copy of a second");
        assert_eq!(n("shop.db.v18-20261201T090000Z.bak"), None, "a finished copy: the merchant's way back");
        assert_eq!(n("shop.db.vieux.v18-20261201T090000Z.bak.4242-17.tmp"), None, "another file's copy");
        assert_eq!(n("shop.db.v18-notes.bak.1-2.tmp"), None, "not a copy's date");
        assert_eq!(n("shop.db.v18-20261201T090000Z.bak.x-17.tmp"), None, "not a program's number");
        assert_eq!(n(&format!("{copy}.old")), None);
        assert_eq!(n("shop.db-wal"), None);
        assert_eq!(n("shop.db"), None);
        assert_eq!(copy_name_len("café.db.v18-20261201T090000Z.bak.9-1.tmp".as_bytes(), "cafe.db".as_bytes()), None);
    }

    fn write(p: &Path) {
        std::fs::write(p, b"x").unwrap();
    }

    #[test]
    fn a_copy_goes_once_its_writers_lock_is_free_and_stays_while_it_is_held_however_old() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shop.db");
        write(&db);
        let finished = dir.path().join("shop.db.v18-20261201T090000Z.bak");
        let other = dir.path().join("other.db.v18-20261201T090000Z.bak.111-1.tmp");
        write(&finished);
        write(&other);
        // A writer still at work (this test holds its lock)…
        let live = start_copy(&finished).unwrap();
        write(&live.tmp);
        // …and one whose program stopped: its lock file is there, nobody holds it.
        let dead = start_copy(&finished).unwrap();
        write(&dead.tmp);
        write(&with_suffix(&dead.tmp, "-journal"));
        let (dead_tmp, dead_lock) = (dead.tmp.clone(), dead.lock.clone());
        let mut dead = dead;
        drop(dead.held.take());
        std::mem::forget(dead);
        assert!(dead_lock.exists());

        let later = SystemTime::now() + Duration::from_secs(10 * 3600);
        assert_eq!(remove_abandoned_copies(&db, later), 3, "the stopped writer's copy, journal and lock");
        assert!(!dead_tmp.exists() && !with_suffix(&dead_tmp, "-journal").exists() && !dead_lock.exists());
        assert!(
            live.tmp.exists(),
            "a copy whose writer holds its lock stays, even untouched for ten hours (its check reads it)"
        );
        assert!(
            finished.exists() && other.exists() && db.exists(),
            "finished copies, other files' and the file itself stay"
        );
        let live_tmp = live.tmp.clone();
        drop(live);
        assert!(live_tmp.exists() && !with_suffix(&live_tmp, ".lock").exists(), "a writer takes its lock file away");
    }

    #[test]
    fn a_copy_with_no_lock_file_goes_once_untouched_for_an_hour() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shop.db");
        let copy = dir.path().join("shop.db.v18-20261201T090000Z.bak.111-1.tmp");
        write(&copy);
        assert_eq!(remove_abandoned_copies(&db, SystemTime::now() + Duration::from_secs(60)), 0);
        assert!(copy.exists(), "touched a minute ago: maybe an older version's, still written");
        assert_eq!(remove_abandoned_copies(&db, SystemTime::now() + Duration::from_secs(7200)), 1);
        assert!(!copy.exists());
    }
}
