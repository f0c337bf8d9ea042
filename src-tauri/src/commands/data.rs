//! Data commands (issue 9): import (a file sent in pieces of raw bytes, copied beside the
//! shop's file and mapped — see `data::upload` — then opened, previewed, imported with
//! progress events and cancel, the file of rows in error, history and undo), export, the
//! access pack, erasure, retention, backups and restore. Thin: the core does the work; files
//! go out as raw bytes the interface saves. A backup is taken before an import, an erasure and
//! a restore. Backup files are named by the interface and looked up here in the backup folders
//! (never a path from the interface).

use crate::state::AppState;
use comptoir_core::data::backup::{self, BackupHeader, BackupInfo, BackupReason};
use comptoir_core::data::backup_key::Encryption;
use comptoir_core::data::export::{ExportFormat, ExportScope};
use comptoir_core::data::restore::{BackupSettings, BackupStatus, RestoreReport};
use comptoir_core::data::retention::RetentionCandidate;
use comptoir_core::data::source::FileBytes;
use comptoir_core::data::*;
use comptoir_core::types::CustomerId;
use comptoir_core::{Error, ErrorPayload, Outcome};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tauri::ipc::{InvokeBody, Request, Response};
use tauri::{AppHandle, Emitter, Runtime, State};

type Res<T> = Result<T, ErrorPayload>;

/// Files kept for the import screens (the last few opened).
const KEPT_FILES: usize = 3;

struct Held {
    token: String,
    name: String,
    bytes: FileBytes,
    file: Arc<ImportFile>,
    errors: Vec<(u32, String)>,
}

/// The import files being worked on, the cancel flag, and one backup at a time.
#[derive(Default)]
pub struct DataState {
    uploads: upload::Uploads,
    files: Mutex<VecDeque<Held>>,
    cancel: AtomicBool,
    backing_up: Mutex<()>,
}

impl DataState {
    /// Let every import file go (their copies removed), and any upload in progress: on quitting.
    pub fn close_all(&self) {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.uploads.clear();
    }

    fn with_file<T>(&self, token: &str, f: impl FnOnce(&mut Held) -> T) -> Result<T, Error> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.iter_mut().find(|h| h.token == token).map(f).ok_or_else(|| Error::not_found("import_file", token))
    }
}

fn lang(state: &AppState) -> comptoir_core::types::Lang {
    state.with(|s| s.settings()).map(|s| s.language).unwrap_or_default()
}

fn payload(state: &AppState, e: Error) -> ErrorPayload {
    e.to_payload(lang(state))
}

fn backup_dir(state: &AppState) -> PathBuf {
    backup::backup_dir_for(&state.db_path)
}

/// Take a backup now (before an import, an erasure…), then thin, copy off the machine and
/// thin there too.
pub fn take_backup(state: &AppState, data: &DataState, reason: BackupReason) -> Result<BackupInfo, Error> {
    let _one = data.backing_up.lock().unwrap_or_else(|e| e.into_inner());
    let dir = backup_dir(state);
    let now = chrono::Utc::now();
    // Encrypted to the shop's key when the merchant chose a passphrase: no passphrase is
    // needed (nor kept) to write one.
    // An unreadable key row is already "damaged key" (`backup_key`); any other failure to read
    // it (the file busy, a disk error) is said as what it is.
    let key = match state.with(|s| Ok(s.backup_key())) {
        Ok(read) => read?,
        // The file still being upgraded: said as such.
        Err(p) if p.code == Error::Upgrading.code() => return Err(Error::Upgrading),
        // No store open (the file could not be opened): said as such, not as a damaged key.
        Err(p) => return Err(Error::Io(std::io::Error::other(p.message))),
    };
    let encryption = key.as_ref().map_or(Encryption::None, Encryption::Key);
    let b = backup::snapshot(&state.db_path, &dir, reason, encryption, now)?;
    backup::rotate(&dir, now);
    let offsite = state.with(|s| s.backup_settings()).ok().and_then(|s| s.offsite_dir);
    if let Some(o) = offsite {
        match backup::copy_offsite(&b, Path::new(&o)) {
            // The copies off the machine are thinned by the same rules as the local ones (only
            // Comptoir's own backup files there are ever touched).
            Ok(_) => {
                backup::rotate(Path::new(&o), now);
            }
            Err(e) => tracing::warn!(error = %e, "off-machine copy not made"),
        }
    }
    Ok(b)
}

