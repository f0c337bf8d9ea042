//! One database file's writers and its restore, inside this process. Every write transaction
//! (`Store::transact`, `Store::rehearse`) holds the file's gate shared; a restore holds it
//! alone, from the moment it reads the live file (its undo snapshot, the erasures and
//! unsubscribes to apply again, the outbox) until the new content is in. So none of the app's
//! threads — the window's commands, the campaign sender, the numbers, the referral clock, the
//! mailbox reader, the backups — can commit into the old content after the restore read it (a
//! write the restore would silently drop) or into the new content before it is whole: they
//! wait, then write into the restored file.
//!
//! Invariants: one gate per file (the path as the system resolves it), shared by every `Store`
//! this process opens on it; an in-memory store has none; the restore's own work copy is
//! another file, so it has its own gate (the restore writes to it while holding the live
//! file's). Holding a gate never waits on SQLite's lock, so there is no lock-order cycle: a
//! writer takes the gate, then SQLite's write lock; the restore takes the gate alone (after
//! every writer left), then SQLite's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

/// The gate of one database file.
#[derive(Clone)]
pub(crate) struct Gate(Arc<RwLock<()>>);

/// Every file's gate, while a store holds it.
fn gates() -> &'static Mutex<HashMap<PathBuf, Weak<RwLock<()>>>> {
    static GATES: OnceLock<Mutex<HashMap<PathBuf, Weak<RwLock<()>>>>> = OnceLock::new();
    GATES.get_or_init(Default::default)
}

impl Gate {
    /// The gate of the file at `path` (which exists: the store opened it).
    pub(crate) fn for_file(path: &Path) -> Gate {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut map = gates().lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, g| g.strong_count() > 0);
        if let Some(g) = map.get(&key).and_then(Weak::upgrade) {
            return Gate(g);
        }
        let g = Arc::new(RwLock::new(()));
        map.insert(key, Arc::downgrade(&g));
        Gate(g)
    }

    /// Held by a write transaction for as long as it runs.
    pub(crate) fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Held by a restore: no write of this process runs on the file meanwhile.
    pub(crate) fn alone(&self) -> RwLockWriteGuard<'_, ()> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_write_from_another_connection_waits_while_the_file_is_held_alone_and_lands_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let store = Store::open(&path).unwrap();
        let gate = store.gate.clone().expect("a file has a gate");
        let done = Arc::new(AtomicBool::new(false));
        let held = gate.alone();
        let writer = {
            let (path, done) = (path.clone(), done.clone());
            std::thread::spawn(move || {
                let mut other = Store::open(&path).unwrap();
                other
                    .transact("t", None, |tx| {
                        Ok(tx.execute("INSERT INTO settings (key, value) VALUES ('gate_test', '1')", [])?)
                    })
                    .unwrap();
                done.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(Duration::from_millis(300));
        assert!(!done.load(Ordering::SeqCst), "no write of this process commits while a restore holds the file");
        drop(held);
        writer.join().unwrap();
        let n: i64 =
            store.conn().query_row("SELECT count(*) FROM settings WHERE key = 'gate_test'", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "the waiting write lands once the restore is over");
    }

    #[test]
    fn two_files_have_two_gates_and_one_file_one() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(dir.path().join("a.db")).unwrap();
        let a2 = Store::open(dir.path().join("a.db")).unwrap();
        let b = Store::open(dir.path().join("b.db")).unwrap();
        let (ga, ga2, gb) = (a.gate.clone().unwrap(), a2.gate.clone().unwrap(), b.gate.clone().unwrap());
        assert!(Arc::ptr_eq(&ga.0, &ga2.0), "every store on one file shares its gate");
        assert!(!Arc::ptr_eq(&ga.0, &gb.0), "a restore's work copy does not wait for the live file");
        assert!(Store::open_in_memory().unwrap().gate.is_none());
    }
}
