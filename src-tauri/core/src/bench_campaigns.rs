//! The campaign benches of `comptoir-bench` (see `bench.rs`): a newsletter's messages rendered
//! (personal fields, template, MIME) beside plain string formatting, and the engine's send to an
//! SMTP sink on loopback beside bare lettre with the same pool and threads.

use crate::bench::{BenchResult, Throughput};
use crate::storage::Store;
use crate::text::fold;
use rusqlite::params;
use std::time::Instant;

/// The tag of this run's bench customers: a shop kept with `--shop` is benched again, and the
/// customers an earlier run added must not join this run's campaign (their addresses, the
/// same, were sent to once already).
pub(crate) fn run_tag() -> String {
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    format!("bench-mail-{at}-{}", std::process::id())
}

/// Customers tagged `tag` for the campaign benches, who agreed to receive news, and a
/// newsletter for them. Written with bare SQL: this is set-up, not what is measured.
pub(crate) fn setup(store: &mut Store, recipients: usize, tag: &str) -> crate::Result<i64> {
    use crate::campaigns::mail::{Delivery, MailSettings};
    use crate::campaigns::segments::{Combine, Condition, SegmentFilter};
    use crate::campaigns::*;
    store.transact("bench_campaign_setup", None, |tx| {
        let mut c = tx.prepare(
            "INSERT INTO customers (first_name, last_name, first_fold, last_fold, email, email_norm, created_at, updated_at)
             VALUES (?1, 'Bench', ?2, 'bench', ?3, ?3, ?4, ?4)",
        )?;
        let mut k = tx.prepare(
            "INSERT INTO consents (customer_id, channel, granted, basis, source, wording, recorded_at) VALUES (?1, 'email', 1, 'express', 'counter', 'Oui', ?2)",
        )?;
        let mut t = tx.prepare("INSERT INTO customer_tags (customer_id, tag, tag_fold) VALUES (?1, ?2, ?2)")?;
        for i in 0..recipients {
            let first = format!("Élodie{i}");
            c.execute(params![first, fold(&first), format!("{tag}-{i}@example.com"), tx.now])?;
            let id = tx.last_insert_rowid();
            k.execute(params![id, tx.now])?;
            t.execute(params![id, tag])?;
        }
        Ok(())
    })?;
    store.save_mail_settings(
        &MailSettings {
            sender_name: "Boutique du banc".into(),
            sender_email: "shop@example.com".into(),
            postal_address: "1 rue du Banc, 69001 Lyon".into(),
            delivery: Delivery::Outbox,
            ..MailSettings::default()
        },
        None,
    )?;
    let input = CampaignInput {
        name: "Bench".into(),
        content: CampaignContent {
            a: crate::campaigns::render::templates(crate::types::Lang::Fr).remove(0).content,
            b: None,
        },
        audience: Audience {
            filter: SegmentFilter { combine: Combine::All, conditions: vec![Condition::HasTag { tag: tag.into() }] },
            control_percent: 0,
            ab: None,
            results_days: 14,
        },
    };
    Ok(store.create_campaign(&input, None)?.value.id)
}

