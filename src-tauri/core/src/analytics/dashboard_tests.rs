use super::*;
use crate::purchases::SaleInput;
use crate::testutil::{add, input, store};
use crate::types::CustomerId;
use chrono::TimeZone;

fn noon(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn sell(s: &mut Store, c: CustomerId, cents: i64, at: DateTime<Utc>) {
    let input = SaleInput {
        customer_id: c,
        amount_cents: cents,
        occurred_at: Some(at),
        note: String::new(),
        category: String::new(),
        apply: None,
    };
    s.record_sale(&input, None).unwrap();
}

#[test]
fn the_month_view_compares_with_the_previous_months_and_last_year() {
    let (mut s, clock) = store();
    clock.set(noon(2026, 11, 15));
    let a = add(&mut s, input("Zoé", "Côté"));
    let b = add(&mut s, input("Jérôme", "Lévesque"));
    let c = add(&mut s, input("Anaïs", "Thériault"));
    // Last year, the first half of November.
    sell(&mut s, a, 10_000, noon(2025, 11, 3));
    // This November so far: two customers, one of them new.
    sell(&mut s, a, 6_000, noon(2026, 11, 2));
    sell(&mut s, a, 4_000, noon(2026, 11, 9));
    sell(&mut s, b, 5_000, noon(2026, 11, 10));
    // Late November last year is outside the half month compared.
    sell(&mut s, c, 99_000, noon(2025, 11, 28));
    s.refresh_days().unwrap();
    let d = s.dashboard(&DashboardRequest { grain: Grain::Month, until: None }).unwrap();
    assert!(d.days_ready);
    assert_eq!(d.series.len(), 12);
    let nov = d.series[11].totals;
    assert_eq!((nov.revenue_cents, nov.sales, nov.active_customers, nov.new_customers), (15_000, 3, 2, 1));
    assert_eq!(nov.returning_customers, 1, "Zoé came back");
    assert_eq!(nov.average_basket_cents, Some(5_000));
    let last_nov = d.series_last_year[11].totals;
    assert_eq!(last_nov.revenue_cents, 10_000, "1 to 15 November last year, not the 28th");
    assert_eq!(d.current.revenue_cents, 15_000, "the 12 months to today");
    assert_eq!(d.changes.revenue_vs_last_year, Some(500), "+50 % on last year's same stretch");
    assert_eq!(d.current.member_share_permille, Some(0), "the cards were issued today, after these receipts");
    assert!(d.scores.is_none() && d.insights.is_none(), "not computed yet: absent, not zero");
    s.refresh_scores().unwrap();
    s.refresh_insights().unwrap();
    let d = s.dashboard(&DashboardRequest { grain: Grain::Day, until: None }).unwrap();
    assert_eq!(d.series.len(), 30);
    assert_eq!(d.scores.as_ref().unwrap().buyers, 3);
    assert!(d.insights.as_ref().unwrap().programme.liability.points >= 0);
    assert_eq!(d.nps.answers, 0);
    assert!(d.referral_budget.is_none(), "no referral offer: no budget to show");
}

#[test]
fn the_home_screen_compares_this_months_whole_days_with_the_same_days_of_last_month() {
    let (mut s, clock) = store();
    clock.set(noon(2026, 12, 5));
    let a = add(&mut s, input("Zoé", "Côté"));
    sell(&mut s, a, 3_000, noon(2026, 12, 2));
    // Today is still running: left out.
    sell(&mut s, a, 70_000, noon(2026, 12, 5) - chrono::Duration::hours(2));
    sell(&mut s, a, 1_000, noon(2026, 11, 4));
    // After the 4th of November: not in the days compared.
    sell(&mut s, a, 50_000, noon(2026, 11, 5));
    sell(&mut s, a, 2_000, noon(2025, 12, 4));
    s.refresh_days().unwrap();
    let d = s.dashboard(&DashboardRequest { grain: Grain::Month, until: None }).unwrap();
    let f = d.so_far.expect("the month view has a so-far");
    assert_eq!(
        (f.current.revenue_cents, f.previous.revenue_cents, f.last_year.revenue_cents),
        (3_000, 1_000, 2_000),
        "1–4 December against 1–4 November and 1–4 December last year"
    );
    assert_eq!(f.changes.revenue_vs_previous, Some(2_000), "+200 % on the same days of last month");
    assert_eq!(f.changes.revenue_vs_last_year, Some(500));
    let day = s.dashboard(&DashboardRequest { grain: Grain::Day, until: None }).unwrap();
    assert!(day.so_far.is_none(), "a day still running is not compared with a whole one");
    let report = s
        .dashboard(&DashboardRequest {
            grain: Grain::Month,
            until: Some(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()),
        })
        .unwrap();
    assert!(report.so_far.is_none(), "the report's figures are already its month's");
}

#[test]
fn the_monthly_report_looks_at_a_past_month() {
    let (mut s, clock) = store();
    clock.set(noon(2026, 11, 15));
    let a = add(&mut s, input("Léa", "Roy"));
    sell(&mut s, a, 2_000, noon(2026, 9, 10));
    sell(&mut s, a, 3_000, noon(2026, 10, 10));
    s.refresh_days().unwrap();
    let oct = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    let d = s.dashboard(&DashboardRequest { grain: Grain::Month, until: Some(oct) }).unwrap();
    assert_eq!(d.series[11].period.from, NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
    assert_eq!(d.series[11].totals.revenue_cents, 3_000);
    assert_eq!(d.current.revenue_cents, 3_000, "the report's figures are October's");
    assert_eq!(d.previous.revenue_cents, 2_000, "against September");
    assert_eq!(d.windows.last_year.from, NaiveDate::from_ymd_opt(2025, 10, 1).unwrap(), "and October last year");
    assert_eq!(d.last_year.revenue_cents, 0);
    assert_eq!(d.changes.revenue_vs_last_year, None, "nothing a year before: no percentage");
    assert_eq!(d.changes.revenue_vs_previous, Some(500), "+50 % on September (per mille)");
}

#[test]
fn the_monthly_reports_last_year_line_has_every_month_not_only_the_last() {
    let (mut s, clock) = store();
    clock.set(noon(2026, 12, 5));
    let a = add(&mut s, input("Noé", "Gagnon"));
    // Sales in December 2024 and March 2025: months of the report's last-year line for
    // November 2026 (December 2025 – November 2026, a year earlier).
    sell(&mut s, a, 1_000, noon(2024, 12, 10));
    sell(&mut s, a, 2_000, noon(2025, 3, 10));
    sell(&mut s, a, 4_000, noon(2025, 11, 10));
    s.refresh_days().unwrap();
    let nov = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let d = s.dashboard(&DashboardRequest { grain: Grain::Month, until: Some(nov) }).unwrap();
    let line: Vec<i64> = d.series_last_year.iter().map(|b| b.totals.revenue_cents).collect();
    assert_eq!(line[0], 1_000, "December 2024 is read for the line, not only the compared month: {line:?}");
    assert_eq!(line[3], 2_000, "March 2025 too: {line:?}");
    assert_eq!(line[11], 4_000, "November 2025: {line:?}");
    assert_eq!(d.last_year.revenue_cents, 4_000, "the figure compared is still November 2025's alone");
}

#[test]
fn totals_of_an_empty_stretch_have_no_basket_and_no_share() {
    let t = totals(&BTreeMap::new(), Period { from: NaiveDate::MIN, to: NaiveDate::MAX });
    assert_eq!(t, Totals::default());
    assert_eq!(changes(&t, &t, &t).revenue_vs_previous, None, "nothing to compare with");
}
