//! The referral clock: a background thread with its own connection that approves referrals
//! whose hold is over and expires stale ones: once as soon as the app has started (referrals
//! whose hold ended while it was closed; the first screen does not wait for it), then every
//! few minutes while the app runs. A referral screen also runs it when it opens.

use comptoir_core::Store;
use std::path::PathBuf;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(300);

pub fn spawn(db: PathBuf) {
    let spawned = std::thread::Builder::new().name("referral-clock".into()).spawn(move || loop {
        match Store::open(&db).and_then(|mut s| s.process_referrals()) {
            Ok(o) if o.value.approved + o.value.expired > 0 => {
                tracing::info!(approved = o.value.approved, expired = o.value.expired, "referrals processed")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "referrals not processed"),
        }
        std::thread::sleep(EVERY);
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the referral clock could not start");
    }
}
