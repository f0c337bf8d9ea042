//! The automation clock: a background thread with its own connection that checks every
//! automation (`automations::checker::tick`) a moment after the app starts (catching up on
//! what happened while it was closed), every few minutes while it runs, and within seconds of
//! a sale or a customer change (a cheap look at the newest purchase and customer edit) or of
//! a nudge from the window (an automation turned on, a decision taken), and again a few seconds
//! after a check that stopped at its budget with more due. Messages it queues
//! leave through the campaign sender. Two copies of the app checking at once make each
//! occasion once: its key is unique in the database.

use comptoir_core::Store;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FIRST_DELAY: Duration = Duration::from_secs(2);
const LOOK: Duration = Duration::from_secs(3);
const EVERY: Duration = Duration::from_secs(180);

/// Set by a command to have the clock check now.
pub type Nudge = Arc<AtomicBool>;

pub fn spawn(db: PathBuf, nudge: Nudge) {
    let spawned = std::thread::Builder::new().name("automation-clock".into()).spawn(move || {
        std::thread::sleep(FIRST_DELAY);
        let mut store = match Store::open(&db) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "the automation clock cannot open the database");
                return;
            }
        };
        let mut seen: Option<(Option<i64>, Option<String>)> = None;
        let mut last: Option<Instant> = None;
        loop {
            let now_seen = changes(&store);
            let changed = now_seen.is_some() && now_seen != seen;
            let due = last.is_none_or(|t| t.elapsed() >= EVERY);
            if due || changed || nudge.swap(false, Ordering::AcqRel) {
                let more = match comptoir_core::automations::checker::tick(&mut store) {
                    Ok(r) => {
                        if r.created + r.queued + r.held_out + r.expired + r.skipped + r.awaiting > 0 {
                            tracing::info!(?r, "automations checked");
                        }
                        r.more
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "automations not checked");
                        false
                    }
                };
                seen = now_seen;
                // A catch-up larger than one check's budget goes on at the next look (a few
                // seconds), not minutes later.
                last = if more { None } else { Some(Instant::now()) };
                let _ = store.release_memory();
                comptoir_core::storage::trim_heap();
            } else {
                // Its pages go back between looks (the next one reads them again from the
                // system's file cache).
                let _ = store.release_memory();
            }
            std::thread::sleep(LOOK);
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the automation clock could not start");
    }
}

/// The newest purchase and the newest customer edit (two indexed look-ups).
fn changes(store: &Store) -> Option<(Option<i64>, Option<String>)> {
    store
        .conn()
        .query_row("SELECT (SELECT max(id) FROM purchases), (SELECT max(updated_at) FROM customers)", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .ok()
}
