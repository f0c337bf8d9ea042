//! Catalogue gifts as referral rewards (a free product, an experience, a partner's gift): the
//! offer asks what a gift costs and names it; an approved referral gives a gift voucher the
//! customer keeps until it is handed over (at the till with no discount, or from the customer
//! page); refunds take back an unused gift and record a used one as a loss; gifts count
//! against the budget, the cap, the slots and the catalogue reward's stock.

use super::offer::*;
use super::tests::{buy, code_of, count, friend};
use super::*;
use crate::customers::CustomerInput;
use crate::loyalty::{Apply, RewardInput, RewardKind, Voucher, VoucherKind};
use crate::purchases::{RefundInput, SaleInput};
use crate::settings::{Currency, Locale};
use crate::storage::Store;
use crate::testutil::{add, input, store};
use crate::types::Lang;
use chrono::Duration;

fn gift(reward_id: i64, label: &str, cost_cents: i64) -> RewardSpec {
    RewardSpec::Catalogue { reward_id, label: label.into(), cost_cents, kind: Some(RewardKind::FreeProduct) }
}

/// A catalogue reward of `kind`, valid 30 days once given, with an optional stock.
fn catalogue(s: &mut Store, name: &str, kind: RewardKind, stock: Option<i64>) -> i64 {
    let r = RewardInput {
        name: name.into(),
        kind,
        points_cost: 100,
        value: 0,
        stock,
        per_customer_limit: None,
        valid_from: None,
        valid_to: None,
        voucher_days: 30,
        active: true,
    };
    s.save_reward(None, &r, None).unwrap().value.id
}

fn gifts_of(s: &Store, c: i64) -> Vec<Voucher> {
    s.loyalty_status(c).unwrap().vouchers.into_iter().filter(|v| v.kind == VoucherKind::Gift).collect()
}

fn sale_with(s: &mut Store, c: i64, cents: i64, apply: Option<Apply>) -> crate::Result<i64> {
    let input = SaleInput {
        customer_id: c,
        amount_cents: cents,
        occurred_at: None,
        note: String::new(),
        category: String::new(),
        apply,
    };
    Ok(s.record_sale(&input, None)?.value.amount_cents)
}

