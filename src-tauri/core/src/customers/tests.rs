use super::*;
use crate::testutil::{add, input, sale, store};
use chrono::NaiveDate;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn fields_of(err: crate::Error) -> Vec<&'static str> {
    match err {
        crate::Error::Validation(f) => f.into_iter().map(|f| f.field).collect(),
        other => panic!("expected a validation error, got {other}"),
    }
}

#[test]
fn a_customer_needs_a_first_or_last_name() {
    let err =
        validate(&CustomerInput { email: "a@b.test".into(), ..Default::default() }, Country::FR, Lang::Fr, today())
            .unwrap_err();
    assert_eq!(fields_of(err), vec!["first_name"], "a customer without any name is refused");
    assert!(validate(&input("", "Lefèvre"), Country::FR, Lang::Fr, today()).is_ok(), "a last name alone is enough");
}

#[test]
fn every_invalid_field_is_reported_at_once_against_its_field() {
    let bad = CustomerInput {
        first_name: "x".repeat(MAX_NAME + 1),
        email: "not-an-email".into(),
        phone: "12".into(),
        address: AddressInput { postcode: "ABC".into(), ..Default::default() },
        birthday: Some(Birthday { day: 31, month: 2, year: None }),
        tags: vec!["t".repeat(MAX_TAG + 1)],
        ..Default::default()
    };
    let fields = fields_of(validate(&bad, Country::FR, Lang::Fr, today()).unwrap_err());
    for f in ["first_name", "email", "phone", "address.postcode", "birthday", "tags"] {
        assert!(fields.contains(&f), "{f} is reported: {fields:?}");
    }
}

#[test]
fn normalisation_trims_folds_and_formats() {
    let n = validate(
        &CustomerInput {
            first_name: "  Élodie ".into(),
            last_name: "Lefèvre".into(),
            email: " Elodie.Lefevre@Exemple.TEST ".into(),
            phone: "06 12 34 56 78".into(),
            address: AddressInput { postcode: "h2x1y4".into(), country: Some(Country::CA), ..Default::default() },
            tags: vec!["VIP".into(), "vip".into(), " Café ".into(), "cafe".into()],
            ..Default::default()
        },
        Country::FR,
        Lang::Fr,
        today(),
    )
    .unwrap();
    assert_eq!(n.first_name, "Élodie", "names are trimmed, accents kept for display");
    assert_eq!(n.first_fold, "elodie", "folded for search");
    assert_eq!(n.email_norm.as_deref(), Some("elodie.lefevre@exemple.test"), "emails compare in lower case");
    assert_eq!(n.phone.unwrap().e164, "+33612345678", "phones are stored in E.164");
    assert_eq!(n.postcode.as_deref(), Some("H2X 1Y4"), "Canadian postal codes are upper case with a space");
    assert_eq!(n.tags, vec!["VIP".to_string(), "Café".to_string()], "tags are distinct without case or accents");
}

#[test]
fn birthdays_are_real_days_and_the_year_is_optional() {
    let ok = [(29, 2, None), (29, 2, Some(2000)), (31, 12, Some(1990)), (1, 1, None)];
    let bad = [(29, 2, Some(2023)), (31, 4, None), (0, 1, None), (1, 13, None), (1, 1, Some(1800)), (1, 1, Some(2030))];
    for (d, m, y) in ok {
        assert!(
            rules::birthday_is_valid(&Birthday { day: d, month: m, year: y }, today()),
            "{d}/{m}/{y:?} is a valid birthday"
        );
    }
    for (d, m, y) in bad {
        assert!(
            !rules::birthday_is_valid(&Birthday { day: d, month: m, year: y }, today()),
            "{d}/{m}/{y:?} is not a valid birthday"
        );
    }
}

#[test]
fn average_basket_rounds_to_the_nearest_cent() {
    assert_eq!(average_basket(1000, 3), Some(333), "10.00 over 3 visits is 3.33");
    assert_eq!(average_basket(2000, 3), Some(667), "20.00 over 3 visits is 6.67");
    assert_eq!(average_basket(0, 0), None, "no visit, no average");
}

