//! Mailbox commands: where the mailbox is read, the connection test, "read now", what came
//! back (log, raw reports, STOP replies to confirm, tests read back), and the suppression
//! list with its lifting. Thin adapters over `comptoir_core::mailbox`; the periodic reading is
//! the background reader's (`crate::reader`).

use crate::state::AppState;
use comptoir_core::campaigns::smtp::ConnectionCheck;
use comptoir_core::campaigns::suppression::SuppressionPage;
use comptoir_core::mailbox::classify::Kind;
use comptoir_core::mailbox::run::{self, RunReport};
use comptoir_core::mailbox::settings::{self, api_account, imap_account, MailboxSettings, MailboxSettingsView};
use comptoir_core::mailbox::views::{MailboxEntry, MailboxStatus, StopRequest, TestReadback};
use comptoir_core::{ErrorPayload, Outcome};
use tauri::State;

type Res<T> = Result<T, ErrorPayload>;

fn internal(e: impl ToString) -> ErrorPayload {
    ErrorPayload { code: "internal".into(), message: e.to_string(), fields: Vec::new() }
}

fn view(state: &AppState, settings: MailboxSettings) -> MailboxSettingsView {
    let password = if settings.imap.username.is_empty() {
        None
    } else {
        state.secrets.get(&imap_account(&settings.imap.username, &settings.imap.host)).map(|(_, p)| p)
    };
    let api_key = settings.api.and_then(|p| state.secrets.get(&api_account(p)).map(|(_, place)| place));
    MailboxSettingsView { settings, presets: settings::imap_presets(), password, api_key }
}

#[tauri::command]
pub async fn mailbox_settings_get(state: State<'_, AppState>) -> Res<MailboxSettingsView> {
    let settings = state.with(|s| s.mailbox_settings())?;
    Ok(view(&state, settings))
}

#[tauri::command]
pub async fn mailbox_settings_save(
    state: State<'_, AppState>,
    input: MailboxSettings,
    password: Option<String>,
    api_key: Option<String>,
    key: String,
) -> Res<MailboxSettingsView> {
    let saved = state.with(|s| s.save_mailbox_settings(&input, Some(&key)))?.value;
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        state.secrets.set(&imap_account(&saved.imap.username, &saved.imap.host), &p);
    }
    if let (Some(provider), Some(k)) = (saved.api, api_key.filter(|k| !k.trim().is_empty())) {
        state.secrets.set(&api_account(provider), k.trim());
    }
    state.reader.wake();
    Ok(view(&state, saved))
}

/// Try the IMAP connection with the settings on screen (and the password typed, or the stored
/// one).
#[tauri::command]
pub async fn mailbox_test_connection(
    state: State<'_, AppState>,
    input: MailboxSettings,
    password: Option<String>,
) -> Res<ConnectionCheck> {
    let clean = state.with(|_| settings::validate(&MailboxSettings { imap_enabled: true, ..input }))?;
    let stored = state.secrets.get(&imap_account(&clean.imap.username, &clean.imap.host)).map(|(p, _)| p);
    let password = password.filter(|p| !p.is_empty()).or(stored).unwrap_or_default();
    let policy = state.with(|s| s.smtp_policy())?;
    tauri::async_runtime::spawn_blocking(move || run::test_imap(&clean, &password, policy)).await.map_err(internal)
}

/// Read every source now (on its own connection, never at the same time as the background
/// reader).
#[tauri::command]
pub async fn mailbox_read_now(state: State<'_, AppState>) -> Res<Vec<RunReport>> {
    state.refuse_while_restoring("conflict.restore_in_progress_read")?;
    let db = state.db_path.clone();
    let secrets = state.secrets.clone();
    let reader = state.reader.clone();
    let lang = state.with(|s| Ok(s.settings()?.language))?;
    tauri::async_runtime::spawn_blocking(move || reader.read_now(&db, &secrets))
        .await
        .map_err(internal)?
        .map_err(|e| e.to_payload(lang))
}

#[tauri::command]
pub async fn mailbox_status(state: State<'_, AppState>) -> Res<MailboxStatus> {
    state.with(|s| s.mailbox_status())
}

#[tauri::command]
pub async fn mailbox_log(
    state: State<'_, AppState>,
    kinds: Vec<Kind>,
    before: Option<i64>,
    limit: u32,
) -> Res<Vec<MailboxEntry>> {
    state.with(|s| s.mailbox_log(&kinds, before, limit as usize))
}

#[tauri::command]
pub async fn mailbox_raw(state: State<'_, AppState>, id: i64) -> Res<String> {
    state.with(|s| s.mailbox_raw(id))
}

#[tauri::command]
pub async fn mailbox_stop_requests(state: State<'_, AppState>) -> Res<Vec<StopRequest>> {
    state.with(|s| s.stop_requests())
}

#[tauri::command]
pub async fn mailbox_stop_confirm(state: State<'_, AppState>, id: i64, key: String) -> Res<Outcome<()>> {
    state.with(|s| s.confirm_stop_request(id, Some(&key)))
}

#[tauri::command]
pub async fn mailbox_stop_dismiss(state: State<'_, AppState>, id: i64, key: String) -> Res<Outcome<()>> {
    state.with(|s| s.dismiss_stop_request(id, Some(&key)))
}

#[tauri::command]
pub async fn mailbox_test_readbacks(state: State<'_, AppState>) -> Res<Vec<TestReadback>> {
    state.with(|s| s.test_readbacks(10))
}

#[tauri::command]
pub async fn suppressions_list(state: State<'_, AppState>, query: String, limit: u32) -> Res<SuppressionPage> {
    state.with(|s| s.suppressions(&query, limit as usize))
}

#[tauri::command]
pub async fn suppression_lift(
    state: State<'_, AppState>,
    email: String,
    reason: String,
    key: String,
) -> Res<Outcome<()>> {
    state.with(|s| s.lift_suppression(&email, &reason, Some(&key)))
}