fn conflict_key(e: &crate::Error) -> &'static str {
    match e {
        crate::Error::Conflict { key, .. } => key,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn fields_of(e: crate::Error) -> Vec<(String, String)> {
    match e {
        crate::Error::Validation(p) => p.into_iter().map(|f| (f.field.to_string(), f.key.to_string())).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_gift_without_its_cost_is_refused_on_its_field_and_the_worst_case_counts_and_names_it() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let o = Offer {
        friend_reward: Some(gift(7, "Viennoiserie offerte", 0)),
        milestones: vec![Milestone { key: 1, referrals: 2, reward: gift(8, "Nettoyage offert", 800), slots: Some(20) }],
        budget_cents: None,
        ..Offer::reference(today)
    };
    let problems = fields_of(o.validate(100, Currency::EUR, Locale::FrFr).unwrap_err());
    assert_eq!(
        problems,
        vec![("friend_reward".to_string(), "field.referral_gift_cost".to_string())],
        "a gift with no cost cannot be budgeted: refused on its own field, and only there"
    );
    let money_off = Offer {
        friend_reward: Some(RewardSpec::Catalogue {
            reward_id: 7,
            label: "Bon de 5 €".into(),
            cost_cents: 0,
            kind: Some(RewardKind::Voucher),
        }),
        ..o.clone()
    };
    assert!(
        money_off.validate(100, Currency::EUR, Locale::FrFr).is_ok(),
        "a catalogue voucher may leave its cost at 0, as before gifts"
    );
    let w = worst_case(&o, 100);
    assert_eq!(w.milestones_cents, 20 * 800, "twenty gifts of 8 € each at most");
    assert_eq!(w.parts[0].label.as_deref(), Some("Nettoyage offert"), "the worst case names the gift");
    assert!(w.unbounded, "the friend's gift has no slot limit");
    let with_budget = Offer { budget_cents: Some(10_000), ..o };
    assert_eq!(worst_case(&with_budget, 100).total_cents, Some(10_000), "the budget bounds the gifts");
    assert_eq!(
        grants::reward_label_plural(&gift(8, "Nettoyage offert", 800), Lang::Fr, Currency::EUR, Locale::FrFr),
        "cadeaux « Nettoyage offert »",
        "counted gifts read in words"
    );
}

/// A shop whose friends get a pastry at their first purchase and whose referrers get a
/// cleaning at two friends (highest only), with a zero-day hold.
fn gift_shop(
    budget: Option<i64>,
    pastry_stock: Option<i64>,
) -> (Store, std::sync::Arc<crate::clock::FixedClock>, i64, i64) {
    gift_shop_with(budget, pastry_stock, true)
}

fn gift_shop_with(
    budget: Option<i64>,
    pastry_stock: Option<i64>,
    cleaning_milestone: bool,
) -> (Store, std::sync::Arc<crate::clock::FixedClock>, i64, i64) {
    let (mut s, clock) = store();
    let pastry = catalogue(&mut s, "Viennoiserie offerte", RewardKind::FreeProduct, pastry_stock);
    let cleaning = catalogue(&mut s, "Nettoyage offert", RewardKind::Experience, None);
    let today = s.now().date_naive();
    let o = Offer {
        hold_days: 0,
        referrer_reward: None,
        // The label and kind the interface sends are replaced by the catalogue's.
        friend_reward: Some(RewardSpec::Catalogue {
            reward_id: pastry,
            label: "-".into(),
            cost_cents: 150,
            kind: None,
        }),
        milestones: if cleaning_milestone {
            vec![Milestone {
                key: 1,
                referrals: 2,
                reward: RewardSpec::Catalogue { reward_id: cleaning, label: "-".into(), cost_cents: 800, kind: None },
                slots: Some(50),
            }]
        } else {
            vec![]
        },
        budget_cents: budget,
        ..Offer::reference(today - Duration::days(1))
    };
    s.save_referral_offer(&o, None).unwrap();
    (s, clock, pastry, cleaning)
}

#[test]
fn gifts_are_held_used_at_the_till_without_discount_and_a_later_refund_records_the_loss() {
    let (mut s, _clock, pastry, cleaning) = gift_shop(Some(75_000), None);
    let saved = s.referral_offer().unwrap().unwrap().offer;
    assert_eq!(
        saved.friend_reward,
        Some(RewardSpec::Catalogue {
            reward_id: pastry,
            label: "Viennoiserie offerte".into(),
            cost_cents: 150,
            kind: Some(RewardKind::FreeProduct)
        }),
        "the saved version keeps the catalogue's name and kind"
    );
    // The editor's live check, as the interface sends a gift chosen with no cost yet.
    let typed = Offer {
        friend_reward: Some(RewardSpec::Catalogue { reward_id: pastry, label: "-".into(), cost_cents: 0, kind: None }),
        ..saved.clone()
    };
    let check = s.referral_offer_check(&typed).unwrap();
    let fields: Vec<String> =
        check.problems.map(|p| p.fields.into_iter().map(|f| f.field).collect()).unwrap_or_default();
    assert_eq!(fields, vec!["friend_reward".to_string()], "the live check names the gift's missing cost");
    let lea = add(&mut s, CustomerInput { email: "lea@example.com".into(), ..input("Léa", "Martin") });
    let anne = friend(&mut s, "Anne", "anne@example.com", code_of(lea)).unwrap();
    let bruno = friend(&mut s, "Bruno", "bruno@example.com", code_of(lea)).unwrap();
    let sale_anne = buy(&mut s, anne, 2500);
    buy(&mut s, bruno, 2500);
    s.process_referrals().unwrap();

    let held = gifts_of(&s, anne);
    assert_eq!(held.len(), 1, "the friend holds one gift voucher");
    assert_eq!(
        (held[0].label.as_deref(), held[0].reward_id, held[0].value),
        (Some("Viennoiserie offerte"), Some(pastry), 150),
        "it names the gift and what it costs the shop"
    );
    assert_eq!((held[0].expires_at - held[0].issued_at).num_days(), 30, "valid as long as the catalogue says");
    let lea_gifts = gifts_of(&s, lea);
    assert_eq!(
        lea_gifts.iter().map(|v| (v.label.clone(), v.reward_id)).collect::<Vec<_>>(),
        vec![(Some("Nettoyage offert".to_string()), Some(cleaning))],
        "two approved friends: the referrer holds the cleaning"
    );

    // Anne comes back: her pastry is handed over with a sale, which stays at its full price.
    let paid = sale_with(&mut s, anne, 1200, Some(Apply::Voucher { code: held[0].code.clone() })).unwrap();
    assert_eq!(paid, 1200, "a gift takes nothing off the ticket");
    assert!(gifts_of(&s, anne).is_empty(), "a gift is used once");
    let again = sale_with(&mut s, anne, 1200, Some(Apply::Voucher { code: held[0].code.clone() })).unwrap_err();
    assert_eq!(conflict_key(&again), "conflict.voucher_used", "the same gift cannot be handed over twice");
    let timeline = s.timeline(anne, 50).unwrap();
    let used = timeline.iter().any(|e| {
        matches!(&e.kind, crate::customers::TimelineKind::VoucherUsed { label: Some(l), purchase_id: Some(_), .. } if l == "Viennoiserie offerte")
    });
    assert!(used, "the timeline says the gift was handed over with the sale");
    let c = s.referrals_overview().unwrap().counters;
    assert_eq!((c.issued_count, c.used_count), (3, 1), "two pastries and a cleaning given, one used");
    assert_eq!(c.committed_cents, 150 + 150 + 800, "every gift counts against the budget at its cost");

    // Anne returns her first purchase: her pastry was eaten (a loss); Léa's cleaning, not yet
    // used, goes with the referral she lost.
    s.refund(&RefundInput { sale_id: sale_anne, amount_cents: None, note: String::new() }, None).unwrap();
    let c = s.referrals_overview().unwrap().counters;
    assert_eq!(c.loss_cents, 150, "the gift used is recorded as a loss at its cost");
    assert_eq!(c.taken_back_cents, 800, "the unused cleaning is taken back");
    assert_eq!(c.committed_cents, 150 + 150, "Bruno's pastry and the loss still count against the budget");
    assert!(gifts_of(&s, lea).is_empty(), "one approved friend left: the cleaning is withdrawn");
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM voucher_cancellations c JOIN vouchers v ON v.id = c.voucher_id WHERE v.kind = 'gift'"
        ),
        1,
        "withdrawn through an append-only cancellation, the voucher itself untouched"
    );
}

