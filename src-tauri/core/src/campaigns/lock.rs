//! One sender per database file: an exclusive OS lock on `<db>.sender.lock`, released by the
//! operating system when the process ends, even when it is killed (SIGKILL, a crash).

use crate::error::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Only one sender per database file: an exclusive lock on `<db>.sender.lock`, released by the
/// operating system when the process ends, even when it is killed.
pub struct SenderLock {
    _file: File,
}

impl SenderLock {
    pub fn acquire(db: &Path) -> Result<SenderLock> {
        let path = PathBuf::from(format!("{}.sender.lock", db.display()));
        let file = File::options().create(true).truncate(false).write(true).open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(SenderLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::conflict("conflict.sender_busy")),
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }
}
