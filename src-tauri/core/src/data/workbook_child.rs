//! A workbook (XLSX, XLS, ODS) is read in a child process: the program's own executable,
//! started again with [`ARG`], reads the file's bytes from its standard input and writes the
//! sheet's records to its standard output.
//!
//! Why: calamine builds what a workbook announces before it can tell the announcement is a
//! lie. A few kilobytes of XLS records, XLSX styles or ODS repeats ask for gigabytes or
//! terabytes; a broken sector chain makes it panic. In the app's own process either ends the
//! app (an allocation that fails aborts; the release build aborts on a panic). In a child, it
//! ends that reading: the merchant is told the file cannot be read, and the app goes on. The
//! checks of `workbook_guard` stay, as an early and precise answer; this is the bound that holds
//! whatever they miss.
//!
//! Invariants:
//! - With [`Reader::Child`] (the default outside this crate's unit tests), no part of a
//!   workbook is parsed in the calling process: only the child's stream, checked as it is read.
//! - The stream is checked as it comes: at most `workbook::MAX_COLUMNS` cells of at most
//!   `MAX_CELL` characters a record, valid UTF-8, sheet names bounded. Anything else, or a
//!   child that stops before its end mark, ends the reading with an `Unreadable` record and
//!   [`Records::failure`] says why.
//! - On Linux the child limits itself before reading a byte: its address space to what it had
//!   plus [`CHILD_MEMORY`], its processor time to [`CHILD_CPU_SECONDS`] (a loop ends), and it
//!   may create no file. Elsewhere only the crash is contained (Windows commits memory when
//!   asked: an impossible allocation fails at once, in the child).
//! - A reading dropped before its end kills its child; a reader that waits [`STALL_SECONDS`]
//!   for bytes that do not come kills it; on Linux a child dies with the thread that started
//!   it (the app quitting). The child is the program as it was started (`/proc/self/exe` on
//!   Linux: a package update that replaced the file meanwhile changes nothing).
//! - A workbook is never read in the caller's process instead of a child that cannot start:
//!   it is refused with a message that says so (`field.import_reader_unavailable`).

use super::csv_read::{Record, RecordError, MAX_CELL};
use super::source::FileBytes;
use super::workbook::{self, ReadRecord, Whole, MAX_COLUMNS};
use super::workbook_guard;
use crate::error::{Error, Result};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// The argument that makes the program a workbook reader (see [`serve_if_asked`]).
pub const ARG: &str = "--comptoir-read-workbook";
/// The memory a child may take beyond what it had when it started: the file's copy (200 MB
/// at most) and calamine's sheet (an ODS of 1 GiB once expanded, the largest the guard lets
/// through).
pub const CHILD_MEMORY: u64 = 2560 << 20;
/// The processor time a child may use (a 200 MB workbook reads in well under a minute).
pub const CHILD_CPU_SECONDS: u64 = 180;
/// The most sheets a workbook may name, the longest name (Excel's are 31 characters) and the
/// most their names may take together.
const MAX_SHEETS: u32 = 65_536;
const MAX_NAME_BYTES: u32 = 64 * 1024;
const MAX_NAMES_BYTES: usize = 16 << 20;
/// How long a reading waits for the next bytes before its child is taken for stuck (a child
/// that loops, where the system does not limit its processor time).
const STALL_SECONDS: u64 = 300;
const MAGIC: &[u8; 4] = b"CWB1";

/// How workbooks are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    /// In the calling process (this crate's unit tests; a program that cannot start itself).
    InProcess,
    /// In a child process: this executable, which must call [`serve_if_asked`] first thing.
    Child(PathBuf),
}

static READER: OnceLock<Reader> = OnceLock::new();

/// Chooses how workbooks are read, once, before the first is opened. Answers whether it was
/// taken (the first choice stays). Without a choice, the program reads them in a child of
/// itself, except in this crate's unit tests (in the process): another test program that
/// opens a workbook must choose (`comptoir-cli` as the child, as `tests/workbook_child.rs`
/// does), or its own test binary would be started as the reader and refuse every workbook.
pub fn set_reader(r: Reader) -> bool {
    READER.set(r).is_ok()
}