/// Messages rendered per second: personal fields read, template filled (auto-escaped), the
/// MIME message built and formatted. Baseline: the same message built with the text already
/// personalised by plain string formatting (no store, no template engine).
pub(crate) fn render(store: &mut Store, campaign: i64, recipients: usize, tag: &str) -> crate::Result<BenchResult> {
    use crate::campaigns::{message, render};
    let id = store.mail_identity()?;
    let c = store.campaign(campaign)?;
    let compiled = render::compile(&c.content.a, &id, Vec::new())?;
    let customers: Vec<i64> = store
        .conn()
        .prepare("SELECT customer_id FROM customer_tags WHERE tag_fold = ?1 ORDER BY customer_id")?
        .query_map([tag], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let now = store.now();
    let t = Instant::now();
    for cust in customers.iter().take(recipients) {
        let p = render::personal(store.conn(), &id, *cust, now)?;
        let r = compiled.render(&p, &id.unsubscribe_url("abcdefghijkmnpqrstuvw"), "abcdefghijkmnpqrstuvw")?;
        let m = message::build_message(
            &id,
            &compiled,
            &r,
            &p.full_name,
            &p.email,
            "abcdefghijkmnpqrstuvw",
            "<x@example.com>",
        )
        .expect("message");
        std::hint::black_box(m.formatted());
    }
    let product = recipients as f64 / t.elapsed().as_secs_f64();
    let sample =
        compiled.render(&render::sample_personal(crate::types::Lang::Fr, "x"), "mailto:x@example.com", "preview")?;
    let t = Instant::now();
    for i in 0..recipients {
        let r = render::Rendered {
            subject: format!("Les nouvelles de Élodie{i}"),
            html: sample.html.replace("Camille", &format!("Élodie{i}")),
            text: sample.text.clone(),
        };
        let m =
            message::build_message(&id, &compiled, &r, "", &format!("bench{i}@example.com"), "t", "<x@example.com>")
                .expect("message");
        std::hint::black_box(m.formatted());
    }
    let baseline = recipients as f64 / t.elapsed().as_secs_f64();
    Ok(BenchResult::Throughput(Throughput {
        bench: "campaign_render".into(),
        n: recipients,
        unit: "messages/s",
        value: product,
        baseline_value: baseline,
    }))
}

#[cfg(any(test, feature = "sink"))]
/// A whole campaign sent to an SMTP sink on loopback by the product's engine (outbox rows
/// committed before and after each batch, consent re-checked, rendering, a pool of 16
/// connections). Baseline: bare lettre sending one pre-built message as many times, with the
/// same pool and threads, to the same sink.
pub(crate) fn send(store: &mut Store, campaign: i64, recipients: usize) -> crate::Result<BenchResult> {
    use crate::campaigns::engine::{Engine, EngineOptions};
    use crate::campaigns::mail::{SendLimits, SmtpPreset, SmtpSettings, TlsMode};
    use crate::campaigns::sink::Sink;
    use crate::campaigns::smtp::{Outgoing, SmtpPool, Transport};
    const CONNECTIONS: u32 = 16;
    let sink = Sink::start(false, CONNECTIONS * 2)?;
    let smtp = SmtpSettings {
        preset: SmtpPreset::Custom,
        host: "127.0.0.1".into(),
        port: sink.addr.port(),
        tls: TlsMode::None,
        username: String::new(),
        limits: SendLimits { per_second: 0, per_minute: 0, per_day: 0, connections: CONNECTIONS },
    };
    let pool = SmtpPool::new(&smtp, None, Default::default())
        .map_err(|f| crate::Error::Io(std::io::Error::other(f.detail)))?;
    store.start_campaign(campaign, None)?;
    let t = Instant::now();
    Engine::new(EngineOptions { batch: 64, ..EngineOptions::default() }).run_campaign(
        store,
        campaign,
        &pool,
        &smtp.limits,
    )?;
    let product = recipients as f64 / t.elapsed().as_secs_f64();
    let sent = store.campaign(campaign)?.progress.sent;
    assert_eq!(sent as usize, recipients, "the bench campaign reached everyone");

    let m = lettre::Message::builder()
        .from("shop@example.com".parse().expect("address"))
        .to("bench@example.com".parse().expect("address"))
        .subject("Les nouvelles")
        .multipart(lettre::message::MultiPart::alternative_plain_html(
            "Bonjour".to_string(),
            "<p>Bonjour</p>".to_string(),
        ))
        .expect("message");
    let out = Outgoing { envelope: m.envelope().clone(), bytes: m.formatted(), file_stem: String::new() };
    let bare = SmtpPool::new(&smtp, None, Default::default())
        .map_err(|f| crate::Error::Io(std::io::Error::other(f.detail)))?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..CONNECTIONS {
            s.spawn(|| {
                while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < recipients {
                    bare.send(&out).expect("bare send");
                }
            });
        }
    });
    let baseline = recipients as f64 / t.elapsed().as_secs_f64();
    Ok(BenchResult::Throughput(Throughput {
        bench: "campaign_send_local_sink".into(),
        n: recipients,
        unit: "messages/s",
        value: product,
        baseline_value: baseline,
    }))
}
