//! Sending settings: who the messages come from (identity and postal address, required in
//! every message by Canadian law), and how they leave: an SMTP provider from a preset with its
//! known limits, or — until one is set up — `.eml` files in an outbox folder.
//! Stored as JSON in `settings` under `mail`. The SMTP password is never part of it.

use crate::error::{Error, Problems, Result};
use crate::storage::Store;
use crate::types::{Lang, Outcome};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SmtpPreset {
    Gmail,
    Outlook,
    Ovh,
    Orange,
    Free,
    Brevo,
    Mailjet,
    Custom,
}

/// How the connection is encrypted: TLS from the first byte (port 465), STARTTLS (587), or
/// none (only for a server on this computer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    Tls,
    StartTls,
    None,
}

/// A provider's sending limits; 0 means no limit of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SendLimits {
    pub per_second: u32,
    pub per_minute: u32,
    /// Over a rolling 24 hours.
    pub per_day: u32,
    /// SMTP connections used at once.
    pub connections: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SmtpSettings {
    pub preset: SmtpPreset,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    pub limits: SendLimits,
}

/// Where messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// `.eml` files in the outbox folder (nothing leaves the computer).
    Outbox,
    Smtp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MailSettings {
    pub sender_name: String,
    pub sender_email: String,
    /// Where replies go; empty means the sender address.
    pub reply_to: String,
    /// The shop's postal address, printed in every message.
    pub postal_address: String,
    /// Language of the footer and unsubscribe line.
    pub language: Lang,
    pub delivery: Delivery,
    pub smtp: SmtpSettings,
}

/// A preset as the settings screen shows it: server, port, encryption, the provider's known
/// limits for its common plan, and whether an app password is needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PresetInfo {
    pub preset: SmtpPreset,
    pub label: String,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub limits: SendLimits,
    /// The account needs an "app password" (two-step verification on).
    pub app_password: bool,
}

const fn limits(per_second: u32, per_minute: u32, per_day: u32, connections: u32) -> SendLimits {
    SendLimits { per_second, per_minute, per_day, connections }
}

/// The presets, with the limits each provider publishes for the plan small shops use (free or
/// entry plans); the merchant can lower or raise them.
pub fn presets() -> Vec<PresetInfo> {
    let p = |preset, label: &str, host: &str, port, tls, limits, app_password| PresetInfo {
        preset,
        label: label.into(),
        host: host.into(),
        port,
        tls,
        limits,
        app_password,
    };
    vec![
        p(SmtpPreset::Gmail, "Gmail", "smtp.gmail.com", 465, TlsMode::Tls, limits(1, 20, 500, 2), true),
        p(
            SmtpPreset::Outlook,
            "Outlook / Microsoft 365",
            "smtp.office365.com",
            587,
            TlsMode::StartTls,
            limits(1, 30, 300, 2),
            true,
        ),
        p(SmtpPreset::Ovh, "OVH", "ssl0.ovh.net", 465, TlsMode::Tls, limits(1, 3, 200, 1), false),
        p(SmtpPreset::Orange, "Orange", "smtp.orange.fr", 465, TlsMode::Tls, limits(1, 10, 500, 1), false),
        p(SmtpPreset::Free, "Free", "smtp.free.fr", 465, TlsMode::Tls, limits(1, 10, 500, 1), false),
        p(SmtpPreset::Brevo, "Brevo", "smtp-relay.brevo.com", 587, TlsMode::StartTls, limits(5, 120, 300, 4), false),
        p(SmtpPreset::Mailjet, "Mailjet", "in-v3.mailjet.com", 587, TlsMode::StartTls, limits(5, 60, 200, 4), false),
        p(SmtpPreset::Custom, "", "", 587, TlsMode::StartTls, limits(5, 300, 10_000, 4), false),
    ]
}

pub fn preset(p: SmtpPreset) -> PresetInfo {
    presets().into_iter().find(|x| x.preset == p).expect("every preset is listed")
}

impl Default for MailSettings {
    fn default() -> Self {
        let custom = preset(SmtpPreset::Custom);
        MailSettings {
            sender_name: String::new(),
            sender_email: String::new(),
            reply_to: String::new(),
            postal_address: String::new(),
            language: Lang::Fr,
            delivery: Delivery::Outbox,
            smtp: SmtpSettings {
                preset: SmtpPreset::Custom,
                host: String::new(),
                port: custom.port,
                tls: custom.tls,
                username: String::new(),
                limits: custom.limits,
            },
        }
    }
}

