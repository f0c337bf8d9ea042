//! The copy of a file taken before an upgrade, while it is written and checked: its temporary
//! name beside the file (`shop.db.v18-20261201T090000Z.bak.<pid>-<random>.tmp`, and the
//! `-journal` SQLite gives it while writing), and the removal of the copies a closed window or
//! a crash abandoned (a copy is as large as the file: gigabytes on a large shop).
//!
//! Invariants: only names of exactly that form, for exactly this file, are ever removed (never a
//! finished `.bak`, never another file's copy); a copy whose program still runs is kept however
//! old it is (its check may leave it untouched for long); on systems where that cannot be
//! asked, a copy is kept until untouched for an hour.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Where a system cannot say whether a program runs: a copy untouched this long is abandoned.
const ABANDONED_AFTER: Duration = Duration::from_secs(3600);

/// The temporary name of the copy of `dest` this process writes.
pub(super) fn temporary_name(dest: &Path) -> PathBuf {
    dest.with_extension(format!("bak.{}-{}.tmp", std::process::id(), rand::random::<u32>()))
}

/// Remove a copy and its journal, if they are there.
pub(super) fn remove_copy(tmp: &Path) {
    let _ = std::fs::remove_file(tmp);
    let mut journal = tmp.as_os_str().to_owned();
    journal.push("-journal");
    let _ = std::fs::remove_file(PathBuf::from(journal));
}

/// The process that wrote the copy named `file` (this file's, by its name `db_name`), if the
/// name is exactly that of such a copy.
fn writer_of(file: &[u8], db_name: &[u8]) -> Option<u32> {
    let rest = file.strip_prefix(db_name)?.strip_prefix(b".v")?;
    let rest = rest.strip_suffix(b"-journal").unwrap_or(rest).strip_suffix(b".tmp")?;
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    // v<version>-<yyyymmdd>T<hhmmss>Z[.<n>].bak.<pid>-<random>
    let (version, rest) = split_once(rest, b'-')?;
    let (stamp, rest) = split_once(rest, b'.')?;
    let ok_stamp =
        stamp.len() == 16 && digits(&stamp[..8]) && stamp[8] == b'T' && digits(&stamp[9..15]) && stamp[15] == b'Z';
    let rest = match split_once(rest, b'.') {
        Some((n, after)) if digits(n) => after,
        _ => rest,
    };
    let (pid, random) = split_once(rest.strip_prefix(b"bak.")?, b'-')?;
    if !(digits(version) && ok_stamp && digits(random)) {
        return None;
    }
    std::str::from_utf8(pid).ok()?.parse().ok()
}

fn split_once(s: &[u8], at: u8) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|b| *b == at)?;
    Some((&s[..i], &s[i + 1..]))
}

/// Whether the program `pid` still runs: `Some` where the system can say, `None` elsewhere.
fn running(pid: u32) -> Option<bool> {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return Some(false) };
        // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
        let r = unsafe { libc::kill(pid, 0) };
        Some(r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        None
    }
}

/// Remove the copies of `db` taken before an upgrade that were never finished: their program no
/// longer runs (or, where that cannot be asked, they have been untouched for an hour at `now`).
/// Called at every start and before every upgrade. Returns how many files went.
pub fn remove_abandoned_copies(db: &Path, now: SystemTime) -> usize {
    remove_abandoned(db, now, running)
}

