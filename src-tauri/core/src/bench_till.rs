//! The till's first look-ups after the computer starts, when none of the shop's file is in the
//! system's cache: with the app's read-ahead of the till's pages (`storage::warm`, run
//! once after the first screen) beside the same look-ups without it, each after the system's
//! cache is emptied. Run only when named (`--only till_after_start`): emptying the system's
//! cache needs root on Linux and slows everything else on the machine for a while.

use crate::bench::{latency, time_each, BenchResult};
use crate::storage::Store;
use std::path::Path;
use std::time::Instant;

/// Empty the system's page cache (Linux, as root), so the next reads come from the disk.
fn drop_system_cache() -> std::io::Result<()> {
    std::process::Command::new("sync").status()?;
    std::fs::write("/proc/sys/vm/drop_caches", "3")
}

pub fn run(path: &Path, cards: &[String], only: &[&str]) -> crate::Result<Vec<BenchResult>> {
    if !only.contains(&"till_after_start") || cards.is_empty() {
        return Ok(Vec::new());
    }
    if let Err(e) = drop_system_cache() {
        eprintln!("till_after_start not run: the system's cache cannot be emptied here ({e})");
        return Ok(Vec::new());
    }
    let lookup = |s: &Store, card: &String| {
        let m = s.till_lookup(card).expect("lookup").expect("a card of the shop");
        s.loyalty_status(m.customer.id).expect("status");
    };
    // Baseline: a fresh connection, the look-ups straight away.
    let store = Store::open(path)?;
    let baseline = time_each(cards, |c| lookup(&store, c));
    drop(store);
    drop_system_cache()?;
    let t = Instant::now();
    let warmed = crate::storage::warm::warm_till_pages(path)?;
    eprintln!(
        "till_after_start: read-ahead of {}, {} MiB, in {} ms",
        if warmed.whole_file { "the whole file".to_string() } else { format!("{} b-trees", warmed.btrees) },
        warmed.bytes / (1024 * 1024),
        t.elapsed().as_millis()
    );
    let store = Store::open(path)?;
    let product = time_each(cards, |c| lookup(&store, c));
    Ok(vec![latency("till_after_start", product, baseline)])
}
