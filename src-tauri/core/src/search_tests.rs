use super::*;
use crate::customers::{AddressInput, CustomerInput};
use crate::testutil::{add, input, sale, store};

fn names(s: &Store, q: &str) -> Vec<String> {
    s.search_customers(q, 20).unwrap().into_iter().map(|c| c.display_name).collect()
}

fn shop() -> Store {
    let (mut s, _) = store();
    add(
        &mut s,
        CustomerInput {
            phone: "06 12 34 56 78".into(),
            email: "elodie.l@exemple.test".into(),
            ..input("Élodie", "Lefèvre")
        },
    );
    add(&mut s, CustomerInput { phone: "+1 514 555 0199".into(), ..input("François", "Côté") });
    add(&mut s, CustomerInput { email: "paul@exemple.test".into(), ..input("Paul", "Durand") });
    add(&mut s, input("Zoé", "Martin"));
    s
}

#[test]
fn the_query_plan_follows_the_length_and_shape_of_what_is_typed() {
    assert_eq!(plan("   "), Plan::Empty);
    assert_eq!(plan("É"), Plan::NamePrefix("e".into()), "1 character: prefix");
    assert_eq!(plan("Lé"), Plan::NamePrefix("le".into()), "2 characters: prefix, folded");
    assert_eq!(plan("06"), Plan::PhonePrefix("06".into()), "2 digits: phone prefix");
    assert_eq!(plan("06 12"), Plan::Digits("0612".into()), "digits with spaces: substring of the digits");
    assert_eq!(plan("+33 6 12"), Plan::Digits("33612".into()), "international form");
    assert_eq!(plan("0033 6 12"), Plan::Digits("33612".into()), "00 is the international prefix");
    assert!(matches!(plan("lef"), Plan::Text { .. }), "3+ characters: substring");
}

#[test]
fn user_text_cannot_inject_fts_syntax() {
    for q in ["\"", "a\" OR \"b", "NEAR(x y)", "name:*", "x' ; DROP TABLE customers; --", "{phone card} : 1"] {
        if let Plan::Text { fts, .. } = plan(q) {
            // Every quote inside a word is doubled, so the expression is a list of quoted strings.
            for part in fts.split(" AND ") {
                assert!(part.starts_with('"') && part.ends_with('"'), "{q:?} gives a quoted string: {part}");
                assert!(!part[1..part.len() - 1].replace("\"\"", "").contains('"'), "no bare quote in {part}");
            }
        }
        let s = shop();
        assert!(s.search_customers(q, 20).is_ok(), "{q:?} is searched as text, never an error");
    }
    let s = shop();
    let n: i64 = s.conn().query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 4);
}

#[test]
fn search_ignores_case_and_accents() {
    let s = shop();
    assert_eq!(names(&s, "elodie"), vec!["Élodie Lefèvre"], "elodie finds Élodie");
    assert_eq!(names(&s, "lefevre"), vec!["Élodie Lefèvre"], "lefevre finds Lefèvre");
    assert_eq!(names(&s, "LEFÈVRE"), vec!["Élodie Lefèvre"]);
    assert_eq!(names(&s, "cote"), vec!["François Côté"]);
    assert_eq!(names(&s, "odi"), vec!["Élodie Lefèvre"], "any substring of 3+ characters");
    assert_eq!(names(&s, "elodie lef"), vec!["Élodie Lefèvre"], "several words all match");
    assert_eq!(names(&s, "lodie le"), vec!["Élodie Lefèvre"], "a short word must start a word");
    assert!(names(&s, "xyz").is_empty());
}

#[test]
fn one_or_two_characters_search_the_start_of_names() {
    let s = shop();
    assert_eq!(names(&s, "É"), vec!["Élodie Lefèvre"], "É finds Élodie by her first name");
    assert_eq!(names(&s, "ma"), vec!["Zoé Martin"], "ma finds Martin, not Émma or Normand");
    assert_eq!(names(&s, "d"), vec!["Paul Durand"]);
    assert_eq!(names(&s, "pa"), vec!["Paul Durand"], "pa: Paul by first name (also paul@…)");
}