#[test]
fn create_read_edit_archive_restore() {
    let (mut s, clock) = store();
    let id = s
        .create_customer(
            &NewCustomer {
                customer: CustomerInput {
                    phone: "06 12 34 56 78".into(),
                    tags: vec!["VIP".into()],
                    ..input("Élodie", "Lefèvre")
                },
                consent: Some(ConsentInput {
                    choice: ConsentChoice::Express,
                    source: ConsentSource::Counter,
                    wording: "J'accepte".into(),
                }),
                note: "Aime le café".into(),
            },
            None,
        )
        .unwrap()
        .value;
    let c = s.customer(id).unwrap();
    assert_eq!(c.display_name, "Élodie Lefèvre");
    assert_eq!(c.phone_display.as_deref(), Some("06 12 34 56 78"), "shown in the local format");
    assert!(c.card_number.as_deref().is_some_and(crate::cards::is_valid_number), "a new customer gets a valid card");
    assert_eq!(c.consent.as_ref().unwrap().choice, ConsentChoice::Express);
    assert_eq!(c.tags, vec!["VIP"]);

    clock.advance(chrono::Duration::minutes(5));
    let out = s
        .update_customer(id, &CustomerInput { email: "elodie@exemple.test".into(), ..input("Élodie", "Lefèvre") }, None)
        .unwrap();
    assert_eq!(out.changes.customers, vec![id], "the edit reports which customer changed");
    let c = s.customer(id).unwrap();
    assert_eq!(c.email.as_deref(), Some("elodie@exemple.test"));
    assert_eq!(c.phone_e164, None, "clearing a field in the form clears it");
    let tl = s.timeline(id, 50).unwrap();
    match &tl[0].kind {
        TimelineKind::Edited { fields } => {
            assert!(
                fields.contains(&"email".to_string())
                    && fields.contains(&"phone".to_string())
                    && fields.contains(&"tags".to_string()),
                "{fields:?}"
            )
        }
        other => panic!("the newest entry is the edit, got {other:?}"),
    }

    s.archive_customer(id, None).unwrap();
    assert!(s.customer(id).unwrap().archived_at.is_some());
    assert!(s.search_customers("elodie", 20).unwrap().is_empty(), "archived customers leave the search");
    s.restore_customer(id, None).unwrap();
    assert!(s.customer(id).unwrap().archived_at.is_none());
    assert_eq!(s.search_customers("elodie", 20).unwrap().len(), 1, "a restored customer is found again");
    let kinds: Vec<_> = s.timeline(id, 50).unwrap().into_iter().map(|e| e.kind).collect();
    assert!(matches!(kinds[0], TimelineKind::Restored) && matches!(kinds[1], TimelineKind::Archived));
    assert!(matches!(kinds.last().unwrap(), TimelineKind::Created), "the creation is the oldest entry");
}

#[test]
fn an_unchanged_edit_writes_nothing() {
    let (mut s, _) = store();
    let id = add(&mut s, input("Jean", "Martin"));
    s.update_customer(id, &input("Jean", "Martin"), None).unwrap();
    assert_eq!(s.timeline(id, 10).unwrap().len(), 1, "no 'edited' entry when nothing changed");
}

#[test]
fn unknown_ids_get_a_not_found_error() {
    let (mut s, _) = store();
    assert_eq!(s.customer(999).unwrap_err().code(), "not_found");
    assert_eq!(s.update_customer(999, &input("A", "B"), None).unwrap_err().code(), "not_found");
    assert_eq!(s.add_note(999, "x", None).unwrap_err().code(), "not_found");
    assert_eq!(s.timeline(999, 10).unwrap_err().code(), "not_found");
}

