//! A file the window sends in pieces (the spreadsheet of an import), written to a folder of
//! Comptoir's own beside the shop's file, then mapped for reading (`source::map_file`): neither
//! the window nor the core holds the whole file in memory, however large it is.
//!
//! Invariants:
//! - pieces are appended in order: a piece at any other offset (a retry, a piece sent twice)
//!   is refused, so the copy is always the file's first bytes, never a patchwork;
//! - a file over `MAX_FILE_BYTES` is refused at its first piece when the window says its size,
//!   or at the piece that crosses the limit, and its copy removed;
//! - one upload is pending at a time: a new one removes the one before;
//! - a finished copy is removed when its last reader lets it go (`map_file`), an unfinished one
//!   when it is replaced or ends; the app lets go of its own on quitting; copies a crash left
//!   are removed at the next start or upload once an hour old (younger ones may be another
//!   window's upload in progress);
//! - the copy's path is made here from a token of our own, never from the window.

use super::source::{map_file, FileBytes, MAX_FILE_BYTES};
use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The folder of the copies being imported, beside the shop's file.
pub fn upload_dir_for(db: &Path) -> PathBuf {
    db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("import-files")
}

struct Pending {
    token: String,
    /// The copy, removed with the upload unless it was finished (`None` then).
    path: Option<PathBuf>,
    file: File,
    len: u64,
    /// The whole file's size, as the window said it at the first piece.
    size: Option<u64>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = fs::remove_file(path);
        }
    }
}

/// The upload in progress, if any.
#[derive(Default)]
pub struct Uploads {
    pending: Mutex<Option<Pending>>,
}

const EXTENSION: &str = "upload";

fn unreadable() -> Error {
    Error::invalid("file", "field.import_file_unreadable")
}

fn too_large() -> Error {
    Error::invalid("file", "field.import_file_too_large")
}

impl Uploads {
    /// Append one piece. `token` is `None` for the first piece, which starts a new upload in
    /// `dir` (and may say the file's whole size); the answer is the upload's token.
    pub fn piece(
        &self,
        dir: &Path,
        token: Option<&str>,
        offset: u64,
        size: Option<u64>,
        bytes: &[u8],
    ) -> Result<String> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let Some(token) = token else {
            // A new upload replaces (and removes) the one before.
            *pending = None;
            if offset != 0 {
                return Err(unreadable());
            }
            if size.is_some_and(|s| s > MAX_FILE_BYTES as u64) {
                return Err(too_large());
            }
            fs::create_dir_all(dir)?;
            clean_leftovers(dir, SystemTime::now() - Duration::from_secs(3600));
            let token = crate::campaigns::store::new_token();
            let path = dir.join(format!("{token}.{EXTENSION}"));
            let file = File::options().write(true).create_new(true).open(&path)?;
            let mut p = Pending { token: token.clone(), path: Some(path), file, len: 0, size };
            append(&mut p, bytes)?;
            *pending = Some(p);
            return Ok(token);
        };
        let p = match pending.as_mut() {
            Some(p) if p.token == token => p,
            _ => return Err(Error::not_found("import_file", token)),
        };
        // A piece out of place ends the upload (and removes its copy): the window starts over.
        let appended = if offset == p.len { append(p, bytes) } else { Err(unreadable()) };
        if let Err(e) = appended {
            *pending = None;
            return Err(e);
        }
        Ok(token.to_string())
    }

    /// End the upload in progress, if any (its copy removed).
    pub fn clear(&self) {
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The whole file, once every piece is in: mapped for reading, its copy removed when the
    /// last reader lets it go.
    pub fn finish(&self, token: &str) -> Result<FileBytes> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match pending.as_ref() {
            Some(p) if p.token == token => {}
            _ => return Err(Error::not_found("import_file", token)),
        }
        let mut p = pending.take().expect("checked above");
        // A file that came shorter (or longer) than the window said is not read as it was.
        if p.size.is_some_and(|size| size != p.len) {
            return Err(unreadable());
        }
        // From here the mapping owns the copy (and removes it), not the upload.
        let path = p.path.take().expect("an upload has its copy until finished");
        drop(p);
        map_file(&path, true)
    }
}

