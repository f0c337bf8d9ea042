//! Rendering a message. The merchant's blocks become, once per campaign, an HTML document with
//! styles inlined (css-inline) and a plain-text part, cut into pieces with a slot for each
//! personal field (`fill`). Each recipient's values are put in the slots, escaped for where
//! they stand, so a customer's name holding `<script>` stays text.
//!
//! Invariants: no template language runs, on the merchant's text or on a customer's values —
//! whatever their spelling (Markdown escapes, HTML entities) — so escaping cannot be switched
//! off and rendering is one linear pass. The merchant's own text is inert too: raw HTML in
//! Markdown is shown as text, links other than http(s)/mailto/tel are dropped, remote images are
//! not loaded. The text part is readable text (no Markdown markers). A message's images weigh
//! at most `MAX_IMAGES_BYTES` together.

use super::fill::{mark_fields, marker, Context, Pieces};
use super::mail::MailSettings;
use super::{Block, MessageContent, Template};
use crate::error::{Error, FieldError, Result};
use crate::i18n;
use crate::settings::{Currency, Locale};
use crate::types::{Cents, CustomerId, Lang};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

/// The personal fields a message can use, with sample values for the editor.
/// `points_expiring` and `expiry_date` are filled in automatic messages about expiring points.
pub const PERSONAL_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "full_name",
    "points",
    "tier",
    "voucher_code",
    "voucher_value",
    "shop_name",
    "referral_code",
    "referral_friends",
    "referral_next_milestone",
    "referral_invite",
    "points_expiring",
    "expiry_date",
];

/// One recipient's values.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Personal {
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    pub points: i64,
    pub tier: String,
    pub voucher_code: String,
    pub voucher_value: String,
    pub shop_name: String,
    pub points_expiring: String,
    pub expiry_date: String,
    pub email: String,
    /// The customer's referral code, to pass on to friends.
    pub referral_code: String,
    /// Friends referred (pending, qualified or approved).
    pub referral_friends: i64,
    /// "encore 1 filleul pour le bon de 10,00 €", or empty.
    pub referral_next_milestone: String,
    /// While a referral offer runs, a sentence inviting the customer to pass their code on;
    /// empty otherwise (the welcome message uses it).
    pub referral_invite: String,
}

impl Personal {
    /// Values fixed for one message when it was queued (an automatic message's voucher, the
    /// points expiring and their date, the tier reached), in place of the customer's current
    /// ones. Only known text fields are taken.
    pub fn apply_fields(&mut self, fields: &serde_json::Value) {
        let get = |k: &str| fields.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if let Some(v) = get("voucher_code") {
            self.voucher_code = v;
        }
        if let Some(v) = get("voucher_value") {
            self.voucher_value = v;
        }
        if let Some(v) = get("points_expiring") {
            self.points_expiring = v;
        }
        if let Some(v) = get("expiry_date") {
            self.expiry_date = v;
        }
        if let Some(v) = get("tier") {
            self.tier = v;
        }
    }

    /// The value of a personal field as it is written in a message.
    pub fn value(&self, field: &str) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => match map.get(field) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            },
            _ => String::new(),
        }
    }
}

/// The slot of the recipient's unsubscribe address, after the personal fields.
fn unsubscribe_slot() -> usize {
    PERSONAL_FIELDS.len()
}

/// The images of one message weigh at most this much together (they travel in every message;
/// providers refuse messages over 10–25 MB, and base64 adds a third).
pub const MAX_IMAGES_BYTES: usize = 5 * 1024 * 1024;

/// An image to embed, referenced as `cid:m<id>` in the HTML.
#[derive(Debug, Clone)]
pub struct Image {
    pub id: i64,
    pub mime: String,
    pub bytes: Vec<u8>,
}

impl Image {
    pub fn cid(&self) -> String {
        format!("m{}", self.id)
    }
}

