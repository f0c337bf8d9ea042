use super::*;
use crate::clock::Clock;
use crate::testutil::{add, input, store};
use chrono::Duration;

fn answer(customer: Option<CustomerId>, score: u8, comment: &str, channel: NpsChannel) -> NpsInput {
    NpsInput { customer_id: customer, score, comment: comment.into(), channel, answered_at: None }
}

#[test]
fn a_low_score_at_the_till_opens_a_follow_up_until_it_is_done() {
    let (mut s, _) = store();
    let c = add(&mut s, input("Zoé", "Côté"));
    assert!(s.customer_nps(c).unwrap().may_ask, "never asked");
    let a = s
        .record_nps(&answer(Some(c), 4, "Trop d'attente\n<b>vraiment</b>", NpsChannel::Till), Some("nps-answer-001"))
        .unwrap();
    assert_eq!((a.value.score, a.value.group), (4, NpsGroup::Detractor));
    assert_eq!(a.value.comment.as_deref(), Some("Trop d'attente\n<b>vraiment</b>"), "kept as typed, shown as text");
    assert!(
        s.record_nps(&answer(Some(c), 4, "Trop d'attente\n<b>vraiment</b>", NpsChannel::Till), Some("nps-answer-001"))
            .unwrap()
            .replayed,
        "a double click records one answer"
    );
    let reused = s.record_nps(&answer(Some(c), 10, "", NpsChannel::Till), Some("nps-answer-001")).unwrap_err();
    assert_eq!(reused.code(), "key_reused", "the same key with another score is refused, not answered with the first");
    let n = s.customer_nps(c).unwrap();
    assert!(!n.may_ask, "answered today: not asked again for 90 days");
    assert_eq!(n.open_followups.len(), 1, "a detractor gets a follow-up");
    let f = n.open_followups[0].id;
    s.close_followup(f, "Appelée, bon d'achat offert", None).unwrap();
    let after = s.customer_nps(c).unwrap();
    assert!(after.open_followups.is_empty());
    assert_eq!(
        after.done_followups.iter().map(|f| f.done_note.as_deref()).collect::<Vec<_>>(),
        [Some("Appelée, bon d'achat offert")],
        "what was done stays on the customer's page"
    );
    assert_eq!(s.close_followup(f, "encore", None).unwrap_err().code(), "conflict", "done stays done");
    let again = s.record_nps(&answer(Some(c), 9, "", NpsChannel::Paper), None).unwrap_err();
    assert_eq!(again.code(), "conflict", "at most one answer per customer in 90 days");
}

#[test]
fn a_paper_form_may_be_anonymous_and_dated_but_the_till_needs_a_customer() {
    let (mut s, clock) = store();
    let mut form = answer(None, 10, "Super conseils", NpsChannel::Paper);
    form.answered_at = Some(clock.now() - Duration::days(3));
    let a = s.record_nps(&form, None).unwrap().value;
    assert_eq!((a.customer_id, a.answered_at), (None, clock.now() - Duration::days(3)));
    assert_eq!(s.record_nps(&answer(None, 8, "", NpsChannel::Till), None).unwrap_err().code(), "validation");
    assert_eq!(s.record_nps(&answer(None, 11, "", NpsChannel::Paper), None).unwrap_err().code(), "validation");
    let mut future = answer(None, 8, "", NpsChannel::Paper);
    future.answered_at = Some(clock.now() + Duration::days(2));
    assert_eq!(s.record_nps(&future, None).unwrap_err().code(), "validation");
    assert_eq!(
        s.record_nps(&answer(None, 8, "", NpsChannel::Email), None).unwrap_err().code(),
        "validation",
        "email answers come through the mailbox"
    );
}

#[test]
fn declining_at_the_till_counts_as_asked() {
    let (mut s, clock) = store();
    let c = add(&mut s, input("Loïc", "Hébert"));
    s.nps_asked(c, None).unwrap();
    assert!(!s.customer_nps(c).unwrap().may_ask);
    clock.advance(Duration::days(91));
    assert!(s.customer_nps(c).unwrap().may_ask, "asked again after 90 days");
}

#[test]
fn an_emailed_answer_is_recorded_once_through_its_token() {
    let (mut s, clock) = store();
    let c = add(&mut s, input("Anaïs", "Thériault"));
    let token = s.transact("test", None, |tx| new_email_invitation(tx, c, None)).unwrap().value;
    assert!(!s.customer_nps(c).unwrap().may_ask, "the email asked");
    let out = s.record_email_answer(&token, 3, "Prix trop élevés", "anais@example.com", None).unwrap().value;
    let EmailAnswer::Recorded { customer_id, .. } = out else { panic!("{out:?}") };
    assert_eq!(customer_id, c);
    assert_eq!(s.customer_nps(c).unwrap().open_followups.len(), 1);
    assert_eq!(
        s.record_email_answer(&token, 10, "", "anais@example.com", None).unwrap().value,
        EmailAnswer::AlreadyAnswered,
        "the first click stands"
    );
    assert_eq!(
        s.record_email_answer("UNKNOWN00TOKEN", 5, "", "x@example.com", None).unwrap().value,
        EmailAnswer::UnknownToken
    );
    let second = s.transact("test", None, |tx| new_email_invitation(tx, c, None)).unwrap().value;
    assert!(matches!(
        s.record_email_answer(&second, 9, "", "anais@example.com", None).unwrap().value,
        EmailAnswer::TooSoon { .. }
    ));
    clock.advance(Duration::days(100));
    let third = s.transact("test", None, |tx| new_email_invitation(tx, c, None)).unwrap().value;
    assert!(matches!(
        s.record_email_answer(&third, 9, "", "anais@example.com", None).unwrap().value,
        EmailAnswer::Recorded { .. }
    ));
    assert_eq!(s.record_email_answer(&third, 11, "", "", None).unwrap_err().code(), "validation");
}