#[test]
fn phones_are_found_in_any_format() {
    let s = shop();
    for q in ["0612345678", "06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "0612", "06", "5678", "+33612"] {
        assert_eq!(names(&s, q), vec!["Élodie Lefèvre"], "{q:?} finds Élodie's phone");
    }
    for q in ["514 555", "(514) 555-0199", "+1 514 555 0199", "5145550199"] {
        assert_eq!(names(&s, q), vec!["François Côté"], "{q:?} finds François's phone");
    }
}

#[test]
fn emails_and_card_numbers_are_found() {
    let s = shop();
    assert_eq!(names(&s, "paul@"), vec!["Paul Durand"]);
    assert_eq!(names(&s, "exemple.test").len(), 2);
    let card = s.customer(4).unwrap().card_number.unwrap();
    assert_eq!(names(&s, &card), vec!["Zoé Martin"], "a full card number");
    assert_eq!(names(&s, &card[6..]), vec!["Zoé Martin"], "part of a card number");
}

#[test]
fn search_stops_at_the_limit() {
    let (mut s, _) = store();
    for i in 0..60 {
        add(&mut s, input(&format!("Marie{i}"), "Dupont"));
    }
    assert_eq!(s.search_customers("dupont", 20).unwrap().len(), 20, "first 20 results only");
    assert_eq!(s.search_customers("du", 20).unwrap().len(), 20);
}

#[test]
fn till_lookup_is_exact_by_card_phone_or_email() {
    let s = shop();
    let card = s.customer(1).unwrap().card_number.unwrap();
    let by_card = s.till_lookup(&card).unwrap().unwrap();
    assert_eq!((by_card.customer.id, by_card.matched_by), (1, MatchedBy::Card), "a scanned card selects its holder");
    let mut typo = card.clone().into_bytes();
    typo[12] = if typo[12] == b'9' { b'0' } else { typo[12] + 1 };
    assert!(
        s.till_lookup(std::str::from_utf8(&typo).unwrap()).unwrap().is_none(),
        "a misread card (bad check digit) selects nobody"
    );
    assert_eq!(s.till_lookup("06 12 34 56 78").unwrap().unwrap().matched_by, MatchedBy::Phone);
    assert_eq!(s.till_lookup("PAUL@exemple.test").unwrap().unwrap().customer.id, 3, "emails without case");
    assert!(s.till_lookup("elodie").unwrap().is_none(), "a name is a search, not an exact match");
    assert!(s.till_lookup("0612").unwrap().is_none(), "part of a phone is not exact");
}

const ALL_SORTS: [SortBy; 6] =
    [SortBy::Name, SortBy::LastVisit, SortBy::TotalSpent, SortBy::ExpectedValue, SortBy::ChurnRisk, SortBy::Segment];