fn remove_abandoned(db: &Path, now: SystemTime, running: impl Fn(u32) -> Option<bool>) -> usize {
    let (Some(dir), Some(name)) = (db.parent(), db.file_name()) else { return 0 };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = writer_of(file.as_encoded_bytes(), name.as_encoded_bytes()) else { continue };
        let abandoned = match running(pid) {
            Some(alive) => !alive,
            None => e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).is_ok_and(|d| d >= ABANDONED_AFTER)),
        };
        if !abandoned {
            continue;
        }
        match std::fs::remove_file(e.path()) {
            Ok(()) => {
                removed += 1;
                tracing::info!(file = %e.path().display(), "half-written copy from an earlier upgrade removed");
            }
            Err(err) => {
                tracing::warn!(file = %e.path().display(), error = %err, "half-written copy from an earlier upgrade left")
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_names_of_this_files_unfinished_copies_are_recognised() {
        let w = |f: &str| writer_of(f.as_bytes(), b"shop.db");
        assert_eq!(w("shop.db.v18-20261201T090000Z.bak.4242-17.tmp"), Some(4242));
        assert_eq!(w("shop.db.v18-20261201T090000Z.2.bak.4242-17.tmp"), Some(4242), "the second copy of a second");
        assert_eq!(w("shop.db.v18-20261201T090000Z.bak.4242-17.tmp-journal"), Some(4242), "its journal");
        assert_eq!(w("shop.db.v18-20261201T090000Z.bak"), None, "a finished copy: the merchant's way back");
        assert_eq!(w("shop.db.vieux.v18-20261201T090000Z.bak.4242-17.tmp"), None, "another file's copy");
        assert_eq!(w("shop.db.v18-notes.bak.1-2.tmp"), None, "not a copy's date");
        assert_eq!(w("shop.db.v18-20261201T090000Z.bak.x-17.tmp"), None, "not a program's number");
        assert_eq!(w("shop.db.v18-20261201T090000Z.bak.4242-17.tmp.old"), None);
        assert_eq!(w("boutique.db.v18-20261201T090000Z.bak.4242-17.tmp"), None);
        assert_eq!(writer_of("café.db.v18-20261201T090000Z.bak.9-1.tmp".as_bytes(), "cafe.db".as_bytes()), None);
    }

    fn files(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
        names
            .iter()
            .map(|n| {
                let p = dir.join(n);
                std::fs::write(&p, b"x").unwrap();
                p
            })
            .collect()
    }

    #[test]
    fn a_copy_goes_when_its_program_no_longer_runs_and_stays_while_it_does_however_old() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shop.db");
        let f = files(
            dir.path(),
            &[
                "shop.db",
                "shop.db.v18-20261201T090000Z.bak.111-1.tmp",
                "shop.db.v18-20261201T090000Z.bak.111-1.tmp-journal",
                "shop.db.v18-20261201T090000Z.bak.222-2.tmp",
                "shop.db.v18-20261201T090000Z.bak",
                "other.db.v18-20261201T090000Z.bak.111-1.tmp",
            ],
        );
        let later = SystemTime::now() + Duration::from_secs(10 * 3600);
        let n = remove_abandoned(&db, later, |pid| Some(pid == 222));
        assert_eq!(n, 2, "the dead program's copy and its journal");
        assert!(!f[1].exists() && !f[2].exists());
        assert!(f[3].exists(), "a running program's copy stays, even untouched for ten hours (its check reads it)");
        assert!(
            f[4].exists() && f[5].exists() && f[0].exists(),
            "finished copies, other files' and the file itself stay"
        );
    }

    #[test]
    fn where_the_system_cannot_say_a_copy_goes_once_untouched_for_an_hour() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shop.db");
        let f = files(dir.path(), &["shop.db.v18-20261201T090000Z.bak.111-1.tmp"]);
        assert_eq!(remove_abandoned(&db, SystemTime::now() + Duration::from_secs(60), |_| None), 0);
        assert!(f[0].exists(), "touched a minute ago: maybe another window's, still written");
        assert_eq!(remove_abandoned(&db, SystemTime::now() + Duration::from_secs(7200), |_| None), 1);
        assert!(!f[0].exists());
    }

    #[cfg(unix)]
    #[test]
    fn this_program_runs_and_a_finished_one_does_not() {
        assert_eq!(running(std::process::id()), Some(true));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert_eq!(running(pid), Some(false), "a program that ended (and was waited for) is gone");
    }
}
