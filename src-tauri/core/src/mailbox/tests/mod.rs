//! The mailbox reader against a real IMAP server on loopback: Debian's Dovecot, started by
//! each test in a temporary folder with its own configuration (passwd-file login, maildir,
//! plain IMAP on 127.0.0.1 only), loaded over IMAP (`APPEND`) with report fixtures written to
//! look like the real ones of Gmail, Outlook, Orange, Free, Postfix, Exim and qmail, vacation
//! replies, unsubscribe and STOP replies, an ARF complaint and a satisfaction answer.
//!
//! `fixtures`: the classifier on every fixture (pure); `reader`: readings end to end;
//! `providers`: Brevo's and Mailjet's APIs against an HTTP server on loopback.

mod fixtures;
mod providers;
mod reader;

use super::settings::MailboxSettings;
use crate::campaigns::mail::{Delivery, MailSettings, SendLimits, SmtpPreset, SmtpSettings, TlsMode};
use crate::campaigns::segments::SegmentFilter;
use crate::campaigns::smtp::{EmlOutbox, Policy};
use crate::campaigns::{Audience, Block, CampaignContent, CampaignInput, MessageContent};
use crate::customers::{ConsentChoice, ConsentInput, ConsentSource, CustomerInput, NewCustomer};
use crate::Store;
use std::path::Path;
use std::process::{Child, Command};

