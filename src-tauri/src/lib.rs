//! The Comptoir desktop shell: opens the database, registers the commands, starts the window.
//! All domain logic lives in `comptoir-core`; commands only adapt.

pub mod automation_clock;
pub mod background;
pub mod backups;
pub mod commands;
pub mod downloads;
pub mod reader;
pub mod referral_clock;
pub mod sender;
pub mod state;

use comptoir_core::demo::DemoSpec;
use state::AppState;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;
use tauri::{Manager, Runtime};

static STARTED: OnceLock<Instant> = OnceLock::new();

/// When the process started (the start-up benchmark measures from here).
pub fn started() -> Instant {
    *STARTED.get_or_init(Instant::now)
}

/// Rule (Linux): WebKitGTK's accelerated compositing stays off unless the merchant (or a
/// support person) sets `COMPTOIR_GPU=1`, or WebKit's own setting was given. The interface is
/// forms, tables and SVG charts with no animation, which need no GPU layers; without them the
/// web process holds about 115 MB less on the dashboard (each layer's tiles are kept in memory
/// when the GL is software, as on most small shop laptops without a driver for their GPU),
/// and it is the usual remedy for the blank window some GPU drivers give WebKitGTK.
pub fn compositing_off(comptoir_gpu: Option<&std::ffi::OsStr>, webkit_setting: Option<&std::ffi::OsStr>) -> bool {
    cfg!(target_os = "linux") && webkit_setting.is_none() && comptoir_gpu.is_none_or(|v| v != "1")
}

/// After this long without a command, the store's page cache goes back to the system.
const IDLE_MEMORY_AFTER: std::time::Duration = std::time::Duration::from_secs(5);
const IDLE_MEMORY_CHECK: std::time::Duration = std::time::Duration::from_millis(2500);

/// Register the commands on a builder (the real one, or tauri's mock builder in tests). The
/// caller manages an [`AppState`].
pub fn builder<R: Runtime>(b: tauri::Builder<R>) -> tauri::Builder<R> {
    use commands::*;
    b.manage(commands::data::DataState::default())
        .register_uri_scheme_protocol("comptoir-preview", |ctx, request| {
            preview_response(ctx.app_handle(), request.uri().path())
        })
        .invoke_handler(tauri::generate_handler![
            app::app_info,
            app::app_upgrade_status,
            app::settings_get,
            app::settings_update,
            app::settings_logo,
            app::demo_load,
            app::onboarding_skip,
            app::stats_get,
            customers::customers_list,
            customers::customers_search,
            customers::customer_get,
            customers::customer_create,
            customers::customer_update,
            customers::customer_archive,
            customers::customer_restore,
            customers::customer_duplicates,
            customers::customer_merge,
            customers::customer_timeline,
            customers::customer_add_note,
            customers::customer_set_consent,
            customers::till_lookup,
            sales::sale_record,
            sales::sale_refund,
            loyalty::loyalty_programme_get,
            loyalty::loyalty_programme_save,
            loyalty::loyalty_status,
            loyalty::loyalty_ledger,
            loyalty::loyalty_sale_earning,
            loyalty::loyalty_adjust,
            loyalty::loyalty_action,
            loyalty::rewards_list,
            loyalty::reward_save,
            loyalty::voucher_issue,
            loyalty::card_replace,
            loyalty::card_block,
            loyalty::loyalty_liability,
            loyalty::loyalty_expiring,
            loyalty::loyalty_suspicious,
            loyalty::loyalty_give_reward,
            loyalty::voucher_hand_over,
            loyalty::cards_printable,
            campaigns::mail_settings_get,
            campaigns::mail_settings_save,
            campaigns::mail_test_connection,
            campaigns::segment_count,
            campaigns::segments_list,
            campaigns::segment_save,
            campaigns::segment_archive,
            campaigns::campaign_templates,
            campaigns::campaigns_list,
            campaigns::sender_status,
            campaigns::campaign_get,
            campaigns::campaign_create,
            campaigns::campaign_update,
            campaigns::campaign_preview,
            campaigns::campaign_test_send,
            campaigns::campaign_schedule,
            campaigns::campaign_unschedule,
            campaigns::campaign_start,
            campaigns::campaign_pause,
            campaigns::campaign_resume,
            campaigns::campaign_cancel,
            campaigns::campaign_choose_winner,
            campaigns::campaign_results,
            campaigns::unsubscribes_apply,
            campaigns::media_add,
            campaigns::media_get,
            numbers::numbers_dashboard,
            numbers::numbers_customer,
            numbers::numbers_list,
            numbers::numbers_score_columns,
            numbers::numbers_settings_get,
            numbers::numbers_settings_save,
            numbers::nps_record,
            numbers::nps_asked,
            numbers::nps_customer,
            numbers::nps_followup_done,
            numbers::nps_summary,
            numbers::nps_comments,
            numbers::app_painted,
            automations::automations_list,
            automations::automation_save,
            automations::automation_settings_get,
            automations::automation_settings_save,
            automations::automation_qualifying,
            automations::automation_enable,
            automations::automation_disable,
            automations::automation_resume,
            automations::automation_journal,
            automations::automation_preview,
            automations::automation_decisions,
            automations::automation_decide,
            automations::automation_results,
            referrals::referral_offer_get,
            referrals::referral_offer_check,
            referrals::referral_offer_save,
            referrals::referral_overview,
            referrals::referral_process,
            referrals::referrer_lookup,
            referrals::referral_customer_create,
            referrals::referral_set_referrer,
            referrals::referral_remove_referrer,
            referrals::referral_customer,
            referrals::referral_review_queue,
            referrals::referral_review,
            referrals::referrals_list,
            referrals::referral_ambassadors,
            referrals::referral_tree,
            referrals::referral_cards,
            referrals::referral_reglement,
            referrals::referral_notice,
            mailbox::mailbox_settings_get,
            mailbox::mailbox_settings_save,
            mailbox::mailbox_test_connection,
            mailbox::mailbox_read_now,
            mailbox::mailbox_status,
            mailbox::mailbox_log,
            mailbox::mailbox_raw,
            mailbox::mailbox_stop_requests,
            mailbox::mailbox_stop_confirm,
            mailbox::mailbox_stop_dismiss,
            mailbox::mailbox_test_readbacks,
            mailbox::suppressions_list,
            mailbox::suppression_lift,
            deliverability::mail_domain_check,
            deliverability::campaign_content_check,
            data::data_import_upload,
            data::data_import_open,
            data::data_import_close,
            data::data_import_reopen,
            data::data_import_preview,
            data::data_import_run,
            data::data_import_cancel,
            data::data_import_error_file,
            data::data_imports,
            data::data_import_undo,
            data::data_export,
            data::data_access_pack,
            data::data_erase,
            data::data_retention,
            data::backup_status,
            data::backup_now,
            data::backup_settings_save,
            data::backup_passphrase_set,
            data::backup_passphrase_check,
            data::backup_inspect,
            data::backup_restore,
        ])
}