#[test]
fn the_summary_gives_the_score_its_trend_and_the_comments_by_theme() {
    let (mut s, clock) = store();
    let scores = [10, 9, 9, 8, 7, 3, 10, 6];
    let comments = [
        "Accueil adorable",
        "Très bons conseils",
        "",
        "Prix un peu élevés",
        "",
        "Trop d'attente",
        "Produits frais",
        "Cher",
    ];
    for (i, (score, comment)) in scores.iter().zip(comments).enumerate() {
        let c = add(&mut s, input("Client", &format!("N{i}")));
        s.record_nps(&answer(Some(c), *score, comment, NpsChannel::Till), None).unwrap();
    }
    let sum = s.nps_summary(12).unwrap();
    assert_eq!((sum.answers, sum.promoters, sum.passives, sum.detractors), (8, 4, 2, 2));
    assert_eq!(sum.score, Some(25), "50 % promoters less 25 % detractors");
    assert!(sum.indicative, "8 answers: indicative");
    assert_eq!(sum.trend.len(), 1);
    let prices = sum.themes.iter().find(|t| t.theme == Theme::Prices).unwrap();
    assert_eq!((prices.comments, prices.detractors), (2, 1));
    assert_eq!(sum.open_followups.len(), 2);
    assert_eq!(s.nps_comments(None, 12, 50).unwrap().total, 6, "the answers with a comment");
    clock.advance(Duration::days(400));
    assert_eq!(s.nps_summary(12).unwrap().answers, 0, "a year later they are out of the window");
}

#[test]
fn the_trend_by_month_matches_grouping_each_answer_by_its_local_month() {
    let (s, _) = store();
    let now = s.now();
    let since = crate::analytics::calendar::months_back(now, 12);
    // Answers every 61 hours over 14 months, and some on the very edges of local months.
    let mut at: Vec<chrono::DateTime<chrono::Utc>> =
        (0..200).map(|i| now - Duration::hours(61 * i64::from(i)) + Duration::minutes(7)).collect();
    for (_, from, to) in rules::local_months(since - Duration::days(40), now) {
        at.extend([from, to - Duration::seconds(1), to]);
    }
    // Dated far ahead (a clock set wrong): still counted, in its own month.
    at.push(now + Duration::days(365 * 73));
    for (i, t) in at.iter().enumerate() {
        s.conn()
            .execute(
                "INSERT INTO nps_answers (customer_id, score, channel, answered_at, recorded_at) VALUES (NULL, ?1, 'paper', ?2, ?2)",
                rusqlite::params![(i % 11) as i64, t],
            )
            .unwrap();
    }
    let mut st = s
        .conn()
        .prepare(
            "SELECT strftime('%Y-%m', answered_at, 'localtime') AS m, sum(score >= 9), sum(score BETWEEN 7 AND 8), sum(score <= 6)
             FROM nps_answers WHERE answered_at >= ?1 GROUP BY m ORDER BY m",
        )
        .unwrap();
    // The trend's months are whole: the first from its first local midnight.
    let first_month = crate::analytics::calendar::local_midnight(
        chrono::Datelike::with_day(&crate::analytics::calendar::local_date(since), 1).unwrap(),
    );
    let by_sql: Vec<(String, [i64; 3])> = st
        .query_map([first_month], |r| Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?])))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let by_ranges = monthly_counts(s.conn(), since, now).unwrap();
    assert!(by_sql.len() >= 12, "the answers span the year ({} months)", by_sql.len());
    assert_eq!(
        by_ranges, by_sql,
        "each month's counts are those of grouping every answer by its local month, edges included, the first month whole"
    );
    assert_eq!(s.nps_overview(12).unwrap().trend.len(), by_sql.len());
}

#[test]
fn a_themes_comments_are_listed_newest_first_and_counted_as_in_the_table() {
    let (mut s, clock) = store();
    let paper = |s: &mut Store, score: u8, comment: &str, days_ago: i64| {
        let mut a = answer(None, score, comment, NpsChannel::Paper);
        a.answered_at = Some(clock.now() - Duration::days(days_ago));
        s.record_nps(&a, None).unwrap();
    };
    paper(&mut s, 3, "Trop cher pour ce que c'est", 20);
    paper(&mut s, 9, "Accueil chaleureux, prix corrects", 5);
    paper(&mut s, 10, "Je cherchais un cadeau, trouvé !", 2);
    paper(&mut s, 2, "Les prix de l'an dernier", 400);
    let prices = s.nps_comments(Some(Theme::Prices), 12, 50).unwrap();
    let said: Vec<_> = prices.items.iter().map(|a| a.comment.clone().unwrap()).collect();
    assert_eq!(said, ["Accueil chaleureux, prix corrects", "Trop cher pour ce que c'est"], "newest first, 12 months");
    let table = s.nps_themes(crate::analytics::calendar::months_back(clock.now(), 12)).unwrap();
    let counted = table.iter().find(|t| t.theme == Theme::Prices).unwrap().comments;
    assert_eq!(prices.total, counted, "the list holds what the themes' table counts");
    let one = s.nps_comments(Some(Theme::Prices), 12, 1).unwrap();
    assert_eq!((one.total, one.items.len()), (2, 1), "the total counts them all, the list stops at the limit");
    assert_eq!(s.nps_comments(None, 12, 50).unwrap().total, 3, "every comment of the 12 months");
    assert_eq!(s.nps_comments(None, 0, 50).unwrap_err().code(), "validation");
}
