//! Where the mailbox is read: the IMAP side of the merchant's provider (the presets of
//! `campaigns::mail` fill it in), and optionally the bounce API of a sending service that
//! collects bounces itself (Brevo, Mailjet). Stored as JSON in `settings` under `mailbox`; the
//! IMAP password and the API key live in the operating system's keychain
//! (`campaigns::secrets`), never in the database.
//!
//! Invariants: plain IMAP (no TLS) only to this computer, as for SMTP; an API address other
//! than the provider's own is only accepted on this computer (tests replay the documented
//! answers there); a demo file only reads from this computer.

use crate::campaigns::mail::{is_loopback, SmtpPreset, TlsMode};
use crate::error::{FieldError, Problems, Result};
use crate::storage::Store;
use crate::types::Outcome;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImapSettings {
    pub preset: SmtpPreset,
    pub host: String,
    pub port: u16,
    /// TLS from the first byte (993), STARTTLS (143), or none (this computer only).
    pub tls: TlsMode,
    pub username: String,
    /// The folders read (the inbox by default; bounces and replies arrive there).
    pub folders: Vec<String>,
    /// Move the messages acted on to this folder; empty: read-only (the default), nothing
    /// is changed in the mailbox.
    pub move_to: String,
}

/// A sending service that collects bounces and complaints itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ApiProvider {
    Brevo,
    Mailjet,
}

impl ApiProvider {
    pub fn code(self) -> &'static str {
        match self {
            ApiProvider::Brevo => "brevo",
            ApiProvider::Mailjet => "mailjet",
        }
    }
    pub fn default_url(self) -> &'static str {
        match self {
            ApiProvider::Brevo => "https://api.brevo.com",
            ApiProvider::Mailjet => "https://api.mailjet.com",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MailboxSettings {
    /// Read the mailbox over IMAP.
    pub imap_enabled: bool,
    pub imap: ImapSettings,
    /// Also read the bounces the sending service collected.
    pub api: Option<ApiProvider>,
    /// The API's address; empty: the provider's own.
    pub api_url: String,
}

impl Default for MailboxSettings {
    fn default() -> Self {
        MailboxSettings {
            imap_enabled: false,
            imap: ImapSettings {
                preset: SmtpPreset::Custom,
                host: String::new(),
                port: 993,
                tls: TlsMode::Tls,
                username: String::new(),
                folders: vec!["INBOX".into()],
                move_to: String::new(),
            },
            api: None,
            api_url: String::new(),
        }
    }
}

/// The mailbox settings as the screen shows them. The password and the API key never come
/// back, only where they are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MailboxSettingsView {
    pub settings: MailboxSettings,
    pub presets: Vec<ImapPreset>,
    pub password: Option<crate::campaigns::secrets::SecretPlace>,
    pub api_key: Option<crate::campaigns::secrets::SecretPlace>,
}

/// The IMAP side of a preset: server, port, encryption. Brevo and Mailjet only send: the
/// replies arrive in the merchant's own mailbox (custom), their bounces come through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImapPreset {
    pub preset: SmtpPreset,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// The sending service has a bounce API.
    pub api: Option<ApiProvider>,
}

pub fn imap_presets() -> Vec<ImapPreset> {
    let p = |preset, host: &str, api| ImapPreset { preset, host: host.into(), port: 993, tls: TlsMode::Tls, api };
    vec![
        p(SmtpPreset::Gmail, "imap.gmail.com", None),
        p(SmtpPreset::Outlook, "outlook.office365.com", None),
        p(SmtpPreset::Ovh, "ssl0.ovh.net", None),
        p(SmtpPreset::Orange, "imap.orange.fr", None),
        p(SmtpPreset::Free, "imap.free.fr", None),
        p(SmtpPreset::Brevo, "", Some(ApiProvider::Brevo)),
        p(SmtpPreset::Mailjet, "", Some(ApiProvider::Mailjet)),
        p(SmtpPreset::Custom, "", None),
    ]
}

pub fn imap_preset(p: SmtpPreset) -> ImapPreset {
    imap_presets().into_iter().find(|x| x.preset == p).expect("every preset is listed")
}

