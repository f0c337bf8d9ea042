//! How messages leave: the merchant's SMTP provider through a pool of lettre connections
//! (rustls), or `.eml` files in an outbox folder. The engine sees them through `Transport`.
//! Also the "test the connection" button, whose errors a non-expert can act on.

use super::limits::{classify, Failure};
use super::mail::{is_loopback, Delivery, MailSettings, SendLimits, SmtpSettings, TlsMode};
use super::secrets::Secrets;
use crate::error::{Error, Result};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::Transport as _;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use ts_rs::TS;

/// A message ready to leave: envelope addresses and the formatted bytes.
pub struct Outgoing {
    pub envelope: Envelope,
    pub bytes: Vec<u8>,
    /// For the outbox file name.
    pub file_stem: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub kind: Failure,
    pub code: Option<u16>,
    pub detail: String,
}

/// Where a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    Smtp,
    Outbox,
}

pub trait Transport: Send + Sync {
    fn send(&self, m: &Outgoing) -> Result<Delivered, SendFailure>;
}

/// The provider, through a pool of connections (one SMTP transaction at a time per
/// connection; lettre 0.11.23 leaves Nagle's algorithm on, so throughput comes from several
/// connections used at once).
pub struct SmtpPool {
    inner: lettre::SmtpTransport,
}

fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// What the database file allows, checked where every connection is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// The file is the demo shop: it may only send to this computer, never through a real
    /// provider (its customers are invented; a demo must never reach a real inbox).
    pub demo: bool,
}

/// Why a connection must not even be tried: plain SMTP (the password in clear) to another
/// computer, or a demo file towards a real provider.
pub fn refusal(s: &SmtpSettings, policy: Policy) -> Option<SmtpProblem> {
    if is_loopback(&s.host) {
        return None;
    }
    if policy.demo {
        return Some(SmtpProblem::DemoFile);
    }
    (s.tls == TlsMode::None).then_some(SmtpProblem::PlainTextRemote)
}

impl SmtpPool {
    /// The one place an SMTP connection is set up: `refusal` is checked here, so neither the
    /// sender, nor a test send, nor "test the connection" can get round it.
    pub fn new(s: &SmtpSettings, password: Option<&str>, policy: Policy) -> Result<SmtpPool, SendFailure> {
        if let Some(problem) = refusal(s, policy) {
            return Err(SendFailure { kind: Failure::Setup, code: None, detail: format!("refused: {problem:?}") });
        }
        let setup = |e: lettre::transport::smtp::Error| SendFailure {
            kind: Failure::Setup,
            code: None,
            detail: error_text(&e),
        };
        let b = match s.tls {
            TlsMode::Tls => lettre::SmtpTransport::relay(&s.host).map_err(setup)?,
            TlsMode::StartTls => lettre::SmtpTransport::starttls_relay(&s.host).map_err(setup)?,
            TlsMode::None => lettre::SmtpTransport::builder_dangerous(s.host.as_str()),
        };
        let mut b = b
            .port(s.port)
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(PoolConfig::new().max_size(s.limits.connections.max(1)).idle_timeout(Duration::from_secs(30)));
        if !s.username.is_empty() {
            b = b.credentials(Credentials::new(s.username.clone(), password.unwrap_or_default().to_string()));
        }
        Ok(SmtpPool { inner: b.build() })
    }

    /// Connect, greet, encrypt and log in, without sending anything.
    pub fn check(&self) -> Result<(), lettre::transport::smtp::Error> {
        self.inner.test_connection().map(|_| ())
    }
}

impl Transport for SmtpPool {
    fn send(&self, m: &Outgoing) -> Result<Delivered, SendFailure> {
        match self.inner.send_raw(&m.envelope, &m.bytes) {
            Ok(_) => Ok(Delivered::Smtp),
            Err(e) => {
                let code = e.status().map(u16::from);
                let detail = error_text(&e);
                let kind = if e.is_tls() { Failure::Setup } else { classify(code, &detail) };
                Err(SendFailure { kind, code, detail })
            }
        }
    }
}

/// `.eml` files in a folder: what "sending" does before an SMTP provider is set up.
pub struct EmlOutbox {
    pub dir: PathBuf,
}

