//! comptoir-cli: work on a Comptoir database file without the window.
//!
//!   comptoir-cli --db shop.db new                (an empty shop, in a file that does not exist yet)
//!   comptoir-cli --db shop.db demo [--customers N] [--purchases N] [--seed S] [--scale X]
//!   comptoir-cli --db shop.db numbers
//!   comptoir-cli --db shop.db stats
//!   comptoir-cli --db shop.db check [--repair]   (integrity, then the figures against the purchases)
//!   comptoir-cli --db shop.db campaigns
//!   comptoir-cli --db shop.db campaign-start --id N
//!   comptoir-cli --db shop.db campaign-send --id N [--outbox DIR] [--batch N]
//!   comptoir-cli --db shop.db automations-tick
//!   comptoir-cli --db shop.db unsubscribe --file LIST.txt
//!   comptoir-cli --db shop.db mailbox-read
//!   comptoir-cli --db shop.db import --file F [--dry-run] [--matching skip|fill|overwrite] …
//!   comptoir-cli --db shop.db export --out F [--format excel-fr|csv|xlsx]
//!   comptoir-cli --db shop.db backup [--dir DIR] | backups [--dir DIR] | restore --file F
//!   comptoir-cli --db old.db old-file --version N [--customers N]
//!
//! The data commands are described in `cli/data.rs`; `--help` lists every option. Options may
//! come before or after the command. The whole line is checked before the file is opened
//! (`cli/line.rs`): an unknown option, a missing or malformed value, a word too many, or a
//! `--db` that is not a SQLite file for a command needing a shop (all but `new`, `demo`,
//! `restore`, `old-file`, `backups`) is refused, so a mistyped line creates and changes nothing.
//! Exit codes: 0 done (for `check`: the file is sound; `check --repair`: sound once its figures
//! were recounted), 1 failed or, for `check`, a problem found (said on the output), 2 the line
//! was refused before the file was opened. (The same binary started as the workbook reader,
//! `workbook_child`, by the app and not by a person, exits 2 when the workbook cannot be read.)
//!
//! `campaign-send` is the same sender as the app's: it takes the sender lock (one sender per
//! file), resumes where a previous one stopped, and returns when the campaign is no longer
//! running (finished, paused, cancelled). The SMTP password comes from the keychain or from
//! `COMPTOIR_SMTP_PASSWORD`. `--outbox DIR` writes `.eml` files instead of sending.
//! `automations-tick` checks every automation once, as the app does every few minutes (what it
//! queues leaves with `campaign-send --id <the automation's campaign>`).
//! `mailbox-read` reads the mailbox (and the provider's bounce API) once, as the app does every
//! 15 minutes; the IMAP password or API key comes from the keychain or the same variable.
//! `old-file` writes a new file with the schema of an older version of the app and, with
//! `--customers N`, that many customers with a sale each (names and `example.com` addresses
//! made up): the app upgrades it when it opens it (to try an upgrade, and in the e2e tests).

#[path = "cli/data.rs"]
mod data;
#[path = "cli/line.rs"]
mod line;

use line::Line;

use comptoir_core::demo::DemoSpec;
use comptoir_core::Store;
use std::process::ExitCode;

