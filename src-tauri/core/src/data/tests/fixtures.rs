//! The exports of Shopify, Square, Mailchimp (zip), Brevo and Google Sheets, and a workbook
//! with serial dates and numbers that lost their zeros (1900 and 1904 date systems). The
//! binary fixtures are made by the helpers below (`COMPTOIR_WRITE_FIXTURES=1` rewrites them)
//! and committed.

use super::*;
use std::io::Write;

pub(super) fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

/// A workbook typed by a merchant: phones and postcodes as numbers (their zeros lost), birth
/// dates as date cells, a second sheet. `date1904`: the old Mac date system.
fn make_xlsx(date1904: bool) -> Vec<u8> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let props = DocProperties::new().set_creation_datetime(&ExcelDateTime::from_ymd(2026, 1, 1).unwrap());
    wb.set_properties(&props);
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let ws = wb.add_worksheet();
    ws.set_name("Clients").unwrap();
    ws.write_string(0, 0, "Fichier clients — boutique").unwrap();
    for (i, h) in
        ["Nom", "Prénom", "Téléphone", "Code postal", "Date de naissance", "Points", "Courriel"].iter().enumerate()
    {
        ws.write_string(2, i as u16, *h).unwrap();
    }
    type Row<'a> = (&'a str, &'a str, f64, f64, (u16, u8, u8), f64, &'a str);
    let rows: [Row; 3] = [
        ("Lefèvre", "Élodie", 612345678.0, 1000.0, (1985, 7, 14), 120.0, "elodie@example.com"),
        ("Côté", "Gaël", 798765432.0, 75002.0, (1990, 2, 3), 0.0, "gael@example.com"),
        ("Roux", "Camille", 145678901.0, 6000.0, (2001, 12, 31), 35.0, "camille@example.com"),
    ];
    for (r, (last, first, phone, pc, (y, m, d), pts, mail)) in rows.iter().enumerate() {
        let r = r as u32 + 3;
        ws.write_string(r, 0, *last).unwrap();
        ws.write_string(r, 1, *first).unwrap();
        ws.write_number(r, 2, *phone).unwrap();
        ws.write_number(r, 3, *pc).unwrap();
        let serial = ExcelDateTime::from_ymd(*y, *m, *d).unwrap().to_excel();
        ws.write_number_with_format(r, 4, if date1904 { serial - 1462.0 } else { serial }, &date).unwrap();
        ws.write_number(r, 5, *pts).unwrap();
        ws.write_string(r, 6, *mail).unwrap();
    }
    let other = wb.add_worksheet();
    other.set_name("Fournisseurs").unwrap();
    other.write_string(0, 0, "Nom").unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    if !date1904 {
        return bytes;
    }
    // Mark the workbook as using the 1904 system (what an old Mac Excel writes).
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut zout = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut body).unwrap();
        if name == "xl/workbook.xml" {
            let text = String::from_utf8(body).unwrap();
            body = text.replacen("<workbookPr", "<workbookPr date1904=\"1\"", 1).into_bytes();
        }
        zout.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        zout.write_all(&body).unwrap();
    }
    zout.finish().unwrap().into_inner()
}

