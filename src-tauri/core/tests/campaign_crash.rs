//! A campaign sender killed in the middle of a campaign, then started again: every recipient
//! receives the message, duplicates stay within the messages that were in flight, the counts
//! are right and the file is sound. The sender is `comptoir-cli campaign-send`, the same engine
//! as the app's; the server is a real SMTP server on loopback.

use comptoir_core::campaigns::mail::{Delivery, MailSettings, SendLimits, SmtpPreset, SmtpSettings, TlsMode};
use comptoir_core::campaigns::segments::SegmentFilter;
use comptoir_core::campaigns::sink::Sink;
use comptoir_core::campaigns::{Audience, Block, CampaignContent, CampaignInput, CampaignState, MessageContent};
use comptoir_core::customers::{ConsentChoice, ConsentInput, ConsentSource, CustomerInput, NewCustomer};
use comptoir_core::Store;
use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

const RECIPIENTS: usize = 300;
const BATCH: usize = 8;

#[test]
fn a_sender_killed_mid_campaign_resumes_without_skipping_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let sink = Sink::start(true, 8).unwrap();
    let id = {
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
                    // Slow enough to be killed in the middle: 100 messages a second.
                    limits: SendLimits { per_second: 100, per_minute: 0, per_day: 0, connections: 2 },
                },
            },
            None,
        )
        .unwrap();
        for i in 0..RECIPIENTS {
            s.create_customer(
                &NewCustomer {
                    customer: CustomerInput {
                        first_name: format!("Client{i}"),
                        last_name: "Test".into(),
                        email: format!("c{i}@example.com"),
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
        let c = s
            .create_campaign(
                &CampaignInput {
                    name: "Crash".into(),
                    content: CampaignContent {
                        a: MessageContent {
                            subject: "Bonjour {{ first_name }}".into(),
                            preheader: String::new(),
                            blocks: vec![Block::Text { markdown: "Hello".into() }],
                        },
                        b: None,
                    },
                    audience: Audience {
                        filter: SegmentFilter::default(),
                        control_percent: 0,
                        ab: None,
                        results_days: 7,
                    },
                },
                None,
            )
            .unwrap()
            .value;
        s.start_campaign(c.id, None).unwrap();
        c.id
    };
    let cli = env!("CARGO_BIN_EXE_comptoir-cli");
    let send = || {
        Command::new(cli)
            .args([
                "--db",
                path.to_str().unwrap(),
                "campaign-send",
                "--id",
                &id.to_string(),
                "--batch",
                &BATCH.to_string(),
            ])
            .spawn()
            .unwrap()
    };
    let mut child = send();
    let t0 = Instant::now();
    while sink.count() < RECIPIENTS / 3 && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(child.try_wait().unwrap().is_none(), "the sender is killed while it is still sending");
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let at_kill = sink.count();
    assert!(at_kill < RECIPIENTS, "killed before the end ({at_kill} received)");

    {
        let s = Store::open(&path).unwrap();
        assert!(s.integrity_check().unwrap(), "the file is sound after the kill");
        let in_flight: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM campaign_recipients WHERE state = 'sending'", [], |r| r.get(0))
            .unwrap();
        assert!(in_flight as usize <= BATCH, "at most one batch was in flight ({in_flight})");
    }

    // Started again: it resumes, it does not restart from the top.
    let status = send().wait().unwrap();
    assert!(status.success(), "the second sender finishes");
    let s = Store::open(&path).unwrap();
    let c = s.campaign(id).unwrap();
    assert_eq!(c.state, CampaignState::Finished);
    assert_eq!((c.progress.sent, c.progress.waiting, c.progress.failed), (RECIPIENTS as i64, 0, 0), "counts are right");

    let mut per_address: HashMap<String, usize> = HashMap::new();
    for r in sink.received() {
        for to in r.to {
            *per_address.entry(to).or_default() += 1;
        }
    }
    assert_eq!(per_address.len(), RECIPIENTS, "every recipient received the message");
    let duplicates: usize = per_address.values().map(|n| n - 1).sum();
    assert!(duplicates <= BATCH, "duplicates ({duplicates}) are bounded by the messages in flight ({BATCH})");
    assert!(sink.count() < RECIPIENTS + BATCH + 1, "not restarted from the top: {} messages in all", sink.count());
}
