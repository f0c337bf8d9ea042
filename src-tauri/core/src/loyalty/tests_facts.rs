//! The loyalty facts automatic messages rely on: tiers lost at the end of their kept period,
//! the usable balance in segments and the liability, a stamp milestone given back by a full
//! refund, a ticket covered in full, rewards given without a sale, the suspicious list of
//! any past day or week.

use super::*;
use crate::campaigns::segments::{Combine, Condition, SegmentFilter};
use crate::clock::Clock;
use crate::customers::TimelineKind;
use crate::purchases::{RefundInput, SaleInput};
use crate::testutil::{add, input, store};
use crate::types::CustomerId;
use crate::Store;
use chrono::{Duration, TimeZone, Utc};

fn base() -> Programme {
    Programme {
        points: Some(PointsRule { points_per_unit: 1, unit_cents: 100, points_per_visit: 0 }),
        stamps: Some(StampRule {
            per_visit: 1,
            milestones: vec![
                StampMilestone { stamps: 3, label: "Croissant".into() },
                StampMilestone { stamps: 10, label: "Café offert".into() },
            ],
        }),
        ..Programme::default()
    }
}

fn tiers() -> TierRules {
    TierRules {
        basis: TierBasis::Spend,
        period: TierPeriod::CalendarYear,
        tiers: vec![
            Tier { name: "Bronze".into(), threshold: 0, percent: 100, advantages: String::new(), entry_points: 0 },
            Tier { name: "Argent".into(), threshold: 10_000, percent: 100, advantages: String::new(), entry_points: 0 },
        ],
    }
}

fn setup(p: Programme) -> (Store, std::sync::Arc<crate::clock::FixedClock>, CustomerId) {
    let (mut s, clock) = store();
    s.save_loyalty_programme(&p, None).unwrap();
    let c = add(&mut s, input("Élodie", "Lefèvre"));
    (s, clock, c)
}

fn sale(c: CustomerId, cents: i64, apply: Option<Apply>) -> SaleInput {
    SaleInput {
        customer_id: c,
        amount_cents: cents,
        occurred_at: None,
        note: String::new(),
        category: String::new(),
        apply,
    }
}

fn sell(s: &mut Store, c: CustomerId, cents: i64) -> i64 {
    s.record_sale(&sale(c, cents, None), None).unwrap().value.id
}

fn refund(s: &mut Store, id: i64, cents: Option<i64>) {
    s.refund(&RefundInput { sale_id: id, amount_cents: cents, note: String::new() }, None).unwrap();
}

fn count(s: &Store, cond: Condition) -> i64 {
    s.segment_count(&SegmentFilter { combine: Combine::All, conditions: vec![cond] }).unwrap().matching
}

fn raw_sum(s: &Store, c: CustomerId) -> i64 {
    s.conn()
        .query_row("SELECT coalesce(sum(points), 0) FROM points_ledger WHERE customer_id = ?1", [c], |r| r.get(0))
        .unwrap()
}

fn tier_name(s: &Store, c: CustomerId) -> Option<String> {
    s.loyalty_status(c).unwrap().tier.map(|t| t.name)
}