/// Mailchimp's "Export audience": a zip with one CSV per status.
fn make_mailchimp_zip() -> Vec<u8> {
    let head = "Email Address,First Name,Last Name,Address,Phone Number,Birthday,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS";
    let subscribed = format!("{head}\nsophie.blanc@example.com,Sophie,Blanc,\"3 rue Neuve  Lyon  69001 FR\",+33 6 77 88 99 00,03/15,4,\"2024-03-01 10:00:00\",,\"2024-03-01 10:05:00\",,,,,,,FR,,\"2025-01-01 08:00:00\",101,aaa111,,\"\"\"Clientes fidèles\"\"\"\nnews.only@example.com,,,,,,2,\"2024-05-01 10:00:00\",,\"2024-05-01 10:01:00\",,,,,,,,,\"2025-01-01 08:00:00\",102,bbb222,,\n");
    let unsub = format!("{head},UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,UNSUB_CAMPAIGN_ID,UNSUB_REASON,UNSUB_REASON_OTHER\nparti@example.com,Marc,Henry,,,,1,\"2023-01-01 10:00:00\",,,,,,,,,,,\"2025-02-01 08:00:00\",103,ccc333,,,\"2025-02-01 08:00:00\",Soldes,abc,\"No longer interested\",\n");
    let cleaned = format!("{head},CLEAN_TIME,CLEAN_CAMPAIGN_TITLE,CLEAN_CAMPAIGN_ID\nrebond@example.invalid,Rémi,Rebond,,,,1,\"2022-01-01 10:00:00\",,,,,,,,,,,\"2024-02-01 08:00:00\",104,ddd444,,,\"2024-02-01 08:00:00\",Soldes,abc\n");
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().last_modified_time(zip::DateTime::default());
    for (name, body) in [
        ("subscribed_members_export_3a9f1c.csv", subscribed),
        ("unsubscribed_members_export_3a9f1c.csv", unsub),
        ("cleaned_members_export_3a9f1c.csv", cleaned),
    ] {
        z.start_file(name, opts).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

#[test]
fn binary_fixtures_are_the_helpers_output() {
    let files: [(&str, Vec<u8>); 3] = [
        ("excel-serial-dates.xlsx", make_xlsx(false)),
        ("excel-1904-dates.xlsx", make_xlsx(true)),
        ("mailchimp-audience.zip", make_mailchimp_zip()),
    ];
    for (name, bytes) in files {
        if std::env::var_os("COMPTOIR_WRITE_FIXTURES").is_some() {
            std::fs::write(fixtures_dir().join(name), &bytes).unwrap();
        }
        assert!(fixtures_dir().join(name).exists(), "{name} is committed (COMPTOIR_WRITE_FIXTURES=1 writes it)");
    }
}

#[test]
fn a_workbook_with_serial_dates_and_lost_zeros_in_both_date_systems() {
    // The XLS and ODS are the first XLSX saved again by LibreOffice Calc 7.4 (Excel 97-2003,
    // and its own format, where a date cell is an ISO date): the same customers must come in.
    for (name, format) in [
        ("excel-serial-dates.xlsx", FileFormat::Xlsx),
        ("excel-1904-dates.xlsx", FileFormat::Xlsx),
        ("excel-97.xls", FileFormat::Xls),
        ("libreoffice-calc.ods", FileFormat::Ods),
    ] {
        let (mut s, _) = testutil::store();
        let f = open(name);
        assert_eq!(f.format, format, "{name} is recognised from its bytes");
        assert_eq!(f.sheets, vec!["Clients".to_string(), "Fournisseurs".to_string()], "the sheets to choose from");
        let info = f.info(crate::types::Lang::Fr);
        assert_eq!(info.header_row, 2, "the title line above the headers is skipped");
        assert_eq!(info.headers[0], "Nom");
        let r = import_auto(&mut s, &f).report;
        assert_eq!((r.counts.new, r.counts.errors), (3, 0), "{name}: {:#?}", r.rows);
        let e = customer_by_email(&s, "elodie@example.com");
        assert_eq!(e.phone_e164.as_deref(), Some("+33612345678"), "{name}: the phone got its zero back");
        assert_eq!(e.address.postcode.as_deref(), Some("01000"), "{name}: the postcode got its zero back");
        assert_eq!(
            e.birthday.map(|b| (b.day, b.month, b.year)),
            Some((14, 7, Some(1985))),
            "{name}: the date cell in its date system"
        );
        let c = customer_by_email(&s, "camille@example.com");
        assert_eq!(c.birthday.map(|b| (b.day, b.month)), Some((31, 12)));
        assert_eq!(c.address.postcode.as_deref(), Some("06000"));
        assert_eq!(c.phone_e164.as_deref(), Some("+33145678901"), "a landline too");
    }
    for name in ["excel-serial-dates.xlsx", "excel-97.xls", "libreoffice-calc.ods"] {
        let other =
            ImportFile::open(name, &fixture(name), &ReadOptions { sheet: Some(1), ..Default::default() }).unwrap();
        assert_eq!(other.headers(), vec!["Nom".to_string()], "{name}: another sheet can be chosen");
    }
}

#[test]
fn shopify_export() {
    let (mut s, _) = testutil::store();
    let f = open("shopify-customers.csv");
    assert_eq!(f.info(crate::types::Lang::Fr).preset, Preset::Shopify);
    let r = import_auto(&mut s, &f).report;
    assert_eq!(r.counts.new, 4, "{:#?}", r.rows);
    let c = customer_by_email(&s, "camille.roux@example.com");
    assert_eq!(c.consent.map(|c| c.choice), Some(ConsentChoice::Express));
    assert_eq!(c.tags, vec!["thé".to_string(), "vip".to_string()]);
    assert!(notes(&s, c.id).contains("254.90"), "what was spent is kept in the notes");
    let n = customer_by_email(&s, "nathan.bouchard@example.test");
    assert_eq!((n.address.country, n.address.postcode.as_deref()), (crate::types::Country::CA, Some("G1R 2J6")));
    assert!(r
        .rows
        .iter()
        .any(|o| o.problems.iter().any(|p| p.reason == "email_invalid" && p.value == "leagirard@example")));
}

#[test]
fn square_export() {
    let (mut s, _) = testutil::store();
    let f = open("square-customers.csv");
    assert_eq!(f.info(crate::types::Lang::Fr).preset, Preset::Square);
    let r = import_auto(&mut s, &f).report;
    assert_eq!(r.counts.new, 3, "{:#?}", r.rows);
    let i = customer_by_email(&s, "ines.moreau@example.com");
    assert_eq!(i.birthday.map(|b| (b.day, b.month, b.year)), Some((18, 4, None)), "Square's 0000 year means no year");
    assert_eq!(i.tags, vec!["Habitués".to_string()]);
    assert!(
        crate::campaigns::suppression::is_suppressed(s.conn(), "tom.fournier@example.com").unwrap().is_some(),
        "unsubscribed"
    );
    assert!(r.rows.iter().any(|o| o.problems.iter().any(|p| p.value == "13-45")), "an impossible birthday is reported");
}

#[test]
fn mailchimp_zip_of_subscribed_unsubscribed_and_cleaned() {
    let (mut s, _) = testutil::store();
    let f = open("mailchimp-audience.zip");
    assert_eq!(f.format, FileFormat::MailchimpZip);
    let info = f.info(crate::types::Lang::Fr);
    assert_eq!(info.preset, Preset::Mailchimp);
    assert_eq!(
        info.mapping.columns.last(),
        Some(&Field::Consent),
        "the status of each file becomes the consent column"
    );
    let r = import_auto(&mut s, &f).report;
    assert_eq!(r.counts.rows, 4);
    assert_eq!(
        customer_by_email(&s, "sophie.blanc@example.com").consent.map(|c| c.choice),
        Some(ConsentChoice::Express)
    );
    assert_eq!(
        customer_by_email(&s, "sophie.blanc@example.com").birthday.map(|b| (b.day, b.month)),
        Some((15, 3)),
        "Mailchimp's MM/DD"
    );
    assert_eq!(
        customer_by_email(&s, "news.only@example.com").last_name,
        "news.only@example.com",
        "an address-only member keeps the address as name"
    );
    for (email, reason) in [("parti@example.com", "unsubscribed"), ("rebond@example.invalid", "cleaned")] {
        assert_eq!(
            crate::campaigns::suppression::is_suppressed(s.conn(), email).unwrap().map(|x| x.reason.code()),
            Some(reason)
        );
        assert_eq!(customer_by_email(&s, email).consent.map(|c| c.choice), Some(ConsentChoice::Refused));
    }
}

#[test]
fn a_mailchimp_member_with_a_cell_too_long_is_reported_at_its_line_never_dropped() {
    let (mut s, _) = testutil::store();
    let long = "x".repeat(12_000);
    let body = format!(
        "Email Address,First Name,Last Name,NOTES\nana@example.com,Ana,Roux,\nlong@example.com,Léa,Long,{long}\nzoe@example.com,Zoé,Sud,\n"
    );
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("subscribed_members_export_1.csv", zip::write::SimpleFileOptions::default()).unwrap();
    z.write_all(body.as_bytes()).unwrap();
    let bytes = z.finish().unwrap().into_inner();
    let f = ImportFile::open("audience.zip", &bytes, &ReadOptions::default()).unwrap();
    assert_eq!(f.format, FileFormat::MailchimpZip);
    let opts = options(&f, &s);
    let run = import(&mut s, &f, &opts);
    let r = &run.report;
    assert_eq!(
        (r.counts.rows, r.counts.new, r.counts.errors),
        (3, 2, 1),
        "the member in the middle is counted, as an error"
    );
    let err = r.rows.iter().find(|o| o.kind == RowKind::Error).expect("the long member is in the report");
    assert_eq!(err.line, 3, "at its line of the table (the header is line 1)");
    assert_eq!(err.problems[0].reason, "cell_too_long");
    let (errors, _) = super::super::error_file::error_file(&f, &run.errors, crate::types::Lang::Fr).unwrap();
    let text = String::from_utf8(errors).unwrap();
    assert_eq!(text.lines().count(), 2, "the file of rows in error holds the header and that member's line: {text}");
    assert!(text.contains("long@example.com;Léa;Long;;"), "with its other cells, the long one empty: {text}");
}

#[test]
fn an_unsubscribed_member_with_a_cell_too_long_is_still_suppressed_and_named() {
    let (mut s, _) = testutil::store();
    // Already a customer, who unsubscribed on Mailchimp with a long note.
    let lea = super::add(&mut s, "Léa", "Long", "long@example.com", "Lyon");
    let body = format!("Email Address,First Name,Last Name,NOTES\nlong@example.com,Léa,Long,{}\n", "x".repeat(12_000));
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("unsubscribed_members_export_1.csv", zip::write::SimpleFileOptions::default()).unwrap();
    z.write_all(body.as_bytes()).unwrap();
    let bytes = z.finish().unwrap().into_inner();
    let f = ImportFile::open("audience.zip", &bytes, &ReadOptions::default()).unwrap();
    let opts = options(&f, &s);
    let r = import(&mut s, &f, &opts).report;
    let err = r.rows.iter().find(|o| o.kind == RowKind::Error).expect("the member is an error");
    assert_eq!(err.name, "Léa Long", "the report names the member");
    assert!(err.suppressed && r.counts.suppressed == 1, "{r:#?}");
    assert!(
        crate::campaigns::suppression::is_suppressed(s.conn(), "long@example.com").unwrap().is_some(),
        "their unsubscribe holds, whatever happens to the row: no campaign reaches the customer"
    );
    assert_eq!(s.customer(lea).unwrap().email.as_deref(), Some("long@example.com"));
}

#[test]
fn brevo_and_google_sheets_exports() {
    let (mut s, _) = testutil::store();
    let f = open("brevo-contacts.csv");
    assert_eq!(f.info(crate::types::Lang::Fr).preset, Preset::Brevo);
    let r = import_auto(&mut s, &f).report;
    assert_eq!(r.counts.new, 3, "{:#?}", r.rows);
    assert_eq!(
        customer_by_email(&s, "anne.leroy@example.com").phone_e164.as_deref(),
        Some("+33611223344"),
        "33611223344 is +33"
    );
    assert!(
        crate::campaigns::suppression::is_suppressed(s.conn(), "pierre.faure@example.com").unwrap().is_some(),
        "blocklisted"
    );
    assert_eq!(customer_by_email(&s, "anne.leroy@example.com").consent, None, "not blocklisted is not consent");

    let g = open("google-sheets.csv");
    let info = g.info(crate::types::Lang::Fr);
    assert_eq!((info.delimiter.as_deref(), info.encoding), (Some(","), Some(TextEncoding::Utf8)));
    assert_eq!(
        info.mapping.date_orders[4],
        Some(DateOrder::MonthDay),
        "12/31 tells month first, shown to the merchant"
    );
    let r = import_auto(&mut s, &g).report;
    assert_eq!(r.counts.new, 3, "{:#?}", r.rows);
    assert_eq!(customer_by_email(&s, "louis.chevalier@example.com").birthday.map(|b| (b.day, b.month)), Some((14, 2)));
    assert!(notes(&s, customer_by_email(&s, "emma.morel@example.com").id).contains("virgule, et \"guillemets\""));
}

#[test]
fn a_fifty_thousand_line_file_with_hostile_text_imports() {
    let (mut s, _) = testutil::store();
    let mut text = String::from("Nom;Prénom;E-mail;Téléphone;Notes\r\n");
    for i in 0..50_000 {
        text.push_str(&format!("Nom{i} <script>x</script>;Zoé 😀;c{i}@example.com;06{:08};\"ligne\r\n{i}\"\r\n", i));
    }
    let f = ImportFile::open("gros.csv", text.as_bytes(), &ReadOptions::default()).unwrap();
    let r = import_auto(&mut s, &f).report;
    assert_eq!(r.counts.new, 50_000);
    assert!(r.rows.len() <= import::MAX_REPORTED_ROWS, "the report stays bounded");
    assert_eq!(count(&s, "SELECT count(*) FROM customers"), 50_000);
}

#[test]
fn the_row_count_announced_for_progress_is_the_number_of_rows_read() {
    // Blank rows (spaces, a vertical tab, a no-break space), a `sep=` line, a quoted newline,
    // a cell too long and a header chosen further down: the cheap count must agree.
    let long = "x".repeat(crate::data::csv_read::MAX_CELL + 1);
    let csv = format!(
        "sep=;\r\nFichier\r\nNom;Courriel\r\nA;a@example.com\r\n ; \r\n\u{b};\u{a0}\r\n\"B\nbis\";b@example.com\r\n;;\r\n{long};c@example.com\r\nD;\r\n"
    );
    for header_row in [None, Some(0), Some(1), Some(2)] {
        let opts = ReadOptions { header_row, ..ReadOptions::default() };
        let f = ImportFile::open("mixte.csv", csv.as_bytes(), &opts).unwrap();
        assert_eq!(f.data_len(), f.data().count(), "the count agrees with the rows read (header row {header_row:?})");
    }
    let latin = encoding_rs::WINDOWS_1252.encode("Nom;Ville\r\nA;Sète\r\n\u{a0};\u{a0}\r\n").0.into_owned();
    let f = ImportFile::open("latin.csv", &latin, &ReadOptions::default()).unwrap();
    assert_eq!(f.data_len(), 1, "a row of no-break spaces in Windows-1252 is blank");
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let f = ImportFile::open(&name, &bytes, &ReadOptions::default()).unwrap();
        assert_eq!(f.data_len(), f.data().count(), "{name}: the count agrees with the rows read");
        assert!(f.data_len() > 0, "{name} has rows");
    }
}

#[test]
fn a_file_opening_with_a_note_too_long_still_finds_its_headers_on_their_row() {
    // Some tills write a legal notice above the table; one longer than a cell may be is not
    // readable, yet it keeps its place: the header row, the headers, the sample and the rows
    // must all count it, or the headers shown would be the first customer's values.
    let long = "Mention légale ".repeat(1_000);
    let csv = format!("{long};\r\nNom;Courriel\r\nAnne;anne@example.com\r\nBruno;bruno@example.com\r\n");
    for header_row in [None, Some(1)] {
        let opts = ReadOptions { header_row, ..ReadOptions::default() };
        let f = ImportFile::open("notice.csv", csv.as_bytes(), &opts).unwrap();
        assert_eq!(f.header_row, 1, "the header row is the second record, after the notice");
        assert_eq!(f.headers(), vec!["Nom", "Courriel"], "the headers are read on the header row ({header_row:?})");
        let info = f.info(crate::types::Lang::Fr);
        assert_eq!(info.sample[1], vec!["Nom", "Courriel"], "the sample is indexed as the header row is");
        assert_eq!(info.sample[0], vec!["", ""], "the unreadable notice shows as a blank row, in its place");
        let first: Vec<String> = f.data().next().unwrap().unwrap().cells;
        assert_eq!(first, vec!["Anne", "anne@example.com"], "the first customer is the row after the headers");
        assert_eq!(f.data().count(), 2, "both customers are rows");
    }
}

#[test]
fn a_csv_whose_lines_run_to_excels_last_column_shows_only_the_columns_that_hold_something() {
    // Excel writes every line of a CSV to the widest column it ever saw used: 16,384 cells,
    // nearly all empty. The mapping screen must not list them all (it froze), and the import
    // reads the rows as before.
    let pad = ";".repeat(16_380);
    let mut csv = format!("Nom;Prénom;E-mail;Accepte les offres{pad}\r\n");
    csv.push_str(&format!("Lefèvre;Élodie;elodie@example.com;{pad}\r\n"));
    csv.push_str(&format!("Côté;Gaël;;oui{pad}\r\n"));
    let f = ImportFile::open("large.csv", csv.as_bytes(), &ReadOptions::default()).unwrap();
    let info = f.info(crate::types::Lang::Fr);
    assert_eq!(info.headers, vec!["Nom", "Prénom", "E-mail", "Accepte les offres"], "the columns holding something");
    assert_eq!(info.mapping.columns.len(), 4, "the mapping is as wide as what is shown");
    assert_eq!(info.hidden_columns, 16_380, "the screen says how many columns are not shown");
    assert!(info.sample.iter().all(|r| r.len() <= 4), "the sample is as wide as the headers shown");
    let (mut s, _) = testutil::store();
    let r = import_auto(&mut s, &f).report;
    assert_eq!((r.counts.new, r.counts.errors), (2, 0), "{:#?}", r.rows);
    // Its rows in error: "Erreur" after the last column holding something, not past Excel's last.
    let bad = ImportFile::open(
        "large.csv",
        format!("Nom;E-mail{pad}\r\nRoy;roy@@example.com{pad}\r\n").as_bytes(),
        &ReadOptions::default(),
    )
    .unwrap();
    let mut opts = super::options(&bad, &s);
    opts.bad_values = BadValues::SkipRow;
    let run = super::import(&mut s, &bad, &opts);
    let (bytes, _) = super::super::error_file::error_file(&bad, &run.errors, crate::types::Lang::Fr).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("\u{feff}Nom;E-mail;Erreur\r\nRoy;roy@@example.com;"), "{}", &text[..text.len().min(200)]);

    // A value in the sampled rows keeps its column on the screen, whatever its header.
    let rows = vec![vec!["A".to_string(), String::new(), "x".to_string()], vec![]];
    assert_eq!(
        crate::data::inspect::shown_width(&["Nom".into(), String::new()], &rows),
        3,
        "a value past the headers is shown"
    );
    let wide: Vec<String> = (0..5_000).map(|i| format!("Colonne {i}")).collect();
    assert_eq!(
        crate::data::inspect::shown_width(&wide, &[]),
        crate::data::inspect::MAX_SHOWN_COLUMNS,
        "never more than the widest shown"
    );
}