impl Transport for EmlOutbox {
    fn send(&self, m: &Outgoing) -> Result<Delivered, SendFailure> {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let tmp = self.dir.join(format!(".{}.tmp", m.file_stem));
            std::fs::write(&tmp, &m.bytes)?;
            std::fs::rename(&tmp, self.dir.join(format!("{}.eml", m.file_stem)))
        };
        write().map(|_| Delivered::Outbox).map_err(|e| SendFailure {
            kind: Failure::Setup,
            code: None,
            detail: e.to_string(),
        })
    }
}

/// The outbox folder next to the database.
pub fn outbox_dir(db: Option<&Path>) -> PathBuf {
    match db.and_then(|p| p.parent()) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("outbox"),
        _ => std::env::temp_dir().join("comptoir-outbox"),
    }
}

/// What went wrong with a connection, in words a shopkeeper can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SmtpProblem {
    WrongPassword,
    /// The provider wants an "app password" (two-step verification).
    AppPasswordNeeded,
    HostNotFound,
    /// Nothing answers on that port (blocked by the network, or the wrong port).
    PortBlocked,
    /// The encryption choice does not match the port (TLS vs STARTTLS).
    TlsMismatch,
    Timeout,
    /// "No encryption" towards another computer: the password would travel in clear.
    PlainTextRemote,
    /// This file is the demo shop: it never sends through a real provider.
    DemoFile,
    /// Microsoft 365 refuses password sign-in for SMTP (basic authentication turned off for the
    /// tenant or the mailbox; see the Outlook preset's notice).
    BasicAuthDisabled,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConnectionCheck {
    pub ok: bool,
    pub problem: Option<SmtpProblem>,
    /// The server's own words, for the curious or for the provider's support.
    pub detail: String,
}

/// Explain a failed connection from the SMTP reply code and the error text.
pub fn explain(code: Option<u16>, text: &str, app_password_preset: bool, tls_error: bool) -> SmtpProblem {
    let t = text.to_ascii_lowercase();
    if t.contains("5.7.139")
        || t.contains("5.7.30 basic authentication")
        || t.contains("smtpclientauthentication is disabled")
        || t.contains("basic authentication is disabled")
    {
        return SmtpProblem::BasicAuthDisabled;
    }
    if t.contains("application-specific") || t.contains("app password") || t.contains("5.7.9") || code == Some(534) {
        return SmtpProblem::AppPasswordNeeded;
    }
    if matches!(code, Some(535) | Some(530) | Some(538)) || t.contains("authentication") || t.contains("credentials") {
        return if app_password_preset && code == Some(535) && t.contains("5.7.8") {
            SmtpProblem::AppPasswordNeeded
        } else {
            SmtpProblem::WrongPassword
        };
    }
    if tls_error
        || ["tls", "ssl", "certificate", "handshake", "wrong version", "corrupt message", "invalidcontenttype"]
            .iter()
            .any(|w| t.contains(w))
    {
        return SmtpProblem::TlsMismatch;
    }
    if t.contains("failed to lookup")
        || t.contains("name or service not known")
        || t.contains("no such host")
        || t.contains("dns")
    {
        return SmtpProblem::HostNotFound;
    }
    if t.contains("refused") || t.contains("unreachable") || t.contains("no route") {
        return SmtpProblem::PortBlocked;
    }
    if t.contains("timed out") || t.contains("timeout") {
        return SmtpProblem::Timeout;
    }
    SmtpProblem::Other
}

/// Try the connection (connect, greet, encrypt, log in).
pub fn test_connection(
    s: &SmtpSettings,
    password: Option<&str>,
    app_password_preset: bool,
    policy: Policy,
) -> ConnectionCheck {
    if let Some(problem) = refusal(s, policy) {
        return ConnectionCheck { ok: false, problem: Some(problem), detail: String::new() };
    }
    let mut quick = s.clone();
    quick.limits.connections = 1;
    let pool = match SmtpPool::new(&quick, password, policy) {
        Ok(p) => p,
        Err(f) => {
            return ConnectionCheck {
                ok: false,
                problem: Some(explain(None, &f.detail, app_password_preset, false)),
                detail: f.detail,
            }
        }
    };
    match pool.check() {
        Ok(()) => ConnectionCheck { ok: true, problem: None, detail: String::new() },
        Err(e) => {
            let text = error_text(&e);
            let problem = if e.is_timeout() {
                SmtpProblem::Timeout
            } else {
                explain(e.status().map(u16::from), &text, app_password_preset, e.is_tls())
            };
            ConnectionCheck { ok: false, problem: Some(problem), detail: text }
        }
    }
}

