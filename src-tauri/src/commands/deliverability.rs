//! Before sending: the sender domain check (SPF, DKIM, DMARC, free-mail rule, provider notes)
//! and the content check of a message being written. Thin adapters over
//! `comptoir_core::campaigns::deliverability`; the DNS is asked on a blocking task, never while
//! the database lock is held.

use crate::state::AppState;
use comptoir_core::campaigns::deliverability::content::ContentReport;
use comptoir_core::campaigns::deliverability::dns::NameServers;
use comptoir_core::campaigns::deliverability::domain::{check_domain, DomainReport};
use comptoir_core::campaigns::mail::MailSettings;
use comptoir_core::campaigns::CampaignContent;
use comptoir_core::ErrorPayload;
use tauri::State;

type Res<T> = Result<T, ErrorPayload>;

/// Check the sender domain of the settings on screen (saved or not). `selector`: the DKIM
/// selector the merchant typed, if any. The name servers are the system's, or
/// `COMPTOIR_DNS_SERVER` (tests only).
#[tauri::command]
pub async fn mail_domain_check(
    state: State<'_, AppState>,
    input: MailSettings,
    selector: Option<String>,
) -> Res<DomainReport> {
    let lang = state.with(|s| Ok(s.settings()?.language))?;
    tauri::async_runtime::spawn_blocking(move || {
        check_domain(&input, selector.as_deref(), &NameServers::from_env()).map_err(|e| e.to_payload(lang))
    })
    .await
    .map_err(|e| ErrorPayload { code: "internal".into(), message: e.to_string(), fields: Vec::new() })?
}

/// The content check of a campaign's versions as they are on screen, rendered as the sender
/// renders them.
#[tauri::command]
pub async fn campaign_content_check(state: State<'_, AppState>, content: CampaignContent) -> Res<ContentReport> {
    state.with(|s| s.content_check(&content))
}