#[test]
fn excels_unicode_text_in_utf16_reads_as_its_french_csv_does_and_its_errors_come_back_in_utf16() {
    // Excel's "Texte Unicode (*.txt)": UTF-16 LE with its mark, tabs, CRLF; the same sheet as
    // the French Excel CSV.
    let utf16 = super::open("excel-texte-unicode.txt");
    let latin = super::open("excel-fr-windows1252.csv");
    let (a, b) = (utf16.info(crate::types::Lang::Fr), latin.info(crate::types::Lang::Fr));
    assert_eq!(a.encoding, Some(TextEncoding::Utf16le), "UTF-16 is recognised from its mark");
    assert_eq!(a.delimiter.as_deref(), Some("\\t"), "Excel's Unicode text is tab-separated");
    assert_eq!((&a.headers, &a.mapping.columns, a.rows), (&b.headers, &b.mapping.columns, b.rows), "same table");
    assert_eq!(utf16.sample(12), latin.sample(12), "same cells, accents and quoted line breaks included");

    let (mut s, _) = testutil::store();
    let mut opts = super::options(&utf16, &s);
    opts.bad_values = BadValues::SkipRow;
    let run = super::import(&mut s, &utf16, &opts);
    assert_eq!(run.report.counts.errors, 3, "the same bad rows: {:#?}", run.errors);
    assert_eq!(super::customer_by_email(&s, "marie-eve.tremblay@example.test").first_name, "Marie-Ève");

    let (bytes, _) = super::super::error_file::error_file(&utf16, &run.errors, crate::types::Lang::Fr).unwrap();
    assert!(bytes.starts_with(b"\xFF\xFE"), "written back in UTF-16 with its mark, for Excel to open");
    let back = ImportFile::open("erreurs.txt", &bytes, &ReadOptions::default()).unwrap();
    let info = back.info(crate::types::Lang::Fr);
    assert_eq!(
        (info.encoding, info.delimiter.as_deref(), info.rows),
        (Some(TextEncoding::Utf16le), Some("\\t"), 3),
        "the error file is read back as it was written"
    );
    assert_eq!(info.headers.last().map(String::as_str), Some("Erreur"));
    assert_eq!(&info.headers[..info.headers.len() - 1], &a.headers[..], "the file's own columns first");

    // The same text big-endian (rarer: some Mac tools): read the same, its errors in Excel's
    // own little-endian.
    let text = crate::data::decode::decode(&super::fixture("excel-texte-unicode.txt"), TextEncoding::Utf16le);
    let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect();
    let be = ImportFile::open("unicode-be.txt", &be, &ReadOptions::default()).unwrap();
    assert_eq!(be.info(crate::types::Lang::Fr).encoding, Some(TextEncoding::Utf16be));
    let (mut s, _) = testutil::store();
    let run = super::import(&mut s, &be, &opts);
    assert_eq!(run.report.counts.errors, 3);
    let (bytes, _) = super::super::error_file::error_file(&be, &run.errors, crate::types::Lang::Fr).unwrap();
    assert!(bytes.starts_with(b"\xFF\xFE"), "a big-endian file's errors come back little-endian");
}

