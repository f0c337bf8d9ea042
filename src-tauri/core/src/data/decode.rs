//! Text encodings of the files merchants bring: UTF-8 (with or without a byte-order mark),
//! Windows-1252 (French Excel's "CSV (séparateur : point-virgule)"), ISO-8859-15, Mac Roman, and
//! UTF-16 (Excel's "Texte Unicode", tab-separated, and some tills' exports). The guess is
//! automatic (byte-order marks, UTF-8 or mostly UTF-8, then where a single-byte French file
//! keeps its accents) and the merchant can override it. Pure functions.
//!
//! A file that is UTF-8 but for a few pieces (a line pasted from an old Windows program, a
//! second file appended to the first) is read as UTF-8, and each byte that is no part of a
//! UTF-8 character is read as Windows-1252: both parts keep their accents.
//!
//! Invariant: every encoding but UTF-16 keeps ASCII bytes as themselves, so a file in one of
//! them is cut into cells at its ASCII separators before any decoding; a UTF-16 file is turned
//! into UTF-8 whole first (`to_utf8`). Decoding a file cell by cell gives the text decoding it
//! whole gives (a UTF-8 character never holds an ASCII byte).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    Utf8,
    Windows1252,
    Iso8859_15,
    MacRoman,
    Utf16le,
    Utf16be,
}