#[test]
fn lists_paginate_by_key_in_every_sort_order() {
    let (mut s, clock) = store();
    let mut ids = Vec::new();
    for (i, last) in ["Martin", "Bernard", "Côté", "Dubois", "Lefèvre", "Roy", "Gagnon"].iter().enumerate() {
        let id = add(&mut s, CustomerInput { address: AddressInput::default(), ..input("A", last) });
        ids.push(id);
        if i % 2 == 0 {
            clock.advance(chrono::Duration::hours(1));
            sale(&mut s, id, 1000 * (i as i64 + 1));
        }
    }
    s.refresh_scores().unwrap();
    for sort in ALL_SORTS {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page =
                s.list_customers(&ListRequest { sort, archived: false, after: after.clone(), limit: 2 }).unwrap();
            assert!(page.items.len() <= 2);
            all.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(all.len(), 7, "{sort:?}: every customer exactly once across pages");
        let mut seen: Vec<_> = all.iter().map(|c| c.id).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 7, "{sort:?}: no customer twice");
        match sort {
            SortBy::Name => {
                let names: Vec<_> = all.iter().map(|c| c.display_name.as_str()).collect();
                assert_eq!(
                    names,
                    vec!["A Bernard", "A Côté", "A Dubois", "A Gagnon", "A Lefèvre", "A Martin", "A Roy"],
                    "by name, accents folded"
                );
            }
            SortBy::TotalSpent => assert!(
                all.windows(2).all(|w| w[0].total_spent_cents >= w[1].total_spent_cents),
                "biggest spenders first"
            ),
            SortBy::ExpectedValue | SortBy::ChurnRisk | SortBy::Segment => {
                let key = sort.score_key().unwrap();
                let value = |id: i64| -> Option<i64> {
                    s.conn()
                        .query_row(&format!("SELECT {key} FROM customer_scores WHERE customer_id = ?1"), [id], |r| {
                            r.get(0)
                        })
                        .ok()
                };
                let values: Vec<Option<i64>> = all.iter().map(|c| value(c.id)).collect();
                let scored = values.iter().take_while(|v| v.is_some()).count();
                assert_eq!(scored, 4, "{sort:?}: the customers with a score come first: {values:?}");
                assert!(values[scored..].iter().all(Option::is_none), "{sort:?}: then those without");
                assert!(
                    values.windows(2).take(scored - 1).all(|w| w[0] >= w[1]),
                    "{sort:?}: highest key first: {values:?}"
                );
            }
            SortBy::LastVisit => {
                let visited: Vec<_> = all.iter().take_while(|c| c.last_purchase_at.is_some()).collect();
                assert_eq!(visited.len(), 4, "customers who bought come first");
                assert!(
                    visited.windows(2).all(|w| w[0].last_purchase_at >= w[1].last_purchase_at),
                    "most recent first"
                );
            }
        }
    }
    assert_eq!(
        s.list_customers(&ListRequest { sort: SortBy::Name, archived: false, after: Some("garbage".into()), limit: 2 })
            .unwrap_err()
            .code(),
        "validation",
        "a forged cursor is refused"
    );
}

#[test]
fn archived_customers_have_their_own_list() {
    let (mut s, _) = store();
    let a = add(&mut s, input("A", "Archivé"));
    add(&mut s, input("B", "Actif"));
    s.archive_customer(a, None).unwrap();
    let active =
        s.list_customers(&ListRequest { sort: SortBy::Name, archived: false, after: None, limit: 50 }).unwrap();
    let archived =
        s.list_customers(&ListRequest { sort: SortBy::Name, archived: true, after: None, limit: 50 }).unwrap();
    assert_eq!(active.items.len(), 1);
    assert_eq!(archived.items.len(), 1);
    assert!(archived.items[0].archived);
}

