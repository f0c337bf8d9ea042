//! Backups: a consistent copy of the live file — SQLite's online backup API in one single step,
//! so the whole copy is one read transaction of the source (writers go on in the WAL and
//! never restart it, as they would a copy made a few pages at a time) — checked
//! (`quick_check`, run beside the compression), compressed (zstd, with its frame checksum;
//! `backup_stream`) while its SHA-256 is computed in the same pass, optionally encrypted with a
//! passphrase (age), written under a temporary name, proven (the compressed stream decoded while
//! written, or read back and decrypted when encrypted with a passphrase: zstd's frame checksum
//! proves it holds the checked copy; the file read back hashes to what was written) and only
//! then renamed into place: a backup file is listed only once complete and checked. A finished
//! file is then copied (temporary name, rename) to the off-machine folder the merchant chose,
//! and old ones are thinned (`rotation`). A restore checks more (`extract`): the SHA-256 of the
//! whole payload and the full `integrity_check`.
//!
//! Why `quick_check` and not `integrity_check` when a backup is taken: both read every page,
//! every record and its types and NOT NULL columns; `integrity_check` also compares every
//! index with its table, which took 11 s of a 19 s backup of the 100k shop. That comparison
//! runs when a backup is restored, before anything changes.
//!
//! File layout: the line `COMPTOIR-BACKUP 1\n`, a little-endian u32 length, a JSON header
//! (`BackupHeader`), then the zstd stream (inside an age stream when encrypted).

use super::backup_key::{self, Encryption, KeyProblem};
use super::backup_stream::{background_priority, compress, compress_checked, Hashing};
use super::rotation;
use crate::error::{Error, Result};
use crate::storage::LATEST_VERSION;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use ts_rs::TS;

const MAGIC: &[u8] = b"COMPTOIR-BACKUP 1\n";
pub const EXTENSION: &str = "comptoir-backup";
const MAX_HEADER: u32 = 64 * 1024;

/// Why a backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum BackupReason {
    Manual,
    Start,
    Hourly,
    Close,
    BeforeImport,
    BeforeRestore,
    BeforeErasure,
    BeforeMigration,
}

impl BackupReason {
    pub fn code(self) -> &'static str {
        match self {
            BackupReason::Manual => "manual",
            BackupReason::Start => "start",
            BackupReason::Hourly => "hourly",
            BackupReason::Close => "close",
            BackupReason::BeforeImport => "before-import",
            BackupReason::BeforeRestore => "before-restore",
            BackupReason::BeforeErasure => "before-erasure",
            BackupReason::BeforeMigration => "before-migration",
        }
    }
}

/// What a backup file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BackupHeader {
    pub created_at: DateTime<Utc>,
    pub reason: BackupReason,
    pub app_version: String,
    pub schema_version: u32,
    pub customers: i64,
    pub sales: i64,
    pub encrypted: bool,
    /// When encrypted to the shop's key (`backup_key`): its private half, encrypted with the
    /// passphrase; absent when encrypted with the passphrase directly (older files, the
    /// command line) or not encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(skip)]
    pub wrapped_key: Option<String>,
    /// SHA-256 of the database file the backup holds.
    pub db_sha256: String,
    pub db_bytes: u64,
}

impl BackupHeader {
    /// The header as shown to the interface: without the wrapped key (it is of no use there).
    pub fn for_display(mut self) -> Self {
        self.wrapped_key = None;
        self
    }
}

/// A backup on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BackupInfo {
    pub file_name: String,
    pub path: String,
    pub size: u64,
    pub header: BackupHeader,
}

impl BackupInfo {
    /// See `BackupHeader::for_display`.
    pub fn for_display(mut self) -> Self {
        self.header = self.header.for_display();
        self
    }
}

/// Why a backup cannot be restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum BackupProblem {
    NotABackup,
    Truncated,
    Corrupted,
    Newer,
    PassphraseNeeded,
    WrongPassphrase,
    /// Its passphrase asks more work than [`backup_key::MAX_SCRYPT_WORK`]: not made by
    /// Comptoir, or altered.
    TooMuchWork,
}

