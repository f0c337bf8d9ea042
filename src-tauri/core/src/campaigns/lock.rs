//! One sender per database file: an exclusive OS lock on `<db>.sender.lock`, released by the
//! operating system when the process ends, even when it is killed (SIGKILL, a crash).
//!
//! Invariants: the lock follows the real file — the path is resolved (symbolic links, `..`)
//! before the lock's name is made, so two paths to one database share one lock; a lock that
//! cannot be created (a read-only folder, no space) is reported as that, never as "another
//! sender is running".

use crate::error::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

pub struct SenderLock {
    _file: File,
}

/// The lock file of the database at `db`, named after the database's real path.
pub fn lock_path(db: &Path) -> PathBuf {
    let real = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
    PathBuf::from(format!("{}.sender.lock", real.display()))
}

impl SenderLock {
    pub fn acquire(db: &Path) -> Result<SenderLock> {
        let path = lock_path(db);
        let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(|e| {
            tracing::warn!(error = %e, path = %path.display(), "the sender lock cannot be created");
            let e = Error::Io(e);
            if e.is_disk_full() {
                e
            } else {
                Error::conflict("conflict.sender_lock_failed")
            }
        })?;
        match file.try_lock() {
            Ok(()) => Ok(SenderLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::conflict("conflict.sender_busy")),
            Err(std::fs::TryLockError::Error(e)) => {
                tracing::warn!(error = %e, path = %path.display(), "the sender lock cannot be taken");
                Err(Error::conflict("conflict.sender_lock_failed"))
            }
        }
    }
}
