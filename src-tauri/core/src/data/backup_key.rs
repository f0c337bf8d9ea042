//! Encrypted backups without keeping the passphrase: when the merchant chooses a passphrase,
//! Comptoir makes a key pair (age X25519); the public half encrypts every backup — the
//! automatic ones too, taken while nobody is there to type anything — and the private half is
//! kept only encrypted with the passphrase (age's scrypt), inside each backup file's header
//! and in the settings. So a backup is restored with the passphrase alone, on any computer,
//! even when the live file is lost; the passphrase itself is never written anywhere (nor sent
//! to the keychain, which a headless till or a Linux desktop without a Secret Service may not
//! have).
//!
//! Invariants: the passphrase and the private key in clear never reach the database, a log or
//! a file; a new passphrase makes a new key pair (backups taken before keep the key, and so the
//! passphrase, they were made with: their own header carries it); the key lives in its own
//! settings row (`backup_key`), which a restore carries over from the live file — the way this
//! computer's backups are made is not part of the data a backup brings back.

use crate::error::{Error, FieldError, Result};
use crate::storage::Store;
use age::secrecy::{ExposeSecret, SecretString};
use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Shortest passphrase accepted: a merchant's sentence, not a PIN (it protects every copy of
/// the customer file that leaves the shop on a USB stick or in a cloud folder).
pub const MIN_PASSPHRASE_CHARS: usize = 10;
const MAX_PASSPHRASE_CHARS: usize = 200;
const SETTINGS_KEY: &str = "backup_key";

/// The key of encrypted backups, as kept in the settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupKey {
    /// The public half (`age1…`): encrypts.
    pub recipient: String,
    /// The private half, encrypted with the passphrase (an age scrypt file, in hex).
    pub wrapped: String,
    pub set_at: DateTime<Utc>,
}

/// How a backup is written.
#[derive(Debug, Clone, Copy)]
pub enum Encryption<'a> {
    None,
    /// Encrypted with a passphrase typed now (the command line; a restore's undo copy of a
    /// backup that was encrypted so).
    Passphrase(&'a str),
    /// Encrypted to the shop's key: no passphrase needed to write.
    Key(&'a BackupKey),
}

/// Why a wrapped key does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    WrongPassphrase,
    Corrupted,
    /// The passphrase asks more work than this app allows ([`MAX_SCRYPT_WORK`]): not made by
    /// Comptoir, or altered.
    TooMuchWork,
}

/// The scrypt work factor (N = 2^k) a passphrase is stretched with: 2^18 takes 256 MiB and
/// about a second on a slow laptop. Fixed rather than calibrated to the computer (age's
/// default), so a key made on a fast desktop opens on the laptop that replaces it.
pub const SCRYPT_WORK: u8 = 18;

/// The largest scrypt work factor a passphrase is opened with, whatever this computer's speed:
/// 2^21 takes 2 GiB. Age's own limit follows the computer (16× its second: 2^23, 8 GiB, on
/// this project's machine), which a crafted backup could use to exhaust the memory; and older
/// Comptoir versions stretched with age's calibrated factor, up to 2^21 on a fast desktop.
pub const MAX_SCRYPT_WORK: u8 = 21;

/// The identity that opens what `passphrase` encrypted, within [`MAX_SCRYPT_WORK`].
pub(crate) fn passphrase_identity(passphrase: &str) -> age::scrypt::Identity {
    identity_within(passphrase, MAX_SCRYPT_WORK)
}

fn identity_within(passphrase: &str, max_work: u8) -> age::scrypt::Identity {
    let mut id = age::scrypt::Identity::new(SecretString::from(passphrase.to_string()));
    id.set_max_work_factor(max_work);
    id
}

/// The recipient that encrypts with `passphrase` at [`SCRYPT_WORK`].
pub(crate) fn passphrase_recipient(passphrase: &str) -> age::scrypt::Recipient {
    let mut r = age::scrypt::Recipient::new(SecretString::from(passphrase.to_string()));
    r.set_work_factor(SCRYPT_WORK);
    r
}

/// Rule: a passphrase is at least `MIN_PASSPHRASE_CHARS` characters and at most 200, and is
/// not one character repeated. Spaces count (a sentence is a good passphrase); nothing is
/// trimmed, as the same passphrase must open the backups years later.
pub fn passphrase_problem(p: &str) -> Option<&'static str> {
    let n = p.chars().count();
    let mut chars = p.chars();
    let first = chars.next();
    if n < MIN_PASSPHRASE_CHARS || chars.all(|c| Some(c) == first) {
        Some("field.backup_passphrase_short")
    } else if n > MAX_PASSPHRASE_CHARS {
        Some("field.backup_passphrase_long")
    } else {
        None
    }
}