#[test]
fn a_refund_before_the_gift_is_used_cancels_it_and_it_cannot_be_handed_over_after() {
    let (mut s, _clock, pastry, _) = gift_shop(None, Some(5));
    let lea = add(&mut s, input("Léa", "Martin"));
    let anne = friend(&mut s, "Anne", "anne@example.com", code_of(lea)).unwrap();
    let sale = buy(&mut s, anne, 2500);
    s.process_referrals().unwrap();
    let code = gifts_of(&s, anne)[0].code.clone();
    let in_stock = |s: &Store| s.rewards(true).unwrap().into_iter().find(|r| r.id == pastry).unwrap().redeemed;
    assert_eq!(in_stock(&s), 1, "a gift promised takes one from the catalogue's stock");
    s.refund(&RefundInput { sale_id: sale, amount_cents: None, note: String::new() }, None).unwrap();
    assert!(gifts_of(&s, anne).is_empty(), "the unused gift is withdrawn");
    assert_eq!(in_stock(&s), 0, "and its stock comes back");
    let e = s.hand_over_gift(anne, &code, "Marie", None).unwrap_err();
    assert_eq!(conflict_key(&e), "conflict.voucher_cancelled", "a withdrawn gift cannot be handed over");
    assert_eq!(s.referrals_overview().unwrap().counters.loss_cents, 0, "nothing was lost");
}

#[test]
fn a_gift_is_handed_over_from_the_customer_page_once_and_a_money_voucher_is_not() {
    let (mut s, _clock, _, _) = gift_shop(None, None);
    let lea = add(&mut s, input("Léa", "Martin"));
    let anne = friend(&mut s, "Anne", "anne@example.com", code_of(lea)).unwrap();
    buy(&mut s, anne, 2500);
    s.process_referrals().unwrap();
    let code = gifts_of(&s, anne)[0].code.clone();
    let e = s.hand_over_gift(lea, &code, "Marie", None).unwrap_err();
    assert_eq!(conflict_key(&e), "conflict.voucher_other_customer", "only its holder receives a gift");
    let first = s.hand_over_gift(anne, &code, "Marie", Some("hand-over-1")).unwrap();
    let replay = s.hand_over_gift(anne, &code, "Marie", Some("hand-over-1")).unwrap();
    assert_eq!(first.value.id, replay.value.id, "a double click hands it over once");
    assert_eq!(count(&s, "SELECT count(*) FROM voucher_uses WHERE kind = 'use' AND staff = 'Marie'"), 1);
    let timeline = s.timeline(anne, 50).unwrap();
    assert!(
        timeline.iter().any(|e| matches!(&e.kind, crate::customers::TimelineKind::VoucherUsed { staff: Some(w), purchase_id: None, .. } if w == "Marie")),
        "the timeline says who handed it over, without a sale"
    );
    let money = s
        .issue_voucher(
            &crate::loyalty::VoucherInput {
                customer_id: Some(anne),
                kind: VoucherKind::Amount,
                value: 500,
                expires_at: s.now() + Duration::days(10),
                reason: "Geste".into(),
                staff: "Marie".into(),
            },
            None,
        )
        .unwrap()
        .value;
    let e = s.hand_over_gift(anne, &money.code, "Marie", None).unwrap_err();
    assert_eq!(conflict_key(&e), "conflict.voucher_needs_sale", "money off is used on a ticket, not handed over");
}

