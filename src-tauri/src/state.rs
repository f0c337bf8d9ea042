//! The shell's state: the open database (or why it could not be opened) and where it lives.
//! The database is opened once; until then (while an older file is upgraded on a thread of its
//! own) every command answers `upgrading` and [`AppState::upgrade_status`] says where the
//! upgrade is, so the window shows that instead of staying blank.

use comptoir_core::campaigns::secrets::Secrets;
use comptoir_core::storage::{PendingUpgrade, UpgradeStage, UpgradeStatus, LATEST_VERSION};
use comptoir_core::types::Lang;
use comptoir_core::{Error, ErrorPayload, Store};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub struct AppState {
    /// Set once, when the file is open (or known not to open).
    db: OnceLock<Result<Mutex<Store>, ErrorPayload>>,
    /// The upgrade running now, if one is: what it upgrades, its stage, when it started.
    upgrade: Mutex<Option<(PendingUpgrade, UpgradeStage, Instant)>>,
    pub db_path: PathBuf,
    /// The SMTP password store (the OS keychain, or this session's memory).
    pub secrets: Arc<Secrets>,
    /// The mailbox reader (background thread and "read now").
    pub reader: Arc<crate::reader::Reader>,
    /// Why the campaign sender cannot send now, if it cannot.
    pub sender_problem: crate::sender::Problem,
    /// Set to have the automation clock check now.
    pub automation_nudge: crate::automation_clock::Nudge,
    /// The last campaign previews, by random token, for the `comptoir-preview:` page.
    previews: Mutex<VecDeque<(String, String)>>,
    /// The background WAL checkpointer, kept for as long as the app runs.
    checkpointer: Mutex<Option<comptoir_core::storage::checkpoint::Checkpointer>>,
    /// When a command last used the store, and whether its memory was given back since.
    last_used: Mutex<(Instant, bool)>,
}