fn header<'a>(request: &'a Request<'_>, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// One piece of the file the merchant chose, as raw bytes: headers `x-upload` (the upload's
/// token; empty for the first piece), `x-offset` (where the piece goes) and, on the first
/// piece, `x-size` (the whole file's size, so a file too large is refused at once). Answers the
/// upload's token.
#[tauri::command]
pub async fn data_import_upload(
    state: State<'_, AppState>,
    data: State<'_, DataState>,
    request: Request<'_>,
) -> Res<String> {
    let InvokeBody::Raw(piece) = request.body() else {
        return Err(payload(&state, Error::invalid("file", "field.import_file_unreadable")));
    };
    let token = header(&request, "x-upload").filter(|t| !t.is_empty());
    let number = |name| header(&request, name).and_then(|v| v.parse::<u64>().ok());
    let offset = number("x-offset").unwrap_or(0);
    let dir = upload::upload_dir_for(&state.db_path);
    data.uploads.piece(&dir, token, offset, number("x-size"), piece).map_err(|e| payload(&state, e))
}

/// Open the uploaded file for import (encoding, separator, sheets, mapping guessed).
#[tauri::command]
pub async fn data_import_open(
    state: State<'_, AppState>,
    data: State<'_, DataState>,
    upload: String,
    name: String,
) -> Res<OpenedFile> {
    // The file is held once, mapped: what reads it shares these bytes.
    let bytes = data.uploads.finish(&upload).map_err(|e| payload(&state, e))?;
    let file =
        ImportFile::open_shared(&name, bytes.clone(), &ReadOptions::default()).map_err(|e| payload(&state, e))?;
    let info = file.info(lang(&state));
    let token = comptoir_core::campaigns::store::new_token();
    let mut files = data.files.lock().unwrap_or_else(|e| e.into_inner());
    files.push_back(Held { token: token.clone(), name, bytes, file: Arc::new(file), errors: Vec::new() });
    while files.len() > KEPT_FILES {
        files.pop_front();
    }
    Ok(OpenedFile { token, info })
}

/// The import screens are done with a file (the merchant left them, or chose another file):
/// it is let go, and its copy removed once nothing reads it.
#[tauri::command]
pub async fn data_import_close(data: State<'_, DataState>, token: String) -> Res<()> {
    data.files.lock().unwrap_or_else(|e| e.into_inner()).retain(|h| h.token != token);
    Ok(())
}

/// Read the file again with the merchant's choice of encoding, separator, sheet or header row.
#[tauri::command]
pub async fn data_import_reopen(
    state: State<'_, AppState>,
    data: State<'_, DataState>,
    token: String,
    options: ReadOptions,
) -> Res<FileInfo> {
    let (name, bytes) =
        data.with_file(&token, |h| (h.name.clone(), h.bytes.clone())).map_err(|e| payload(&state, e))?;
    let file = ImportFile::open_shared(&name, bytes, &options).map_err(|e| payload(&state, e))?;
    let info = file.info(lang(&state));
    data.with_file(&token, |h| h.file = Arc::new(file)).map_err(|e| payload(&state, e))?;
    Ok(info)
}

/// Reports progress to the window. The cancel flag is cleared by the command at its start, so a
/// cancel clicked during its first steps (the backup before an import) is heard.
fn progress<R: Runtime>(app: &AppHandle<R>) -> impl FnMut(Progress) -> bool {
    let app = app.clone();
    move |p: Progress| {
        let _ = app.emit("data-progress", p);
        true
    }
}

#[tauri::command]
pub async fn data_import_preview<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    data: State<'_, DataState>,
    token: String,
    options: ImportOptions,
) -> Res<ImportReport> {
    data.cancel.store(false, Ordering::SeqCst);
    let file = data.with_file(&token, |h| h.file.clone()).map_err(|e| payload(&state, e))?;
    let mut emit = progress(&app);
    let cancel = &data.cancel;
    let run = state.with(|s| s.import_preview(&file, &options, &mut |p| emit(p) && !cancel.load(Ordering::SeqCst)))?;
    data.with_file(&token, |h| h.errors = run.errors).map_err(|e| payload(&state, e))?;
    Ok(run.report)
}