#[test]
fn a_picture_or_a_pdf_chosen_by_mistake_is_refused_not_shown_as_a_table() {
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00";
    let pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
    for (name, bytes) in [("photo.png", &png[..]), ("facture.pdf", &pdf[..])] {
        let e = ImportFile::open(name, bytes, &ReadOptions::default()).err().expect("refused");
        assert!(format!("{e:?}").contains("import_file_unreadable"), "{name}: {e:?}");
    }
    // A UTF-8 file's errors start with the mark too: Excel reads UTF-8 without it as
    // Windows-1252 and the accents to fix come out garbled.
    let f =
        ImportFile::open("shop.csv", "Nom,E-mail\nZoé,zoe@@example.com\n".as_bytes(), &ReadOptions::default()).unwrap();
    let (mut s, _) = testutil::store();
    let mut opts = super::options(&f, &s);
    opts.bad_values = BadValues::SkipRow;
    let run = super::import(&mut s, &f, &opts);
    let (bytes, _) = super::super::error_file::error_file(&f, &run.errors, crate::types::Lang::Fr).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFNom,E-mail,Erreur"), "{:?}", String::from_utf8_lossy(&bytes));
}

#[test]
fn the_error_column_is_the_same_column_on_every_line_even_after_a_row_wider_than_its_header() {
    // A stray cell past the last named column (a remark typed to the right of the table).
    let text = "Nom;E-mail\nZoé;zoe@@example.com;à rappeler;le 3\nLuc;luc@@example.com\n";
    let f = ImportFile::open("caisse.csv", text.as_bytes(), &ReadOptions::default()).unwrap();
    let (mut s, _) = testutil::store();
    let mut opts = super::options(&f, &s);
    opts.bad_values = BadValues::SkipRow;
    let run = super::import(&mut s, &f, &opts);
    assert_eq!(run.errors.len(), 2, "{:?}", run.errors);
    let (bytes, _) = super::super::error_file::error_file(&f, &run.errors, crate::types::Lang::Fr).unwrap();
    let back = ImportFile::open("caisse - erreurs.csv", &bytes, &ReadOptions::default()).unwrap();
    let header = back.headers();
    let at = header.iter().position(|h| h == "Erreur").expect("an Erreur column");
    assert_eq!(at, header.len() - 1, "Erreur is the last column: {header:?}");
    let rows: Vec<Vec<String>> = back.data().map(|r| r.unwrap().cells).collect();
    assert_eq!(rows[0][..4], ["Zoé", "zoe@@example.com", "à rappeler", "le 3"], "the stray cells are kept");
    for row in &rows {
        assert_eq!(row.len(), header.len(), "every line as wide as the header: {row:?}");
        assert!(row[at].contains("E-mail"), "each reason sits under Erreur, not beside it: {row:?}");
    }
}

