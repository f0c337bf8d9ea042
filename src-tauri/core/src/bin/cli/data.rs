//! comptoir-cli's data commands: import, export, backup, backups, restore. Their options are
//! checked before the file is opened (`line.rs`); the words read here are those it allows.
//!
//!   import --file F [--dry-run] [--matching skip|fill|overwrite] [--bad-values notes|skip]
//!          [--refuse-all] [--encoding utf-8|windows-1252|iso-8859-15|mac-roman]
//!          [--delimiter ';'] [--sheet N] [--header-row N] [--errors OUT.csv] [--no-backup]
//!   export --out F [--format excel-fr|csv|xlsx] [--archived]
//!   backup [--dir DIR] [--reason manual|start|hourly|close]   (COMPTOIR_BACKUP_PASSPHRASE, else the
//!                                                             shop's key chosen in the app)
//!   backups [--dir DIR]
//!   restore --file F [--dir DIR]

use comptoir_core::data::backup::{self, BackupReason};
use comptoir_core::data::backup_key::Encryption;
use comptoir_core::data::export::{ExportFormat, ExportScope};
use comptoir_core::data::*;
use comptoir_core::types::Lang;
use comptoir_core::Store;
use std::path::{Path, PathBuf};

type Arg<'a> = &'a dyn Fn(&str) -> Option<String>;

fn passphrase() -> Option<String> {
    std::env::var("COMPTOIR_BACKUP_PASSPHRASE").ok().filter(|p| !p.is_empty())
}

/// A backup from the command line: with the passphrase of `COMPTOIR_BACKUP_PASSPHRASE` when
/// set, else to the shop's key when the merchant chose one in the app, else not encrypted.
fn snapshot(store: &Store, db: &str, dir: &Path, reason: BackupReason) -> Result<backup::BackupInfo, String> {
    let pass = passphrase();
    let key = store.backup_key().map_err(msg)?;
    let encryption = match (&pass, &key) {
        (Some(p), _) => Encryption::Passphrase(p),
        (None, Some(k)) => Encryption::Key(k),
        (None, None) => Encryption::None,
    };
    backup::snapshot(Path::new(db), dir, reason, encryption, store.now()).map_err(msg)
}

fn dir(db: &str, arg: Arg) -> PathBuf {
    arg("--dir").map(PathBuf::from).unwrap_or_else(|| backup::backup_dir_for(Path::new(db)))
}

/// The merchant's message; an internal error adds its details (no log behind the command line).
fn msg(e: comptoir_core::Error) -> String {
    match e.code() {
        "internal" => format!("{} ({e})", e.message(Lang::En)),
        _ => e.message(Lang::En),
    }
}

/// An encoding by the name `import --encoding` takes (`line::ENCODINGS`).
pub fn encoding(name: &str) -> Option<TextEncoding> {
    Some(match name {
        "utf-8" | "utf8" => TextEncoding::Utf8,
        "windows-1252" | "windows1252" => TextEncoding::Windows1252,
        "iso-8859-15" | "iso8859-15" => TextEncoding::Iso8859_15,
        "mac-roman" => TextEncoding::MacRoman,
        "utf-16le" | "utf16le" => TextEncoding::Utf16le,
        "utf-16be" | "utf16be" => TextEncoding::Utf16be,
        _ => return None,
    })
}

fn whole<T: std::str::FromStr>(arg: Arg, name: &str) -> Result<Option<T>, String> {
    arg(name).map(|v| v.parse().map_err(|_| format!("{name}: invalid value {v:?}"))).transpose()
}

/// The backups of the shop, newest first: read from the folder alone, so that they can be
/// listed when the shop's file is lost.
pub fn list_backups(db: &str, arg: Arg) -> Result<(), String> {
    for b in backup::list(&dir(db, arg)) {
        println!(
            "{}\t{}\t{}\t{} customers\t{} sales\t{} bytes{}",
            b.file_name,
            b.header.created_at.format("%Y-%m-%d %H:%M:%S"),
            b.header.reason.code(),
            b.header.customers,
            b.header.sales,
            b.size,
            if b.header.encrypted { "\tencrypted" } else { "" }
        );
    }
    Ok(())
}

