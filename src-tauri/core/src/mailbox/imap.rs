//! The IMAP side: one connection (TLS from the first byte, STARTTLS, or plain to this computer
//! only), read-only by default (`EXAMINE`, bodies fetched with `BODY.PEEK[]` so not even the
//! "seen" flag changes), from the position kept per folder (UIDVALIDITY + last UID) so that
//! nothing is read twice. It never deletes anything; when the merchant asks for it, the
//! messages acted on are moved (`UID MOVE`, never copy-and-delete) to a folder of their choice.
//!
//! async-imap runs on a current-thread tokio runtime inside one reading; the caller's
//! `MailboxSink` records each message (and the new position) before the next is handled.

use super::settings::ImapSettings;
use crate::campaigns::mail::{is_loopback, TlsMode};
use crate::campaigns::smtp::{explain, Policy, SmtpProblem};
use async_imap::{Client, Session};
use futures_util::StreamExt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The most messages read from one folder in one reading (the next reading goes on).
pub const MAX_PER_READING: usize = 500;
/// A message larger than this is read by its headers only.
const MAX_BODY: u32 = 8 * 1024 * 1024;
/// Bytes of messages held at once while reading (one larger message alone may exceed it).
const MEMORY_BUDGET: u64 = 16 * 1024 * 1024;
/// On the very first reading of a folder, how far back to look.
pub const FIRST_READING_DAYS: i64 = 30;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a reading failed, in words the settings screen explains (the SMTP test's words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFailure {
    pub problem: SmtpProblem,
    pub detail: String,
}

impl ReadFailure {
    fn other(detail: impl ToString) -> ReadFailure {
        let detail = detail.to_string();
        ReadFailure { problem: explain(None, &detail, false, false), detail }
    }
}

/// The connection: plain TCP (this computer only) or TLS.
#[derive(Debug)]
pub enum ImapStream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub type ImapSession = Session<ImapStream>;

/// Why a connection must not even be tried (as for SMTP).
pub fn refusal(s: &ImapSettings, policy: Policy) -> Option<SmtpProblem> {
    if is_loopback(&s.host) {
        return None;
    }
    if policy.demo {
        return Some(SmtpProblem::DemoFile);
    }
    (s.tls == TlsMode::None).then_some(SmtpProblem::PlainTextRemote)
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn tls(tcp: TcpStream, host: &str) -> Result<ImapStream, ReadFailure> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| ReadFailure { problem: SmtpProblem::HostNotFound, detail: e.to_string() })?;
    let s = tls_connector()
        .connect(name, tcp)
        .await
        .map_err(|e| ReadFailure { problem: SmtpProblem::TlsMismatch, detail: e.to_string() })?;
    Ok(ImapStream::Tls(Box::new(s)))
}

fn io_failure(e: std::io::Error) -> ReadFailure {
    let detail = e.to_string();
    let problem = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => SmtpProblem::PortBlocked,
        std::io::ErrorKind::TimedOut => SmtpProblem::Timeout,
        _ => explain(None, &detail, false, false),
    };
    ReadFailure { problem, detail }
}

async fn timed<T>(f: impl std::future::Future<Output = T>) -> Result<T, ReadFailure> {
    tokio::time::timeout(COMMAND_TIMEOUT, f)
        .await
        .map_err(|_| ReadFailure { problem: SmtpProblem::Timeout, detail: "the server stopped answering".into() })
}

fn imap_err(e: async_imap::error::Error) -> ReadFailure {
    ReadFailure::other(e)
}

