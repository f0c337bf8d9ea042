//! The mailbox bench (`mailbox_record`, run by `comptoir-bench`): one bounce report read as
//! the reader reads it — parsed and classified (mail-parser), matched to its outbox row by the
//! Message-ID it carries, the address suppressed and the message logged with its raw report,
//! in one durable transaction. Baseline, same file, same run: the same report parsed by bare
//! mail-parser and one row inserted in its own `BEGIN IMMEDIATE … COMMIT`.

use super::classify::classify;
use super::record::{record_message, Origin};
use crate::bench::{latency, time_each, BenchResult};
use crate::storage::Store;
use rusqlite::{params, Connection};

const REPORT: &str = include_str!("tests/fixtures/postfix_hard.eml");

/// `n` sent messages to existing customers (bare SQL set-up, not measured), and one bounce
/// report for each.
fn setup(store: &mut Store, n: usize) -> crate::Result<Vec<(String, Vec<u8>)>> {
    let out = store.transact("bench_mailbox_setup", None, |tx| {
        tx.execute(
            "INSERT INTO campaigns (name, content, audience, state, created_at, updated_at) VALUES ('Bench retours', '{}', '{}', 'finished', ?1, ?1)",
            [tx.now],
        )?;
        let campaign = tx.last_insert_rowid();
        let people: Vec<(i64, String)> = tx
            .prepare("SELECT id, email_norm FROM customers WHERE email_norm IS NOT NULL AND merged_into IS NULL ORDER BY id DESC LIMIT ?1")?
            .query_map([n as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut reports = Vec::new();
        for (i, (customer, email)) in people.iter().enumerate() {
            // Unique across runs: a shop kept with `--shop` is benched again.
            let token = format!("b{campaign:06}{i:013}");
            let mid = format!("<c{campaign}.{token}@example.com>");
            tx.execute(
                "INSERT INTO campaign_recipients (campaign_id, customer_id, email, email_norm, grp, variant, state, token, message_id, sent_at)
                 VALUES (?1, ?2, ?3, ?3, 'main', 'a', 'sent', ?4, ?5, ?6)",
                params![campaign, customer, email, token, mid, tx.now],
            )?;
            let raw = REPORT
                .replace("%MID%", &mid)
                .replace("%RCPT%", email)
                .replace("%SHOP%", "shop@example.com")
                .replace("%UNIQ%", &format!("{campaign}.{i}"))
                .replace('\n', "\r\n");
            reports.push((format!("imap:bench/INBOX/{campaign}/{i}"), raw.into_bytes()));
        }
        Ok(reports)
    })?;
    Ok(out.value)
}

pub(crate) fn mailbox_record(store: &mut Store, n: usize) -> crate::Result<BenchResult> {
    let reports = setup(store, n)?;
    let own = vec!["shop@example.com".to_string()];
    let product = time_each(&reports, |(origin, raw)| {
        let c = classify(raw, &own);
        let o = Origin {
            key: origin.clone(),
            source: "imap",
            account: "bench".into(),
            folder: Some("INBOX".into()),
            uid: Some(1),
        };
        store
            .transact("mailbox_message", None, |tx| Ok(record_message(tx, &o, raw, &c, false)?.is_some()))
            .expect("recorded");
    });
    let path = store.path().expect("the bench runs on a file").to_path_buf();
    let bare = Connection::open(&path)?;
    bare.pragma_update(None, "synchronous", "FULL")?;
    bare.pragma_update(None, "busy_timeout", 5000)?;
    bare.execute_batch("CREATE TEMP TABLE bench_bounces (origin TEXT, message_id TEXT, raw BLOB)")?;
    let baseline = time_each(&reports, |(origin, raw)| {
        let m = mail_parser::MessageParser::default().parse(raw).expect("parsed");
        bare.execute_batch("BEGIN IMMEDIATE").expect("begin");
        bare.execute(
            "INSERT INTO bench_bounces (origin, message_id, raw) VALUES (?1, ?2, ?3)",
            params![origin, m.message_id(), raw],
        )
        .expect("insert");
        bare.execute_batch("COMMIT").expect("commit");
    });
    Ok(latency("mailbox_record", product, baseline))
}
