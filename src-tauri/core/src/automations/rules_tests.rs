use super::*;
use crate::automations::calendar::zone;
use chrono::TimeZone;

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}
fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

#[test]
fn the_29th_of_february_falls_where_the_merchant_chose() {
    type Case = (i32, u32, u32, Feb29, Option<NaiveDate>, &'static str);
    let cases: &[Case] = &[
        (2028, 2, 29, Feb29::Feb28, Some(ymd(2028, 2, 29)), "a leap year keeps 29 February"),
        (2027, 2, 29, Feb29::Feb28, Some(ymd(2027, 2, 28)), "other years: 28 February when chosen"),
        (2027, 2, 29, Feb29::Mar1, Some(ymd(2027, 3, 1)), "other years: 1 March when chosen"),
        (2100, 2, 29, Feb29::Mar1, Some(ymd(2100, 3, 1)), "2100 is not a leap year"),
        (2027, 4, 31, Feb29::Feb28, Some(ymd(2027, 4, 30)), "31 April typed by hand: the last day of April"),
        (2027, 13, 1, Feb29::Feb28, None, "no thirteenth month"),
        (2027, 5, 0, Feb29::Feb28, None, "no day zero"),
    ];
    for (year, month, day, rule, expected, why) in cases {
        assert_eq!(birthday_in(*year, *month, *day, *rule), *expected, "{why}");
    }
}

#[test]
fn the_birthday_window_is_seven_days_before_to_three_after_in_the_shops_zone() {
    let paris = zone("Europe/Paris");
    let w = birthday_window(paris, ymd(2027, 6, 15), 3);
    assert_eq!(w.due, utc(2027, 6, 11, 22), "3 days before, at local midnight (UTC+2 in June)");
    assert_eq!(w.valid_until, utc(2027, 6, 18, 22), "valid until the end of the third day after");
    let capped = birthday_window(paris, ymd(2027, 6, 15), 30);
    assert_eq!(capped.due, utc(2027, 6, 7, 22), "never more than 7 days before");
    let montreal = zone("America/Toronto");
    let w = birthday_window(montreal, ymd(2027, 1, 10), 0);
    assert_eq!(w.due, utc(2027, 1, 10, 5), "midnight in Toronto in winter is 05:00 UTC");
}

#[test]
fn birthday_occasions_cross_the_new_year() {
    let paris = zone("Europe/Paris");
    // 30 December 2026: a 2 January birthday's window (from 26 December) is open, for 2027.
    let now = utc(2026, 12, 30, 10);
    let found = birthday_occasions(paris, 1, 2, Feb29::Feb28, 7, now, now);
    assert_eq!(found.len(), 1, "one occasion around the new year: {found:?}");
    assert_eq!(found[0].0, 2027, "the key is the year of the birthday, not of today");
    // 2 January 2027: a 31 December birthday is within its 3 days after, for 2026.
    let now = utc(2027, 1, 2, 10);
    let found = birthday_occasions(paris, 12, 31, Feb29::Feb28, 0, now, now);
    assert_eq!(found.iter().map(|f| f.0).collect::<Vec<_>>(), [2026], "last year's birthday is still valid");
    let none = birthday_occasions(paris, 7, 14, Feb29::Feb28, 3, now, now);
    assert!(none.is_empty(), "a July birthday has nothing to say in January");
}

#[test]
fn windows_of_each_kind() {
    let t = utc(2027, 3, 10, 14);
    let w = welcome_window(t, 2);
    assert_eq!((w.due, w.valid_until), (utc(2027, 3, 10, 16), utc(2027, 3, 17, 14)), "welcome: 2 h after, 7 days");
    let w = thanks_window(t, 2);
    assert_eq!((w.due, w.valid_until), (utc(2027, 3, 12, 14), utc(2027, 3, 17, 14)), "thank-you: N days after, 5 days");
    let w = tier_window(t, 24);
    assert_eq!((w.due, w.valid_until), (utc(2027, 3, 11, 14), utc(2027, 3, 25, 14)), "tier: after the delay, 14 days");
    let w = tier_loss_window(utc(2028, 1, 1, 0), 30);
    assert_eq!(
        (w.due, w.valid_until),
        (utc(2027, 12, 2, 0), utc(2028, 1, 1, 0)),
        "tier loss: N days before, until then"
    );
    let paris = zone("Europe/Paris");
    let w = expiry_window(paris, utc(2027, 3, 31, 12), 7);
    assert_eq!(w.due, utc(2027, 3, 23, 23), "7 days before, at local midnight (UTC+1 in March)");
    assert_eq!(w.valid_until, utc(2027, 3, 31, 12), "valid until the points expire");
}

#[test]
fn winback_on_a_fixed_absence_or_the_customers_own_rhythm() {
    let cfg =
        AutomationConfig { winback_days: 60, winback_rhythm: true, winback_rhythm_percent: 200, ..Default::default() };
    let last = utc(2027, 5, 1, 10);
    type Case = (Option<DateTime<Utc>>, i64, DateTime<Utc>, &'static str);
    let cases: &[Case] = &[
        (None, 1, last + Duration::days(60), "one visit: after the fixed 60 days"),
        (Some(last - Duration::days(20)), 2, last + Duration::days(60), "two visits are not a rhythm"),
        (
            Some(last - Duration::days(70)),
            8,
            last + Duration::days(20),
            "a customer every 10 days is late after 20 days (200 %)",
        ),
        (Some(last - Duration::days(14)), 15, last + Duration::days(14), "never sooner than 14 days"),
        (
            Some(last - Duration::days(400)),
            5,
            last + Duration::days(60),
            "a slow rhythm: the fixed absence comes first",
        ),
    ];
    for (first, visits, due, why) in cases {
        let w = winback_window(&cfg, last, *first, *visits);
        assert_eq!(w.due, *due, "{why}");
        assert_eq!(
            w.valid_until,
            w.due + Duration::days(WINBACK_VALID_DAYS),
            "{why}: valid while absent, 60 days at most"
        );
    }
    let no_rhythm = AutomationConfig { winback_rhythm: false, ..cfg };
    assert_eq!(
        winback_window(&no_rhythm, last, Some(last - Duration::days(70)), 8).due,
        last + Duration::days(60),
        "without the rhythm rule only the fixed absence counts"
    );
}

fn settings() -> AutomationSettings {
    AutomationSettings { min_days_between: 3, max_per_month: 4, ..AutomationSettings::default() }
}

#[test]
fn pressure_limits_space_messages_and_cap_the_month() {
    let now = utc(2027, 5, 20, 10);
    let s = settings();
    type Case = (Vec<i64>, Pressure, &'static str);
    let cases: Vec<Case> = vec![
        (vec![], Pressure::Allowed, "nothing recent: a message may go"),
        (vec![2], Pressure::NotBefore(now + Duration::days(1)), "one 2 days ago: wait until 3 days have passed"),
        (vec![3], Pressure::Allowed, "exactly 3 days ago: allowed"),
        (
            vec![4, 10, 16, 22],
            Pressure::NotBefore(now + Duration::days(8)),
            "4 in 30 days: wait for the oldest to leave",
        ),
        (vec![4, 10, 16, 31], Pressure::Allowed, "one of them is older than 30 days"),
    ];
    for (days_ago, expected, why) in cases {
        let recent: Vec<_> = days_ago.iter().map(|d| now - Duration::days(*d)).collect();
        assert_eq!(pressure(&s, &recent, now), expected, "{why}");
    }
}

#[test]
fn the_most_important_message_goes_first_and_the_others_wait() {
    use AutomationKind::*;
    let t = utc(2027, 5, 20, 10);
    let due = [(Thanks, t), (Expiry, t), (Birthday, t), (Winback, t)];
    let v = arbitrate(&due, Pressure::Allowed);
    assert_eq!(
        v,
        [Verdict::Postpone, Verdict::Send, Verdict::Postpone, Verdict::Postpone],
        "expiring points before birthday, tier, win-back, thank-you"
    );
    let order = [Welcome, Expiry, Birthday, Tier, Winback, Thanks];
    for pair in order.windows(2) {
        assert!(pair[0].priority() < pair[1].priority(), "{:?} goes before {:?}", pair[0], pair[1]);
    }
    let v = arbitrate(&due, Pressure::NotBefore(t + Duration::days(1)));
    assert!(v.iter().all(|x| *x == Verdict::Postpone), "nothing goes while the limits hold");
    let two = [(Birthday, t), (Birthday, t - Duration::days(1))];
    assert_eq!(
        arbitrate(&two, Pressure::Allowed),
        [Verdict::Postpone, Verdict::Send],
        "within a kind, the oldest first"
    );
}

#[test]
fn a_night_is_not_a_long_closure() {
    let now = utc(2027, 5, 20, 9);
    assert!(!long_closure(None, now, 48), "the first check ever is not a catch-up");
    assert!(!long_closure(Some(now - Duration::hours(14)), now, 48), "closed for the night");
    assert!(!long_closure(Some(now - Duration::hours(47)), now, 48), "a weekend under the threshold");
    assert!(long_closure(Some(now - Duration::days(10)), now, 48), "ten days of holiday: the merchant decides");
}

#[test]
fn the_held_out_share_is_stable_and_close_to_the_percentage() {
    let n = 20_000;
    let out = (0..n).filter(|c| held_out(3, *c, 10)).count();
    assert!((1_700..2_300).contains(&out), "about 10 % of customers are held out: {out}");
    for c in 0..100 {
        assert_eq!(held_out(3, c, 10), held_out(3, c, 10), "the same customer stays on the same side");
    }
    assert_eq!((0..n).filter(|c| held_out(3, *c, 0)).count(), 0, "0 % holds nobody out");
    assert!((0..n).filter(|c| held_out(3, *c, 90)).count() < n as usize * 55 / 100, "never more than half");
}

#[test]
fn the_backlog_is_spread_over_the_days_chosen() {
    let start = utc(2027, 5, 20, 9);
    let until = start + Duration::days(4);
    let old = Window { due: start - Duration::days(100), valid_until: start + Duration::days(1) };
    let spread_dues: Vec<_> = (0..8).map(|r| spread(old, start, until, r, 8).due).collect();
    assert_eq!(spread_dues[0], start, "the first goes now");
    assert_eq!(spread_dues[4], start + Duration::days(2), "the middle one half-way through");
    assert!(spread_dues.iter().all(|d| *d < until), "all within the days chosen");
    let w = spread(old, start, until, 7, 8);
    assert!(w.valid_until >= w.due + Duration::days(2), "a spread occasion stays valid after it is due");
    let new = Window { due: start + Duration::hours(1), valid_until: start + Duration::days(3) };
    assert_eq!(spread(new, start, until, 3, 8), new, "an occasion due from now on is not moved");
}
