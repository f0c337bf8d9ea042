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
        state.open_store(None, |_| {});
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

    /// Say that an upgrade of the file begins: called before its thread starts, so that no
    /// one ever finds neither an upgrade under way nor a store.
    pub fn begin_upgrade(&self, p: PendingUpgrade) {
        let mut u = self.upgrade.lock().unwrap_or_else(|e| e.into_inner());
        if u.is_none() && self.db.get().is_none() {
            *u = Some((p, UpgradeStage::Copying, Instant::now()));
        }
    }

    /// Open the file, upgrading it if it is older than this app; `pending` (known before, see
    /// `storage::pending_upgrade`) makes the upgrade's stages visible to
    /// [`AppState::upgrade_status`] as it runs. `prepare` runs on the open store before any
    /// command can use it. Once only: a second call changes nothing.
    pub fn open_store(&self, pending: Option<PendingUpgrade>, prepare: impl FnOnce(&mut Store)) {
        if self.db.get().is_some() {
            return;
        }
        if let Some(p) = pending {
            self.begin_upgrade(p);
        }
        let lang = pending.map_or_else(fallback_lang, |p| p.lang);
        // However this ends (a panic, in a debug build), the window hears that the file did not
        // open instead of "upgrading" for ever.
        let _settled = Settled(self, lang);
        let path = self.db_path.as_path();
        // The copies an interrupted upgrade left, as large as the file, go first.
        comptoir_core::storage::remove_abandoned_copies(path, std::time::SystemTime::now());
        let progress = |stage| {
            if let Some(u) = self.upgrade.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                u.1 = stage;
            }
            hold_if_asked(stage);
        };
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
                prepare(&mut store);
                Ok(Mutex::new(store))
            }
            Err(e) => {
                tracing::error!(error = %e, path = %path.display(), "cannot open the database");
                Err(e.to_payload(lang))
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
        // Nothing to give back before the file is open (or when it did not open).
        let Some(Ok(mutex)) = self.db.get() else { return };
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

/// Ends an opening however it ends: a file still not open (the opening panicked) is said to
/// have failed, and no upgrade is shown as running any more.
struct Settled<'a>(&'a AppState, Lang);

