//! The app's campaign sender: one background thread with its own connection to the database
//! file, holding the sender lock for as long as the app runs. It starts scheduled campaigns
//! when their time comes, resumes quota pauses, picks A/B winners, and sends batch after batch
//! of the running campaign within the provider's limits. The window only reads progress.

use comptoir_core::campaigns::engine::{Engine, EngineOptions, Step};
use comptoir_core::campaigns::lock::SenderLock;
use comptoir_core::campaigns::secrets::Secrets;
use comptoir_core::campaigns::smtp::{limits_for, transport_for};
use comptoir_core::campaigns::smtp::{outbox_dir, Transport};
use comptoir_core::Store;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why the sender cannot send, while it cannot (its lock held by another Comptoir, or not
/// possible to create; the database not opened): the campaigns screen says so instead of
/// showing a campaign that runs and never moves.
pub type Problem = Arc<Mutex<Option<comptoir_core::Error>>>;

/// `automations`: nudged when an automatic message left, so its occasion is recorded as sent
/// (journal, customer timeline) within seconds rather than at the next regular check.
pub fn spawn(db: PathBuf, secrets: Arc<Secrets>, problem: Problem, automations: crate::automation_clock::Nudge) {
    let set = move |e: Option<comptoir_core::Error>| *problem.lock().unwrap_or_else(|p| p.into_inner()) = e;
    let spawned = std::thread::Builder::new().name("campaign-sender".into()).spawn(move || {
        let _lock = loop {
            match SenderLock::acquire(&db) {
                Ok(l) => break l,
                Err(e) => {
                    tracing::warn!(error = %e, "the sender lock is not available; retrying");
                    set(Some(e));
                    std::thread::sleep(Duration::from_secs(10));
                }
            }
        };
        let mut store = match Store::open(&db) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "the campaign sender cannot open the database");
                set(Some(e));
                return;
            }
        };
        set(None);
        // Automatic messages are checked once more just before they leave (came back, points used…).
        let mut engine = Engine::new(EngineOptions {
            precheck: Some(comptoir_core::automations::checker::precheck),
            ..EngineOptions::default()
        });
        let mut transport: Option<(String, Box<dyn Transport>)> = None;
        let mut sent_since_idle = false;
        loop {
            let step = run_once(&mut store, &mut engine, &secrets, &db, &mut transport);
            if let Ok(Step::Sent { campaign, .. }) = &step {
                if is_automation(&store, *campaign) {
                    automations.store(true, std::sync::atomic::Ordering::Release);
                }
            }
            sent_since_idle |= matches!(step, Ok(Step::Sent { .. }) | Ok(Step::Changed(_)));
            let pause = match step {
                Ok(Step::Sent { .. }) | Ok(Step::Changed(_)) => Duration::ZERO,
                Ok(Step::Wait(at)) => (at - store.now())
                    .to_std()
                    .unwrap_or_default()
                    .clamp(Duration::from_millis(50), Duration::from_secs(1)),
                Ok(Step::Idle) => {
                    // Nothing to send: its pages go back while it waits, and once after sending
                    // the process's freed memory too.
                    let _ = store.release_memory();
                    if std::mem::take(&mut sent_since_idle) {
                        comptoir_core::storage::trim_heap();
                    }
                    Duration::from_millis(500)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "campaign sender");
                    Duration::from_secs(2)
                }
            };
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the campaign sender could not start");
    }
}

fn is_automation(store: &Store, campaign: i64) -> bool {
    store
        .conn()
        .query_row("SELECT kind = 'automation' FROM campaigns WHERE id = ?1", [campaign], |r| r.get(0))
        .unwrap_or(false)
}

fn run_once(
    store: &mut Store,
    engine: &mut Engine,
    secrets: &Secrets,
    db: &std::path::Path,
    transport: &mut Option<(String, Box<dyn Transport>)>,
) -> comptoir_core::Result<Step> {
    engine.tick(store)?;
    let running: i64 =
        store.conn().query_row("SELECT count(*) FROM campaigns WHERE state = 'running'", [], |r| r.get(0))?;
    if running == 0 {
        return Ok(Step::Idle);
    }
    let mail = store.mail_settings()?;
    // The transport follows the settings and the password: rebuilt when either changes.
    let policy = store.smtp_policy()?;
    let fingerprint = format!("{}#{}#{:?}", serde_json::to_string(&mail)?, secrets.generation(), policy);
    if transport.as_ref().map(|(f, _)| f != &fingerprint).unwrap_or(true) {
        match transport_for(&mail, secrets, outbox_dir(Some(db)), policy) {
            Ok(t) => *transport = Some((fingerprint, t)),
            Err(e) => {
                // Nothing can leave (no password in this session, bad settings): say so on the
                // campaign rather than spinning.
                let lang = store.settings().map(|s| s.language).unwrap_or_default();
                store.pause_running_campaigns(&e.message(lang))?;
                return Ok(Step::Idle);
            }
        }
    }
    let (_, t) = transport.as_ref().expect("set above");
    engine.step(store, t.as_ref(), &limits_for(&mail))
}
