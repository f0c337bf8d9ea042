use crate::state::AppState;
use comptoir_core::demo::{DemoSpec, DemoSummary};
use comptoir_core::settings::{Settings, SettingsInput};
use comptoir_core::stats::{AppInfo, ShopStats};
use comptoir_core::storage::UpgradeStatus;
use comptoir_core::{ErrorPayload, Outcome};
use tauri::State;

type Res<T> = Result<T, ErrorPayload>;

#[tauri::command]
pub async fn app_info(state: State<'_, AppState>) -> Res<AppInfo> {
    state.with(|s| {
        Ok(AppInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            db_path: state.db_path.display().to_string(),
            schema_version: s.stats()?.schema_version,
            migration_backup: s.migration_backup.as_ref().map(|p| p.display().to_string()),
        })
    })
}

/// Where the upgrade of the customer file is, while one runs (`null` once the file is open, or
/// known not to open: every other command then says which).
#[tauri::command]
pub async fn app_upgrade_status(state: State<'_, AppState>) -> Res<Option<UpgradeStatus>> {
    Ok(state.upgrade_status())
}

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> Res<Settings> {
    state.with(|s| s.settings())
}

#[tauri::command]
pub async fn settings_update(state: State<'_, AppState>, input: SettingsInput, key: String) -> Res<Outcome<Settings>> {
    state.with(|s| s.update_settings(&input, Some(&key)))
}

#[tauri::command]
pub async fn demo_load(state: State<'_, AppState>) -> Res<Outcome<DemoSummary>> {
    state.with(|s| s.generate_demo(DemoSpec::explore()))
}

#[tauri::command]
pub async fn onboarding_skip(state: State<'_, AppState>) -> Res<()> {
    state.with(|s| s.mark_onboarded())
}

#[tauri::command]
pub async fn stats_get(state: State<'_, AppState>) -> Res<ShopStats> {
    state.with(|s| s.stats())
}

#[tauri::command]
pub async fn settings_logo(state: State<'_, AppState>, logo: Option<String>, key: String) -> Res<Outcome<()>> {
    state.with(|s| s.set_logo(logo.as_deref(), Some(&key)))
}