fn reader() -> &'static Reader {
    READER.get_or_init(|| {
        if cfg!(test) {
            return Reader::InProcess;
        }
        // Linux: the program as it was started, even once a package update has replaced its
        // file (the same version as the app, by a path that still opens).
        if cfg!(target_os = "linux") && std::path::Path::new("/proc/self/exe").exists() {
            return Reader::Child(PathBuf::from("/proc/self/exe"));
        }
        match std::env::current_exe() {
            Ok(p) => Reader::Child(p),
            // Never read here instead: each workbook is refused with a message that says why.
            Err(e) => {
                tracing::warn!("workbooks cannot be read: the app's executable is unknown ({e})");
                Reader::Child(PathBuf::new())
            }
        }
    })
}

/// Called first in `main` by every program of Comptoir: when started with [`ARG`], the
/// program reads one workbook from its standard input, writes its records and exits.
pub fn serve_if_asked() {
    if std::env::args_os().nth(1).is_some_and(|a| a == ARG) {
        limit_self();
        let done = serve(&mut io::stdin().lock(), &mut io::stdout().lock());
        std::process::exit(if done.is_ok() { 0 } else { 2 });
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_self() {
    // Killed with the app (the thread that started it, which waits for its records).
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number, no pointer.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    // The app may have gone before that: no one would read the records. (Its id comes as an
    // argument: a program run as process 1, in a container, is a parent all the same.)
    let parent: Option<i32> = std::env::args().nth(2).and_then(|p| p.parse().ok());
    // SAFETY: getppid has no preconditions.
    if parent.is_some_and(|p| p != unsafe { libc::getppid() }) {
        std::process::exit(3);
    }
    fn set(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) {
        let lim = libc::rlimit { rlim_cur: soft as libc::rlim_t, rlim_max: hard as libc::rlim_t };
        // SAFETY: setrlimit reads the struct it is given and changes only this process's limits.
        unsafe {
            libc::setrlimit(resource, &lim);
        }
    }
    // The address space the program has at start (its libraries mapped), from /proc.
    let pages: u64 = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse().ok()))
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    let memory = pages * page + CHILD_MEMORY;
    set(libc::RLIMIT_AS, memory, memory);
    // The soft limit sends SIGXCPU (told apart from a crash); the hard one, a little later,
    // SIGKILL (the kernel checks the hard one first when both are reached).
    set(libc::RLIMIT_CPU, CHILD_CPU_SECONDS, CHILD_CPU_SECONDS + 10);
    set(libc::RLIMIT_FSIZE, 0, 0);
    // No core dump of a reader that fails (it would hold the merchant's customers, and a
    // system's crash handler takes time to write it).
    set(libc::RLIMIT_CORE, 0, 0);
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_self() {}

/// A workbook's sheet names, the index of the sheet read and its records.
pub struct Opened {
    pub names: Vec<String>,
    pub index: usize,
    pub records: Records,
}

/// Opens the sheet `sheet` (the first by default) of a workbook, in the way [`set_reader`]
/// chose. An error is the file refused (unreadable, empty, too large, no such sheet).
pub fn open(bytes: FileBytes, format: Whole, sheet: Option<u32>) -> Result<Opened> {
    if sheet.is_some_and(|s| s >= MAX_SHEETS) {
        return Err(Error::invalid("sheet", "field.import_sheet_unknown"));
    }
    match reader() {
        Reader::InProcess => {
            let (names, index, records) = open_here(bytes, format, sheet)?;
            Ok(Opened { names, index, records: Records::Here(records) })
        }
        Reader::Child(exe) => open_in_child(exe, bytes, format, sheet),
    }
}

/// Records read in this process.
type Here = Box<dyn Iterator<Item = ReadRecord>>;

/// The reading itself, as the child does it (and a program reading in its own process).
fn open_here(bytes: FileBytes, format: Whole, sheet: Option<u32>) -> Result<(Vec<String>, usize, Here)> {
    if format == Whole::Xlsx {
        workbook_guard::check_parts((*bytes).as_ref())?;
        let (names, index, records) = workbook::xlsx_open(bytes, sheet)?;
        return Ok((names, index, Box::new(records)));
    }
    if format == Whole::Ods {
        workbook_guard::check_ods((*bytes).as_ref())?;
    }
    let (names, index, records) = workbook::read_range((*bytes).as_ref(), format, sheet)?;
    Ok((names, index, Box::new(records)))
}

/// The errors a child can answer, by their code on the wire.
const ERRORS: [(&str, &str); 5] = [
    ("file", "field.import_file_unreadable"),
    ("file", "field.import_file_empty"),
    ("sheet", "field.import_sheet_unknown"),
    ("file", "field.import_sheet_too_large"),
    ("file", "field.import_file_too_large"),
];

fn error_code(e: &Error) -> u8 {
    let key = match e {
        Error::Validation(v) => v.first().map(|f| f.key),
        _ => None,
    };
    ERRORS.iter().position(|(_, k)| Some(*k) == key).unwrap_or(0) as u8
}

fn error_of(code: u8) -> Error {
    let (field, key) = ERRORS.get(code as usize).copied().unwrap_or(ERRORS[0]);
    Error::invalid(field, key)
}

fn unreadable() -> Error {
    error_of(0)
}

/// The child's side: one request in, the header (or an error) and the records out.
fn serve(input: &mut impl Read, output: &mut impl Write) -> io::Result<()> {
    let mut head = [0u8; 17];
    input.read_exact(&mut head)?;
    if &head[..4] != MAGIC {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a workbook request"));
    }
    let format = match head[4] {
        0 => Whole::Xls,
        1 => Whole::Ods,
        2 => Whole::Xlsx,
        _ => return Err(io::Error::new(io::ErrorKind::InvalidData, "unknown format")),
    };
    let sheet = u32::from_le_bytes(head[5..9].try_into().unwrap_or_default());
    let sheet = (sheet != u32::MAX).then_some(sheet);
    let len = u64::from_le_bytes(head[9..17].try_into().unwrap_or_default());
    if len > super::source::MAX_FILE_BYTES as u64 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "file too large"));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    input.take(len).read_to_end(&mut bytes)?;
    let mut w = BufWriter::with_capacity(64 * 1024, output);
    match open_here(Arc::new(bytes), format, sheet) {
        Err(e) => w.write_all(&[b'E', error_code(&e)])?,
        Ok((names, index, records)) => {
            w.write_all(b"H")?;
            w.write_all(&(index as u32).to_le_bytes())?;
            w.write_all(&(names.len() as u32).to_le_bytes())?;
            for n in &names {
                put_text(&mut w, n)?;
            }
            for r in records {
                put_record(&mut w, &r)?;
            }
            w.write_all(b"Z")?;
        }
    }
    w.flush()
}

