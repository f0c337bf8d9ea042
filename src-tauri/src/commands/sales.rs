use crate::state::AppState;
use comptoir_core::purchases::{Purchase, RefundInput, SaleInput};
use comptoir_core::{ErrorPayload, Outcome};
use tauri::State;

type Res<T> = Result<T, ErrorPayload>;

#[tauri::command]
pub async fn sale_record(state: State<'_, AppState>, input: SaleInput, key: String) -> Res<Outcome<Purchase>> {
    state.with(|s| s.record_sale(&input, Some(&key)))
}

#[tauri::command]
pub async fn sale_refund(state: State<'_, AppState>, input: RefundInput, key: String) -> Res<Outcome<Purchase>> {
    state.with(|s| s.refund(&input, Some(&key)))
}
