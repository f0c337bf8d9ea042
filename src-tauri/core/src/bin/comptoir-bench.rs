//! comptoir-bench: builds the deterministic shop of shared/quality.md (100k customers, 1M
//! purchases; `--scale` multiplies it) and times the core beside a bare-SQLite baseline.
//! Prints one JSON object per bench on stdout and a readable table on stderr.
//!
//!   cargo run --release -p comptoir-core --bin comptoir-bench -- [--scale X] [--only a,b] [-n N]
//!       [--shop FILE]
//!
//! `--shop FILE` keeps the shop: built there when the file does not exist, reused as it is
//! when it does (a profile or a second run without the minute of building; the benches that
//! write add their rows to it, so figures from a reused shop are not the reference ones).

use comptoir_core::bench::{self, BenchResult};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Started again to read one workbook (`workbook_child`): does that and exits.
    comptoir_core::data::workbook_child::serve_if_asked();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let scale: f64 = get("--scale").and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let n: usize = get("-n").and_then(|s| s.parse().ok()).unwrap_or(2000);
    let only_raw = get("--only").unwrap_or_default();
    let only: Vec<&str> = only_raw.split(',').filter(|s| !s.is_empty()).collect();
    if let Some(bad) = only.iter().find(|o| !bench::ALL.contains(o) && !bench::ON_DEMAND.contains(o)) {
        eprintln!(
            "unknown bench {bad:?}; known: {}, and on demand {}",
            bench::ALL.join(", "),
            bench::ON_DEMAND.join(", ")
        );
        return ExitCode::FAILURE;
    }
    let dir = match tempfile_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot create a work folder: {e}");
            return ExitCode::FAILURE;
        }
    };
    let kept = get("--shop").map(std::path::PathBuf::from);
    let path = kept.clone().unwrap_or_else(|| dir.join("bench.db"));
    let built = if path.exists() {
        eprintln!("reusing the shop in {}", path.display());
        comptoir_core::Store::open(&path).and_then(|s| {
            bench::analyse_migrated(&s)?;
            Ok((s, std::time::Duration::ZERO))
        })
    } else {
        eprintln!("building the shop (scale {scale}) in {}", path.display());
        // Timed through a store opened on the file, as the app opens a shop: the generator's
        // connection carries the state of building it (2026-12-05: `record_sale` 3.0–3.2× its
        // baseline in three full runs on it, 1.8× on the same shop opened again).
        bench::build_shop(&path, scale).and_then(|(generator, took)| {
            drop(generator);
            Ok((comptoir_core::Store::open(&path)?, took))
        })
    };
    let (mut store, took) = match built {
        Ok(x) => x,
        Err(e) => {
            eprintln!("cannot build the shop: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stats = store.stats().expect("stats");
    eprintln!(
        "{} customers, {} sales, {} refunds generated in {:.1} s",
        stats.customers_active,
        stats.sales,
        stats.refunds,
        took.as_secs_f64()
    );
    let results = match bench::run(&mut store, &only, n) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("{:<24} {:>6} {:>12} {:>12} {:>12} {:>12}", "bench", "n", "p50/value", "p99", "base p50/v", "base p99");
    for r in &results {
        println!("{}", serde_json::to_string(r).expect("json"));
        match r {
            BenchResult::Latency(l) => eprintln!(
                "{:<24} {:>6} {:>9.3} ms {:>9.3} ms {:>9.3} ms {:>9.3} ms",
                l.bench, l.n, l.p50, l.p99, l.baseline_p50, l.baseline_p99
            ),
            BenchResult::Throughput(t) => {
                eprintln!("{:<24} {:>6} {:>7.0} op/s {:>12} {:>7.0} op/s", t.bench, t.n, t.value, "", t.baseline_value)
            }
        }
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    ExitCode::SUCCESS
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("comptoir-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