#[tauri::command]
pub async fn data_import_run<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    data: State<'_, DataState>,
    token: String,
    options: ImportOptions,
    key: String,
) -> Res<Outcome<ImportReport>> {
    data.cancel.store(false, Ordering::SeqCst);
    let file = data.with_file(&token, |h| h.file.clone()).map_err(|e| payload(&state, e))?;
    let mut emit = progress(&app);
    let out = import_after_backup(&state, &data, |s, cancel| {
        s.import_run(&file, &options, Some(&key), &mut |p| emit(p) && !cancel.load(Ordering::SeqCst))
    })?;
    let Outcome { value, changes, replayed } = out;
    if !replayed {
        data.with_file(&token, |h| h.errors = value.errors).map_err(|e| payload(&state, e))?;
    }
    Ok(Outcome { value: value.report, changes, replayed })
}

/// The backup before an import, then the import (`run`, given the cancel flag): a cancel
/// clicked while the backup is taken stops it before anything of the file is written.
fn import_after_backup<T>(
    state: &AppState,
    data: &DataState,
    run: impl FnOnce(&mut comptoir_core::Store, &AtomicBool) -> comptoir_core::Result<T>,
) -> Res<T> {
    take_backup(state, data, BackupReason::BeforeImport).map_err(|e| payload(state, e))?;
    if data.cancel.load(Ordering::SeqCst) {
        return Err(payload(state, comptoir_core::Error::conflict("conflict.import_cancelled")));
    }
    let cancel = &data.cancel;
    state.with(|s| run(s, cancel))
}

#[tauri::command]
pub async fn data_import_cancel(data: State<'_, DataState>) -> Res<()> {
    data.cancel.store(true, Ordering::SeqCst);
    Ok(())
}

/// The rows in error of the last preview or import of this file, as the file's own CSV.
#[tauri::command]
pub async fn data_import_error_file(
    state: State<'_, AppState>,
    data: State<'_, DataState>,
    token: String,
) -> Res<Response> {
    let l = lang(&state);
    // Made outside the lock of the files held: a large workbook's rows are read again.
    let (file, errors) =
        data.with_file(&token, |h| (h.file.clone(), h.errors.clone())).map_err(|e| payload(&state, e))?;
    let (bytes, _) = error_file::error_file(&file, &errors, l).map_err(|e| payload(&state, e))?;
    Ok(Response::new(bytes))
}

#[tauri::command]
pub async fn data_imports(state: State<'_, AppState>) -> Res<Vec<ImportRecord>> {
    state.with(|s| s.imports())
}

#[tauri::command]
pub async fn data_import_undo(state: State<'_, AppState>, id: i64, key: String) -> Res<Outcome<UndoReport>> {
    state.with(|s| s.undo_import(id, Some(&key)))
}

#[tauri::command]
pub async fn data_export(state: State<'_, AppState>, scope: ExportScope, format: ExportFormat) -> Res<Response> {
    let mut bytes = Vec::new();
    state.with(|s| s.export_customers(&scope, format, &mut bytes))?;
    Ok(Response::new(bytes))
}

#[tauri::command]
pub async fn data_access_pack(state: State<'_, AppState>, id: CustomerId) -> Res<Response> {
    let (bytes, _) = state.with(|s| s.access_pack(id))?;
    Ok(Response::new(bytes))
}

#[tauri::command]
pub async fn data_erase(
    state: State<'_, AppState>,
    data: State<'_, DataState>,
    id: CustomerId,
    key: String,
) -> Res<Outcome<()>> {
    state.with(|s| s.customer(id).map(|_| ()))?;
    take_backup(&state, &data, BackupReason::BeforeErasure).map_err(|e| payload(&state, e))?;
    state.with(|s| s.erase_customer(id, Some(&key)))
}

#[tauri::command]
pub async fn data_retention(state: State<'_, AppState>) -> Res<Vec<RetentionCandidate>> {
    state.with(|s| s.retention_candidates())
}

#[tauri::command]
pub async fn backup_status(state: State<'_, AppState>) -> Res<BackupStatus> {
    let dir = backup_dir(&state);
    state.with(|s| s.backup_status(&dir))
}

#[tauri::command]
pub async fn backup_now(state: State<'_, AppState>, data: State<'_, DataState>) -> Res<BackupInfo> {
    take_backup(&state, &data, BackupReason::Manual).map(BackupInfo::for_display).map_err(|e| payload(&state, e))
}

