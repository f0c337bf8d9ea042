use crate::state::AppState;
use comptoir_core::analytics::dashboard::{Dashboard, DashboardRequest};
use comptoir_core::analytics::insight::CustomerInsight;
use comptoir_core::analytics::lists::{NumbersListPage, NumbersListRequest, ScoreColumns};
use comptoir_core::analytics::settings::AnalyticsSettings;
use comptoir_core::nps::{CustomerNps, NpsAnswer, NpsComments, NpsInput, NpsSummary, Theme};
use comptoir_core::types::CustomerId;
use comptoir_core::{ErrorPayload, Outcome};
use tauri::State;

type Res<T> = Result<T, ErrorPayload>;

/// The dashboard. The per-day figures are first brought up to date when only a few days
/// changed (a sale just made); a first build on a large file is left to the background.
#[tauri::command]
pub async fn numbers_dashboard(state: State<'_, AppState>, req: DashboardRequest) -> Res<Dashboard> {
    state.with(|s| {
        // Not while a restore refuses this store's writes: the figures are then read as they
        // are (the content is about to be replaced, and its days recomputed after).
        if !s.writes_paused() {
            s.refresh_days_if_quick()?;
        }
        s.dashboard(&req)
    })
}

#[tauri::command]
pub async fn numbers_customer(state: State<'_, AppState>, id: CustomerId) -> Res<CustomerInsight> {
    state.with(|s| s.customer_insight(id))
}

#[tauri::command]
pub async fn numbers_list(state: State<'_, AppState>, req: NumbersListRequest) -> Res<NumbersListPage> {
    state.with(|s| s.numbers_list(&req))
}

#[tauri::command]
pub async fn numbers_score_columns(state: State<'_, AppState>, ids: Vec<CustomerId>) -> Res<Vec<ScoreColumns>> {
    state.with(|s| s.score_columns(&ids))
}

#[tauri::command]
pub async fn numbers_settings_get(state: State<'_, AppState>) -> Res<AnalyticsSettings> {
    state.with(|s| s.analytics_settings())
}

#[tauri::command]
pub async fn numbers_settings_save(
    state: State<'_, AppState>,
    settings: AnalyticsSettings,
    key: String,
) -> Res<Outcome<AnalyticsSettings>> {
    state.with(|s| s.save_analytics_settings(&settings, Some(&key)))
}

#[tauri::command]
pub async fn nps_record(state: State<'_, AppState>, input: NpsInput, key: String) -> Res<Outcome<NpsAnswer>> {
    state.with(|s| s.record_nps(&input, Some(&key)))
}

#[tauri::command]
pub async fn nps_asked(state: State<'_, AppState>, customer: CustomerId, key: String) -> Res<Outcome<()>> {
    state.with(|s| s.nps_asked(customer, Some(&key)))
}

#[tauri::command]
pub async fn nps_customer(state: State<'_, AppState>, customer: CustomerId) -> Res<CustomerNps> {
    state.with(|s| s.customer_nps(customer))
}

#[tauri::command]
pub async fn nps_followup_done(state: State<'_, AppState>, id: i64, note: String, key: String) -> Res<Outcome<()>> {
    state.with(|s| s.close_followup(id, &note, Some(&key)))
}

#[tauri::command]
pub async fn nps_summary(state: State<'_, AppState>, months: u32) -> Res<NpsSummary> {
    state.with(|s| s.nps_summary(months))
}

#[tauri::command]
pub async fn nps_comments(
    state: State<'_, AppState>,
    theme: Option<Theme>,
    months: u32,
    limit: usize,
) -> Res<NpsComments> {
    state.with(|s| s.nps_comments(theme, months, limit))
}

/// The interface says when its first screen is painted; with `COMPTOIR_STARTUP_PROBE` set (the
/// start-up benchmark), the time since the process started is printed for the bench to read.
#[tauri::command]
pub async fn app_painted(screen: String) -> Res<()> {
    if std::env::var_os("COMPTOIR_STARTUP_PROBE").is_some() {
        let screen: String = screen.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect();
        println!("COMPTOIR_PAINTED {screen} {:.1}", crate::started().elapsed().as_secs_f64() * 1000.0);
    }
    Ok(())
}
