use super::*;
use crate::campaigns::segments::{Combine, Condition};
use crate::nps::{NpsChannel, NpsGroup, NpsInput};
use crate::purchases::SaleInput;
use crate::testutil::{add, input, store};
use chrono::{DateTime, Duration, TimeZone, Utc};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn sell(s: &mut Store, c: CustomerId, cents: i64, days_ago: i64) {
    let input = SaleInput {
        customer_id: c,
        amount_cents: cents,
        occurred_at: Some(now() - Duration::days(days_ago)),
        note: String::new(),
        category: String::new(),
        apply: None,
    };
    s.record_sale(&input, None).unwrap();
}

fn list(s: &Store, conditions: Vec<Condition>) -> NumbersListPage {
    let req =
        NumbersListRequest { filter: SegmentFilter { combine: Combine::All, conditions }, after: None, limit: 50 };
    s.numbers_list(&req).unwrap()
}

fn names(p: &NumbersListPage) -> Vec<String> {
    p.items.iter().map(|i| i.customer.display_name.clone()).collect()
}

#[test]
fn each_number_opens_the_customers_behind_it() {
    let (mut s, clock) = store();
    clock.set(now());
    let zoe = add(&mut s, input("Zoé", "Côté"));
    let jerome = add(&mut s, input("Jérôme", "Lévesque"));
    let anais = add(&mut s, input("Anaïs", "<img src=x onerror=alert(1)>"));
    for w in 0..12 {
        sell(&mut s, zoe, 3000, 2 + 7 * w);
    }
    for w in 0..10 {
        sell(&mut s, jerome, 2000, 90 + 7 * w);
    }
    sell(&mut s, anais, 1500, 1);
    s.record_nps(
        &NpsInput {
            customer_id: Some(jerome),
            score: 3,
            comment: "Trop cher".into(),
            channel: NpsChannel::Till,
            answered_at: None,
        },
        None,
    )
    .unwrap();
    s.refresh_scores().unwrap();

    let high = list(&s, vec![Condition::ChurnRisk { risk: ChurnRisk::High }]);
    assert_eq!(names(&high), ["Jérôme Lévesque"], "weekly, gone for 13 weeks");
    assert_eq!(high.items[0].scores.churn, Some(ChurnRisk::High));
    assert_eq!(high.items[0].scores.nps_score, Some(3), "the columns carry the latest answer");

    let new = list(&s, vec![Condition::RfmSegment { segment: RfmSegment::New }]);
    assert_eq!(names(&new), ["Anaïs <img src=x onerror=alert(1)>"], "a name is data, listed as it is");

    let detractors = list(&s, vec![Condition::NpsAnswer { group: Some(NpsGroup::Detractor), within_months: None }]);
    assert_eq!(names(&detractors), ["Jérôme Lévesque"]);
    assert_eq!(list(&s, vec![Condition::NpsAnswer { group: None, within_months: None }]).total, 2, "never answered");

    let day = |ago: i64| (now() - Duration::days(ago)).date_naive();
    let last_week = list(&s, vec![Condition::BoughtBetween { from: day(7), to: day(0) }]);
    assert_eq!(names(&last_week), ["Zoé Côté", "Anaïs <img src=x onerror=alert(1)>"], "best spenders first");
    let newcomers = list(&s, vec![Condition::FirstPurchaseBetween { from: day(7), to: day(0) }]);
    assert_eq!(names(&newcomers), ["Anaïs <img src=x onerror=alert(1)>"]);
    assert_eq!(list(&s, vec![Condition::CardHolder { holder: true }]).total, 3, "every customer got a card");
    assert_eq!(list(&s, vec![Condition::LifetimeValueAtLeast { cents: 1 }]).total, 3);

    let bad = NumbersListRequest {
        filter: SegmentFilter {
            combine: Combine::All,
            conditions: vec![Condition::BoughtBetween { from: day(0), to: day(7) }],
        },
        after: None,
        limit: 10,
    };
    assert_eq!(s.numbers_list(&bad).unwrap_err().code(), "validation", "a period ending before it starts");
    let columns = s.score_columns(&[anais, 999, zoe]).unwrap();
    assert_eq!(columns.iter().map(|c| c.customer_id).collect::<Vec<_>>(), [anais, zoe], "unknown ids are skipped");
}