#[test]
fn a_tier_is_lost_when_its_kept_period_ends_unless_reached_again_meanwhile() {
    let (mut s, clock, lost) = setup(Programme { tiers: Some(tiers()), ..base() });
    let kept = add(&mut s, input("Zoé", "Martin"));
    sell(&mut s, lost, 10_000);
    sell(&mut s, kept, 10_000);
    assert_eq!(tier_name(&s, lost).as_deref(), Some("Argent"), "reached in November 2026");
    assert_eq!(count(&s, Condition::TierAtLeast { index: 1 }), 2);

    // 2027: both keep Argent; only one spends enough to reach it again.
    clock.set(Utc.with_ymd_and_hms(2027, 6, 1, 10, 0, 0).unwrap());
    sell(&mut s, lost, 2_000);
    sell(&mut s, kept, 12_000);
    assert_eq!(tier_name(&s, lost).as_deref(), Some("Argent"), "kept through the year after it was reached");
    assert_eq!(s.run_loyalty_day().unwrap().tiers_lost, 0, "nothing ends in 2027");

    // The clock moves past the end of the kept period (31 December 2027).
    clock.set(Utc.with_ymd_and_hms(2028, 1, 3, 9, 0, 0).unwrap());
    let run = s.run_loyalty_day().unwrap();
    assert_eq!(run.tiers_lost, 1, "the customer who did not reach Argent again loses it");
    assert_eq!(s.run_loyalty_day().unwrap().tiers_lost, 0, "and only once");
    assert_eq!(tier_name(&s, lost).as_deref(), Some("Bronze"), "down to the tier qualified for");
    assert_eq!(tier_name(&s, kept).as_deref(), Some("Argent"), "reached again in 2027: kept through 2028");
    assert_eq!(count(&s, Condition::TierAtLeast { index: 1 }), 1, "\"tier at least Argent\" follows the tier held now");
    assert_eq!(count(&s, Condition::TierAtLeast { index: 0 }), 2);

    let downgrade: Vec<_> = s
        .timeline(lost, 100)
        .unwrap()
        .into_iter()
        .filter(|e| matches!(&e.kind, TimelineKind::TierChanged { up: false, .. }))
        .collect();
    assert_eq!(downgrade.len(), 1, "the loss is in the timeline once");
    assert_eq!(downgrade[0].at, Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap(), "dated at the end of the period");
    assert!(
        matches!(&downgrade[0].kind, TimelineKind::TierChanged { tier, to: Some(to), .. } if tier == "Argent" && to == "Bronze"),
        "from Argent to Bronze: {:?}",
        downgrade[0].kind
    );
    let ups = s
        .timeline(kept, 100)
        .unwrap()
        .into_iter()
        .filter(|e| matches!(&e.kind, TimelineKind::TierChanged { up: true, .. }))
        .count();
    assert_eq!(ups, 1, "a renewal is not announced as a new tier (Argent once; Bronze was passed on the way)");
}

#[test]
fn tier_at_least_counts_the_tier_held_now_even_when_no_tier_event_was_written() {
    // The merchant turns tiers on after the customer's purchases: no sale has recorded a tier.
    let (mut s, _, c) = setup(base());
    sell(&mut s, c, 6_000);
    sell(&mut s, c, 4_000);
    s.save_loyalty_programme(&Programme { tiers: Some(tiers()), ..base() }, None).unwrap();
    let events: i64 = s.conn().query_row("SELECT count(*) FROM tier_events", [], |r| r.get(0)).unwrap();
    assert_eq!(events, 0, "no event yet");
    assert_eq!(tier_name(&s, c).as_deref(), Some("Argent"), "the till shows the tier qualified for");
    assert_eq!(count(&s, Condition::TierAtLeast { index: 1 }), 1, "the segment agrees with the till");
    assert_eq!(count(&s, Condition::TierAtLeast { index: 2 }), 0, "no third tier");
    // A refund takes the spend under the threshold: no longer Argent, in both.
    let last: i64 = s.conn().query_row("SELECT max(id) FROM purchases", [], |r| r.get(0)).unwrap();
    refund(&mut s, last, Some(100));
    assert_eq!(tier_name(&s, c).as_deref(), Some("Bronze"));
    assert_eq!(count(&s, Condition::TierAtLeast { index: 1 }), 0);
    assert_eq!(count(&s, Condition::TierAtLeast { index: 0 }), 1);
}

#[test]
fn segments_and_the_liability_count_the_usable_balance_not_the_raw_ledger() {
    let (mut s, clock, c) = setup(Programme { expiry: Expiry::AfterMonths { months: 1 }, ..base() });
    sell(&mut s, c, 1000);
    clock.advance(Duration::days(20));
    sell(&mut s, c, 500);
    s.redeem(&RedeemRequest { customer_id: c, reward_id: None, points: Some(4), purchase_id: None }, None).unwrap();
    clock.advance(Duration::days(15));
    // The first lot (10, 4 of them spent) is past its date; the expiry run has not written it.
    assert_eq!(raw_sum(&s, c), 11, "the raw ledger still counts the 6 expired points");
    assert_eq!(s.loyalty_status(c).unwrap().points, 5, "the till shows 5");
    assert_eq!(count(&s, Condition::PointsAtLeast { points: 6 }), 0, "at least 6: not with 5 usable");
    assert_eq!(count(&s, Condition::PointsAtLeast { points: 5 }), 1);
    assert_eq!(count(&s, Condition::PointsAtMost { points: 5 }), 1, "at most 5: yes");
    assert_eq!(s.points_liability().unwrap().points, 5, "the liability is what can still be spent");
    s.run_points_expiry().unwrap();
    assert_eq!(raw_sum(&s, c), 5, "once written off, the ledger agrees");
    assert_eq!(count(&s, Condition::PointsAtLeast { points: 5 }), 1);
    assert_eq!(s.points_liability().unwrap().points, 5);
}