impl BackupProblem {
    pub fn error(self) -> Error {
        Error::conflict(match self {
            BackupProblem::NotABackup => "conflict.backup_not_a_backup",
            BackupProblem::Truncated => "conflict.backup_truncated",
            BackupProblem::Corrupted => "conflict.backup_corrupted",
            BackupProblem::Newer => "conflict.backup_newer",
            BackupProblem::PassphraseNeeded => "conflict.backup_passphrase_needed",
            BackupProblem::WrongPassphrase => "conflict.backup_wrong_passphrase",
            BackupProblem::TooMuchWork => "conflict.backup_too_much_work",
        })
    }
}

/// The folder of the local backups of a database file.
pub fn backup_dir_for(db: &Path) -> PathBuf {
    db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("backups")
}

fn sync_dir(dir: &Path) {
    // Durability of the rename; not possible (nor needed) on every platform.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn read_header(r: &mut impl Read) -> std::result::Result<BackupHeader, BackupProblem> {
    let mut magic = vec![0u8; MAGIC.len()];
    r.read_exact(&mut magic).map_err(|_| BackupProblem::NotABackup)?;
    if magic != MAGIC {
        return Err(BackupProblem::NotABackup);
    }
    let mut len = [0u8; 4];
    r.read_exact(&mut len).map_err(|_| BackupProblem::Truncated)?;
    let len = u32::from_le_bytes(len);
    if len > MAX_HEADER {
        return Err(BackupProblem::Corrupted);
    }
    let mut json = vec![0u8; len as usize];
    r.read_exact(&mut json).map_err(|_| BackupProblem::Truncated)?;
    serde_json::from_slice(&json).map_err(|_| BackupProblem::Corrupted)
}

/// Read a backup's header (cheap: the payload is not read).
pub fn read_info(path: &Path) -> std::result::Result<BackupInfo, BackupProblem> {
    let mut f = File::open(path).map_err(|_| BackupProblem::NotABackup)?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let header = read_header(&mut f)?;
    Ok(BackupInfo {
        file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        path: path.to_string_lossy().into_owned(),
        size,
        header,
    })
}

/// Check a backup from end to end and write the database it holds to `out`: the header, the
/// decryption, the decompression (truncation and corruption are caught by zstd's checksum and
/// the SHA-256), then SQLite's `integrity_check` and the schema version.
pub fn extract(path: &Path, passphrase: Option<&str>, out: &Path) -> std::result::Result<BackupHeader, BackupProblem> {
    let header = read_payload(path, passphrase, Some(out), true)?;
    let c = Connection::open_with_flags(out, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|_| BackupProblem::Corrupted)?;
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|_| BackupProblem::Corrupted)?;
    let v: u32 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|_| BackupProblem::Corrupted)?;
    if ok != "ok" || v != header.schema_version {
        return Err(BackupProblem::Corrupted);
    }
    Ok(header)
}

