//! The Tauri commands through tauri's mock runtime, with the app's real configuration and
//! capabilities: arguments as the interface sends them, answers and `{code, message}` errors
//! as the interface receives them.

use comptoir_app::state::AppState;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindow;

struct App {
    _app: tauri::App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    _dir: tempfile::TempDir,
}

#[test]
fn a_catalogue_gift_through_the_commands_is_held_then_handed_over_once() {
    let app = app();
    let today = chrono::Local::now().date_naive().to_string();
    let reward = json!({
        "name": "Viennoiserie offerte", "kind": "free_product", "points_cost": 100, "value": 0, "stock": null,
        "per_customer_limit": null, "valid_from": null, "valid_to": null, "voucher_days": 30, "active": true
    });
    let pastry = invoke(&app, "reward_save", json!({ "id": null, "input": reward, "key": "reward-pastry-1" })).unwrap();
    let pastry = pastry["value"]["id"].as_i64().unwrap();
    let gift = |cost: i64| json!({ "type": "catalogue", "reward_id": pastry, "label": "-", "cost_cents": cost });
    let offer = |cost: i64| {
        json!({
            "active": true, "starts_on": today, "ends_on": null, "min_purchase_cents": 2000, "within_days": 30,
            "second_purchase": false, "hold_days": 0, "referrer_reward": null, "friend_reward": gift(cost),
            "friend_reward_at": "first_purchase", "milestones": [], "stacking": "highest_only",
            "per_referrer_cap_cents": null, "budget_cents": null, "correction_days": 14,
            "max_per_day": 10, "max_per_week": 20, "staff_burst_per_hour": 10, "exclusions": ""
        })
    };
    let err = invoke(&app, "referral_offer_save", json!({ "offer": offer(0), "key": "offer-gift-000" })).unwrap_err();
    assert_eq!(err["fields"][0]["field"], "friend_reward", "a gift with no cost is refused next to its reward");
    let saved = invoke(&app, "referral_offer_save", json!({ "offer": offer(150), "key": "offer-gift-001" })).unwrap();
    assert_eq!(saved["value"]["offer"]["friend_reward"]["label"], "Viennoiserie offerte", "named by the catalogue");
    assert_eq!(saved["value"]["offer"]["friend_reward"]["kind"], "free_product");
    let lea =
        invoke(&app, "customer_create", json!({ "input": new_customer("Léa", "Martin", ""), "key": "create-lea-g1" }))
            .unwrap()["value"]
            .as_i64()
            .unwrap();
    let code =
        invoke(&app, "referral_customer", json!({ "customer": lea })).unwrap()["code"].as_str().unwrap().to_string();
    let link = json!({ "referrer": { "type": "code", "code": code }, "staff": "Marie" });
    let hugo = invoke(
        &app,
        "referral_customer_create",
        json!({ "input": new_customer("Hugo", "Ami", ""), "link": link, "key": "create-hugo-g1" }),
    )
    .unwrap()["value"]
        .as_i64()
        .unwrap();
    let sale = json!({ "customer_id": hugo, "amount_cents": 2500, "occurred_at": null, "note": "", "category": "", "apply": null });
    invoke(&app, "sale_record", json!({ "input": sale, "key": "sale-hugo-g001" })).unwrap();
    let status = invoke(&app, "loyalty_status", json!({ "customer": hugo })).unwrap();
    let v = &status["vouchers"][0];
    assert_eq!((v["kind"].clone(), v["label"].clone()), (json!("gift"), json!("Viennoiserie offerte")), "{status}");
    let code = v["code"].as_str().unwrap().to_string();
    let args = json!({ "customer": hugo, "code": code, "staff": "Marie", "key": "hand-over-hugo-1" });
    let first = invoke(&app, "voucher_hand_over", args.clone()).unwrap();
    let replay = invoke(&app, "voucher_hand_over", args).unwrap();
    assert_eq!(first["value"]["id"], replay["value"]["id"], "a retry hands it over once");
    let again = json!({ "customer": hugo, "code": code, "staff": "Marie", "key": "hand-over-hugo-2" });
    let err = invoke(&app, "voucher_hand_over", again).unwrap_err();
    assert_eq!(err["code"], "conflict", "a gift is handed over once: {err}");
    let bad = json!({ "customer": hugo, "code": "<script>", "staff": "", "key": "hand-over-hugo-3" });
    assert_eq!(invoke(&app, "voucher_hand_over", bad).unwrap_err()["code"], "validation", "not a code");
    assert_eq!(invoke(&app, "loyalty_status", json!({ "customer": hugo })).unwrap()["vouchers"], json!([]));
}

fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(&dir.path().join("shop.db"));
    let app = comptoir_app::builder(mock_builder()).manage(state).build(tauri::generate_context!(test = true)).unwrap();
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    App { _app: app, window, _dir: dir }
}

fn invoke(app: &App, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        &app.window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

fn new_customer(first: &str, last: &str, phone: &str) -> Value {
    json!({
        "customer": {
            "first_name": first, "last_name": last, "email": "", "phone": phone,
            "address": { "line1": "", "line2": "", "postcode": "", "city": "", "country": null },
            "birthday": null, "language": null, "tags": []
        },
        "consent": null,
        "note": ""
    })
}

#[test]
fn create_find_sell_and_see_the_timeline() {
    let app = app();
    let created = invoke(
        &app,
        "customer_create",
        json!({ "input": new_customer("Élodie", "Lefèvre", "06 12 34 56 78"), "key": "create-000001" }),
    )
    .unwrap();
    let id = created["value"].as_i64().unwrap();
    assert_eq!(created["changes"]["customers"], json!([id]), "the write reports what changed");

    let found = invoke(&app, "customers_search", json!({ "query": "elodie", "limit": 20 })).unwrap();
    assert_eq!(found[0]["display_name"], "Élodie Lefèvre");
    let by_phone = invoke(&app, "customers_search", json!({ "query": "0612", "limit": 20 })).unwrap();
    assert_eq!(by_phone[0]["id"], id);

    let card = found[0]["card_number"].as_str().unwrap().to_string();
    let till = invoke(&app, "till_lookup", json!({ "query": card })).unwrap();
    assert_eq!((till["customer"]["id"].as_i64(), till["matched_by"].as_str()), (Some(id), Some("card")));

    let sale = json!({ "customer_id": id, "amount_cents": 1250, "occurred_at": null, "note": "", "category": "" });
    let a = invoke(&app, "sale_record", json!({ "input": sale, "key": "sale-00000001" })).unwrap();
    let b = invoke(&app, "sale_record", json!({ "input": sale, "key": "sale-00000001" })).unwrap();
    assert_eq!(a["value"]["id"], b["value"]["id"], "a retried sale is recorded once");
    assert_eq!(b["replayed"], true);

    let customer = invoke(&app, "customer_get", json!({ "id": id })).unwrap();
    assert_eq!(customer["figures"]["visit_count"], 1);
    assert_eq!(customer["figures"]["total_spent_cents"], 1250);
    let timeline = invoke(&app, "customer_timeline", json!({ "id": id, "limit": 50 })).unwrap();
    assert_eq!(timeline[0]["type"], "sale");
    assert_eq!(timeline[0]["amount_cents"], 1250);
}

#[test]
fn errors_reach_the_interface_as_code_and_translated_message() {
    let app = app();
    let err = invoke(&app, "customer_create", json!({ "input": new_customer("", "", "12"), "key": "create-000002" }))
        .unwrap_err();
    assert_eq!(err["code"], "validation");
    let fields: Vec<&str> = err["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"first_name") && fields.contains(&"phone"), "{fields:?}");
    assert!(err["message"].as_str().unwrap().contains("champs"), "French by default: {}", err["message"]);

    let settings = json!({ "shop_name": "Chez Zoé", "locale": "en", "country": "FR", "currency": "EUR" });
    invoke(&app, "settings_update", json!({ "input": settings, "key": "settings-0001" })).unwrap();
    let err = invoke(&app, "customer_get", json!({ "id": 4242 })).unwrap_err();
    assert_eq!(err["code"], "not_found");
    assert!(err["message"].as_str().unwrap().contains("not found"), "English once chosen: {}", err["message"]);

    let err = invoke(&app, "sale_record", json!({ "input": { "customer_id": 1, "amount_cents": -5, "occurred_at": null, "note": "", "category": "" }, "key": "sale-00000002" })).unwrap_err();
    assert_eq!(err["code"], "validation", "negative amounts are refused in Rust");
}

#[test]
fn malformed_arguments_are_refused_without_writing() {
    let app = app();
    let err = invoke(
        &app,
        "sale_record",
        json!({ "input": { "customer_id": "1; DROP TABLE", "amount_cents": 1 }, "key": "x-0000000001" }),
    );
    assert!(err.is_err(), "a wrongly typed argument is refused by deserialisation");
    let stats = invoke(&app, "stats_get", json!({})).unwrap();
    assert_eq!(stats["sales"], 0);
}

#[test]
fn only_the_apps_own_commands_are_reachable() {
    let app = app();
    assert!(
        invoke(&app, "plugin:fs|read_file", json!({ "path": "/etc/passwd" })).is_err(),
        "no file system access from the page"
    );
    assert!(invoke(&app, "not_a_command", json!({})).is_err());
}

#[test]
fn the_first_run_choice_loads_the_demo_shop_once() {
    let app = app();
    assert_eq!(invoke(&app, "settings_get", json!({})).unwrap()["onboarded"], false);
    let out = invoke(&app, "demo_load", json!({})).unwrap();
    assert!(out["value"]["customers"].as_i64().unwrap() > 100);
    assert_eq!(invoke(&app, "settings_get", json!({})).unwrap()["onboarded"], true);
    let again = invoke(&app, "demo_load", json!({})).unwrap_err();
    assert_eq!(again["code"], "conflict", "never mixes invented people into a real file");
}

#[test]
fn loyalty_through_the_commands_a_sale_earns_and_the_status_follows() {
    let app = app();
    invoke(&app, "demo_load", json!({})).unwrap();
    let best = invoke(
        &app,
        "customers_list",
        json!({ "req": { "sort": "total_spent", "archived": false, "after": null, "limit": 1 } }),
    )
    .unwrap();
    let id = best["items"][0]["id"].as_i64().unwrap();
    let before = invoke(&app, "loyalty_status", json!({ "customer": id })).unwrap();
    assert_eq!(before["programme_active"], true);
    let sale = json!({ "customer_id": id, "amount_cents": 2000, "occurred_at": null, "note": "", "category": "", "apply": null });
    let out = invoke(&app, "sale_record", json!({ "input": sale, "key": "loyal-sale-001" })).unwrap();
    let earned = invoke(&app, "loyalty_sale_earning", json!({ "purchase": out["value"]["id"] })).unwrap();
    let after = invoke(&app, "loyalty_status", json!({ "customer": id })).unwrap();
    // The demo is dated from today, so this sale may also lift the customer into a tier whose
    // entry bonus lands in the same transaction: the growth is the earning plus that bonus.
    let ledger = invoke(&app, "loyalty_ledger", json!({ "customer": id, "limit": 5 })).unwrap();
    let entry_bonus: i64 = ledger
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "tier_entry" && e["at"] == ledger[0]["at"])
        .map(|e| e["points"].as_i64().unwrap())
        .sum();
    assert!(
        ledger
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "earn" && e["purchase_id"] == out["value"]["id"] && e["points"] == earned["points"]),
        "the ledger holds the sale's earning as recorded with the sale"
    );
    assert_eq!(
        after["points"].as_i64().unwrap() - before["points"].as_i64().unwrap(),
        earned["points"].as_i64().unwrap() + entry_bonus,
        "the balance grows by what the sale earned (and a tier's entry bonus it reached), no more"
    );
    let err = invoke(
        &app,
        "loyalty_adjust",
        json!({ "customer": id, "points": 5, "reason": "", "staff": "Marie", "key": "adjust-00001" }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "validation", "a gesture by hand needs a reason");
    let kinds: Vec<_> = ledger.as_array().unwrap().iter().take(2).map(|e| e["kind"].clone()).collect();
    assert!(kinds.contains(&json!("earn")), "the newest ledger line is the sale's earning (or its tier bonus)");
}

/// One piece of a file, sent as the window sends it (`data_import_upload`).
fn upload_piece(app: &App, piece: &[u8], upload: &str, offset: usize, size: Option<usize>) -> Result<Value, Value> {
    let mut headers = tauri::http::HeaderMap::new();
    headers.insert("x-upload", upload.parse().unwrap());
    headers.insert("x-offset", offset.to_string().parse().unwrap());
    if let Some(size) = size {
        headers.insert("x-size", size.to_string().parse().unwrap());
    }
    let body = piece.to_vec();
    get_ipc_response(
        &app.window,
        InvokeRequest {
            cmd: "data_import_upload".into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Raw(body),
            headers,
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

fn invoke_bytes(app: &App, cmd: &str, args: Value) -> Vec<u8> {
    let body = get_ipc_response(
        &app.window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .unwrap_or_else(|e| panic!("{cmd}: {e:?}"));
    match body {
        tauri::ipc::InvokeResponseBody::Raw(b) => b,
        tauri::ipc::InvokeResponseBody::Json(v) => panic!("{cmd} answers bytes, not {v}"),
    }
}

#[test]
fn data_through_the_commands_import_undo_export_backup_and_restore() {
    let app = app();
    let csv = "Nom;Prénom;E-mail;Téléphone\r\nLefèvre;Élodie;elodie@example.com;06 12 34 56 78\r\nDurand;Jean;jean@@example.com;\r\n";
    // Sent in pieces cut inside a character (é is two bytes), as the window cuts a file.
    let bytes = csv.as_bytes();
    let cut = csv.find('è').unwrap() + 1;
    let upload = upload_piece(&app, &bytes[..cut], "", 0, Some(bytes.len())).unwrap();
    let refused = upload_piece(&app, &bytes[cut..], upload.as_str().unwrap(), cut + 1, None);
    assert!(refused.is_err(), "a piece at the wrong place is refused, and the upload ends");
    assert!(upload_piece(&app, &bytes[cut..], upload.as_str().unwrap(), cut, None).is_err(), "the window starts over");
    let upload = upload_piece(&app, &bytes[..cut], "", 0, Some(bytes.len())).unwrap();
    let upload = upload.as_str().unwrap();
    upload_piece(&app, &bytes[cut..], upload, cut, None).unwrap();
    let opened = invoke(&app, "data_import_open", json!({ "upload": upload, "name": "clients français.csv" })).unwrap();
    assert_eq!(opened["info"]["name"], "clients français.csv");
    assert_eq!(opened["info"]["rows"], 2, "the pieces make the whole file");
    let copies = app._dir.path().join("import-files");
    assert_eq!(std::fs::read_dir(&copies).unwrap().count(), 1, "the file is copied beside the shop's file");
    assert_eq!(opened["info"]["delimiter"], ";");
    let token = opened["token"].as_str().unwrap().to_string();
    let options = json!({
        "mapping": opened["info"]["mapping"],
        "matching": "fill_empty", "bad_values": "skip_row", "on_errors": "import_valid", "soft_opt_in": null
    });
    let preview = invoke(&app, "data_import_preview", json!({ "token": token, "options": options })).unwrap();
    assert_eq!((preview["counts"]["new"].as_i64(), preview["counts"]["errors"].as_i64()), (Some(1), Some(1)));
    let errors = invoke_bytes(&app, "data_import_error_file", json!({ "token": token }));
    assert!(String::from_utf8_lossy(&errors).contains("jean@@example.com"), "the rows in error come back as a file");
    let run = invoke(&app, "data_import_run", json!({ "token": token, "options": options, "key": "import-0000001" }))
        .unwrap();
    let import_id = run["value"]["import_id"].as_i64().unwrap();
    let found = invoke(&app, "customers_search", json!({ "query": "lefèvre", "limit": 20 })).unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1);
    let status = invoke(&app, "backup_status", json!({})).unwrap();
    assert_eq!(status["backups"][0]["header"]["reason"], "before_import", "a backup was taken before the import");

    let history = invoke(&app, "data_imports", json!({})).unwrap();
    assert_eq!(history[0]["can_undo"], true);
    invoke(&app, "data_import_close", json!({ "token": token })).unwrap();
    assert_eq!(std::fs::read_dir(&copies).unwrap().count(), 0, "the copy goes once the import screens let it go");
    assert!(invoke(&app, "data_import_preview", json!({ "token": token, "options": options })).is_err());
    let undo = invoke(&app, "data_import_undo", json!({ "id": import_id, "key": "undo-00000001" })).unwrap();
    assert_eq!(undo["value"]["removed"], 1);
    assert!(invoke(&app, "customers_search", json!({ "query": "lefèvre", "limit": 20 }))
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty());

    invoke(&app, "customer_create", json!({ "input": new_customer("Zoé", "Vidal", ""), "key": "create-zoe-0001" }))
        .unwrap();
    let exported = invoke_bytes(&app, "data_export", json!({ "scope": { "kind": "all" }, "format": "csv_excel_fr" }));
    assert!(exported.starts_with(b"\xEF\xBB\xBF") && String::from_utf8_lossy(&exported).contains("Vidal"));

    let b = invoke(&app, "backup_now", json!({})).unwrap();
    invoke(
        &app,
        "customer_create",
        json!({ "input": new_customer("Après", "Sauvegarde", ""), "key": "create-after-01" }),
    )
    .unwrap();
    let file_name = b["file_name"].as_str().unwrap();
    let summary = invoke(&app, "backup_inspect", json!({ "fileName": file_name, "passphrase": null })).unwrap();
    assert_eq!(summary["customers"], 1, "the summary before anything changes");
    let restore = json!({ "fileName": file_name, "passphrase": null, "key": "restore-key-01" });
    let restored = invoke(&app, "backup_restore", restore.clone()).unwrap();
    let again = invoke(&app, "backup_restore", restore).unwrap();
    assert_eq!(again, restored, "a double click restores once: the same report, the same undo");
    assert!(invoke(&app, "customers_search", json!({ "query": "sauvegarde", "limit": 20 }))
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty());
    let undo_file = restored["undo_backup"]["file_name"].as_str().unwrap();
    invoke(&app, "backup_restore", json!({ "fileName": undo_file, "passphrase": null, "key": "restore-key-02" }))
        .unwrap();
    assert_eq!(
        invoke(&app, "customers_search", json!({ "query": "sauvegarde", "limit": 20 }))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1,
        "the restore undone"
    );
    // A passphrase: the next backup (no passphrase given) is encrypted, opens with it alone.
    let short =
        invoke(&app, "backup_passphrase_set", json!({ "passphrase": "court", "key": "pass-key-01" })).unwrap_err();
    assert_eq!(short["fields"][0]["field"], "passphrase", "a short passphrase is refused against its field");
    invoke(&app, "backup_passphrase_set", json!({ "passphrase": "phrase du magasin", "key": "pass-key-02" })).unwrap();
    assert!(invoke(&app, "backup_status", json!({})).unwrap()["encrypted_since"].is_string());
    assert_eq!(invoke(&app, "backup_passphrase_check", json!({ "passphrase": "phrase du magasin" })).unwrap(), true);
    assert_eq!(invoke(&app, "backup_passphrase_check", json!({ "passphrase": "Phrase du magasin" })).unwrap(), false);
    let enc = invoke(&app, "backup_now", json!({})).unwrap();
    assert_eq!(enc["header"]["encrypted"], true, "taken without the passphrase, encrypted");
    let enc_name = enc["file_name"].as_str().unwrap();
    let needed = invoke(&app, "backup_inspect", json!({ "fileName": enc_name, "passphrase": null })).unwrap_err();
    assert_eq!(needed["code"], "conflict");
    let opened =
        invoke(&app, "backup_inspect", json!({ "fileName": enc_name, "passphrase": "phrase du magasin" })).unwrap();
    assert_eq!(opened["encrypted"], true);
    invoke(&app, "backup_passphrase_set", json!({ "passphrase": null, "key": "pass-key-03" })).unwrap();
    assert_eq!(invoke(&app, "backup_now", json!({})).unwrap()["header"]["encrypted"], false, "stopped: plain again");

    let refused = invoke(
        &app,
        "backup_restore",
        json!({ "fileName": "../../etc/passwd", "passphrase": null, "key": "restore-key-03" }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "not_found", "only listed backups can be restored");

    let zoe =
        invoke(&app, "customers_search", json!({ "query": "vidal", "limit": 20 })).unwrap()[0]["id"].as_i64().unwrap();
    let pack = invoke_bytes(&app, "data_access_pack", json!({ "id": zoe }));
    assert!(pack.starts_with(b"PK"), "a zip");
    invoke(&app, "data_erase", json!({ "id": zoe, "key": "erase-zoe-0001" })).unwrap();
    assert!(invoke(&app, "customers_search", json!({ "query": "vidal", "limit": 20 }))
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn referrals_through_the_commands_an_offer_a_friend_by_code_and_a_refusal_next_to_the_field() {
    let app = app();
    let today = chrono::Local::now().date_naive().to_string();
    let offer = json!({
        "active": true, "starts_on": today, "ends_on": null, "min_purchase_cents": 2000, "within_days": 30,
        "second_purchase": false, "hold_days": 0, "referrer_reward": null, "friend_reward": null,
        "friend_reward_at": "first_purchase",
        "milestones": [
            { "key": 1, "referrals": 2, "reward": { "type": "voucher", "cents": 500, "valid_days": 90 }, "slots": 50 },
            { "key": 2, "referrals": 4, "reward": { "type": "voucher", "cents": 1000, "valid_days": 90 }, "slots": 50 }
        ],
        "stacking": "highest_only", "per_referrer_cap_cents": null, "budget_cents": 75000, "correction_days": 14,
        "max_per_day": 10, "max_per_week": 20, "staff_burst_per_hour": 10, "exclusions": ""
    });
    let check = invoke(&app, "referral_offer_check", json!({ "offer": offer })).unwrap();
    assert_eq!(check["worst_case"]["total_cents"], 75000, "50 × €10 + 50 × €5 = €750, shown while typing");
    assert!(check["problems"].is_null());
    let mut low = offer.clone();
    low["budget_cents"] = json!(300);
    let check = invoke(&app, "referral_offer_check", json!({ "offer": low })).unwrap();
    assert_eq!(check["problems"]["fields"][0]["field"], "budget_cents", "a budget lower than one reward");
    invoke(&app, "referral_offer_save", json!({ "offer": offer, "key": "offer-save-0001" })).unwrap();
    let lea =
        invoke(&app, "customer_create", json!({ "input": new_customer("Léa", "Martin", ""), "key": "create-lea-001" }))
            .unwrap();
    let lea = lea["value"].as_i64().unwrap();
    let status = invoke(&app, "referral_customer", json!({ "customer": lea })).unwrap();
    let code = status["code"].as_str().unwrap().to_string();
    let found = invoke(&app, "referrer_lookup", json!({ "text": code.to_lowercase() })).unwrap();
    assert_eq!(found["found"]["id"], lea, "the code finds the referrer");
    let link = json!({ "referrer": { "type": "code", "code": code }, "staff": "Marie" });
    let friend = invoke(
        &app,
        "referral_customer_create",
        json!({ "input": new_customer("Hugo", "Ami", ""), "link": link, "key": "create-hugo-01" }),
    )
    .unwrap();
    let hugo = friend["value"].as_i64().unwrap();
    let hs = invoke(&app, "referral_customer", json!({ "customer": hugo })).unwrap();
    assert_eq!(hs["referred_by"]["referrer"]["id"], lea);
    assert_eq!(hs["referred_by"]["status"], "pending");
    let bad = json!({ "referrer": { "type": "code", "code": "ZZZ-ZZZ" }, "staff": "" });
    let err = invoke(
        &app,
        "referral_customer_create",
        json!({ "input": new_customer("Zoé", "Ami", ""), "link": bad, "key": "create-zoe-001" }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "validation");
    assert_eq!(err["fields"][0]["field"], "referred_by", "the reason is shown next to « Parrainé par »");
    let list = invoke(&app, "customers_search", json!({ "query": "Zoé", "limit": 5 })).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0, "nothing was written");
    let sale = json!({ "customer_id": hugo, "amount_cents": 2500, "occurred_at": null, "note": "", "category": "", "apply": null });
    invoke(&app, "sale_record", json!({ "input": sale, "key": "sale-hugo-0001" })).unwrap();
    let overview = invoke(&app, "referral_overview", json!({})).unwrap();
    let approved =
        overview["by_status"].as_array().unwrap().iter().find(|c| c["status"] == "approved").unwrap()["count"].clone();
    assert_eq!(approved, 1, "a zero-day hold approves at the qualifying sale");
    let rules = invoke(&app, "referral_reglement", json!({ "lang": "fr" })).unwrap();
    assert!(rules["sections"].to_string().contains("750,00"), "the printed rules carry the budget");
}

#[test]
fn the_mailbox_commands_refuse_plain_imap_to_another_computer_and_explain_why_sending_waits() {
    let app = app();
    let status = invoke(&app, "mailbox_status", json!({})).unwrap();
    assert_eq!(status["configured"], false, "nothing is read until the merchant sets it up");
    assert_eq!(status["sending_blocked"], false, "the .eml outbox needs no reading");
    let mut settings = invoke(&app, "mailbox_settings_get", json!({})).unwrap()["settings"].clone();
    settings["imap_enabled"] = json!(true);
    settings["imap"]["host"] = json!("imap.example.com");
    settings["imap"]["tls"] = json!("none");
    settings["imap"]["username"] = json!("lea@boutique.test");
    let err = invoke(
        &app,
        "mailbox_settings_save",
        json!({ "input": settings, "password": null, "apiKey": null, "key": "mbx-save-0001" }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "validation");
    assert!(
        err["fields"].as_array().unwrap().iter().any(|f| f["field"] == "imap.tls"),
        "the password would travel in clear: {err}"
    );
    settings["imap"]["host"] = json!("127.0.0.1");
    let saved = invoke(
        &app,
        "mailbox_settings_save",
        json!({ "input": settings, "password": null, "apiKey": null, "key": "mbx-save-0002" }),
    )
    .unwrap();
    assert_eq!(saved["settings"]["imap_enabled"], true);
    assert!(saved.get("password").is_some_and(Value::is_null), "no password stored, none shown");
    assert_eq!(
        invoke(&app, "mailbox_log", json!({ "kinds": ["hard_bounce"], "before": null, "limit": 20 })).unwrap(),
        json!([])
    );
    assert_eq!(invoke(&app, "suppressions_list", json!({ "query": "", "limit": 50 })).unwrap()["total"], 0);
    let lift = invoke(
        &app,
        "suppression_lift",
        json!({ "email": "paul@example.com", "reason": "accord redonné", "key": "mbx-lift-0001" }),
    )
    .unwrap_err();
    assert_eq!(lift["code"], "conflict", "an address not on the list cannot be lifted");
    assert_eq!(
        invoke(&app, "mailbox_stop_confirm", json!({ "id": 42, "key": "mbx-stop-0001" })).unwrap_err()["code"],
        "not_found"
    );
}

fn mail_settings(from: &str, preset: &str, host: &str) -> Value {
    json!({
        "sender_name": "Boulangerie Léa", "sender_email": from, "reply_to": "", "postal_address": "3 rue des Lilas",
        "language": "fr", "delivery": "smtp",
        "smtp": {
            "preset": preset, "host": host, "port": 587, "tls": "start_tls", "username": from,
            "limits": { "per_second": 1, "per_minute": 20, "per_day": 500, "connections": 2 }
        }
    })
}

#[test]
fn before_sending_the_domain_and_content_checks_answer_through_the_commands() {
    let app = app();
    // A free-mail address through another provider: refused, without asking the DNS.
    let r = invoke(
        &app,
        "mail_domain_check",
        json!({ "input": mail_settings("boulangerie@gmail.com", "brevo", "smtp-relay.brevo.com"), "selector": null }),
    )
    .unwrap();
    assert_eq!(r["level"], "problem");
    assert_eq!(r["notes"][0]["said"]["key"], "deliverability.freemail.other_server");
    assert_eq!(r["notes"][0]["said"]["args"][1], json!(["provider", "Gmail"]), "arguments travel as pairs");
    // A selector that is not a DNS label is a field error, in the shop's language.
    let e = invoke(
        &app,
        "mail_domain_check",
        json!({ "input": mail_settings("lea@boulangerie.test", "ovh", "ssl0.ovh.net"), "selector": "a b;c" }),
    )
    .unwrap_err();
    assert_eq!((e["code"].as_str(), e["fields"][0]["field"].as_str()), (Some("validation"), Some("selector")));
    assert!(e["fields"][0]["message"].as_str().unwrap().contains("sélecteur DKIM"));
    // The content check of a message on screen.
    let content = json!({
        "a": { "subject": "SOLDES MONSTRES D'HIVER", "preheader": "", "blocks": [{ "type": "text", "markdown": "Tout est ici https://bit.ly/soldes" }] },
        "b": null
    });
    let r = invoke(&app, "campaign_content_check", json!({ "content": content })).unwrap();
    assert_eq!(r["blocking"], true, "a shortened link blocks");
    let codes: Vec<&str> = r["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"link_shortener") && codes.contains(&"subject_capitals"), "{codes:?}");
}

#[test]
fn the_campaigns_screen_hears_why_the_sender_cannot_send() {
    let app = app();
    assert_eq!(invoke(&app, "sender_status", json!({})).unwrap(), Value::Null, "nothing wrong: nothing said");
    {
        use tauri::Manager;
        let state = app.window.state::<AppState>();
        *state.sender_problem.lock().unwrap() = Some(comptoir_core::Error::conflict("conflict.sender_lock_failed"));
    }
    let p = invoke(&app, "sender_status", json!({})).unwrap();
    assert_eq!(p["code"], "conflict");
    assert!(
        p["message"].as_str().unwrap().contains("verrou"),
        "a lock that cannot be made is said as that, in the shop's language: {p}"
    );
}
