//! Start-up and housekeeping work, off the first screen's path: one thread with its own
//! connection to the database file that, a moment after the window opens and again whenever
//! the local day changes while the app stays open, writes off the points that expired
//! (incrementally) and judges the tiers whose kept period ended; and that brings the dashboard's per-day figures up to date,
//! and recomputes the customers' scores and the programme's return when the data changed
//! (at most every `SCORES_EVERY`, and at each new day). Each step runs in short transactions,
//! so a sale at the till never waits long behind it; the window never waits for any of it.
//! A second, short-lived thread reads the till's pages once after start (`spawn_till_warm`).

use comptoir_core::analytics::scores::inputs_fingerprint;
use comptoir_core::Store;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Let the first screen paint before starting.
const FIRST_DELAY: Duration = Duration::from_millis(1500);
const TICK: Duration = Duration::from_secs(2);
const SCORES_EVERY: Duration = Duration::from_secs(30);

pub fn spawn(db: PathBuf, checkpointing: bool) {
    let spawned = std::thread::Builder::new().name("numbers".into()).spawn(move || {
        std::thread::sleep(FIRST_DELAY);
        let mut store = match Store::open(&db) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "the background work cannot open the database");
                return;
            }
        };
        // Only with the checkpointer running: a log nobody copies would grow, and the next
        // commit keeping SQLite's own rule (a sale) would copy all of it.
        if checkpointing {
            if let Err(e) = store.leave_checkpoints_to_background() {
                tracing::warn!(error = %e, "background connection checkpoints at commit");
            }
        }
        let mut expiry_day = None;
        // Scores computed today from the same data stand (nothing to redo at start-up).
        let mut scored: Option<(String, Instant, chrono::NaiveDate)> = match store.scores_up_to_date() {
            Ok(true) => inputs_fingerprint(store.conn())
                .ok()
                .map(|f| (f, Instant::now(), comptoir_core::analytics::calendar::local_date(store.now()))),
            _ => None,
        };
        loop {
            let mut worked = false;
            // The scores count local days: they are redone at the shop's midnight.
            let today = comptoir_core::analytics::calendar::local_date(store.now());
            // The loyalty day follows the shop's local calendar (checked at every tick, cheap).
            let local_day = comptoir_core::analytics::calendar::local_date(store.now());
            if expiry_day != Some(local_day) {
                worked = true;
                let t = Instant::now();
                match store.run_loyalty_day() {
                    Ok(r) => {
                        tracing::info!(
                            points = r.expired_points,
                            tiers_lost = r.tiers_lost,
                            ms = t.elapsed().as_millis() as u64,
                            "loyalty day run"
                        );
                        expiry_day = Some(local_day);
                    }
                    Err(e) => tracing::warn!(error = %e, "loyalty day not run"),
                }
            }
            match store.days_behind() {
                Ok(true) => {
                    worked = true;
                    let t = Instant::now();
                    match store.refresh_days() {
                        Ok(r) => tracing::debug!(
                            days = r.days,
                            all = r.rebuilt_all,
                            ms = t.elapsed().as_millis() as u64,
                            "dashboard days"
                        ),
                        Err(e) => tracing::warn!(error = %e, "dashboard days not refreshed"),
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "dashboard days not checked"),
            }
            if let Ok(f) = inputs_fingerprint(store.conn()) {
                let due = match &scored {
                    None => true,
                    Some((prev, at, day)) => *day != today || (*prev != f && at.elapsed() >= SCORES_EVERY),
                };
                let summary_missing = store.scores_summary().map(|s| s.is_none()).unwrap_or(true);
                if due || summary_missing {
                    worked = true;
                    let t = Instant::now();
                    let result = store.refresh_scores().and_then(|r| store.refresh_insights().map(|_| r));
                    match result {
                        Ok(r) => {
                            tracing::info!(
                                customers = r.customers,
                                written = r.written,
                                ms = t.elapsed().as_millis() as u64,
                                "scores"
                            );
                            scored = Some((f, Instant::now(), today));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "scores not refreshed");
                            scored = Some((f, Instant::now(), today));
                        }
                    }
                }
            }
            // Its pages go back between rounds (the next one reads them again from the system's
            // file cache), and after a round of real work the process's freed memory too.
            let _ = store.release_memory();
            if worked {
                comptoir_core::storage::trim_heap();
            }
            std::thread::sleep(TICK);
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the background work could not start");
    }
}

/// After the first screen, read the till's b-trees once on a connection of its own, so the
/// first look-ups at the till find their pages in the system's cache rather than on the disk
/// (`storage::warm`). Reads only, without opening the shop as a store; ends when done.
pub fn spawn_till_warm(db: PathBuf) {
    let spawned = std::thread::Builder::new().name("till-pages".into()).spawn(move || {
        std::thread::sleep(FIRST_DELAY);
        let t = Instant::now();
        match comptoir_core::storage::warm::warm_till_pages(&db) {
            Ok(w) => tracing::info!(
                whole_file = w.whole_file,
                btrees = w.btrees,
                mib = w.bytes / (1024 * 1024),
                ms = t.elapsed().as_millis() as u64,
                "till pages read"
            ),
            Err(e) => tracing::warn!(error = %e, "till pages not read ahead"),
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the till's read-ahead could not start");
    }
}