/// Make a key pair and wrap its private half with `passphrase`. `work_factor` overrides
/// [`SCRYPT_WORK`] for tests only.
pub fn make_key(passphrase: &str, now: DateTime<Utc>, work_factor: Option<u8>) -> Result<BackupKey> {
    if let Some(k) = passphrase_problem(passphrase) {
        return Err(Error::Validation(vec![FieldError::new("passphrase", k).arg("min", MIN_PASSPHRASE_CHARS)]));
    }
    let identity = age::x25519::Identity::generate();
    let mut r = passphrase_recipient(passphrase);
    if let Some(n) = work_factor {
        r.set_work_factor(n);
    }
    let secret = identity.to_string();
    let wrapped = age::encrypt(&r, secret.expose_secret().as_bytes())
        .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
    Ok(BackupKey { recipient: identity.to_public().to_string(), wrapped: hex::encode(wrapped), set_at: now })
}

/// The public half of a key, to encrypt to.
pub fn recipient(key: &BackupKey) -> Result<age::x25519::Recipient> {
    age::x25519::Recipient::from_str(&key.recipient).map_err(|_| Error::conflict("conflict.backup_key_corrupt"))
}

/// Open a wrapped private key with `passphrase`.
pub fn unwrap(wrapped_hex: &str, passphrase: &str) -> std::result::Result<age::x25519::Identity, KeyProblem> {
    let bytes = hex::decode(wrapped_hex).map_err(|_| KeyProblem::Corrupted)?;
    let clear = age::decrypt(&passphrase_identity(passphrase), &bytes).map_err(|e| match e {
        age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => KeyProblem::WrongPassphrase,
        age::DecryptError::ExcessiveWork { .. } => KeyProblem::TooMuchWork,
        _ => KeyProblem::Corrupted,
    })?;
    let text = String::from_utf8(clear).map_err(|_| KeyProblem::Corrupted)?;
    age::x25519::Identity::from_str(text.trim()).map_err(|_| KeyProblem::Corrupted)
}

/// Whether `passphrase` opens `key`'s private half *and* that half is the one backups are
/// encrypted to (a key whose halves do not match would pass a check and open no backup).
/// About a second of scrypt: call it without holding the store.
pub fn check(key: &BackupKey, passphrase: &str) -> Result<bool> {
    match unwrap(&key.wrapped, passphrase) {
        Ok(id) if id.to_public().to_string() == key.recipient => Ok(true),
        Ok(_) | Err(KeyProblem::Corrupted) => Err(Error::conflict("conflict.backup_key_corrupt")),
        Err(KeyProblem::TooMuchWork) => Err(Error::conflict("conflict.backup_too_much_work")),
        Err(KeyProblem::WrongPassphrase) => Ok(false),
    }
}

impl Store {
    /// The key backups are encrypted to, when the merchant chose a passphrase.
    pub fn backup_key(&self) -> Result<Option<BackupKey>> {
        let v: Option<String> = self
            .conn()
            .query_row("SELECT value FROM settings WHERE key = ?1", [SETTINGS_KEY], |r| r.get(0))
            .optional()?;
        // A row that does not read is an error, never "not encrypted": backups would go out
        // in clear without the merchant knowing.
        v.map(|v| serde_json::from_str(&v).map_err(|_| Error::conflict("conflict.backup_key_corrupt"))).transpose()
    }

    /// Encrypt the backups from now on with `passphrase` (a new key pair), or stop encrypting
    /// them (`None`); backups already taken are not touched. `work_factor` overrides scrypt's
    /// calibrated one (tests). The app makes the key itself, outside the store, and calls
    /// `save_backup_key`.
    pub fn set_backup_passphrase_with(
        &mut self,
        passphrase: Option<&str>,
        key: Option<&str>,
        work_factor: Option<u8>,
    ) -> Result<crate::types::Outcome<()>> {
        let made = passphrase.map(|p| make_key(p, self.now(), work_factor)).transpose()?;
        self.save_backup_key(made.as_ref(), key)
    }