impl TextEncoding {
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Windows1252 => "Windows-1252",
            TextEncoding::Iso8859_15 => "ISO-8859-15",
            TextEncoding::MacRoman => "Mac Roman",
            TextEncoding::Utf16le => "UTF-16 LE",
            TextEncoding::Utf16be => "UTF-16 BE",
        }
    }
    fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            TextEncoding::Utf8 => encoding_rs::UTF_8,
            TextEncoding::Windows1252 => encoding_rs::WINDOWS_1252,
            TextEncoding::Iso8859_15 => encoding_rs::ISO_8859_15,
            TextEncoding::MacRoman => encoding_rs::MACINTOSH,
            TextEncoding::Utf16le => encoding_rs::UTF_16LE,
            TextEncoding::Utf16be => encoding_rs::UTF_16BE,
        }
    }
    /// UTF-16: two bytes a character, so ASCII separators are not bytes of their own.
    pub fn is_utf16(self) -> bool {
        matches!(self, TextEncoding::Utf16le | TextEncoding::Utf16be)
    }
    /// The byte-order mark a file in this encoding is written with (for Excel to read it as
    /// such): UTF-8's and UTF-16's; none for the one-byte encodings.
    pub fn bom(self) -> &'static [u8] {
        match self {
            TextEncoding::Utf8 => BOM,
            TextEncoding::Utf16le => b"\xFF\xFE",
            TextEncoding::Utf16be => b"\xFE\xFF",
            _ => b"",
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// UTF-16 without a byte-order mark, told by its zero bytes: text in Latin script has a high
/// byte of zero in (almost) every character, and the other byte almost never zero (an emoji's
/// second half can be). Text in another script (Cyrillic, Arabic names) has a high byte of
/// zero only in its separators, digits and line ends: it is UTF-16 too when a tenth of the
/// high bytes are zero, no low byte is, and a line end sits on a character's boundary.
/// Counted over the first 4,096 bytes.
fn utf16_without_bom(bytes: &[u8]) -> Option<TextEncoding> {
    let head = &bytes[..bytes.len().min(4096) & !1];
    if head.len() < 4 {
        return None;
    }
    let pairs = head.len() / 2;
    let zero_at = |k: usize| head.iter().skip(k).step_by(2).filter(|b| **b == 0).count();
    let (even, odd) = (zero_at(0), zero_at(1));
    let line_end = |le: bool| head.chunks_exact(2).any(|c| if le { c == b"\n\0" } else { c == b"\0\n" });
    let other_script =
        |zeros: usize, others: usize, le: bool| zeros * 10 >= pairs && others * 100 <= pairs && line_end(le);
    if (odd * 10 >= pairs * 8 && even * 20 <= pairs) || other_script(odd, even, true) {
        Some(TextEncoding::Utf16le)
    } else if (even * 10 >= pairs * 8 && odd * 20 <= pairs) || other_script(even, odd, false) {
        Some(TextEncoding::Utf16be)
    } else {
        None
    }
}

/// Rule: a file starting with a UTF-16 byte-order mark, or whose every other byte is zero, is
/// UTF-16. A file that is UTF-8 but for a few pieces (`mostly_utf8`), or starts with its
/// byte-order mark, is UTF-8. Otherwise
/// it is one of the single-byte encodings of French files, told apart by where their accents
/// live: Mac Roman when the accented bytes only make sense there (é è à ç live at 0x8E 0x8F 0x88
/// 0x8D in Mac Roman, where Windows-1252 has rare symbols, and nothing sits where Windows-1252
/// keeps its lower-case accents), ISO-8859-15 when the euro sign is at 0xA4 with no byte in
/// 0x80–0x9F, else Windows-1252.
///
/// (`chardetng` guessed here until 2026-12-04, but its answer could not change the result: it
/// rules UTF-8 out at the first invalid byte, has no Mac Roman, and its other guesses, none of
/// them a French file's encoding, fell to the same rules. It took 0.45 s over an 8 MB file.)
pub fn guess(bytes: &[u8]) -> TextEncoding {
    if bytes.starts_with(b"\xFF\xFE") {
        return TextEncoding::Utf16le;
    }
    if bytes.starts_with(b"\xFE\xFF") {
        return TextEncoding::Utf16be;
    }
    if let Some(enc) = utf16_without_bom(bytes) {
        return enc;
    }
    if bytes.starts_with(BOM) || mostly_utf8(bytes) {
        return TextEncoding::Utf8;
    }
    let c1 = bytes.iter().filter(|b| (0x80..=0x9F).contains(*b)).count();
    let high_lower = bytes.iter().filter(|b| **b >= 0xE0).count();
    if c1 > 0 && high_lower == 0 {
        return TextEncoding::MacRoman;
    }
    if c1 == 0 && bytes.contains(&0xA4) {
        return TextEncoding::Iso8859_15;
    }
    TextEncoding::Windows1252
}

/// UTF-8, or UTF-8 with a few pieces in another encoding: at least as many UTF-8 characters
/// a French shop's file holds beyond ASCII (`plausible`) as bytes that are no part of a UTF-8
/// character. A file in one of the single-byte encodings has an accent on almost every such
/// byte alone (é then a letter) and makes a UTF-8 character only by chance — an accent after a
/// Mac Roman apostrophe (l’Église: D5 83, Armenian), an upper-case accent before a no-break
/// space (É: C9 A0, a phonetic sign) — and those characters are not counted.
fn mostly_utf8(bytes: &[u8]) -> bool {
    if std::str::from_utf8(bytes).is_ok() {
        return true;
    }
    let (mut wide, mut stray) = (0usize, 0usize);
    for (valid, bad) in utf8_runs(bytes) {
        wide += valid.chars().filter(|c| plausible(*c)).count();
        stray += usize::from(!bad.is_empty());
    }
    wide >= stray
}

/// The bytes cut into runs of UTF-8, each with the stray bytes that follow it (one invalid
/// sequence, 1 to 3 bytes; empty after the last run).
fn utf8_runs(bytes: &[u8]) -> impl Iterator<Item = (&str, &[u8])> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let r = rest?;
        match std::str::from_utf8(r) {
            Ok(s) => {
                rest = None;
                Some((s, &r[r.len()..]))
            }
            Err(e) => {
                let (valid, bad) = r.split_at(e.valid_up_to());
                let n = e.error_len().unwrap_or(bad.len());
                rest = Some(&bad[n..]);
                Some((std::str::from_utf8(valid).unwrap_or_default(), &bad[..n]))
            }
        }
    })
}

