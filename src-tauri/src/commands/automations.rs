//! Automatic messages: the six automations, their settings and messages, turning them on and
//! off, the shared sending rules, the journal, the 7-day preview, the decision after a long
//! closure and the results. Thin adapters over `comptoir_core::automations`; the test send
//! and the message preview are the campaign ones (an automation's message is a campaign's).

use crate::state::AppState;
use comptoir_core::automations::{
    Automation, AutomationInput, AutomationResults, AutomationSettings, CatchUp, EnableMode, JournalEntry,
    PreviewEntry, Qualifying,
};
use comptoir_core::{ErrorPayload, Outcome};
use tauri::State;

type Res<T> = Result<T, ErrorPayload>;

#[tauri::command]
pub async fn automations_list(state: State<'_, AppState>) -> Res<Vec<Automation>> {
    state.with(|s| s.automations())
}

#[tauri::command]
pub async fn automation_save(
    state: State<'_, AppState>,
    id: i64,
    input: AutomationInput,
    key: String,
) -> Res<Outcome<Automation>> {
    state.with(|s| s.save_automation(id, &input, Some(&key)))
}

#[tauri::command]
pub async fn automation_settings_get(state: State<'_, AppState>) -> Res<AutomationSettings> {
    state.with(|s| s.automation_settings())
}

#[tauri::command]
pub async fn automation_settings_save(
    state: State<'_, AppState>,
    settings: AutomationSettings,
    key: String,
) -> Res<Outcome<AutomationSettings>> {
    state.with(|s| s.save_automation_settings(&settings, Some(&key)))
}

#[tauri::command]
pub async fn automation_qualifying(state: State<'_, AppState>, id: i64) -> Res<Qualifying> {
    state.with(|s| s.automation_qualifying(id))
}

#[tauri::command]
pub async fn automation_enable(
    state: State<'_, AppState>,
    id: i64,
    mode: EnableMode,
    key: String,
) -> Res<Outcome<Automation>> {
    let out = state.with(|s| s.enable_automation(id, mode, Some(&key)))?;
    state.nudge_automations();
    Ok(out)
}

#[tauri::command]
pub async fn automation_disable(state: State<'_, AppState>, id: i64, key: String) -> Res<Outcome<Automation>> {
    state.with(|s| s.disable_automation(id, Some(&key)))
}

#[tauri::command]
pub async fn automation_resume(state: State<'_, AppState>, id: i64, key: String) -> Res<Outcome<Automation>> {
    state.with(|s| s.resume_automation(id, Some(&key)))
}

#[tauri::command]
pub async fn automation_journal(
    state: State<'_, AppState>,
    id: i64,
    before: Option<i64>,
    limit: u32,
) -> Res<Vec<JournalEntry>> {
    state.with(|s| s.automation_journal(id, before, limit as usize))
}

#[tauri::command]
pub async fn automation_preview(state: State<'_, AppState>, days: u16) -> Res<Vec<PreviewEntry>> {
    state.with(|s| s.automation_preview(days))
}

#[tauri::command]
pub async fn automation_decisions(state: State<'_, AppState>) -> Res<Vec<CatchUp>> {
    state.with(|s| s.automation_decisions())
}

#[tauri::command]
pub async fn automation_decide(state: State<'_, AppState>, id: i64, send: bool, key: String) -> Res<Outcome<i64>> {
    let out = state.with(|s| s.decide_automation(id, send, Some(&key)))?;
    state.nudge_automations();
    Ok(out)
}

#[tauri::command]
pub async fn automation_results(state: State<'_, AppState>, id: i64) -> Res<AutomationResults> {
    state.with(|s| s.automation_results(id))
}
