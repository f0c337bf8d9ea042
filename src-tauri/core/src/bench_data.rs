//! The data benches of `comptoir-bench` (issue 9), each beside a bare-SQLite baseline in the
//! same run: `import_csv_100k` (parse, decode, validate, match, write, index — into an empty
//! file — against a bare prepared INSERT of the same rows into the same table in one
//! transaction) and `import_csv_100k_town` (the same from a shop in one town, where each new
//! name is compared with hundreds of customers of its postcode), `export_csv_100k` (the shop's customers as CSV Excel France against a bare
//! SELECT of the same columns written by the same csv writer), `backup_snapshot` (the checked,
//! compressed backup of the whole shop against a bare `VACUUM INTO`, the copy it made before).

use super::{latency, BenchResult};
use crate::data::backup::{self, BackupReason};
use crate::data::export::{ExportFormat, ExportScope};
use crate::data::*;
use crate::storage::checkpoint::{self, Checkpointer};
use crate::storage::Store;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::{params, Connection};
use std::path::Path;
use std::time::Instant;

const FIRST: [&str; 12] =
    ["Élodie", "Gaël", "Marie-Ève", "Jean", "Chloé", "Luc", "Zoé", "Noémie", "François", "Inès", "Hugo", "Léa"];
const LAST: [&str; 12] = [
    "Lefèvre", "Côté", "Tremblay", "Durand", "Martin", "Bernard", "Roux", "Gagnon", "Moreau", "Girard", "Bouchard",
    "Petit",
];

/// A French Excel CSV of `rows` customers (Windows-1252, `;`, CRLF), their postcodes spread
/// over France; or, for a shop in one `town`, four customers in five in one of Lyon's nine
/// postcodes (about 9,000 each at 100k rows) and the others anywhere, with the demo shop's
/// wider choice of names (5,700 pairs, against 144), as a town's file has.
fn sample_csv(rows: usize, town: bool) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let (first, last): (&[&str], &[&str]) =
        if town { (crate::demo::FIRST, crate::demo::LAST) } else { (&FIRST, &LAST) };
    let mut text =
        String::from("Nom;Prénom;E-mail;Téléphone;Code postal;Ville;Date de naissance;Accepte les offres\r\n");
    for i in 0..rows {
        let f = first[rng.random_range(0..first.len())];
        let l = last[rng.random_range(0..last.len())];
        text.push_str(&format!(
            "{l};{f};{}.{}{i}@example.com;06 {:02} {:02} {:02} {:02};{:05};Lyon;{:02}/{:02}/{};{}\r\n",
            crate::text::fold(f).replace(|c: char| !c.is_ascii_alphanumeric(), ""),
            crate::text::fold(l).replace(|c: char| !c.is_ascii_alphanumeric(), ""),
            // Distinct numbers: a shared phone would match an earlier row.
            10 + i / 1_000_000 % 90,
            i / 10_000 % 100,
            i / 100 % 100,
            i % 100,
            if town && rng.random_range(0..5) < 4 {
                69000 + rng.random_range(1..10)
            } else {
                rng.random_range(1000..96000)
            },
            rng.random_range(1..29),
            rng.random_range(1..13),
            rng.random_range(1940..2006),
            if i % 3 == 0 { "oui" } else { "" }
        ));
    }
    decode::encode(&text, TextEncoding::Windows1252)
}