fn run(line: &Line) -> Result<(), String> {
    let db = &line.db;
    match line.command() {
        "old-file" => {
            let version = line.get("--version")?.ok_or("old-file needs --version N")?;
            return old_file(std::path::Path::new(db), version, line.get("--customers")?.unwrap_or(0));
        }
        "backups" => return data::list_backups(db, &|name| line.text(name)),
        _ => {}
    }
    let mut store = Store::open(db).map_err(|e| format!("{db}: {e}"))?;
    match line.command() {
        "new" => eprintln!("{db}: a new, empty shop (the app shows its welcome screen when it opens it)"),
        "demo" => {
            let mut spec = match line.get::<f64>("--scale")? {
                Some(scale) if scale > 0.0 => DemoSpec::benchmark(scale),
                Some(_) => return Err("--scale must be positive".into()),
                None => DemoSpec::explore(),
            };
            if let Some(n) = line.get("--customers")? {
                spec.customers = n;
            }
            if let Some(n) = line.get("--purchases")? {
                spec.purchases = n;
            }
            if let Some(s) = line.get("--seed")? {
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
        "numbers" => {
            // What the app computes in the background: expired points, the dashboard's days,
            // the scores and the programme's return.
            let step = |name: &str, t: std::time::Instant| eprintln!("{name}: {:.1} s", t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            store.run_points_expiry().map_err(|e| e.to_string())?;
            step("points expiry", t);
            let t = std::time::Instant::now();
            store.refresh_days().map_err(|e| e.to_string())?;
            step("dashboard days", t);
            let t = std::time::Instant::now();
            store.refresh_scores().map_err(|e| e.to_string())?;
            step("scores", t);
            let t = std::time::Instant::now();
            store.refresh_insights().map_err(|e| e.to_string())?;
            step("programme and campaigns", t);
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
            // The customers' kept figures against their purchases (the ledger is the truth).
            let repair = line.has("--repair");
            let f = if repair { store.repair_figures() } else { store.check_figures() }.map_err(|e| e.to_string())?;
            if f.differing == 0 {
                println!("figures ok ({} customers)", f.customers);
            } else {
                let ids: Vec<String> = f.first_differing.iter().map(|id| id.to_string()).collect();
                let more = if f.differing as usize > ids.len() { ", …" } else { "" };
                println!(
                    "figures of {} of {} customers {} their purchases (customers {}{more})",
                    f.differing,
                    f.customers,
                    if repair { "recounted from" } else { "differ from" },
                    ids.join(", ")
                );
                if !repair {
                    return Err("figures differ from purchases: `check --repair` recounts them".into());
                }
            }
        }
        "campaigns" => {
            for c in store.campaigns().map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\t{}/{} sent, {} waiting, {} failed\t{}",
                    c.id,
                    c.state.code(),
                    c.progress.sent,
                    c.progress.total,
                    c.progress.waiting,
                    c.progress.failed,
                    c.name
                );
            }
        }
        "automations-tick" => {
            let r = comptoir_core::automations::checker::tick(&mut store)
                .map_err(|e| e.message(comptoir_core::types::Lang::En))?;
            eprintln!(
                "automations checked: {} new occasions, {} queued, {} held out, {} postponed, {} skipped, {} expired, {} awaiting a decision{}",
                r.created,
                r.queued,
                r.held_out,
                r.postponed,
                r.skipped,
                r.expired,
                r.awaiting,
                if r.quiet {
                    " (outside the sending hours)"
                } else if r.more {
                    " (more are due: run it again)"
                } else {
                    ""
                }
            );
        }
        "campaign-start" => {
            let id: i64 = line.get("--id")?.ok_or("--id is required")?;
            let c = store.start_campaign(id, None).map_err(|e| e.message(comptoir_core::types::Lang::En))?.value;
            eprintln!(
                "campaign {id} started: {} recipients, {} in the control group",
                c.progress.total, c.progress.control
            );
        }
        "campaign-send" => {
            use comptoir_core::campaigns::engine::{Engine, EngineOptions};
            use comptoir_core::campaigns::lock::SenderLock;
            use comptoir_core::campaigns::secrets::Secrets;
            use comptoir_core::campaigns::smtp::{limits_for, transport_for};
            use comptoir_core::campaigns::smtp::{outbox_dir, EmlOutbox, Transport};
            let id: i64 = line.get("--id")?.ok_or("--id is required")?;
            let lang = comptoir_core::types::Lang::En;
            let _lock = SenderLock::acquire(std::path::Path::new(db)).map_err(|e| e.message(lang))?;
            // As at the app's start: a schedule missed while nothing ran waits for the merchant.
            store.mark_missed_schedules().map_err(|e| e.to_string())?;
            let mail = store.mail_settings().map_err(|e| e.to_string())?;
            let (transport, limits): (Box<dyn Transport>, _) = match line.get::<String>("--outbox")? {
                Some(dir) => (
                    Box::new(EmlOutbox { dir: dir.into() }),
                    limits_for(&comptoir_core::campaigns::mail::MailSettings {
                        delivery: comptoir_core::campaigns::mail::Delivery::Outbox,
                        ..mail.clone()
                    }),
                ),
                None => (
                    transport_for(
                        &mail,
                        &Secrets::default(),
                        outbox_dir(Some(std::path::Path::new(db))),
                        store.smtp_policy().map_err(|e| e.to_string())?,
                    )
                    .map_err(|e| e.message(lang))?,
                    limits_for(&mail),
                ),
            };
            let mut opts = EngineOptions {
                precheck: Some(comptoir_core::automations::checker::precheck),
                ..EngineOptions::default()
            };
            if let Some(b) = line.get::<usize>("--batch")? {
                opts.batch = b.max(1);
            }
            let started = std::time::Instant::now();
            let state = Engine::new(opts)
                .run_campaign(&mut store, id, transport.as_ref(), &limits)
                .map_err(|e| e.message(lang))?;
            let c = store.campaign(id).map_err(|e| e.to_string())?;
            eprintln!(
                "campaign {id} {}: {} sent, {} waiting, {} failed, {} skipped in {:.1} s{}",
                state.code(),
                c.progress.sent,
                c.progress.waiting,
                c.progress.failed,
                c.progress.skipped,
                started.elapsed().as_secs_f64(),
                c.pause_detail.map(|d| format!(" ({d})")).unwrap_or_default()
            );
        }
        "unsubscribe" => {
            let file: String = line.get("--file")?.ok_or("--file is required")?;
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
            let r = store.apply_unsubscribes(&text, None).map_err(|e| e.to_string())?.value;
            eprintln!("{} recorded, {} already unsubscribed, {} not found", r.recorded, r.already, r.unknown.len());
            for line in r.unknown {
                println!("not found: {line}");
            }
        }
        "mailbox-read" => {
            let secrets = comptoir_core::campaigns::secrets::Secrets::default();
            let reports = comptoir_core::mailbox::run::read_now(&mut store, &secrets).map_err(|e| e.to_string())?;
            if reports.is_empty() {
                eprintln!("no mailbox or provider API is set up to be read");
            }
            for r in reports {
                match r.problem {
                    None => eprintln!("{}: {} read, {} handled", r.source, r.fetched, r.handled),
                    Some(p) => eprintln!("{}: failed ({p}) {}", r.source, r.detail),
                }
            }
        }
        other => {
            if !data::run(&mut store, db, other, &|name| line.text(name), &|name| line.has(name))? {
                unreachable!("{other} is in the table of commands (`cli/line.rs`) but has no arm");
            }
        }
    }
    Ok(())
}

/// A new file at an older schema `version`, with `customers` made-up customers and a sale each,
/// and the customers' figures, written in plain SQL on the columns every version has.
fn old_file(path: &std::path::Path, version: u32, customers: i64) -> Result<(), String> {
    let conn = comptoir_core::storage::create_file_at_version(path, version)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let fill = |conn: &rusqlite::Connection| -> rusqlite::Result<()> {
        conn.execute_batch("PRAGMA journal_mode = WAL; BEGIN")?;
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 WHERE ?1 >= 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO customers (id, first_name, last_name, first_fold, last_fold, email, email_norm, created_at, updated_at)
             SELECT i, 'Client', 'N' || i, 'client', 'n' || i, 'client-' || i || '@example.com', 'client-' || i || '@example.com',
                    '2025-01-01 09:00:00+00:00', '2025-01-01 09:00:00+00:00' FROM n",
            [customers],
        )?;
        if customers > 0 {
            // A shop with customers went through the welcome screen long ago.
            conn.execute("INSERT INTO settings (key, value) VALUES ('onboarded', '1')", [])?;
        }
        conn.execute(
            "INSERT INTO purchases (customer_id, kind, amount_cents, occurred_at, recorded_at)
             SELECT id, 'sale', 1000 + id % 9000, '2025-06-01 10:00:00+00:00', '2025-06-01 10:00:00+00:00' FROM customers",
            [],
        )?;
        // The customers' figures follow their purchases, as the app keeps them (a sale adds
        // itself to them rather than counting again).
        conn.execute(
            "UPDATE customers SET visit_count = 1, total_spent_cents = 1000 + id % 9000,
               first_purchase_at = '2025-06-01 10:00:00+00:00', last_purchase_at = '2025-06-01 10:00:00+00:00'",
            [],
        )?;
        conn.execute_batch("COMMIT")
    };
    fill(&conn).map_err(|e| e.to_string())?;
    eprintln!("{}: schema version {version}, {customers} customers", path.display());
    Ok(())
}

