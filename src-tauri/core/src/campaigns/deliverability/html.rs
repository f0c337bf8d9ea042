//! Reading a rendered message's HTML back as a reader sees it: the visible text with the
//! colour, background, size and weight it is shown in, the links, and the images with their
//! descriptions. html5ever tokenizes (entities, quoting, raw text in `<style>` handled as
//! browsers do); the styles are the inline ones css-inline wrote, plus the old `color` and
//! `bgcolor` attributes mail programs still honour.
//!
//! Invariants: pure; nothing hidden (`display:none`, the `<head>`, `<style>`) counts as visible
//! text; an unreadable colour keeps the inherited one; mismatched end tags never underflow the
//! element stack (the root stays).

use super::contrast::{self, Rgb};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};
use std::cell::RefCell;

/// Text as shown: its colours and size.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub text: String,
    pub fg: Rgb,
    pub bg: Rgb,
    pub size_px: f32,
    pub bold: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Its description (`alt`), trimmed; empty when missing.
    pub alt: String,
}

/// What a reader of the message sees.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reading {
    pub runs: Vec<Run>,
    /// Every `<a href>`, as written (entities decoded).
    pub links: Vec<String>,
    pub images: Vec<Image>,
    /// The visible text, runs joined by spaces.
    pub text: String,
}

#[derive(Debug, Clone)]
struct Style {
    fg: Rgb,
    bg: Rgb,
    size: f32,
    bold: bool,
    hidden: bool,
}

const VOID: &[&str] =
    &["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"];
const HIDDEN: &[&str] = &["head", "style", "script", "title", "template", "noscript"];

struct Sink {
    stack: RefCell<Vec<(String, Style)>>,
    /// Text since the last tag (the tokenizer hands it over in pieces: `caf`, `é`).
    pending: RefCell<String>,
    out: RefCell<Reading>,
}

fn attr<'a>(tag: &'a Tag, name: &str) -> Option<&'a str> {
    tag.attrs.iter().find(|a| &*a.name.local == name).map(|a| &*a.value)
}

/// `font-size` in pixels (px, pt, em and % against the parent's size).
fn size(value: &str, parent: f32) -> Option<f32> {
    let v = value.trim().to_ascii_lowercase();
    let num = |s: &str| s.trim().parse::<f32>().ok().filter(|x| x.is_finite() && *x > 0.0);
    if let Some(px) = v.strip_suffix("px") {
        num(px)
    } else if let Some(pt) = v.strip_suffix("pt") {
        num(pt).map(|x| x * 4.0 / 3.0)
    } else if let Some(em) = v.strip_suffix("rem") {
        num(em).map(|x| x * 16.0)
    } else if let Some(em) = v.strip_suffix("em") {
        num(em).map(|x| x * parent)
    } else if let Some(pc) = v.strip_suffix('%') {
        num(pc).map(|x| x * parent / 100.0)
    } else {
        None
    }
}

