//! The merchant's blocks as HTML: headings, Markdown text, images, buttons and products, and
//! the stylesheet their classes use (inlined later by `render::compile`).
//!
//! Invariants: every text of the merchant's is escaped (`esc`), raw HTML in Markdown is shown
//! as text, a link other than http(s)/mailto/tel is dropped (`safe_url`), remote images are not
//! loaded (only the message's own images, as `cid:` references).

use super::identity::{format_money, Identity};
use super::Block;
use crate::i18n;
use crate::settings::{Currency, Locale};

/// What the satisfaction question needs beyond its block: the shop's reply address and language,
/// and the marker where each recipient's token goes.
pub(super) struct Survey<'a> {
    pub id: &'a Identity,
    pub token: char,
}

impl Survey<'_> {
    /// The merchant's question, or the standard one.
    pub fn question(&self, text: &str) -> String {
        let q = text.trim();
        if q.is_empty() {
            i18n::tr(self.id.mail.language, "mail.nps.question", &[])
        } else {
            q.to_string()
        }
    }

    pub fn help(&self) -> String {
        i18n::tr(self.id.mail.language, "mail.nps.help", &[])
    }

    /// The eleven answer links, 0 to 10, the token's marker in each (`nps::rules`).
    pub fn links(&self) -> Vec<(u8, String)> {
        let word = i18n::tr(self.id.mail.language, "mail.nps.word", &[]);
        crate::nps::rules::email_links(self.id.reply_address(), &word, &self.token.to_string())
    }

    /// A link of the text part: "8 : mailto:…" in French, "8: mailto:…" in English.
    pub fn text_line(&self, n: u8, href: &str) -> String {
        i18n::tr(self.id.mail.language, "mail.nps.text_line", &[("n", n.to_string()), ("link", href.to_string())])
    }

    pub fn link_title(&self, n: u8) -> String {
        i18n::tr(self.id.mail.language, "mail.nps.link_title", &[("n", n.to_string())])
    }
}

pub(super) const STYLE: &str = "
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
.nps { margin: 16px 0; text-align: center; }
.nps a { display: inline-block; min-width: 30px; margin: 2px; padding: 8px 2px; border: 1px solid #2f5d50; border-radius: 4px; color: #2f5d50; text-decoration: none; font-weight: bold; text-align: center; }
.nps-help { font-size: 14px; color: #555555; }
@media (max-width: 480px) { .card { padding: 16px; border-radius: 0; } h1 { font-size: 20px; } }
";

pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    super::fill::escape_html(s, &mut out);
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

pub(super) fn block_html(b: &Block, currency: Currency, locale: Locale, survey: &Survey) -> String {
    match b {
        Block::Survey { question } => {
            let links: String = survey
                .links()
                .iter()
                .map(|(n, href)| format!("<a href=\"{}\" title=\"{}\">{n}</a>", esc(href), esc(&survey.link_title(*n))))
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                "<p><strong>{}</strong></p><p class=\"nps\">{links}</p><p class=\"nps-help\">{}</p>",
                esc(&survey.question(question)),
                esc(&survey.help())
            )
        }
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
