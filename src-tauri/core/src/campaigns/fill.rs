//! Personal fields filled in by plain substitution, never by a template language.
//!
//! Once per campaign, each `{{ field }}` of a known personal field in the merchant's text is
//! replaced by a marker character (from Unicode's private-use area) before Markdown and HTML
//! are made; the finished subject, HTML and text are then cut into literal pieces and slots.
//! For each recipient, the message is those pieces with the values put in the slots, escaped
//! for where the slot stands: HTML (text or attribute), a link (percent-encoded), or plain text.
//!
//! Invariants: nothing in the merchant's text or in a customer's values is ever evaluated —
//! there are no statements, filters, expressions or loops, so escaping cannot be switched off
//! and no text can make rendering slow (it is a single pass over the pieces). Text that only
//! looks like template syntax (`\{\{ … \}\}`, `&#123;&#123;`, `{% … %}`) stays the text it is.
//! Markers typed or pasted by the merchant are removed first, so no text can forge a slot.

use std::fmt::Write as _;

/// First marker: slot `i` is `char::from_u32(HTML_BASE + i)` in HTML or text, and
/// `URL_BASE + i` where the value goes into a link the product writes (a button's address).
const HTML_BASE: u32 = 0xE100;
const URL_BASE: u32 = 0xE300;
/// Slots per kind (personal fields and the unsubscribe address).
const MAX_SLOTS: u32 = 0x100;

/// Where a slot stands, which says how its value is escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// HTML text or attribute: `& < > " '` escaped.
    Html,
    /// Inside a link: the value percent-encoded (then safe in HTML too).
    Url,
    /// Plain text (the subject, the text part): as it is.
    Text,
}

/// The marker of slot `i` in `ctx` (`Html` for text and HTML, `Url` in links).
pub fn marker(i: usize, ctx: Context) -> char {
    let base = if ctx == Context::Url { URL_BASE } else { HTML_BASE };
    char::from_u32(base + i as u32).expect("a private-use character")
}

fn slot_of(c: char) -> Option<(usize, bool)> {
    let n = c as u32;
    if (HTML_BASE..HTML_BASE + MAX_SLOTS).contains(&n) {
        Some(((n - HTML_BASE) as usize, false))
    } else if (URL_BASE..URL_BASE + MAX_SLOTS).contains(&n) {
        Some(((n - URL_BASE) as usize, true))
    } else {
        None
    }
}

/// The merchant's text without private-use characters (which nobody types in a newsletter,
/// and which would otherwise pass for markers).
pub fn strip_markers(s: &str) -> String {
    let s: String = s.chars().filter(|c| !matches!(*c as u32, 0xE000..=0xF8FF)).collect();
    // A marker written percent-encoded (`%EE%84%8F`) would be a link slot too: its `%` is
    // written `%25`, so the text stays the text it is.
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        if c == '%' && percent_marker(&s[i..]).is_some() {
            out.push_str("%25");
        } else {
            out.push(c);
        }
    }
    out
}

/// Replace each `{{ name }}` (spaces inside optional) whose name is in `fields` by the marker of
/// its index, for `ctx`. `Err(detail)` names the first `{{ … }}` that is not a known field.
/// Nothing else is interpreted.
pub fn mark_fields(s: &str, fields: &[&str], ctx: Context) -> Result<String, String> {
    let s = strip_markers(s);
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else {
            return Err("{{".into());
        };
        let name = after[..j].trim();
        match fields.iter().position(|f| *f == name) {
            Some(k) => out.push(marker(k, ctx)),
            None => return Err(name.chars().take(40).collect()),
        }
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Slot(usize, Context),
}

/// A finished text cut into literal pieces and slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pieces(Vec<Piece>);

impl Pieces {
    /// Cut `s`; `plain` is the context of a marker standing as itself (`Html` for an HTML
    /// document, `Text` for the subject and the text part). A marker percent-encoded by the
    /// Markdown renderer inside a link, or a URL marker, is a `Url` slot.
    pub fn cut(s: &str, plain: Context) -> Pieces {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if let Some((slot, url)) = slot_of(c) {
                flush(&mut pieces, &mut lit);
                pieces.push(Piece::Slot(slot, if url { Context::Url } else { plain }));
                continue;
            }
            if c == '%' {
                if let Some((slot, len)) = percent_marker(&s[i..]) {
                    flush(&mut pieces, &mut lit);
                    pieces.push(Piece::Slot(slot, Context::Url));
                    for _ in 1..len {
                        chars.next();
                    }
                    continue;
                }
            }
            lit.push(c);
        }
        flush(&mut pieces, &mut lit);
        Pieces(pieces)
    }

    /// The text with `values[i]` in slot `i`, escaped for the slot's context. A slot with no
    /// value is left empty.
    pub fn fill(&self, values: &[&str]) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Slot(i, ctx) => {
                    let v = values.get(*i).copied().unwrap_or("");
                    match ctx {
                        Context::Html => escape_html(v, &mut out),
                        Context::Url => percent_encode(v, &mut out),
                        Context::Text => out.push_str(v),
                    }
                }
            }
        }
        out
    }

    /// The slots used, for checking a message before it is saved.
    pub fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().filter_map(|p| match p {
            Piece::Slot(i, _) => Some(*i),
            Piece::Lit(_) => None,
        })
    }
}