#[tauri::command]
pub async fn backup_settings_save(
    state: State<'_, AppState>,
    settings: BackupSettings,
    key: String,
) -> Res<Outcome<()>> {
    state.with(|s| s.save_backup_settings(&settings, Some(&key)))
}

/// Encrypt the backups from now on with a passphrase (a new one replaces the old for the
/// backups to come), or stop (`None`). The passphrase is not kept.
#[tauri::command]
pub async fn backup_passphrase_set(
    state: State<'_, AppState>,
    data: State<'_, DataState>,
    passphrase: Option<String>,
    key: String,
) -> Res<Outcome<()>> {
    // The key pair is made (about a second of scrypt) before the store is taken: the till
    // does not wait for it.
    let made = passphrase
        .as_deref()
        .map(|p| comptoir_core::data::backup_key::make_key(p, chrono::Utc::now(), None))
        .transpose()
        .map_err(|e| payload(&state, e))?;
    // Not while a backup is being written: it would finish under the old choice and be
    // copied off the machine after the merchant was told the next ones are encrypted.
    let _one = data.backing_up.lock().unwrap_or_else(|e| e.into_inner());
    state.with(|s| s.save_backup_key(made.as_ref(), Some(&key)))
}

/// Whether a passphrase opens the shop's backup key (the merchant checks they still know it).
#[tauri::command]
pub async fn backup_passphrase_check(state: State<'_, AppState>, passphrase: String) -> Res<bool> {
    // The key is read under the store; the second of scrypt runs without it.
    let k = state.with(|s| s.backup_key()?.ok_or_else(|| Error::conflict("conflict.backup_not_encrypted")))?;
    comptoir_core::data::backup_key::check(&k, &passphrase).map_err(|e| payload(&state, e))
}

/// A backup the interface names: looked up among the listed backups only.
fn find_backup(state: &AppState, file_name: &str) -> Result<PathBuf, Error> {
    let mut dirs = vec![backup_dir(state)];
    if let Some(o) = state.with(|s| s.backup_settings()).ok().and_then(|s| s.offsite_dir) {
        dirs.push(PathBuf::from(o));
    }
    dirs.iter()
        .flat_map(|d| backup::list(d))
        .find(|b| b.file_name == file_name)
        .map(|b| PathBuf::from(b.path))
        .ok_or_else(|| Error::not_found("backup", file_name))
}

#[tauri::command]
pub async fn backup_inspect(
    state: State<'_, AppState>,
    file_name: String,
    passphrase: Option<String>,
) -> Res<BackupHeader> {
    let path = find_backup(&state, &file_name).map_err(|e| payload(&state, e))?;
    comptoir_core::data::restore::inspect(&path, passphrase.as_deref()).map_err(|e| payload(&state, e))
}

#[tauri::command]
pub async fn backup_restore(
    state: State<'_, AppState>,
    data: State<'_, DataState>,
    file_name: String,
    passphrase: Option<String>,
    key: String,
) -> Res<RestoreReport> {
    let path = find_backup(&state, &file_name).map_err(|e| payload(&state, e))?;
    restore_paused(&state, &data, &path, passphrase.as_deref(), &key, comptoir_core::data::restore::extract_for_restore)
}

