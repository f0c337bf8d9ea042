//! A year of a shop on a simulated clock, for several seeds: random sales and refunds, birthdays
//! (29 February among them), the app closed for an hour to three weeks and restarted (the
//! database reopened), the merchant answering the catch-up decision either way. After each
//! year: no occasion is sent twice, every birthday whose message came due while the app could
//! see it is accounted for (sent, or not sent with a reason), every not-sent occasion has its
//! reason, and the pressure limits always held.

use super::tests::{customer, mail, of_kind};
use super::*;
use crate::campaigns::engine::{Engine, EngineOptions};
use crate::campaigns::sink::Sink;
use crate::campaigns::smtp::SmtpPool;
use crate::clock::{Clock, FixedClock};
use crate::storage::Store;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

const CUSTOMERS: usize = 24;

fn engine() -> Engine {
    Engine::new(EngineOptions {
        precheck: Some(checker::precheck),
        backoff_base: Duration::milliseconds(1),
        max_attempts: 3,
        pause_after_errors: 10,
        batch: 16,
    })
}

fn send_all(s: &mut Store, sink: &Sink) {
    let transport = SmtpPool::new(&s.mail_settings().unwrap().smtp, None, Default::default()).unwrap();
    let limits = s.mail_settings().unwrap().smtp.limits;
    let _ = sink;
    for a in s.automations().unwrap() {
        if a.enabled {
            engine().run_campaign(s, a.campaign_id, &transport, &limits).unwrap();
        }
    }
}

