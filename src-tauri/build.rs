//! Declares the app's own commands so that each must be granted by a capability
//! (`capabilities/main.json`): the window gets exactly these and nothing else.

/// Every command of `src-tauri/src/commands`, as registered in `lib.rs`.
const COMMANDS: &[&str] = &[
    "app_info",
    "settings_get",
    "settings_update",
    "settings_logo",
    "demo_load",
    "onboarding_skip",
    "stats_get",
    "customers_list",
    "customers_search",
    "customer_get",
    "customer_create",
    "customer_update",
    "customer_archive",
    "customer_restore",
    "customer_duplicates",
    "customer_merge",
    "customer_timeline",
    "customer_add_note",
    "customer_set_consent",
    "sale_record",
    "sale_refund",
    "till_lookup",
    "loyalty_programme_get",
    "loyalty_programme_save",
    "loyalty_status",
    "loyalty_ledger",
    "loyalty_sale_earning",
    "loyalty_adjust",
    "loyalty_action",
    "loyalty_redeem",
    "loyalty_redeem_stamps",
    "rewards_list",
    "reward_save",
    "voucher_issue",
    "voucher_use",
    "cards_list",
    "card_replace",
    "card_block",
    "loyalty_liability",
    "loyalty_expiring",
    "loyalty_suspicious",
    "cards_printable",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script");
}