#[test]
fn each_list_holds_its_customers_once_in_every_sort_order() {
    // Customers by last visit are two partial indexes (in use; archived or merged): each list
    // must read the right one, with and without purchases, and never show a merged customer.
    let (mut s, clock) = store();
    let mut active = Vec::new();
    let mut archived = Vec::new();
    for i in 0..6 {
        let id = add(&mut s, input("C", &format!("Client{i}")));
        if i % 2 == 0 {
            clock.advance(chrono::Duration::hours(1));
            sale(&mut s, id, 500 + i);
        }
        if i >= 3 {
            s.archive_customer(id, None).unwrap();
            archived.push(id);
        } else {
            active.push(id);
        }
    }
    let kept = active[0];
    let merged = add(&mut s, input("C", "Fusionné"));
    sale(&mut s, merged, 700);
    s.merge_customers(kept, merged, None).unwrap();
    s.refresh_scores().unwrap();
    for sort in ALL_SORTS {
        for (flag, want) in [(false, &active), (true, &archived)] {
            let mut got = Vec::new();
            let mut after = None;
            loop {
                let page =
                    s.list_customers(&ListRequest { sort, archived: flag, after: after.clone(), limit: 2 }).unwrap();
                got.extend(page.items.iter().map(|c| c.id));
                match page.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            let mut sorted = got.clone();
            sorted.sort();
            let mut expected = want.clone();
            expected.sort();
            assert_eq!(sorted, expected, "{sort:?}, archived {flag}: each customer of the list once, no merged one");
            assert_eq!(got.len(), want.len(), "{sort:?}, archived {flag}: no customer twice");
        }
    }
}

#[test]
fn a_word_matches_only_the_customers_that_contain_it() {
    let (mut s, _) = store();
    add(&mut s, CustomerInput { phone: "06 12 34 56 78".into(), ..input("Élodie", "Lefèvre") });
    add(&mut s, input("<img src=x onerror=alert(1)>", "Test"));
    assert_eq!(names(&s, "onerror"), vec!["<img src=x onerror=alert(1)> Test"]);
}

#[test]
fn the_scores_orders_put_the_most_at_risk_and_the_champions_first() {
    use crate::analytics::rfm::RfmSegment;
    use crate::analytics::rhythm::ChurnRisk;
    let (mut s, _) = store();
    let ids: Vec<i64> = (0..6).map(|i| add(&mut s, input("R", &format!("Client{i}")))).collect();
    // Scores written as the background would have: (churn, recency, usual gap, segment, value).
    let rows = [
        ("low", 10, 30, "lost", 900),
        ("high", 90, 30, "champions", 500),
        ("gone", 800, 30, "hibernating", 50),
        ("high", 200, 30, "at_risk", 400),
        ("medium", 60, 30, "champions", 300),
    ];
    for (id, (churn, recency, gap, segment, spent)) in ids.iter().zip(rows) {
        s.conn()
            .execute(
                "INSERT INTO customer_scores VALUES (?1, ?2, 3, 100, 3, 3, 3, ?4, NULL, ?3, 1, ?6, ?5, 0, 0, NULL, 'habit')",
                rusqlite::params![id, recency, gap, segment, spent, churn],
            )
            .unwrap();
    }
    let order = |sort| -> Vec<i64> {
        s.list_customers(&ListRequest { sort, archived: false, after: None, limit: 50 })
            .unwrap()
            .items
            .iter()
            .map(|c| c.id)
            .collect()
    };
    assert_eq!(
        order(SortBy::ChurnRisk),
        vec![ids[1], ids[3], ids[4], ids[0], ids[2], ids[5]],
        "high first (the highest expected value first, not the longest absence), medium, low, gone, then no score"
    );
    assert_eq!(
        order(SortBy::Segment),
        vec![ids[1], ids[4], ids[3], ids[2], ids[0], ids[5]],
        "Champions first (the highest expected value first), At risk, Hibernating, Lost, then no score"
    );
    // The keys name every level and segment the scores know.
    for c in ChurnRisk::ALL {
        assert!(
            crate::analytics::scores::RISK_KEY.contains(&format!("'{}'", c.code())) || c == ChurnRisk::Gone,
            "{c:?} ranked"
        );
    }
    for seg in RfmSegment::ALL {
        assert!(
            crate::analytics::scores::SEGMENT_KEY.contains(&format!("'{}'", seg.code())) || seg == RfmSegment::Lost,
            "{seg:?} ranked"
        );
    }
}

#[test]
fn the_scores_orders_walk_their_index_not_a_sort_of_the_file() {
    let (s, _) = store();
    for sort in [SortBy::ExpectedValue, SortBy::ChurnRisk, SortBy::Segment] {
        let key = sort.score_key().unwrap();
        let plan: Vec<String> = s
            .conn()
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                super::scored_page_sql(key, "c.archived_at IS NULL AND c.merged_into IS NULL")
            ))
            .unwrap()
            .query_map([51, 1_000, 7], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let plan = plan.join(" | ");
        assert!(plan.contains("INDEX customer_scores_by_"), "{sort:?} reads its index: {plan}");
        assert!(plan.contains("SEARCH s "), "{sort:?} seeks to the cursor instead of walking from the top: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{sort:?} sorts nothing: {plan}");
    }
}
