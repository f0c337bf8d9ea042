//! Campaign commands: sending settings, segments, writing, preview, test send, lifecycle,
//! results, unsubscribes. Thin adapters over `comptoir_core::campaigns`; the sending itself is
//! the background sender's (`crate::sender`).

use crate::state::AppState;
use comptoir_core::campaigns::mail::{self, MailSettings};
use comptoir_core::campaigns::results::CampaignResults;
use comptoir_core::campaigns::secrets;
use comptoir_core::campaigns::segments::{AudienceCount, Segment, SegmentFilter};
use comptoir_core::campaigns::smtp::{self, ConnectionCheck};
use comptoir_core::campaigns::*;
use comptoir_core::types::{CustomerId, Lang};
use comptoir_core::{ErrorPayload, Outcome};
use tauri::State;

type Res<T> = Result<T, ErrorPayload>;

fn view(state: &AppState, settings: MailSettings) -> MailSettingsView {
    let account = secrets::account(&settings.smtp.username, &settings.smtp.host);
    let password = if settings.smtp.username.is_empty() { None } else { state.secrets.get(&account).map(|(_, p)| p) };
    MailSettingsView {
        settings,
        presets: mail::presets(),
        password,
        outbox_dir: smtp::outbox_dir(Some(&state.db_path)).display().to_string(),
    }
}

#[tauri::command]
pub async fn mail_settings_get(state: State<'_, AppState>) -> Res<MailSettingsView> {
    let settings = state.with(|s| s.mail_settings())?;
    Ok(view(&state, settings))
}

#[tauri::command]
pub async fn mail_settings_save(
    state: State<'_, AppState>,
    input: MailSettings,
    password: Option<String>,
    key: String,
) -> Res<MailSettingsView> {
    let saved = state.with(|s| s.save_mail_settings(&input, Some(&key)))?.value;
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        state.secrets.set(&secrets::account(&saved.smtp.username, &saved.smtp.host), &p);
    }
    Ok(view(&state, saved))
}

/// Try the connection with the settings on screen (and the password typed, or the stored one).
#[tauri::command]
pub async fn mail_test_connection(
    state: State<'_, AppState>,
    input: MailSettings,
    password: Option<String>,
) -> Res<ConnectionCheck> {
    let stored = state.secrets.get(&secrets::account(&input.smtp.username, &input.smtp.host)).map(|(p, _)| p);
    let password = password.filter(|p| !p.is_empty()).or(stored);
    let app_password = mail::preset(input.smtp.preset).app_password;
    let policy = state.with(|s| s.smtp_policy())?;
    let smtp = input.smtp;
    tauri::async_runtime::spawn_blocking(move || {
        smtp::test_connection(&smtp, password.as_deref(), app_password, policy)
    })
    .await
    .map_err(|e| ErrorPayload { code: "internal".into(), message: e.to_string(), fields: Vec::new() })
}

#[tauri::command]
pub async fn segment_count(state: State<'_, AppState>, filter: SegmentFilter) -> Res<AudienceCount> {
    state.with(|s| s.segment_count(&filter))
}

#[tauri::command]
pub async fn segments_list(state: State<'_, AppState>) -> Res<Vec<Segment>> {
    state.with(|s| s.segments())
}

#[tauri::command]
pub async fn segment_save(
    state: State<'_, AppState>,
    id: Option<i64>,
    name: String,
    filter: SegmentFilter,
    key: String,
) -> Res<Outcome<Segment>> {
    state.with(|s| s.save_segment(id, &name, &filter, Some(&key)))
}

#[tauri::command]
pub async fn segment_archive(state: State<'_, AppState>, id: i64, key: String) -> Res<Outcome<()>> {
    state.with(|s| s.archive_segment(id, Some(&key)))
}

#[tauri::command]
pub async fn campaign_templates(lang: Lang) -> Res<Vec<Template>> {
    Ok(render::templates(lang))
}

#[tauri::command]
pub async fn campaigns_list(state: State<'_, AppState>) -> Res<Vec<CampaignSummary>> {
    state.with(|s| s.campaigns())
}

/// Why campaigns cannot be sent now (the sending lock, the database), if they cannot.
#[tauri::command]
pub async fn sender_status(state: State<'_, AppState>) -> Res<Option<ErrorPayload>> {
    state.sender_problem()
}

#[tauri::command]
pub async fn campaign_get(state: State<'_, AppState>, id: CampaignId) -> Res<Campaign> {
    state.with(|s| s.campaign(id))
}

#[tauri::command]
pub async fn campaign_create(state: State<'_, AppState>, input: CampaignInput, key: String) -> Res<Outcome<Campaign>> {
    state.with(|s| s.create_campaign(&input, Some(&key)))
}