/// The keychain entry of an IMAP account (apart from the SMTP one, even on the same server).
pub fn imap_account(username: &str, host: &str) -> String {
    format!("imap:{username}@{host}")
}

/// The keychain entry of a provider's API key (Mailjet: `key:secret`).
pub fn api_account(p: ApiProvider) -> String {
    format!("api:{}", p.code())
}

fn host_ok(h: &str) -> bool {
    !h.is_empty() && h.len() <= 253 && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// A folder name as IMAP takes it inside quotes: no quotes, backslashes or line breaks.
fn folder_ok(f: &str) -> bool {
    !f.trim().is_empty() && f.chars().count() <= 200 && !f.contains(['"', '\\', '\r', '\n', '\0', '*', '%'])
}

/// Check the settings, reporting every problem at once.
pub fn validate(m: &MailboxSettings) -> Result<MailboxSettings> {
    let mut p = Problems::default();
    let mut out = m.clone();
    out.imap.host = m.imap.host.trim().to_string();
    out.imap.username = m.imap.username.trim().to_string();
    out.imap.move_to = m.imap.move_to.trim().to_string();
    out.imap.folders = m.imap.folders.iter().map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect();
    out.imap.folders.dedup();
    if out.imap.folders.is_empty() {
        out.imap.folders.push("INBOX".into());
    }
    out.api_url = m.api_url.trim().trim_end_matches('/').to_string();
    if out.imap_enabled {
        if !host_ok(&out.imap.host) {
            p.add("imap.host", "field.host_invalid");
        }
        if out.imap.port == 0 {
            p.add("imap.port", "field.port_invalid");
        }
        if out.imap.tls == TlsMode::None && !is_loopback(&out.imap.host) {
            p.add("imap.tls", "field.tls_required");
        }
        if out.imap.username.is_empty() {
            p.add("imap.username", "field.required");
        } else if out.imap.username.chars().count() > 200 || out.imap.username.contains(['\r', '\n', '"']) {
            p.push(FieldError::new("imap.username", "field.too_long").arg("max", 200));
        }
        if out.imap.folders.len() > 10 || !out.imap.folders.iter().all(|f| folder_ok(f)) {
            p.add("imap.folders", "mailbox.folder_invalid");
        }
        if !out.imap.move_to.is_empty()
            && (!folder_ok(&out.imap.move_to) || out.imap.folders.contains(&out.imap.move_to))
        {
            p.add("imap.move_to", "mailbox.folder_invalid");
        }
    }
    if !out.api_url.is_empty() && !api_url_allowed(&out.api_url) {
        p.add("api_url", "mailbox.api_url_invalid");
    }
    p.into_result()?;
    Ok(out)
}

/// An API address other than the provider's is only allowed on this computer.
pub fn api_url_allowed(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else { return false };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    is_loopback(host)
}

impl Store {
    /// The mailbox settings (defaults: not read).
    pub fn mailbox_settings(&self) -> Result<MailboxSettings> {
        let raw: Option<String> =
            self.conn().query_row("SELECT value FROM settings WHERE key = 'mailbox'", [], |r| r.get(0)).optional()?;
        Ok(match raw {
            Some(json) => serde_json::from_str(&json)?,
            None => MailboxSettings::default(),
        })
    }

    pub fn save_mailbox_settings(
        &mut self,
        input: &MailboxSettings,
        key: Option<&str>,
    ) -> Result<Outcome<MailboxSettings>> {
        let clean = validate(input)?;
        let demo = self.settings()?.demo;
        if clean.imap_enabled && demo && !is_loopback(&clean.imap.host) {
            return Err(crate::error::Error::invalid("imap.host", "field.demo_real_provider"));
        }
        // The demo shop never reads a real sending service either (its API would hand over a
        // real shop's addresses): only an address on this computer.
        if clean.api.is_some() && demo && !api_on_this_computer(&clean.api_url) {
            return Err(crate::error::Error::invalid("api", "field.demo_real_provider"));
        }
        self.transact(("mailbox_settings_save", input), key, |tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('mailbox', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![serde_json::to_string(&clean)?],
            )?;
            tx.changes.settings = true;
            Ok(clean.clone())
        })
    }
}