const KEPT_PREVIEWS: usize = 6;

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
        let state = AppState::unopened(path);
        state.open_store(None);
        state
    }

    /// The state before its file is opened: every command answers `upgrading` until
    /// [`AppState::open_store`] has run.
    pub fn unopened(path: &Path) -> AppState {
        AppState {
            db: OnceLock::new(),
            upgrade: Mutex::new(None),
            db_path: path.to_path_buf(),
            secrets: Arc::new(Secrets::default()),
            reader: Arc::new(crate::reader::Reader::default()),
            sender_problem: Default::default(),
            automation_nudge: Default::default(),
            previews: Mutex::new(VecDeque::new()),
            checkpointer: Mutex::new(None),
            last_used: Mutex::new((Instant::now(), false)),
        }
    }

    /// Open the file, upgrading it if it is older than this app; `pending` (known before, see
    /// `storage::pending_upgrade`) makes the upgrade's stages visible to
    /// [`AppState::upgrade_status`] as it runs. Once only: a second call changes nothing.
    pub fn open_store(&self, pending: Option<PendingUpgrade>) {
        if self.db.get().is_some() {
            return;
        }
        if let Some(p) = pending {
            *self.upgrade.lock().unwrap_or_else(|e| e.into_inner()) = Some((p, UpgradeStage::Copying, Instant::now()));
        }
        let progress = |stage| {
            if let Some(u) = self.upgrade.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                u.1 = stage;
            }
        };
        let path = self.db_path.as_path();
        let db = match Store::open_with_progress(path, &progress) {
            Ok(mut store) => {
                if let Some(b) = &store.migration_backup {
                    tracing::info!(backup = %b.display(), "database upgraded; copy of the previous version kept");
                }
                // Idempotency keys older than 30 days are forgotten at each start (a retry
                // comes within seconds; the table must not grow for ever).
                match store.prune_idempotency_keys() {
                    Ok(n) if n > 0 => tracing::info!(forgotten = n, "old idempotency keys pruned"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "old idempotency keys could not be pruned"),
                }
                Ok(Mutex::new(store))
            }
            Err(e) => {
                tracing::error!(error = %e, path = %path.display(), "cannot open the database");
                Err(e.to_payload(pending.map_or_else(fallback_lang, |p| p.lang)))
            }
        };
        // The store first, then the end of the upgrade: whoever sees no upgrade finds the
        // store (or why it did not open).
        let _ = self.db.set(db);
        *self.upgrade.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Where the upgrade of the file is, while one runs.
    pub fn upgrade_status(&self) -> Option<UpgradeStatus> {
        let u = self.upgrade.lock().unwrap_or_else(|e| e.into_inner());
        u.as_ref().map(|(p, stage, started)| UpgradeStatus {
            from_version: p.from_version,
            to_version: LATEST_VERSION,
            stage: *stage,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            lang: p.lang,
        })
    }

    /// The store, or why there is none (yet).
    fn store(&self) -> Result<&Mutex<Store>, ErrorPayload> {
        match self.db.get() {
            Some(db) => db.as_ref().map_err(Clone::clone),
            None => {
                let lang = self.upgrade_status().map_or_else(fallback_lang, |u| u.lang);
                Err(Error::Upgrading.to_payload(lang))
            }
        }
    }

    /// Have the automation clock check now (an automation turned on, a decision taken).
    pub fn nudge_automations(&self) {
        self.automation_nudge.store(true, std::sync::atomic::Ordering::Release);
    }

    pub fn keep_checkpointer(&self, c: comptoir_core::storage::checkpoint::Checkpointer) {
        *self.checkpointer.lock().unwrap_or_else(|e| e.into_inner()) = Some(c);
    }

    pub fn is_open(&self) -> bool {
        self.db.get().is_some_and(Result::is_ok)
    }

    /// Keep a preview's HTML and return the token that serves it.
    pub fn keep_preview(&self, html: String) -> String {
        let token = comptoir_core::campaigns::store::new_token();
        let mut p = self.previews.lock().unwrap_or_else(|e| e.into_inner());
        p.push_back((token.clone(), html));
        while p.len() > KEPT_PREVIEWS {
            p.pop_front();
        }
        token
    }

    pub fn preview(&self, token: &str) -> Option<String> {
        let p = self.previews.lock().unwrap_or_else(|e| e.into_inner());
        p.iter().find(|(t, _)| t == token).map(|(_, h)| h.clone())
    }

    /// Refuse, with the message named by `key`, work that the interface starts on a
    /// connection of its own (a test send, "read the mailbox now") while a restore is
    /// extracting its backup: the window's own store refuses its writes then
    /// (`Store::pause_writes`), and what such work records would land in the content the
    /// restore replaces.
    pub fn refuse_while_restoring(&self, key: &'static str) -> Result<(), ErrorPayload> {
        self.with(|s| if s.writes_paused() { Err(comptoir_core::Error::conflict(key)) } else { Ok(()) })
    }

    /// Run `f` on the store; a core error becomes `{code, message}` in the shop's language.
    pub fn with<T>(&self, f: impl FnOnce(&mut Store) -> comptoir_core::Result<T>) -> Result<T, ErrorPayload> {
        let mutex = self.store()?;
        let mut store = mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.mark_used();
        let result = f(&mut store);
        // Idle is counted from the end of a command (an import can take seconds).
        self.mark_used();
        result.map_err(|e| {
            let lang = store.settings().map(|s| s.language).unwrap_or_else(|_| fallback_lang());
            report(&e);
            e.to_payload(lang)
        })
    }
}

impl AppState {
    fn mark_used(&self) {
        *self.last_used.lock().unwrap_or_else(|p| p.into_inner()) = (Instant::now(), false);
    }

