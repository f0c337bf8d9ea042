//! What the merchant may write in a message, checked when it is saved and again when it is
//! compiled: personal fields only (no template statements, comments, expressions or literals),
//! a subject, lengths within bounds, buttons and products with a label and a safe link.
//!
//! Invariants: every text of the message (subject, preheader, each block's texts and links) is
//! checked; an error names the field (`subject`, `preheader`, `blocks`) and a catalogue key,
//! and a template error lists the personal fields that exist.

use super::blocks::safe_url;
use super::personal::PERSONAL_FIELDS;
use super::{Block, MessageContent};
use crate::error::{Error, FieldError, Result};

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

pub(super) fn merchant_texts(msg: &MessageContent) -> Vec<(&'static str, &str)> {
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
            Block::Survey { question } => out.push(("blocks", question)),
        }
    }
    out
}

/// The message as it is stored: the subject on one line, without the characters nobody sees
/// (`text::clean`: a bidirectional override or a zero-width space pasted with it reads as
/// obfuscation to mail filters, and reverses or splits it in the campaign list); the preheader
/// without them either, but for the soft hyphen, which with the zero-width non-joiner and
/// no-break space (not hidden) makes the padding merchants put after a preheader on purpose.
/// The blocks keep their text as typed: they are escaped where they are rendered.
pub fn cleaned_message(msg: &MessageContent) -> MessageContent {
    MessageContent {
        subject: crate::text::clean(&msg.subject).unwrap_or_default(),
        preheader: msg.preheader.chars().filter(|c| *c == '\u{AD}' || !crate::text::is_hidden(*c)).collect(),
        ..msg.clone()
    }
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
    if msg.blocks.iter().filter(|b| matches!(b, Block::Survey { .. })).count() > 1 {
        p.add("blocks", "campaign.survey_once");
    }
    for b in &msg.blocks {
        match b {
            Block::Survey { question } if question.chars().count() > 300 => {
                p.push(FieldError::new("blocks", "field.too_long").arg("max", 300));
            }
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

pub(super) fn template_error(field: &'static str, detail: &str) -> Error {
    Error::Validation(vec![FieldError::new(field, "campaign.template_error")
        .arg("detail", detail.chars().take(40).collect::<String>())
        .arg("fields", PERSONAL_FIELDS.join(", "))])
}