/// A fixture with its placeholders filled: `%MID%` the shop's Message-ID (with angle
/// brackets), `%RCPT%` the recipient, `%SHOP%` the shop's address, `%TOKEN%` a message token,
/// `%UNIQ%` something unique to this copy. Lines end in CRLF, as on the wire.
pub(super) fn fixture(name: &str, mid: &str, rcpt: &str, token: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mailbox/tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    let uniq = format!("{:016x}", rand::random::<u64>());
    text.replace("%MID%", mid)
        .replace("%RCPT%", rcpt)
        .replace("%SHOP%", SHOP)
        .replace("%TOKEN%", token)
        .replace("%UNIQ%", &uniq)
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

pub(super) const SHOP: &str = "lea@boulangerie.test";
const USER: &str = "lea@boulangerie.test";
const PASSWORD: &str = "s3cret-imap";

/// A Dovecot of its own, stopped when dropped.
pub(super) struct Dovecot {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
}

fn id_of(flag: &str, user: &str) -> String {
    let mut cmd = Command::new("id");
    cmd.arg(flag);
    if !user.is_empty() {
        cmd.arg(user);
    }
    let out = cmd.output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Dovecot {
    pub fn start() -> Dovecot {
        let bin = ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"].into_iter().find(|p| Path::new(p).exists()).expect(
            "Dovecot is needed for the mailbox tests: apt-get install dovecot-imapd (cargo xtask test installs it)",
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let root = id_of("-u", "") == "0";
        // As root, Dovecot runs its login and internal processes as its own users (created by
        // the Debian package) and the mail as `dovecot`; otherwise everything as this user.
        let me = id_of("-un", "");
        let (login_user, internal_user, mail_user) = if root {
            ("dovenull".to_string(), "dovecot".to_string(), "dovecot".to_string())
        } else {
            (me.clone(), me.clone(), me)
        };
        let (uid, gid) = (id_of("-u", &mail_user), id_of("-g", &mail_user));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::create_dir_all(d.join("mail")).unwrap();
        if root {
            let ok = Command::new("chown").arg(format!("{uid}:{gid}")).arg(d.join("mail")).status().unwrap();
            assert!(ok.success(), "chown of the mail folder");
        }
        std::fs::write(d.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let port = free_port();
        let p = d.display();
        let conf = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {p}/run\nstate_dir = {p}/state\nlog_path = {p}/dovecot.log\n\
             ssl = no\nfirst_valid_uid = 1\nfirst_valid_gid = 1\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             default_login_user = {login_user}\ndefault_internal_user = {internal_user}\n\
             mail_location = maildir:{p}/mail/%u\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {p}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={p}/mail/%u\n}}\n\
             namespace inbox {{\n  inbox = yes\n  mailbox Junk {{\n    special_use = \\Junk\n    auto = create\n  }}\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n"
        );
        std::fs::write(d.join("dovecot.conf"), conf).unwrap();
        let child = Command::new(bin).arg("-F").arg("-c").arg(d.join("dovecot.conf")).spawn().expect("start dovecot");
        // From here the process is owned by `Dovecot`, whose drop stops it (also on failure).
        let dovecot = Dovecot { dir, child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // Its authentication process starts at the first login: waited for here, so
                // that a test's first login (a wrong password, say) gets the server's answer
                // and not its "internal error" while it starts on a loaded machine.
                for _ in 0..40 {
                    if dovecot.logs_in() {
                        return dovecot;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(250));
                }
                panic!("Dovecot's login never succeeded on port {port}: {}", dovecot.log());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("Dovecot did not start on port {port}: {}", dovecot.log());
    }

    /// One login with the right password, answered OK.
    fn logs_in(&self) -> bool {
        use std::io::{BufRead, BufReader, Write};
        let Ok(mut tcp) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let mut reader = BufReader::new(tcp.try_clone().expect("clone"));
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || !line.starts_with("* OK") {
            return false;
        }
        if tcp.write_all(format!("a LOGIN \"{USER}\" \"{PASSWORD}\"\r\n").as_bytes()).is_err() {
            return false;
        }
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return false,
                Ok(_) if line.starts_with("a ") => {
                    let ok = line.starts_with("a OK");
                    let _ = tcp.write_all(b"b LOGOUT\r\n");
                    return ok;
                }
                Ok(_) => {}
            }
        }
    }

    pub fn settings(&self) -> MailboxSettings {
        let mut m = MailboxSettings { imap_enabled: true, ..Default::default() };
        m.imap.host = "127.0.0.1".into();
        m.imap.port = self.port;
        m.imap.tls = TlsMode::None;
        m.imap.username = USER.into();
        m
    }

    pub fn password(&self) -> &'static str {
        PASSWORD
    }

    /// Put messages in a folder, as a mail server delivering them would.
    pub fn append(&self, folder: &str, messages: &[Vec<u8>]) {
        let s = self.settings();
        let rt = super::imap::runtime().unwrap();
        rt.block_on(async {
            let mut session = super::imap::connect(&s.imap, PASSWORD, Policy::default()).await.unwrap();
            for m in messages {
                session.append(folder, None, None, m).await.unwrap();
            }
            session.logout().await.unwrap();
        });
    }

    /// How many messages a folder holds (nothing is ever deleted by the reader).
    pub fn count(&self, folder: &str) -> u32 {
        let s = self.settings();
        let rt = super::imap::runtime().unwrap();
        rt.block_on(async {
            let mut session = super::imap::connect(&s.imap, PASSWORD, Policy::default()).await.unwrap();
            let n = session.examine(folder).await.unwrap().exists;
            session.logout().await.unwrap();
            n
        })
    }

    /// Whether the server still has the message unread (the reader only peeks).
    pub fn unseen(&self, folder: &str) -> usize {
        let s = self.settings();
        let rt = super::imap::runtime().unwrap();
        rt.block_on(async {
            let mut session = super::imap::connect(&s.imap, PASSWORD, Policy::default()).await.unwrap();
            session.examine(folder).await.unwrap();
            let n = session.search("UNSEEN").await.unwrap().len();
            session.logout().await.unwrap();
            n
        })
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A shop on a fixed clock whose messages go to the `.eml` outbox in `dir`.
pub(super) fn shop() -> (Store, std::sync::Arc<crate::clock::FixedClock>) {
    let (mut s, clock) = crate::testutil::store();
    s.save_mail_settings(
        &MailSettings {
            sender_name: "Boulangerie Léa".into(),
            sender_email: SHOP.into(),
            reply_to: String::new(),
            postal_address: "3 rue des Lilas, 69001 Lyon".into(),
            language: crate::types::Lang::Fr,
            delivery: Delivery::Outbox,
            smtp: SmtpSettings {
                preset: SmtpPreset::Custom,
                host: String::new(),
                port: 587,
                tls: TlsMode::StartTls,
                username: String::new(),
                limits: SendLimits { per_second: 0, per_minute: 0, per_day: 0, connections: 2 },
            },
        },
        None,
    )
    .unwrap();
    (s, clock)
}

pub(super) fn customer(s: &mut Store, first: &str, email: &str) -> i64 {
    s.create_customer(
        &NewCustomer {
            customer: CustomerInput {
                first_name: first.into(),
                last_name: "Client".into(),
                email: email.into(),
                ..Default::default()
            },
            consent: Some(ConsentInput {
                choice: ConsentChoice::Express,
                source: ConsentSource::Counter,
                wording: "Oui".into(),
            }),
            note: String::new(),
        },
        None,
    )
    .unwrap()
    .value
}

/// Send a campaign to everyone who agreed (into the `.eml` outbox) and return its id.
pub(super) fn send_campaign(s: &mut Store, outbox: &Path, name: &str) -> i64 {
    send_blocks(s, outbox, name, vec![Block::Text { markdown: "Bonjour {{ first_name }}.".into() }])
}

/// Send a campaign of these blocks to everyone who may receive it, into `outbox` (files).
pub(super) fn send_blocks(s: &mut Store, outbox: &Path, name: &str, blocks: Vec<Block>) -> i64 {
    let input = CampaignInput {
        name: name.into(),
        content: CampaignContent {
            a: MessageContent { subject: "Les nouveautés de décembre".into(), preheader: String::new(), blocks },
            b: None,
        },
        audience: Audience { filter: SegmentFilter::default(), control_percent: 0, ab: None, results_days: 14 },
    };
    let id = s.create_campaign(&input, None).unwrap().value.id;
    s.start_campaign(id, None).unwrap();
    let transport = EmlOutbox { dir: outbox.to_path_buf() };
    let limits = SendLimits { per_second: 0, per_minute: 0, per_day: 0, connections: 2 };
    crate::campaigns::engine::Engine::new(Default::default()).run_campaign(s, id, &transport, &limits).unwrap();
    id
}

/// The Message-ID and token of what a campaign sent to an address.
pub(super) fn sent_to(s: &Store, campaign: i64, email: &str) -> (String, String) {
    s.conn()
        .query_row(
            "SELECT message_id, token FROM campaign_recipients WHERE campaign_id = ?1 AND email_norm = ?2 AND state = 'sent'",
            rusqlite::params![campaign, email],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}
