//! comptoir-cli's command line: the options each command takes, and a line read against them
//! before any database file is opened.
//!
//! Invariants:
//! - A line is understood whole or refused (exit 2) before the `--db` file is opened, so a
//!   mistyped line creates no file and changes nothing: an unknown command or option, an option
//!   given twice or without its value, a value of the wrong kind (not a number, not one of the
//!   listed words), a required option missing, a word left over (`check repair`), all refuse it.
//! - An option's value never starts with `--`: a forgotten value is not taken from the option
//!   after it (`--db --repair check` is refused; a file named so is written `./--repair`).
//! - Only `new`, `demo`, `restore` and `old-file` may start a new file; every other command
//!   refuses a `--db` that is not a SQLite file (a mistyped path, or an empty file, would have
//!   become a new, empty shop reported sound). A file the command reads (`--file`) must exist.
//! - Numbers are checked against the type they are read into, so none fails after the open.
//!   `backups` reads the backup folder only, so it works when the shop's file is lost.
//! - The usage text is written from the same table, so it lists every option there is.

use std::path::Path;

/// What an option's value may be.
#[derive(Clone, Copy)]
pub enum Kind {
    /// Any text but empty (a path, a delimiter), shown as the placeholder.
    Text(&'static str),
    /// A file that must exist (what the command reads), shown as the placeholder.
    Input(&'static str),
    /// A whole number from 0 to `u32::MAX` (counts, rows, sizes).
    Whole,
    /// A whole number from 0 to `u64::MAX` (a seed).
    Seed,
    /// A record's id: 1 to `i64::MAX`.
    Id,
    /// A number above 0, up to 1,000 (a scale).
    Positive,
    /// One of these words.
    OneOf(&'static [&'static str]),
}

/// What a command does with the `--db` file.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Opens {
    /// The shop must exist.
    Existing,
    /// Opened, or created when missing.
    MayCreate,
    /// Created: refused when the file exists.
    New,
    /// Not opened as a shop (`old-file` writes it itself, `backups` reads the backup folder).
    NotOpened,
}

pub struct Spec {
    pub name: &'static str,
    /// The options taking a value; those in `required` must be given.
    options: &'static [(&'static str, Kind)],
    required: &'static [&'static str],
    /// The options standing alone.
    switches: &'static [&'static str],
    pub opens: Opens,
}

const FILE: Kind = Kind::Input("F");
const DIR: Kind = Kind::Text("DIR");
/// The encodings `import --encoding` reads (mapped in `data.rs`), and the spellings without
/// hyphens that earlier versions took.
pub const ENCODINGS: &[&str] = &[
    "utf-8",
    "windows-1252",
    "iso-8859-15",
    "mac-roman",
    "utf-16le",
    "utf-16be",
    "utf8",
    "windows1252",
    "iso8859-15",
    "utf16le",
    "utf16be",
];

const fn spec(name: &'static str, opens: Opens) -> Spec {
    Spec { name, options: &[], required: &[], switches: &[], opens }
}

