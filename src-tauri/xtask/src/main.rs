//! Project tasks, portable across Linux, macOS and Windows:
//!
//!   cargo xtask run [--demo] [--release] [--db FILE]   set up and open the app
//!   cargo xtask test                                    set up and run every test
//!   cargo xtask bench [comptoir-bench options]          run the benchmarks (release)
//!   cargo xtask startup-bench [--scale X] [--runs N]    the built app's start and memory beside
//!                                                       a minimal Tauri window (Linux, Xvfb)
//!   cargo xtask bundle                                  build the installers (.deb, .rpm)
//!
//! On Debian and Ubuntu, missing system packages are named, then installed with apt-get.
//! Elsewhere the README lists the prerequisites.

mod startup;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// System packages to build the app and (for tests) drive its real window.
const APT_BUILD: &[&str] =
    &["build-essential", "pkg-config", "libwebkit2gtk-4.1-dev", "librsvg2-dev", "libssl-dev", "libdbus-1-dev", "file"];
/// The window tests, a real SMTP server on loopback for the campaign end-to-end test, a real
/// IMAP server (Dovecot, started by the mailbox tests themselves) for the mailbox reader;
/// dnsmasq-base: the DNS server on loopback of the domain check's end-to-end test; dbus-daemon,
/// dbus-bin, gnome-keyring, libsecret-tools: the real Secret Service of the keychain test.
const APT_TEST: &[&str] = &[
    "xvfb",
    "xauth",
    "webkit2gtk-driver",
    "python3-aiosmtpd",
    // libfaketime: the automations end-to-end test moves the computer's date past a closure.
    "faketime",
    "dovecot-imapd",
    "dnsmasq-base",
    "dbus-daemon",
    "dbus-bin",
    "gnome-keyring",
    "libsecret-tools",
];
const NODE_MAJOR_MIN: u32 = 20;

type Result<T = ()> = std::result::Result<T, String>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("repository root").to_path_buf()
}

fn say(msg: &str) {
    eprintln!("\x1b[1m==> {msg}\x1b[0m");
}