/// The campaign preview page: the HTML the core rendered, under its own content policy (no
/// script at all, inline styles and embedded images only). The frame showing it is sandboxed.
fn preview_response<R: Runtime>(app: &tauri::AppHandle<R>, path: &str) -> tauri::http::Response<Vec<u8>> {
    let token = path.trim_start_matches('/');
    let html = app.try_state::<AppState>().and_then(|s| s.preview(token));
    let (status, body) = match html {
        Some(h) => (200, h.into_bytes()),
        None => (404, Vec::new()),
    };
    tauri::http::Response::builder()
        .status(status)
        .header("Content-Type", "text/html; charset=utf-8")
        .header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'",
        )
        .body(body)
        .expect("a static response")
}

/// Options from the command line.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// `--db PATH`, or the `COMPTOIR_DB` environment variable; otherwise `comptoir.db` in the
    /// operating system's data folder for the app.
    pub db: Option<PathBuf>,
    /// `--demo`: load the demo shop if the customer file is empty.
    pub demo: bool,
}

impl Options {
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Options {
        let mut o = Options { db: std::env::var_os("COMPTOIR_DB").map(PathBuf::from), demo: false };
        let mut it = args.into_iter().skip(1);
        while let Some(a) = it.next() {
            match a.as_str() {
                "--demo" => o.demo = true,
                "--db" => o.db = it.next().map(PathBuf::from),
                _ => {}
            }
        }
        o
    }
}