#[test]
fn html_in_a_name_is_stored_as_plain_text() {
    let (mut s, _) = store();
    let payload = "<img src=x onerror=alert(1)>";
    let id = add(&mut s, input(payload, "</script>"));
    let c = s.customer(id).unwrap();
    assert_eq!(c.first_name, payload, "text is kept exactly; the interface shows it as text");
}

#[test]
fn duplicates_are_found_by_email_phone_or_similar_name_at_the_same_postcode() {
    let (mut s, _) = store();
    let a = add(
        &mut s,
        CustomerInput {
            email: "Elodie@Exemple.test".into(),
            phone: "0612345678".into(),
            address: AddressInput { postcode: "75011".into(), ..Default::default() },
            ..input("Élodie", "Lefèvre")
        },
    );
    add(&mut s, input("Paul", "Durand"));
    let by_email = s
        .possible_duplicates(&CustomerInput { email: " elodie@exemple.TEST".into(), ..input("X", "Y") }, None)
        .unwrap();
    assert_eq!(by_email.len(), 1);
    assert_eq!(by_email[0].customer.id, a);
    assert_eq!(by_email[0].reasons, vec![DuplicateReason::SameEmail], "same email in another case");
    let by_phone =
        s.possible_duplicates(&CustomerInput { phone: "+33 6 12 34 56 78".into(), ..input("X", "Y") }, None).unwrap();
    assert_eq!(by_phone[0].reasons, vec![DuplicateReason::SamePhone], "same phone in another format");
    let by_name = s
        .possible_duplicates(
            &CustomerInput {
                address: AddressInput { postcode: "75 011".into(), ..Default::default() },
                ..input("elodie", "Lefebvre")
            },
            None,
        )
        .unwrap();
    assert_eq!(by_name[0].reasons, vec![DuplicateReason::SimilarNameSamePostcode]);
    let elsewhere = s
        .possible_duplicates(
            &CustomerInput {
                address: AddressInput { postcode: "69003".into(), ..Default::default() },
                ..input("Élodie", "Lefèvre")
            },
            None,
        )
        .unwrap();
    assert!(elsewhere.is_empty(), "the same name in another town is not flagged");
    assert!(
        s.possible_duplicates(&CustomerInput { email: "elodie@exemple.test".into(), ..input("É", "L") }, Some(a))
            .unwrap()
            .is_empty(),
        "a customer is not their own duplicate"
    );
}

#[test]
fn merge_keeps_every_purchase_note_and_consent_record() {
    let (mut s, clock) = store();
    let keep = add(&mut s, CustomerInput { email: "jean@exemple.test".into(), ..input("Jean", "Martin") });
    let other = add(&mut s, CustomerInput { phone: "0611223344".into(), ..input("Jean", "Martin") });
    sale(&mut s, keep, 1000);
    let other_sale = sale(&mut s, other, 2500);
    s.add_note(other, "Préfère le thé", None).unwrap();
    s.set_consent(
        other,
        &ConsentInput { choice: ConsentChoice::Express, source: ConsentSource::PaperForm, wording: "Oui".into() },
        None,
    )
    .unwrap();
    let other_card = s.customer(other).unwrap().card_number.unwrap();
    clock.advance(chrono::Duration::minutes(1));

    let out = s.merge_customers(keep, other, None).unwrap();
    assert!(out.changes.customers.contains(&keep) && out.changes.customers.contains(&other));
    let k = s.customer(keep).unwrap();
    assert_eq!(k.figures.visit_count, 2, "both customers' visits");
    assert_eq!(k.figures.total_spent_cents, 3500, "both customers' spending");
    assert_eq!(k.phone_e164.as_deref(), Some("+33611223344"), "a missing phone is taken from the merged customer");
    assert_eq!(k.email.as_deref(), Some("jean@exemple.test"), "the kept customer's own fields win");
    assert_eq!(k.consent.unwrap().choice, ConsentChoice::Express, "consent records come along");
    assert_eq!(s.purchase(other_sale).unwrap().customer_id, keep);
    let o = s.customer(other).unwrap();
    assert_eq!(o.merged_into, Some(keep));
    assert!(o.archived_at.is_some(), "the merged record is archived, not deleted");
    assert_eq!(o.figures.visit_count, 0);
    let tl = s.timeline(keep, 50).unwrap();
    assert!(tl.iter().any(|e| matches!(&e.kind, TimelineKind::MergedFrom { other_id, .. } if *other_id == other)));
    assert!(
        tl.iter().any(|e| matches!(&e.kind, TimelineKind::Note { body, .. } if body == "Préfère le thé")),
        "notes come along"
    );
    assert_eq!(
        s.till_lookup(&other_card).unwrap().unwrap().customer.id,
        keep,
        "the merged customer's card now finds the kept customer"
    );
    assert_eq!(
        s.merge_customers(keep, other, None).unwrap_err().code(),
        "conflict",
        "a merged customer cannot be merged again"
    );
    assert_eq!(s.merge_customers(keep, keep, None).unwrap_err().code(), "validation");
    assert_eq!(
        s.record_sale(
            &crate::purchases::SaleInput {
                customer_id: other,
                amount_cents: 100,
                occurred_at: None,
                note: String::new(),
                category: String::new(),
                apply: None
            },
            None
        )
        .unwrap_err()
        .code(),
        "conflict",
        "no sale on a merged record"
    );
}

