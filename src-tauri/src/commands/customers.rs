use crate::state::AppState;
use comptoir_core::customers::{
    ConsentInput, Customer, CustomerInput, CustomerSummary, DuplicateMatch, NewCustomer, TimelineEntry,
};
use comptoir_core::search::{ListPage, ListRequest, TillMatch};
use comptoir_core::types::CustomerId;
use comptoir_core::{ErrorPayload, Outcome};
use tauri::State;

type Res<T> = Result<T, ErrorPayload>;

#[tauri::command]
pub async fn customers_list(state: State<'_, AppState>, req: ListRequest) -> Res<ListPage> {
    state.with(|s| s.list_customers(&req))
}

#[tauri::command]
pub async fn customers_search(state: State<'_, AppState>, query: String, limit: u32) -> Res<Vec<CustomerSummary>> {
    state.with(|s| s.search_customers(&query, limit as usize))
}

#[tauri::command]
pub async fn customer_get(state: State<'_, AppState>, id: CustomerId) -> Res<Customer> {
    state.with(|s| s.customer(id))
}

#[tauri::command]
pub async fn customer_create(state: State<'_, AppState>, input: NewCustomer, key: String) -> Res<Outcome<CustomerId>> {
    state.with(|s| s.create_customer(&input, Some(&key)))
}

#[tauri::command]
pub async fn customer_update(
    state: State<'_, AppState>,
    id: CustomerId,
    input: CustomerInput,
    key: String,
) -> Res<Outcome<()>> {
    state.with(|s| s.update_customer(id, &input, Some(&key)))
}

#[tauri::command]
pub async fn customer_archive(state: State<'_, AppState>, id: CustomerId, key: String) -> Res<Outcome<()>> {
    state.with(|s| s.archive_customer(id, Some(&key)))
}

#[tauri::command]
pub async fn customer_restore(state: State<'_, AppState>, id: CustomerId, key: String) -> Res<Outcome<()>> {
    state.with(|s| s.restore_customer(id, Some(&key)))
}

#[tauri::command]
pub async fn customer_duplicates(
    state: State<'_, AppState>,
    input: CustomerInput,
    exclude: Option<CustomerId>,
) -> Res<Vec<DuplicateMatch>> {
    state.with(|s| s.possible_duplicates(&input, exclude))
}

#[tauri::command]
pub async fn customer_merge(
    state: State<'_, AppState>,
    keep: CustomerId,
    other: CustomerId,
    key: String,
) -> Res<Outcome<()>> {
    state.with(|s| s.merge_customers(keep, other, Some(&key)))
}

#[tauri::command]
pub async fn customer_timeline(state: State<'_, AppState>, id: CustomerId, limit: u32) -> Res<Vec<TimelineEntry>> {
    state.with(|s| s.timeline(id, limit as usize))
}

#[tauri::command]
pub async fn customer_add_note(
    state: State<'_, AppState>,
    id: CustomerId,
    body: String,
    key: String,
) -> Res<Outcome<i64>> {
    state.with(|s| s.add_note(id, &body, Some(&key)))
}

#[tauri::command]
pub async fn customer_set_consent(
    state: State<'_, AppState>,
    id: CustomerId,
    consent: ConsentInput,
    key: String,
) -> Res<Outcome<()>> {
    state.with(|s| s.set_consent(id, &consent, Some(&key)))
}

#[tauri::command]
pub async fn till_lookup(state: State<'_, AppState>, query: String) -> Res<Option<TillMatch>> {
    state.with(|s| s.till_lookup(&query))
}
