use super::*;
use crate::loyalty::programme::*;
use chrono::NaiveDate;

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
}

fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn one_point_per_euro() -> Programme {
    Programme {
        points: Some(PointsRule { points_per_unit: 1, unit_cents: 100, points_per_visit: 0 }),
        ..Programme::default()
    }
}

fn sale(paid: Cents) -> SaleFacts<'static> {
    // A Wednesday morning, outside every booster used below.
    SaleFacts { paid_cents: paid, discount_cents: 0, category: None, local_at: at(2026, 11, 18, 10, 0) }
}

#[test]
fn spend_earns_per_unit_and_the_remainder_carries_over() {
    let p = one_point_per_euro();
    let cases = [
        (1250, 0, 12, 50, "12.50 € earns 12 points, 50 c carried"),
        (1250, 50, 13, 0, "with 50 c carried, 12.50 € earns 13 points"),
        (99, 0, 0, 99, "no minimum purchase: 0.99 € earns nothing yet but is carried"),
        (1, 99, 1, 0, "one more cent completes the euro"),
    ];
    for (paid, carry, points, carry_after, rule) in cases {
        let e = earn(&p, &sale(paid), carry, None);
        assert_eq!((e.points, e.carry_after_cents), (points, carry_after), "{rule}");
    }
}

#[test]
fn points_per_visit_add_to_spend_points() {
    let p = Programme {
        points: Some(PointsRule { points_per_unit: 1, unit_cents: 100, points_per_visit: 5 }),
        ..Programme::default()
    };
    assert_eq!(earn(&p, &sale(350), 0, None).points, 8, "3 points for 3.50 € + 5 for the visit");
    let per_visit_only = Programme {
        points: Some(PointsRule { points_per_unit: 0, unit_cents: 100, points_per_visit: 10 }),
        ..Programme::default()
    };
    assert_eq!(earn(&per_visit_only, &sale(100_000), 0, None).points, 10, "visit points do not depend on the amount");
}

#[test]
fn category_booster_and_tier_multiply_and_round_down() {
    let p = Programme {
        category_multipliers: vec![CategoryMultiplier { category: "Café".into(), percent: 200 }],
        boosters: vec![Booster {
            name: "Mardi 16–18 h".into(),
            percent: 150,
            starts_on: None,
            ends_on: None,
            weekdays: vec![2],
            from_minute: Some(16 * 60),
            to_minute: Some(18 * 60),
        }],
        ..one_point_per_euro()
    };
    let tuesday_5pm = at(2026, 11, 17, 17, 0);
    let cafe = SaleFacts { paid_cents: 1000, discount_cents: 0, category: Some("cafe"), local_at: tuesday_5pm };
    let e = earn(&p, &cafe, 0, Some(("Or", 110)));
    assert_eq!(e.points, 33, "10 points ×2 (café, any case or accent) ×1.5 (booster) ×1.1 (gold) = 33");
    assert_eq!(e.lines.len(), 4, "spend, category, booster and tier are each explained: {:?}", e.lines);

    let tuesday_6pm = at(2026, 11, 17, 18, 0);
    let later = SaleFacts { local_at: tuesday_6pm, category: None, ..cafe };
    assert_eq!(earn(&p, &later, 0, None).points, 10, "the booster ends at 18:00 sharp");
    let odd =
        SaleFacts { paid_cents: 333, discount_cents: 0, category: Some("Café"), local_at: at(2026, 11, 18, 9, 0) };
    let tier_odd = earn(&p, &odd, 0, Some(("Argent", 115)));
    assert_eq!(tier_odd.points, 6, "3 ×2 ×1.15 = 6.9, rounded down to 6");
}