#[test]
fn after_the_months_without_a_visit_segments_and_liability_see_no_points() {
    let (mut s, clock, c) = setup(Programme { expiry: Expiry::AfterInactivityMonths { months: 6 }, ..base() });
    sell(&mut s, c, 3000);
    assert_eq!(count(&s, Condition::PointsAtLeast { points: 30 }), 1);
    clock.advance(Duration::days(190));
    assert_eq!(raw_sum(&s, c), 30);
    assert_eq!(count(&s, Condition::PointsAtLeast { points: 1 }), 0, "every point expired with the inactivity");
    assert_eq!(count(&s, Condition::PointsAtMost { points: 0 }), 1);
    assert_eq!(s.points_liability().unwrap().points, 0);
}

#[test]
fn a_stamp_milestone_used_on_a_sale_comes_back_when_the_sale_is_fully_refunded() {
    let (mut s, _, c) = setup(base());
    for _ in 0..3 {
        sell(&mut s, c, 250);
    }
    let croissant = s.record_sale(&sale(c, 400, Some(Apply::Milestone { milestone: 0 })), None).unwrap().value;
    let st = s.loyalty_status(c).unwrap();
    assert!(st.milestones[0].claimed, "claimed on the sale");
    assert_eq!(st.stamps, 4, "an intermediate milestone takes no stamps; the sale earned one");
    refund(&mut s, croissant.id, Some(100));
    assert!(s.loyalty_status(c).unwrap().milestones[0].claimed, "a partial refund does not give it back");
    assert_eq!(s.redeem_stamps(c, 0, None).unwrap_err().code(), "conflict");
    refund(&mut s, croissant.id, None);
    let st = s.loyalty_status(c).unwrap();
    assert!(!st.milestones[0].claimed && st.milestones[0].reached, "the full refund gives the croissant back");
    assert_eq!(st.stamps, 3, "and takes the refunded visit's stamp");
    s.redeem_stamps(c, 0, None).expect("it can be used again");

    // The full card: its 10 stamps come back with the sale.
    for _ in 0..7 {
        sell(&mut s, c, 250);
    }
    assert_eq!(s.loyalty_status(c).unwrap().stamps, 10);
    let coffee = s.record_sale(&sale(c, 250, Some(Apply::Milestone { milestone: 1 })), None).unwrap().value;
    assert_eq!(s.loyalty_status(c).unwrap().stamps, 1, "the full card used, this visit's stamp starts the next");
    refund(&mut s, coffee.id, None);
    let st = s.loyalty_status(c).unwrap();
    assert_eq!(st.stamps, 10, "the card's 10 stamps come back, the visit's stamp goes");
    assert!(st.milestones[1].reached && !st.milestones[1].claimed);
    let timeline = s.timeline(c, 200).unwrap();
    let returned = timeline.iter().filter(|e| matches!(e.kind, TimelineKind::Stamps { returned: true, .. })).count();
    assert_eq!(returned, 2, "each milestone given back is in the timeline");
}

fn reward_input(name: &str, kind: RewardKind, cost: i64, value: i64) -> RewardInput {
    RewardInput {
        name: name.into(),
        kind,
        points_cost: cost,
        value,
        stock: None,
        per_customer_limit: None,
        valid_from: None,
        valid_to: None,
        voucher_days: 90,
        active: true,
    }
}

