//! Automatic backups, in the background so the first screen is never delayed: at start when
//! the last backup is over 24 hours old, then every hour while the app is open if something
//! changed (SQLite's `data_version` seen from this thread's own connection), and on close
//! (`on_exit`). Before an import, an erasure and a restore the commands take one themselves;
//! before a migration, the storage layer keeps its own copy. The copies of files being
//! imported (`data::upload`) that a session left behind are removed at start once an hour old,
//! and this session's own on close.

use crate::commands::data::{take_backup, DataState};
use crate::state::AppState;
use comptoir_core::data::backup::{self, BackupReason};
use std::time::{Duration, Instant};
use tauri::{AppHandle, Manager, Runtime};

const HOUR: Duration = Duration::from_secs(3600);

/// The database's change counter as this thread's own connection sees it: it moves when any
/// other connection commits.
fn data_version(watch: &comptoir_core::Store) -> Option<i64> {
    watch.conn().query_row("PRAGMA data_version", [], |r| r.get(0)).ok()
}

pub fn spawn<R: Runtime>(app: AppHandle<R>) {
    let spawned = std::thread::Builder::new().name("backups".into()).spawn(move || {
        let state = app.state::<AppState>();
        let data = app.state::<DataState>();
        if !state.is_open() {
            return;
        }
        let dir = backup::backup_dir_for(&state.db_path);
        backup::clean_leftovers(&dir);
        // Copies of files a session was importing when it stopped short (over an hour old: a
        // second window on the same shop may be uploading one now).
        comptoir_core::data::upload::clean_leftovers(
            &comptoir_core::data::upload::upload_dir_for(&state.db_path),
            std::time::SystemTime::now() - Duration::from_secs(3600),
        );
        let last = backup::list(&dir).first().map(|b| b.header.created_at);
        if last.is_none_or(|t| chrono::Utc::now() - t > chrono::Duration::hours(24)) {
            match take_backup(&state, &data, BackupReason::Start) {
                Ok(b) => tracing::info!(file = %b.file_name, "backup at start"),
                Err(e) => tracing::warn!(error = %e, "backup at start failed"),
            }
        }
        let Ok(conn) = comptoir_core::Store::open(&state.db_path) else { return };
        let mut seen = data_version(&conn);
        let mut since = Instant::now();
        loop {
            std::thread::sleep(Duration::from_secs(60));
            if since.elapsed() < HOUR {
                continue;
            }
            let now = data_version(&conn);
            if now != seen {
                match take_backup(&state, &data, BackupReason::Hourly) {
                    Ok(b) => tracing::info!(file = %b.file_name, "hourly backup"),
                    Err(e) => tracing::warn!(error = %e, "hourly backup failed"),
                }
                seen = now;
            }
            since = Instant::now();
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the backup thread could not start");
    }
}

/// The backup taken when the app closes; the copies of files being imported removed.
pub fn on_exit<R: Runtime>(app: &AppHandle<R>) {
    let (Some(state), Some(data)) = (app.try_state::<AppState>(), app.try_state::<DataState>()) else { return };
    // This session's copies only (another window's upload may be in progress).
    data.close_all();
    if state.is_open() {
        if let Err(e) = take_backup(&state, &data, BackupReason::Close) {
            tracing::warn!(error = %e, "backup on close failed");
        }
    }
}