fn import_bench(work: &Path, name: &str, rows: usize, town: bool) -> crate::Result<BenchResult> {
    let bytes = sample_csv(rows, town);
    let db = work.join("import-bench.db");
    // A file left by a run that was stopped would hold these customers already.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut store = Store::open(&db)?;
    // As in the app: the log is copied into the file by a thread of its own, not by the
    // import's commit.
    store.leave_checkpoints_to_background()?;
    let checkpointer = Checkpointer::spawn(&db, checkpoint::DEFAULT_EVERY)?;
    let t = Instant::now();
    let bytes = std::sync::Arc::new(bytes);
    let file = ImportFile::open_shared("clients.csv", bytes.clone(), &ReadOptions::default())?;
    let info = file.info(crate::types::Lang::Fr);
    let opts = ImportOptions {
        mapping: info.mapping,
        matching: MatchPolicy::FillEmpty,
        bad_values: BadValues::KeepInNotes,
        on_errors: OnErrors::ImportValid,
        soft_opt_in: None,
    };
    let run = store.import_run(&file, &opts, None, &mut |_| true)?.value;
    let product = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(run.report.counts.new as usize, rows, "every row imported");
    drop(store);
    drop(checkpointer);

    // Baseline: the same rows, already split, bound to one prepared INSERT into the same table.
    let base_db = work.join("import-baseline.db");
    drop(Store::open(&base_db)?);
    let text = decode::decode(&bytes, TextEncoding::Windows1252);
    let rows_split: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(';').collect()).collect();
    let c = Connection::open(&base_db)?;
    c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    let t = Instant::now();
    c.execute_batch("BEGIN IMMEDIATE")?;
    {
        let mut st = c.prepare(
            "INSERT INTO customers (first_name, last_name, first_fold, last_fold, email, email_norm, phone_digits, postcode, city, created_at, updated_at)
             VALUES (?1, ?2, ?1, ?2, ?3, ?3, ?4, ?5, ?6, datetime('now'), datetime('now'))",
        )?;
        for r in &rows_split {
            st.execute(params![r[1], r[0], r[2], r[3], r[4], r[5]])?;
        }
    }
    c.execute_batch("COMMIT")?;
    let baseline = t.elapsed().as_secs_f64() * 1000.0;
    let _ = std::fs::remove_file(&db);
    let _ = std::fs::remove_file(&base_db);
    Ok(latency(name, vec![product], vec![baseline]))
}

fn export_bench(store: &Store, work: &Path) -> crate::Result<BenchResult> {
    let out = work.join("export.csv");
    let t = Instant::now();
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out)?);
    let n = store.export_customers(&ExportScope::All, ExportFormat::CsvExcelFr, &mut w)?;
    std::io::Write::flush(&mut w)?;
    drop(w);
    let product = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let mut w =
        csv::WriterBuilder::new().delimiter(b';').from_writer(std::io::BufWriter::new(std::fs::File::create(&out)?));
    let mut st = store.conn().prepare(
        "SELECT id, first_name, last_name, email, phone_e164, address_line1, postcode, city, created_at, visit_count, total_spent_cents FROM customers WHERE merged_into IS NULL AND archived_at IS NULL",
    )?;
    let mut rows = st.query([])?;
    let mut m = 0u64;
    while let Some(r) = rows.next()? {
        let cells: Vec<String> = (0..11)
            .map(|i| match r.get_ref(i) {
                Ok(rusqlite::types::ValueRef::Text(t)) => String::from_utf8_lossy(t).into_owned(),
                Ok(rusqlite::types::ValueRef::Integer(v)) => v.to_string(),
                _ => String::new(),
            })
            .collect();
        w.write_record(&cells).map_err(|e| crate::Error::Io(std::io::Error::other(e.to_string())))?;
        m += 1;
    }
    w.flush()?;
    let baseline = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(n, m, "the same customers");
    let _ = std::fs::remove_file(&out);
    Ok(latency(&format!("export_csv_{}k", n / 1000), vec![product], vec![baseline]))
}

fn backup_bench(store: &Store, work: &Path) -> crate::Result<BenchResult> {
    let db = store.path().expect("a file");
    let dir = work.join("bench-backups");
    let t = Instant::now();
    backup::snapshot(db, &dir, BackupReason::Manual, backup_key::Encryption::None, store.now())?;
    let product = t.elapsed().as_secs_f64() * 1000.0;
    let bare = work.join("bare-vacuum.db");
    let t = Instant::now();
    let c = Connection::open(db)?;
    c.execute("VACUUM INTO ?1", [bare.to_string_lossy()])?;
    let baseline = t.elapsed().as_secs_f64() * 1000.0;
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&bare);
    Ok(latency("backup_snapshot", vec![product], vec![baseline]))
}

