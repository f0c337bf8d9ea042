//! Text encodings of the files merchants bring: UTF-8 (with or without a byte-order mark),
//! Windows-1252 (French Excel's "CSV (séparateur : point-virgule)"), ISO-8859-15 and Mac Roman.
//! The guess is automatic (`chardetng` with a French hint, then two rules for what it does not
//! tell apart) and the merchant can override it. Pure functions.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    Utf8,
    Windows1252,
    Iso8859_15,
    MacRoman,
}

impl TextEncoding {
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Windows1252 => "Windows-1252",
            TextEncoding::Iso8859_15 => "ISO-8859-15",
            TextEncoding::MacRoman => "Mac Roman",
        }
    }
    fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            TextEncoding::Utf8 => encoding_rs::UTF_8,
            TextEncoding::Windows1252 => encoding_rs::WINDOWS_1252,
            TextEncoding::Iso8859_15 => encoding_rs::ISO_8859_15,
            TextEncoding::MacRoman => encoding_rs::MACINTOSH,
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Rule: a file that is valid UTF-8 (or starts with its byte-order mark) is UTF-8. Otherwise
/// `chardetng` guesses with a French hint; a Latin guess is Mac Roman when the accented bytes
/// only make sense there (é è à ç live at 0x8E 0x8F 0x88 0x8D in Mac Roman, where Windows-1252
/// has rare symbols, and nothing sits where Windows-1252 keeps its lower-case accents), and
/// ISO-8859-15 when the euro sign is at 0xA4 with no byte in 0x80–0x9F.
pub fn guess(bytes: &[u8]) -> TextEncoding {
    if bytes.starts_with(BOM) || std::str::from_utf8(bytes).is_ok() {
        return TextEncoding::Utf8;
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(bytes, true);
    let guessed = det.guess(Some(b"fr"), true);
    if guessed == encoding_rs::UTF_8 {
        return TextEncoding::Utf8;
    }
    let c1 = bytes.iter().filter(|b| (0x80..=0x9F).contains(*b)).count();
    let high_lower = bytes.iter().filter(|b| **b >= 0xE0).count();
    if guessed == encoding_rs::MACINTOSH || (c1 > 0 && high_lower == 0) {
        return TextEncoding::MacRoman;
    }
    if c1 == 0 && bytes.contains(&0xA4) {
        return TextEncoding::Iso8859_15;
    }
    TextEncoding::Windows1252
}

/// The file's text without its UTF-8 byte-order mark, still in its encoding.
pub fn body(bytes: &[u8], enc: TextEncoding) -> &[u8] {
    if enc == TextEncoding::Utf8 {
        bytes.strip_prefix(BOM).unwrap_or(bytes)
    } else {
        bytes
    }
}

/// Decode the whole file (a UTF-8 byte-order mark is dropped; invalid bytes become U+FFFD).
pub fn decode(bytes: &[u8], enc: TextEncoding) -> String {
    decode_cell(body(bytes, enc), enc)
}

/// Decode one cell (or any piece of the body cut at an ASCII byte); invalid bytes become
/// U+FFFD, as in [`decode`].
pub fn decode_cell(bytes: &[u8], enc: TextEncoding) -> String {
    enc.encoding().decode_without_bom_handling(bytes).0.into_owned()
}

/// Encode text back into the file's encoding (for the file of rows in error). Characters the
/// encoding cannot hold become `?`, never an HTML entity.
pub fn encode(text: &str, enc: TextEncoding) -> Vec<u8> {
    if enc == TextEncoding::Utf8 {
        return text.as_bytes().to_vec();
    }
    let cleaned: String = text
        .chars()
        .map(|c| {
            let mut buf = [0u8; 4];
            let (_, _, unmappable) = enc.encoding().encode(c.encode_utf8(&mut buf));
            if unmappable {
                '?'
            } else {
                c
            }
        })
        .collect();
    enc.encoding().encode(&cleaned).0.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_encoding_of_a_french_text_is_recognised_and_decoded() {
        let text = "Nom;Prénom;Ville\nLefèvre;Élodie;Besançon\nCôté;Gaël;Mâcon à côté\n";
        for enc in [TextEncoding::Windows1252, TextEncoding::MacRoman] {
            let bytes = encode(text, enc);
            assert_eq!(guess(&bytes), enc, "{} is recognised", enc.label());
            assert_eq!(decode(&bytes, enc), text, "{} decodes back to the text", enc.label());
        }
        let euro = encode("Prix;12 €\nNoël;Élodie\n", TextEncoding::Iso8859_15);
        assert_eq!(guess(&euro), TextEncoding::Iso8859_15, "the euro at 0xA4 tells ISO-8859-15");
        let utf8 = [BOM, text.as_bytes()].concat();
        assert_eq!(guess(&utf8), TextEncoding::Utf8);
        assert_eq!(decode(&utf8, TextEncoding::Utf8), text, "the byte-order mark is dropped");
        assert_eq!(guess(text.as_bytes()), TextEncoding::Utf8, "UTF-8 without a mark");
    }

    #[test]
    fn cells_cut_at_ascii_bytes_decode_as_the_whole_text_does() {
        let text = "Nom;Prénom\r\nLefèvre;Élodie €\r\n\"Côté;\nGaël\";Mâcon\r\n";
        for enc in [TextEncoding::Utf8, TextEncoding::Windows1252, TextEncoding::Iso8859_15, TextEncoding::MacRoman] {
            let bytes = encode(text, enc);
            let pieces: Vec<String> = bytes.split(|b| b.is_ascii()).map(|p| decode_cell(p, enc)).collect();
            let whole: Vec<String> = decode(&bytes, enc).split(|c: char| c.is_ascii()).map(str::to_string).collect();
            assert_eq!(pieces, whole, "{}: decoding piece by piece changes nothing", enc.label());
        }
        // Bytes that are not UTF-8, read as UTF-8: each bad piece is replaced the same way.
        let latin = encode("Zoé;Noël\n", TextEncoding::Windows1252);
        let pieces: Vec<String> = latin.split(|b| *b == b';').map(|p| decode_cell(p, TextEncoding::Utf8)).collect();
        assert_eq!(pieces.join(";"), decode(&latin, TextEncoding::Utf8), "invalid bytes become U+FFFD alike");
    }

    #[test]
    fn characters_an_encoding_cannot_hold_become_question_marks() {
        let bytes = encode("Zoé 😀", TextEncoding::Windows1252);
        assert_eq!(decode(&bytes, TextEncoding::Windows1252), "Zoé ?");
    }
}