fn put_text(w: &mut impl Write, s: &str) -> io::Result<()> {
    w.write_all(&(s.len() as u32).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

fn put_record(w: &mut impl Write, r: &ReadRecord) -> io::Result<()> {
    let (tag, line, cells) = match r {
        Ok(r) => (b'R', r.line, &r.cells[..]),
        Err(RecordError::CellTooLong { line, short }) => (b'L', *line, &short[..]),
        Err(RecordError::Unreadable { line }) => (b'U', *line, &[][..]),
    };
    w.write_all(&[tag])?;
    w.write_all(&(line as u64).to_le_bytes())?;
    if tag != b'U' {
        w.write_all(&(cells.len() as u32).to_le_bytes())?;
        for c in cells {
            put_text(w, c)?;
        }
    }
    Ok(())
}

/// Why a reading in a child ended before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The child ran out of the memory or time it may take.
    TooLarge,
    /// Anything else: it crashed, or wrote what a reader never writes.
    Unreadable,
    /// No child could be started (the file is not to blame).
    NotStarted,
}

impl Failure {
    /// The failure an opening's error stands for.
    pub fn of(e: &Error) -> Failure {
        match e {
            Error::Validation(v) if v.first().is_some_and(|f| f.key == "field.import_reader_unavailable") => {
                Failure::NotStarted
            }
            Error::Validation(v) if v.first().is_some_and(|f| f.key == "field.import_sheet_too_large") => {
                Failure::TooLarge
            }
            _ => Failure::Unreadable,
        }
    }

    pub fn error(self) -> Error {
        match self {
            Failure::TooLarge => error_of(3),
            Failure::Unreadable => unreadable(),
            Failure::NotStarted => Error::invalid("file", "field.import_reader_unavailable"),
        }
    }
}

/// A sheet's records, read here or streamed from a child.
pub enum Records {
    Here(Here),
    Child(ChildRecords),
}

impl Records {
    /// Once the records are read: why the reading stopped early, if it did (its last record
    /// was then an `Unreadable` one).
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Records::Here(_) => None,
            Records::Child(c) => c.failed,
        }
    }
}