#[test]
fn gifts_stop_at_the_budget_and_at_the_catalogue_stock_with_their_reason() {
    // 3 € of budget: two pastries at 1,50 €, not a third.
    let (mut s, _clock, _, _) = gift_shop_with(Some(300), None, false);
    let lea = add(&mut s, input("Léa", "Martin"));
    for (i, name) in ["Anne", "Bruno", "Chloé"].iter().enumerate() {
        let f = friend(&mut s, name, &format!("ami{i}@example.com"), code_of(lea)).unwrap();
        buy(&mut s, f, 2500);
    }
    s.process_referrals().unwrap();
    assert_eq!(count(&s, "SELECT count(*) FROM vouchers WHERE kind = 'gift'"), 2, "the budget pays for two gifts");
    assert_eq!(
        count(&s, "SELECT count(*) FROM referral_events WHERE kind = 'reward_refused' AND reason = 'budget_spent'"),
        1,
        "the third friend's is refused with its reason, once (not again when the referral is approved)"
    );

    // A stock of one: the first friend takes it, the second is refused, and so is a customer
    // spending points on it.
    let (mut s, _clock, pastry2, _) = gift_shop_with(None, Some(1), false);
    let lea = add(&mut s, input("Léa", "Martin"));
    for (i, name) in ["Anne", "Bruno"].iter().enumerate() {
        let f = friend(&mut s, name, &format!("ami{i}@example.com"), code_of(lea)).unwrap();
        buy(&mut s, f, 2500);
    }
    s.process_referrals().unwrap();
    assert_eq!(count(&s, "SELECT count(*) FROM vouchers WHERE kind = 'gift' AND label = 'Viennoiserie offerte'"), 1);
    assert_eq!(
        count(&s, "SELECT count(*) FROM referral_events WHERE kind = 'reward_refused' AND reason = 'out_of_stock'"),
        1,
        "a limited stock is limited for referrals too, and the refusal says why, once"
    );
    let r = s.rewards(true).unwrap().into_iter().find(|r| r.id == pastry2).unwrap();
    assert_eq!(r.redeemed, 1, "the gift promised counts in the stock the loyalty catalogue shows");
}

#[test]
fn a_cap_per_referrer_is_reached_by_gifts() {
    let (mut s, _clock, _, cleaning) = gift_shop(None, None);
    // The cleaning (8 €) at 1 friend and again, cumulative, at 2: at most 10 € per referrer.
    let base = s.referral_offer().unwrap().unwrap().offer;
    let m = |key, referrals| Milestone {
        key,
        referrals,
        reward: RewardSpec::Catalogue { reward_id: cleaning, label: "-".into(), cost_cents: 800, kind: None },
        slots: None,
    };
    let o = Offer {
        friend_reward: None,
        milestones: vec![m(1, 1), m(2, 2)],
        stacking: Stacking::Cumulative,
        per_referrer_cap_cents: Some(1000),
        ..base
    };
    s.save_referral_offer(&o, None).unwrap();
    let lea = add(&mut s, input("Léa", "Martin"));
    for (i, name) in ["Anne", "Bruno"].iter().enumerate() {
        let f = friend(&mut s, name, &format!("ami{i}@example.com"), code_of(lea)).unwrap();
        buy(&mut s, f, 2500);
    }
    s.process_referrals().unwrap();
    assert_eq!(gifts_of(&s, lea).len(), 1, "a second 8 € gift would pass the 10 € cap");
    assert_eq!(
        count(&s, "SELECT count(*) FROM referral_events WHERE kind = 'reward_refused' AND reason = 'cap_reached'"),
        1
    );
}