#[test]
fn a_voucher_or_reward_worth_the_whole_ticket_records_the_sale_at_zero() {
    let (mut s, clock, c) = setup(base());
    let v = s
        .issue_voucher(
            &VoucherInput {
                customer_id: Some(c),
                kind: VoucherKind::Amount,
                value: 1000,
                expires_at: clock.now() + Duration::days(30),
                reason: "Anniversaire".into(),
                staff: "Marie".into(),
            },
            None,
        )
        .unwrap()
        .value;
    let refused = s.record_sale(&sale(c, 250, Some(Apply::Voucher { code: v.code.clone() })), None).unwrap_err();
    assert_eq!(refused.code(), "conflict", "a 10 € voucher on a 2.50 € coffee is refused: 7.50 € would be lost");
    assert_eq!(s.loyalty_status(c).unwrap().vouchers.len(), 1, "and the voucher stays usable");
    let free = s.record_sale(&sale(c, 1000, Some(Apply::Voucher { code: v.code.clone() })), None).unwrap().value;
    assert_eq!(free.amount_cents, 0, "a 10 € voucher on a 10 € ticket: recorded at zero");
    let st = s.loyalty_status(c).unwrap();
    assert!(st.vouchers.is_empty(), "the voucher is used");
    assert_eq!(st.points, 0, "nothing paid, nothing earned");
    assert_eq!(s.customer(c).unwrap().figures.visit_count, 1, "the visit counts");
    assert_eq!(s.customer(c).unwrap().figures.total_spent_cents, 0);
    assert!(
        s.timeline(c, 50)
            .unwrap()
            .iter()
            .any(|e| matches!(&e.kind, TimelineKind::VoucherUsed { code, undone: false, .. } if *code == v.code)),
        "the voucher's use is in the timeline"
    );

    sell(&mut s, c, 6000);
    let r = s.save_reward(None, &reward_input("Café offert", RewardKind::FixedDiscount, 50, 300), None).unwrap().value;
    let covered = s.record_sale(&sale(c, 250, Some(Apply::Reward { reward_id: r.id })), None).unwrap().value;
    assert_eq!(covered.amount_cents, 0, "a 3 € reward on a 2.50 € ticket: zero, never below");
    assert_eq!(s.loyalty_status(c).unwrap().points, 60 - 50);

    let too_many = s.record_sale(&sale(c, 5, Some(Apply::Points { points: 10 })), None).unwrap_err();
    assert_eq!(too_many.code(), "conflict", "points worth more than the ticket are refused (the rest would be lost)");
    assert_eq!(s.loyalty_status(c).unwrap().points, 10, "nothing written");
}

#[test]
fn rewards_that_are_not_discounts_are_given_from_the_customer_page_without_a_sale() {
    let (mut s, _, c) = setup(base());
    sell(&mut s, c, 12_000);
    let visit =
        s.save_reward(None, &reward_input("Visite de l'atelier", RewardKind::Experience, 100, 0), None).unwrap().value;
    let gift =
        s.save_reward(None, &reward_input("Fleurs chez la voisine", RewardKind::Partner, 50, 0), None).unwrap().value;
    let off =
        s.save_reward(None, &reward_input("5 € de remise", RewardKind::FixedDiscount, 10, 500), None).unwrap().value;

    let first = s.give_reward(c, visit.id, "Marie", Some("7d3c1e2a-0b4f-4c1d-9a55-2f6e8b1c0d01")).unwrap();
    let again = s.give_reward(c, visit.id, "Marie", Some("7d3c1e2a-0b4f-4c1d-9a55-2f6e8b1c0d01")).unwrap();
    assert!(again.replayed && again.value == first.value, "a double click gives it once");
    assert_eq!(s.loyalty_status(c).unwrap().points, 20, "120 − 100");
    let ledger = s.points_ledger(c, 10).unwrap();
    assert_eq!(ledger[0].kind, "redeem");
    assert_eq!(ledger[0].reason.as_deref(), Some("Visite de l'atelier"), "the ledger names the reward");
    assert_eq!(ledger[0].staff.as_deref(), Some("Marie"));
    assert!(
        s.timeline(c, 20).unwrap().iter().any(|e| matches!(&e.kind,
            TimelineKind::Points { kind, points: -100, reason: Some(r), .. } if kind == "redeem" && r == "Visite de l'atelier")),
        "the timeline shows the reward given"
    );

    assert_eq!(s.give_reward(c, off.id, "", None).unwrap_err().code(), "conflict", "a discount needs a ticket");
    let short = s.give_reward(c, gift.id, "", None).unwrap_err();
    assert_eq!(short.code(), "conflict", "20 points do not pay for a 50-point gift");
    assert_eq!(s.loyalty_status(c).unwrap().points, 20, "nothing spent by the refusals");
}