fn main() -> ExitCode {
    // Started again to read one workbook (`workbook_child`): does that and exits.
    comptoir_core::data::workbook_child::serve_if_asked();
    let args: Vec<String> = match std::env::args_os().skip(1).map(|a| a.into_string()).collect() {
        Ok(args) => args,
        Err(a) => {
            eprintln!("comptoir-cli: {a:?} is not valid UTF-8 (rename the file or folder)");
            return ExitCode::from(2);
        }
    };
    if line::wants_help(&args) {
        print!("{}", line::usage());
        return ExitCode::SUCCESS;
    }
    let line = match Line::read(&args) {
        Ok(line) => line,
        Err(e) => {
            eprintln!("comptoir-cli: {e} (`comptoir-cli --help` lists the commands and their options)");
            return ExitCode::from(2);
        }
    };
    match run(&line) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("comptoir-cli: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    /// A shop's file (a SQLite file), for the commands that need one.
    fn shop() -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        rusqlite::Connection::open(f.path()).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
        f
    }

    #[test]
    fn the_command_is_found_wherever_the_options_stand() {
        let f = shop();
        let p = f.path().to_str().unwrap();
        for (line, expected) in [
            ("--db F check --repair", "check"),
            ("--db F --repair check", "check"),
            ("--repair --db F check", "check"),
            ("check --db F", "check"),
            ("--dry-run --db F import --file F", "import"),
            ("--db F --file F import", "import"),
            ("--db F backups --dir check", "backups"),
        ] {
            let args = words(&line.replace('F', p));
            let l = Line::read(&args).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(l.db, p, "{line}: --db takes the word after it");
            assert_eq!(l.command(), expected, "{line}: a switch takes no value, an option takes the word after it");
        }
    }

    #[test]
    fn a_command_line_not_understood_is_refused_before_the_file_is_opened() {
        let f = shop();
        let p = f.path().to_str().unwrap();
        for (line, why) in [
            ("--db F", "no command"),
            ("check", "--db FILE is required"),
            ("--db F chekc", "unknown command \"chekc\""),
            ("--db F --repair", "no command"),
            ("--db", "no command"),
            ("--db --repair check", "--db needs a value"),
            ("--db --no-backup import --file F", "--db needs a value"),
            ("--db F check --repiar", "--repiar: not an option of check"),
            ("--db F import --file F --dry_run", "--dry_run: not an option of import"),
            ("--db F check repair", "\"repair\": unexpected word"),
            ("--db F campaign-start", "campaign-start needs --id"),
            ("--db F import", "import needs --file"),
            ("--db F export", "export needs --out"),
            ("--db F restore", "restore needs --file"),
            ("--db F old-file", "old-file needs --version"),
            ("--db F campaign-start --id abc", "--id: \"abc\" is not an id"),
            ("--db F demo --scale -1", "--scale: \"-1\" is not a number above 0"),
            ("--db F demo --scale 0", "--scale: \"0\" is not a number above 0 and up to 1000"),
            ("--db F export --out x --format bogus", "--format: \"bogus\" is not one of excel-fr, csv, xlsx"),
            ("--db F import --file F --matching bogus", "is not one of skip, fill, overwrite"),
            ("--db F import --file F --sheet abc", "--sheet: \"abc\" is not a whole number"),
            ("--db F export --out x --format", "--format needs a value"),
            ("--db F backup --reason bogus", "is not one of manual"),
            ("--db F check --repair --repair", "--repair given twice"),
            ("--db F --db F check", "--db given twice"),
            ("--db F import --file F --file F", "--file given twice"),
            ("--db F check stats", "\"stats\": unexpected word"),
            ("--db F/missing.db check", "not a shop's file"),
            ("--db F/missing.db import --file F", "not a shop's file"),
            ("--db F/missing.db restore --file F/missing.cbk", "no such file"),
            ("--db F import --file F/missing.csv", "--file: "),
            ("--db F new", "the file exists already"),
            ("--db F demo --customers 5000000000", "is not a whole number up to 4294967295"),
            ("--db F campaign-start --id 9223372036854775808", "is not an id"),
            ("--db F campaign-start --id 0", "is not an id"),
            ("--db F demo --scale 1e10", "up to 1000"),
        ] {
            let line = line.replace('F', p);
            match Line::read(&words(&line)) {
                Ok(l) => panic!("{line} is not a line the CLI understands, yet it read {}", l.command()),
                Err(e) => assert!(e.contains(why), "{line}: refused because {why:?}, said {e:?}"),
            }
        }
    }

    #[test]
    fn demo_restore_old_file_and_backups_may_name_a_file_that_does_not_exist_yet() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.db");
        let p = p.to_str().unwrap();
        let backup = dir.path().join("b.cbk");
        std::fs::write(&backup, b"a backup").unwrap();
        let restore = format!("restore --file {}", backup.display());
        for line in ["new", "demo --scale 0.1", &restore, "old-file --version 18", "backups"] {
            let l = Line::read(&words(&format!("--db {p} {line}"))).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(l.db, p);
        }
    }

    #[test]
    fn every_encoding_the_line_takes_is_one_import_reads() {
        for name in line::ENCODINGS {
            assert!(data::encoding(name).is_some(), "--encoding {name} is allowed, so import must read it");
        }
    }

    #[test]
    fn the_usage_lists_every_command_and_option_of_the_table() {
        let u = line::usage();
        for needle in [
            "demo [--customers N]",
            "check [--repair]",
            "campaign-start --id N",
            "import --file F",
            "[--no-backup]",
            "[--archived]",
            "backups [--dir DIR]",
            "old-file --version N",
            "[--encoding utf-8|windows-1252",
        ] {
            assert!(u.contains(needle), "usage shows {needle:?}:\n{u}");
        }
    }

    #[test]
    fn an_empty_file_a_folder_or_an_empty_name_is_not_a_shop() {
        let empty = tempfile::NamedTempFile::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        for db in [empty.path().to_str().unwrap(), dir.path().to_str().unwrap()] {
            let e = Line::read(&words(&format!("--db {db} check"))).err().expect("refused");
            assert!(e.contains("not a shop's file"), "{db}: an empty file or a folder is not a shop: {e}");
        }
        let args = vec!["--db".to_string(), String::new(), "demo".to_string()];
        assert!(Line::read(&args).is_err(), "--db \"\" names no file");
    }

    #[test]
    fn help_is_asked_where_an_option_may_stand_not_as_a_value() {
        assert!(line::wants_help(&words("--help")) && line::wants_help(&words("--db f check -h")));
        assert!(!line::wants_help(&words("--db f export --out -h")), "the value of --out, not a request for help");
    }
}