fn flush(pieces: &mut Vec<Piece>, lit: &mut String) {
    if !lit.is_empty() {
        pieces.push(Piece::Lit(std::mem::take(lit)));
    }
}

/// A marker written as `%EE%84%80` (either case) at the start of `s`: its slot and length.
fn percent_marker(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    if b.len() < 9 {
        return None;
    }
    let mut bytes = [0u8; 3];
    for (k, byte) in bytes.iter_mut().enumerate() {
        let at = k * 3;
        if b[at] != b'%' {
            return None;
        }
        *byte = u8::from_str_radix(std::str::from_utf8(&b[at + 1..at + 3]).ok()?, 16).ok()?;
    }
    let c = std::str::from_utf8(&bytes).ok()?.chars().next()?;
    slot_of(c).map(|(slot, _)| (slot, 9))
}

pub fn escape_html(s: &str, out: &mut String) {
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
}

/// Percent-encode everything but unreserved characters (RFC 3986), so a value is one inert
/// component of a link whatever it holds.
fn percent_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[&str] = &["first_name", "points"];

    #[test]
    fn only_known_fields_become_slots_and_nothing_else_is_interpreted() {
        let marked = mark_fields("Bonjour {{first_name}}, {{ points }} points", FIELDS, Context::Html).unwrap();
        let p = Pieces::cut(&marked, Context::Html);
        assert_eq!(
            p.fill(&["<b>Zoé</b>", "12"]),
            "Bonjour &lt;b&gt;Zoé&lt;/b&gt;, 12 points",
            "values are escaped in HTML"
        );
        assert_eq!(
            mark_fields("{{ prenom }}", FIELDS, Context::Html),
            Err("prenom".into()),
            "an unknown field is named"
        );
        assert_eq!(
            mark_fields("{{ first_name | safe }}", FIELDS, Context::Html),
            Err("first_name | safe".into()),
            "no filters"
        );
        for inert in ["{% autoescape false %}", "\\{\\{ 7*7 \\}\\}", "&#123;&#123; 7*7 &#125;&#125;", "{# c #}"] {
            let m = mark_fields(inert, FIELDS, Context::Html).unwrap();
            assert_eq!(Pieces::cut(&m, Context::Html).fill(&["x", "y"]), inert, "{inert} is text, shown as typed");
        }
    }

    #[test]
    fn a_typed_marker_cannot_forge_a_slot() {
        let forged = format!("a{}b", marker(0, Context::Html));
        let m = mark_fields(&forged, FIELDS, Context::Html).unwrap();
        assert_eq!(
            Pieces::cut(&m, Context::Html).fill(&["SECRET", "1"]),
            "ab",
            "markers from the merchant are removed"
        );
        // The same marker percent-encoded, as a link would carry it (U+E101 = %EE%84%81).
        let encoded = "https://tiers.example/?t=%EE%84%81&u=%ee%84%80";
        let m = mark_fields(encoded, FIELDS, Context::Url).unwrap();
        let out = Pieces::cut(&m, Context::Html).fill(&["SECRET", "TOKEN"]);
        assert!(!out.contains("SECRET") && !out.contains("TOKEN"), "an encoded marker is not a slot either: {out}");
        assert_eq!(out, "https://tiers.example/?t=%25EE%84%81&u=%25ee%84%80", "it stays the text typed, its % escaped");
    }

    #[test]
    fn a_slot_in_a_link_is_percent_encoded() {
        let m = mark_fields("https://shop.example/?n={{ first_name }}", FIELDS, Context::Url).unwrap();
        let p = Pieces::cut(&m, Context::Html);
        assert_eq!(p.fill(&["Zoé \"x\" & <y>"]), "https://shop.example/?n=Zo%C3%A9%20%22x%22%20%26%20%3Cy%3E");
        let encoded = "a%EE%84%80b%ee%84%81c";
        assert_eq!(
            Pieces::cut(encoded, Context::Html).fill(&["é", "2"]),
            "a%C3%A9b2c",
            "a marker the Markdown renderer percent-encoded"
        );
    }

    #[test]
    fn plain_text_keeps_values_as_typed() {
        let m = mark_fields("{{ first_name }} & co", FIELDS, Context::Text).unwrap();
        assert_eq!(Pieces::cut(&m, Context::Text).fill(&["<Zoé>"]), "<Zoé> & co");
    }
}
