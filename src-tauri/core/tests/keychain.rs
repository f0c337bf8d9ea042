//! The SMTP password's way into the operating system's keychain and back, against a real
//! Secret Service: this test starts a D-Bus session bus and GNOME Keyring (unlocked, secrets
//! component only) in a temporary home, then stores the password through `campaigns::secrets`
//! and reads it back through D-Bus — with a fresh `Secrets` (nothing kept in memory) and with
//! libsecret's `secret-tool`, another client. It checks the password is in neither the
//! database file nor its journal, and that a new password replaces the old one.
//!
//! Its own test binary, with one test, so the environment (the bus address, the home) is set
//! before anything in the process talks to D-Bus. Needs Debian's `dbus-daemon`, `dbus-bin`,
//! `gnome-keyring` and `libsecret-tools` (`cargo xtask test` installs them); without them it
//! says why and skips, except under CI, where it fails.

use comptoir_core::campaigns::mail::{Delivery, MailSettings, SmtpPreset, TlsMode};
use comptoir_core::campaigns::secrets::{self, SecretPlace, Secrets};
use comptoir_core::Store;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVICE: &str = "fr.comptoir.desktop.smtp";

/// The daemons this test started, stopped (by their own handles) when it ends.
struct Daemons {
    children: Vec<Child>,
}

impl Drop for Daemons {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

fn secret_tool(args: &[&str]) -> String {
    let out = Command::new("secret-tool").args(args).output().expect("secret-tool runs");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Start a session bus and an unlocked GNOME Keyring under `home`, and point this process at
/// them.
fn start(home: &Path) -> Daemons {
    let run = home.join("run");
    std::fs::create_dir_all(&run).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    std::env::set_var("HOME", home);
    std::env::set_var("XDG_RUNTIME_DIR", &run);
    std::env::set_var("XDG_DATA_HOME", home.join("data"));
    std::env::set_var("XDG_CONFIG_HOME", home.join("config"));
    std::env::remove_var(secrets::ENV_PASSWORD);
    let mut daemons = Daemons { children: Vec::new() };

    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("dbus-daemon starts");
    let mut address = String::new();
    BufReader::new(bus.stdout.take().unwrap()).read_line(&mut address).expect("dbus-daemon prints its address");
    daemons.children.push(bus);
    let address = address.trim().to_string();
    assert!(address.starts_with("unix:"), "a session bus address: {address:?}");
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address);

    let mut keyring = Command::new("gnome-keyring-daemon")
        .args(["--unlock", "--components=secrets", "--foreground"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("gnome-keyring-daemon starts");
    // `--unlock` reads the login keyring's password on standard input (and creates it).
    keyring.stdin.take().unwrap().write_all(b"comptoir-test-keyring").unwrap();
    daemons.children.push(keyring);

    // Ready when the Secret Service name is owned on the bus.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .expect("dbus-send runs");
        if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
            break;
        }
        assert!(Instant::now() < deadline, "GNOME Keyring never took the Secret Service name");
        std::thread::sleep(Duration::from_millis(100));
    }
    daemons
}

fn file_holds(path: &Path, needle: &str) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

#[test]
fn the_smtp_password_goes_to_the_secret_service_and_comes_back() {
    let missing: Vec<&str> = ["dbus-daemon", "dbus-send", "gnome-keyring-daemon", "secret-tool"]
        .into_iter()
        .filter(|t| !on_path(t))
        .collect();
    if !missing.is_empty() {
        let why = format!(
            "the keychain test needs {} (Debian: dbus-daemon dbus-bin gnome-keyring libsecret-tools)",
            missing.join(", ")
        );
        assert!(std::env::var_os("CI").is_none(), "{why}: CI installs them");
        eprintln!("SKIPPED: {why}");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let _daemons = start(home.path());

    // The settings as the merchant saves them: an SMTP account at a provider.
    let db = home.path().join("shop.db");
    let mut store = Store::open(&db).unwrap();
    let mut mail = MailSettings {
        sender_name: "Boulangerie Léa".into(),
        sender_email: "lea@boulangerie.test".into(),
        postal_address: "3 rue des Lilas, 69001 Lyon".into(),
        delivery: Delivery::Smtp,
        ..MailSettings::default()
    };
    mail.smtp.preset = SmtpPreset::Custom;
    mail.smtp.host = "smtp.boulangerie.test".into();
    mail.smtp.tls = TlsMode::StartTls;
    mail.smtp.username = "lea@boulangerie.test".into();
    let saved = store.save_mail_settings(&mail, None).unwrap().value;
    let account = secrets::account(&saved.smtp.username, &saved.smtp.host);

    let first = "Premier-mot-de-passe-été-7";
    assert_eq!(
        Secrets::default().set(&account, first),
        SecretPlace::Keychain,
        "stored in the Secret Service, not in memory"
    );
    assert_eq!(
        Secrets::default().get(&account),
        Some((first.to_string(), SecretPlace::Keychain)),
        "a fresh Secrets (nothing in memory) reads it back through D-Bus"
    );
    let listed = secret_tool(&["search", "--all", "service", SERVICE]);
    assert!(listed.contains(first), "another client of the Secret Service sees it: {listed}");
    assert_eq!(listed.matches("secret = ").count(), 1, "one entry: {listed}");

    let second = "Second-mot-de-passe-hiver-9";
    assert_eq!(Secrets::default().set(&account, second), SecretPlace::Keychain);
    assert_eq!(
        Secrets::default().get(&account),
        Some((second.to_string(), SecretPlace::Keychain)),
        "the new one is read"
    );
    let listed = secret_tool(&["search", "--all", "service", SERVICE]);
    assert_eq!(
        listed.matches("secret = ").count(),
        1,
        "the new password replaced the old one, not added to it: {listed}"
    );
    assert!(listed.contains(second) && !listed.contains(first), "{listed}");

    // Nothing of either password in the database, its journal or its shared memory.
    store.save_mail_settings(&saved, None).unwrap();
    drop(store);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let f = home.path().join(format!("shop.db{suffix}"));
        for pw in [first, second] {
            assert!(!file_holds(&f, pw), "{} holds no password", f.display());
        }
    }
    assert!(file_holds(&db, "smtp.boulangerie.test"), "the settings themselves are in the file (the check reads it)");

    Secrets::default().forget(&account);
    assert_eq!(Secrets::default().get(&account), None, "forgotten in the keychain too");
    assert_eq!(secret_tool(&["search", "--all", "service", SERVICE]).matches("secret = ").count(), 0);
}
