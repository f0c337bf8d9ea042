//! comptoir-cli: work on a Comptoir database file without the window.
//!
//!   comptoir-cli --db shop.db demo [--customers N] [--purchases N] [--seed S] [--scale X]
//!   comptoir-cli --db shop.db stats
//!   comptoir-cli --db shop.db check

use comptoir_core::demo::DemoSpec;
use comptoir_core::Store;
use std::process::ExitCode;

const USAGE: &str =
    "usage: comptoir-cli --db FILE <demo [--customers N] [--purchases N] [--seed S] [--scale X] | stats | check>";

fn value<T: std::str::FromStr>(args: &[String], name: &str) -> Result<Option<T>, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => {
            let v = args.get(i + 1).ok_or_else(|| format!("{name} needs a value"))?;
            v.parse().map(Some).map_err(|_| format!("{name}: invalid value {v:?}"))
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let db: String = value(&args, "--db")?.ok_or(USAGE)?;
    let command = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[*i - 1].starts_with("--")))
        .map(|(_, a)| a.as_str())
        .ok_or(USAGE)?;
    let mut store = Store::open(&db).map_err(|e| format!("{db}: {e}"))?;
    match command {
        "demo" => {
            let mut spec = match value::<f64>(&args, "--scale")? {
                Some(scale) if scale > 0.0 => DemoSpec::benchmark(scale),
                Some(_) => return Err("--scale must be positive".into()),
                None => DemoSpec::explore(),
            };
            if let Some(n) = value(&args, "--customers")? {
                spec.customers = n;
            }
            if let Some(n) = value(&args, "--purchases")? {
                spec.purchases = n;
            }
            if let Some(s) = value(&args, "--seed")? {
                spec.seed = s;
            }
            let started = std::time::Instant::now();
            let out = store.generate_demo(spec).map_err(|e| e.to_string())?;
            eprintln!(
                "demo shop: {} customers, {} purchases, {} refunds in {:.1} s",
                out.value.customers,
                out.value.purchases,
                out.value.refunds,
                started.elapsed().as_secs_f64()
            );
        }
        "stats" => {
            let stats = store.stats().map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string_pretty(&stats).map_err(|e| e.to_string())?);
        }
        "check" => {
            let ok = store.integrity_check().map_err(|e| e.to_string())?;
            println!("{}", if ok { "ok" } else { "CORRUPT" });
            if !ok {
                return Err("integrity check failed".into());
            }
        }
        other => return Err(format!("unknown command {other:?}\n{USAGE}")),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("comptoir-cli: {e}");
            ExitCode::FAILURE
        }
    }
}
