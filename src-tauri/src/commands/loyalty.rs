use crate::state::AppState;
use chrono::NaiveDate;
use comptoir_core::cards::PrintableCard;
use comptoir_core::loyalty::{
    Action, Earning, ExpiringForCustomer, Liability, LoyaltyStatus, PointsEntry, Programme, Redemption, Reward,
    RewardInput, SuspiciousDay, SuspiciousPeriod, Voucher, VoucherInput,
};
use comptoir_core::types::{CustomerId, PurchaseId};
use comptoir_core::{ErrorPayload, Outcome};
use tauri::State;

type Res<T> = Result<T, ErrorPayload>;

#[tauri::command]
pub async fn loyalty_programme_get(state: State<'_, AppState>) -> Res<Programme> {
    state.with(|s| s.loyalty_programme())
}

#[tauri::command]
pub async fn loyalty_programme_save(
    state: State<'_, AppState>,
    programme: Programme,
    key: String,
) -> Res<Outcome<Programme>> {
    state.with(|s| s.save_loyalty_programme(&programme, Some(&key)))
}

#[tauri::command]
pub async fn loyalty_status(state: State<'_, AppState>, customer: CustomerId) -> Res<LoyaltyStatus> {
    state.with(|s| s.loyalty_status(customer))
}

#[tauri::command]
pub async fn loyalty_ledger(state: State<'_, AppState>, customer: CustomerId, limit: u32) -> Res<Vec<PointsEntry>> {
    state.with(|s| s.points_ledger(customer, limit as usize))
}

#[tauri::command]
pub async fn loyalty_sale_earning(state: State<'_, AppState>, purchase: PurchaseId) -> Res<Option<Earning>> {
    state.with(|s| s.sale_earning(purchase))
}

#[tauri::command]
pub async fn loyalty_adjust(
    state: State<'_, AppState>,
    customer: CustomerId,
    points: i64,
    reason: String,
    staff: String,
    key: String,
) -> Res<Outcome<i64>> {
    state.with(|s| s.adjust_points(customer, points, &reason, &staff, Some(&key)))
}

#[tauri::command]
pub async fn loyalty_action(
    state: State<'_, AppState>,
    customer: CustomerId,
    action: Action,
    staff: String,
    key: String,
) -> Res<Outcome<i64>> {
    state.with(|s| s.grant_action(customer, action, &staff, Some(&key)))
}

#[tauri::command]
pub async fn rewards_list(state: State<'_, AppState>, all: bool) -> Res<Vec<Reward>> {
    state.with(|s| s.rewards(all))
}

#[tauri::command]
pub async fn reward_save(
    state: State<'_, AppState>,
    id: Option<i64>,
    input: RewardInput,
    key: String,
) -> Res<Outcome<Reward>> {
    state.with(|s| s.save_reward(id, &input, Some(&key)))
}

#[tauri::command]
pub async fn voucher_issue(state: State<'_, AppState>, input: VoucherInput, key: String) -> Res<Outcome<Voucher>> {
    state.with(|s| s.issue_voucher(&input, Some(&key)))
}

#[tauri::command]
pub async fn card_replace(state: State<'_, AppState>, customer: CustomerId, key: String) -> Res<Outcome<String>> {
    state.with(|s| s.replace_card(customer, Some(&key)))
}

#[tauri::command]
pub async fn card_block(state: State<'_, AppState>, number: String, key: String) -> Res<Outcome<()>> {
    state.with(|s| s.block_card(&number, Some(&key)))
}

#[tauri::command]
pub async fn loyalty_liability(state: State<'_, AppState>) -> Res<Liability> {
    state.with(|s| s.points_liability())
}

#[tauri::command]
pub async fn loyalty_expiring(state: State<'_, AppState>) -> Res<Vec<ExpiringForCustomer>> {
    state.with(|s| s.points_expiring_soon())
}

#[tauri::command]
pub async fn loyalty_suspicious(
    state: State<'_, AppState>,
    day: NaiveDate,
    period: SuspiciousPeriod,
) -> Res<Vec<SuspiciousDay>> {
    state.with(|s| s.suspicious_activity(day, period))
}

#[tauri::command]
pub async fn loyalty_give_reward(
    state: State<'_, AppState>,
    customer: CustomerId,
    reward: i64,
    staff: String,
    key: String,
) -> Res<Outcome<Redemption>> {
    state.with(|s| s.give_reward(customer, reward, &staff, Some(&key)))
}

/// Hand a gift voucher (a catalogue gift given as a referral reward) over without a sale.
#[tauri::command]
pub async fn voucher_hand_over(
    state: State<'_, AppState>,
    customer: CustomerId,
    code: String,
    staff: String,
    key: String,
) -> Res<Outcome<Voucher>> {
    state.with(|s| s.hand_over_gift(customer, &code, &staff, Some(&key)))
}

#[tauri::command]
pub async fn cards_printable(state: State<'_, AppState>, customers: Vec<CustomerId>) -> Res<Vec<PrintableCard>> {
    state.with(|s| s.printable_cards(&customers))
}