/// The first colour in a `background` shorthand (`#fff url(x) no-repeat`).
fn background_colour(value: &str) -> Option<contrast::Colour> {
    if let Some(c) = contrast::parse(value) {
        return Some(c);
    }
    let mut depth = 0;
    let mut start = 0;
    let bytes: Vec<char> = value.chars().collect();
    let mut parts = Vec::new();
    for (i, ch) in bytes.iter().enumerate() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ' ' if depth == 0 => {
                parts.push(bytes[start..i].iter().collect::<String>());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(bytes[start..].iter().collect());
    parts.iter().find_map(|p| contrast::parse(p))
}

fn child_style(parent: &Style, tag: &Tag) -> Style {
    let name = &*tag.name;
    let mut s = parent.clone();
    if HIDDEN.contains(&name) {
        s.hidden = true;
    }
    match name {
        "b" | "strong" | "th" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => s.bold = true,
        _ => {}
    }
    s.size = match name {
        "h1" => parent.size * 2.0,
        "h2" => parent.size * 1.5,
        "h3" => parent.size * 1.17,
        "small" => parent.size * 0.83,
        _ => s.size,
    };
    if let Some(c) = attr(tag, "bgcolor").and_then(contrast::parse) {
        s.bg = contrast::blend(c, parent.bg);
    }
    if name == "font" {
        if let Some(c) = attr(tag, "color").and_then(contrast::parse) {
            s.fg = contrast::blend(c, s.bg);
        }
    }
    if let Some(style) = attr(tag, "style") {
        let mut fg = None;
        for decl in style.split(';') {
            let Some((prop, value)) = decl.split_once(':') else { continue };
            let value = value.trim();
            match prop.trim().to_ascii_lowercase().as_str() {
                "color" => fg = contrast::parse(value).or(fg),
                "background-color" => {
                    if let Some(c) = contrast::parse(value) {
                        s.bg = contrast::blend(c, parent.bg);
                    }
                }
                "background" => {
                    if let Some(c) = background_colour(value) {
                        s.bg = contrast::blend(c, parent.bg);
                    }
                }
                "font-size" => s.size = size(value, parent.size).unwrap_or(s.size),
                "font-weight" => {
                    let v = value.to_ascii_lowercase();
                    s.bold = v.starts_with("bold") || v.parse::<u16>().is_ok_and(|w| w >= 600)
                }
                "display" if value.eq_ignore_ascii_case("none") => s.hidden = true,
                "visibility" if value.eq_ignore_ascii_case("hidden") => s.hidden = true,
                _ => {}
            }
        }
        // Text colour last: it is seen on this element's own background.
        if let Some(c) = fg {
            s.fg = contrast::blend(c, s.bg);
        }
    }
    s
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) => {
                self.flush();
                let name = tag.name.to_string();
                match tag.kind {
                    TagKind::StartTag => {
                        let mut stack = self.stack.borrow_mut();
                        let style = child_style(&stack.last().expect("the root stays").1, &tag);
                        let mut out = self.out.borrow_mut();
                        if name == "a" {
                            if let Some(href) = attr(&tag, "href") {
                                out.links.push(href.trim().to_string());
                            }
                        }
                        if name == "img" && !style.hidden {
                            out.images.push(Image { alt: attr(&tag, "alt").unwrap_or("").trim().to_string() });
                        }
                        if !VOID.contains(&name.as_str()) && !tag.self_closing {
                            stack.push((name.clone(), style));
                        }
                        return match name.as_str() {
                            "style" | "script" | "noscript" => TokenSinkResult::RawData(RawKind::Rawtext),
                            "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
                            _ => TokenSinkResult::Continue,
                        };
                    }
                    TagKind::EndTag => {
                        let mut stack = self.stack.borrow_mut();
                        if let Some(i) = stack.iter().rposition(|(n, _)| *n == name) {
                            stack.truncate(i.max(1));
                        }
                    }
                }
            }
            Token::CharacterTokens(text) => self.pending.borrow_mut().push_str(&text),
            Token::EOFToken => self.flush(),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

impl Sink {
    /// The text since the last tag, shown in the style of the element it is in.
    fn flush(&self) {
        let text = std::mem::take(&mut *self.pending.borrow_mut());
        let stack = self.stack.borrow();
        let style = &stack.last().expect("the root stays").1;
        if style.hidden || text.trim().is_empty() {
            return;
        }
        let mut out = self.out.borrow_mut();
        let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !out.text.is_empty() {
            out.text.push(' ');
        }
        out.text.push_str(&t);
        out.runs.push(Run { text: t, fg: style.fg, bg: style.bg, size_px: style.size, bold: style.bold });
    }
}

/// Read an HTML message as its reader sees it (a white page, black 16px text by default).
pub fn read(html: &str) -> Reading {
    let root = Style { fg: contrast::BLACK, bg: contrast::WHITE, size: 16.0, bold: false, hidden: false };
    let sink = Sink {
        stack: RefCell::new(vec![(String::new(), root)]),
        pending: RefCell::new(String::new()),
        out: RefCell::new(Reading::default()),
    };
    let tok = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tok.feed(&input);
    tok.end();
    tok.sink.flush();
    tok.sink.out.take()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_with_the_colours_it_is_shown_in() {
        let r = read(
            "<html><head><title>T</title><style>p { color: red }</style></head>\
             <body style=\"background: #f4f1ec; color: #222\"><div style=\"display:none\">hidden preheader</div>\
             <div bgcolor=\"#ffffff\"><p style=\"color:#777777;font-size:12px\">Petit &amp; gris</p>\
             <h1 style=\"color: #1f3d35\">Titre</h1><a href=\"https://boutique.test/?a=1&amp;b=2\" style=\"color:#fff;background:#2f5d50\">Go</a>\
             <img src=\"cid:m1\" alt=\" Croissants \"><img src=\"cid:m2\"></div></body></html>",
        );
        assert_eq!(r.text, "Petit & gris Titre Go", "hidden text, head and style are not visible; entities decoded");
        assert_eq!(
            read("<p>caf&eacute; cr&egrave;me</p>").text,
            "café crème",
            "a character reference stays inside its word"
        );
        let small = &r.runs[0];
        assert_eq!(
            (small.fg, small.bg, small.size_px),
            (Rgb(0x77, 0x77, 0x77), contrast::WHITE, 12.0),
            "bgcolor counts"
        );
        assert!(r.runs[1].bold && r.runs[1].size_px == 32.0, "a heading is large and bold");
        assert_eq!((r.runs[2].fg, r.runs[2].bg), (contrast::WHITE, Rgb(0x2f, 0x5d, 0x50)), "a button's own background");
        assert_eq!(r.links, ["https://boutique.test/?a=1&b=2"], "links with entities decoded");
        assert_eq!(r.images, [Image { alt: "Croissants".into() }, Image { alt: String::new() }]);
    }

    #[test]
    fn broken_html_never_breaks_the_reading() {
        let r = read("</div></div><p>un <b>deux</p> trois</b></span><script>var x = '<p>not text</p>';</script>");
        assert_eq!(r.text, "un deux trois", "stray end tags are ignored and script is not text");
        let r = read("<p style=\"color:\">x</p><p style=\";;color:var(--c);font-size:abc\">y</p>");
        assert_eq!(
            r.runs.iter().map(|x| x.fg).collect::<Vec<_>>(),
            [contrast::BLACK, contrast::BLACK],
            "unreadable styles are skipped"
        );
    }

    #[test]
    fn half_transparent_backgrounds_are_blended() {
        let r = read(
            "<div style=\"background:#000\"><p style=\"background: rgba(255,255,255,0.5); color: #fff\">x</p></div>",
        );
        assert_eq!(r.runs[0].bg, Rgb(128, 128, 128));
    }
}