/// A character beyond ASCII that a French (or Québec, or Vietnamese-named) customer file in
/// UTF-8 holds: Latin-1's letters and signs and Latin Extended-A (œ, Ÿ), Vietnamese letters,
/// punctuation (’ « » – …) and currency signs (€), letter-like symbols (™), emoji.
fn plausible(c: char) -> bool {
    matches!(c as u32, 0xA0..=0x17F | 0x1E00..=0x1EFF | 0x2010..=0x20BF | 0x2100..=0x214F | 0x1F000..=0x1FAFF)
}

/// Windows-1252's characters for the bytes 0x80–0x9F (its five unassigned bytes, U+FFFD: read
/// as control characters they would be removed from the cell, a letter gone without a trace).
const W1252_80: [char; 32] = [
    '€', '\u{FFFD}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{FFFD}', 'Ž', '\u{FFFD}', '\u{FFFD}',
    '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{FFFD}', 'ž', 'Ÿ',
];

/// A byte that is no part of a UTF-8 character, read as Windows-1252.
fn stray_char(b: u8) -> char {
    match b {
        0x80..=0x9F => W1252_80[usize::from(b - 0x80)],
        // Windows-1252 is Latin-1 from 0xA0 on (and ASCII below 0x80).
        _ => char::from(b),
    }
}

/// UTF-8 whose stray bytes (no part of a UTF-8 character) are read as Windows-1252, the
/// encoding such pieces come from in a French shop, instead of becoming U+FFFD.
fn utf8_lenient(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for (valid, bad) in utf8_runs(bytes) {
        out.push_str(valid);
        out.extend(bad.iter().map(|b| stray_char(*b)));
    }
    out
}

/// Where each piece of bytes that are no part of a UTF-8 character starts (read as
/// Windows-1252 by `decode` in UTF-8), in order: none in a valid UTF-8 file.
pub fn stray_offsets(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut at = 0;
    utf8_runs(bytes).filter_map(move |(valid, bad)| {
        let stray = at + valid.len();
        at = stray + bad.len();
        (!bad.is_empty()).then_some(stray)
    })
}

/// The file's text without its byte-order mark (UTF-8's or UTF-16's), still in its encoding.
pub fn body(bytes: &[u8], enc: TextEncoding) -> &[u8] {
    match enc {
        TextEncoding::Utf8 | TextEncoding::Utf16le | TextEncoding::Utf16be => {
            bytes.strip_prefix(enc.bom()).unwrap_or(bytes)
        }
        _ => bytes,
    }
}

/// A UTF-16 body as UTF-8 (invalid pairs become U+FFFD), to be cut into cells as a UTF-8 file
/// is; `None` for the other encodings, read as they are.
pub fn to_utf8(body: &[u8], enc: TextEncoding) -> Option<Vec<u8>> {
    enc.is_utf16().then(|| enc.encoding().decode_without_bom_handling(body).0.into_owned().into_bytes())
}

/// Decode the whole file (a UTF-8 byte-order mark is dropped; in UTF-8, a byte that is no part
/// of a character is read as Windows-1252; elsewhere invalid bytes become U+FFFD).
pub fn decode(bytes: &[u8], enc: TextEncoding) -> String {
    decode_cell(body(bytes, enc), enc)
}