#[test]
fn a_column_of_values_without_a_header_can_be_mapped_and_a_header_below_blank_lines_can_be_chosen() {
    // The phones typed to the right of the named columns, without a header of their own.
    let f = ImportFile::open(
        "carnet.csv",
        "Nom;E-mail\nAnne;anne@example.com;06 12 34 56 78\n".as_bytes(),
        &ReadOptions::default(),
    )
    .unwrap();
    let info = f.info(crate::types::Lang::Fr);
    assert_eq!(info.headers, vec!["Nom", "E-mail", ""], "the unnamed column is on the screen, to be mapped");
    assert_eq!(info.mapping.columns.len(), 3);
    assert_eq!(info.hidden_columns, 0);
    let (mut s, _) = testutil::store();
    let mut opts = super::options(&f, &s);
    opts.mapping.columns[2] = Field::Phone;
    let r = super::import(&mut s, &f, &opts).report;
    assert_eq!(r.counts.new, 1, "{:#?}", r.rows);
    assert_eq!(
        super::customer_by_email(&s, "anne@example.com").phone_e164.as_deref(),
        Some("+33612345678"),
        "the unnamed column mapped by the merchant is imported"
    );

    // The first phone typed in that column comes after the dozen rows the screen shows: the
    // column is listed all the same.
    let mut text = String::from("Nom;E-mail\n");
    for i in 0..40 {
        text.push_str(&format!("Client{i};client{i}@example.com\n"));
    }
    text.push_str("Tardif;tardif@example.com;06 12 34 56 79\n");
    let f = ImportFile::open("carnet.csv", text.as_bytes(), &ReadOptions::default()).unwrap();
    let info = f.info(crate::types::Lang::Fr);
    assert_eq!(info.headers, vec!["Nom", "E-mail", ""], "a column whose first value comes late is listed");
    assert_eq!(info.hidden_columns, 0);

    // A title, blank lines, then the headers on line 5: the sample reaches line 5, from which
    // the screen offers its choice of header row.
    let f = ImportFile::open(
        "export.csv",
        "Export du 01/12/2026;;\n;;\n;;\n;;\nNom;Prénom;E-mail\nRoy;Jeanne;jeanne@example.com\n".as_bytes(),
        &ReadOptions::default(),
    )
    .unwrap();
    let info = f.info(crate::types::Lang::Fr);
    assert!(info.sample.len() >= 5, "the blank lines are counted in the sample: {:?}", info.sample);
    assert_eq!(info.sample[4][0], "Nom", "line 5 of the file is record 5 of the sample");
}