#[test]
fn consent_history_is_kept_and_the_latest_answer_counts() {
    let (mut s, clock) = store();
    let id = add(&mut s, input("Jean", "Martin"));
    s.set_consent(
        id,
        &ConsentInput { choice: ConsentChoice::Express, source: ConsentSource::Counter, wording: "Oui".into() },
        None,
    )
    .unwrap();
    clock.advance(chrono::Duration::days(1));
    s.set_consent(
        id,
        &ConsentInput { choice: ConsentChoice::Refused, source: ConsentSource::Email, wording: String::new() },
        None,
    )
    .unwrap();
    assert_eq!(
        s.customer(id).unwrap().consent.unwrap().choice,
        ConsentChoice::Refused,
        "the latest answer is the current one"
    );
    let consents =
        s.timeline(id, 10).unwrap().into_iter().filter(|e| matches!(e.kind, TimelineKind::Consent { .. })).count();
    assert_eq!(consents, 2, "every answer stays as proof");
}

#[test]
fn notes_are_validated() {
    let (mut s, _) = store();
    let id = add(&mut s, input("Jean", "Martin"));
    assert_eq!(s.add_note(id, "   ", None).unwrap_err().code(), "validation", "an empty note is refused");
    assert_eq!(
        s.add_note(id, &"x".repeat(MAX_NOTE + 1), None).unwrap_err().code(),
        "validation",
        "an overlong note is refused"
    );
    assert!(s.add_note(id, "Rappeler pour la mise à niveau 😀", None).is_ok());
}

#[test]
fn a_merge_takes_the_address_as_one_block_never_a_postcode_under_another_country() {
    let (mut s, _) = store();
    let mut fr = input("Jeanne", "Roy");
    fr.address.country = Some(Country::FR);
    let keep = add(&mut s, fr);
    let mut qc = input("Jeanne", "Roy");
    qc.address = AddressInput {
        line1: "12 rue Sainte-Catherine".into(),
        line2: String::new(),
        postcode: "H2X 1Y4".into(),
        city: "Montréal".into(),
        country: Some(Country::CA),
    };
    let other = add(&mut s, qc);
    s.merge_customers(keep, other, None).unwrap();
    let k = s.customer(keep).unwrap();
    assert_eq!(
        (k.address.postcode.as_deref(), k.address.city.as_deref(), k.address.country),
        (Some("H2X 1Y4"), Some("Montréal"), Country::CA),
        "the kept record had no address: the other's comes whole, its country with it"
    );

    // The kept record's own address wins whole: no line or city of the other's slips in.
    let mut a = input("Paul", "Roy");
    a.address.city = "Lyon".into();
    a.address.country = Some(Country::FR);
    let keep = add(&mut s, a);
    let mut b = input("Paul", "Roy");
    b.address = AddressInput {
        line1: "12 rue Sainte-Catherine".into(),
        line2: String::new(),
        postcode: "H2X 1Y4".into(),
        city: "Montréal".into(),
        country: Some(Country::CA),
    };
    let other = add(&mut s, b);
    s.merge_customers(keep, other, None).unwrap();
    let k = s.customer(keep).unwrap();
    assert_eq!(
        (k.address.line1.as_deref(), k.address.postcode.as_deref(), k.address.city.as_deref(), k.address.country),
        (None, None, Some("Lyon"), Country::FR),
        "an address of the kept record's own stays as it was"
    );
}