/// Read a backup's payload back, checking its size and zstd's frame checksum (always) and its
/// SHA-256 against the header (when `sha256`), and write the database it holds to `out` when
/// given.
fn read_payload(
    path: &Path,
    passphrase: Option<&str>,
    out: Option<&Path>,
    sha256: bool,
) -> std::result::Result<BackupHeader, BackupProblem> {
    let mut f = BufReader::new(File::open(path).map_err(|_| BackupProblem::NotABackup)?);
    let header = read_header(&mut f)?;
    if header.schema_version > LATEST_VERSION {
        return Err(BackupProblem::Newer);
    }
    let payload: Box<dyn Read> = if header.encrypted {
        let Some(p) = passphrase else { return Err(BackupProblem::PassphraseNeeded) };
        match &header.wrapped_key {
            // Encrypted to the shop's key: the passphrase opens the key the header carries.
            Some(wrapped) => {
                let id = backup_key::unwrap(wrapped, p).map_err(|e| match e {
                    KeyProblem::WrongPassphrase => BackupProblem::WrongPassphrase,
                    KeyProblem::TooMuchWork => BackupProblem::TooMuchWork,
                    KeyProblem::Corrupted => BackupProblem::Corrupted,
                })?;
                let d = age::Decryptor::new_buffered(f).map_err(|_| BackupProblem::Corrupted)?;
                // The key opened: a payload it does not open was damaged, not mistyped.
                Box::new(d.decrypt(std::iter::once(&id as &dyn age::Identity)).map_err(|_| BackupProblem::Corrupted)?)
            }
            None => {
                let d = age::Decryptor::new_buffered(f).map_err(|_| BackupProblem::Corrupted)?;
                let id = backup_key::passphrase_identity(p);
                Box::new(d.decrypt(std::iter::once(&id as &dyn age::Identity)).map_err(|e| match e {
                    age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => {
                        BackupProblem::WrongPassphrase
                    }
                    age::DecryptError::ExcessiveWork { .. } => BackupProblem::TooMuchWork,
                    _ => BackupProblem::Corrupted,
                })?)
            }
        }
    } else {
        Box::new(f)
    };
    let mut dec = zstd::stream::read::Decoder::new(payload).map_err(|_| BackupProblem::Corrupted)?;
    let mut w: Box<dyn Write> = match out {
        Some(o) => Box::new(BufWriter::new(File::create(o).map_err(|_| BackupProblem::Corrupted)?)),
        None => Box::new(io::sink()),
    };
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = match dec.read(&mut buf) {
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(BackupProblem::Truncated),
            Err(_) => return Err(BackupProblem::Corrupted),
        };
        if k == 0 {
            break;
        }
        if sha256 {
            h.update(&buf[..k]);
        }
        n += k as u64;
        if n > header.db_bytes {
            // More than the header announced: stop before a crafted file fills the disk.
            return Err(BackupProblem::Corrupted);
        }
        w.write_all(&buf[..k]).map_err(|_| BackupProblem::Corrupted)?;
    }
    w.flush().map_err(|_| BackupProblem::Corrupted)?;
    drop(w);
    if n != header.db_bytes {
        return Err(if n < header.db_bytes { BackupProblem::Truncated } else { BackupProblem::Corrupted });
    }
    if sha256 && hex::encode(h.finalize()) != header.db_sha256 {
        return Err(BackupProblem::Corrupted);
    }
    Ok(header)
}

fn counts(c: &Connection) -> Result<(i64, i64)> {
    Ok((
        c.query_row("SELECT count(*) FROM customers WHERE merged_into IS NULL", [], |r| r.get(0))?,
        c.query_row("SELECT count(*) FROM purchases WHERE kind = 'sale'", [], |r| r.get(0))?,
    ))
}

fn temp_name(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    dir.join(format!(".{stem}-{n:016x}.{ext}"))
}

/// Copy the database at `db` to the new file `to` with the online backup API in one step:
/// one read transaction of the source, consistent whatever other connections write meanwhile.
fn copy_database(db: &Path, to: &Path) -> Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    let src = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    src.busy_timeout(std::time::Duration::from_secs(10))?;
    let mut dst = Connection::open(to)?;
    // A scratch file checked afterwards: no journal, no syncs while it is written.
    dst.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
    {
        let backup = Backup::new(&src, &mut dst)?;
        let mut tries = 0;
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                // The source is briefly locked (a WAL recovery, a checkpoint's restart): wait.
                _ if tries < 200 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                _ => return Err(Error::conflict("conflict.backup_busy")),
            }
        }
    }
    // The copy says "WAL" like its source; a backup holds a plain file (the app turns WAL on
    // again when it opens a restored one).
    dst.execute_batch("PRAGMA journal_mode = DELETE;")?;
    Ok(())
}

/// What a copy's header will say of it: (customers, sales, schema version).
fn describe_copy(path: &Path) -> Result<(i64, i64, u32)> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let (customers, sales) = counts(&c)?;
    Ok((customers, sales, c.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))?))
}

