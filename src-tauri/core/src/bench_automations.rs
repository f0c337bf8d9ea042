//! The bench of automatic messages (see `bench.rs`): one check of every automation
//! (`automations::checker::tick`) with all six turned on, over the whole shop, beside a
//! bare-SQL baseline of the same selection (the birthdays of the coming days, the absent
//! customers, the points expiring within 30 days) on the same file in the same run.

use crate::automations::{checker, AutomationSettings, EnableMode};
use crate::bench::{latency, time_each, BenchResult};
use crate::campaigns::mail::{Delivery, MailSettings};
use crate::storage::Store;
use chrono::{Datelike, Duration};
use rusqlite::{params, Connection};

pub fn run(store: &mut Store, bare: &Connection, n: usize) -> crate::Result<Vec<BenchResult>> {
    // Messages are written to the outbox folder, never sent; every hour is a sending hour so
    // each check does the whole work.
    let mail = MailSettings {
        sender_name: "Boutique".into(),
        sender_email: "shop@example.com".into(),
        postal_address: "1 rue Haute, 69001 Lyon".into(),
        delivery: Delivery::Outbox,
        ..store.mail_settings()?
    };
    store.save_mail_settings(&mail, None)?;
    let rules = AutomationSettings {
        time_zone: "UTC".into(),
        send_from_minute: 0,
        send_until_minute: 1440,
        ..Default::default()
    };
    store.save_automation_settings(&rules, None)?;
    for a in store.automations()? {
        store.enable_automation(a.id, EnableMode::NewOnly, None)?;
    }
    // The first check makes today's occasions; the ones measured find them made, as the
    // app's checks every few minutes do. The first dozen measured also decide the backlog of
    // the automations just turned on (on the 100k shop about 1,750 occasions, at most
    // `MAX_DECIDED_PER_CHECK` a check): they are the slowest, and set the p99.
    checker::tick(store)?;
    let runs: Vec<usize> = (0..n.clamp(5, 50)).collect();
    let product = time_each(&runs, |_| {
        std::hint::black_box(checker::tick(store).expect("tick"));
    });
    let now = store.now();
    let today = now.date_naive();
    let soon = today + Duration::days(8);
    let mut birthdays = bare.prepare(
        "SELECT count(*) FROM customers WHERE birthday_month = ?1 AND birthday_day BETWEEN ?2 AND ?3 AND merged_into IS NULL",
    )?;
    let mut absent = bare.prepare(
        "SELECT count(*) FROM customers WHERE last_purchase_at < ?1 AND last_purchase_at >= ?2 AND archived_at IS NULL AND merged_into IS NULL",
    )?;
    let mut expiring = bare.prepare(
        "SELECT customer_id, sum(points) FROM points_ledger WHERE expires_at > ?1 AND expires_at <= ?2 GROUP BY customer_id",
    )?;
    let baseline = time_each(&runs, |_| {
        let _: i64 = birthdays
            .query_row(
                params![today.month(), today.day(), if soon.month() == today.month() { soon.day() } else { 31 }],
                |r| r.get(0),
            )
            .expect("birthdays");
        let _: i64 = absent
            .query_row(params![now - Duration::days(60), now - Duration::days(120)], |r| r.get(0))
            .expect("absent");
        let rows =
            expiring.query_map(params![now, now + Duration::days(30)], |r| r.get::<_, i64>(1)).expect("expiring");
        std::hint::black_box(rows.count());
    });
    // Where a check spends its time: each automation's detection alone (stderr, for reading).
    let rules = store.automation_settings()?;
    for a in store.automations()? {
        let span = crate::automations::detect::Span { from: now, to: now, backlog: false };
        let t = std::time::Instant::now();
        let mut found = 0;
        for _ in 0..5 {
            found = crate::automations::detect::candidates(
                store.conn(),
                a.kind,
                &a.config,
                &rules.time_zone,
                span,
                Some(a.id),
                a.enabled_at,
            )?
            .len();
        }
        eprintln!("  detect {:?}: {:.1} ms, {found} new", a.kind, t.elapsed().as_secs_f64() * 1000.0 / 5.0);
    }
    Ok(vec![latency("automations_tick", product, baseline)])
}
