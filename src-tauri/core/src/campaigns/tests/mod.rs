//! Campaigns on a real database, sent to a real SMTP server on loopback: shared helpers.
//! `delivery`: who receives what; `faults`: what the sender does when the server or the
//! provider misbehaves; `deliverability`: what stops a campaign before it leaves.

mod deliverability;
mod delivery;
mod faults;
mod refusals;
mod safety;
mod suppression;

pub(super) use super::engine::{Engine, EngineOptions};
pub(super) use super::mail::{Delivery, MailSettings, SendLimits, SmtpPreset, SmtpSettings, TlsMode};
pub(super) use super::segments::{Combine, Condition, SegmentFilter};
pub(super) use super::sink::Sink;
pub(super) use super::smtp::{EmlOutbox, SmtpPool};
pub(super) use super::*;
pub(super) use crate::customers::{ConsentChoice, ConsentInput, ConsentSource, CustomerInput, NewCustomer};
pub(super) use crate::testutil;
pub(super) use crate::types::Country;
pub(super) use chrono::Duration;

pub(super) fn mail(sink: Option<&Sink>) -> MailSettings {
    MailSettings {
        sender_name: "Boulangerie Léa".into(),
        sender_email: "lea@boulangerie.test".into(),
        reply_to: String::new(),
        postal_address: "3 rue des Lilas, 69001 Lyon".into(),
        language: crate::types::Lang::Fr,
        delivery: if sink.is_some() { Delivery::Smtp } else { Delivery::Outbox },
        smtp: SmtpSettings {
            preset: SmtpPreset::Custom,
            host: "127.0.0.1".into(),
            port: sink.map(|s| s.addr.port()).unwrap_or(25),
            tls: TlsMode::None,
            username: String::new(),
            limits: SendLimits { per_second: 0, per_minute: 0, per_day: 0, connections: 4 },
        },
    }
}

pub(super) fn customer(
    s: &mut crate::Store,
    first: &str,
    email: &str,
    country: Country,
    consent: Option<ConsentChoice>,
) -> i64 {
    let mut c = CustomerInput {
        first_name: first.into(),
        last_name: "Client".into(),
        email: email.into(),
        ..Default::default()
    };
    c.address.country = Some(country);
    s.create_customer(
        &NewCustomer {
            customer: c,
            consent: consent.map(|choice| ConsentInput {
                choice,
                source: ConsentSource::Counter,
                wording: "Oui".into(),
            }),
            note: String::new(),
        },
        None,
    )
    .unwrap()
    .value
}

pub(super) fn input(filter: SegmentFilter, control: u8) -> CampaignInput {
    CampaignInput {
        name: "Novembre".into(),
        content: CampaignContent {
            a: MessageContent {
                subject: "Bonjour {{ first_name }}".into(),
                preheader: "Les nouvelles".into(),
                blocks: vec![
                    Block::Heading { text: "Nouveautés".into() },
                    Block::Text { markdown: "Vous avez **{{ points }}** points, {{ first_name }}.".into() },
                ],
            },
            b: None,
        },
        audience: Audience { filter, control_percent: control, ab: None, results_days: 14 },
    }
}

pub(super) fn fast() -> EngineOptions {
    EngineOptions {
        precheck: None,
        backoff_base: Duration::milliseconds(1),
        max_attempts: 3,
        pause_after_errors: 10,
        batch: 8,
    }
}

pub(super) fn body_of(r: &sink::Received) -> String {
    String::from_utf8_lossy(&r.data).into_owned()
}