pub fn run(store: &mut Store, db: &str, command: &str, arg: Arg, flag: &dyn Fn(&str) -> bool) -> Result<bool, String> {
    match command {
        "import" => {
            let file = arg("--file").ok_or("--file is required")?;
            // Copied beside the shop's file and mapped, as the app does: not held in memory, and
            // the merchant's file free to change meanwhile.
            let copies = comptoir_core::data::upload::upload_dir_for(Path::new(db));
            let bytes = comptoir_core::data::upload::copy_in(&copies, Path::new(&file)).map_err(|e| match e {
                comptoir_core::Error::Io(e) => format!("{file}: {e}"),
                e => msg(e),
            })?;
            let enc = arg("--encoding").map(|e| encoding(&e).ok_or(format!("unknown encoding {e}"))).transpose()?;
            let opts = ReadOptions {
                encoding: enc,
                delimiter: arg("--delimiter"),
                sheet: whole(arg, "--sheet")?,
                header_row: whole(arg, "--header-row")?,
            };
            let name = Path::new(&file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(file.clone());
            let f = ImportFile::open_shared(&name, bytes, &opts).map_err(msg)?;
            let info = f.info(store.settings().map_err(msg)?.language);
            eprintln!(
                "{}: {:?}, {} rows, preset {:?}, columns {:?}, date orders {:?}",
                info.name, info.format, info.rows, info.preset, info.mapping.columns, info.mapping.date_orders
            );
            let io = ImportOptions {
                mapping: info.mapping,
                matching: match arg("--matching").as_deref() {
                    Some("skip") => MatchPolicy::Skip,
                    Some("overwrite") => MatchPolicy::Overwrite,
                    _ => MatchPolicy::FillEmpty,
                },
                bad_values: if arg("--bad-values").as_deref() == Some("skip") {
                    BadValues::SkipRow
                } else {
                    BadValues::KeepInNotes
                },
                on_errors: if flag("--refuse-all") { OnErrors::RefuseAll } else { OnErrors::ImportValid },
                soft_opt_in: None,
            };
            let mut progress = |p: Progress| {
                eprint!("\r{}/{} rows", p.done, p.total);
                true
            };
            let started = std::time::Instant::now();
            let run = if flag("--dry-run") {
                store.import_preview(&f, &io, &mut progress).map_err(msg)?
            } else {
                if !flag("--no-backup") {
                    let b = snapshot(store, db, &dir(db, arg), BackupReason::BeforeImport)?;
                    eprintln!("backup before the import: {}", b.file_name);
                }
                store.import_run(&f, &io, None, &mut progress).map_err(msg)?.value
            };
            let c = &run.report.counts;
            eprintln!(
                "\r{} in {:.1} s: {} rows, {} new, {} updated, {} unchanged, {} skipped, {} erased, {} errors, {} with values left out, {} duplicates in the file, {} similar names, {} suppressed",
                if run.report.refused { "refused (rows in error)" } else if flag("--dry-run") { "preview" } else { "imported" },
                started.elapsed().as_secs_f64(),
                c.rows, c.new, c.updated, c.unchanged, c.skipped, c.erased, c.errors, c.with_dropped_values, c.duplicates_in_file, c.similar_names, c.suppressed
            );
            if let Some(id) = run.report.import_id {
                println!("import {id}");
            }
            if let (Some(out), false) = (arg("--errors"), run.errors.is_empty()) {
                let (bytes, _) = error_file::error_file(&f, &run.errors, Lang::Fr).map_err(|e| e.to_string())?;
                std::fs::write(&out, bytes).map_err(|e| format!("{out}: {e}"))?;
                eprintln!("rows in error written to {out}");
            }
        }
        "export" => {
            let out = arg("--out").ok_or("--out is required")?;
            let format = match arg("--format").as_deref() {
                Some("csv") => ExportFormat::CsvStandard,
                Some("xlsx") => ExportFormat::Xlsx,
                _ => ExportFormat::CsvExcelFr,
            };
            let scope = if flag("--archived") { ExportScope::Archived } else { ExportScope::All };
            let mut w = std::io::BufWriter::new(std::fs::File::create(&out).map_err(|e| format!("{out}: {e}"))?);
            let started = std::time::Instant::now();
            let n = store.export_customers(&scope, format, &mut w).map_err(msg)?;
            std::io::Write::flush(&mut w).map_err(|e| e.to_string())?;
            eprintln!("{n} customers exported to {out} in {:.1} s", started.elapsed().as_secs_f64());
        }
        "backup" => {
            let reason = match arg("--reason").as_deref() {
                Some("start") => BackupReason::Start,
                Some("hourly") => BackupReason::Hourly,
                Some("close") => BackupReason::Close,
                _ => BackupReason::Manual,
            };
            let d = dir(db, arg);
            backup::clean_leftovers(&d);
            let started = std::time::Instant::now();
            let b = snapshot(store, db, &d, reason)?;
            let removed = backup::rotate(&d, store.now());
            if let Some(off) = store.backup_settings().map_err(msg)?.offsite_dir {
                match backup::copy_offsite(&b, Path::new(&off)) {
                    Ok(p) => eprintln!("copied to {}", p.display()),
                    Err(e) => eprintln!("off-machine copy not made: {}", msg(e)),
                }
            }
            println!("{}", b.path);
            eprintln!(
                "backup of {} customers and {} sales: {} bytes in {:.1} s ({removed} old backups thinned)",
                b.header.customers,
                b.header.sales,
                b.size,
                started.elapsed().as_secs_f64()
            );
        }
        "restore" => {
            let file = arg("--file").ok_or("--file is required")?;
            let r =
                store.restore_backup(Path::new(&file), passphrase().as_deref(), &dir(db, arg), None).map_err(msg)?;
            eprintln!(
                "restored the backup of {} ({} customers, {} sales); {} erasures and {} unsubscribes applied again; to undo: restore {}",
                r.restored.created_at.format("%Y-%m-%d %H:%M:%S"),
                r.restored.customers,
                r.restored.sales,
                r.erasures_reapplied,
                r.unsubscribes_reapplied,
                r.undo_backup.path
            );
        }
        _ => return Ok(false),
    }
    Ok(true)
}