/// Every command and its options.
pub const COMMANDS: &[Spec] = &[
    spec("new", Opens::New),
    Spec {
        options: &[
            ("--customers", Kind::Whole),
            ("--purchases", Kind::Whole),
            ("--seed", Kind::Seed),
            ("--scale", Kind::Positive),
        ],
        ..spec("demo", Opens::MayCreate)
    },
    spec("numbers", Opens::Existing),
    spec("stats", Opens::Existing),
    Spec { switches: &["--repair"], ..spec("check", Opens::Existing) },
    spec("campaigns", Opens::Existing),
    Spec { options: &[("--id", Kind::Id)], required: &["--id"], ..spec("campaign-start", Opens::Existing) },
    Spec {
        options: &[("--id", Kind::Id), ("--outbox", DIR), ("--batch", Kind::Whole)],
        required: &["--id"],
        ..spec("campaign-send", Opens::Existing)
    },
    spec("automations-tick", Opens::Existing),
    Spec { options: &[("--file", FILE)], required: &["--file"], ..spec("unsubscribe", Opens::Existing) },
    spec("mailbox-read", Opens::Existing),
    Spec {
        options: &[
            ("--file", FILE),
            ("--matching", Kind::OneOf(&["skip", "fill", "overwrite"])),
            ("--bad-values", Kind::OneOf(&["notes", "skip"])),
            ("--encoding", Kind::OneOf(ENCODINGS)),
            ("--delimiter", Kind::Text("C")),
            ("--sheet", Kind::Whole),
            ("--header-row", Kind::Whole),
            ("--errors", Kind::Text("OUT.csv")),
            ("--dir", DIR),
        ],
        required: &["--file"],
        switches: &["--dry-run", "--refuse-all", "--no-backup"],
        ..spec("import", Opens::Existing)
    },
    Spec {
        options: &[("--out", Kind::Text("F")), ("--format", Kind::OneOf(&["excel-fr", "csv", "xlsx"]))],
        required: &["--out"],
        switches: &["--archived"],
        ..spec("export", Opens::Existing)
    },
    Spec {
        options: &[("--dir", DIR), ("--reason", Kind::OneOf(&["manual", "start", "hourly", "close"]))],
        ..spec("backup", Opens::Existing)
    },
    Spec { options: &[("--dir", DIR)], ..spec("backups", Opens::NotOpened) },
    Spec { options: &[("--file", FILE), ("--dir", DIR)], required: &["--file"], ..spec("restore", Opens::MayCreate) },
    Spec {
        options: &[("--version", Kind::Whole), ("--customers", Kind::Whole)],
        required: &["--version"],
        ..spec("old-file", Opens::NotOpened)
    },
];

/// The usage text, one command a line, from the table.
pub fn usage() -> String {
    let mut out =
        String::from("usage: comptoir-cli --db FILE <command> [options]   (options before or after the command)\n");
    for c in COMMANDS {
        out.push_str("  ");
        out.push_str(c.name);
        for (name, kind) in c.options {
            let v = match kind {
                Kind::Text(p) | Kind::Input(p) => p.to_string(),
                Kind::Whole | Kind::Seed | Kind::Id => "N".into(),
                Kind::Positive => "X".into(),
                Kind::OneOf(words) => words.join("|"),
            };
            let o = format!("{name} {v}");
            out.push_str(&if c.required.contains(name) { format!(" {o}") } else { format!(" [{o}]") });
        }
        for s in c.switches {
            out.push_str(&format!(" [{s}]"));
        }
        out.push('\n');
    }
    out
}

/// A command line understood: the file, the command and its options.
pub struct Line {
    pub db: String,
    pub spec: &'static Spec,
    values: Vec<(String, String)>,
    switches: Vec<String>,
}

impl Line {
    /// The line read against the table, and the `--db` file checked to exist when the command
    /// needs a shop; the reason it is refused otherwise.
    pub fn read(args: &[String]) -> Result<Line, String> {
        // The command: the first word that is not an option's value.
        let word = (0..args.len())
            .find(|&i| !args[i].starts_with("--") && not_a_value(args, i))
            .map(|i| args[i].as_str())
            .ok_or("no command")?;
        let spec = COMMANDS.iter().find(|c| c.name == word).ok_or_else(|| format!("unknown command {word:?}"))?;
        let mut db = None;
        let mut values: Vec<(String, String)> = Vec::new();
        let mut switches: Vec<String> = Vec::new();
        let mut command_seen = false; // the command word, met on the walk
        let mut words = args.iter();
        while let Some(a) = words.next() {
            if !a.starts_with("--") {
                if a == word && !command_seen {
                    command_seen = true;
                    continue;
                }
                return Err(format!("{a:?}: unexpected word (one command a line; an option's value follows it)"));
            }
            if spec.switches.contains(&a.as_str()) {
                if switches.contains(a) {
                    return Err(format!("{a} given twice"));
                }
                switches.push(a.clone());
                continue;
            }
            let kind = match spec.options.iter().find(|(n, _)| n == a) {
                Some((_, kind)) => Some(*kind),
                None if a == "--db" => None,
                None => return Err(format!("{a}: not an option of {}", spec.name)),
            };
            let v = match words.next() {
                Some(v) if !v.starts_with("--") => v.clone(),
                _ => return Err(format!("{a} needs a value")),
            };
            match kind {
                None if db.is_some() => return Err("--db given twice".into()),
                None => db = Some(v),
                Some(kind) => {
                    check(a, &v, kind)?;
                    if values.iter().any(|(n, _)| n == a) {
                        return Err(format!("{a} given twice"));
                    }
                    values.push((a.clone(), v));
                }
            }
        }
        let db = db.ok_or("--db FILE is required")?;
        if db.is_empty() {
            return Err("--db needs a file name".into());
        }
        if let Some(missing) = spec.required.iter().find(|r| !values.iter().any(|(n, _)| n == *r)) {
            return Err(format!("{} needs {missing}", spec.name));
        }
        if spec.opens == Opens::New && Path::new(&db).exists() {
            return Err(format!("{db}: the file exists already (new makes a shop in a new file)"));
        }
        if spec.opens == Opens::Existing && !is_shop(Path::new(&db)) {
            return Err(format!(
                "{db}: not a shop's file (missing, empty or not a database; {} works on an existing shop, `new` makes an empty one, `restore` one from a backup)",
                spec.name
            ));
        }
        Ok(Line { db, spec, values, switches })
    }