/// Decode one cell (or any piece of the body cut at an ASCII byte), as [`decode`] does.
pub fn decode_cell(bytes: &[u8], enc: TextEncoding) -> String {
    match enc {
        TextEncoding::Utf8 => utf8_lenient(bytes),
        _ => enc.encoding().decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// Encode text back into the file's encoding (for the file of rows in error). Characters the
/// encoding cannot hold become `?`, never an HTML entity.
pub fn encode(text: &str, enc: TextEncoding) -> Vec<u8> {
    match enc {
        TextEncoding::Utf8 => return text.as_bytes().to_vec(),
        // encoding_rs writes UTF-8 for UTF-16 (as the web does): the code units are written here.
        TextEncoding::Utf16le => return text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        TextEncoding::Utf16be => return text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        _ => {}
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
    fn a_large_file_is_recognised_whatever_its_line_ends() {
        // 3.5 MB: a thousand plain lines, then accented names (one line in two), with the
        // telling bytes of ISO-8859-15 (the euro) only at the very end.
        let mut text = "Nom;Prénom;Ville\n".to_string();
        for i in 0..120_000 {
            if i > 1_000 && i % 2 == 0 {
                text.push_str(&format!("Lefèvre{i};Élodie;Besançon à côté\n"));
            } else {
                text.push_str(&format!("Martin{i};Jean;Lyon 0{i}\n"));
            }
        }
        for enc in [TextEncoding::Windows1252, TextEncoding::MacRoman] {
            assert_eq!(guess(&encode(&text, enc)), enc, "a large {} file is recognised", enc.label());
            let old_mac = encode(&text.replace('\n', "\r"), enc);
            assert_eq!(guess(&old_mac), enc, "with CR line ends too ({})", enc.label());
        }
        let euro = encode(&format!("{text}Prix;12 €\n"), TextEncoding::Iso8859_15);
        assert_eq!(
            guess(&euro),
            TextEncoding::Iso8859_15,
            "the euro at the end of a large file still tells ISO-8859-15"
        );
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
        // Bytes that are not UTF-8, read as UTF-8: each stray piece is read the same way.
        let mixed = [encode("Zoé;Noël\n", TextEncoding::Windows1252), "Zoé;Noël\n".as_bytes().to_vec()].concat();
        let pieces: Vec<String> = mixed.split(|b| *b == b';').map(|p| decode_cell(p, TextEncoding::Utf8)).collect();
        assert_eq!(pieces.join(";"), decode(&mixed, TextEncoding::Utf8), "stray bytes are read alike piece by piece");
        assert_eq!(decode(&mixed, TextEncoding::Utf8), "Zoé;Noël\nZoé;Noël\n");
    }

    #[test]
    fn each_piece_of_stray_bytes_is_found_where_it_starts() {
        let w = |t: &str| encode(t, TextEncoding::Windows1252);
        let bytes = ["é;".as_bytes(), &w("Gaël«"), b";", &w("é")].concat();
        assert_eq!(
            stray_offsets(&bytes).collect::<Vec<_>>(),
            vec![5, 7, 9],
            "ë, « and the last é (after a UTF-8 é of 2 bytes)"
        );
        assert_eq!(stray_offsets("Zoé;Noël\n".as_bytes()).count(), 0, "valid UTF-8: none");
    }

    #[test]
    fn a_utf8_file_with_a_few_windows_1252_lines_keeps_the_accents_of_both() {
        let mut text = "Nom;Prénom;Ville\n".to_string();
        for i in 0..200 {
            text.push_str(&format!("Lefèvre{i};Élodie;Besançon\n"));
        }
        // A line pasted from an old Windows program, then one whose accent ends the file.
        let pasted = "Côté;Gaël;Mâcon à côté – « chez Zoé »\n";
        let bytes =
            [text.as_bytes(), &encode(pasted, TextEncoding::Windows1252), &encode("Noé", TextEncoding::Windows1252)]
                .concat();
        assert!(std::str::from_utf8(&bytes).is_err(), "the file is not valid UTF-8");
        assert_eq!(guess(&bytes), TextEncoding::Utf8, "mostly UTF-8: read as UTF-8");
        assert_eq!(
            decode(&bytes, TextEncoding::Utf8),
            format!("{text}{pasted}Noé"),
            "the UTF-8 lines and the Windows-1252 line and end all keep their accents"
        );
        // The other way round: a Windows-1252 file where an upper-case accent followed by a
        // symbol happens to make a UTF-8 character (É then « is C9 AB) stays Windows-1252.
        let latin = format!("{}CAFÉ«;Zoé\n", text.replace("Élodie", "Elodie"));
        assert_eq!(
            guess(&encode(&latin, TextEncoding::Windows1252)),
            TextEncoding::Windows1252,
            "accidents are outnumbered"
        );
        // Mac Roman's apostrophe before an accent makes a UTF-8 character (l’É: D5 83), and so
        // does Windows-1252's upper-case accent before a no-break space (É: C9 A0): such files
        // keep their encoding, however few their other accents.
        let mac = "Nom;Prénom;Adresse\nMartin;Sophie;3 place de l’Église\nBernard;Luc;5 chemin de l’Étang\nLefèvre;Paul;8 rue de l’École\n";
        assert_eq!(guess(&encode(mac, TextEncoding::MacRoman)), TextEncoding::MacRoman, "l’Église in Mac Roman");
        let notes = "Nom;Prénom;Notes\nA;B;vient pour l’épicerie fine\nC;D;Livraison jusqu’à Noël\n";
        assert_eq!(guess(&encode(notes, TextEncoding::MacRoman)), TextEncoding::MacRoman, "jusqu’à in Mac Roman");
        let rene = "NOM;PRENOM\nDURAND;RENÉ\u{A0}\nZOLA;NOÉ\n";
        assert_eq!(
            guess(&encode(rene, TextEncoding::Windows1252)),
            TextEncoding::Windows1252,
            "RENÉ and a no-break space"
        );
        // Half and half (a second file appended): both halves read right.
        let half = [text.as_bytes(), &encode(&text, TextEncoding::Windows1252)].concat();
        assert_eq!(guess(&half), TextEncoding::Utf8, "as many UTF-8 characters as stray bytes");
        assert_eq!(decode(&half, TextEncoding::Utf8), format!("{text}{text}"));
    }

    #[test]
    fn a_utf16_file_is_recognised_with_or_without_its_mark_and_read_whole_as_utf8() {
        let text = "Nom\tPrénom\tVille\r\nLefèvre\tÉlodie 😀\tBesançon\r\n";
        for enc in [TextEncoding::Utf16le, TextEncoding::Utf16be] {
            let bare = encode(text, enc);
            let marked = [enc.bom(), &bare].concat();
            assert_eq!(guess(&marked), enc, "{}: its byte-order mark tells it", enc.label());
            assert_eq!(guess(&bare), enc, "{}: every other byte zero tells it without a mark", enc.label());
            assert_eq!(body(&marked, enc), &bare[..], "{}: the mark is not text", enc.label());
            let utf8 = to_utf8(body(&marked, enc), enc).expect("UTF-16 is turned into UTF-8");
            assert_eq!(String::from_utf8(utf8).unwrap(), text, "{}: read back whole, emoji included", enc.label());
        }
        assert_eq!(to_utf8(b"Nom", TextEncoding::Utf8), None, "a one-byte encoding is read as it is");
        assert_eq!(guess("Nom;Prénom\n".as_bytes()), TextEncoding::Utf8, "plain text has no zero bytes");
        assert_ne!(
            guess(b"\x00\x01\x02\x03PNG\x00\x00\x89\x10"),
            TextEncoding::Utf16le,
            "zeros at random are not UTF-16"
        );
    }

    #[test]
    fn a_stray_byte_reads_as_windows_1252_and_its_unassigned_bytes_stay_visible() {
        for b in 0x80..=0xFFu8 {
            let byte = [b];
            let (expected, _, bad) = encoding_rs::WINDOWS_1252.decode(&byte);
            let expected = if bad || expected.chars().all(char::is_control) { "\u{FFFD}".into() } else { expected };
            assert_eq!(
                decode_cell(&[b'a', b, b'z'], TextEncoding::Utf8),
                format!("a{expected}z"),
                "stray byte {b:#04X}"
            );
        }
        // Mac Roman's è (0x8F) in a UTF-8 file: a visible mark, not a control character that
        // the import would remove ("Lefvre").
        assert_eq!(decode_cell(b"Lef\x8Fvre", TextEncoding::Utf8), "Lef\u{FFFD}vre");
    }

    #[test]
    fn characters_an_encoding_cannot_hold_become_question_marks() {
        let bytes = encode("Zoé 😀", TextEncoding::Windows1252);
        assert_eq!(decode(&bytes, TextEncoding::Windows1252), "Zoé ?");
    }
}