/// Quick-check a copy (see the module's header for why not `integrity_check` here).
fn check_copy(path: &Path) -> Result<()> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let ok: String = c.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if ok != "ok" {
        return Err(Error::conflict("conflict.backup_source_corrupt"));
    }
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The header is first written with this in place of the SHA-256 (the same length: 64 hex
/// digits), which is computed beside the compression and written over it afterwards.
const SHA_PLACEHOLDER: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Write the backup file `partial` of the copy `db`: the header (its SHA-256 the placeholder),
/// then the compressed (and maybe encrypted) copy. Returns where the placeholder stands.
fn write_partial(db: &Path, partial: &Path, header: &BackupHeader, encryption: Encryption) -> Result<(u64, String)> {
    let json = serde_json::to_vec(header)?;
    let key = b"\"db_sha256\":\"";
    let at = json
        .windows(key.len())
        .position(|w| w == key)
        .map(|i| i + key.len())
        .filter(|&i| json.get(i..i + SHA_PLACEHOLDER.len()) == Some(SHA_PLACEHOLDER.as_bytes()))
        .ok_or_else(|| Error::Io(io::Error::other("backup header without its checksum")))?;
    let mut file = BufWriter::with_capacity(1 << 20, File::create(partial)?);
    file.write_all(MAGIC)?;
    file.write_all(&(json.len() as u32).to_le_bytes())?;
    file.write_all(&json)?;
    // The payload's bytes are hashed as they are written, so that reading the file back proves
    // it holds them — the only proof possible for a file encrypted to a key whose private half
    // this computer does not hold in clear.
    let mut out = Hashing { inner: &mut file, h: Sha256::new() };
    let mut input = File::open(db)?;
    match encryption {
        Encryption::Passphrase(p) => encrypt_to(&backup_key::passphrase_recipient(p), &mut input, &mut out)?,
        Encryption::Key(k) => encrypt_to(&backup_key::recipient(k)?, &mut input, &mut out)?,
        Encryption::None => compress_checked(&mut input, &mut out, header.db_bytes)?,
    }
    let payload_sha = hex::encode(out.h.finalize());
    file.flush()?;
    Ok(((MAGIC.len() + 4 + at) as u64, payload_sha))
}

fn encrypt_to(r: &dyn age::Recipient, input: &mut File, out: &mut impl Write) -> Result<()> {
    let enc =
        age::Encryptor::with_recipients(std::iter::once(r)).map_err(|e| Error::Io(io::Error::other(e.to_string())))?;
    let mut aw = enc.wrap_output(out)?;
    compress(input, &mut aw)?;
    aw.finish()?;
    Ok(())
}

/// SHA-256 of what follows the header in a backup file.
fn payload_sha256(path: &Path) -> std::result::Result<String, BackupProblem> {
    let mut f = BufReader::with_capacity(1 << 20, File::open(path).map_err(|_| BackupProblem::NotABackup)?);
    read_header(&mut f)?;
    let mut h = Sha256::new();
    loop {
        let buf = match f.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(BackupProblem::Truncated),
        };
        if buf.is_empty() {
            break;
        }
        h.update(buf);
        let k = buf.len();
        f.consume(k);
    }
    Ok(hex::encode(h.finalize()))
}