/// Whether an API address points at this computer (`http://127.0.0.1:8080/…`); empty means the
/// provider's own.
pub fn api_on_this_computer(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or("");
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map(|(h, _)| h).unwrap_or(authority),
    };
    !host.is_empty() && is_loopback(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_shop_reads_neither_a_real_mailbox_nor_a_real_sending_service() {
        assert!(api_on_this_computer("http://127.0.0.1:8025/v3"), "a test server on this computer");
        assert!(api_on_this_computer("http://[::1]:80"));
        assert!(!api_on_this_computer(""), "empty: the provider's own address");
        assert!(!api_on_this_computer("https://api.brevo.com/v3"));
        assert!(!api_on_this_computer("http://127.0.0.1.attacker.invalid/"));
        let (mut s, _) = crate::testutil::store();
        s.conn().execute("INSERT INTO settings (key, value) VALUES ('demo', '1')", []).unwrap();
        let e = s.save_mailbox_settings(&imap("imap.gmail.com", TlsMode::Tls), None).unwrap_err();
        assert_eq!(e.code(), "validation", "a real mailbox from the demo shop is refused");
        let api = MailboxSettings { api: Some(ApiProvider::Brevo), ..Default::default() };
        let e = s.save_mailbox_settings(&api, None).unwrap_err();
        assert_eq!(e.code(), "validation", "so is the real Brevo API");
        let local = MailboxSettings { api_url: "http://127.0.0.1:8025".into(), ..api };
        assert!(s.save_mailbox_settings(&local, None).is_ok(), "a test server on this computer is fine");
    }

    fn imap(host: &str, tls: TlsMode) -> MailboxSettings {
        let mut m = MailboxSettings { imap_enabled: true, ..Default::default() };
        m.imap.host = host.into();
        m.imap.tls = tls;
        m.imap.username = "lea@boulangerie.test".into();
        m
    }

    #[test]
    fn plain_imap_is_only_allowed_to_this_computer() {
        assert!(validate(&imap("imap.example.com", TlsMode::None)).is_err(), "no TLS to a remote server");
        assert!(validate(&imap("127.0.0.1", TlsMode::None)).is_ok(), "no TLS to this computer is fine");
        assert!(validate(&imap("imap.example.com", TlsMode::Tls)).is_ok());
        assert!(validate(&imap("imap.example.com\r\nA1 LOGOUT", TlsMode::Tls)).is_err(), "no line break in a host");
    }

    #[test]
    fn folder_names_cannot_break_out_of_their_quotes() {
        let mut m = imap("imap.example.com", TlsMode::Tls);
        m.imap.folders = vec!["INBOX\" DELETE \"x".into()];
        assert!(validate(&m).is_err(), "a quote in a folder name is refused");
        m.imap.folders = vec!["INBOX".into()];
        m.imap.move_to = "INBOX".into();
        assert!(validate(&m).is_err(), "moving into a folder that is read would loop");
        m.imap.move_to = "Comptoir/Traités".into();
        assert!(validate(&m).is_ok());
    }

    #[test]
    fn every_mailbox_preset_reads_over_tls_on_993() {
        for p in imap_presets() {
            assert_eq!((p.port, p.tls), (993, TlsMode::Tls), "{:?}", p.preset);
        }
        assert_eq!(imap_preset(SmtpPreset::Gmail).host, "imap.gmail.com");
        assert_eq!(imap_preset(SmtpPreset::Orange).host, "imap.orange.fr");
        assert_eq!(
            imap_preset(SmtpPreset::Brevo).api,
            Some(ApiProvider::Brevo),
            "Brevo's bounces come through its API"
        );
    }

    #[test]
    fn another_api_address_is_only_accepted_on_this_computer() {
        assert!(api_url_allowed("http://127.0.0.1:8080"));
        assert!(api_url_allowed("http://localhost:9/x"));
        assert!(!api_url_allowed("https://evil.example.com"), "a key must not be sent elsewhere");
        assert!(!api_url_allowed("ftp://127.0.0.1"));
    }
}