fn run(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

fn have(program: &str) -> bool {
    Command::new(program).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

fn npm() -> &'static str {
    if cfg!(windows) {
        "npm.cmd"
    } else {
        "npm"
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// On Debian/Ubuntu: install the missing packages, saying which first.
fn ensure_apt(packages: &[&str]) -> Result {
    if !cfg!(target_os = "linux") || !have("dpkg") || !Path::new("/usr/bin/apt-get").exists() {
        return Ok(());
    }
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            let out = Command::new("dpkg-query").args(["-W", "-f=${Status}", p]).output();
            !matches!(out, Ok(o) if String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    say(&format!("Installing missing system packages with apt-get: {}", missing.join(" ")));
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    let mut update: Vec<&str> = sudo.to_vec();
    update.extend(["apt-get", "update", "-q"]);
    run(Command::new(update[0]).args(&update[1..]))?;
    let mut install: Vec<&str> = sudo.to_vec();
    install.extend(["apt-get", "install", "-y", "-q", "--no-install-recommends"]);
    install.extend(&missing);
    run(Command::new(install[0]).args(&install[1..]).env("DEBIAN_FRONTEND", "noninteractive"))
}

fn ensure_node() -> Result {
    let out = Command::new("node").arg("--version").output().map_err(|_| {
        format!("Node.js {NODE_MAJOR_MIN}+ is needed to build the interface: install it (https://nodejs.org or your package manager) and run again")
    })?;
    let v = String::from_utf8_lossy(&out.stdout);
    let major: u32 = v.trim().trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major < NODE_MAJOR_MIN {
        return Err(format!("Node.js {NODE_MAJOR_MIN}+ is needed, found {}", v.trim()));
    }
    Ok(())
}

/// `npm ci` in a folder when its node_modules is missing or older than its lock file.
fn npm_install(dir: &Path) -> Result {
    let lock = dir.join("package-lock.json");
    let marker = dir.join("node_modules/.package-lock.json");
    let fresh = match (
        std::fs::metadata(&lock).and_then(|m| m.modified()),
        std::fs::metadata(&marker).and_then(|m| m.modified()),
    ) {
        (Ok(l), Ok(m)) => m >= l,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    say(&format!("Installing node packages in {}", dir.display()));
    run(Command::new(npm()).args(["ci", "--no-audit", "--no-fund"]).current_dir(dir))
}

fn build_ui() -> Result {
    ensure_node()?;
    let ui = root().join("ui");
    npm_install(&ui)?;
    say("Building the interface");
    run(Command::new(npm()).args(["run", "build"]).current_dir(&ui))
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn task_run(args: &[String]) -> Result {
    ensure_apt(APT_BUILD)?;
    build_ui()?;
    let release = args.iter().any(|a| a == "--release");
    let app_args: Vec<&String> = args.iter().filter(|a| *a != "--release").collect();
    say("Building and opening Comptoir (the first build takes a few minutes)");
    let mut c = cargo();
    c.args(["run", "--package", "comptoir"]);
    if release {
        c.arg("--release");
    }
    c.arg("--").args(app_args);
    run(&mut c)
}

fn ensure_tauri_driver() -> Result {
    if have("tauri-driver") || home_bin("tauri-driver").exists() {
        return Ok(());
    }
    say("Installing tauri-driver (cargo install tauri-driver --locked)");
    run(cargo().args(["install", "tauri-driver", "--locked"]))
}

fn home_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    home.join("bin").join(name)
}

fn task_test() -> Result {
    ensure_apt(&[APT_BUILD, APT_TEST].concat())?;
    ensure_node()?;
    let ui = root().join("ui");
    npm_install(&ui)?;
    say("Interface: lint, type-check, unit tests");
    run(Command::new(npm()).args(["run", "lint"]).current_dir(&ui))?;
    run(Command::new(npm()).args(["run", "check"]).current_dir(&ui))?;
    run(Command::new(npm()).args(["test"]).current_dir(&ui))?;
    build_ui()?;
    say("Rust: format and lints");
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    say("Rust: core, storage and command tests");
    run(cargo().args(["test", "--workspace"]))?;
    say("End to end in the real window");
    run(cargo().args(["build", "--package", "comptoir"]))?;
    ensure_tauri_driver()?;
    e2e()
}

fn e2e() -> Result {
    if !cfg!(target_os = "linux") {
        eprintln!("The end-to-end tests drive WebKitWebDriver, which exists on Linux only; skipped on this system.");
        return Ok(());
    }
    // The upgrade test writes an older file with it (built here so `cargo xtask e2e` has it too).
    run(cargo().args(["build", "--package", "comptoir-core", "--bin", "comptoir-cli"]))?;
    let dir = root().join("tests/e2e");
    npm_install(&dir)?;
    let tests = e2e_files(&dir)?;
    let app = root().join("target/debug/comptoir");
    let driver = if have("tauri-driver") { PathBuf::from("tauri-driver") } else { home_bin("tauri-driver") };
    let mut c = Command::new("xvfb-run");
    c.args([
        "-a",
        "--server-args=-screen 0 1440x900x24",
        "node",
        "--test",
        "--test-concurrency=1",
        "--test-reporter=spec",
    ])
    .args(&tests)
    .env("COMPTOIR_APP", &app)
    .env("COMPTOIR_CLI", root().join("target/debug/comptoir-cli"))
    .env("TAURI_DRIVER", &driver)
    .current_dir(&dir);
    run(&mut c)
}

/// Every end-to-end test file (`*.test.mjs` in tests/e2e), sorted, so that a new one is never
/// forgotten (the `test` script of tests/e2e/package.json runs the same files).
fn e2e_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let read = |e: std::io::Error| format!("reading {}: {e}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .map_err(read)?;
    files.retain(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".test.mjs")));
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.test.mjs in {}", dir.display()));
    }
    Ok(files)
}

fn task_bench(args: &[String]) -> Result {
    run(cargo()
        .args(["run", "--release", "--package", "comptoir-core", "--features", "sink", "--bin", "comptoir-bench", "--"])
        .args(args))
}

/// The Tauri CLI that builds the installers (from the npm registry, run through npx).
const TAURI_CLI: &str = "@tauri-apps/cli@2.12.5";

fn task_bundle() -> Result {
    ensure_apt(APT_BUILD)?;
    build_ui()?;
    say("Building the installers");
    let npx = if cfg!(windows) { "npx.cmd" } else { "npx" };
    let mut c = Command::new(npx);
    c.args(["--yes", TAURI_CLI, "build"]);
    if cfg!(target_os = "linux") {
        c.args(["--bundles", "deb,rpm"]);
    }
    run(c.current_dir(root()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => task_run(&args[1..]),
        Some("test") => task_test(),
        Some("e2e") => e2e(),
        Some("bench") => task_bench(&args[1..]),
        Some("startup-bench") => startup::task(&args[1..]),
        Some("bundle") => task_bundle(),
        _ => {
            Err("usage: cargo xtask <run [--demo] [--release] [--db FILE] | test | e2e | bench [...] | startup-bench [--scale X] [--runs N] | bundle>".into())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_end_to_end_file_is_run_and_nothing_else() {
        let files = e2e_files(&root().join("tests/e2e")).unwrap();
        let names: Vec<_> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        for name in ["app.test.mjs", "campaigns.test.mjs", "demo.test.mjs"] {
            assert!(names.iter().any(|n| n == name), "{name} is run: {names:?}");
        }
        assert!(!names.iter().any(|n| n == "harness.mjs"), "the harness is not a test file");
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted: {names:?}");
    }
}
