use super::*;
use crate::clock::Clock;
use crate::testutil::{add, input, sale, store};
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()
}

fn sale_input(id: CustomerId, cents: Cents) -> SaleInput {
    SaleInput {
        customer_id: id,
        amount_cents: cents,
        occurred_at: None,
        note: String::new(),
        category: String::new(),
        apply: None,
    }
}

#[test]
fn sale_amounts_are_positive_and_bounded() {
    for bad in [0, -1, MAX_AMOUNT_CENTS + 1, i64::MIN, i64::MAX] {
        assert!(validate_sale(&sale_input(1, bad), now()).is_err(), "{bad} cents is refused");
    }
    for ok in [1, 1250, MAX_AMOUNT_CENTS] {
        assert!(validate_sale(&sale_input(1, ok), now()).is_ok(), "{ok} cents is accepted");
    }
}

#[test]
fn a_sale_is_dated_now_or_in_the_past() {
    let v = validate_sale(&sale_input(1, 100), now()).unwrap();
    assert_eq!(v.occurred_at, now(), "no date means now");
    let past = now() - chrono::Duration::days(3);
    assert_eq!(
        validate_sale(&SaleInput { occurred_at: Some(past), ..sale_input(1, 100) }, now()).unwrap().occurred_at,
        past,
        "a receipt entered later keeps its date"
    );
    let future = now() + chrono::Duration::hours(1);
    assert!(
        validate_sale(&SaleInput { occurred_at: Some(future), ..sale_input(1, 100) }, now()).is_err(),
        "a sale cannot be in the future"
    );
    let ancient = Utc.with_ymd_and_hms(1999, 12, 31, 0, 0, 0).unwrap();
    assert!(
        validate_sale(&SaleInput { occurred_at: Some(ancient), ..sale_input(1, 100) }, now()).is_err(),
        "nor before 2000"
    );
}

#[test]
fn refunds_never_exceed_what_is_left_of_the_sale() {
    assert_eq!(refund_amount(1000, 0, None).unwrap(), 1000, "no amount refunds everything");
    assert_eq!(refund_amount(1000, 400, None).unwrap(), 600, "no amount refunds what is left");
    assert_eq!(refund_amount(1000, 400, Some(600)).unwrap(), 600, "exactly what is left is fine");
    assert!(refund_amount(1000, 400, Some(601)).is_err(), "more than what is left is refused");
    assert!(refund_amount(1000, 1000, None).is_err(), "a fully refunded sale cannot be refunded again");
    assert!(refund_amount(1000, 0, Some(0)).is_err(), "a refund is a positive amount");
}

#[test]
fn figures_follow_sales_and_refunds() {
    let (mut s, clock) = store();
    let id = add(&mut s, input("Jean", "Martin"));
    let first = sale(&mut s, id, 1000);
    clock.advance(chrono::Duration::days(2));
    sale(&mut s, id, 3000);
    let c = s.customer(id).unwrap();
    assert_eq!(
        (c.figures.visit_count, c.figures.total_spent_cents, c.figures.average_basket_cents),
        (2, 4000, Some(2000))
    );
    assert_eq!(c.figures.last_purchase_at, Some(clock.now()));

    s.refund(&RefundInput { sale_id: first, amount_cents: Some(400), note: "abîmé".into() }, None).unwrap();
    let c = s.customer(id).unwrap();
    assert_eq!(c.figures.visit_count, 2, "a refund is not a visit");
    assert_eq!(c.figures.total_spent_cents, 3600, "a refund lowers what was spent");
    s.refund(&RefundInput { sale_id: first, amount_cents: None, note: String::new() }, None).unwrap();
    assert_eq!(s.customer(id).unwrap().figures.total_spent_cents, 3000, "the rest of the sale is refunded");
    let again = s.refund(&RefundInput { sale_id: first, amount_cents: None, note: String::new() }, None).unwrap_err();
    assert_eq!(again.code(), "conflict", "nothing is left to refund");
    let original = s.purchase(first).unwrap();
    assert_eq!(original.amount_cents, 1000, "the sale itself is never edited");
}

#[test]
fn a_sale_retried_with_its_key_is_recorded_once() {
    let (mut s, _) = store();
    let id = add(&mut s, input("Jean", "Martin"));
    let a = s.record_sale(&sale_input(id, 1250), Some("sale-key-1")).unwrap();
    let b = s.record_sale(&sale_input(id, 1250), Some("sale-key-1")).unwrap();
    assert_eq!(a.value.id, b.value.id);
    assert!(b.replayed);
    assert_eq!(s.customer(id).unwrap().figures.visit_count, 1, "a double Enter at the till records one sale");
}

#[test]
fn a_backdated_receipt_counts_and_is_marked() {
    let (mut s, clock) = store();
    let id = add(&mut s, input("Jean", "Martin"));
    let when = clock.now() - chrono::Duration::days(10);
    s.record_sale(&SaleInput { occurred_at: Some(when), ..sale_input(id, 500) }, None).unwrap();
    let tl = s.timeline(id, 10).unwrap();
    let backdated = tl
        .iter()
        .any(|e| matches!(e.kind, crate::customers::TimelineKind::Sale { backdated: true, .. }) && e.at == when);
    assert!(backdated, "the receipt sits at its own date, marked as entered later");
    assert_eq!(s.customer(id).unwrap().figures.first_purchase_at, Some(when));
}

#[test]
fn sales_for_unknown_customers_or_sales_are_refused() {
    let (mut s, _) = store();
    assert_eq!(s.record_sale(&sale_input(42, 100), None).unwrap_err().code(), "not_found");
    assert_eq!(
        s.refund(&RefundInput { sale_id: 42, amount_cents: None, note: String::new() }, None).unwrap_err().code(),
        "not_found"
    );
}

#[test]
fn what_is_paid_is_the_ticket_minus_its_discount_never_below_zero() {
    let cases = [
        (250, 0, Some(250), "no discount: the ticket"),
        (250, 100, Some(150), "a discount lowers it"),
        (250, 250, Some(0), "a free coffee: covered in full, recorded at zero"),
        (250, 251, None, "worth more than the ticket: refused (the rest would be lost)"),
        (250, -1, None, "a negative discount: refused"),
    ];
    for (ticket, discount, want, rule) in cases {
        assert_eq!(amount_paid(ticket, discount).ok(), want, "{ticket} − {discount}: {rule}");
    }
}
