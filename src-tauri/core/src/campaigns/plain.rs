//! The plain-text part of a message: each block as readable text, Markdown without its
//! markers, a link's address in brackets after its words.
//!
//! Invariants: no `**`, `_` or `#` markers reach the text; a link is written out only when it
//! is one the message may carry (`blocks::safe_url`); the text is not escaped (it is not HTML).

use super::blocks::{safe_url, Survey};
use super::identity::format_money;
use super::Block;
use crate::settings::{Currency, Locale};

pub(super) fn block_text(b: &Block, currency: Currency, locale: Locale, survey: &Survey) -> String {
    match b {
        Block::Survey { question } => {
            let mut s = format!("{}\n{}\n", survey.question(question), survey.help());
            for (n, href) in survey.links() {
                s += &survey.text_line(n, &href);
                s.push('\n');
            }
            s
        }
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