#[test]
fn merged_address_is_one_block_filled_only_from_the_same_place() {
    let a = |l1: &str, pc: &str, city: &str, c: Country| Address {
        line1: (!l1.is_empty()).then(|| l1.to_string()),
        line2: None,
        postcode: (!pc.is_empty()).then(|| pc.to_string()),
        city: (!city.is_empty()).then(|| city.to_string()),
        country: c,
    };
    use Country::{CA, FR};
    let mercière = a("12 rue Mercière", "69002", "Lyon", FR);
    let montréal = a("12 rue Sainte-Catherine", "H2X 1Y4", "Montréal", CA);
    let cases = [
        (a("", "", "", CA), a("", "", "", FR), a("", "", "", CA), "no address on the other: the kept country stays"),
        (a("", "", "", FR), montréal.clone(), montréal.clone(), "no address kept: the other's whole, with its country"),
        (a("", "", "Lyon", FR), mercière.clone(), mercière.clone(), "the same town: its street and postcode fill in"),
        (a("", "", "LYON", FR), mercière.clone(), a("12 rue Mercière", "69002", "LYON", FR), "the kept spelling stays"),
        (a("", "", "Lyon", FR), montréal.clone(), a("", "", "Lyon", FR), "another country: nothing slips in"),
        (a("", "75011", "Paris", FR), mercière.clone(), a("", "75011", "Paris", FR), "another town: nothing slips in"),
        (
            a("3 place Bellecour", "", "", FR),
            mercière.clone(),
            a("3 place Bellecour", "", "", FR),
            "no town to compare: nothing slips in",
        ),
        (
            a("", "75001", "", FR),
            a("12 rue Mercière", "", "Lyon", FR),
            a("", "75001", "", FR),
            "nothing in common: nothing slips in",
        ),
        (
            a("3 avenue Foch", "", "Lyon", FR),
            mercière.clone(),
            a("3 avenue Foch", "", "Lyon", FR),
            "another street: not its postcode",
        ),
        (
            a("12 rue Mercière", "", "Lyon", FR),
            mercière.clone(),
            mercière.clone(),
            "the same street: its postcode fills in",
        ),
    ];
    for (keep, other, want, rule) in cases {
        assert_eq!(merged_address(&keep, &other), want, "{rule}");
    }
    let mut with_line2 = mercière.clone();
    with_line2.line2 = Some("Bâtiment B".into());
    let kept = a("", "69002", "", FR);
    assert_eq!(merged_address(&kept, &with_line2).line2.as_deref(), Some("Bâtiment B"), "line 2 comes with its street");
    let mut kept_line2 = a("", "69002", "", FR);
    kept_line2.line2 = Some("Résidence Les Pins, bât B".into());
    let m = merged_address(&kept_line2, &with_line2);
    assert_eq!(m, kept_line2, "a kept second line is a door of its own: no other street joins it");
    // A street without its town: not another record's postcode of the same town.
    let foch = a("3 avenue Foch", "", "Lyon", FR);
    assert_eq!(merged_address(&foch, &a("", "69003", "Lyon", FR)), foch, "Foch is not in 69003");
}