const MAX_NAME: usize = 120;
const MAX_ADDRESS: usize = 400;

pub(crate) use crate::customers::is_email as valid_email;

/// Check the settings, reporting every problem at once. The identity and postal address are
/// needed before anything is sent (they go in every message).
pub fn validate(m: &MailSettings) -> Result<MailSettings> {
    let mut p = Problems::default();
    let mut out = m.clone();
    out.sender_name = m.sender_name.trim().to_string();
    out.sender_email = m.sender_email.trim().to_string();
    out.reply_to = m.reply_to.trim().to_string();
    out.postal_address = crate::text::clean_multiline(&m.postal_address).unwrap_or_default();
    out.smtp.host = m.smtp.host.trim().to_string();
    out.smtp.username = m.smtp.username.trim().to_string();
    if out.sender_name.is_empty() {
        p.add("sender_name", "field.required");
    } else if out.sender_name.chars().count() > MAX_NAME || out.sender_name.contains(['\r', '\n']) {
        p.push(crate::error::FieldError::new("sender_name", "field.too_long").arg("max", MAX_NAME));
    } else if has_template_syntax(&out.sender_name) {
        p.add("sender_name", "field.no_template_syntax");
    }
    if out.sender_email.is_empty() {
        p.add("sender_email", "field.required");
    } else if !valid_email(&out.sender_email) {
        p.add("sender_email", "field.email_invalid");
    }
    if !out.reply_to.is_empty() && !valid_email(&out.reply_to) {
        p.add("reply_to", "field.email_invalid");
    }
    if out.postal_address.is_empty() {
        p.add("postal_address", "field.postal_address_required");
    } else if out.postal_address.chars().count() > MAX_ADDRESS {
        p.push(crate::error::FieldError::new("postal_address", "field.too_long").arg("max", MAX_ADDRESS));
    } else if has_template_syntax(&out.postal_address) {
        p.add("postal_address", "field.no_template_syntax");
    }
    if out.delivery == Delivery::Smtp {
        let host_ok = !out.smtp.host.is_empty()
            && out.smtp.host.len() <= 253
            && out.smtp.host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !host_ok {
            p.add("smtp.host", "field.host_invalid");
        }
        if out.smtp.port == 0 {
            p.add("smtp.port", "field.port_invalid");
        }
        if out.smtp.tls == TlsMode::None && !is_loopback(&out.smtp.host) {
            p.add("smtp.tls", "field.tls_required");
        }
        if out.smtp.username.chars().count() > 200 {
            p.push(crate::error::FieldError::new("smtp.username", "field.too_long").arg("max", 200));
        }
        let l = out.smtp.limits;
        if l.connections == 0 || l.connections > 32 {
            p.push(
                crate::error::FieldError::new("smtp.limits.connections", "field.between").arg("min", 1).arg("max", 32),
            );
        }
        if l.per_second > 1000 || l.per_minute > 60_000 || l.per_day > 10_000_000 {
            p.add("smtp.limits", "field.limits_invalid");
        }
    }
    p.into_result()?;
    Ok(out)
}

/// Whether `host` is this computer (`localhost`, or a loopback address written out). Plain
/// SMTP (no TLS) is only allowed to such a server (tests, local relays), and a demo file may
/// only send there.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
    // Not `*.localhost`: not every resolver keeps those names on this computer, and a name a
    // DNS server answers for could take a password sent in clear elsewhere.
    h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Template syntax has no place in the sender's identity (it is printed as text in every
/// message; refusing it keeps a name such as `{{ first_name }}` from looking like a field).
fn has_template_syntax(s: &str) -> bool {
    ["{{", "}}", "{%", "%}", "{#", "#}"].iter().any(|m| s.contains(m))
}

/// The domain part of an address (for Message-IDs).
pub fn domain_of(email: &str) -> &str {
    email.rsplit_once('@').map(|(_, d)| d).unwrap_or("localhost")
}

/// The sending settings, read from a connection (a transaction included).
pub(crate) fn read(conn: &rusqlite::Connection) -> Result<MailSettings> {
    let raw: Option<String> =
        conn.query_row("SELECT value FROM settings WHERE key = 'mail'", [], |r| r.get(0)).optional()?;
    match raw {
        Some(json) => Ok(serde_json::from_str(&json)?),
        None => {
            let shop = crate::settings::read(conn)?;
            Ok(MailSettings { sender_name: shop.shop_name, language: shop.language, ..MailSettings::default() })
        }
    }
}