pub fn run(opts: Options) {
    started();
    // Before WebKit starts: its web process inherits the environment. SAFETY of set_var: no
    // other thread exists yet (main calls run first thing; tracing starts below).
    if compositing_off(
        std::env::var_os("COMPTOIR_GPU").as_deref(),
        std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").as_deref(),
    ) {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("COMPTOIR_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    builder(tauri::Builder::default())
        .setup(move |app| {
            // The window first (tauri.conf.json does not create it): files it saves go to the
            // Downloads folder, never the working folder.
            downloads::main_window(app)?;
            let path = match &opts.db {
                Some(p) => p.clone(),
                None => app.path().app_data_dir()?.join("comptoir.db"),
            };
            tracing::info!(path = %path.display(), "opening the customer file");
            app.manage(AppState::unopened(&path));
            let handle = app.handle().clone();
            let demo = opts.demo;
            // An older file is upgraded on a thread of its own (seconds, minutes on a very
            // large shop): the window shows where the upgrade is instead of staying blank.
            let upgrading = match comptoir_core::storage::pending_upgrade(&path) {
                None => None,
                Some(pending) => {
                    tracing::info!(from = pending.from_version, "upgrading the customer file; the window says so");
                    handle.state::<AppState>().begin_upgrade(pending);
                    let h = handle.clone();
                    let p = path.clone();
                    std::thread::Builder::new()
                        .name("upgrade".into())
                        .spawn(move || {
                            h.state::<AppState>().open_store(Some(pending), |s| prepare(s, demo));
                            after_open(&h, &p);
                        })
                        .map_err(
                            |e| tracing::warn!(error = %e, "no upgrade thread: the upgrade runs before the window"),
                        )
                        .ok()
                }
            };
            if upgrading.is_none() {
                handle.state::<AppState>().open_store(None, |s| prepare(s, demo));
                after_open(&handle, &path);
            }
            // The store's page cache goes back to the system while the app sits idle.
            let idle = std::thread::Builder::new().name("idle-memory".into()).spawn(move || loop {
                std::thread::sleep(IDLE_MEMORY_CHECK);
                handle.state::<AppState>().release_memory_if_idle(IDLE_MEMORY_AFTER);
            });
            if let Err(e) = idle {
                tracing::warn!(error = %e, "the page cache stays with the store while idle");
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("error while building Comptoir")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                backups::on_exit(app);
            }
        });
}

/// What the open file needs before any command can use it: the demo shop if asked for, and the
/// scheduled sends whose time passed while the app was closed.
fn prepare(store: &mut comptoir_core::Store, demo: bool) {
    if demo {
        let loaded = store.stats().and_then(|st| {
            if st.customers_active == 0 {
                store.generate_demo(DemoSpec::explore()).map(Some)
            } else {
                Ok(None)
            }
        });
        match loaded {
            Ok(Some(o)) => tracing::info!(customers = o.value.customers, "demo shop loaded"),
            Ok(None) => tracing::info!("customer file not empty: demo shop not loaded"),
            Err(e) => tracing::warn!(error = %e, "demo shop not loaded"),
        }
    }
    // A scheduled send whose time passed while the app was closed waits for the merchant.
    match store.mark_missed_schedules() {
        Ok(n) if n > 0 => tracing::info!(campaigns = n, "scheduled campaigns missed while closed"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "scheduled campaigns not checked"),
    }
}

/// What follows the opening of the file: the checkpointer and every background thread (none
/// of them runs before the file is open and upgraded: they would open it themselves, and
/// upgrade it a second time).
fn after_open<R: Runtime>(app: &tauri::AppHandle<R>, path: &std::path::Path) {
    let state = app.state::<AppState>();
    if state.is_open() {
        let path = path.to_path_buf();
        // A thread of its own checkpoints the log; the window's commits copy it only
        // when writers that never pause keep the thread from catching up. Without the
        // thread they keep SQLite's own rule (a log that nobody copies would grow).
        let checkpointing = match comptoir_core::storage::checkpoint::Checkpointer::spawn(
            &path,
            comptoir_core::storage::checkpoint::DEFAULT_EVERY,
        ) {
            Ok(c) => {
                state.keep_checkpointer(c);
                if let Err(e) = state.with(|s| s.leave_checkpoints_to_background()) {
                    tracing::warn!(code = %e.code, "checkpoints stay at commit time");
                }
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "no background checkpointer");
                false
            }
        };
        // Expired points, the dashboard's figures and the scores, and referrals whose
        // hold ended while the app was closed: after the first screen.
        background::spawn(path.clone(), checkpointing);
        // The till's pages, read once so its first look-ups do not wait for the disk.
        background::spawn_till_warm(path.clone());
        sender::spawn(
            path.clone(),
            state.secrets.clone(),
            state.sender_problem.clone(),
            state.automation_nudge.clone(),
        );
        referral_clock::spawn(path.clone());
        automation_clock::spawn(path.clone(), state.automation_nudge.clone());
        reader::spawn(path.clone(), state.secrets.clone(), state.reader.clone());
    }
    // Backups run in the background: the first screen never waits for them.
    backups::spawn(app.clone());
}

#[cfg(all(test, target_os = "linux"))]
mod rendering_tests {
    use super::compositing_off;
    use std::ffi::OsStr;

    #[test]
    fn compositing_is_off_on_linux_unless_asked_for_or_set_by_webkits_own_setting() {
        assert!(compositing_off(None, None), "off by default: no GPU layers for forms and charts");
        assert!(!compositing_off(Some(OsStr::new("1")), None), "COMPTOIR_GPU=1 turns it back on");
        assert!(compositing_off(Some(OsStr::new("0")), None), "any other value leaves it off");
        assert!(!compositing_off(None, Some(OsStr::new("0"))), "WebKit's own setting, when given, is obeyed as given");
    }
}
