//! `cargo xtask startup-bench`: the real built app's start, beside the smallest Tauri window
//! built the same way (`src-tauri/bench-window`), in the same run, on the same X server.
//!
//! For each run: launch the release app on the benchmark shop (prepared once with
//! `comptoir-cli demo --scale X` and `numbers`, as after a first run of the app), read the
//! time from the process start to the first painted dashboard (the interface says so through
//! `app_painted`, printed with `COMPTOIR_STARTUP_PROBE`), let it settle, add up the memory of
//! its processes (the app and WebKit's web and network processes: proportional set size, so
//! shared libraries are not counted twice), and close it; the same for the minimal window.
//! Linux only (Xvfb, /proc). Prints one JSON line per figure, like `comptoir-bench`.

use super::{cargo, root, run, say, Result};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// From the first paint to the memory reading: the app gives its page cache back 5 s after
/// the interface's last command, which may come a few seconds after the first paint.
const SETTLE: Duration = Duration::from_secs(15);
const PAINT_TIMEOUT: Duration = Duration::from_secs(60);

struct Measure {
    paint_ms: f64,
    wall_ms: f64,
    pss_kb: u64,
    processes: usize,
}

fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return out };
    for e in entries.flatten() {
        let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
        // The parent pid is the second field after the command name in parentheses.
        let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
        if after.split_whitespace().nth(1).and_then(|s| s.parse::<u32>().ok()) == Some(pid) {
            out.push(p);
        }
    }
    out
}

fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let kids = children_of(all[i]);
        all.extend(kids);
        i += 1;
    }
    all
}

fn pss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Pss:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

fn kill_tree(child: &mut Child) {
    let pids = tree(child.id());
    for p in pids.iter().rev() {
        let _ = Command::new("kill").arg(p.to_string()).status();
    }
    let _ = child.wait();
}

/// Launch `program`, wait for the line starting with `marker` on its output, settle, measure.
fn measure(program: &Path, marker: &str, envs: &[(&str, &str)], display: &str) -> Result<Measure> {
    let start = Instant::now();
    let mut child = Command::new(program)
        .envs(envs.iter().copied())
        .env("DISPLAY", display)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let stdout = child.stdout.take().ok_or("no output")?;
    let (tx, rx) = mpsc::channel();
    let marker = marker.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if let Some(rest) = line.strip_prefix(&marker) {
                let ms: f64 = rest.split_whitespace().last().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
                let _ = tx.send(ms);
            }
        }
    });
    let paint_ms = match rx.recv_timeout(PAINT_TIMEOUT) {
        Ok(ms) => ms,
        Err(_) => {
            kill_tree(&mut child);
            return Err(format!("{} never said it was painted", program.display()));
        }
    };
    let wall_ms = start.elapsed().as_secs_f64() * 1000.0;
    std::thread::sleep(SETTLE);
    let pids = tree(child.id());
    let pss = pids.iter().map(|p| pss_kb(*p)).sum();
    kill_tree(&mut child);
    Ok(Measure { paint_ms, wall_ms, pss_kb: pss, processes: pids.len() })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn start_xvfb() -> Result<(Child, String)> {
    for n in 90..110 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
            continue;
        }
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([display.as_str(), "-screen", "0", "1440x900x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start Xvfb: {e}"))?;
        std::thread::sleep(Duration::from_millis(800));
        return Ok((child, display));
    }
    Err("no free X display between :90 and :109".into())
}

pub fn task(args: &[String]) -> Result {
    if !cfg!(target_os = "linux") {
        return Err("the start-up benchmark measures Linux processes (/proc) under Xvfb".into());
    }
    let get = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let scale: f64 = get("--scale").and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let runs: usize = get("--runs").and_then(|s| s.parse().ok()).unwrap_or(5);
    super::build_ui()?;
    say("Building the release app, the minimal window and the CLI");
    // Two builds: `--bin` would narrow a single one to the CLI alone.
    run(cargo().args(["build", "--release", "-p", "comptoir", "-p", "bench-window"]))?;
    run(cargo().args(["build", "--release", "-p", "comptoir-core", "--bin", "comptoir-cli"]))?;
    let target = root().join("target/release");
    let db: PathBuf = match get("--db") {
        Some(p) => PathBuf::from(p),
        None => {
            let dir = std::env::temp_dir().join(format!("comptoir-startup-{scale}"));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let db = dir.join("shop.db");
            if !db.exists() {
                say(&format!("Building the benchmark shop (scale {scale}) in {}", db.display()));
                let cli = target.join("comptoir-cli");
                run(Command::new(&cli).args(["--db", &db.to_string_lossy(), "demo", "--scale", &scale.to_string()]))?;
                run(Command::new(&cli).args(["--db", &db.to_string_lossy(), "numbers"]))?;
            }
            db
        }
    };
    let (mut xvfb, display) = start_xvfb()?;
    let db_text = db.to_string_lossy().into_owned();
    let result = (|| -> Result<(Vec<Measure>, Vec<Measure>)> {
        // One launch of each first, not measured: the files are read once into the page cache.
        measure(
            &target.join("comptoir"),
            "COMPTOIR_PAINTED dashboard",
            &[("COMPTOIR_DB", &db_text), ("COMPTOIR_STARTUP_PROBE", "1")],
            &display,
        )?;
        measure(&target.join("bench-window"), "BENCH_WINDOW_PAINTED", &[], &display)?;
        let (mut app, mut window) = (Vec::new(), Vec::new());
        for i in 0..runs {
            say(&format!("Run {} of {runs}", i + 1));
            app.push(measure(
                &target.join("comptoir"),
                "COMPTOIR_PAINTED dashboard",
                &[("COMPTOIR_DB", &db_text), ("COMPTOIR_STARTUP_PROBE", "1")],
                &display,
            )?);
            window.push(measure(&target.join("bench-window"), "BENCH_WINDOW_PAINTED", &[], &display)?);
        }
        Ok((app, window))
    })();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    let (app, window) = result?;
    let mb = |m: &[Measure]| median(m.iter().map(|x| x.pss_kb as f64 / 1024.0).collect());
    println!(
        "{{\"bench\":\"startup_first_dashboard\",\"scale\":{scale},\"n\":{runs},\"unit\":\"ms\",\"p50\":{:.0},\"max\":{:.0},\"wall_p50\":{:.0},\"baseline_p50\":{:.0},\"baseline_wall_p50\":{:.0}}}",
        median(app.iter().map(|m| m.paint_ms).collect()),
        app.iter().map(|m| m.paint_ms).fold(0.0, f64::max),
        median(app.iter().map(|m| m.wall_ms).collect()),
        median(window.iter().map(|m| m.paint_ms).collect()),
        median(window.iter().map(|m| m.wall_ms).collect()),
    );
    println!(
        "{{\"bench\":\"idle_memory\",\"scale\":{scale},\"n\":{runs},\"unit\":\"MB\",\"value\":{:.0},\"baseline_value\":{:.0},\"ratio\":{:.2},\"processes\":{},\"baseline_processes\":{}}}",
        mb(&app),
        mb(&window),
        mb(&app) / mb(&window),
        app.last().map(|m| m.processes).unwrap_or(0),
        window.last().map(|m| m.processes).unwrap_or(0),
    );
    Ok(())
}
