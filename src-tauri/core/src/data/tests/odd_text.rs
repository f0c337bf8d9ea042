//! Text files that look odd at the byte level and are still the merchant's customers: UTF-16
//! without its mark in another script than Latin, a file padded with zero bytes, a UTF-8 file
//! with rows in Windows-1252.

use super::*;

#[test]
fn utf16_without_its_mark_in_cyrillic_is_read_as_utf16() {
    let text = "Фамилия;Имя;E-mail\r\nИванова;Анна;anna@example.com\r\nПетров;Иван;ivan@example.com\r\n";
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    for (bytes, enc) in [(le, TextEncoding::Utf16le), (be, TextEncoding::Utf16be)] {
        assert_eq!(decode::guess(&bytes), enc, "few zero bytes, all on the high side, and a line end: UTF-16");
        let f = ImportFile::open("clients.txt", &bytes, &ReadOptions::default()).expect("not refused as binary");
        let info = f.info(crate::types::Lang::Fr);
        assert_eq!(info.headers, vec!["Фамилия", "Имя", "E-mail"], "{enc:?}");
        assert_eq!(info.rows, 2);
    }
    // Text without a zero byte is never taken for UTF-16.
    assert_eq!(decode::guess("Nom;E-mail\r\nAnne;anne@example.com\r\n".as_bytes()), TextEncoding::Utf8);
}

#[test]
fn a_file_padded_with_zero_bytes_at_its_end_is_text() {
    let mut bytes = b"Nom;E-mail\r\nAnne;anne@example.com\r\n".to_vec();
    bytes.extend(std::iter::repeat_n(0u8, 478));
    let f = ImportFile::open("caisse.csv", &bytes, &ReadOptions::default()).expect("padding is not a picture");
    let (mut s, _) = testutil::store();
    let r = import_auto(&mut s, &f).report;
    assert_eq!((r.counts.new, r.counts.errors), (1, 0), "the padding is no customer: {:#?}", r.rows);
    // A zero byte inside the text still says it is not text.
    let mut inside = b"Nom;E-mail\r\nAnne;an\0ne@example.com\r\n".to_vec();
    inside.extend(b"Luc;luc@example.com\r\n");
    assert!(ImportFile::open("image.csv", &inside, &ReadOptions::default()).is_err());
}

#[test]
fn a_utf16_file_padded_with_zero_bytes_is_read_with_or_without_its_mark() {
    let text = "Nom\tE-mail\r\nZoé\tzoe@example.com\r\n";
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    for (with_mark, padding) in [(false, 64), (true, 63), (true, 64), (false, 7)] {
        let mut bytes = if with_mark { vec![0xFF, 0xFE] } else { Vec::new() };
        bytes.extend(&le);
        bytes.extend(std::iter::repeat_n(0u8, padding));
        let f = ImportFile::open("unicode.txt", &bytes, &ReadOptions::default())
            .unwrap_or_else(|e| panic!("mark {with_mark}, {padding} zero bytes: {e:?}"));
        let (mut s, _) = testutil::store();
        let r = import_auto(&mut s, &f).report;
        assert_eq!((r.counts.new, r.counts.errors), (1, 0), "mark {with_mark}, {padding} zero bytes: {:#?}", r.rows);
    }
}

/// The lines the mapping screen names as read in Windows-1252 are the lines the import's report
/// gives those rows: a `sep=` line ended by a lone CR in a file of LFs, a quoted cell running
/// over two lines, a UTF-8 byte-order mark, and rows above the header row left out.
#[test]
fn the_lines_named_as_windows_1252_are_the_rows_report_lines() {
    let w = |t: &str| decode::encode(t, TextEncoding::Windows1252);
    let bytes = [
        "\u{FEFF}sep=;\r".as_bytes(),
        &w("Liste exportée\n"),
        "Nom;Prénom;Notes\n".as_bytes(),
        "Lefèvre;Élodie;\"deux\nlignes ".as_bytes(),
        &w("Gaël\""),
        ";\n".as_bytes(),
        "Roy;Zoé;\n".as_bytes(),
        &w("Côté;Gaël;\n"),
        "Noé;Anaïs;\"a\r\nb\"\n".as_bytes(),
        &w("Noël;Gaëlle;x\n"),
    ]
    .concat();
    let opts = ReadOptions { header_row: Some(1), ..ReadOptions::default() };
    let f = ImportFile::open("mixte.csv", &bytes, &opts).unwrap();
    assert_eq!(f.encoding, Some(TextEncoding::Utf8), "mostly UTF-8");
    let expected: Vec<u32> = f
        .data()
        .map(|r| r.unwrap())
        .filter(|r| r.cells.iter().any(|c| c.contains('ë')))
        .map(|r| r.line as u32)
        .collect();
    assert_eq!(expected.len(), 3, "three rows hold a Windows-1252 ë: {expected:?}");
    assert_eq!(f.stray_lines(10), (3, expected.clone()), "named by the line the report gives them");
    assert_eq!(f.stray_lines(1), (3, expected[..1].to_vec()), "all counted, the first named");
    let info = f.info(crate::types::Lang::Fr);
    assert_eq!((info.stray_line_count, info.stray_lines), (3, expected), "shown on the mapping screen");
}
