use super::*;
use crate::purchases::SaleInput;
use crate::testutil::{add, input, store};
use chrono::{Duration, TimeZone};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn sell_at(s: &mut Store, c: CustomerId, cents: i64, days_ago: i64) {
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

#[test]
fn day_numbers_read_the_stored_timestamps_as_local_days() {
    let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).map(|d| d.num_days_from_ce());
    assert_eq!(day_number("2026-11-23 12:00:00+00:00", 0), d(11, 23));
    assert_eq!(day_number("2026-11-23", 0), day_number("2026-11-23 23:59:59.999+00:00", 0));
    assert_eq!(day_number("2026-11-23 23:30:00+00:00", 60), d(11, 24), "half past midnight in Paris is the next day");
    assert_eq!(day_number("2026-11-24 02:00:00+00:00", -300), d(11, 23), "9 pm in Montreal is the day before");
    assert_eq!(
        day_number("2026-12-31 23:30:00+00:00", 60),
        NaiveDate::from_ymd_opt(2027, 1, 1).map(|d| d.num_days_from_ce())
    );
    assert_eq!(day_number("2026-11-23", -300), d(11, 23), "a date alone is that day, whatever the offset");
    assert_eq!(day_number("not a date", 0), None);
    assert_eq!(day_number("2026-13-01 00:00:00", 0), None);
    let t = chrono::Utc.with_ymd_and_hms(2026, 11, 23, 23, 30, 0).unwrap();
    assert_eq!(Some(local_day(t, 60)), d(11, 24), "an instant's local day agrees with the stored one's");
}

#[test]
fn a_small_shop_is_scored_on_fixed_thresholds_and_the_late_regular_is_at_risk() {
    let (mut s, clock) = store();
    clock.set(now());
    let regular = add(&mut s, input("Zoé", "Côté"));
    let late = add(&mut s, input("Jérôme", "Lévesque"));
    let newcomer = add(&mut s, input("Anaïs", "Thériault"));
    let never = add(&mut s, input("Loïc", "Hébert"));
    for w in 0..20 {
        sell_at(&mut s, regular, 2500, 3 + 7 * w);
    }
    // Came every week for months, then stopped 10 weeks ago.
    for w in 0..15 {
        sell_at(&mut s, late, 3000, 70 + 7 * w);
    }
    sell_at(&mut s, newcomer, 1800, 2);
    let r = s.refresh_scores().unwrap();
    assert_eq!(r.customers, 3, "everyone who bought; not {never}, who never did");
    let sum = s.scores_summary().unwrap().unwrap();
    assert_eq!(sum.threshold_source, ThresholdSource::Fixed, "3 buyers are too few for quintiles");
    assert_eq!((sum.buyers, sum.never_bought), (3, 1));
    let reg = s.stored_scores(regular).unwrap().unwrap();
    assert_eq!((reg.rfm.r, reg.rfm.f), (5, 5), "bought 3 days ago, 20 times");
    assert_eq!(reg.churn, ChurnRisk::Low);
    assert_eq!((reg.usual_gap_days, reg.own_rhythm), (7, true));
    assert_eq!(reg.kind, LoyaltyKind::Habit);
    let l = s.stored_scores(late).unwrap().unwrap();
    assert_eq!(l.churn, ChurnRisk::High, "weekly, absent for 10 weeks");
    assert_eq!(l.kind, LoyaltyKind::AtRisk);
    assert_eq!(l.prev_segment, Some(RfmSegment::Champions), "a month ago (40 days away, 15 visits) a champion");
    assert_eq!(
        l.rfm.segment,
        RfmSegment::Loyal,
        "RFM alone only sees 70 days on a 12-month scale; their own rhythm is what says they are slipping away"
    );
    let n = s.stored_scores(newcomer).unwrap().unwrap();
    assert_eq!(n.rfm.segment, RfmSegment::New);
    assert_eq!(n.prev_segment, None, "not yet a customer a month ago");
    assert!(!n.own_rhythm, "one visit: the shop's rhythm");
    assert!(sum.moves.iter().any(|m| m.from == RfmSegment::Champions && m.to == l.rfm.segment && m.customers == 1));
    assert_eq!(sum.segments.iter().map(|c| c.customers).sum::<i64>(), 3, "every buyer is in one segment");
    assert_eq!(sum.grid.iter().map(|c| c.customers).sum::<i64>(), 3);
    assert_eq!(sum.clv.model, ClvModel::Pace, "a shop younger than a year: the customers' own pace");
    assert!(reg.clv_cents > l.clv_cents, "the regular is worth more than the one who left");
    assert!(reg.clv_low_cents <= reg.clv_cents && reg.clv_cents <= reg.clv_high_cents);
    assert_eq!(s.refresh_scores().unwrap().written, 0, "nothing changed: nothing written");
}

