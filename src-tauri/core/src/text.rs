//! Text normalisation rules: accent folding, email normalisation, trimming user input, and
//! the percent-encoding of a `mailto:` link (RFC 6068).

use unicode_normalization::UnicodeNormalization;

/// Fold for comparison and prefix search: lower case, accents removed, ligatures expanded,
/// runs of white space collapsed. "Élodie Lefèvre" → "elodie lefevre", "Œuvre" → "oeuvre".
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for c in s.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        let lowered: &str = match c {
            'œ' | 'Œ' => "oe",
            'æ' | 'Æ' => "ae",
            'ß' => "ss",
            _ => "",
        };
        if !lowered.is_empty() {
            out.push_str(lowered);
            last_space = false;
            continue;
        }
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
                last_space = true;
            }
            continue;
        }
        for l in c.to_lowercase() {
            out.push(l);
        }
        last_space = false;
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Rule: characters no text a merchant or a file types keeps, because nobody can see them
/// and they change what others see: control characters (C0 and C1 but the white space ones,
/// and DEL), the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069: a name that reads backwards in a list or an email's subject), the zero-width
/// space, word joiner, invisible operators, soft hyphen, Mongolian vowel separator,
/// interlinear annotations and byte-order mark (two equal names that differ). The joiners that
/// belong to writing (ZWJ in emoji, ZWNJ in Persian) and the directional marks stay. White
/// space controls (vertical tab, form feed, next line: FileMaker's line break in a field) are
/// not hidden: they separate words (`clean`) or lines (`clean_multiline`).
pub fn is_hidden(c: char) -> bool {
    (c.is_control() && !c.is_whitespace())
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200B}'
                | '\u{2060}'..='\u{2064}'
                | '\u{00AD}'
                | '\u{180E}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{FEFF}'
        )
}

/// `s` without its hidden characters (`is_hidden`), otherwise as it is (not copied when it
/// has none, as nearly every cell of a file).
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(is_hidden) {
        std::borrow::Cow::Owned(s.chars().filter(|c| !is_hidden(*c)).collect())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Trim and collapse inner white space, the hidden characters left out (`is_hidden`);
/// `None` for an empty value.
pub fn clean(s: &str) -> Option<String> {
    let visible = visible(s);
    let collapsed = visible.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        None
    } else {
        Some(collapsed)
    }
}

/// Trim a multi-line text (notes), keeping its lines (CRLF, a lone CR, a vertical tab, a
/// form feed, NEL and the Unicode line and paragraph separators become LF) and leaving out the
/// hidden characters (`is_hidden`); `None` for an empty value.
pub fn clean_multiline(s: &str) -> Option<String> {
    let lines = s.replace("\r\n", "\n").replace(['\r', '\u{0B}', '\u{0C}', '\u{85}', '\u{2028}', '\u{2029}'], "\n");
    let visible = visible(&lines);
    let t = visible.trim();
    if t.is_empty() {
        None
    } else {
        Some(t.to_string())
    }
}

/// Emails compare without case and surrounding spaces, in Unicode NFC: an accent typed
/// decomposed (NFD, as macOS sends it) or precomposed is the same address.
///
/// Decision: hidden characters (`is_hidden`) are taken out where an address comes in (typed:
/// `clean`; imported: every cell, `data::rows`), not here. This is the key stored in
/// `email_norm`, the suppression list and the erasure hashes: changing it would need every
/// stored key recomputed, or two spellings of one address would stop meeting.
pub fn normalize_email(s: &str) -> String {
    s.trim().to_lowercase().nfc().collect()
}

/// Text in Unicode NFC (the form emails are stored and compared in).
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// Only the digits of a string.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The smallest string greater than every string that starts with `prefix`, for an index
/// range scan `key >= prefix AND key < upper`.
pub fn prefix_upper_bound(prefix: &str) -> String {
    let mut s = prefix.to_string();
    s.push(char::MAX);
    s
}

/// Trim a text typed by the user and check it: `None` when empty (an error when `required`),
/// an error naming `max` when longer than `max` characters.
pub fn check_text(
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
) -> crate::error::Result<Option<String>> {
    use crate::error::{Error, FieldError};
    match clean(value) {
        None if required => Err(Error::invalid(field, "field.required")),
        None => Ok(None),
        Some(v) if v.chars().count() > max => {
            Err(Error::Validation(vec![FieldError::new(field, "field.too_long").arg("max", max)]))
        }
        Some(v) => Ok(Some(v)),
    }
}