impl Iterator for Records {
    type Item = ReadRecord;

    fn next(&mut self) -> Option<ReadRecord> {
        match self {
            Records::Here(r) => r.next(),
            Records::Child(c) => c.next(),
        }
    }
}

/// The records a child writes, read as they come.
pub struct ChildRecords {
    child: Arc<Mutex<Child>>,
    out: BufReader<Watched>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    /// Dropped with the reading: its watchdog stops.
    _watchdog: mpsc::Sender<()>,
    /// Set by the watchdog when it stopped a child that wrote nothing for [`STALL_SECONDS`].
    stalled: Arc<AtomicBool>,
    last_line: usize,
    done: bool,
    failed: Option<Failure>,
}

/// The child's output, with whether its reader is waiting and how many reads ended, for the
/// watchdog. A child blocked because the records are consumed slowly (an import writing) is
/// not waited for: only a reader waiting for bytes that do not come is.
struct Watched {
    inner: ChildStdout,
    progress: Arc<Progress>,
}

#[derive(Default)]
struct Progress {
    waiting: AtomicBool,
    reads: AtomicU64,
}

impl Read for Watched {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.progress.waiting.store(true, Ordering::Relaxed);
        let n = self.inner.read(buf);
        self.progress.reads.fetch_add(1, Ordering::Relaxed);
        self.progress.waiting.store(false, Ordering::Relaxed);
        n
    }
}

fn spawn(exe: &PathBuf, bytes: FileBytes, format: Whole, sheet: Option<u32>) -> io::Result<ChildRecords> {
    let mut command = Command::new(exe);
    // The parent's id: the child checks it is still its parent once it can die with it.
    command.arg(ARG).arg(std::process::id().to_string());
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    #[cfg(windows)]
    {
        // No console window flashes up for the reader (CREATE_NO_WINDOW).
        use std::os::windows::process::CommandExt;
        command.creation_flags(0x0800_0000);
    }
    let mut child = command.spawn()?;
    let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(io::Error::other("the child's pipes are missing"));
    };
    // The bytes are written by a thread of their own while the records are read here: the
    // child reads them all before it writes, but a pipe holds only a few kilobytes.
    std::thread::spawn(move || {
        let data: &[u8] = (*bytes).as_ref();
        let mut head = Vec::with_capacity(17);
        head.extend_from_slice(MAGIC);
        head.push(match format {
            Whole::Xls => 0,
            Whole::Ods => 1,
            Whole::Xlsx => 2,
        });
        head.extend_from_slice(&sheet.unwrap_or(u32::MAX).to_le_bytes());
        head.extend_from_slice(&(data.len() as u64).to_le_bytes());
        // A child that died stops reading: the write fails and the thread ends.
        let _ = stdin.write_all(&head).and_then(|_| stdin.write_all(data));
    });
    // What the child says when it fails (a panic, an allocation refused), kept short.
    let stderr_reader = std::thread::spawn(move || {
        let mut said = Vec::new();
        let _ = (&mut stderr).take(16 * 1024).read_to_end(&mut said);
        let _ = io::copy(&mut stderr, &mut io::sink());
        said
    });
    let child = Arc::new(Mutex::new(child));
    let (watchdog, stop) = mpsc::channel::<()>();
    let stalled = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Progress::default());
    {
        let (child, stalled, progress) = (child.clone(), stalled.clone(), progress.clone());
        std::thread::spawn(move || {
            // Seconds counted as ticks, not as time elapsed: a computer asleep meanwhile (a lid
            // closed) is not a child stuck (Windows' clock runs on through sleep).
            let (mut still, mut reads) = (0u64, u64::MAX);
            while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(Duration::from_secs(1)) {
                let now = progress.reads.load(Ordering::Relaxed);
                still = if progress.waiting.load(Ordering::Relaxed) && now == reads { still + 1 } else { 0 };
                reads = now;
                if still > STALL_SECONDS {
                    stalled.store(true, Ordering::Relaxed);
                    if let Ok(mut c) = child.lock() {
                        let _ = c.kill();
                    }
                    return;
                }
            }
        });
    }
    Ok(ChildRecords {
        child,
        out: BufReader::with_capacity(64 * 1024, Watched { inner: stdout, progress }),
        stderr: Some(stderr_reader),
        _watchdog: watchdog,
        stalled,
        last_line: 0,
        done: false,
        failed: None,
    })
}