    /// Keep `made` (from `make_key`, which takes about a second of scrypt: the app makes it
    /// before it takes the store) as the key of the backups to come, or none.
    pub fn save_backup_key(
        &mut self,
        made: Option<&BackupKey>,
        key: Option<&str>,
    ) -> Result<crate::types::Outcome<()>> {
        self.transact("data.backup_passphrase", key, |tx| {
            match made {
                Some(k) => tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    rusqlite::params![SETTINGS_KEY, serde_json::to_string(k)?],
                )?,
                None => tx.execute("DELETE FROM settings WHERE key = ?1", [SETTINGS_KEY])?,
            };
            tx.changes.settings = true;
            Ok(())
        })
    }

    /// Whether `passphrase` opens the current key (the merchant checks they still know it).
    pub fn check_backup_passphrase(&self, passphrase: &str) -> Result<bool> {
        let Some(k) = self.backup_key()? else { return Err(Error::conflict("conflict.backup_not_encrypted")) };
        check(&k, passphrase)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_passphrase_is_a_sentence_not_a_pin() {
        assert_eq!(passphrase_problem("123456"), Some("field.backup_passphrase_short"), "six digits are refused");
        assert_eq!(
            passphrase_problem("aaaaaaaaaaaaaaa"),
            Some("field.backup_passphrase_short"),
            "one character repeated is refused"
        );
        assert_eq!(passphrase_problem("éléphant 🐘"), None, "ten characters with accents and an emoji are accepted");
        assert_eq!(
            passphrase_problem("éléphant🐘"),
            Some("field.backup_passphrase_short"),
            "characters are counted, not bytes"
        );
        assert_eq!(passphrase_problem(&"ab".repeat(101)), Some("field.backup_passphrase_long"), "over 200 is refused");
    }

    /// The key's age file with its scrypt work factor changed to `k` (the stanza is text:
    /// `-> scrypt SALT LOG_N`); age checks the factor before anything else.
    pub(crate) fn with_work_factor(age_file: &[u8], k: u8) -> Vec<u8> {
        let at = age_file.windows(10).position(|w| w == b"-> scrypt ").expect("an scrypt stanza");
        let end = at + age_file[at..].iter().position(|&b| b == b'\n').unwrap();
        let space = at + age_file[at..end].iter().rposition(|&b| b == b' ').unwrap();
        [&age_file[..=space], k.to_string().as_bytes(), &age_file[end..]].concat()
    }

    #[test]
    fn a_passphrase_asking_more_work_than_allowed_is_refused_at_once_and_never_called_damaged() {
        let k = make_key("la boutique de Zoé", Utc::now(), Some(10)).unwrap();
        let wrapped = hex::decode(&k.wrapped).unwrap();
        // One over the limit: age alone would accept it on this computer (its limit follows
        // the computer's speed) and allocate 4 GiB.
        let beyond = hex::encode(with_work_factor(&wrapped, MAX_SCRYPT_WORK + 1));
        let t = std::time::Instant::now();
        assert_eq!(
            unwrap(&beyond, "la boutique de Zoé").err(),
            Some(KeyProblem::TooMuchWork),
            "beyond the limit the key is refused for the work it asks, never as damaged or mistyped"
        );
        assert!(t.elapsed() < std::time::Duration::from_secs(2), "and at once, without running scrypt");
        let key = BackupKey { wrapped: beyond, ..k };
        assert!(
            matches!(
                check(&key, "la boutique de Zoé"),
                Err(Error::Conflict { key: "conflict.backup_too_much_work", .. })
            ),
            "the check says so too"
        );
    }

    #[test]
    fn only_the_passphrase_opens_the_private_key_and_it_is_never_kept_in_clear() {
        let now = Utc::now();
        let k = make_key("la boutique de Zoé", now, Some(10)).unwrap();
        assert!(k.recipient.starts_with("age1"), "the public half is an age recipient");
        let id = unwrap(&k.wrapped, "la boutique de Zoé").expect("the passphrase opens the key");
        assert_eq!(id.to_public().to_string(), k.recipient, "the private half matches the public one");
        assert_eq!(
            unwrap(&k.wrapped, "la boutique de zoé").err(),
            Some(KeyProblem::WrongPassphrase),
            "a wrong passphrase is said so"
        );
        let json = serde_json::to_string(&k).unwrap();
        assert!(!json.contains("AGE-SECRET-KEY"), "the private key is never kept in clear");
        assert!(!json.contains("Zoé"), "the passphrase is never kept");
        let mut bad = k.wrapped.clone();
        bad.truncate(bad.len() - 4);
        assert!(unwrap(&bad, "la boutique de Zoé").is_err(), "a damaged key does not open");
        assert!(make_key("court", now, Some(10)).is_err(), "a short passphrase makes no key");
    }
}
