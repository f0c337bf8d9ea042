//! The import on the project's own test files, written to look like the real exports, bad
//! rows included; undo; consent; suppression; round trips through every export (matching and
//! duplicates in `matching.rs`).

use super::import::ImportRun;
use super::*;
use crate::customers::{ConsentChoice, ConsentSource, CustomerInput, NewCustomer};
use crate::storage::Store;
use crate::testutil;
use std::path::PathBuf;

mod backup_keys;
mod backups;
mod bulk_import;
mod fixtures;
mod matching;
mod odd_text;
mod restore_halves;
mod workbooks;

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub(crate) fn open(name: &str) -> ImportFile {
    ImportFile::open(name, &fixture(name), &ReadOptions::default()).unwrap()
}

pub(crate) fn options(file: &ImportFile, store: &Store) -> ImportOptions {
    let info = file.info(store.settings().unwrap().language);
    ImportOptions {
        mapping: info.mapping,
        matching: MatchPolicy::FillEmpty,
        bad_values: BadValues::KeepInNotes,
        on_errors: OnErrors::ImportValid,
        soft_opt_in: None,
    }
}

pub(crate) fn import(store: &mut Store, file: &ImportFile, opts: &ImportOptions) -> ImportRun {
    store.import_run(file, opts, None, &mut |_| true).unwrap().value
}

fn customer_by_email(store: &Store, email: &str) -> crate::customers::Customer {
    let id: i64 = store
        .conn()
        .query_row("SELECT id FROM customers WHERE email_norm = ?1", [email.to_lowercase()], |r| r.get(0))
        .unwrap_or_else(|_| panic!("{email} was imported"));
    store.customer(id).unwrap()
}

