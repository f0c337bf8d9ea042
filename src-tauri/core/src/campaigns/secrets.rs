//! The SMTP password lives in the operating system's keychain (Keychain on macOS, Credential
//! Manager on Windows, the Secret Service — GNOME Keyring, KWallet — on Linux), never in the
//! database, a log, an export or the web view.
//!
//! Fallback, explicit: where no keychain answers (a headless machine, a desktop without a
//! Secret Service), the password is kept in this process's memory only, for this session; the
//! settings screen says so and asks for it again next time. Tools without a window
//! (`comptoir-cli`) may also read it from the `COMPTOIR_SMTP_PASSWORD` environment variable.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use ts_rs::TS;

const SERVICE: &str = "fr.comptoir.desktop.smtp";
pub const ENV_PASSWORD: &str = "COMPTOIR_SMTP_PASSWORD";

/// Where the password is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SecretPlace {
    Keychain,
    /// No keychain answered: memory only, asked again at the next start.
    SessionOnly,
    Environment,
}

#[derive(Default)]
pub struct Secrets {
    session: Mutex<HashMap<String, String>>,
    /// Tests and headless tools can refuse the keychain outright.
    pub keychain_disabled: bool,
    /// Counts changes, so a sender rebuilds its connections after a new password.
    generation: AtomicU64,
}

/// The keychain entry of an SMTP account.
pub fn account(username: &str, host: &str) -> String {
    format!("{username}@{host}")
}

impl Secrets {
    pub fn without_keychain() -> Self {
        Secrets { keychain_disabled: true, ..Default::default() }
    }

    fn entry(&self, account: &str) -> Option<keyring::Entry> {
        if self.keychain_disabled {
            return None;
        }
        keyring::Entry::new(SERVICE, account).ok()
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Store the password; says where it went.
    pub fn set(&self, account: &str, password: &str) -> SecretPlace {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(e) = self.entry(account) {
            match e.set_password(password) {
                Ok(()) => {
                    self.session.lock().unwrap_or_else(|p| p.into_inner()).remove(account);
                    return SecretPlace::Keychain;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "no keychain available; the SMTP password is kept for this session only")
                }
            }
        }
        self.session.lock().unwrap_or_else(|p| p.into_inner()).insert(account.to_string(), password.to_string());
        SecretPlace::SessionOnly
    }

    /// The password and where it came from.
    pub fn get(&self, account: &str) -> Option<(String, SecretPlace)> {
        if let Some(p) = self.session.lock().unwrap_or_else(|p| p.into_inner()).get(account) {
            return Some((p.clone(), SecretPlace::SessionOnly));
        }
        if let Some(e) = self.entry(account) {
            if let Ok(p) = e.get_password() {
                return Some((p, SecretPlace::Keychain));
            }
        }
        std::env::var(ENV_PASSWORD).ok().filter(|p| !p.is_empty()).map(|p| (p, SecretPlace::Environment))
    }

    pub fn forget(&self, account: &str) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.session.lock().unwrap_or_else(|p| p.into_inner()).remove(account);
        if let Some(e) = self.entry(account) {
            let _ = e.delete_credential();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_keychain_the_password_stays_in_memory_for_the_session() {
        let s = Secrets::without_keychain();
        assert_eq!(s.set("lea@smtp.example.com", "s3cret"), SecretPlace::SessionOnly, "the fallback is said");
        assert_eq!(
            s.get("lea@smtp.example.com"),
            Some(("s3cret".into(), SecretPlace::SessionOnly)),
            "the password is there for this session"
        );
        s.forget("lea@smtp.example.com");
        assert!(s.get("lea@smtp.example.com").is_none_or(|(_, place)| place == SecretPlace::Environment), "forgotten");
        assert!(
            Secrets::without_keychain().get("other@x").is_none_or(|(_, p)| p == SecretPlace::Environment),
            "a new session does not know it"
        );
    }
}