/// Percent-encoding for a `mailto:` subject (RFC 6068): everything but unreserved characters.
pub fn mailto_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The address of a `mailto:` link (RFC 6068): unreserved characters, `@` and the
/// sub-delimiters the address may keep stay; every other byte is percent-encoded (an accented
/// domain byte by byte, `?`, `#`, `%`, `&`, quotes, spaces).
pub fn mailto_address(s: &str) -> String {
    s.trim()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => (b as char).to_string(),
            b'!' | b'$' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b':' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_never_reach_a_name_or_a_note() {
        assert_eq!(clean("\u{202E}gnp.exe Zoé"), Some("gnp.exe Zoé".into()), "a right-to-left override is left out");
        assert_eq!(
            clean("Zo\u{200B}é\u{0000} \u{0007}Brûlé\u{FEFF}"),
            Some("Zoé Brûlé".into()),
            "controls and zero-width"
        );
        assert_eq!(clean("\u{2067}\u{2069}"), None, "nothing visible is nothing");
        assert_eq!(
            clean("👨\u{200D}👩\u{200D}👧 Léa"),
            Some("👨\u{200D}👩\u{200D}👧 Léa".into()),
            "an emoji's joiner stays"
        );
        assert_eq!(clean("می\u{200C}خواهم"), Some("می\u{200C}خواهم".into()), "a Persian non-joiner stays");
        assert_eq!(
            clean_multiline("  ligne 1\r\nligne\u{202E} 2\rligne 3\u{0008}\n\tfin  "),
            Some("ligne 1\nligne 2\nligne 3\n\tfin".into()),
            "a note keeps its lines and tabs, not the rest"
        );
        assert_eq!(
            clean("Jean\u{0B}Paul\u{0C}Marie\u{85}Léa"),
            Some("Jean Paul Marie Léa".into()),
            "white space controls separate words"
        );
        assert_eq!(
            clean_multiline("1 rue des Lilas\u{0B}Bât. B\u{2028}3e étage"),
            Some("1 rue des Lilas\nBât. B\n3e étage".into()),
            "FileMaker's vertical tab and the line separator end a line of a note"
        );
        assert_eq!(
            clean("Jean\u{AD}-Paul\u{2062}\u{180E}"),
            Some("Jean-Paul".into()),
            "soft hyphen and invisible operators"
        );
    }

    #[test]
    fn an_email_with_a_decomposed_accent_is_the_same_address() {
        let nfd = "E\u{301}le\u{301}onore@example.com";
        assert_ne!(nfd, "Éléonore@example.com", "the test holds a decomposed accent");
        assert_eq!(normalize_email(nfd), normalize_email("Éléonore@example.com"), "NFD and NFC compare equal");
        assert_eq!(normalize_email(nfd), "éléonore@example.com", "normalised to lower-case NFC");
        assert_eq!(normalize_email(" ÉLÉONORE@example.com "), "éléonore@example.com");
    }

    #[test]
    fn folding_ignores_case_and_accents() {
        let cases = [
            ("Élodie", "elodie"),
            ("Lefèvre", "lefevre"),
            ("  FRANÇOIS   Côté ", "francois cote"),
            ("Œillet", "oeillet"),
            ("Nguyễn", "nguyen"),
            ("Ça coûte 5 €", "ca coute 5 €"),
            ("😀 Zoé", "😀 zoe"),
        ];
        for (input, want) in cases {
            assert_eq!(fold(input), want, "fold({input:?}) must be case- and accent-insensitive");
        }
    }

    #[test]
    fn clean_collapses_white_space_and_rejects_blank() {
        assert_eq!(clean("  Jean \t Pierre "), Some("Jean Pierre".into()));
        assert_eq!(clean(" \n "), None, "a blank value is no value");
    }

    #[test]
    fn prefix_bound_covers_every_continuation() {
        let upper = prefix_upper_bound("el");
        for s in ["el", "elodie", "elz", "el\u{10FFFE}"] {
            assert!(s >= "el" && s < upper.as_str(), "{s} starts with el so it is in the range");
        }
        assert!("em" >= upper.as_str(), "em does not start with el");
    }
}