pub(super) fn count(store: &Store, sql: &str) -> i64 {
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn notes(store: &Store, id: i64) -> String {
    let mut st = store.conn().prepare("SELECT body FROM notes WHERE customer_id = ?1").unwrap();
    st.query_map([id], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_french_excel_csv_is_read_as_the_merchant_wrote_it() {
    let (s, _) = testutil::store();
    let f = open("excel-fr-windows1252.csv");
    let info = f.info(crate::types::Lang::Fr);
    assert_eq!(info.encoding, Some(TextEncoding::Windows1252), "French Excel writes Windows-1252");
    assert_eq!(info.delimiter.as_deref(), Some(";"));
    assert_eq!(info.headers[1], "Prénom", "accents decoded");
    use Field::*;
    assert_eq!(
        info.mapping.columns,
        vec![
            LastName,
            FirstName,
            Email,
            Phone,
            Birthday,
            AddressLine1,
            Postcode,
            City,
            Country,
            Notes,
            Consent,
            Points,
            Stamps
        ],
        "every French header recognised"
    );
    assert_eq!(info.mapping.date_orders[4], Some(DateOrder::DayMonth), "25/12 tells day first");
    assert_eq!(info.rows, 10, "the empty row is not a row");
    drop(s);
}

#[test]
fn the_preview_says_what_each_row_will_do_and_writes_nothing() {
    let (mut s, _) = testutil::store();
    let f = open("excel-fr-windows1252.csv");
    let opts = options(&f, &s);
    let preview = s.import_preview(&f, &opts, &mut |_| true).unwrap().report;
    assert_eq!(preview.import_id, None);
    assert_eq!(count(&s, "SELECT count(*) FROM customers"), 0, "a preview writes nothing");
    assert_eq!(count(&s, "SELECT count(*) FROM imports"), 0);
    let run = import(&mut s, &f, &opts).report;
    let strip = |r: &ImportReport| {
        let mut r = r.clone();
        r.import_id = None;
        for o in r.rows.iter_mut() {
            o.customer_id = None;
            o.similar_to.iter_mut().for_each(|x| x.id = 0);
        }
        r
    };
    assert_eq!(strip(&preview), strip(&run), "the preview runs the same code as the import");
}

#[test]
fn bad_rows_do_not_lose_the_customer_and_excel_damage_is_repaired() {
    let (mut s, _) = testutil::store();
    let f = open("excel-fr-windows1252.csv");
    let opts = options(&f, &s);
    let r = import(&mut s, &f, &opts).report;
    assert_eq!(r.counts.errors, 0, "with 'keep in notes' no row is lost: {:#?}", r.rows);
    assert_eq!(r.counts.new, 9, "9 people (the case-different duplicate is the same person)");
    assert_eq!(r.counts.updated + r.counts.unchanged, 1);

    let elodie = customer_by_email(&s, "elodie.lefevre@example.com");
    assert_eq!(elodie.phone_e164.as_deref(), Some("+33612345678"));
    assert_eq!(elodie.birthday.map(|b| (b.day, b.month, b.year)), Some((14, 7, Some(1985))));
    let consent = elodie.consent.clone().expect("a 'oui' becomes a consent record");
    assert_eq!((consent.choice, consent.source), (ConsentChoice::Express, ConsentSource::Import));
    assert!(consent.wording.as_deref().unwrap().contains("excel-fr-windows1252.csv"), "the file's name is the proof");
    let points: i64 = s
        .conn()
        .query_row(
            "SELECT sum(points) FROM points_ledger WHERE customer_id = ?1 AND reason = 'import'",
            [elodie.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(points, 1200, "'1 200' points as a ledger entry with reason import");
    let stamps: i64 = s
        .conn()
        .query_row(
            "SELECT sum(stamps) FROM stamps_ledger WHERE customer_id = ?1 AND reason = 'import'",
            [elodie.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stamps, 3);
    assert!(
        notes(&s, elodie.id).contains("doublon de la ligne 2"),
        "the duplicate row's note joined the first customer"
    );
    let dup = r.rows.iter().find(|o| o.line == 11).unwrap_or_else(|| panic!("{:#?}", r.rows));
    assert_eq!(dup.duplicate_of_line, Some(2), "a case-different email is the same person");

    let gael = customer_by_email(&s, "gael.cote@example.com");
    assert_eq!(gael.phone_e164.as_deref(), Some("+33612345679"), "612345679 got its leading zero back");
    assert_eq!(gael.address.postcode.as_deref(), Some("01000"), "1000 got its leading zero back");
    assert_eq!(gael.consent.map(|c| c.choice), Some(ConsentChoice::Refused), "'non' is recorded as refused");

    let me = customer_by_email(&s, "marie-eve.tremblay@example.test");
    assert_eq!(me.phone_e164.as_deref(), Some("+15145550199"), "a Québec number read in the row's country");
    assert_eq!(me.address.country, crate::types::Country::CA);
    assert!(notes(&s, me.id).contains("revient chaque été"), "a quoted newline stays in the note");

    let jean: i64 =
        s.conn().query_row("SELECT id FROM customers WHERE last_name = 'Durand'", [], |r| r.get(0)).unwrap();
    let jean = s.customer(jean).unwrap();
    assert_eq!(jean.email, None, "an invalid email is left out…");
    assert!(notes(&s, jean.id).contains("jean.durand@@example.com"), "…and kept in the notes");
    assert!(r
        .rows
        .iter()
        .any(|o| o.line == 6
            && o.problems.iter().any(|p| p.reason == "email_invalid" && p.column == "E-mail" && p.dropped)));

    let sophie = customer_by_email(&s, "sophie.martin@example.com");
    assert_eq!(sophie.birthday, None, "31/02 is impossible");
    assert!(r.rows.iter().any(|o| o.line == 7 && o.problems.iter().any(|p| p.reason == "date_impossible")));

    let paul = customer_by_email(&s, "paul.formule@example.com");
    assert!(!paul.last_name.starts_with('='), "a formula is never stored as a value");
    assert!(r.rows.iter().any(|o| o.problems.iter().any(|p| p.reason == "formula")));
    let zoe = customer_by_email(&s, "zoe.html@example.com");
    assert_eq!(zoe.last_name, "<img src=x onerror=alert(1)>", "hostile text is kept as text");

    let luc = customer_by_email(&s, "luc.bernard@example.com");
    assert_eq!(luc.consent.map(|c| c.choice), Some(ConsentChoice::Refused));
    assert_eq!(
        crate::campaigns::suppression::is_suppressed(s.conn(), "luc.bernard@example.com")
            .unwrap()
            .map(|x| x.reason.code()),
        Some("unsubscribed")
    );
    let chloe: i64 =
        s.conn().query_row("SELECT id FROM customers WHERE last_name = 'Petit'", [], |r| r.get(0)).unwrap();
    assert_eq!(s.customer(chloe).unwrap().consent, None, "no consent column value: no consent");
    assert!(s.integrity_check().unwrap());
}

#[test]
fn skip_row_reports_errors_and_the_error_file_keeps_the_encoding_and_separator() {
    let (mut s, _) = testutil::store();
    let f = open("excel-fr-windows1252.csv");
    let mut opts = options(&f, &s);
    opts.bad_values = BadValues::SkipRow;
    let run = import(&mut s, &f, &opts);
    assert_eq!(run.report.counts.errors, 3, "invalid email, impossible date, formula: {:#?}", run.errors);
    let named: Vec<&str> =
        run.report.rows.iter().filter(|r| r.kind == RowKind::Error).map(|r| r.name.as_str()).collect();
    assert!(
        named.contains(&"Jean Durand") && named.contains(&"Sophie Martin"),
        "a row in error says whose it is, as the file wrote it: {named:?}"
    );
    let (bytes, name) = error_file::error_file(&f, &run.errors, crate::types::Lang::Fr).unwrap();
    assert!(name.ends_with(".csv") && name.contains("lignes en erreur"));
    assert_eq!(decode::guess(&bytes), TextEncoding::Windows1252, "written back in Windows-1252");
    let text = decode::decode(&bytes, TextEncoding::Windows1252);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert!(lines[0].starts_with("Nom;Prénom;") && lines[0].ends_with(";Erreur"), "{}", lines[0]);
    assert!(text.contains("jean.durand@@example.com") && text.contains("E-mail : adresse e-mail invalide"), "{text}");

    // Fixed in Excel and imported again: the rows come in.
    let fixed = text.replace("jean.durand@@example.com", "jean.durand@example.com").replace("31/02/1985", "28/02/1985");
    let fixed_file =
        ImportFile::open("corrigé.csv", &decode::encode(&fixed, TextEncoding::Windows1252), &ReadOptions::default())
            .unwrap();
    let info = fixed_file.info(crate::types::Lang::Fr);
    assert_eq!(info.mapping.columns.last(), Some(&Field::Ignore), "the Erreur column is not imported");
    let mut o2 = options(&fixed_file, &s);
    o2.bad_values = BadValues::SkipRow;
    let r2 = import(&mut s, &fixed_file, &o2).report;
    assert!(r2.counts.new >= 2, "the fixed rows are imported: {:?}", r2.counts);
    assert!(
        s.conn()
            .query_row("SELECT count(*) FROM customers WHERE email_norm = 'jean.durand@example.com'", [], |r| r
                .get::<_, i64>(0))
            .unwrap()
            == 1
    );
}

#[test]
fn refuse_all_writes_nothing_and_says_so() {
    let (mut s, _) = testutil::store();
    let f = open("excel-fr-windows1252.csv");
    let mut opts = options(&f, &s);
    opts.bad_values = BadValues::SkipRow;
    opts.on_errors = OnErrors::RefuseAll;
    let r = import(&mut s, &f, &opts).report;
    assert!(r.refused && r.import_id.is_none());
    assert_eq!(count(&s, "SELECT count(*) FROM customers"), 0, "all or nothing");
    assert_eq!(count(&s, "SELECT count(*) FROM suppressions"), 0);
}

#[test]
fn a_cancelled_import_writes_nothing() {
    let (mut s, _) = testutil::store();
    let mut text = String::from("Nom;Prénom;E-mail\r\n");
    for i in 0..1200 {
        text.push_str(&format!("Nom{i};Prénom{i};c{i}@example.com\r\n"));
    }
    let f = ImportFile::open("gros.csv", text.as_bytes(), &ReadOptions::default()).unwrap();
    let opts = options(&f, &s);
    let mut seen = Vec::new();
    let e = s.import_run(&f, &opts, None, &mut |p| {
        seen.push(p);
        false
    });
    assert_eq!(e.unwrap_err().code(), "conflict");
    assert_eq!(seen[0], Progress { done: 500, total: 1200 }, "progress with a count");
    assert_eq!(count(&s, "SELECT count(*) FROM customers"), 0, "cancel leaves nothing");
}

pub(super) fn add(s: &mut Store, first: &str, last: &str, email: &str, city: &str) -> i64 {
    let mut c =
        CustomerInput { first_name: first.into(), last_name: last.into(), email: email.into(), ..Default::default() };
    c.address.city = city.into();
    s.create_customer(&NewCustomer { customer: c, ..Default::default() }, None).unwrap().value
}

pub(super) fn csv_file(text: &str) -> ImportFile {
    ImportFile::open("f.csv", text.as_bytes(), &ReadOptions::default()).unwrap()
}

#[test]
fn consent_is_never_invented_and_suppression_cannot_be_overridden() {
    let (mut s, _) = testutil::store();
    let f = csv_file("Nom;E-mail;Newsletter\nA;a@example.com;peut-être\nB;b@example.com;unsubscribed\n");
    import_auto(&mut s, &f);
    assert_eq!(customer_by_email(&s, "a@example.com").consent, None, "an unknown value means no consent");
    // A later file says yes for the unsubscribed address: the suppression wins.
    let later = csv_file("Nom;E-mail;Newsletter\nB;B@example.com;oui\nC;c@example.com;\n");
    let mut opts = options(&later, &s);
    opts.soft_opt_in = Some("Ces personnes sont mes clients et ont acheté en boutique.".into());
    let r = import(&mut s, &later, &opts).report;
    assert_eq!(
        customer_by_email(&s, "b@example.com").consent.map(|c| c.choice),
        Some(ConsentChoice::Refused),
        "no import overrides an unsubscribe"
    );
    assert!(r.rows.iter().any(|o| o.problems.iter().any(|p| p.reason == "suppressed")));
    let c = customer_by_email(&s, "c@example.com").consent.expect("the attestation gives soft opt-in");
    assert_eq!(c.choice, ConsentChoice::ExistingCustomer);
    assert!(c.wording.unwrap().contains("ont acheté en boutique"), "the attestation is recorded word for word");
    assert!(s.imports().unwrap()[0].soft_opt_in);
}

#[test]
fn an_address_typed_with_a_decomposed_accent_is_the_same_customer_and_the_same_suppression() {
    let (mut s, _) = testutil::store();
    // The form (as macOS sends it: NFD) then the file (NFC): one customer, matched.
    let id = add(&mut s, "Élodie", "Lefèvre", "e\u{301}lodie@example.com", "Lyon");
    assert_eq!(s.customer(id).unwrap().email.as_deref(), Some("élodie@example.com"), "stored in NFC");
    let f = csv_file("Nom;E-mail;Ville\nLefèvre;Élodie@example.com;Paris\n");
    let r = import_auto(&mut s, &f).report;
    assert_eq!((r.counts.new, r.rows[0].customer_id), (0, Some(id)), "the NFC row matches the NFD customer: {r:#?}");
    // An unsubscribe recorded under one form holds for the other, in a file and in a campaign.
    let g = csv_file("Nom;E-mail;Newsletter\nMartin;be\u{301}atrice@example.com;unsubscribed\n");
    import_auto(&mut s, &g);
    assert!(
        crate::campaigns::suppression::is_suppressed(s.conn(), "béatrice@example.com").unwrap().is_some(),
        "the suppression list compares NFC"
    );
    let later = csv_file("Nom;E-mail;Newsletter\nMartin;BÉATRICE@example.com;oui\n");
    let r = import_auto(&mut s, &later).report;
    assert_eq!(r.counts.new, 0, "the same person, matched: {r:#?}");
    assert_eq!(
        customer_by_email(&s, "béatrice@example.com").consent.map(|c| c.choice),
        Some(ConsentChoice::Refused),
        "no import overrides an unsubscribe typed in the other form"
    );
    // An erased person typed in NFD is never imported again in NFC.
    let z = add(&mut s, "Zoé", "Vidal", "zoe\u{301}@example.com", "Lyon");
    s.erase_customer(z, None).unwrap();
    let h = csv_file("Nom;E-mail\nVidal;ZOÉ@example.com\n");
    assert_eq!(import_auto(&mut s, &h).report.counts.erased, 1);
}

#[test]
fn an_erased_person_is_never_imported_again() {
    let (mut s, _) = testutil::store();
    let id = add(&mut s, "Zoé", "Vidal", "zoe@example.com", "Lyon");
    s.erase_customer(id, None).unwrap();
    let f = csv_file("Nom;E-mail\nVidal;ZOE@example.com\n");
    let r = import_auto(&mut s, &f).report;
    assert_eq!(r.counts.erased, 1);
    assert_eq!(r.counts.new, 0);
    assert_eq!(count(&s, "SELECT count(*) FROM customers WHERE last_name = 'Vidal'"), 0);
}

#[test]
fn an_imported_customer_who_referred_a_friend_since_is_kept_and_the_undo_goes_through() {
    let (mut s, clock) = testutil::store();
    let f = csv_file("Prénom;Nom;E-mail\nA;Un;a@example.com\nB;Deux;b@example.com\n");
    let opts = options(&f, &s);
    let import_id = import(&mut s, &f, &opts).report.import_id.unwrap();
    clock.advance(chrono::Duration::hours(1));
    let today = s.now().date_naive();
    s.save_referral_offer(&crate::referrals::Offer::reference(today), None).unwrap();
    let b = customer_by_email(&s, "b@example.com").id;
    let friend = crate::customers::NewCustomer {
        customer: crate::customers::CustomerInput {
            email: "ami@example.com".into(),
            ..testutil::input("Ami", "Nouveau")
        },
        ..Default::default()
    };
    let link = crate::referrals::ReferrerLink {
        referrer: crate::referrals::ReferrerRef::Code { code: crate::referrals::code::format(b) },
        staff: "Marie".into(),
    };
    s.create_referred_customer(&friend, &link, None).unwrap();
    let u = s.undo_import(import_id, None).expect("a referral since does not make the undo fail").value;
    assert_eq!((u.removed, u.kept_touched), (1, 1), "A goes; B, who referred a friend since, stays: {u:?}");
    assert_eq!(count(&s, &format!("SELECT count(*) FROM customers WHERE id = {b}")), 1);
}

#[test]
fn an_import_is_undone_except_what_was_used_since() {
    let (mut s, clock) = testutil::store();
    let existing = add(&mut s, "Élodie", "Lefèvre", "elodie@example.com", "Lyon");
    let f = csv_file("Prénom;Nom;E-mail;Ville;Points;Notes;Étiquettes\nÉlodie;Lefèvre;elodie@example.com;Paris;;vue au salon;salon\nA;Un;a@example.com;;50;;\nB;Deux;b@example.com;;;;\n");
    let mut opts = options(&f, &s);
    opts.matching = MatchPolicy::Overwrite;
    let r = import(&mut s, &f, &opts).report;
    let import_id = r.import_id.unwrap();
    clock.advance(chrono::Duration::hours(1));
    let b = customer_by_email(&s, "b@example.com").id;
    testutil::sale(&mut s, b, 1000);
    let u = s.undo_import(import_id, None).unwrap().value;
    assert_eq!((u.removed, u.kept_touched, u.restored), (1, 1, 1), "{u:?}");
    assert_eq!(
        count(&s, "SELECT count(*) FROM customers WHERE email_norm = 'a@example.com'"),
        0,
        "untouched: removed, with its opening points"
    );
    assert_eq!(count(&s, "SELECT count(*) FROM points_ledger"), 0);
    assert_eq!(
        count(&s, &format!("SELECT count(*) FROM customers WHERE id = {b}")),
        1,
        "a customer with a sale since is kept"
    );
    let c = s.customer(existing).unwrap();
    assert_eq!(c.address.city.as_deref(), Some("Lyon"), "changed fields go back");
    assert!(c.tags.is_empty() && !notes(&s, existing).contains("salon"), "added tags and notes go");
    assert!(!s.imports().unwrap()[0].can_undo);
    assert_eq!(s.undo_import(import_id, None).unwrap_err().code(), "conflict", "once");
    s.set_consent(
        existing,
        &crate::customers::ConsentInput {
            choice: ConsentChoice::Express,
            source: ConsentSource::Counter,
            wording: "oui".into(),
        },
        None,
    )
    .unwrap();
    assert!(s.conn().execute("DELETE FROM consents", []).is_err(), "outside an undo the ledgers stay append-only");
}

#[test]
fn every_export_reimports_losslessly() {
    let (mut s, _) = testutil::store();
    let mut hostile = CustomerInput {
        first_name: "=1+1".into(),
        last_name: "@Côté <img src=x onerror=alert(1)> 😀".into(),
        email: "zoe+news@example.com".into(),
        phone: "+1 514 555 0199".into(),
        tags: vec!["-vip".into(), "thé".into()],
        birthday: Some(crate::customers::Birthday { day: 29, month: 2, year: None }),
        ..Default::default()
    };
    hostile.address = crate::customers::AddressInput {
        line1: "+ 3 rue \"X\"; bis".into(),
        line2: "".into(),
        postcode: "01000".into(),
        city: "Bourg".into(),
        country: None,
    };
    add(&mut s, "Élodie", "Lefèvre", "elodie@example.com", "Lyon");
    s.create_customer(&NewCustomer { customer: hostile, ..Default::default() }, None).unwrap();
    // A Québec customer of a French shop, her number in North America's plan.
    let mut quebec = CustomerInput {
        first_name: "Marie-Ève".into(),
        last_name: "Tremblay".into(),
        email: "marie-eve@example.com".into(),
        phone: "+1 418 555 0142".into(),
        ..Default::default()
    };
    quebec.address.city = "Québec".into();
    quebec.address.country = Some(crate::types::Country::CA);
    s.create_customer(&NewCustomer { customer: quebec, ..Default::default() }, None).unwrap();
    let snapshot = |s: &Store| -> Vec<String> {
        let mut st = s.conn().prepare("SELECT first_name, last_name, email, phone_e164, address_line1, postcode, city, country, birthday_day, birthday_month, birthday_year, (SELECT group_concat(tag, ',') FROM (SELECT tag FROM customer_tags t WHERE t.customer_id = c.id ORDER BY tag_fold)) FROM customers c ORDER BY email").unwrap();
        st.query_map([], |r| Ok((0..12).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect::<Vec<_>>().join("|")))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let before = snapshot(&s);
    for format in [export::ExportFormat::CsvExcelFr, export::ExportFormat::CsvStandard, export::ExportFormat::Xlsx] {
        let mut bytes = Vec::new();
        s.export_customers(&export::ExportScope::All, format, &mut bytes).unwrap();
        if format == export::ExportFormat::CsvExcelFr {
            assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "Excel France: UTF-8 with BOM");
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.contains("'=1+1") && text.contains("\r\n"), "formulas neutralised, CRLF");
            assert!(text.contains(";00 1 418-555-0142;"), "a foreign phone as dialled from France, no apostrophe");
            assert!(!text.contains("'+1") && !text.contains("'00"), "no phone behind an apostrophe");
        }
        if format == export::ExportFormat::CsvStandard {
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.contains(",+14185550142,"), "E.164 intact for other software: {text}");
        }
        let (mut fresh, _) = testutil::store();
        let f = ImportFile::open(&format!("export.{}", format.extension()), &bytes, &ReadOptions::default()).unwrap();
        assert_eq!(f.info(crate::types::Lang::Fr).preset, Preset::Comptoir);
        let r = import_auto(&mut fresh, &f).report;
        assert_eq!(r.counts.new, 3, "{format:?}: {:#?}", r.rows);
        assert_eq!(snapshot(&fresh), before, "{format:?} → import is lossless");
    }
}

pub(crate) fn import_auto(store: &mut Store, file: &ImportFile) -> ImportRun {
    let opts = options(file, store);
    import(store, file, &opts)
}

#[test]
fn customers_silent_for_three_years_are_listed_for_re_consent_or_anonymisation() {
    let (mut s, clock) = testutil::store();
    let now = s.now();
    clock.set(now - chrono::Duration::days(4 * 365));
    let old = add(&mut s, "Ancien", "Prospect", "ancien@example.com", "");
    let bought = add(&mut s, "Ancien", "Client", "client@example.com", "");
    clock.set(now - chrono::Duration::days(30));
    testutil::sale(&mut s, bought, 1000);
    clock.set(now);
    add(&mut s, "Nouveau", "Prospect", "nouveau@example.com", "");
    let list = s.retention_candidates().unwrap();
    assert_eq!(
        list.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![old],
        "only the one with no purchase and no contact for 3 years"
    );
    assert_eq!(list[0].reason, retention::RetentionReason::NoContact);
}

#[test]
fn an_imported_customer_whose_birthday_was_only_looked_at_goes_with_the_undo() {
    use crate::automations::{checker, AutomationKind, AutomationSettings, EnableMode};
    let (mut s, clock) = testutil::store();
    let settings = AutomationSettings { time_zone: "Europe/Paris".into(), ..AutomationSettings::default() };
    s.save_automation_settings(&settings, None).unwrap();
    s.save_mail_settings(&mail_settings(), None).unwrap();
    let birthday = s.automations().unwrap().into_iter().find(|a| a.kind == AutomationKind::Birthday).unwrap();
    s.enable_automation(birthday.id, EnableMode::NewOnly, None).unwrap();
    // A agreed to offers: her birthday message is queued. B did not: his is looked at and
    // skipped ("consent") without ever reaching the outbox.
    let f = csv_file(
        "Prénom;Nom;E-mail;Date de naissance;Accepte les offres\nA;Un;a@example.com;02/12/1990;oui\nB;Deux;b@example.com;02/12/1985;non\n",
    );
    let opts = options(&f, &s);
    let import_id = import(&mut s, &f, &opts).report.import_id.unwrap();
    clock.advance(chrono::Duration::days(7));
    checker::tick(&mut s).unwrap();
    let states = |s: &Store| -> Vec<(String, String)> {
        s.conn()
            .prepare(
                "SELECT c.email_norm, o.state FROM automation_occasions o JOIN customers c ON c.id = o.customer_id ORDER BY c.email_norm",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(
        states(&s),
        vec![("a@example.com".to_string(), "queued".to_string()), ("b@example.com".into(), "skipped".into())],
        "the check looked at both birthdays"
    );
    let u = s.undo_import(import_id, None).expect("an occasion never sent does not block the undo").value;
    assert_eq!(
        (u.removed, u.kept_touched),
        (1, 1),
        "B, whose birthday was only looked at, goes; A, whose message is in the outbox, stays: {u:?}"
    );
    assert_eq!(states(&s), vec![("a@example.com".to_string(), "queued".to_string())]);
    assert_eq!(
        count(&s, "SELECT count(*) FROM automation_journal j WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = j.customer_id)"),
        0,
        "B's journal lines went with him"
    );
    assert!(
        s.conn().execute("DELETE FROM automation_occasions", []).is_err(),
        "outside an undo an occasion is never deleted"
    );
    assert!(s.conn().execute("DELETE FROM automation_journal", []).is_err(), "nor a journal line");
}

/// Mail settings that are complete (nothing is sent in these tests).
fn mail_settings() -> crate::campaigns::mail::MailSettings {
    use crate::campaigns::mail::{Delivery, MailSettings, SendLimits, SmtpPreset, SmtpSettings, TlsMode};
    MailSettings {
        sender_name: "Boutique".into(),
        sender_email: "boutique@example.com".into(),
        reply_to: String::new(),
        postal_address: "1 rue de la Paix, 75002 Paris".into(),
        language: crate::types::Lang::Fr,
        delivery: Delivery::Smtp,
        smtp: SmtpSettings {
            preset: SmtpPreset::Custom,
            host: "127.0.0.1".into(),
            port: 2525,
            tls: TlsMode::None,
            username: String::new(),
            limits: SendLimits { per_second: 0, per_minute: 0, per_day: 0, connections: 1 },
        },
    }
}

#[test]
fn an_address_erased_in_a_mixed_accent_form_is_still_recognised_after_the_nfc_upgrade() {
    let (mut s, _) = testutil::store();
    // Someone else's erasure gives the shop its salt.
    let other = add(&mut s, "Autre", "Personne", "autre@example.com", "Lyon");
    s.erase_customer(other, None).unwrap();
    // Before version 14 an erasure hashed the address as typed — here one accent precomposed and
    // one not — and its suppression entry was written again in NFC by the upgrade.
    let mixed = "élodie.mu\u{308}ller@example.com";
    let nfc = crate::text::normalize_email(mixed);
    let salt = crate::data::erasure::salt(s.conn()).unwrap();
    s.conn()
        .execute(
            "INSERT INTO suppressions (email_norm, action, reason, source, at) VALUES (?1, 'suppress', 'erased', 'erasure', '2026-01-01 00:00:00+00:00')",
            [&nfc],
        )
        .unwrap();
    assert!(
        crate::data::erasure::is_erased(s.conn(), &salt, Some(&nfc), None).unwrap(),
        "the erased person is recognised and never imported again"
    );
    let f = csv_file("Nom;E-mail\nMüller;élodie.müller@example.com\n");
    let r = import_auto(&mut s, &f).report;
    assert_eq!((r.counts.erased, r.counts.new), (1, 0), "{:?}", r.counts);
}

#[test]
fn a_card_number_an_undone_import_issued_is_never_issued_again() {
    let (mut s, _) = testutil::store();
    let numbers = |s: &Store| -> Vec<String> {
        s.conn()
            .prepare("SELECT number FROM cards ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let f = csv_file("Prénom;Nom;E-mail\nA;Un;a@example.com\nB;Deux;b@example.com\n");
    let opts = options(&f, &s);
    let import_id = import(&mut s, &f, &opts).report.import_id.unwrap();
    let printed = numbers(&s);
    assert_eq!(printed.len(), 2, "the import gave each customer a card");
    let u = s.undo_import(import_id, None).unwrap().value;
    assert_eq!(u.removed, 2, "both customers go with the undo: {u:?}");
    assert!(numbers(&s).is_empty(), "and their cards");
    // The cards may have been printed and handed out: the next customers get other numbers,
    // whether they are created one by one or by another import.
    add(&mut s, "Zoé", "Brûlé", "zoe@example.com", "Lyon");
    let f = csv_file("Prénom;Nom;E-mail\nC;Trois;c@example.com\n");
    let opts = options(&f, &s);
    import(&mut s, &f, &opts);
    let now = numbers(&s);
    assert_eq!(now.len(), 2, "{now:?}");
    for n in &now {
        assert!(!printed.contains(n), "{n} was on a card of the undone import: never issued again");
    }
}