#[test]
fn a_utf8_file_with_one_line_pasted_from_windows_keeps_every_accent() {
    // LibreOffice's UTF-8 export where one line came from an old Windows program in
    // Windows-1252: the file is not valid UTF-8, but it is UTF-8 but for that line.
    let (mut s, _) = testutil::store();
    let f = open("utf8-une-ligne-windows1252.csv");
    let info = f.info(crate::types::Lang::Fr);
    assert_eq!(info.encoding, Some(TextEncoding::Utf8), "mostly UTF-8 is read as UTF-8");
    assert_eq!(info.headers[1], "Prénom");
    assert_eq!((info.stray_line_count, info.stray_lines.clone()), (1, vec![5]), "line 5 is named, to be checked");
    let r = import_auto(&mut s, &f).report;
    assert_eq!(r.counts.new, 5, "{:#?}", r.rows);
    let pasted = customer_by_email(&s, "gael.cote@example.com");
    assert_eq!(
        (pasted.last_name.as_str(), pasted.first_name.as_str(), pasted.address.city.as_deref()),
        ("Côté", "Gaël", Some("Nîmes")),
        "the Windows-1252 line keeps its accents"
    );
    assert!(notes(&s, pasted.id).contains("Ajouté à la main – « client fidèle »"), "and its notes");
    let after = customer_by_email(&s, "anais.nguyen@example.com");
    assert_eq!(
        (after.last_name.as_str(), after.first_name.as_str()),
        ("Nguyễn", "Anaïs"),
        "the UTF-8 lines keep theirs"
    );
    assert!(notes(&s, after.id).contains("arachides 🥜"));
    assert_eq!(customer_by_email(&s, "chloe.duboeuf@example.com").last_name, "Dubœuf");
}