#[test]
fn long_lists_come_in_pages_after_a_cursor() {
    let (mut s, clock) = store();
    clock.set(now());
    for i in 0..7 {
        let c = add(&mut s, input("Client", &format!("N{i}")));
        sell(&mut s, c, 1000 + 100 * (i % 3), 5);
    }
    let mut req = NumbersListRequest { filter: SegmentFilter::default(), after: None, limit: 3 };
    let mut seen = Vec::new();
    loop {
        let page = s.numbers_list(&req).unwrap();
        assert_eq!(page.total, 7);
        seen.extend(page.items.iter().map(|i| i.customer.id));
        match page.next {
            Some(n) => req.after = Some(n),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!((seen.len(), sorted.len()), (7, 7), "everyone once, nobody twice");
    req.after = Some("not a cursor".into());
    assert_eq!(s.numbers_list(&req).unwrap_err().code(), "validation");
}

#[test]
fn each_cell_of_the_rfm_grid_opens_exactly_the_customers_it_counts() {
    let (mut s, clock) = store();
    clock.set(now());
    s.generate_demo(crate::demo::DemoSpec { customers: 300, purchases: 3_000, seed: 11 }).unwrap();
    s.refresh_scores().unwrap();
    let sum = s.scores_summary().unwrap().unwrap();
    let mut seen = 0;
    for cell in &sum.grid {
        let l = list(&s, vec![Condition::RfmCell { r: cell.r, fm: cell.fm }]);
        assert_eq!(l.total, cell.customers, "cell R{} / F+M {}: the list is the count shown", cell.r, cell.fm);
        seen += cell.customers;
    }
    assert!(seen > 100, "the demo fills the grid: {seen}");
    let bad = SegmentFilter { combine: Combine::All, conditions: vec![Condition::RfmCell { r: 0, fm: 6 }] };
    let req = NumbersListRequest { filter: bad, after: None, limit: 50 };
    assert!(s.numbers_list(&req).is_err(), "scores outside 1–5 are refused, not searched");
}

#[test]
fn satisfactions_groups_count_the_customers_their_lists_hold() {
    let (mut s, clock) = store();
    clock.set(now() - Duration::days(400));
    let a = add(&mut s, input("Zoé", "Côté"));
    let b = add(&mut s, input("Jérôme", "Lévesque"));
    let c = add(&mut s, input("Anaïs", "Thériault"));
    let ask = |s: &mut Store, who: CustomerId, score: u8| {
        let input = NpsInput {
            customer_id: Some(who),
            score,
            comment: String::new(),
            channel: NpsChannel::Paper,
            answered_at: None,
        };
        s.record_nps(&input, None).unwrap();
    };
    ask(&mut s, c, 2);
    clock.set(now() - Duration::days(200));
    ask(&mut s, a, 3);
    clock.set(now() - Duration::days(10));
    ask(&mut s, a, 10);
    clock.set(now());
    ask(&mut s, b, 9);
    let summary = s.nps_overview(12).unwrap();
    assert_eq!(
        (summary.answers, summary.promoters, summary.detractors),
        (2, 2, 0),
        "Zoé counts once, by her latest answer; Anaïs answered more than 12 months ago"
    );
    assert_eq!(summary.score, Some(100));
    assert_eq!(summary.trend.iter().map(|m| m.answers).sum::<i64>(), 3, "the trend counts every answer of its month");
    // Each month of the trend opens the customers who answered in it.
    let answered_in = |s: &Store, month: &str| {
        let from = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").unwrap();
        let to = from + chrono::Months::new(1) - Duration::days(1);
        let mut n = names(&list(s, vec![Condition::NpsAnsweredBetween { from, to }]));
        n.sort();
        n
    };
    let months: Vec<&str> = summary.trend.iter().map(|m| m.month.as_str()).collect();
    assert_eq!(months, ["2026-05", "2026-11"]);
    assert_eq!(answered_in(&s, "2026-05"), ["Zoé Côté"]);
    assert_eq!(answered_in(&s, "2026-11"), ["Jérôme Lévesque", "Zoé Côté"], "November's two answers, two customers");
    assert!(answered_in(&s, "2026-10").is_empty(), "a month without answers holds nobody");
    let group =
        |s: &Store, g, within_months| list(s, vec![Condition::NpsAnswer { group: Some(g), within_months }]).total;
    assert_eq!(
        group(&s, NpsGroup::Promoter, Some(12)),
        summary.listed_promoters,
        "the promoters' list holds as many as counted"
    );
    assert_eq!(
        group(&s, NpsGroup::Detractor, Some(12)),
        summary.listed_detractors,
        "Zoé's old 3/10 is not her latest answer"
    );
    assert_eq!(summary.listed_promoters, 2);
    // An anonymous paper form and an archived customer's answer count in the score, not in a list.
    let mut form = NpsInput {
        customer_id: None,
        score: 10,
        comment: String::new(),
        channel: NpsChannel::Paper,
        answered_at: None,
    };
    s.record_nps(&form, None).unwrap();
    let gone = add(&mut s, input("Paul", "Roy"));
    form.customer_id = Some(gone);
    s.record_nps(&form, None).unwrap();
    s.archive_customer(gone, None).unwrap();
    let summary = s.nps_overview(12).unwrap();
    assert_eq!((summary.promoters, summary.listed_promoters), (4, 2), "four promoters, two of them listable");
    assert_eq!(group(&s, NpsGroup::Promoter, Some(12)), summary.listed_promoters);
    assert_eq!(group(&s, NpsGroup::Detractor, None), 1, "without a window, Anaïs's answer of last year counts");
    let never = list(&s, vec![Condition::NpsAnswer { group: None, within_months: Some(12) }]);
    assert_eq!(names(&never), ["Anaïs Thériault"], "no answer in the 12 months");
    let bad = SegmentFilter {
        combine: Combine::All,
        conditions: vec![Condition::NpsAnswer { group: None, within_months: Some(0) }],
    };
    assert!(crate::campaigns::segments::validate(&bad).is_err(), "a window of 0 months is refused");
}

#[test]
fn the_programmes_cost_and_breakage_open_the_customers_behind_them() {
    use crate::loyalty::programme::{Expiry, PointsRule, Programme};
    use crate::loyalty::RedeemRequest;
    let (mut s, clock) = store();
    let programme = Programme {
        points: Some(PointsRule { points_per_unit: 1, unit_cents: 100, points_per_visit: 0 }),
        expiry: Expiry::AfterMonths { months: 1 },
        ..Programme::default()
    };
    s.save_loyalty_programme(&programme, None).unwrap();
    let c = add(&mut s, input("Élodie", "Lefèvre"));
    let other = add(&mut s, input("Zoé", "Côté"));
    for who in [c, other] {
        let sale = SaleInput {
            customer_id: who,
            amount_cents: 1000,
            occurred_at: None,
            note: String::new(),
            category: String::new(),
            apply: None,
        };
        s.record_sale(&sale, None).unwrap();
    }
    s.redeem(&RedeemRequest { customer_id: c, reward_id: None, points: Some(4), purchase_id: None }, None).unwrap();
    // A third pays part of a sale with points at the till: the discount the figure counts.
    let till = add(&mut s, input("Anaïs", "Roy"));
    let first = SaleInput {
        customer_id: till,
        amount_cents: 2000,
        occurred_at: None,
        note: String::new(),
        category: String::new(),
        apply: None,
    };
    s.record_sale(&first, None).unwrap();
    let paid = SaleInput { apply: Some(crate::loyalty::Apply::Points { points: 10 }), ..first };
    s.record_sale(&paid, None).unwrap();
    let discounted: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM loyalty_sales WHERE customer_id = ?1 AND discount_cents > 0", [till], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(discounted, 1, "the sale carries its discount");
    clock.advance(Duration::days(40));
    s.run_points_expiry().unwrap();
    let ids = |s: &Store, condition: Condition| {
        let req = NumbersListRequest {
            filter: SegmentFilter { combine: Combine::All, conditions: vec![condition] },
            after: None,
            limit: 50,
        };
        let mut v: Vec<CustomerId> = s.numbers_list(&req).unwrap().items.into_iter().map(|i| i.customer.id).collect();
        v.sort();
        v
    };
    assert_eq!(
        ids(&s, Condition::RewardUsedWithin { months: 12 }),
        [c, till],
        "Élodie and Anaïs used points; Zoé did not"
    );
    assert_eq!(ids(&s, Condition::PointsExpiredWithin { months: 12 }), [c, other, till], "all lost unused points");
    clock.advance(Duration::days(400));
    assert!(ids(&s, Condition::RewardUsedWithin { months: 12 }).is_empty(), "a year later, out of the window");
    let bad = SegmentFilter { combine: Combine::All, conditions: vec![Condition::PointsExpiredWithin { months: 0 }] };
    assert!(crate::campaigns::segments::validate(&bad).is_err(), "a window of 0 months is refused");
}