/// The transport the settings ask for: SMTP with the password from the keychain, or the
/// `.eml` outbox folder. `policy` comes from the database file (`Store::smtp_policy`).
pub fn transport_for(
    mail: &MailSettings,
    secrets: &Secrets,
    outbox: PathBuf,
    policy: Policy,
) -> Result<Box<dyn Transport>> {
    match mail.delivery {
        Delivery::Outbox => Ok(Box::new(EmlOutbox { dir: outbox })),
        Delivery::Smtp => {
            let account = super::secrets::account(&mail.smtp.username, &mail.smtp.host);
            let pw = secrets.get(&account).map(|(p, _)| p);
            match refusal(&mail.smtp, policy) {
                Some(SmtpProblem::DemoFile) => return Err(Error::conflict("conflict.demo_real_provider")),
                Some(_) => return Err(Error::conflict("conflict.smtp_plain_remote")),
                None => {}
            }
            if let Some(r) = super::deliverability::freemail::refusal(mail) {
                return Err(freemail_conflict(&r));
            }
            if !mail.smtp.username.is_empty() && pw.is_none() {
                return Err(Error::conflict("conflict.smtp_password_missing"));
            }
            let pool = SmtpPool::new(&mail.smtp, pw.as_deref(), policy).map_err(|f| {
                tracing::warn!(detail = %f.detail, "SMTP settings refused");
                Error::conflict("conflict.smtp_settings")
            })?;
            Ok(Box::new(pool))
        }
    }
}

/// A free-mail address through another provider's server, as a conflict (where sending is
/// refused: the transport, a campaign's start).
pub fn freemail_conflict(r: &super::deliverability::freemail::Refusal) -> Error {
    Error::Conflict {
        key: "conflict.freemail_other_server",
        args: vec![("domain", r.domain.clone()), ("provider", r.provider.to_string())],
    }
}

pub fn limits_for(mail: &MailSettings) -> SendLimits {
    match mail.delivery {
        Delivery::Smtp => mail.smtp.limits,
        // Files on disk: no provider limit, a few writers at once.
        Delivery::Outbox => SendLimits { per_second: 0, per_minute: 0, per_day: 0, connections: 4 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_are_explained_in_terms_a_merchant_can_act_on() {
        assert_eq!(
            explain(Some(535), "535 5.7.8 Username and Password not accepted", false, false),
            SmtpProblem::WrongPassword,
            "535 is a wrong password"
        );
        assert_eq!(
            explain(Some(534), "534 5.7.9 Application-specific password required", true, false),
            SmtpProblem::AppPasswordNeeded,
            "Gmail's 534 asks for an app password"
        );
        assert_eq!(
            explain(None, "Connection error: Connection refused (os error 111)", false, false),
            SmtpProblem::PortBlocked,
            "a refused connection is a blocked or wrong port"
        );
        assert_eq!(
            explain(None, "tls: received corrupt message of type InvalidContentType", false, false),
            SmtpProblem::TlsMismatch,
            "TLS against a STARTTLS port is a TLS mismatch"
        );
        assert_eq!(
            explain(
                Some(535),
                "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.",
                true,
                false
            ),
            SmtpProblem::BasicAuthDisabled,
            "Microsoft 365 with password sign-in turned off is not a wrong password"
        );
        assert_eq!(
            explain(Some(550), "550 5.7.30 Basic authentication is not supported for Client Submission.", true, false),
            SmtpProblem::BasicAuthDisabled,
            "after Microsoft's retirement, the same"
        );
        assert_eq!(
            explain(None, "failed to lookup address information: Name or service not known", false, false),
            SmtpProblem::HostNotFound,
            "an unknown server name"
        );
    }
}