/// Write the SHA-256 over its placeholder and make the file durable.
fn fill_sha(partial: &Path, at: u64, sha: &str) -> Result<()> {
    use std::io::{Seek, SeekFrom};
    let mut f = fs::OpenOptions::new().write(true).open(partial)?;
    f.seek(SeekFrom::Start(at))?;
    f.write_all(sha.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Take a backup of the database at `db` into `dir`. Safe while the app uses the file: the
/// copy is a read transaction on its own connection.
pub fn snapshot(
    db: &Path,
    dir: &Path,
    reason: BackupReason,
    encryption: Encryption,
    now: DateTime<Utc>,
) -> Result<BackupInfo> {
    // On a thread of its own at a lower priority, which its helpers (the check, the stream's
    // decoder) inherit: when the till and the backup both want the processor, the till goes
    // first. The caller's thread (a command's, reused) keeps its own priority.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                background_priority();
                snapshot_here(db, dir, reason, encryption, now)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn snapshot_here(
    db: &Path,
    dir: &Path,
    reason: BackupReason,
    encryption: Encryption,
    now: DateTime<Utc>,
) -> Result<BackupInfo> {
    fs::create_dir_all(dir)?;
    let tmp_db = temp_name(dir, "snapshot", "db");
    let name = format!("comptoir-{}-{}.{EXTENSION}", now.format("%Y%m%d-%H%M%S%.3f"), reason.code());
    let partial = dir.join(format!(".{name}.partial"));
    let result = (|| {
        copy_database(db, &tmp_db)?;
        let (customers, sales, schema_version) = describe_copy(&tmp_db)?;
        let mut header = BackupHeader {
            created_at: now,
            reason,
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            schema_version,
            customers,
            sales,
            encrypted: !matches!(encryption, Encryption::None),
            wrapped_key: match encryption {
                Encryption::Key(k) => Some(k.wrapped.clone()),
                _ => None,
            },
            db_sha256: SHA_PLACEHOLDER.to_string(),
            db_bytes: fs::metadata(&tmp_db)?.len(),
        };
        // The copy is hashed and checked on a thread of its own while it is compressed; the
        // file is renamed into place only when both succeeded.
        let (checked, written) = std::thread::scope(|scope| {
            let check = scope.spawn(|| {
                let sha = sha256_file(&tmp_db)?;
                check_copy(&tmp_db)?;
                Ok(sha)
            });
            let written = write_partial(&tmp_db, &partial, &header, encryption);
            (check.join().unwrap_or_else(|_| Err(Error::conflict("conflict.backup_source_corrupt"))), written)
        });
        let (sha_at, payload_sha) = written?;
        header.db_sha256 = checked?;
        fill_sha(&partial, sha_at, &header.db_sha256)?;
        // Read it back before it may be listed: its header must read back as written, and the
        // payload hash proves the file holds the bytes written from the checked copy. zstd's
        // frame checksum proves the compressed stream whole too: decoded while it was written
        // when not encrypted, read back and decrypted with a passphrase typed now.
        let back = match encryption {
            Encryption::Passphrase(p) => read_payload(&partial, Some(p), None, false),
            Encryption::None | Encryption::Key(_) => read_info(&partial).map(|i| i.header),
        };
        match back {
            Ok(h) if h == header => {}
            Ok(_) => return Err(BackupProblem::Corrupted.error()),
            Err(p) => return Err(p.error()),
        }
        if !matches!(encryption, Encryption::Passphrase(_))
            && payload_sha256(&partial).map_err(BackupProblem::error)? != payload_sha
        {
            return Err(BackupProblem::Corrupted.error());
        }
        let final_path = dir.join(&name);
        fs::rename(&partial, &final_path)?;
        sync_dir(dir);
        read_info(&final_path).map_err(BackupProblem::error)
    })();
    let _ = fs::remove_file(&tmp_db);
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result
}

/// The finished backups in `dir`, newest first (temporary and partial files are never listed).
pub fn list(dir: &Path) -> Vec<BackupInfo> {
    let mut out: Vec<BackupInfo> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            !name.starts_with('.') && name.ends_with(&format!(".{EXTENSION}"))
        })
        .filter_map(|p| read_info(&p).ok())
        .collect();
    out.sort_by_key(|b| std::cmp::Reverse(b.header.created_at));
    out
}

/// Rule: the names a backup or a restore works under (a leading dot, never listed): partial
/// backups, the snapshot's temporary copy (`.snapshot-<random>.db`), and everything a
/// restore's work copy brings (SQLite's `-wal` and `-shm`, what a migration of the copy kept
/// and its temporary file). Any other hidden file, another program's database included, is
/// not ours to remove.
fn is_leftover(name: &str) -> bool {
    name.starts_with(".restore-")
        || (name.starts_with(".snapshot-") && name.ends_with(".db"))
        || (name.starts_with('.') && name.ends_with(".partial"))
}

/// Remove what an interrupted backup or restore left (temporary copies, partial files) older
/// than an hour.
pub fn clean_leftovers(dir: &Path) {
    for e in fs::read_dir(dir).into_iter().flatten().filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| t.elapsed().unwrap_or_default().as_secs() > 3600)
            .unwrap_or(false);
        if is_leftover(&name) && old {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Thin the backups of `dir` (see `rotation`); returns how many were removed.
pub fn rotate(dir: &Path, now: DateTime<Utc>) -> usize {
    let all = list(dir);
    let times: Vec<DateTime<chrono::Local>> =
        all.iter().map(|b| b.header.created_at.with_timezone(&chrono::Local)).collect();
    let del = rotation::to_delete(&times, &now.with_timezone(&chrono::Local));
    del.iter().filter(|i| fs::remove_file(&all[**i].path).is_ok()).count()
}

/// Copy a finished backup to the off-machine folder (temporary name, then rename).
pub fn copy_offsite(backup: &BackupInfo, offsite: &Path) -> Result<PathBuf> {
    if !offsite.is_dir() {
        return Err(Error::conflict("conflict.backup_offsite_missing"));
    }
    let partial = offsite.join(format!(".{}.partial", backup.file_name));
    fs::copy(&backup.path, &partial)?;
    File::open(&partial)?.sync_all()?;
    let dest = offsite.join(&backup.file_name);
    fs::rename(&partial, &dest)?;
    sync_dir(offsite);
    Ok(dest)
}