    pub fn command(&self) -> &'static str {
        self.spec.name
    }

    /// The value given for `name`, as text.
    pub fn text(&self, name: &str) -> Option<String> {
        debug_assert!(
            self.spec.options.iter().any(|(n, _)| *n == name),
            "{name} is not an option of {}",
            self.spec.name
        );
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    /// The value given for `name`, read as `T` (its kind was checked when the line was read).
    pub fn get<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.text(name).map(|v| v.parse().map_err(|_| format!("{name}: invalid value {v:?}"))).transpose()
    }

    /// Whether the switch `name` was given.
    pub fn has(&self, name: &str) -> bool {
        debug_assert!(self.spec.switches.contains(&name), "{name} is not a switch of {}", self.spec.name);
        self.switches.iter().any(|s| s == name)
    }
}

fn check(name: &str, v: &str, kind: Kind) -> Result<(), String> {
    let ok = match kind {
        Kind::Text(_) => !v.is_empty(),
        Kind::Input(_) => Path::new(v).is_file(),
        Kind::Whole => v.parse::<u32>().is_ok(),
        Kind::Seed => v.parse::<u64>().is_ok(),
        Kind::Id => v.parse::<i64>().is_ok_and(|id| id > 0),
        Kind::Positive => v.parse::<f64>().is_ok_and(|x| x.is_finite() && x > 0.0 && x <= 1000.0),
        Kind::OneOf(words) => words.contains(&v),
    };
    if ok {
        return Ok(());
    }
    Err(match kind {
        Kind::Whole => format!("{name}: {v:?} is not a whole number up to {}", u32::MAX),
        Kind::Seed => format!("{name}: {v:?} is not a whole number up to {}", u64::MAX),
        Kind::Id => format!("{name}: {v:?} is not an id (a whole number from 1)"),
        Kind::Input(_) => format!("{name}: {v}: no such file"),
        Kind::Positive => format!("{name}: {v:?} is not a number above 0 and up to 1000"),
        Kind::OneOf(words) => format!("{name}: {v:?} is not one of {}", words.join(", ")),
        Kind::Text(_) => format!("{name} needs a value"),
    })
}

/// Whether `path` is a SQLite file: an empty or truncated file, or a folder, is not a shop
/// (opened, an empty file would have become a new, empty shop reported sound).
fn is_shop(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head == b"SQLite format 3\0"
}

/// Whether the line asks for the usage: `--help` or `-h` where an option may stand (not as
/// an option's value, so `export --out -h` is refused rather than taken for help).
pub fn wants_help(args: &[String]) -> bool {
    (0..args.len()).any(|i| (args[i] == "--help" || args[i] == "-h") && not_a_value(args, i))
}

/// Whether `args[i]` stands where an option or the command may stand, not as the value of the
/// option before it: every option takes the word after it, except the switches (so
/// `--repair check` finds `check`).
fn not_a_value(args: &[String], i: usize) -> bool {
    let before = match i.checked_sub(1) {
        None => return true,
        Some(b) => args[b].as_str(),
    };
    !before.starts_with("--") || COMMANDS.iter().any(|c| c.switches.contains(&before))
}