/// Connect, greet, encrypt and log in. `refusal` is checked here: every connection goes
/// through this function.
pub async fn connect(s: &ImapSettings, password: &str, policy: Policy) -> Result<ImapSession, ReadFailure> {
    if let Some(problem) = refusal(s, policy) {
        return Err(ReadFailure { problem, detail: String::new() });
    }
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((s.host.as_str(), s.port)))
        .await
        .map_err(|_| ReadFailure { problem: SmtpProblem::Timeout, detail: "no answer from the server".into() })?
        .map_err(io_failure)?;
    let stream = match s.tls {
        TlsMode::Tls => tls(tcp, &s.host).await?,
        TlsMode::None => ImapStream::Plain(tcp),
        TlsMode::StartTls => {
            let mut c = Client::new(tcp);
            timed(c.read_response()).await?.map_err(io_failure)?;
            timed(c.run_command_and_check_ok("STARTTLS", None))
                .await?
                .map_err(|e| ReadFailure { problem: SmtpProblem::TlsMismatch, detail: e.to_string() })?;
            tls(c.into_inner(), &s.host).await?
        }
    };
    let mut client = Client::new(stream);
    if s.tls != TlsMode::StartTls {
        let greeting = timed(client.read_response()).await?.map_err(io_failure)?;
        if greeting.is_none() {
            return Err(ReadFailure {
                problem: SmtpProblem::TlsMismatch,
                detail: "the server closed the connection".into(),
            });
        }
    }
    match timed(client.login(&s.username, password)).await? {
        Ok(session) => Ok(session),
        Err((e, _)) => {
            let text = e.to_string();
            let lower = text.to_ascii_lowercase();
            let host = s.host.trim().trim_end_matches('.').to_ascii_lowercase();
            let microsoft = ["outlook.office365.com", "outlook.live.com", "imap-mail.outlook.com", "outlook.com"]
                .iter()
                .any(|h| host == *h || host.ends_with(&format!(".{h}")));
            let problem = if lower.contains("application-specific") || lower.contains("app password") {
                SmtpProblem::AppPasswordNeeded
            } else if microsoft && matches!(e, async_imap::error::Error::No(_)) {
                // Microsoft switched password sign-in off for IMAP (Exchange Online in 2022,
                // Outlook.com in September 2024): the password is not wrong, it is refused.
                SmtpProblem::BasicAuthDisabled
            } else if matches!(e, async_imap::error::Error::No(_)) || lower.contains("authenticat") {
                SmtpProblem::WrongPassword
            } else {
                explain(None, &text, false, false)
            };
            Err(ReadFailure { problem, detail: text })
        }
    }
}

/// A folder's position: its UIDVALIDITY and the last UID read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub uidvalidity: u32,
    pub last_uid: u32,
}

/// What the reading hands each message to, and where positions are kept.
pub trait MailboxSink {
    fn position(&mut self, folder: &str) -> crate::Result<Option<Position>>;
    /// The first reading of a folder (or a new UIDVALIDITY) found nothing to read: start here.
    fn start_at(&mut self, folder: &str, pos: Position) -> crate::Result<()>;
    /// Record one message and the new position together; true when it was acted on (and may
    /// be moved).
    fn message(&mut self, folder: &str, uidvalidity: u32, uid: u32, raw: &[u8]) -> crate::Result<bool>;
    /// The handled messages were moved to `to`.
    fn moved(&mut self, folder: &str, uidvalidity: u32, uids: &[u32], to: &str) -> crate::Result<()>;
}

/// What one reading of the folders did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadCounts {
    pub fetched: usize,
    pub handled: usize,
    pub moved: usize,
}