/// A message ready to render for each recipient.
pub struct Compiled {
    subject: Pieces,
    html: Pieces,
    text: Pieces,
    pub images: Vec<Image>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

const STYLE: &str = "
body { margin: 0; padding: 0; background: #f4f1ec; font-family: Helvetica, Arial, sans-serif; color: #222222; }
.wrap { width: 100%; background: #f4f1ec; padding: 24px 0; }
.card { max-width: 600px; margin: 0 auto; background: #ffffff; border-radius: 8px; padding: 24px; }
h1 { font-size: 24px; line-height: 1.25; margin: 0 0 12px 0; color: #1f3d35; }
p, li { font-size: 16px; line-height: 1.5; margin: 0 0 12px 0; }
a { color: #2f5d50; }
.btnrow { margin: 16px 0; text-align: center; }
.btn { display: inline-block; background: #2f5d50; color: #ffffff; text-decoration: none; padding: 12px 22px; border-radius: 6px; font-weight: bold; }
.img { max-width: 100%; height: auto; display: block; border: 0; margin: 0 auto 12px auto; }
.product { border: 1px solid #e5e0d8; border-radius: 6px; padding: 12px; margin: 0 0 12px 0; }
.pname { font-weight: bold; font-size: 17px; margin: 0 0 4px 0; }
.price { font-weight: bold; color: #2f5d50; margin: 0 0 6px 0; }
.footer { max-width: 600px; margin: 16px auto 0 auto; font-size: 12px; line-height: 1.5; color: #666666; text-align: center; }
.footer p { font-size: 12px; margin: 0 0 6px 0; }
.pre { display: none; max-height: 0; overflow: hidden; }
@media (max-width: 480px) { .card { padding: 16px; border-radius: 0; } h1 { font-size: 20px; } }
";

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A link the message may carry: web, mail or phone. Anything else (`javascript:`, `data:`,
/// `file:`) is dropped.
pub fn safe_url(url: &str) -> bool {
    let u = url.trim().to_ascii_lowercase();
    ["https://", "http://", "mailto:", "tel:"].iter().any(|p| u.starts_with(p)) && !u.contains(['<', '>', '"', '\''])
}

/// Markdown to HTML with the merchant's raw HTML shown as text and unsafe links removed.
fn markdown(md: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let events = Parser::new_ext(md, Options::ENABLE_STRIKETHROUGH).map(|e| match e {
        Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let dest_url = if safe_url(&dest_url) { dest_url } else { "".into() };
            Event::Start(Tag::Link { link_type, dest_url, title, id })
        }
        // Remote images would track the reader: only the merchant's embedded images are shown.
        Event::Start(Tag::Image { link_type, title, id, .. }) => {
            Event::Start(Tag::Image { link_type, dest_url: "".into(), title, id })
        }
        e => e,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// Money as the shop writes it.
pub fn format_money(cents: Cents, currency: Currency, locale: Locale) -> String {
    let neg = cents < 0;
    let c = cents.unsigned_abs();
    let (units, rest) = (c / 100, c % 100);
    let mut grouped = String::new();
    let digits = units.to_string();
    let sep = if locale == Locale::En { ',' } else { '\u{202f}' };
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(sep);
        }
        grouped.push(ch);
    }
    let sign = if neg { "-" } else { "" };
    let symbol = match currency {
        Currency::EUR => "€",
        Currency::CAD => "$",
    };
    match locale {
        Locale::En => format!("{sign}{symbol}{grouped}.{rest:02}"),
        _ => format!("{sign}{grouped},{rest:02}\u{a0}{symbol}"),
    }
}

/// The sender's identity and how money is written, for the footer and personal fields.
#[derive(Debug, Clone)]
pub struct Identity {
    pub mail: MailSettings,
    pub currency: Currency,
    pub locale: Locale,
}

impl Identity {
    pub fn reply_address(&self) -> &str {
        if self.mail.reply_to.is_empty() {
            &self.mail.sender_email
        } else {
            &self.mail.reply_to
        }
    }
    /// The per-recipient unsubscribe address (also the `List-Unsubscribe` header).
    pub fn unsubscribe_url(&self, token: &str) -> String {
        format!("mailto:{}?subject=unsubscribe%20{}", self.reply_address(), token)
    }
}

fn block_html(b: &Block, currency: Currency, locale: Locale) -> String {
    match b {
        Block::Heading { text } => format!("<h1>{}</h1>", esc(text)),
        Block::Text { markdown: md } => markdown(md),
        Block::Image { media_id, alt } => {
            format!("<img class=\"img\" src=\"cid:m{media_id}\" alt=\"{}\" width=\"552\">", esc(alt))
        }
        Block::Button { label, url } => {
            let href = if safe_url(url) { esc(url.trim()) } else { String::new() };
            format!("<div class=\"btnrow\"><a class=\"btn\" href=\"{href}\">{}</a></div>", esc(label))
        }
        Block::Product { name, description, price_cents, media_id, url } => {
            let mut s = String::from("<div class=\"product\">");
            if let Some(m) = media_id {
                s += &format!("<img class=\"img\" src=\"cid:m{m}\" alt=\"{}\" width=\"526\">", esc(name));
            }
            s += &format!("<p class=\"pname\">{}</p>", esc(name));
            if let Some(p) = price_cents {
                s += &format!("<p class=\"price\">{}</p>", esc(&format_money(*p, currency, locale)));
            }
            if !description.trim().is_empty() {
                s += &format!("<p>{}</p>", esc(description));
            }
            if safe_url(url) {
                s += &format!("<p><a href=\"{}\">{}</a></p>", esc(url.trim()), esc(url.trim()));
            }
            s + "</div>"
        }
    }
}

fn block_text(b: &Block, currency: Currency, locale: Locale) -> String {
    match b {
        Block::Heading { text } => format!("{}\n", text.trim()),
        Block::Text { markdown } => markdown_text(markdown),
        Block::Image { alt, .. } if !alt.trim().is_empty() => format!("[{}]\n", alt.trim()),
        Block::Image { .. } => String::new(),
        Block::Button { label, url } => format!("{} : {}\n", label.trim(), url.trim()),
        Block::Product { name, description, price_cents, url, .. } => {
            let mut s = name.trim().to_string();
            if let Some(p) = price_cents {
                s += &format!(" — {}", format_money(*p, currency, locale));
            }
            s.push('\n');
            if !description.trim().is_empty() {
                s += &format!("{}\n", description.trim());
            }
            if safe_url(url) {
                s += &format!("{}\n", url.trim());
            }
            s
        }
    }
}

/// Markdown as readable plain text: the words, paragraphs and list items, a link's address in
/// brackets after its words; no `**`, `_` or `#` markers.
pub fn markdown_text(md: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut out = String::new();
    let mut links: Vec<String> = Vec::new();
    let mut lists: Vec<Option<u64>> = Vec::new();
    for e in Parser::new_ext(md, Options::ENABLE_STRIKETHROUGH) {
        match e {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => out.push_str(&t),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::Start(Tag::Item) => {
                let indent = "  ".repeat(lists.len().saturating_sub(1));
                match lists.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{indent}{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str(&format!("{indent}- ")),
                }
            }
            Event::Start(Tag::List(start)) => lists.push(start),
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                if lists.is_empty() {
                    out.push('\n');
                }
            }
            Event::End(TagEnd::Item) => out.push('\n'),
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = links.pop().filter(|u| safe_url(u)) {
                    out.push_str(&format!(" ({url})"));
                }
            }
            Event::End(TagEnd::Paragraph) | Event::End(TagEnd::Heading(_)) => out.push_str("\n\n"),
            Event::Rule => out.push_str("----\n\n"),
            _ => {}
        }
    }
    let trimmed = out.trim_end();
    format!("{trimmed}\n")
}

/// The message with each personal field of the merchant's text replaced by its slot marker
/// (a link's address with link markers), or the first unknown field as an error.
fn mark_message(msg: &MessageContent) -> Result<MessageContent> {
    let m = |field: &'static str, text: &str, ctx: Context| -> Result<String> {
        mark_fields(text, PERSONAL_FIELDS, ctx).map_err(|detail| template_error(field, &detail))
    };
    let html = Context::Html;
    let blocks = msg
        .blocks
        .iter()
        .map(|b| {
            Ok(match b {
                Block::Heading { text } => Block::Heading { text: m("blocks", text, html)? },
                Block::Text { markdown } => Block::Text { markdown: m("blocks", markdown, html)? },
                Block::Image { media_id, alt } => Block::Image { media_id: *media_id, alt: m("blocks", alt, html)? },
                Block::Button { label, url } => {
                    Block::Button { label: m("blocks", label, html)?, url: m("blocks", url, Context::Url)? }
                }
                Block::Product { name, description, price_cents, media_id, url } => Block::Product {
                    name: m("blocks", name, html)?,
                    description: m("blocks", description, html)?,
                    price_cents: *price_cents,
                    media_id: *media_id,
                    url: m("blocks", url, Context::Url)?,
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(MessageContent {
        subject: m("subject", &msg.subject, Context::Text)?,
        preheader: m("preheader", &msg.preheader, html)?,
        blocks,
    })
}

/// The message cut into pieces, ready to render for each recipient.
pub fn compile(msg: &MessageContent, id: &Identity, images: Vec<Image>) -> Result<Compiled> {
    for (field, text) in merchant_texts(msg) {
        check_merchant_text(field, text)?;
    }
    let total: usize = images.iter().map(|i| i.bytes.len()).sum();
    if total > MAX_IMAGES_BYTES {
        return Err(Error::Validation(vec![
            FieldError::new("blocks", "campaign.images_too_big").arg("max", MAX_IMAGES_BYTES / (1024 * 1024))
        ]));
    }
    let msg = mark_message(msg)?;
    let lang = id.mail.language;
    // The identity is text too: no marker in it may pass for a slot.
    let mut m = id.mail.clone();
    m.sender_name = super::fill::strip_markers(&m.sender_name);
    m.postal_address = super::fill::strip_markers(&m.postal_address);
    let m = &m;
    let unsubscribe = marker(unsubscribe_slot(), Context::Html);
    let postal = m.postal_address.lines().map(esc).collect::<Vec<_>>().join("<br>");
    let why = esc(&i18n::tr(lang, "mail.footer.why", &[("shop", m.sender_name.clone())]));
    let unsub = esc(&i18n::tr(lang, "mail.footer.unsubscribe", &[]));
    let unsub_hint = esc(&i18n::tr(lang, "mail.footer.unsubscribe_hint", &[]));
    let blocks_html: String = msg.blocks.iter().map(|b| block_html(b, id.currency, id.locale)).collect();
    let html = format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title><style>{STYLE}</style></head>\
         <body><div class=\"wrap\"><div class=\"pre\">{pre}</div><div class=\"card\">{blocks_html}</div>\
         <div class=\"footer\"><p><strong>{sender}</strong><br>{postal}</p><p>{why}</p>\
         <p>{unsub_hint} <a href=\"{unsubscribe}\">{unsub}</a></p></div></div></body></html>",
        lang = lang.code(),
        title = esc(&msg.subject),
        pre = esc(&msg.preheader),
        sender = esc(&m.sender_name),
    );
    let inliner = css_inline::CSSInliner::options().keep_at_rules(true).build();
    let html = inliner.inline(&html).map_err(|e| {
        tracing::warn!(error = %e, "css inlining failed");
        Error::invalid("content", "campaign.render_failed")
    })?;
    let text_blocks: String = msg.blocks.iter().map(|b| block_text(b, id.currency, id.locale) + "\n").collect();
    let text = format!(
        "{text_blocks}--\n{}\n{}\n{}\n{} {unsubscribe}\n",
        m.sender_name,
        m.postal_address,
        i18n::tr(lang, "mail.footer.why", &[("shop", m.sender_name.clone())]),
        i18n::tr(lang, "mail.footer.unsubscribe_text", &[]),
    );
    Ok(Compiled {
        subject: Pieces::cut(&msg.subject, Context::Text),
        html: Pieces::cut(&html, Context::Html),
        text: Pieces::cut(&text, Context::Text),
        images,
    })
}

fn template_error(field: &'static str, detail: &str) -> Error {
    Error::Validation(vec![FieldError::new(field, "campaign.template_error")
        .arg("detail", detail.chars().take(40).collect::<String>())
        .arg("fields", PERSONAL_FIELDS.join(", "))])
}

impl Compiled {
    /// The message for one recipient: their values in the slots, escaped for where each stands.
    pub fn render(&self, p: &Personal, unsubscribe_url: &str) -> Result<Rendered> {
        let mut owned: Vec<String> = PERSONAL_FIELDS.iter().map(|f| p.value(f)).collect();
        owned.push(unsubscribe_url.to_string());
        let values: Vec<&str> = owned.iter().map(String::as_str).collect();
        let subject = self.subject.fill(&values).replace(['\r', '\n'], " ").trim().to_string();
        Ok(Rendered { subject, html: self.html.fill(&values), text: self.text.fill(&values) })
    }

    /// The HTML with embedded images as `data:` URLs, for the preview.
    pub fn inline_images_for_preview(&self, html: &str) -> String {
        use base64::Engine;
        let mut out = html.to_string();
        for img in &self.images {
            let data =
                format!("data:{};base64,{}", img.mime, base64::engine::general_purpose::STANDARD.encode(&img.bytes));
            out = out.replace(&format!("cid:{}", img.cid()), &data);
        }
        out
    }
}

pub fn sample_personal(lang: Lang, shop: &str) -> Personal {
    let (first, last, tier) = match lang {
        Lang::Fr => ("Camille", "Martin", "Or"),
        Lang::En => ("Sam", "Taylor", "Gold"),
    };
    Personal {
        first_name: first.into(),
        last_name: last.into(),
        full_name: format!("{first} {last}"),
        points: 120,
        tier: tier.into(),
        voucher_code: "K7PX2M9Q".into(),
        voucher_value: "5,00 €".into(),
        shop_name: shop.into(),
        points_expiring: "80".into(),
        expiry_date: match lang {
            Lang::Fr => "31/01/2027".into(),
            Lang::En => "2027-01-31".into(),
        },
        email: "camille@example.com".into(),
        referral_code: crate::referrals::code::format(1234),
        referral_friends: 3,
        referral_next_milestone: crate::i18n::tr(
            lang,
            "referral.next_milestone",
            &[
                ("missing", "1".into()),
                ("reward", if lang == Lang::En { "€10.00 voucher" } else { "bon de 10,00 €" }.into()),
            ],
        ),
        referral_invite: crate::i18n::tr(lang, "referral.invite", &[("code", crate::referrals::code::format(1234))]),
    }
}

/// A customer's personal fields, read now.
pub fn personal(conn: &Connection, id: &Identity, customer: CustomerId, now: DateTime<Utc>) -> Result<Personal> {
    let (first_name, last_name, email): (String, String, Option<String>) = conn
        .prepare_cached("SELECT first_name, last_name, email FROM customers WHERE id = ?1")?
        .query_row([customer], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let (points, tier, voucher) = crate::loyalty::personal_loyalty(conn, customer, now)?;
    let (referral_code, referral_friends, referral_next_milestone, referral_invite) =
        crate::referrals::personal_fields(conn, customer, now)?;
    let (voucher_code, voucher_value) = match voucher {
        Some(v) => {
            let value = match v.kind {
                crate::loyalty::VoucherKind::Amount => format_money(v.value, id.currency, id.locale),
                crate::loyalty::VoucherKind::Percent => {
                    if id.locale == Locale::En {
                        format!("{}%", v.value)
                    } else {
                        format!("{}\u{a0}%", v.value)
                    }
                }
            };
            (v.code, value)
        }
        None => (String::new(), String::new()),
    };
    Ok(Personal {
        full_name: format!("{first_name} {last_name}").trim().to_string(),
        first_name,
        last_name,
        points,
        tier: tier.unwrap_or_default(),
        voucher_code,
        voucher_value,
        shop_name: id.mail.sender_name.clone(),
        points_expiring: String::new(),
        expiry_date: String::new(),
        email: email.unwrap_or_default(),
        referral_code,
        referral_friends,
        referral_next_milestone,
        referral_invite,
    })
}

/// The images a message uses, read from the store.
pub fn images_of(conn: &Connection, msg: &MessageContent) -> Result<Vec<Image>> {
    let mut ids: Vec<i64> = msg
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Image { media_id, .. } => Some(*media_id),
            Block::Product { media_id, .. } => *media_id,
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let row = conn
            .prepare_cached("SELECT mime, bytes FROM media WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)));
        match row {
            Ok((mime, bytes)) => out.push(Image { id, mime, bytes }),
            Err(rusqlite::Error::QueryReturnedNoRows) => {
                return Err(Error::invalid("blocks", "campaign.image_missing"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// The merchant's text may hold personal fields — `{{ first_name }}` and the others of
/// `PERSONAL_FIELDS` — and nothing else of the template language: no statements (`{% … %}`,
/// which could switch escaping off), no comments, no expressions or literals.
pub fn check_merchant_text(field: &'static str, text: &str) -> Result<()> {
    let bad = |detail: &str| {
        Err(Error::Validation(vec![FieldError::new(field, "campaign.template_error")
            .arg("detail", detail.chars().take(40).collect::<String>())
            .arg("fields", PERSONAL_FIELDS.join(", "))]))
    };
    for marker in ["{%", "%}", "{#", "#}"] {
        if text.contains(marker) {
            return bad(marker);
        }
    }
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else { return bad("{{") };
        let inner = after[..j].trim();
        if !PERSONAL_FIELDS.contains(&inner) {
            return bad(inner);
        }
        rest = &after[j + 2..];
    }
    if rest.contains("}}") {
        return bad("}}");
    }
    Ok(())
}

fn merchant_texts(msg: &MessageContent) -> Vec<(&'static str, &str)> {
    let mut out = vec![("subject", msg.subject.as_str()), ("preheader", msg.preheader.as_str())];
    for b in &msg.blocks {
        match b {
            Block::Heading { text } => out.push(("blocks", text)),
            Block::Text { markdown } => out.push(("blocks", markdown)),
            Block::Image { alt, .. } => out.push(("blocks", alt)),
            Block::Button { label, url } => out.extend([("blocks", label.as_str()), ("blocks", url.as_str())]),
            Block::Product { name, description, url, .. } => {
                out.extend([("blocks", name.as_str()), ("blocks", description.as_str()), ("blocks", url.as_str())])
            }
        }
    }
    out
}

/// Check a message the merchant saves: a subject, at least one block, safe links, and
/// templates that render.
pub fn validate_message(msg: &MessageContent) -> Result<()> {
    for (field, text) in merchant_texts(msg) {
        check_merchant_text(field, text)?;
    }
    let mut p = crate::error::Problems::default();
    if msg.subject.trim().is_empty() {
        p.add("subject", "field.required");
    } else if msg.subject.chars().count() > 200 {
        p.push(FieldError::new("subject", "field.too_long").arg("max", 200));
    }
    if msg.preheader.chars().count() > 200 {
        p.push(FieldError::new("preheader", "field.too_long").arg("max", 200));
    }
    if msg.blocks.len() > 100 {
        p.push(FieldError::new("blocks", "field.too_many").arg("max", 100));
    }
    for b in &msg.blocks {
        match b {
            Block::Button { url, label } => {
                if !safe_url(url) {
                    p.add("blocks", "campaign.link_invalid");
                }
                if label.trim().is_empty() {
                    p.add("blocks", "campaign.button_label_required");
                }
            }
            Block::Product { url, name, .. } => {
                if !url.trim().is_empty() && !safe_url(url) {
                    p.add("blocks", "campaign.link_invalid");
                }
                if name.trim().is_empty() {
                    p.add("blocks", "campaign.product_name_required");
                }
            }
            Block::Text { markdown } if markdown.chars().count() > 20_000 => {
                p.push(FieldError::new("blocks", "field.too_long").arg("max", 20_000));
            }
            _ => {}
        }
    }
    p.into_result()
}

/// The default templates (newsletter, offer, event invitation) in a language.
pub fn templates(lang: Lang) -> Vec<Template> {
    let raw = match lang {
        Lang::Fr => include_str!("../../../../assets/templates/fr.json"),
        Lang::En => include_str!("../../../../assets/templates/en.json"),
    };
    serde_json::from_str(raw).expect("the default templates are valid JSON (checked by a test)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaigns::mail::MailSettings;

    pub(crate) fn identity() -> Identity {
        Identity {
            mail: MailSettings {
                sender_name: "Boulangerie Léa".into(),
                sender_email: "lea@boulangerie.test".into(),
                postal_address: "3 rue des Lilas\n69001 Lyon".into(),
                ..MailSettings::default()
            },
            currency: Currency::EUR,
            locale: Locale::FrFr,
        }
    }

    fn msg(blocks: Vec<Block>) -> MessageContent {
        MessageContent { subject: "Bonjour {{ first_name }}".into(), preheader: String::new(), blocks }
    }

    #[test]
    fn a_customer_name_holding_html_stays_text() {
        let c =
            compile(&msg(vec![Block::Text { markdown: "Bonjour **{{ first_name }}** !".into() }]), &identity(), vec![])
                .unwrap();
        let p = Personal { first_name: "<script>alert(1)</script>".into(), ..sample_personal(Lang::Fr, "x") };
        let r = c.render(&p, "mailto:a@b.c").unwrap();
        assert!(!r.html.contains("<script>"), "the name is escaped in HTML: {}", r.html);
        assert!(r.html.contains("&lt;script&gt;"), "the name is shown as text");
        assert!(r.text.contains("<script>alert(1)</script>"), "the text part carries the name as typed");
        assert_eq!(r.subject, "Bonjour <script>alert(1)</script>", "the subject is plain text, not HTML");
    }

    #[test]
    fn the_merchants_raw_html_and_javascript_links_are_inert() {
        let c = compile(
            &msg(vec![
                Block::Text {
                    markdown:
                        "<img src=x onerror=alert(1)> [clic](javascript:alert(1)) ![p](https://tracker.example/p.gif)"
                            .into(),
                },
                Block::Button { label: "Go".into(), url: "javascript:alert(2)".into() },
            ]),
            &identity(),
            vec![],
        )
        .unwrap();
        let r = c.render(&sample_personal(Lang::Fr, "x"), "mailto:a@b.c").unwrap();
        assert!(!r.html.contains("<img src=\"x\""), "raw HTML in Markdown is not rendered: {}", r.html);
        assert!(!r.html.contains("<img src=x"), "raw HTML in Markdown is not rendered");
        assert!(!r.html.to_lowercase().contains("javascript:alert"), "javascript: links are dropped");
        assert!(!r.html.contains("tracker.example"), "remote images are not loaded");
    }

    #[test]
    fn styles_are_inlined_and_the_footer_has_identity_address_and_unsubscribe() {
        let c = compile(&msg(vec![Block::Heading { text: "Nouveautés".into() }]), &identity(), vec![]).unwrap();
        let r = c
            .render(&sample_personal(Lang::Fr, "x"), "mailto:lea@boulangerie.test?subject=unsubscribe%20tok123")
            .unwrap();
        assert!(r.html.contains("<h1 style="), "the heading's style is inlined: {}", r.html);
        assert!(r.html.contains("@media"), "the phone-width rules are kept");
        assert!(r.html.contains("3 rue des Lilas<br>69001 Lyon"), "the postal address is in the footer");
        assert!(r.html.contains("tok123"), "the unsubscribe link carries the recipient's token");
        assert!(r.text.contains("3 rue des Lilas"), "the text part has the postal address too");
        assert!(r.text.contains("unsubscribe%20tok123"), "the text part has the unsubscribe address");
    }

    #[test]
    fn an_unknown_personal_field_is_reported_when_saving() {
        let e = compile(&msg(vec![Block::Text { markdown: "{{ prenom }}".into() }]), &identity(), vec![]);
        assert!(matches!(e, Err(Error::Validation(_))), "an unknown field is refused before sending");
        let e = compile(&msg(vec![Block::Text { markdown: "{{ first_name | safe }}".into() }]), &identity(), vec![]);
        assert!(e.is_err(), "no filter can switch escaping off");
        let e = compile(
            &msg(vec![Block::Text { markdown: "{% autoescape false %}{{ first_name }}{% endautoescape %}".into() }]),
            &identity(),
            vec![],
        );
        assert!(e.is_err(), "no statement can switch escaping off");
        let e =
            compile(&msg(vec![Block::Heading { text: "{{ \"\\u003cscript\\u003e\" }}".into() }]), &identity(), vec![]);
        assert!(e.is_err(), "no literal can be injected: only personal fields");
    }

    #[test]
    fn money_is_written_the_shops_way() {
        assert_eq!(format_money(123456, Currency::EUR, Locale::FrFr), "1\u{202f}234,56\u{a0}€");
        assert_eq!(format_money(500, Currency::CAD, Locale::En), "$5.00");
    }

    #[test]
    fn the_default_templates_exist_in_both_languages_and_compile() {
        for lang in [Lang::Fr, Lang::En] {
            let t = templates(lang);
            let keys: Vec<_> = t.iter().map(|t| t.key.as_str()).collect();
            assert_eq!(keys, ["newsletter", "offer", "event"], "newsletter, offer and event in {lang:?}");
            for tpl in &t {
                validate_message(&tpl.content).unwrap();
                compile(&tpl.content, &identity(), vec![]).unwrap_or_else(|e| panic!("{} compiles: {e:?}", tpl.key));
            }
        }
    }
}