/// A restore from the interface. The backup is checked and written out by `extract` without
/// the store (most of a restore's time: the full integrity check, the migration of an older
/// backup): the screens go on reading meanwhile, and a write from the interface is refused
/// with a message rather than landing in the content about to be replaced. Only the second
/// half, which reads and replaces the live file, holds the store.
fn restore_paused<F>(
    state: &AppState,
    data: &DataState,
    path: &Path,
    passphrase: Option<&str>,
    key: &str,
    extract: F,
) -> Res<RestoreReport>
where
    F: FnOnce(&Path, Option<&str>, &Path) -> comptoir_core::Result<comptoir_core::data::restore::Extracted>,
{
    let _one = data.backing_up.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(done) = state.with(|s| s.restore_done(path, key))? {
        return Ok(done);
    }
    let dir = backup_dir(state);
    let _paused = state.with(|s| Ok(s.pause_writes()))?;
    let extracted = extract(path, passphrase, &dir).map_err(|e| payload(state, e))?;
    state.with(|s| s.restore_extracted(extracted, passphrase, &dir, Some(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn while_a_restore_extracts_its_backup_the_interface_cannot_write_send_a_test_or_read_the_mailbox() {
        use tauri::Manager;
        let dir = tempfile::tempdir().unwrap();
        let app = tauri::test::mock_builder()
            .manage(AppState::open(&dir.path().join("shop.db")))
            .build(tauri::test::mock_context(tauri::test::noop_assets()))
            .unwrap();
        let state = app.state::<AppState>();
        let data = DataState::default();
        let create = |name: &str, key: &str| {
            let input = comptoir_core::customers::NewCustomer {
                customer: comptoir_core::customers::CustomerInput {
                    first_name: "Zoé".into(),
                    last_name: name.into(),
                    ..Default::default()
                },
                ..Default::default()
            };
            state.with(|s| s.create_customer(&input, Some(key)))
        };
        create("Avant", "client-avant").unwrap();
        let snap = take_backup(&state, &data, BackupReason::Manual).unwrap();
        let refused = |key: &'static str| payload(&state, Error::conflict(key));
        let same = |got: Result<(), ErrorPayload>, key: &'static str, what: &str| {
            let got = got.expect_err(what);
            assert_eq!((got.code, got.message), (refused(key).code, refused(key).message), "{what}");
        };
        let test_send = || {
            tauri::async_runtime::block_on(crate::commands::campaigns::campaign_test_send(
                app.state(),
                1,
                comptoir_core::campaigns::Variant::A,
                "essai@example.com".into(),
                None,
            ))
            .map(|_| ())
        };
        let read_now =
            || tauri::async_runtime::block_on(crate::commands::mailbox::mailbox_read_now(app.state())).map(|_| ());

        let report = restore_paused(&state, &data, Path::new(&snap.path), None, "restore-1", |p, pass, d| {
            same(
                create("Pendant", "client-pendant").map(|_| ()),
                "conflict.restore_in_progress",
                "a change typed during the extraction is refused, not saved and then replaced",
            );
            same(test_send(), "conflict.restore_in_progress_test_send", "no test email leaves during a restore");
            same(read_now(), "conflict.restore_in_progress_read", "the mailbox is not read on demand during a restore");
            comptoir_core::data::restore::extract_for_restore(p, pass, d)
        })
        .unwrap();
        assert_eq!(report.restored.customers, 1);
        create("Après", "client-apres").expect("once the restore is done, changes are saved again");
        let after = test_send().expect_err("a test send after the restore goes as far as the campaign");
        assert_ne!(
            after.message,
            refused("conflict.restore_in_progress_test_send").message,
            "not refused for the restore"
        );
        assert!(state.with(|s| Ok(!s.writes_paused())).unwrap(), "writes are no longer paused");
    }

    #[test]
    fn a_cancel_clicked_during_the_backup_before_an_import_stops_it_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::open(&dir.path().join("shop.db"));
        let data = DataState::default();
        let ran = AtomicBool::new(false);
        // Another backup holds the lock: the import's own backup waits for it, and the cancel
        // is clicked meanwhile.
        let other_backup = data.backing_up.lock().unwrap();
        let result = std::thread::scope(|scope| {
            let import = scope.spawn(|| {
                import_after_backup(&state, &data, |_, _| {
                    ran.store(true, Ordering::SeqCst);
                    Ok(())
                })
            });
            std::thread::sleep(std::time::Duration::from_millis(100));
            data.cancel.store(true, Ordering::SeqCst);
            drop(other_backup);
            import.join().unwrap()
        });
        let err = result.expect_err("the import is cancelled");
        let cancelled = payload(&state, Error::conflict("conflict.import_cancelled"));
        assert_eq!(
            (err.code, err.message),
            (cancelled.code, cancelled.message),
            "the cancel is heard once the backup is taken"
        );
        assert!(!ran.load(Ordering::SeqCst), "nothing of the file was written");
        assert_eq!(backup::list(&backup_dir(&state)).len(), 1, "the backup before the import was taken all the same");

        data.cancel.store(false, Ordering::SeqCst);
        import_after_backup(&state, &data, |_, _| {
            ran.store(true, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        assert!(ran.load(Ordering::SeqCst), "without a cancel the import runs after its backup");
    }
}