#[test]
fn the_strongest_booster_applies_they_do_not_stack() {
    let weekend = Booster {
        name: "Week-end".into(),
        percent: 200,
        starts_on: Some(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()),
        ends_on: Some(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()),
        weekdays: vec![],
        from_minute: None,
        to_minute: None,
    };
    let saturday = Booster {
        name: "Samedi".into(),
        percent: 150,
        weekdays: vec![6],
        starts_on: None,
        ends_on: None,
        ..weekend.clone()
    };
    let both = [saturday.clone(), weekend.clone()];
    assert_eq!(
        active_booster(&both, at(2026, 11, 21, 11, 0)).unwrap().name,
        "Week-end",
        "Saturday 21: the stronger one"
    );
    assert_eq!(
        active_booster(&both, at(2026, 11, 28, 11, 0)).unwrap().name,
        "Samedi",
        "the next Saturday: only the weekly one"
    );
    assert!(active_booster(&both, at(2026, 11, 23, 11, 0)).is_none(), "a Monday after the weekend: none");
}

#[test]
fn points_can_be_earned_before_or_after_the_discount() {
    let mut p = one_point_per_euro();
    let discounted = SaleFacts { paid_cents: 1500, discount_cents: 500, ..sale(0) };
    assert_eq!(earn(&p, &discounted, 0, None).points, 15, "after the discount: on the 15 € paid");
    p.earn_before_discount = true;
    assert_eq!(earn(&p, &discounted, 0, None).points, 20, "before the discount: on the 20 € price");
}

#[test]
fn stamps_are_per_visit_whatever_the_amount() {
    let p = Programme {
        stamps: Some(StampRule {
            per_visit: 1,
            milestones: vec![StampMilestone { stamps: 10, label: "Café offert".into() }],
        }),
        ..Programme::default()
    };
    assert_eq!(earn(&p, &sale(120), 0, None).stamps, 1);
    assert_eq!(earn(&p, &sale(12_000), 0, None).points, 0, "stamps only: no points");
}

#[test]
fn refunds_take_back_exactly_what_the_sale_earned() {
    assert_eq!(points_to_reverse(12, 1250, 0, 1250, 0), 12, "a full refund takes back all 12 points");
    assert_eq!(points_to_reverse(12, 1250, 0, 625, 0), 6, "half the amount, half the points");
    assert_eq!(points_to_reverse(12, 1250, 625, 625, 6), 6, "the second half takes the rest: 12 in all");
    assert_eq!(points_to_reverse(10, 1000, 0, 333, 0), 3, "partial: rounded down");
    assert_eq!(points_to_reverse(10, 1000, 333, 667, 3), 7, "the last refund completes exactly: 3 + 7 = 10");
    assert_eq!(points_to_reverse(0, 1000, 0, 1000, 0), 0, "nothing earned, nothing taken");
}

fn credit(points: i64, expires: Option<DateTime<Utc>>) -> Movement {
    Movement { points, expires_at: expires }
}

#[test]
fn oldest_points_are_used_first() {
    let lots = replay(&[credit(10, None), credit(20, None), credit(-15, None), credit(5, None)]);
    let remaining: Vec<i64> = lots.iter().map(|l| l.remaining).collect();
    assert_eq!(remaining, vec![0, 15, 5], "15 points spent: the 10 oldest, then 5 of the next lot");
    assert_eq!(balance(&lots), 20);
}

#[test]
fn expiry_counts_only_unused_points_of_expired_lots() {
    let lots = replay(&[credit(10, Some(utc(2026, 6, 1))), credit(20, Some(utc(2026, 7, 1))), credit(-4, None)]);
    assert_eq!(due_to_expire(&lots, utc(2026, 6, 2)), 6, "the first lot had 4 used: 6 expire");
    assert_eq!(due_to_expire(&lots, utc(2026, 5, 31)), 0, "nothing before its date");
    assert_eq!(expiring_within(&lots, utc(2026, 5, 15), 30), vec![(utc(2026, 6, 1), 6)], "listed 30 days ahead");
}

#[test]
fn expiry_dates_follow_the_chosen_mode() {
    let earned = utc(2026, 1, 31);
    assert_eq!(expiry_date(&Expiry::AfterMonths { months: 12 }, earned), Some(utc(2027, 1, 31)), "12 months after");
    assert_eq!(
        expiry_date(&Expiry::AfterMonths { months: 1 }, earned).map(|d| d.date_naive()),
        NaiveDate::from_ymd_opt(2026, 2, 28),
        "31 January + 1 month is the end of February"
    );
    assert_eq!(expiry_date(&Expiry::Never, earned), None);
    let six = Expiry::AfterInactivityMonths { months: 6 };
    assert!(inactivity_expired(&six, Some(utc(2026, 1, 1)), utc(2026, 7, 1)), "6 months without a visit");
    assert!(!inactivity_expired(&six, Some(utc(2026, 1, 2)), utc(2026, 7, 1)), "a day short");
}