#[test]
fn an_inactive_reward_cannot_be_chosen_and_a_renamed_one_keeps_the_promised_name() {
    let (mut s, _clock, pastry, _) = gift_shop(None, None);
    let lea = add(&mut s, input("Léa", "Martin"));
    let anne = friend(&mut s, "Anne", "anne@example.com", code_of(lea)).unwrap();
    // The merchant renames the catalogue reward: the version in force keeps its words.
    let mut r = s.rewards(true).unwrap().into_iter().find(|r| r.id == pastry).unwrap();
    let edit = |r: &crate::loyalty::Reward, name: &str, active: bool| RewardInput {
        name: name.into(),
        kind: r.kind,
        points_cost: r.points_cost,
        value: r.value,
        stock: r.stock,
        per_customer_limit: r.per_customer_limit,
        valid_from: r.valid_from,
        valid_to: r.valid_to,
        voucher_days: r.voucher_days,
        active,
    };
    s.save_reward(Some(pastry), &edit(&r, "Croissant du jour", true), None).unwrap();
    buy(&mut s, anne, 2500);
    s.process_referrals().unwrap();
    assert_eq!(
        gifts_of(&s, anne)[0].label.as_deref(),
        Some("Viennoiserie offerte"),
        "the gift promised is the one given"
    );
    // Deactivated: the gift already given stays; a new version cannot choose it.
    r = s.rewards(true).unwrap().into_iter().find(|r| r.id == pastry).unwrap();
    s.save_reward(Some(pastry), &edit(&r, "Croissant du jour", false), None).unwrap();
    assert_eq!(gifts_of(&s, anne).len(), 1, "an approved grant keeps its gift voucher");
    let current = s.referral_offer().unwrap().unwrap().offer;
    let e = s.save_referral_offer(&current, None).unwrap_err();
    assert_eq!(
        fields_of(e),
        vec![("friend_reward".to_string(), "field.referral_catalogue_reward".to_string())],
        "an inactive reward cannot be chosen for a new version"
    );
}

#[test]
fn the_printed_rules_and_the_notice_name_the_gift() {
    let (s, _clock, _, _) = gift_shop(Some(75_000), None);
    let text = serde_json::to_string(&s.referral_reglement(Lang::Fr).unwrap()).unwrap();
    assert!(
        text.contains("Le filleul reçoit « Viennoiserie offerte », un cadeau à retirer en boutique"),
        "the règlement names the friend's gift in words: {text}"
    );
    assert!(text.contains("« Nettoyage offert »"), "and the milestone's gift");
}

#[test]
fn only_the_highest_counts_a_gift_unused_is_replaced_and_a_gift_used_was_had() {
    for used in [false, true] {
        let (mut s, _clock, pastry, _) = gift_shop_with(None, None, false);
        let base = s.referral_offer().unwrap().unwrap().offer;
        // The pastry at 1 friend, a 10 € voucher at 2; only the highest counts.
        let o = Offer {
            friend_reward: None,
            milestones: vec![
                Milestone {
                    key: 1,
                    referrals: 1,
                    reward: RewardSpec::Catalogue { reward_id: pastry, label: "-".into(), cost_cents: 150, kind: None },
                    slots: Some(50),
                },
                Milestone {
                    key: 2,
                    referrals: 2,
                    reward: RewardSpec::Voucher { cents: 1000, valid_days: 90 },
                    slots: Some(50),
                },
            ],
            stacking: Stacking::HighestOnly,
            ..base
        };
        s.save_referral_offer(&o, None).unwrap();
        let lea = add(&mut s, input("Léa", "Martin"));
        let anne = friend(&mut s, "Anne", "anne@example.com", code_of(lea)).unwrap();
        buy(&mut s, anne, 2500);
        s.process_referrals().unwrap();
        let held = gifts_of(&s, lea);
        assert_eq!(held.len(), 1, "one friend: the pastry");
        if used {
            s.hand_over_gift(lea, &held[0].code, "Marie", None).unwrap();
        }
        let bruno = friend(&mut s, "Bruno", "bruno@example.com", code_of(lea)).unwrap();
        buy(&mut s, bruno, 2500);
        s.process_referrals().unwrap();
        let vouchers: Vec<(VoucherKind, i64)> =
            s.loyalty_status(lea).unwrap().vouchers.into_iter().map(|v| (v.kind, v.value)).collect();
        assert_eq!(
            vouchers,
            vec![(VoucherKind::Amount, 1000)],
            "two friends: the full 10 € voucher (a gift is not money: nothing is deducted), the pastry no longer held (used: {used})"
        );
        let c = s.referrals_overview().unwrap().counters;
        if used {
            assert_eq!(
                (c.loss_cents, c.committed_cents),
                (150, 1150),
                "the pastry handed over was had: a loss at its cost"
            );
        } else {
            assert_eq!((c.taken_back_cents, c.committed_cents), (150, 1000), "the unused pastry is withdrawn");
            assert_eq!(
                conflict_key(&s.hand_over_gift(lea, &held[0].code, "Marie", None).unwrap_err()),
                "conflict.voucher_cancelled"
            );
        }
    }
}