fn open_in_child(exe: &PathBuf, bytes: FileBytes, format: Whole, sheet: Option<u32>) -> Result<Opened> {
    let mut c = spawn(exe, bytes, format, sheet).map_err(|e| {
        tracing::warn!("the workbook reader {} could not start: {e}", exe.display());
        Failure::NotStarted.error()
    })?;
    match c.header() {
        Ok(Ok((names, index))) => Ok(Opened { names, index, records: Records::Child(c) }),
        Ok(Err(e)) => Err(e),
        Err(()) => Err(c.fail().error()),
    }
}

impl ChildRecords {
    fn u8(&mut self) -> io::Result<u8> {
        let mut b = [0u8; 1];
        self.out.read_exact(&mut b)?;
        Ok(b[0])
    }

    fn u32(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        self.out.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        self.out.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn text(&mut self, max: u32) -> io::Result<String> {
        let len = self.u32()?;
        if len > max {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "text too long"));
        }
        let mut b = vec![0u8; len as usize];
        self.out.read_exact(&mut b)?;
        String::from_utf8(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
    }

    /// The sheet names and the index read, or the error the child answered; `Err(())` when it
    /// answered neither.
    fn header(&mut self) -> std::result::Result<Result<(Vec<String>, usize)>, ()> {
        let answer = self.read_header().map_err(|_| ());
        if matches!(answer, Ok(Err(_))) {
            self.done = true;
        }
        answer
    }

    fn read_header(&mut self) -> io::Result<Result<(Vec<String>, usize)>> {
        match self.u8()? {
            b'E' => Ok(Err(error_of(self.u8()?))),
            b'H' => {
                let index = self.u32()? as usize;
                let n = self.u32()?;
                if n > MAX_SHEETS || index >= n as usize {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "bad sheet list"));
                }
                let mut names = Vec::with_capacity(n as usize);
                let mut total = 0usize;
                for _ in 0..n {
                    let name = self.text(MAX_NAME_BYTES)?;
                    total += name.len();
                    if total > MAX_NAMES_BYTES {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, "sheet names too long"));
                    }
                    names.push(name);
                }
                Ok(Ok((names, index)))
            }
            _ => Err(io::Error::new(io::ErrorKind::InvalidData, "bad header")),
        }
    }

    fn record(&mut self) -> io::Result<Option<ReadRecord>> {
        let tag = self.u8()?;
        if tag == b'Z' {
            return Ok(None);
        }
        let line = usize::try_from(self.u64()?).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "line"))?;
        if tag == b'U' {
            return Ok(Some(Err(RecordError::Unreadable { line })));
        }
        if tag != b'R' && tag != b'L' {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "bad record"));
        }
        let n = self.u32()? as usize;
        if n > MAX_COLUMNS {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "too many cells"));
        }
        let mut cells = Vec::with_capacity(n);
        for _ in 0..n {
            cells.push(self.text((MAX_CELL * 4) as u32)?);
        }
        Ok(Some(if tag == b'R' {
            Ok(Record { line, cells })
        } else {
            Err(RecordError::CellTooLong { line, short: cells })
        }))
    }

    /// Ends a reading that stopped early: the child is stopped and what it said is weighed.
    fn fail(&mut self) -> Failure {
        self.done = true;
        let status = self.child.lock().ok().and_then(|mut c| {
            let _ = c.kill();
            c.wait().ok()
        });
        let said = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        let said = String::from_utf8_lossy(&said);
        let out_of_bounds = self.stalled.load(Ordering::Relaxed)
            || said.contains("memory allocation of")
            || said.contains("capacity overflow")
            || {
                #[cfg(unix)]
                {
                    use std::os::unix::process::ExitStatusExt;
                    // SIGXCPU: the processor time is used up.
                    status.and_then(|s| s.signal()) == Some(24)
                }
                #[cfg(not(unix))]
                {
                    let _ = status;
                    false
                }
            };
        tracing::warn!("the workbook reader stopped early ({status:?}): {}", said.trim());
        // Code 3: the child found it was not its parent's (see `limit_self`): not the file's fault.
        let f = match status.and_then(|s| s.code()) {
            Some(3) => Failure::NotStarted,
            _ if out_of_bounds => Failure::TooLarge,
            _ => Failure::Unreadable,
        };
        self.failed = Some(f);
        f
    }
}