/// Folder names in IMAP's modified UTF-7 (RFC 3501 §5.1.3): "Traités" → "Trait&AOk-s".
pub fn encode_folder(name: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        let b = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes).replace('/', ",");
        out.push('&');
        out.push_str(&b);
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// A folder name as the server lists it (modified UTF-7) back to the words the merchant sees:
/// "Courrier ind&AOk-sirable" → "Courrier indésirable". A malformed name is shown as it came.
pub fn decode_folder(name: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    let mut rest = name;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(end) = after.find('-') else { return name.to_string() };
        let chunk = &after[..end];
        if chunk.is_empty() {
            out.push('&');
        } else {
            let Ok(bytes) = base64::engine::general_purpose::STANDARD_NO_PAD.decode(chunk.replace(',', "/")) else {
                return name.to_string();
            };
            if bytes.len() % 2 != 0 {
                return name.to_string();
            }
            let units: Vec<u16> = bytes.chunks(2).map(|p| u16::from_be_bytes([p[0], p[1]])).collect();
            match String::from_utf16(&units) {
                Ok(t) => out.push_str(&t),
                Err(_) => return name.to_string(),
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn since_date(now: chrono::DateTime<chrono::Utc>) -> String {
    (now - chrono::Duration::days(FIRST_READING_DAYS)).format("%d-%b-%Y").to_string()
}

/// Read every folder of the settings from its position, handing each new message to `sink`.
pub async fn read_folders(
    session: &mut ImapSession,
    s: &ImapSettings,
    sink: &mut dyn MailboxSink,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ReadCounts, ReadFailure> {
    let mut counts = ReadCounts::default();
    let moving = !s.move_to.is_empty();
    let can_move = if moving {
        let caps = timed(session.capabilities()).await?.map_err(imap_err)?;
        caps.has_str("MOVE")
    } else {
        false
    };
    // The folder the merchant named, with "/" as the server's own hierarchy separator.
    let move_to = if moving && can_move {
        let delimiter = server_delimiter(session).await?;
        let wire = encode_folder(&s.move_to.replace('/', &delimiter));
        // Created once; "already exists" is fine.
        if let Err(e) = timed(session.create(&wire)).await? {
            tracing::debug!(error = %e, "the folder for handled messages was not created (it may exist)");
        }
        wire
    } else {
        String::new()
    };
    for folder in &s.folders {
        let wire = encode_folder(folder);
        let mailbox = if moving && can_move {
            timed(session.select(&wire)).await?.map_err(imap_err)?
        } else {
            timed(session.examine(&wire)).await?.map_err(imap_err)?
        };
        let uidvalidity = mailbox.uid_validity.unwrap_or(0);
        let pos = sink.position(folder).map_err(ReadFailure::other)?;
        let mut uids: Vec<u32> = match pos {
            Some(p) if p.uidvalidity == uidvalidity => {
                let found = timed(session.uid_search(format!("UID {}:*", p.last_uid + 1))).await?.map_err(imap_err)?;
                found.into_iter().filter(|u| *u > p.last_uid).collect()
            }
            _ => timed(session.uid_search(format!("SINCE {}", since_date(now))))
                .await?
                .map_err(imap_err)?
                .into_iter()
                .collect(),
        };
        uids.sort_unstable();
        uids.truncate(MAX_PER_READING);
        if uids.is_empty() {
            if pos.is_none_or(|p| p.uidvalidity != uidvalidity) {
                let last = mailbox.uid_next.map(|n| n.saturating_sub(1)).unwrap_or(0);
                sink.start_at(folder, Position { uidvalidity, last_uid: last }).map_err(ReadFailure::other)?;
            }
            continue;
        }
        let mut handled = Vec::new();
        // Sizes first, then bodies in groups of at most 25 messages and MEMORY_BUDGET bytes, so
        // that a mailbox full of large messages never holds more than that in memory at once.
        let mut all_sizes: Vec<(u32, u32)> = Vec::new();
        for chunk in uids.chunks(200) {
            let set = chunk.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let stream = timed(session.uid_fetch(&set, "(UID RFC822.SIZE)")).await?.map_err(imap_err)?;
            let all: Vec<_> = timed(stream.collect::<Vec<_>>()).await?;
            all_sizes
                .extend(all.into_iter().filter_map(|f| f.ok()).filter_map(|f| Some((f.uid?, f.size.unwrap_or(0)))));
        }
        let size_of = |uid: u32| all_sizes.iter().find(|(u, _)| *u == uid).map(|(_, s)| *s);
        let mut groups: Vec<Vec<u32>> = Vec::new();
        let mut budget = 0u64;
        for &uid in &uids {
            let cost = match size_of(uid) {
                Some(s) if s <= MAX_BODY => u64::from(s),
                _ => 64 * 1024,
            };
            match groups.last_mut() {
                Some(g) if g.len() < 25 && budget + cost <= MEMORY_BUDGET => {
                    g.push(uid);
                    budget += cost;
                }
                _ => {
                    groups.push(vec![uid]);
                    budget = cost;
                }
            }
        }
        for chunk in &groups {
            let sizes: Vec<(u32, u32)> = chunk.iter().filter_map(|&u| size_of(u).map(|s| (u, s))).collect();
            let mut bodies: Vec<(u32, Vec<u8>)> = Vec::new();
            for (query, pick) in [("(UID BODY.PEEK[])", true), ("(UID BODY.PEEK[HEADER])", false)] {
                let wanted: Vec<String> =
                    sizes.iter().filter(|(_, size)| (*size <= MAX_BODY) == pick).map(|(u, _)| u.to_string()).collect();
                if wanted.is_empty() {
                    continue;
                }
                let stream = timed(session.uid_fetch(wanted.join(","), query)).await?.map_err(imap_err)?;
                let all: Vec<_> = timed(stream.collect::<Vec<_>>()).await?;
                for f in all.into_iter().filter_map(|f| f.ok()) {
                    let raw = if pick { f.body() } else { f.header() };
                    if let (Some(uid), Some(raw)) = (f.uid, raw) {
                        bodies.push((uid, raw.to_vec()));
                    }
                }
            }
            // A message the server listed but whose answer could not be read is logged all
            // the same (empty, so as "other"): the position never passes it silently.
            for uid in chunk {
                if !bodies.iter().any(|(u, _)| u == uid) {
                    tracing::warn!(folder, uid, "a message could not be fetched; logged as unreadable");
                    bodies.push((*uid, Vec::new()));
                }
            }
            bodies.sort_by_key(|(u, _)| *u);
            for (uid, raw) in bodies {
                counts.fetched += 1;
                if sink.message(folder, uidvalidity, uid, &raw).map_err(ReadFailure::other)? {
                    counts.handled += 1;
                    handled.push(uid);
                }
            }
        }
        if moving && can_move && !handled.is_empty() {
            let set = handled.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            match timed(session.uid_mv(&set, &move_to)).await? {
                Ok(()) => {
                    counts.moved += handled.len();
                    sink.moved(folder, uidvalidity, &handled, &s.move_to).map_err(ReadFailure::other)?;
                }
                Err(e) => tracing::warn!(error = %e, "handled messages could not be moved; they stay where they are"),
            }
        }
    }
    Ok(counts)
}

/// The server's hierarchy separator (`LIST "" ""`), "/" when it does not say.
async fn server_delimiter(session: &mut ImapSession) -> Result<String, ReadFailure> {
    let stream = timed(session.list(Some(""), Some("\"\""))).await?.map_err(imap_err)?;
    let names: Vec<_> = timed(stream.collect::<Vec<_>>()).await?;
    Ok(names
        .into_iter()
        .filter_map(|n| n.ok())
        .find_map(|n| n.delimiter().map(str::to_string))
        .unwrap_or_else(|| "/".into()))
}

/// The folders where a provider puts spam (`\Junk`, or the usual names).
pub async fn junk_folders(session: &mut ImapSession) -> Result<Vec<String>, ReadFailure> {
    let stream = timed(session.list(Some(""), Some("*"))).await?.map_err(imap_err)?;
    let names: Vec<_> = timed(stream.collect::<Vec<_>>()).await?;
    let mut out = Vec::new();
    for n in names.into_iter().filter_map(|n| n.ok()) {
        let special = n.attributes().iter().any(|a| format!("{a:?}") == "Junk");
        let lower = n.name().to_ascii_lowercase();
        let named = ["junk", "spam", "courrier ind&aok-sirable", "ind&aok-sirables", "bulk mail", "pourriel"]
            .iter()
            .any(|w| lower.ends_with(w) || lower.contains(w));
        if special || named {
            out.push(n.name().to_string());
        }
    }
    Ok(out)
}

/// Find a message by its Message-ID in the inbox and the spam folders: (folder as listed,
/// whether it is a spam folder, its headers).
pub async fn find_message(
    session: &mut ImapSession,
    message_id: &str,
) -> Result<Option<(String, bool, Vec<u8>)>, ReadFailure> {
    let mut folders = vec![("INBOX".to_string(), false)];
    folders.extend(junk_folders(session).await?.into_iter().map(|f| (f, true)));
    let id = message_id.trim_matches(['<', '>']);
    if id.contains(['"', '\\', '\r', '\n']) {
        return Ok(None);
    }
    for (folder, junk) in folders {
        if timed(session.examine(&folder)).await?.is_err() {
            continue;
        }
        let found = timed(session.uid_search(format!("HEADER Message-ID \"{id}\""))).await?.map_err(imap_err)?;
        if let Some(uid) = found.into_iter().max() {
            let stream =
                timed(session.uid_fetch(uid.to_string(), "(UID BODY.PEEK[HEADER])")).await?.map_err(imap_err)?;
            let all: Vec<_> = timed(stream.collect::<Vec<_>>()).await?;
            if let Some(h) = all.into_iter().filter_map(|f| f.ok()).find_map(|f| f.header().map(<[u8]>::to_vec)) {
                return Ok(Some((decode_folder(&folder), junk, h)));
            }
        }
    }
    Ok(None)
}

/// A current-thread runtime for one reading.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_sent_in_modified_utf7() {
        assert_eq!(encode_folder("INBOX"), "INBOX");
        assert_eq!(encode_folder("Traités"), "Trait&AOk-s", "é is base64 of UTF-16 between & and -");
        assert_eq!(encode_folder("A&B"), "A&-B", "a literal & is written &-");
        assert_eq!(encode_folder("Courrier indésirable"), "Courrier ind&AOk-sirable");
    }

    #[test]
    fn folder_names_are_shown_in_the_merchants_words() {
        for name in ["INBOX", "Traités", "A&B", "Courrier indésirable", "Reçus 📦"] {
            assert_eq!(decode_folder(&encode_folder(name)), name, "{name} comes back as written");
        }
        assert_eq!(decode_folder("Bad&AOk"), "Bad&AOk", "a malformed name is shown as it came");
    }
}