#[test]
fn tiers_are_reached_at_once_and_kept_to_the_end_of_the_next_period() {
    let thresholds = [0, 50_000, 100_000, 200_000];
    assert_eq!(tier_for(&thresholds, 49_999), Some(0));
    assert_eq!(tier_for(&thresholds, 100_000), Some(2), "the threshold itself reaches the tier");
    assert_eq!(tier_for(&[10_000], 500), None, "below the first tier: none");
    let reached = utc(2026, 3, 10);
    assert_eq!(
        kept_until(TierPeriod::CalendarYear, reached),
        Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap(),
        "kept through next year"
    );
    assert_eq!(kept_until(TierPeriod::Rolling12Months, reached), utc(2027, 3, 10), "kept 12 months");
    assert_eq!(period_start(TierPeriod::CalendarYear, reached), Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
}

#[test]
fn liability_and_suspicion() {
    assert_eq!(liability_cents(1234, 50), 617, "1234 points at 0.50 € per 100 points is 6.17 €");
    assert_eq!(liability_cents(-5, 50), 0, "never negative");
    assert!(is_suspicious(5, 5) && !is_suspicious(4, 5), "5 operations in a day is suspicious by default");
}

#[test]
fn programme_validation_names_the_field() {
    let mut p = one_point_per_euro();
    assert!(p.validate().is_ok());
    p.points = Some(PointsRule { points_per_unit: 1, unit_cents: 0, points_per_visit: 0 });
    p.tiers = Some(TierRules {
        basis: TierBasis::Spend,
        period: TierPeriod::CalendarYear,
        tiers: vec![
            Tier { name: "Or".into(), threshold: 100, percent: 120, advantages: String::new(), entry_points: 0 },
            Tier { name: "Argent".into(), threshold: 50, percent: 110, advantages: String::new(), entry_points: 0 },
        ],
    });
    match p.validate().unwrap_err() {
        crate::Error::Validation(f) => {
            let fields: Vec<_> = f.iter().map(|e| e.field).collect();
            assert!(fields.contains(&"points.unit_cents") && fields.contains(&"tiers"), "{fields:?}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn the_next_goal_is_the_next_milestone_then_the_cheapest_reward_out_of_reach() {
    let milestones = vec![(5, "-10 %".to_string()), (10, "Café offert".to_string())];
    let rewards = vec![(100, "Bon de 5 €".to_string()), (50, "Tote bag".to_string())];
    assert_eq!(
        next_goal(3, &milestones, 0, &rewards),
        Some(NextGoal::Stamps { label: "-10 %".into(), missing: 2 }),
        "2 more stamps"
    );
    assert_eq!(
        next_goal(7, &milestones, 0, &rewards),
        Some(NextGoal::Stamps { label: "Café offert".into(), missing: 3 })
    );
    assert_eq!(
        next_goal(0, &[], 62, &rewards),
        Some(NextGoal::Points { label: "Bon de 5 €".into(), missing: 38 }),
        "38 more points"
    );
    assert_eq!(
        next_goal(0, &[], 20, &rewards),
        Some(NextGoal::Points { label: "Tote bag".into(), missing: 30 }),
        "the cheapest first"
    );
    assert_eq!(next_goal(0, &[], 500, &rewards), None, "everything is within reach");
}

#[test]
fn discounts_never_exceed_the_ticket() {
    assert_eq!(discount_cents(false, 500, 2000), 500, "a 5 € voucher on a 20 € ticket takes 5 €");
    assert_eq!(discount_cents(false, 500, 300), 300, "on a 3 € ticket it takes at most 3 €");
    assert_eq!(discount_cents(true, 10, 1995), 200, "10 % of 19.95 € is 2.00 € (1.995 rounded)");
    assert_eq!(discount_cents(true, 150, 1000), 1000, "never more than 100 %");
}