#[test]
fn archived_customers_lose_their_scores_and_a_new_sale_updates_only_its_customer() {
    let (mut s, clock) = store();
    clock.set(now());
    let a = add(&mut s, input("Léa", "Roy"));
    let b = add(&mut s, input("Hugo", "Girard"));
    sell_at(&mut s, a, 1000, 40);
    sell_at(&mut s, b, 1000, 40);
    s.refresh_scores().unwrap();
    s.archive_customer(b, None).unwrap();
    sell_at(&mut s, a, 1500, 1);
    let r = s.refresh_scores().unwrap();
    assert_eq!((r.written, r.removed), (1, 1), "a's scores rewritten, b's removed");
    assert!(s.stored_scores(b).unwrap().is_none());
}

#[test]
fn with_enough_history_the_lifetime_value_comes_from_bgnbd() {
    let (mut s, clock) = store();
    clock.set(now());
    s.generate_demo(crate::demo::DemoSpec { customers: 900, purchases: 9_000, seed: 5 }).unwrap();
    s.refresh_scores().unwrap();
    let sum = s.scores_summary().unwrap().unwrap();
    assert_eq!(sum.clv.model, ClvModel::BgNbd, "900 buyers over 3 years");
    let m = sum.clv.bgnbd.unwrap();
    assert!(m.r > 0.0 && m.alpha > 0.0 && m.a > 0.0 && m.b > 0.0);
    assert_eq!(sum.threshold_source, ThresholdSource::Quintiles);
    let best: CustomerId = s
        .conn()
        .query_row("SELECT id FROM customers ORDER BY total_spent_cents DESC LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let sc = s.stored_scores(best).unwrap().unwrap();
    let p = sc.p_alive_permille.expect("BG/NBD gives the probability of being still a customer");
    assert!((0..=1000).contains(&p));
    assert!(sc.clv_low_cents <= sc.clv_cents && sc.clv_cents <= sc.clv_high_cents, "{sc:?}");
    let once: Vec<CustomerId> = s
        .conn()
        .prepare("SELECT id FROM customers WHERE visit_count = 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(!once.is_empty(), "the demo has one-time buyers");
    for c in once {
        let sc = s.stored_scores(c).unwrap().unwrap();
        assert_eq!(
            sc.p_alive_permille, None,
            "one purchase: no probability of still being a customer (BG/NBD says 100 % by assumption)"
        );
    }
    // A second refresh within the week reuses the fit.
    s.refresh_scores().unwrap();
    assert_eq!(s.scores_summary().unwrap().unwrap().clv.bgnbd, Some(m));
    // Quintiles put about a fifth of the period's buyers in each recency score.
    let fives: i64 = sum.grid.iter().filter(|c| c.r == 5).map(|c| c.customers).sum();
    let in_period: i64 =
        s.conn().query_row("SELECT count(*) FROM customer_scores WHERE frequency > 0", [], |r| r.get(0)).unwrap();
    assert!((fives - in_period / 5).abs() <= in_period / 20 + 2, "{fives} of {in_period} score R5");
}

#[test]
fn a_shop_with_a_year_of_history_values_customers_by_what_their_segment_spent_next() {
    let (mut s, clock) = store();
    clock.set(now());
    // 30 customers a year and a half ago; the frequent ones kept buying, the others did not.
    for i in 0..30 {
        let c = add(&mut s, input("Client", &format!("N{i}")));
        let visits = if i < 15 { 12 } else { 1 };
        for v in 0..visits {
            sell_at(&mut s, c, 2000, 540 - 10 * v);
        }
        if i < 15 {
            for v in 0..12 {
                sell_at(&mut s, c, 2000, 300 - 20 * v);
            }
        }
    }
    s.refresh_scores().unwrap();
    let sum = s.scores_summary().unwrap().unwrap();
    assert_eq!(sum.clv.model, ClvModel::SegmentHistory);
    let (hi, lo): (Vec<i64>, Vec<i64>) = {
        let mut st = s.conn().prepare("SELECT frequency, clv_cents FROM customer_scores").unwrap();
        let rows: Vec<(i64, i64)> =
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect();
        (
            rows.iter().filter(|r| r.0 > 0).map(|r| r.1).collect(),
            rows.iter().filter(|r| r.0 == 0).map(|r| r.1).collect(),
        )
    };
    assert!(!hi.is_empty() && !lo.is_empty());
    assert!(hi.iter().min() >= lo.iter().max(), "the active ones are worth more: {hi:?} / {lo:?}");
}

/// Mark a customer's sales (newest first, the first `n` of those older than `min_days_ago`)
/// as paid partly with a reward, as the till records them.
fn discount_sales(s: &Store, c: CustomerId, min_days_ago: i64, n: i64) {
    let before = (now() - Duration::days(min_days_ago)).format("%Y-%m-%d %H:%M:%S").to_string();
    s.conn()
        .execute(
            "INSERT INTO loyalty_sales (purchase_id, customer_id, points, stamps, carry_after_cents, discount_cents)
             SELECT id, customer_id, 0, 0, 0, 500 FROM purchases
              WHERE customer_id = ?1 AND kind = 'sale' AND occurred_at <= ?2 ORDER BY occurred_at DESC LIMIT ?3",
            params![c, before, n],
        )
        .unwrap();
}

#[test]
fn a_customer_who_mostly_buys_with_a_reward_in_the_period_comes_for_the_price_and_older_discounts_do_not_count() {
    let (mut s, clock) = store();
    clock.set(now());
    let bargain = add(&mut s, input("Zoé", "Côté"));
    let regular = add(&mut s, input("Jérôme", "Lévesque"));
    for who in [bargain, regular] {
        for w in 0..5 {
            sell_at(&mut s, who, 2500, 3 + 7 * w);
        }
        // A year and a half ago, three more (outside the 12-month period, inside the history).
        for w in 0..3 {
            sell_at(&mut s, who, 2500, 540 + 7 * w);
        }
    }
    discount_sales(&s, bargain, 0, 2);
    discount_sales(&s, regular, 0, 1);
    discount_sales(&s, regular, 500, 3);
    s.refresh_scores().unwrap();
    let b = s.stored_scores(bargain).unwrap().unwrap();
    assert_eq!(b.kind, LoyaltyKind::Price, "2 of 5 visits in the period with a discount (40 %): comes for the price");
    let r = s.stored_scores(regular).unwrap().unwrap();
    assert_ne!(
        r.kind,
        LoyaltyKind::Price,
        "1 of 5 in the period; the 3 discounted visits of a year and a half ago are outside it"
    );
}

#[test]
fn the_period_is_read_by_date_whatever_order_the_purchases_were_recorded_in() {
    let (mut s, clock) = store();
    clock.set(now());
    let a = add(&mut s, input("Zoé", "Côté"));
    let b = add(&mut s, input("Jérôme", "Lévesque"));
    // Four years ago, recorded first (the lowest ids): before the pass's first purchase.
    sell_at(&mut s, a, 9_900, 4 * 365);
    // In the period, in any order, and one more from four years ago typed in afterwards (a
    // paper card brought in: a high id, an old date).
    sell_at(&mut s, b, 1_500, 10);
    sell_at(&mut s, a, 2_000, 30);
    sell_at(&mut s, a, 7_700, 4 * 365 + 3);
    sell_at(&mut s, b, 2_500, 400);
    s.refresh_scores().unwrap();
    let sa = s.stored_scores(a).unwrap().unwrap();
    assert_eq!(
        (sa.rfm.frequency, sa.rfm.monetary_cents),
        (1, 2_000),
        "only the sale of the last 12 months counts, not those of four years ago (first or last recorded)"
    );
    let sb = s.stored_scores(b).unwrap().unwrap();
    assert_eq!((sb.rfm.frequency, sb.rfm.monetary_cents), (1, 1_500), "the sale of 400 days ago is before the period");
}

#[test]
fn scores_stand_for_the_day_only_while_the_figures_kept_with_them_can_be_read() {
    let (mut s, _) = store();
    let c = add(&mut s, input("Léa", "Martin"));
    sell_at(&mut s, c, 1200, 3);
    assert!(!s.scores_up_to_date().unwrap(), "never computed");
    s.refresh_scores().unwrap();
    s.refresh_insights().unwrap();
    assert!(s.scores_up_to_date().unwrap(), "computed today from the same data");
    // A snapshot an older version wrote, without a figure this version reads.
    let old = s
        .conn()
        .query_row("SELECT value FROM analytics_state WHERE key = 'insights'", [], |r| r.get::<_, String>(0))
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&old).unwrap();
    v["programme"]["costs"].as_object_mut().unwrap().remove("free_rewards_valued");
    s.conn().execute("UPDATE analytics_state SET value = ?1 WHERE key = 'insights'", [v.to_string()]).unwrap();
    assert!(s.insights().unwrap().is_none(), "the older snapshot does not read");
    assert!(!s.scores_up_to_date().unwrap(), "so the background computes it again the same day");
}
