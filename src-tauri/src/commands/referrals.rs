//! Referral commands: thin adapters over `comptoir_core::referrals`.

use crate::state::AppState;
use comptoir_core::customers::NewCustomer;
use comptoir_core::referrals::{
    Ambassador, CustomerReferrals, Decision, Notice, Offer, OfferCheck, OfferVersion, Overview, ProcessReport,
    ReferralCard, ReferralStatus, ReferralTree, ReferralView, ReferrerLink, ReferrerLookup, Reglement,
};
use comptoir_core::types::{CustomerId, Lang};
use comptoir_core::{ErrorPayload, Outcome};
use tauri::State;

type Res<T> = Result<T, ErrorPayload>;

#[tauri::command]
pub async fn referral_offer_get(state: State<'_, AppState>) -> Res<Option<OfferVersion>> {
    state.with(|s| s.referral_offer())
}

#[tauri::command]
pub async fn referral_offer_check(state: State<'_, AppState>, offer: Offer) -> Res<OfferCheck> {
    state.with(|s| s.referral_offer_check(&offer))
}

#[tauri::command]
pub async fn referral_offer_save(state: State<'_, AppState>, offer: Offer, key: String) -> Res<Outcome<OfferVersion>> {
    state.with(|s| s.save_referral_offer(&offer, Some(&key)))
}

#[tauri::command]
pub async fn referral_overview(state: State<'_, AppState>) -> Res<Overview> {
    state.with(|s| {
        s.process_referrals()?;
        s.referrals_overview()
    })
}

#[tauri::command]
pub async fn referral_process(state: State<'_, AppState>) -> Res<Outcome<ProcessReport>> {
    state.with(|s| s.process_referrals())
}

#[tauri::command]
pub async fn referrer_lookup(state: State<'_, AppState>, text: String) -> Res<ReferrerLookup> {
    state.with(|s| s.referrer_lookup(&text))
}

#[tauri::command]
pub async fn referral_customer_create(
    state: State<'_, AppState>,
    input: NewCustomer,
    link: ReferrerLink,
    key: String,
) -> Res<Outcome<CustomerId>> {
    state.with(|s| s.create_referred_customer(&input, &link, Some(&key)))
}

#[tauri::command]
pub async fn referral_set_referrer(
    state: State<'_, AppState>,
    friend: CustomerId,
    link: ReferrerLink,
    note: String,
    key: String,
) -> Res<Outcome<()>> {
    state.with(|s| s.set_referrer(friend, &link, &note, Some(&key)))
}

#[tauri::command]
pub async fn referral_remove_referrer(
    state: State<'_, AppState>,
    friend: CustomerId,
    staff: String,
    note: String,
    key: String,
) -> Res<Outcome<()>> {
    state.with(|s| s.remove_referrer(friend, &staff, &note, Some(&key)))
}

#[tauri::command]
pub async fn referral_customer(state: State<'_, AppState>, customer: CustomerId) -> Res<CustomerReferrals> {
    state.with(|s| s.customer_referrals(customer))
}

#[tauri::command]
pub async fn referral_review_queue(state: State<'_, AppState>) -> Res<Vec<ReferralView>> {
    state.with(|s| s.referral_review_queue())
}

#[tauri::command]
pub async fn referral_review(
    state: State<'_, AppState>,
    id: i64,
    decision: Decision,
    reason: String,
    staff: String,
    key: String,
) -> Res<Outcome<()>> {
    state.with(|s| s.review_referral(id, decision, &reason, &staff, Some(&key)))
}

#[tauri::command]
pub async fn referrals_list(
    state: State<'_, AppState>,
    status: Option<ReferralStatus>,
    limit: u32,
) -> Res<Vec<ReferralView>> {
    state.with(|s| s.referrals_list(status, limit))
}

#[tauri::command]
pub async fn referral_ambassadors(state: State<'_, AppState>, limit: u32) -> Res<Vec<Ambassador>> {
    state.with(|s| s.ambassadors(limit))
}

#[tauri::command]
pub async fn referral_tree(state: State<'_, AppState>, customer: CustomerId) -> Res<ReferralTree> {
    state.with(|s| s.referral_tree(customer))
}

#[tauri::command]
pub async fn referral_cards(state: State<'_, AppState>, customers: Vec<CustomerId>) -> Res<Vec<ReferralCard>> {
    state.with(|s| s.referral_cards(&customers))
}

#[tauri::command]
pub async fn referral_reglement(state: State<'_, AppState>, lang: Lang) -> Res<Option<Reglement>> {
    state.with(|s| s.referral_reglement(lang))
}

#[tauri::command]
pub async fn referral_notice(state: State<'_, AppState>, lang: Lang) -> Res<Option<Notice>> {
    state.with(|s| s.referral_notice(lang))
}
