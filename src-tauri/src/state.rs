//! The shell's state: the open database (or why it could not be opened) and where it lives.

use comptoir_core::types::Lang;
use comptoir_core::{Error, ErrorPayload, Store};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct AppState {
    db: Result<Mutex<Store>, ErrorPayload>,
    pub db_path: PathBuf,
}

/// The language for messages when the database (and so the settings) cannot be read.
fn fallback_lang() -> Lang {
    match std::env::var("LANG") {
        Ok(l) if l.starts_with("en") => Lang::En,
        _ => Lang::Fr,
    }
}

impl AppState {
    /// Open the database at `path`. A failure is kept and reported to the interface by every
    /// command, so the window can say what is wrong instead of not opening.
    pub fn open(path: &Path) -> AppState {
        let db = match Store::open(path) {
            Ok(store) => {
                if let Some(b) = &store.migration_backup {
                    tracing::info!(backup = %b.display(), "database upgraded; copy of the previous version kept");
                }
                Ok(Mutex::new(store))
            }
            Err(e) => {
                tracing::error!(error = %e, path = %path.display(), "cannot open the database");
                Err(e.to_payload(fallback_lang()))
            }
        };
        AppState { db, db_path: path.to_path_buf() }
    }

    /// Run `f` on the store; a core error becomes `{code, message}` in the shop's language.
    pub fn with<T>(&self, f: impl FnOnce(&mut Store) -> comptoir_core::Result<T>) -> Result<T, ErrorPayload> {
        let mutex = self.db.as_ref().map_err(Clone::clone)?;
        let mut store = mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut store).map_err(|e| {
            let lang = store.settings().map(|s| s.language).unwrap_or_else(|_| fallback_lang());
            report(&e);
            e.to_payload(lang)
        })
    }
}

fn report(e: &Error) {
    match e.code() {
        "internal" | "busy" => tracing::error!(error = %e, "command failed"),
        _ => tracing::debug!(error = %e, "command refused"),
    }
}
