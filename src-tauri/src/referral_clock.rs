//! The referral clock: a background thread with its own connection that approves referrals
//! whose hold is over and expires stale ones, every few minutes while the app runs (the
//! same work also runs at start and when a referral screen opens).

use comptoir_core::Store;
use std::path::PathBuf;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(300);

pub fn spawn(db: PathBuf) {
    let spawned = std::thread::Builder::new().name("referral-clock".into()).spawn(move || loop {
        std::thread::sleep(EVERY);
        match Store::open(&db).and_then(|mut s| s.process_referrals()) {
            Ok(o) if o.value.approved + o.value.expired > 0 => {
                tracing::info!(approved = o.value.approved, expired = o.value.expired, "referrals processed")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "referrals not processed"),
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the referral clock could not start");
    }
}