    /// Give the store's page cache back once no command has used it for `idle` (once per idle
    /// spell), then the process's freed memory to the system. It never waits for the store,
    /// and the store is held only for the cache's release, never for the trim. The next
    /// command reads its pages again from the system's file cache.
    pub fn release_memory_if_idle(&self, idle: Duration) {
        let Ok(mutex) = self.store() else { return };
        {
            let last = self.last_used.lock().unwrap_or_else(|p| p.into_inner());
            if last.1 || last.0.elapsed() < idle {
                return;
            }
        }
        let released = match mutex.try_lock() {
            Ok(store) => store.release_memory().is_ok(),
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().release_memory().is_ok(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        if !released {
            return;
        }
        {
            let mut last = self.last_used.lock().unwrap_or_else(|p| p.into_inner());
            // A command may have come in between: then this spell is not over.
            if last.0.elapsed() >= idle {
                last.1 = true;
            }
        }
        comptoir_core::storage::trim_heap();
    }

    /// The sender's problem in the shop's language, if it has one.
    pub fn sender_problem(&self) -> Result<Option<ErrorPayload>, ErrorPayload> {
        let lang = self.with(|s| s.settings().map(|x| x.language))?;
        let problem = self.sender_problem.lock().unwrap_or_else(|p| p.into_inner());
        Ok(problem.as_ref().map(|e| e.to_payload(lang)))
    }
}

fn report(e: &Error) {
    match e.code() {
        "internal" | "busy" => tracing::error!(error = %e, "command failed"),
        _ => tracing::debug!(error = %e, "command refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::AppState;
    use comptoir_core::storage::{pending_upgrade, UpgradeStage, LATEST_VERSION};
    use std::sync::Arc;
    use std::time::Duration;

    fn released(state: &AppState) -> bool {
        state.last_used.lock().unwrap().1
    }

    #[test]
    fn the_page_cache_goes_back_once_per_idle_spell_and_never_makes_a_command_wait() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::open(&dir.path().join("shop.db"));
        state.with(|s| s.stats().map(|_| ())).unwrap();
        state.release_memory_if_idle(Duration::from_secs(3600));
        assert!(!released(&state), "not before the store has been idle long enough");
        // A command holding the store: the release does not wait for it, nor count the spell.
        state
            .with(|_| {
                state.release_memory_if_idle(Duration::ZERO);
                Ok(())
            })
            .unwrap();
        assert!(!released(&state), "a store in use is left alone (a command came: a new spell)");
        state.release_memory_if_idle(Duration::ZERO);
        assert!(released(&state), "an idle store gives its cache back");
        state.with(|s| s.stats().map(|_| ())).unwrap();
        assert!(!released(&state), "a command starts a new spell");
    }

    /// A file one version behind (in WAL mode, as the app leaves its files), holding one
    /// customer, the shop in English.
    fn older_file(path: &std::path::Path) {
        let c = comptoir_core::storage::create_file_at_version(path, LATEST_VERSION - 1).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode = WAL;
             INSERT INTO customers (first_name, last_name, first_fold, last_fold, created_at, updated_at)
               VALUES ('Zoé', 'Côté', 'zoe', 'cote', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
             INSERT INTO settings (key, value) VALUES ('locale', 'en');",
        )
        .unwrap();
    }

    /// Another program holding the file's write lock, so the upgrade waits in its steps.
    fn hold_write_lock(path: &std::path::Path) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(path).unwrap();
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        c
    }

    fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
        let t = std::time::Instant::now();
        while !f() {
            assert!(t.elapsed() < Duration::from_secs(20), "waited too long for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn while_an_older_file_is_upgraded_commands_answer_upgrading_and_the_status_says_where_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        older_file(&path);
        let pending = pending_upgrade(&path).expect("one version behind: an upgrade is pending");
        let state = Arc::new(AppState::unopened(&path));
        let refused = state.with(|s| s.stats()).unwrap_err();
        assert_eq!(refused.code, "upgrading", "before the file is open, a command is told why it waits");
        assert!(!state.is_open(), "no background work starts on a file not yet open");
        assert_eq!(state.upgrade_status(), None, "nothing said before the upgrade starts");

        let lock = hold_write_lock(&path);
        let opener = {
            let state = state.clone();
            std::thread::spawn(move || state.open_store(Some(pending)))
        };
        wait_for("the upgrade's steps", || state.upgrade_status().is_some_and(|u| u.stage == UpgradeStage::Upgrading));
        let status = state.upgrade_status().unwrap();
        assert_eq!((status.from_version, status.to_version), (LATEST_VERSION - 1, LATEST_VERSION));
        assert_eq!(status.lang, comptoir_core::types::Lang::En, "the screen speaks the shop's language");
        let refused = state.with(|s| s.stats()).unwrap_err();
        assert_eq!(refused.code, "upgrading", "while it runs, a command is refused, not kept waiting");
        assert!(refused.message.contains("being updated"), "in the shop's language: {}", refused.message);
        drop(lock);
        opener.join().unwrap();

        assert_eq!(state.upgrade_status(), None, "the upgrade is over");
        assert!(state.is_open());
        let customers = state.with(|s| s.stats()).unwrap().customers_active;
        assert_eq!(customers, 1, "the customer came through the upgrade");
        state.open_store(None);
        assert!(state.is_open(), "a second open changes nothing");
    }

    #[test]
    fn an_upgrade_that_fails_ends_its_status_and_every_command_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        older_file(&path);
        let pending = pending_upgrade(&path).unwrap();
        let state = AppState::unopened(&path);
        // Held for longer than the upgrade waits for it (5 s).
        let lock = hold_write_lock(&path);
        state.open_store(Some(pending));
        drop(lock);
        assert_eq!(state.upgrade_status(), None, "a failed upgrade is not shown as still running");
        let refused = state.with(|s| s.stats()).unwrap_err();
        assert_eq!(refused.code, "busy", "the reason, not \"upgrading\" for ever: {refused:?}");
        assert!(!state.is_open());
        let v: u32 =
            rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, LATEST_VERSION - 1, "the file is left as it was");
    }
}