impl Drop for Settled<'_> {
    fn drop(&mut self) {
        let failed = Error::Io(std::io::Error::other("the opening of the file stopped"));
        let _ = self.0.db.set(Err(failed.to_payload(self.1)));
        *self.0.upgrade.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// The end-to-end test of the upgrade screen holds an upgrade before its steps while the file
/// named by `COMPTOIR_TEST_UPGRADE_HOLD` exists (two minutes at most), so the screen can be
/// checked whatever the machine's speed. Debug builds only: a release build has no such hook.
#[cfg(debug_assertions)]
fn hold_if_asked(stage: UpgradeStage) {
    let Some(hold) = std::env::var_os("COMPTOIR_TEST_UPGRADE_HOLD") else { return };
    let started = Instant::now();
    while stage == UpgradeStage::Upgrading && Path::new(&hold).exists() && started.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(not(debug_assertions))]
fn hold_if_asked(_: UpgradeStage) {}

fn report(e: &Error) {
    match e.code() {
        "internal" | "busy" => tracing::error!(error = %e, "command failed"),
        _ => tracing::debug!(error = %e, "command refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::{fallback_lang, AppState, Lang};
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

    /// The language a test shop speaks: the other one than the fallback of this environment,
    /// so a message in the shop's language cannot come from the fallback by chance.
    fn shop_lang() -> Lang {
        match fallback_lang() {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }

    /// Words only the shop's language has in `key`'s message.
    fn in_shop_lang(key: &str) -> &'static str {
        match (shop_lang(), key) {
            (Lang::En, "upgrading") => "being updated",
            (Lang::Fr, "upgrading") => "mise à jour",
            (Lang::En, "busy") => "The database is busy",
            (Lang::Fr, "busy") => "La base de données est occupée",
            (Lang::En, _) => "Something unexpected",
            (Lang::Fr, _) => "Un problème inattendu",
        }
    }

    /// A file one version behind (in WAL mode, as the app leaves its files), holding one
    /// customer, the shop in [`shop_lang`].
    fn older_file(path: &std::path::Path) {
        let c = comptoir_core::storage::create_file_at_version(path, LATEST_VERSION - 1).unwrap();
        c.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             INSERT INTO customers (first_name, last_name, first_fold, last_fold, created_at, updated_at)
               VALUES ('Zoé', 'Côté', 'zoe', 'cote', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
             INSERT INTO settings (key, value) VALUES ('locale', '{}');",
            shop_lang().code()
        ))
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
        state.begin_upgrade(pending);
        assert!(
            state.upgrade_status().is_some(),
            "said before its thread starts: never neither an upgrade nor a store"
        );

        let lock = hold_write_lock(&path);
        let opener = {
            let state = state.clone();
            std::thread::spawn(move || {
                state.open_store(Some(pending), |store| {
                    // Prepared before anyone else can use the store.
                    let seen = state.with(|s| s.stats()).unwrap_err();
                    assert_eq!(seen.code, "upgrading", "the store is not given out before it is prepared");
                    store
                        .conn()
                        .execute("INSERT INTO settings (key, value) VALUES ('shop_name', 'Préparée')", [])
                        .unwrap();
                })
            })
        };
        wait_for("the upgrade's steps", || state.upgrade_status().is_some_and(|u| u.stage == UpgradeStage::Upgrading));
        let status = state.upgrade_status().unwrap();
        assert_eq!((status.from_version, status.to_version), (LATEST_VERSION - 1, LATEST_VERSION));
        assert_eq!(status.lang, shop_lang(), "the screen speaks the shop's language");
        let refused = state.with(|s| s.stats()).unwrap_err();
        assert_eq!(refused.code, "upgrading", "while it runs, a command is refused, not kept waiting");
        assert!(refused.message.contains(in_shop_lang("upgrading")), "in the shop's language: {}", refused.message);
        // From now on, whenever no upgrade is said to run, the store (or why it did not open)
        // is there: the window never sees "upgrading" with nothing upgrading.
        let watcher = {
            let state = state.clone();
            let since = std::time::Instant::now();
            std::thread::spawn(move || loop {
                assert!(since.elapsed() < Duration::from_secs(60), "the upgrade never ended");
                let said = state.upgrade_status().is_some();
                if !said {
                    let answer = state.with(|s| s.stats().map(|_| ()));
                    assert!(
                        answer.as_ref().err().is_none_or(|e| e.code != "upgrading"),
                        "no upgrade said, yet {answer:?}"
                    );
                    return;
                }
                std::hint::spin_loop();
            })
        };
        drop(lock);
        opener.join().unwrap();
        watcher.join().unwrap();

        assert_eq!(state.upgrade_status(), None, "the upgrade is over");
        assert!(state.is_open());
        let customers = state.with(|s| s.stats()).unwrap().customers_active;
        assert_eq!(customers, 1, "the customer came through the upgrade");
        assert_eq!(state.with(|s| s.settings()).unwrap().shop_name, "Préparée", "what was prepared is there");
        state.open_store(None, |_| panic!("a second open prepares nothing"));
        assert!(state.is_open(), "a second open changes nothing");
    }

    #[test]
    fn an_upgrade_that_fails_ends_its_status_and_every_command_says_why_in_the_shops_language() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        older_file(&path);
        let pending = pending_upgrade(&path).unwrap();
        let state = AppState::unopened(&path);
        // Held for longer than the upgrade waits for it (5 s).
        let lock = hold_write_lock(&path);
        state.open_store(Some(pending), |_| panic!("a file that did not open is not prepared"));
        drop(lock);
        assert_eq!(state.upgrade_status(), None, "a failed upgrade is not shown as still running");
        let refused = state.with(|s| s.stats()).unwrap_err();
        assert_eq!(refused.code, "busy", "the reason, not \"upgrading\" for ever: {refused:?}");
        assert!(refused.message.contains(in_shop_lang("busy")), "in the shop's language: {}", refused.message);
        assert!(!state.is_open());
        let v: u32 =
            rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, LATEST_VERSION - 1, "the file is left as it was");
    }

    #[test]
    fn an_opening_that_panics_says_the_file_did_not_open_instead_of_upgrading_for_ever() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        older_file(&path);
        let pending = pending_upgrade(&path).unwrap();
        let state = AppState::unopened(&path);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            state.open_store(Some(pending), |_| panic!("something went wrong while preparing"))
        }));
        assert!(panicked.is_err());
        assert_eq!(state.upgrade_status(), None, "no upgrade shown as running");
        let refused = state.with(|s| s.stats()).unwrap_err();
        assert_eq!(refused.code, "internal", "said as a failure: {refused:?}");
        assert!(refused.message.contains(in_shop_lang("internal")), "in the shop's language: {}", refused.message);
    }

    #[test]
    fn every_start_removes_the_copy_an_interrupted_upgrade_left_even_with_no_upgrade_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        drop(AppState::open(&path));
        // Its writer stopped: the lock file is there, nobody holds it.
        let abandoned = dir.path().join("shop.db.v18-20261201T090000Z.bak.4242-7.tmp");
        let lock = dir.path().join("shop.db.v18-20261201T090000Z.bak.4242-7.tmp.lock");
        std::fs::write(&abandoned, vec![0u8; 4096]).unwrap();
        std::fs::write(&lock, b"").unwrap();
        assert_eq!(pending_upgrade(&path), None, "the file is current: no upgrade will run");
        let state = AppState::open(&path);
        assert!(state.is_open());
        assert!(!abandoned.exists() && !lock.exists(), "the abandoned copy went at this start");
    }

    #[test]
    fn a_backup_asked_for_during_an_upgrade_is_refused_as_upgrading_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        older_file(&path);
        let state = AppState::unopened(&path);
        state.begin_upgrade(pending_upgrade(&path).unwrap());
        let data = crate::commands::data::DataState::default();
        let refused =
            crate::commands::data::take_backup(&state, &data, comptoir_core::data::backup::BackupReason::Manual)
                .unwrap_err();
        assert_eq!(refused.code(), "upgrading", "said as the upgrade it waits for, not as an unexpected problem");
        assert!(!comptoir_core::data::backup::backup_dir_for(&path).exists(), "nothing written");
    }
}
