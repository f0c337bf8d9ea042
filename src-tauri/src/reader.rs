//! The app's mailbox reader: one background thread with its own connection to the database
//! file. It reads the mailbox (and the sending service's bounce API) a few seconds after the
//! start — never before the first screen — then every 15 minutes while the app is open, and
//! at once when the settings change. "Read now" runs on the command's own thread; a lock makes
//! sure two readings never run at the same time.

use comptoir_core::campaigns::secrets::Secrets;
use comptoir_core::mailbox::run::{read_now, RunReport};
use comptoir_core::Store;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub const EVERY: Duration = Duration::from_secs(15 * 60);
const AFTER_START: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct Reader {
    /// Held for the whole of a reading.
    busy: Mutex<()>,
    woken: Mutex<bool>,
    wake: Condvar,
}

impl Reader {
    /// Read now, on this thread (waits for a reading in progress to end first).
    pub fn read_now(&self, db: &Path, secrets: &Secrets) -> comptoir_core::Result<Vec<RunReport>> {
        let _busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let mut store = Store::open(db)?;
        read_now(&mut store, secrets)
    }

    /// Ask the background reader to read at once (the settings changed).
    pub fn wake(&self) {
        *self.woken.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.wake.notify_all();
    }

    fn sleep(&self, d: Duration) {
        let guard = self.woken.lock().unwrap_or_else(|p| p.into_inner());
        let (mut woken, _) = self.wake.wait_timeout_while(guard, d, |w| !*w).unwrap_or_else(|p| p.into_inner());
        *woken = false;
    }
}

pub fn spawn(db: PathBuf, secrets: Arc<Secrets>, reader: Arc<Reader>) {
    let spawned = std::thread::Builder::new().name("mailbox-reader".into()).spawn(move || {
        reader.sleep(AFTER_START);
        loop {
            match reader.read_now(&db, &secrets) {
                Ok(reports) => {
                    for r in reports.iter().filter(|r| !r.ok) {
                        tracing::warn!(source = %r.source, problem = ?r.problem, "mailbox reading failed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "mailbox reading"),
            }
            reader.sleep(EVERY);
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the mailbox reader could not start");
    }
}