fn simulate(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let start = Utc.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap();
    let clock = Arc::new(FixedClock::new(start));
    let mut s = Store::open_with_clock(&path, clock.clone()).unwrap();
    let sink = Sink::start(true, 4).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    let rules = AutomationSettings { time_zone: "Europe/Paris".into(), ..AutomationSettings::default() };
    s.save_automation_settings(&rules, None).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ids = Vec::new();
    let mut birthdays: Vec<(i64, u32, u32)> = Vec::new();
    for i in 0..CUSTOMERS {
        let (day, month) = if i == 0 { (29, 2) } else { (rng.random_range(1..=28u8), rng.random_range(1..=12u8)) };
        let id = customer(&mut s, &format!("Client{i}"), &format!("c{i}@example.com"), Some((day, month)));
        ids.push(id);
        birthdays.push((id, u32::from(month), u32::from(day)));
    }
    for kind in [AutomationKind::Birthday, AutomationKind::Thanks, AutomationKind::Winback, AutomationKind::Welcome] {
        let a = of_kind(&mut s, kind);
        s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    }
    let birthday = of_kind(&mut s, AutomationKind::Birthday);
    // The instants the app checked, to know which birthdays it could see.
    let mut checks: Vec<DateTime<Utc>> = Vec::new();
    let mut sales: Vec<i64> = Vec::new();
    let end = start + Duration::days(365);
    let mut key = 0u64;
    while clock.now() < end {
        // Open for a while: a check every few hours, sales, now and then a refund.
        let open_for = Duration::hours(rng.random_range(6..=72));
        let until = (clock.now() + open_for).min(end);
        while clock.now() < until {
            for _ in 0..rng.random_range(0..3) {
                let c = ids[rng.random_range(0..ids.len())];
                sales.push(crate::testutil::sale(&mut s, c, rng.random_range(300..5000)));
            }
            if !sales.is_empty() && rng.random_bool(0.1) {
                let sale = sales[rng.random_range(0..sales.len())];
                key += 1;
                let _ = s.refund(
                    &crate::purchases::RefundInput { sale_id: sale, amount_cents: None, note: String::new() },
                    Some(&format!("sim-refund-{seed}-{key}")),
                );
            }
            checker::tick(&mut s).unwrap();
            checks.push(clock.now());
            for d in s.automation_decisions().unwrap() {
                key += 1;
                s.decide_automation(d.automation_id, rng.random_bool(0.5), Some(&format!("sim-decide-{seed}-{key}")))
                    .unwrap();
            }
            send_all(&mut s, &sink);
            clock.advance(Duration::minutes(rng.random_range(60..=300)));
        }
        // Closed: an hour, a night, a weekend or a holiday; restarted on a new connection.
        let closed = match rng.random_range(0..10) {
            0..=5 => Duration::hours(rng.random_range(1..=14)),
            6..=8 => Duration::days(rng.random_range(1..=4)),
            _ => Duration::days(rng.random_range(7..=21)),
        };
        drop(s);
        clock.advance(closed);
        s = Store::open_with_clock(&path, clock.clone()).unwrap();
    }
    checker::tick(&mut s).unwrap();
    send_all(&mut s, &sink);
    checker::tick(&mut s).unwrap();

    // Never twice: one sent outbox row per occasion, and the server got no more than that.
    let twice: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM (SELECT 1 FROM campaign_recipients WHERE state = 'sent'
             GROUP BY campaign_id, customer_id, occasion HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(twice, 0, "seed {seed}: an occasion was sent twice");
    let sent_rows: i64 =
        s.conn().query_row("SELECT count(*) FROM campaign_recipients WHERE state = 'sent'", [], |r| r.get(0)).unwrap();
    assert_eq!(
        sink.count() as i64,
        sent_rows,
        "seed {seed}: the server received exactly the messages recorded as sent"
    );
    assert!(sent_rows > 20, "seed {seed}: the year sent messages ({sent_rows})");

    // Every occasion not sent says why.
    let silent: Vec<(String, String)> = s
        .conn()
        .prepare(
            "SELECT occasion_key, state FROM automation_occasions
             WHERE state IN ('skipped', 'expired', 'failed', 'postponed') AND (reason IS NULL OR reason = '')",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(silent.is_empty(), "seed {seed}: occasions without a reason: {silent:?}");
    // Every change of state is in the journal.
    let unjournaled: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM automation_occasions o WHERE NOT EXISTS
             (SELECT 1 FROM automation_journal j WHERE j.occasion_id = o.id AND j.state = o.state)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unjournaled, 0, "seed {seed}: an occasion's state is missing from its journal");

    // No birthday lost: each one whose message came due while the app could still see it (a
    // check after it came due, within the look-back) is accounted for.
    let tz = chrono_tz::Europe::Paris;
    let enabled_from = calendar::day_start(tz, calendar::local_date(tz, start));
    let mut accounted = 0;
    for (id, month, day) in &birthdays {
        for year in [2027, 2028] {
            let Some(date) = rules::birthday_in(year, *month, *day, Feb29::Feb28) else { continue };
            let w = rules::birthday_window(tz, date, 3);
            if w.due < enabled_from || w.due >= end {
                continue;
            }
            let seen = checks.iter().any(|t| *t >= w.due && *t - w.due <= Duration::days(55));
            if !seen {
                continue;
            }
            let key = format!("birthday:{year}");
            let found: Option<String> = s
                .conn()
                .query_row(
                    "SELECT state FROM automation_occasions WHERE automation_id = ?1 AND customer_id = ?2 AND occasion_key = ?3",
                    rusqlite::params![birthday.id, id, key],
                    |r| r.get(0),
                )
                .ok();
            assert!(found.is_some(), "seed {seed}: the birthday {date} of customer {id} was lost");
            accounted += 1;
        }
    }

    assert!(accounted >= CUSTOMERS / 2, "seed {seed}: the year saw birthdays ({accounted})");
    let decided: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM automation_journal WHERE reason IN ('merchant_send', 'merchant_ignored')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(decided > 0, "seed {seed}: the year had long closures and catch-up decisions");

    // The pressure limits held: at most one message per customer every 3 days, 4 per 30 days.
    for id in &ids {
        let mut times: Vec<DateTime<Utc>> = s
            .conn()
            .prepare(
                "SELECT decided_at FROM automation_occasions WHERE customer_id = ?1
                 AND state IN ('queued', 'sent', 'held_out') ORDER BY decided_at",
            )
            .unwrap()
            .query_map([id], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        times.sort();
        for w in times.windows(2) {
            assert!(
                w[1] - w[0] >= Duration::days(3),
                "seed {seed}: customer {id} got two messages within 3 days: {w:?}"
            );
        }
        for (i, t) in times.iter().enumerate() {
            let in_month = times[i..].iter().take_while(|u| **u - *t < Duration::days(30)).count();
            assert!(in_month <= 4, "seed {seed}: customer {id} got {in_month} messages within 30 days");
        }
    }
}

#[test]
fn a_simulated_year_of_closures_and_restarts_never_doubles_never_loses_and_keeps_the_limits() {
    for seed in [1, 2] {
        simulate(seed);
    }
}

#[test]
fn a_large_catch_up_is_decided_a_bounded_number_at_a_time_and_reaches_every_customer_once() {
    let (mut s, clock) = crate::testutil::store();
    let sink = Sink::start(true, 1).unwrap();
    s.save_mail_settings(&mail(&sink), None).unwrap();
    super::tests::paris(&mut s);
    let a = of_kind(&mut s, AutomationKind::Birthday);
    // Half held out as a control group: those count toward a check's budget too.
    let mut input = AutomationInput {
        config: a.config.clone(),
        message_fr: a.message_fr.clone(),
        message_en: a.message_en.clone(),
    };
    input.config.holdout_percent = 50;
    s.save_automation(a.id, &input, None).unwrap();
    s.enable_automation(a.id, EnableMode::NewOnly, None).unwrap();
    let cap = checker::MAX_DECIDED_PER_CHECK;
    let n = 2 * cap + 7;
    for i in 0..n {
        customer(&mut s, "Client", &format!("client-{i}@example.com"), Some((26, 11)));
    }
    let (mut decided, mut full_checks) = (0, 0);
    for _ in 0..40 {
        let r = checker::tick(&mut s).unwrap();
        let d = r.queued + r.held_out + r.skipped;
        // Decided customer by customer: the last one's other occasions may follow it.
        assert!(d < cap + 6, "one check decides at most {cap} occasions (and the rest of one customer's), not {d}");
        decided += d;
        assert_eq!(r.more, d >= cap, "a check that used its budget says more is due (the clock checks again soon)");
        if r.more {
            full_checks += 1; // more is waiting: the next check goes on at once
        } else {
            clock.advance(Duration::hours(12));
        }
        if decided >= n {
            break;
        }
    }
    assert!(full_checks >= 2, "the {n} birthdays came due together and took several checks ({full_checks} full)");
    assert_eq!(decided, n, "every birthday is decided once the catch-up is done");
    let held: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM automation_occasions WHERE state = 'held_out'", [], |r| r.get(0))
        .unwrap();
    assert!(held > (n / 4) as i64, "the control group took its share ({held} of {n}), and counted in each check");
    let (rows, people): (i64, i64) = s
        .conn()
        .query_row(
            "SELECT count(*), count(DISTINCT customer_id) FROM campaign_recipients WHERE campaign_id = ?1",
            [a.campaign_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, people), (n as i64, n as i64), "each customer is in the outbox once (queued or held out)");
}