#[tauri::command]
pub async fn campaign_update(
    state: State<'_, AppState>,
    id: CampaignId,
    input: CampaignInput,
    key: String,
) -> Res<Outcome<Campaign>> {
    state.with(|s| s.update_campaign(id, &input, Some(&key)))
}

#[tauri::command]
pub async fn campaign_preview(
    state: State<'_, AppState>,
    content: MessageContent,
    customer_id: Option<CustomerId>,
) -> Res<PreviewView> {
    let p = state.with(|s| s.preview_message(&content, customer_id))?;
    let token = state.keep_preview(p.html);
    let url = if cfg!(windows) {
        format!("http://comptoir-preview.localhost/{token}")
    } else {
        format!("comptoir-preview://localhost/{token}")
    };
    Ok(PreviewView { subject: p.subject, preheader: p.preheader, text: p.text, url })
}

#[tauri::command]
pub async fn campaign_test_send(
    state: State<'_, AppState>,
    id: CampaignId,
    variant: Variant,
    email: String,
    customer_id: Option<CustomerId>,
) -> Res<TestSend> {
    state.refuse_while_restoring("conflict.restore_in_progress_test_send")?;
    let db = state.db_path.clone();
    let secrets = state.secrets.clone();
    let mail = state.with(|s| s.mail_settings())?;
    let lang = state.with(|s| Ok(s.settings()?.language))?;
    // On its own connection, off the window's: a slow provider does not freeze the screen.
    tauri::async_runtime::spawn_blocking(move || {
        let mut store = comptoir_core::Store::open(&db)?;
        let transport = smtp::transport_for(&mail, &secrets, smtp::outbox_dir(Some(&db)), store.smtp_policy()?)?;
        message::send_test(&mut store, transport.as_ref(), id, variant, &email, customer_id)
    })
    .await
    .map_err(|e| ErrorPayload { code: "internal".into(), message: e.to_string(), fields: Vec::new() })?
    .map_err(|e| e.to_payload(lang))
}

#[tauri::command]
pub async fn campaign_schedule(
    state: State<'_, AppState>,
    id: CampaignId,
    at: chrono::DateTime<chrono::Utc>,
    key: String,
) -> Res<Outcome<Campaign>> {
    state.with(|s| s.schedule_campaign(id, at, Some(&key)))
}

#[tauri::command]
pub async fn campaign_unschedule(state: State<'_, AppState>, id: CampaignId, key: String) -> Res<Outcome<Campaign>> {
    state.with(|s| s.unschedule_campaign(id, Some(&key)))
}

#[tauri::command]
pub async fn campaign_start(state: State<'_, AppState>, id: CampaignId, key: String) -> Res<Outcome<Campaign>> {
    state.with(|s| s.start_campaign(id, Some(&key)))
}

#[tauri::command]
pub async fn campaign_pause(state: State<'_, AppState>, id: CampaignId, key: String) -> Res<Outcome<Campaign>> {
    state.with(|s| s.pause_campaign(id, Some(&key)))
}

#[tauri::command]
pub async fn campaign_resume(state: State<'_, AppState>, id: CampaignId, key: String) -> Res<Outcome<Campaign>> {
    state.with(|s| s.resume_campaign(id, Some(&key)))
}

#[tauri::command]
pub async fn campaign_cancel(state: State<'_, AppState>, id: CampaignId, key: String) -> Res<Outcome<Campaign>> {
    state.with(|s| s.cancel_campaign(id, Some(&key)))
}

#[tauri::command]
pub async fn campaign_choose_winner(
    state: State<'_, AppState>,
    id: CampaignId,
    variant: Variant,
    key: String,
) -> Res<Outcome<Campaign>> {
    state.with(|s| s.choose_winner(id, variant, Some(&key)))
}

#[tauri::command]
pub async fn campaign_results(state: State<'_, AppState>, id: CampaignId) -> Res<CampaignResults> {
    state.with(|s| s.campaign_results(id))
}

#[tauri::command]
pub async fn unsubscribes_apply(
    state: State<'_, AppState>,
    text: String,
    key: String,
) -> Res<Outcome<UnsubscribeReport>> {
    state.with(|s| s.apply_unsubscribes(&text, Some(&key)))
}

#[tauri::command]
pub async fn media_add(state: State<'_, AppState>, name: String, data_url: String, key: String) -> Res<Outcome<Media>> {
    state.with(|s| s.add_media(&name, &data_url, Some(&key)))
}

#[tauri::command]
pub async fn media_get(state: State<'_, AppState>, id: i64) -> Res<Media> {
    state.with(|s| s.media(id))
}
