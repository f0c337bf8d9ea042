//! Text normalisation rules: accent folding, email normalisation, trimming user input.

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

/// Trim and collapse inner white space; `None` for an empty value.
pub fn clean(s: &str) -> Option<String> {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        None
    } else {
        Some(collapsed)
    }
}

/// Trim a multi-line text (notes), keeping its lines; `None` for an empty value.
pub fn clean_multiline(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        None
    } else {
        Some(t.replace("\r\n", "\n"))
    }
}

/// Emails compare without case and surrounding spaces, in Unicode NFC: an accent typed
/// decomposed (NFD, as macOS sends it) or precomposed is the same address.
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

#[cfg(test)]
mod tests {
    use super::*;

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
