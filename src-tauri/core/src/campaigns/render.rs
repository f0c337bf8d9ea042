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
//!
//! The parts, each using only those before it: `identity` (the sender, money), `personal`
//! (the fields and their values), `blocks` (blocks → HTML), `plain` (the text part),
//! `merchant_text` (what the merchant may write); this module puts them together.

use super::blocks::{block_html, esc, Survey, STYLE};
use super::fill::{mark_fields, marker, Context, Pieces};
use super::merchant_text::{merchant_texts, template_error};
use super::plain::block_text;
use super::{Block, MessageContent, Template};
use crate::error::{Error, FieldError, Result};
use crate::i18n;
use crate::types::Lang;
use rusqlite::Connection;

pub use super::blocks::safe_url;
pub use super::identity::{format_money, Identity};
pub use super::merchant_text::{check_merchant_text, cleaned_message, validate_message};
pub use super::personal::{personal, sample_personal, Personal, PERSONAL_FIELDS};
pub use super::plain::markdown_text;

/// The slot of the recipient's unsubscribe address, after the personal fields.
fn unsubscribe_slot() -> usize {
    PERSONAL_FIELDS.len()
}

/// The slot of the message's token (the survey's answer links carry it), after that.
fn token_slot() -> usize {
    PERSONAL_FIELDS.len() + 1
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
                Block::Survey { question } => Block::Survey { question: m("blocks", question, html)? },
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
    let survey = Survey { id, token: marker(token_slot(), Context::Html) };
    let blocks_html: String = msg.blocks.iter().map(|b| block_html(b, id.currency, id.locale, &survey)).collect();
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
    let text_blocks: String =
        msg.blocks.iter().map(|b| block_text(b, id.currency, id.locale, &survey) + "\n").collect();
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

impl Compiled {
    /// The message for one recipient: their values in the slots, escaped for where each stands.
    /// `token`: the message's own (its survey links carry it; the test send's and the preview's
    /// are placeholders no answer is taken from).
    pub fn render(&self, p: &Personal, unsubscribe_url: &str, token: &str) -> Result<Rendered> {
        let mut owned: Vec<String> = PERSONAL_FIELDS.iter().map(|f| p.value(f)).collect();
        owned.push(unsubscribe_url.to_string());
        owned.push(token.to_string());
        let values: Vec<&str> = owned.iter().map(String::as_str).collect();
        // One line, and none of the characters nobody sees (a bidirectional override or a
        // zero-width space pasted with the subject reads as obfuscation to mail filters).
        let filled = self.subject.fill(&values);
        let subject = crate::text::visible(&filled).replace(['\r', '\n'], " ").trim().to_string();
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
    use crate::settings::{Currency, Locale};

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
        let r = c.render(&p, "mailto:a@b.c", "preview").unwrap();
        assert!(!r.html.contains("<script>"), "the name is escaped in HTML: {}", r.html);
        assert!(r.html.contains("&lt;script&gt;"), "the name is shown as text");
        assert!(r.text.contains("<script>alert(1)</script>"), "the text part carries the name as typed");
        assert_eq!(r.subject, "Bonjour <script>alert(1)</script>", "the subject is plain text, not HTML");
    }

    #[test]
    fn a_subject_goes_out_without_the_characters_nobody_sees() {
        let mut m = msg(vec![Block::Text { markdown: "Bonjour".into() }]);
        m.subject = "Soldes\u{202E} d'été\u{200B} pour {{ first_name }}\u{FEFF}".into();
        let r = compile(&m, &identity(), vec![])
            .unwrap()
            .render(&sample_personal(Lang::Fr, "x"), "mailto:a@b.c", "preview")
            .unwrap();
        assert!(
            !r.subject.contains(['\u{202E}', '\u{200B}', '\u{FEFF}']),
            "hidden characters left out: {:?}",
            r.subject
        );
        assert!(r.subject.starts_with("Soldes d'été pour "), "{:?}", r.subject);
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
        let r = c.render(&sample_personal(Lang::Fr, "x"), "mailto:a@b.c", "preview").unwrap();
        assert!(!r.html.contains("<img src=\"x\""), "raw HTML in Markdown is not rendered: {}", r.html);
        assert!(!r.html.contains("<img src=x"), "raw HTML in Markdown is not rendered");
        assert!(!r.html.to_lowercase().contains("javascript:alert"), "javascript: links are dropped");
        assert!(!r.html.contains("tracker.example"), "remote images are not loaded");
    }

    #[test]
    fn styles_are_inlined_and_the_footer_has_identity_address_and_unsubscribe() {
        let c = compile(&msg(vec![Block::Heading { text: "Nouveautés".into() }]), &identity(), vec![]).unwrap();
        let r = c
            .render(
                &sample_personal(Lang::Fr, "x"),
                "mailto:lea@boulangerie.test?subject=unsubscribe%20tok123",
                "preview",
            )
            .unwrap();
        assert!(r.html.contains("<h1 style="), "the heading's style is inlined: {}", r.html);
        assert!(r.html.contains("@media"), "the phone-width rules are kept");
        assert!(r.html.contains("3 rue des Lilas<br>69001 Lyon"), "the postal address is in the footer");
        assert!(r.html.contains("tok123"), "the unsubscribe link carries the recipient's token");
        assert!(r.text.contains("3 rue des Lilas"), "the text part has the postal address too");
        assert!(r.text.contains("unsubscribe%20tok123"), "the text part has the unsubscribe address");
    }

    #[test]
    fn the_survey_block_gives_each_recipient_eleven_links_with_their_own_token() {
        let m = msg(vec![Block::Survey { question: String::new() }]);
        let c = compile(&m, &identity(), vec![]).unwrap();
        let a = c.render(&sample_personal(Lang::Fr, "x"), "mailto:a@b.c", "tokenaaaaaaaaaaaaaaa").unwrap();
        let b = c.render(&sample_personal(Lang::Fr, "x"), "mailto:a@b.c", "tokenbbbbbbbbbbbbbbb").unwrap();
        assert!(a.html.contains("Recommanderiez-vous la boutique"), "an empty question is the standard one");
        for n in 0..=10 {
            let link = format!("subject=Avis%20{n}%2F10%20%5Btokenaaaaaaaaaaaaaaa%5D");
            assert!(a.html.contains(&link) && a.text.contains(&link), "score {n} carries the recipient's token");
        }
        assert!(!b.html.contains("tokenaaaa") && b.html.contains("tokenbbbb"), "each recipient has their own token");
        let twice = msg(vec![Block::Survey { question: "A ?".into() }, Block::Survey { question: "B ?".into() }]);
        assert!(validate_message(&twice).is_err(), "a message asks the question once");
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