/// A file on this computer (`comptoir-cli import`), copied into `dir` and mapped like an
/// upload: the merchant's own file is never mapped, so another program saving it meanwhile
/// changes nothing under the import.
pub fn copy_in(dir: &Path, src: &Path) -> Result<FileBytes> {
    if fs::metadata(src)?.len() > MAX_FILE_BYTES as u64 {
        return Err(too_large());
    }
    fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}.{EXTENSION}", crate::campaigns::store::new_token()));
    if let Err(e) = fs::copy(src, &path) {
        let _ = fs::remove_file(&path);
        return Err(e.into());
    }
    map_file(&path, true)
}

fn append(p: &mut Pending, bytes: &[u8]) -> Result<()> {
    if p.len + bytes.len() as u64 > MAX_FILE_BYTES as u64 {
        return Err(too_large());
    }
    p.file.write_all(bytes)?;
    p.len += bytes.len() as u64;
    Ok(())
}

/// Remove the copies in `dir` last written before `before` (an hour ago, at start and at each
/// new upload: what a crashed session left; another window's upload in progress is younger).
pub fn clean_leftovers(dir: &Path, before: SystemTime) {
    for e in fs::read_dir(dir).into_iter().flatten().filter_map(|e| e.ok()) {
        let ours = e.path().extension().is_some_and(|x| x == EXTENSION);
        let old = e.metadata().and_then(|m| m.modified()).map(|t| t < before).unwrap_or(false);
        if ours && old {
            let _ = fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_in(dir: &Path) -> usize {
        fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }

    #[test]
    fn a_file_sent_in_pieces_reads_back_whole_and_its_copy_goes_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let up = Uploads::default();
        let d = dir.path().join("import-files");
        let t = up.piece(&d, None, 0, Some(11), b"Nom;Pr").unwrap();
        assert_eq!(up.piece(&d, Some(&t), 6, None, "énom".as_bytes()).unwrap(), t);
        let bytes = up.finish(&t).unwrap();
        assert_eq!((*bytes).as_ref(), "Nom;Prénom".as_bytes(), "the pieces are the file, in order");
        assert_eq!(files_in(&d), 1, "the copy stays while it is read");
        drop(bytes);
        assert_eq!(files_in(&d), 0, "the copy is removed when nobody reads it");
        assert!(up.finish(&t).is_err(), "a finished upload cannot be finished twice");
    }

    #[test]
    fn a_piece_out_of_order_or_of_another_upload_is_refused_and_the_file_stays_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let up = Uploads::default();
        let d = dir.path().to_path_buf();
        let t = up.piece(&d, None, 0, None, b"abc").unwrap();
        assert!(up.piece(&d, Some("someone-else"), 3, None, b"x").is_err(), "an unknown upload is refused");
        assert!(up.piece(&d, Some(&t), 0, None, b"abc").is_err(), "a piece sent twice is refused");
        assert_eq!(files_in(&d), 0, "and the upload ends, its copy removed");
        let t = up.piece(&d, None, 0, None, b"abc").unwrap();
        assert!(up.piece(&d, Some(&t), 5, None, b"x").is_err(), "a piece after a gap is refused");
        assert!(up.piece(&d, None, 3, None, b"x").is_err(), "a new upload starts at the file's first byte");
        let t = up.piece(&d, None, 0, None, b"abc").unwrap();
        up.piece(&d, Some(&t), 3, None, b"def").unwrap();
        assert_eq!((*up.finish(&t).unwrap()).as_ref(), b"abcdef");
    }

    #[test]
    fn a_new_upload_removes_the_unfinished_one_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let up = Uploads::default();
        let d = dir.path().to_path_buf();
        let first = up.piece(&d, None, 0, None, b"first").unwrap();
        let second = up.piece(&d, None, 0, None, b"second").unwrap();
        assert_eq!(files_in(dir.path()), 1, "only the upload in progress has a copy");
        assert!(up.piece(&d, Some(&first), 5, None, b"!").is_err(), "the replaced upload is gone");
        assert_eq!((*up.finish(&second).unwrap()).as_ref(), b"second");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_before_or_as_it_crosses_it_and_its_copy_removed() {
        let dir = tempfile::tempdir().unwrap();
        let up = Uploads::default();
        let d = dir.path().to_path_buf();
        let said = up.piece(&d, None, 0, Some(MAX_FILE_BYTES as u64 + 1), b"a").unwrap_err();
        assert!(matches!(&said, Error::Validation(f) if f[0].key == "field.import_file_too_large"), "{said:?}");
        assert_eq!(files_in(dir.path()), 0, "a file said to be too large is refused at once");
        let t = up.piece(&d, None, 0, None, b"a").unwrap();
        let big = vec![0u8; MAX_FILE_BYTES];
        assert!(up.piece(&d, Some(&t), 1, None, &big).is_err(), "the piece crossing the limit is refused");
        assert_eq!(files_in(dir.path()), 0, "and the copy is removed");
        assert!(up.finish(&t).is_err());
    }

    #[test]
    fn a_file_that_came_shorter_than_the_window_said_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let up = Uploads::default();
        let d = dir.path().to_path_buf();
        let t = up.piece(&d, None, 0, Some(10), b"Nom;Ville\n").unwrap();
        assert!(up.finish(&t).is_ok(), "as long as it said");
        let t = up.piece(&d, None, 0, Some(100), b"Nom;Ville\n").unwrap();
        assert!(up.finish(&t).is_err(), "a file cut short (changed while read) is not read as if whole");
        assert_eq!(files_in(&d), 0, "and its copy is removed");
    }

    #[test]
    fn copies_left_before_a_time_are_removed_and_only_ours() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        fs::write(d.join("left.upload"), "Nom\n").unwrap();
        fs::write(d.join("notes.txt"), "not ours").unwrap();
        clean_leftovers(&d, SystemTime::now() - Duration::from_secs(3600));
        assert!(d.join("left.upload").exists(), "a copy younger than the time stays (another upload in progress)");
        clean_leftovers(&d, SystemTime::now() + Duration::from_secs(1));
        assert!(!d.join("left.upload").exists(), "a copy left from before is removed");
        assert!(d.join("notes.txt").exists(), "a file that is not an upload copy is never touched");
    }

    #[test]
    fn a_file_of_this_computer_is_read_from_a_copy_the_merchants_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("clients.csv");
        fs::write(&own, "Nom;Ville\nZoé;Lyon\n").unwrap();
        let copies = dir.path().join("import-files");
        let bytes = copy_in(&copies, &own).unwrap();
        fs::write(&own, "changed while imported").unwrap();
        assert_eq!((*bytes).as_ref(), "Nom;Ville\nZoé;Lyon\n".as_bytes(), "the copy is what was read");
        drop(bytes);
        assert_eq!(files_in(&copies), 0, "the copy goes when read");
        assert!(own.exists());
    }

    #[test]
    fn an_empty_file_is_read_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let up = Uploads::default();
        let d = dir.path().to_path_buf();
        let t = up.piece(&d, None, 0, Some(0), b"").unwrap();
        assert!((*up.finish(&t).unwrap()).as_ref().is_empty());
    }

    #[test]
    fn a_mapped_file_reads_as_its_bytes_and_only_the_apps_own_copy_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("clients.csv");
        fs::write(&own, "Nom;Prénom\r\nLefèvre;Élodie\r\n").unwrap();
        let bytes = map_file(&own, false).unwrap();
        let f = super::super::ImportFile::open_shared("clients.csv", bytes.clone(), &Default::default()).unwrap();
        assert_eq!(f.headers(), vec!["Nom", "Prénom"], "a mapped file is read as its bytes");
        drop((f, bytes));
        assert!(own.exists(), "the merchant's own file is never removed");
        let big = dir.path().join("big.upload");
        File::create(&big).unwrap().set_len(MAX_FILE_BYTES as u64 + 1).unwrap();
        let refused = map_file(&big, true).err().expect("a file over the limit is refused");
        assert!(matches!(&refused, Error::Validation(f) if f[0].key == "field.import_file_too_large"), "{refused:?}");
        assert!(!big.exists(), "the app's copy of a refused file is removed");
    }
}
