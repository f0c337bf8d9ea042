//! Automatic messages sent by a sender killed (SIGKILL) in the middle, then started again, with
//! the automations checked again before and after: every customer receives their birthday
//! message, no occasion is queued twice, duplicates stay within the one batch that was in
//! flight (what the campaign sender already allows), each birthday voucher is given once, and
//! the file is sound. The checker and the sender are `comptoir-cli`'s, the same code as the
//! app's; the server is a real SMTP server on loopback.

use chrono::{Datelike, Duration as Days, Utc};
use comptoir_core::automations::{AutomationKind, AutomationSettings, BirthdayVoucher, EnableMode};
use comptoir_core::campaigns::mail::{Delivery, MailSettings, SendLimits, SmtpPreset, SmtpSettings, TlsMode};
use comptoir_core::campaigns::sink::Sink;
use comptoir_core::customers::{Birthday, ConsentChoice, ConsentInput, ConsentSource, CustomerInput, NewCustomer};
use comptoir_core::Store;
use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

const CUSTOMERS: usize = 240;
const BATCH: usize = 8;

fn cli(path: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_comptoir-cli"));
    c.arg("--db").arg(path).args(args);
    c
}

#[test]
fn automatic_messages_killed_mid_send_reach_everyone_once_within_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let sink = Sink::start(true, 8).unwrap();
    let campaign = {
        let mut s = Store::open(&path).unwrap();
        s.save_mail_settings(
            &MailSettings {
                sender_name: "Boutique".into(),
                sender_email: "shop@example.com".into(),
                reply_to: String::new(),
                postal_address: "1 rue Haute, Lyon".into(),
                language: comptoir_core::types::Lang::Fr,
                delivery: Delivery::Smtp,
                smtp: SmtpSettings {
                    preset: SmtpPreset::Custom,
                    host: "127.0.0.1".into(),
                    port: sink.addr.port(),
                    tls: TlsMode::None,
                    username: String::new(),
                    // Slow enough to be killed in the middle.
                    limits: SendLimits { per_second: 100, per_minute: 0, per_day: 0, connections: 2 },
                },
            },
            None,
        )
        .unwrap();
        // Any hour of the day, in UTC: the test does not depend on when it runs.
        let rules = AutomationSettings {
            time_zone: "UTC".into(),
            send_from_minute: 0,
            send_until_minute: 1440,
            ..AutomationSettings::default()
        };
        s.save_automation_settings(&rules, None).unwrap();
        let day = Utc::now().date_naive() + Days::days(3);
        for i in 0..CUSTOMERS {
            s.create_customer(
                &NewCustomer {
                    customer: CustomerInput {
                        first_name: format!("Client{i}"),
                        last_name: "Test".into(),
                        email: format!("c{i}@example.com"),
                        birthday: Some(Birthday { day: day.day() as u8, month: day.month() as u8, year: None }),
                        ..Default::default()
                    },
                    consent: Some(ConsentInput {
                        choice: ConsentChoice::Express,
                        source: ConsentSource::Counter,
                        wording: "Oui".into(),
                    }),
                    note: String::new(),
                },
                None,
            )
            .unwrap();
        }
        let a = s.automations().unwrap().into_iter().find(|a| a.kind == AutomationKind::Birthday).unwrap();
        let mut input = comptoir_core::automations::AutomationInput {
            config: a.config.clone(),
            message_fr: a.message_fr.clone(),
            message_en: a.message_en.clone(),
        };
        input.config.birthday_voucher =
            Some(BirthdayVoucher { kind: comptoir_core::loyalty::VoucherKind::Amount, value: 500, days_after: 7 });
        s.save_automation(a.id, &input, None).unwrap();
        s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
        a.campaign_id
    };
    // A check decides a bounded number of occasions (`MAX_DECIDED_PER_CHECK`) and says when
    // more are due: checked again until it does not.
    for checks in 1.. {
        let out = cli(&path, &["automations-tick"]).output().unwrap();
        assert!(out.status.success(), "the check runs");
        if !String::from_utf8_lossy(&out.stderr).contains("more are due") {
            break;
        }
        assert!(checks < 20, "a catch-up of {CUSTOMERS} ends");
    }
    let queued = |p: &std::path::Path| -> i64 {
        Store::open(p)
            .unwrap()
            .conn()
            .query_row("SELECT count(*) FROM campaign_recipients WHERE campaign_id = ?1", [campaign], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(queued(&path), CUSTOMERS as i64, "one message per customer is queued, over the checks it takes");

    let send = || {
        cli(&path, &["campaign-send", "--id", &campaign.to_string(), "--batch", &BATCH.to_string()]).spawn().unwrap()
    };
    let mut child = send();
    let t0 = Instant::now();
    while sink.count() < CUSTOMERS / 3 && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(child.try_wait().unwrap().is_none(), "the sender is killed while it is still sending");
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert!(sink.count() < CUSTOMERS, "killed before the end ({} received)", sink.count());

    // Checked again after the crash (as the app does at start): nothing is queued twice.
    assert!(cli(&path, &["automations-tick"]).status().unwrap().success());
    assert_eq!(queued(&path), CUSTOMERS as i64, "checking again after a crash queues no occasion twice");
    assert!(send().wait().unwrap().success(), "the second sender finishes");
    assert!(cli(&path, &["automations-tick"]).status().unwrap().success());

    let s = Store::open(&path).unwrap();
    assert!(s.integrity_check().unwrap(), "the file is sound after the kill");
    let states: Vec<(String, i64)> = s
        .conn()
        .prepare("SELECT state, count(*) FROM automation_occasions GROUP BY state")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(states, vec![("sent".to_string(), CUSTOMERS as i64)], "every occasion is recorded as sent, once");
    let vouchers: i64 =
        s.conn().query_row("SELECT count(*) FROM vouchers WHERE source = 'automation'", [], |r| r.get(0)).unwrap();
    assert_eq!(vouchers, CUSTOMERS as i64, "one birthday voucher per customer, whatever the crash");

    let mut per_address: HashMap<String, usize> = HashMap::new();
    for r in sink.received() {
        for to in r.to {
            *per_address.entry(to).or_default() += 1;
        }
    }
    assert_eq!(per_address.len(), CUSTOMERS, "every customer received the birthday message");
    let duplicates: usize = per_address.values().map(|n| n - 1).sum();
    assert!(duplicates <= BATCH, "duplicates ({duplicates}) are bounded by the messages in flight ({BATCH})");
}