#[test]
fn the_suspicious_list_reads_any_past_day_or_week() {
    let (mut s, clock, c) = setup(base());
    let start = clock.now();
    for _ in 0..5 {
        sell(&mut s, c, 1000);
    }
    let day = crate::analytics::calendar::local_date(start);
    clock.advance(Duration::days(10));
    let busy = s.suspicious_activity(day, SuspiciousPeriod::Day).unwrap();
    assert_eq!(busy.len(), 1, "a day ten days ago is read");
    assert_eq!((busy[0].operations, busy[0].day), (5, day));
    let before = day - chrono::Days::new(1);
    assert!(s.suspicious_activity(before, SuspiciousPeriod::Day).unwrap().is_empty(), "the day before: quiet");
    let week = s.suspicious_activity(day - chrono::Days::new(3), SuspiciousPeriod::Week).unwrap();
    assert_eq!(week.len(), 1, "the week holding that day lists it, with its day");
    assert_eq!(week[0].day, day);
    let later = s.suspicious_activity(day + chrono::Days::new(1), SuspiciousPeriod::Week).unwrap();
    assert!(later.is_empty(), "the week after: nothing");
}

#[test]
fn a_sale_recorded_at_zero_can_be_cancelled_and_gives_its_voucher_back() {
    let (mut s, clock, c) = setup(base());
    let v = s
        .issue_voucher(
            &VoucherInput {
                customer_id: Some(c),
                kind: VoucherKind::Amount,
                value: 250,
                expires_at: clock.now() + Duration::days(30),
                reason: "Geste".into(),
                staff: "Marie".into(),
            },
            None,
        )
        .unwrap()
        .value;
    let free = s.record_sale(&sale(c, 250, Some(Apply::Voucher { code: v.code.clone() })), None).unwrap().value;
    assert_eq!(free.amount_cents, 0);
    assert!(s.loyalty_status(c).unwrap().vouchers.is_empty(), "the voucher is used");
    let refund = crate::purchases::RefundInput { sale_id: free.id, amount_cents: None, note: "Mauvais client".into() };
    let cancel = s.refund(&refund, None).expect("a coffee rung up on the wrong customer can be cancelled");
    assert_eq!(cancel.value.amount_cents, 0, "by a refund of zero");
    assert_eq!(s.loyalty_status(c).unwrap().vouchers.len(), 1, "and the voucher is usable again");
    assert_eq!(s.refund(&refund, None).unwrap_err().code(), "conflict", "once");
}

#[test]
fn a_gold_customer_who_spent_at_silver_level_falls_to_silver_not_lower() {
    let mut rules = tiers();
    rules.tiers.push(Tier {
        name: "Or".into(),
        threshold: 20_000,
        percent: 100,
        advantages: String::new(),
        entry_points: 0,
    });
    let (mut s, clock, c) = setup(Programme { tiers: Some(rules), ..base() });
    sell(&mut s, c, 20_000);
    assert_eq!(tier_name(&s, c).as_deref(), Some("Or"), "reached in 2026, kept through 2027");
    clock.set(Utc.with_ymd_and_hms(2027, 6, 1, 10, 0, 0).unwrap());
    sell(&mut s, c, 12_000);
    clock.set(Utc.with_ymd_and_hms(2028, 1, 3, 9, 0, 0).unwrap());
    assert_eq!(s.run_loyalty_day().unwrap().tiers_lost, 1, "Or is lost at the end of 2027");
    assert_eq!(
        tier_name(&s, c).as_deref(),
        Some("Argent"),
        "2027's spend reached Argent: kept through 2028, as for a customer who reached Argent in 2027"
    );
    let down = s
        .timeline(c, 100)
        .unwrap()
        .into_iter()
        .find_map(|e| match e.kind {
            TimelineKind::TierChanged { up: false, to, .. } => Some(to),
            _ => None,
        })
        .expect("the loss is in the timeline");
    assert_eq!(down.as_deref(), Some("Argent"), "from Or to Argent");
}
