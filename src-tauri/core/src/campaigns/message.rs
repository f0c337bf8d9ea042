//! One email as it leaves: headers (From, To, Reply-To, Message-ID, Date, List-Unsubscribe),
//! a text part and an HTML part with its inline images; and the test send to the merchant,
//! which builds the same message with a customer's data or sample values.

use super::render::{self, Compiled, Identity};
use super::smtp::{Outgoing, Transport};
use super::{CampaignId, TestSend, Variant};
use crate::error::{Error, Result};
use crate::storage::Store;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use rusqlite::params;

#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Build the message for one recipient.
pub fn build_message(
    id: &Identity,
    compiled: &Compiled,
    r: &render::Rendered,
    to_name: &str,
    to_email: &str,
    token: &str,
    message_id: &str,
) -> std::result::Result<lettre::Message, String> {
    let m = &id.mail;
    let from = Mailbox::new(Some(m.sender_name.clone()), m.sender_email.parse().map_err(|e| format!("{e}"))?);
    let to_addr = to_email.parse().map_err(|e| format!("{e}"))?;
    let to = Mailbox::new((!to_name.trim().is_empty()).then(|| to_name.trim().to_string()), to_addr);
    let mut b = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(r.subject.clone())
        .message_id(Some(message_id.to_string()))
        .date_now()
        .header(ListUnsubscribe(format!("<{}>", id.unsubscribe_url(token))));
    if !m.reply_to.is_empty() {
        b = b.reply_to(Mailbox::new(None, m.reply_to.parse().map_err(|e| format!("{e}"))?));
    }
    let html_part = SinglePart::html(r.html.clone());
    let body = if compiled.images.is_empty() {
        MultiPart::alternative().singlepart(SinglePart::plain(r.text.clone())).singlepart(html_part)
    } else {
        let mut related = MultiPart::related().singlepart(html_part);
        for img in &compiled.images {
            let ct = ContentType::parse(&img.mime).map_err(|e| format!("{e}"))?;
            related = related.singlepart(Attachment::new_inline(img.cid()).body(img.bytes.clone(), ct));
        }
        MultiPart::alternative().singlepart(SinglePart::plain(r.text.clone())).multipart(related)
    };
    b.multipart(body).map_err(|e| format!("{e}"))
}

/// Send one test message of a campaign (variant A or B) to the merchant, with a customer's
/// data or sample values. Recorded with the campaign; it does not touch the outbox.
pub fn send_test(
    store: &mut Store,
    transport: &dyn Transport,
    cid: CampaignId,
    variant: Variant,
    to: &str,
    customer: Option<i64>,
) -> Result<TestSend> {
    let to = to.trim();
    if !super::mail::valid_email(to) {
        return Err(Error::invalid("email", "field.email_invalid"));
    }
    // The suppression list holds for tests too (an unsubscribed or bouncing address).
    if super::suppression::is_suppressed(store.conn(), to)?.is_some() {
        return Err(Error::conflict("conflict.address_suppressed"));
    }
    let identity = store.mail_identity()?;
    super::mail::validate(&identity.mail).map_err(|_| Error::conflict("conflict.mail_settings_incomplete"))?;
    let c = store.campaign(cid)?;
    let msg = match (variant, &c.content.b) {
        (Variant::B, Some(b)) => b.clone(),
        _ => c.content.a.clone(),
    };
    let compiled = render::compile(&msg, &identity, render::images_of(store.conn(), &msg)?)?;
    let personal = match customer {
        Some(id) => render::personal(store.conn(), &identity, id, store.now())?,
        None => render::sample_personal(identity.mail.language, &identity.mail.sender_name),
    };
    let mut r = compiled.render(&personal, &identity.unsubscribe_url("test"), "test")?;
    r.subject = format!("[TEST] {}", r.subject);
    let token = super::store::new_token();
    let mid = format!("<test.{}@{}>", token, super::mail::domain_of(&identity.mail.sender_email));
    let m = build_message(&identity, &compiled, &r, "", to, "test", &mid)
        .map_err(|_| Error::invalid("email", "field.email_invalid"))?;
    let out =
        Outgoing { envelope: m.envelope().clone(), bytes: m.formatted(), file_stem: format!("test-{cid}-{token}") };
    let outcome = match transport.send(&out) {
        Ok(super::smtp::Delivered::Smtp) => "sent".to_string(),
        Ok(super::smtp::Delivered::Outbox) => "outbox".to_string(),
        Err(f) => f.detail.chars().take(300).collect(),
    };
    let rec = store.transact("campaign_test_send", None, |tx| {
        tx.execute(
            "INSERT INTO campaign_tests (campaign_id, email, at, outcome, message_id) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![cid, to, tx.now, outcome, mid],
        )?;
        Ok(TestSend { email: to.to_string(), at: tx.now, outcome: outcome.clone() })
    })?;
    Ok(rec.value)
}
