//! Backups: a consistent copy of the live file (`VACUUM INTO` a temporary name — SQLite's
//! online backup API restarts whenever another connection writes and may never finish while the
//! sender runs), checked (`integrity_check`), compressed (zstd, with its frame checksum),
//! optionally encrypted with a passphrase (age), written under a temporary name, read back and
//! checked against its SHA-256, and only then renamed into place: a backup file is listed only
//! once complete. A finished file is then copied (temporary name, rename) to the off-machine
//! folder the merchant chose, and old ones are thinned (`rotation`).
//!
//! File layout: the line `COMPTOIR-BACKUP 1\n`, a little-endian u32 length, a JSON header
//! (`BackupHeader`), then the zstd stream (inside an age stream when encrypted).

use super::rotation;
use crate::error::{Error, Result};
use crate::storage::LATEST_VERSION;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
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
    /// SHA-256 of the database file the backup holds.
    pub db_sha256: String,
    pub db_bytes: u64,
}

/// A backup on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BackupInfo {
    pub file_name: String,
    pub path: String,
    pub size: u64,
    pub header: BackupHeader,
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
        })
    }
}

/// The folder of the local backups of a database file.
pub fn backup_dir_for(db: &Path) -> PathBuf {
    db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("backups")
}

fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = BufReader::new(File::open(path)?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex::encode(h.finalize()), n))
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
    let header = read_payload(path, passphrase, Some(out))?;
    let c = Connection::open_with_flags(out, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|_| BackupProblem::Corrupted)?;
    let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|_| BackupProblem::Corrupted)?;
    let v: u32 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|_| BackupProblem::Corrupted)?;
    if ok != "ok" || v != header.schema_version {
        return Err(BackupProblem::Corrupted);
    }
    Ok(header)
}

/// Read a backup's payload back, checking its size and SHA-256 against the header, and write
/// the database it holds to `out` when given.
fn read_payload(
    path: &Path,
    passphrase: Option<&str>,
    out: Option<&Path>,
) -> std::result::Result<BackupHeader, BackupProblem> {
    let mut f = BufReader::new(File::open(path).map_err(|_| BackupProblem::NotABackup)?);
    let header = read_header(&mut f)?;
    if header.schema_version > LATEST_VERSION {
        return Err(BackupProblem::Newer);
    }
    let payload: Box<dyn Read> = if header.encrypted {
        let Some(p) = passphrase else { return Err(BackupProblem::PassphraseNeeded) };
        let d = age::Decryptor::new_buffered(f).map_err(|_| BackupProblem::Corrupted)?;
        let id = age::scrypt::Identity::new(age::secrecy::SecretString::from(p.to_string()));
        Box::new(d.decrypt(std::iter::once(&id as &dyn age::Identity)).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => BackupProblem::WrongPassphrase,
            _ => BackupProblem::Corrupted,
        })?)
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
        h.update(&buf[..k]);
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
    if hex::encode(h.finalize()) != header.db_sha256 {
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

/// Take a backup of the database at `db` into `dir`. Safe while the app uses the file: the
/// copy is a read transaction on its own connection.
pub fn snapshot(
    db: &Path,
    dir: &Path,
    reason: BackupReason,
    passphrase: Option<&str>,
    now: DateTime<Utc>,
) -> Result<BackupInfo> {
    fs::create_dir_all(dir)?;
    let tmp_db = temp_name(dir, "snapshot", "db");
    let result = (|| {
        {
            let src = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            src.busy_timeout(std::time::Duration::from_secs(10))?;
            src.execute("VACUUM INTO ?1", [tmp_db.to_string_lossy()])?;
        }
        let (customers, sales, schema_version) = {
            let c = Connection::open_with_flags(&tmp_db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            if ok != "ok" {
                return Err(Error::conflict("conflict.backup_source_corrupt"));
            }
            let (cu, sa) = counts(&c)?;
            (cu, sa, c.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))?)
        };
        let (db_sha256, db_bytes) = sha256_file(&tmp_db)?;
        let header = BackupHeader {
            created_at: now,
            reason,
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            schema_version,
            customers,
            sales,
            encrypted: passphrase.is_some(),
            db_sha256,
            db_bytes,
        };
        let name = format!("comptoir-{}-{}.{EXTENSION}", now.format("%Y%m%d-%H%M%S%.3f"), reason.code());
        let partial = dir.join(format!(".{name}.partial"));
        {
            let mut out = BufWriter::new(File::create(&partial)?);
            let json = serde_json::to_vec(&header)?;
            out.write_all(MAGIC)?;
            out.write_all(&(json.len() as u32).to_le_bytes())?;
            out.write_all(&json)?;
            let mut input = BufReader::new(File::open(&tmp_db)?);
            match passphrase {
                Some(p) => {
                    let enc = age::Encryptor::with_user_passphrase(age::secrecy::SecretString::from(p.to_string()));
                    let mut aw = enc.wrap_output(&mut out)?;
                    compress(&mut input, &mut aw)?;
                    aw.finish()?;
                }
                None => compress(&mut input, &mut out)?,
            }
            out.flush()?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        // Read it back before it may be listed: the bytes it holds are those of the copy that
        // passed integrity_check above when their SHA-256 matches.
        if let Err(p) = read_payload(&partial, passphrase, None) {
            let _ = fs::remove_file(&partial);
            return Err(p.error());
        }
        let final_path = dir.join(&name);
        fs::rename(&partial, &final_path)?;
        sync_dir(dir);
        read_info(&final_path).map_err(BackupProblem::error)
    })();
    let _ = fs::remove_file(&tmp_db);
    result
}

fn compress(input: &mut impl Read, out: &mut impl Write) -> Result<()> {
    let mut enc = zstd::stream::write::Encoder::new(out, 1)?;
    enc.include_checksum(true)?;
    io::copy(input, &mut enc)?;
    enc.finish()?;
    Ok(())
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

/// Remove what an interrupted backup left (temporary copies, partial files) older than an hour.
pub fn clean_leftovers(dir: &Path) {
    for e in fs::read_dir(dir).into_iter().flatten().filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| t.elapsed().unwrap_or_default().as_secs() > 3600)
            .unwrap_or(false);
        if name.starts_with('.') && (name.ends_with(".partial") || name.ends_with(".db")) && old {
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