/// The free-mail rule as a field error on the sender address.
pub fn freemail_problem(m: &MailSettings) -> Option<crate::error::FieldError> {
    super::deliverability::freemail::refusal(m).map(|r| {
        crate::error::FieldError::new("sender_email", "field.freemail_other_server")
            .arg("domain", r.domain)
            .arg("provider", r.provider)
    })
}

impl Store {
    /// The sending settings (defaults until saved: the shop name as sender, `.eml` outbox).
    pub fn mail_settings(&self) -> Result<MailSettings> {
        read(self.conn())
    }

    /// What this database file allows when connecting (a demo file: this computer only).
    pub fn smtp_policy(&self) -> Result<super::smtp::Policy> {
        Ok(super::smtp::Policy { demo: self.settings()?.demo })
    }

    pub fn save_mail_settings(&mut self, input: &MailSettings, key: Option<&str>) -> Result<Outcome<MailSettings>> {
        let clean = validate(input)?;
        if clean.delivery == Delivery::Smtp && self.settings()?.demo && !is_loopback(&clean.smtp.host) {
            return Err(Error::invalid("smtp.host", "field.demo_real_provider"));
        }
        // A free-mail address through another provider's server lands in spam or is refused.
        if let Some(problem) = freemail_problem(&clean) {
            return Err(Error::Validation(vec![problem]));
        }
        self.transact(("mail_settings_save", input), key, |tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('mail', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![serde_json::to_string(&clean)?],
            )?;
            tx.changes.settings = true;
            Ok(clean.clone())
        })
    }

    /// The settings if they are complete enough to send (identity and postal address).
    pub fn mail_settings_for_sending(&self) -> Result<MailSettings> {
        let m = self.mail_settings()?;
        validate(&m).map_err(|_| Error::conflict("conflict.mail_settings_incomplete"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_computer_counts_as_this_computer() {
        for h in ["localhost", "LOCALHOST.", "127.0.0.1", "127.3.4.5", "::1", "[::1]"] {
            assert!(is_loopback(h), "{h} is this computer");
        }
        for h in ["smtp.localhost", "localhost.example.com", "10.0.0.1", "smtp.gmail.com", ""] {
            assert!(!is_loopback(h), "{h} may be another computer: plain SMTP to it is refused");
        }
    }

    fn ok_settings() -> MailSettings {
        MailSettings {
            sender_name: "Boulangerie Léa".into(),
            sender_email: "lea@boulangerie.test".into(),
            postal_address: "3 rue des Lilas, 69001 Lyon".into(),
            ..MailSettings::default()
        }
    }

    #[test]
    fn every_preset_has_a_server_and_limits_except_custom() {
        for p in presets() {
            if p.preset == SmtpPreset::Custom {
                continue;
            }
            assert!(!p.host.is_empty(), "{:?} names its server", p.preset);
            assert!(p.limits.per_day > 0, "{:?} has its daily limit filled in", p.preset);
            assert!(p.limits.connections >= 1, "{:?} opens at least one connection", p.preset);
        }
    }

    #[test]
    fn the_postal_address_and_identity_are_required() {
        let e = validate(&MailSettings::default()).unwrap_err();
        let Error::Validation(f) = e else { panic!() };
        let fields: Vec<_> = f.iter().map(|x| x.field).collect();
        assert!(fields.contains(&"postal_address"), "the postal address is required (CASL): {fields:?}");
        assert!(fields.contains(&"sender_email"), "the sender address is required: {fields:?}");
        assert!(validate(&ok_settings()).is_ok(), "a complete identity with the outbox is valid");
    }

    #[test]
    fn plain_smtp_is_only_allowed_to_this_computer() {
        let mut m = ok_settings();
        m.delivery = Delivery::Smtp;
        m.smtp.host = "smtp.example.com".into();
        m.smtp.tls = TlsMode::None;
        assert!(validate(&m).is_err(), "no TLS to a remote server");
        m.smtp.host = "127.0.0.1".into();
        assert!(validate(&m).is_ok(), "no TLS to a loopback server is fine");
        m.smtp.host = "smtp.evil.com\r\nRCPT".into();
        assert!(validate(&m).is_err(), "a host with line breaks is refused");
    }

    #[test]
    fn a_name_with_a_line_break_cannot_inject_headers() {
        let mut m = ok_settings();
        m.sender_name = "Léa\r\nBcc: x@y.z".into();
        assert!(validate(&m).is_err(), "a sender name with a line break is refused");
    }
}