/// The backup taken while the till sells: a second connection to the same file records a sale
/// every 50 ms (twenty a second, far busier than a shop) before and during the backup.
/// `backup_while_selling`: the backup's time against a bare `VACUUM INTO` taken the same way;
/// `sale_during_backup`: each sale's time during the backup against the sales just before it
/// (the till must never freeze while a backup is written).
fn backup_while_selling(store: &Store, work: &Path) -> crate::Result<Vec<BenchResult>> {
    use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
    use std::sync::Arc;
    let db = store.path().expect("a file").to_path_buf();
    let ids: Vec<i64> = {
        let mut st =
            store.conn().prepare("SELECT id FROM customers WHERE merged_into IS NULL ORDER BY id LIMIT 500")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    // 0: selling before the backup, 1: during it, 3: during the bare copy (not kept), 2: stop.
    let phase = Arc::new(AtomicU8::new(0));
    let sold_during = Arc::new(AtomicUsize::new(0));
    let seller = {
        let phase = phase.clone();
        let sold_during = sold_during.clone();
        let db = db.clone();
        std::thread::spawn(move || -> crate::Result<(Vec<f64>, Vec<f64>)> {
            let mut till = Store::open(&db)?;
            let (mut before, mut during) = (Vec::new(), Vec::new());
            let run = std::process::id();
            for (n, id) in ids.iter().cycle().enumerate() {
                let now = phase.load(Ordering::SeqCst);
                if now == 2 {
                    break;
                }
                let input = crate::purchases::SaleInput {
                    customer_id: *id,
                    amount_cents: 1250,
                    occurred_at: None,
                    note: String::new(),
                    category: String::new(),
                    apply: None,
                };
                let t = Instant::now();
                till.record_sale(&input, Some(&format!("bench-backup-{run}-{n:012}")))?;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                match now {
                    0 => before.push(ms),
                    1 => {
                        during.push(ms);
                        sold_during.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => {}
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Ok((before, during))
        })
    };
    std::thread::sleep(std::time::Duration::from_secs(3));
    phase.store(1, Ordering::SeqCst);
    let dir = work.join("bench-backups-selling");
    let t = Instant::now();
    let taken = backup::snapshot(&db, &dir, BackupReason::Manual, backup_key::Encryption::None, store.now());
    let product = t.elapsed().as_secs_f64() * 1000.0;
    // A backup of a tiny file is over before the next sale: at least one sale is counted
    // "during" (on the 100k shop, dozens are).
    while sold_during.load(Ordering::SeqCst) == 0 && !seller.is_finished() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let bare = work.join("bare-vacuum-selling.db");
    phase.store(3, Ordering::SeqCst);
    let t = Instant::now();
    let bare_taken = Connection::open(&db).and_then(|c| c.execute("VACUUM INTO ?1", [bare.to_string_lossy()]));
    let baseline = t.elapsed().as_secs_f64() * 1000.0;
    phase.store(2, Ordering::SeqCst);
    let sold = seller.join().expect("the till thread");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&bare);
    taken?;
    bare_taken?;
    let (before, during) = sold?;
    Ok(vec![
        latency("backup_while_selling", vec![product], vec![baseline]),
        latency("sale_during_backup", during, before),
    ])
}

/// The data benches that `wanted` selects. `n` scales the import (50 rows per sample: 100,000
/// rows in the standard run of 2,000 samples).
pub(super) fn run(store: &mut Store, wanted: &dyn Fn(&str) -> bool, n: usize) -> crate::Result<Vec<BenchResult>> {
    let work = store.path().expect("benches run on a file").parent().unwrap_or(Path::new(".")).join("data-bench");
    std::fs::create_dir_all(&work)?;
    let mut out = Vec::new();
    if wanted("import_csv_100k") {
        out.push(import_bench(&work, "import_csv_100k", (n * 50).min(100_000), false)?);
    }
    if wanted("import_csv_100k_town") {
        out.push(import_bench(&work, "import_csv_100k_town", (n * 50).min(100_000), true)?);
    }
    if wanted("import_csv_1m") {
        // Ten times the file (`shared/quality.md`: 1M rows < 60 s); 500 rows per sample.
        out.push(import_bench(&work, "import_csv_1m", (n * 500).min(1_000_000), false)?);
    }
    if wanted("export_csv_100k") {
        out.push(export_bench(store, &work)?);
    }
    if wanted("backup_snapshot") {
        out.push(backup_bench(store, &work)?);
    }
    if wanted("backup_while_selling") || wanted("sale_during_backup") {
        out.extend(backup_while_selling(store, &work)?);
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(out)
}