impl Iterator for ChildRecords {
    type Item = ReadRecord;

    fn next(&mut self) -> Option<ReadRecord> {
        if self.done {
            return None;
        }
        match self.record() {
            Ok(Some(r)) => {
                self.last_line = match &r {
                    Ok(r) => r.line,
                    Err(RecordError::CellTooLong { line, .. } | RecordError::Unreadable { line }) => *line,
                };
                Some(r)
            }
            Ok(None) => {
                self.done = true;
                if let Ok(mut c) = self.child.lock() {
                    let _ = c.wait();
                }
                None
            }
            Err(_) => {
                self.fail();
                Some(Err(RecordError::Unreadable { line: self.last_line + 1 }))
            }
        }
    }
}

impl Drop for ChildRecords {
    fn drop(&mut self) {
        // A reading left before its end (a preview of a few rows): the child is not needed.
        if let Ok(mut c) = self.child.lock() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request a parent writes, for `serve`.
    fn request(format: u8, sheet: u32, bytes: &[u8]) -> Vec<u8> {
        let mut r = MAGIC.to_vec();
        r.push(format);
        r.extend_from_slice(&sheet.to_le_bytes());
        r.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        r.extend_from_slice(bytes);
        r
    }

    #[test]
    fn a_request_that_is_not_one_is_refused_without_reading_a_workbook() {
        let mut out = Vec::new();
        assert!(serve(&mut &b"GET / HTTP/1.1\r\n\r\n"[..], &mut out).is_err(), "no magic, no reading");
        assert!(out.is_empty(), "nothing written for a request that is not one");
        let mut big = request(2, u32::MAX, b"");
        big[9..17].copy_from_slice(&(u64::MAX).to_le_bytes());
        assert!(serve(&mut &big[..], &mut out).is_err(), "a length over the file limit is refused before reading");
    }

    #[test]
    fn a_file_that_is_no_workbook_is_answered_with_its_error_code() {
        let mut out = Vec::new();
        serve(&mut &request(0, u32::MAX, b"\xD0\xCF\x11\xE0 not really")[..], &mut out).unwrap();
        assert_eq!(out, vec![b'E', 0], "an unreadable XLS is the error 'unreadable'");
        assert_eq!(error_code(&Error::invalid("sheet", "field.import_sheet_unknown")), 2);
        assert_eq!(error_code(&Error::conflict("x")), 0, "an error with no code of its own is 'unreadable'");
        for (i, (field, key)) in ERRORS.iter().enumerate() {
            match error_of(i as u8) {
                Error::Validation(v) => assert_eq!((v[0].field, v[0].key), (*field, *key)),
                other => panic!("{other:?}"),
            }
            assert_eq!(error_code(&error_of(i as u8)), i as u8, "codes go both ways");
        }
    }
}
