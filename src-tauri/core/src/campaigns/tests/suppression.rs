//! The suppression list's finer rules, found by the review of the email-safety work: which
//! address an unsubscribe link covers, which reasons the person's word at the counter can
//! undo (what an upgrade puts on the list is tested with the migrations).

use super::*;
use crate::campaigns::suppression::{is_suppressed, suppress, SuppressionReason};

fn sent_campaign(s: &mut crate::Store) -> i64 {
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outbox = EmlOutbox { dir: dir.path().to_path_buf() };
    let limits = smtp::limits_for(&s.mail_settings().unwrap());
    assert_eq!(Engine::new(fast()).run_campaign(s, c.id, &outbox, &limits).unwrap(), CampaignState::Finished);
    c.id
}

#[test]
fn an_unsubscribe_link_covers_the_address_the_message_went_to_even_after_a_correction() {
    let (mut s, _) = testutil::store();
    s.save_mail_settings(&mail(None), None).unwrap();
    let z = customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let camp = sent_campaign(&mut s);
    let token: String = s
        .conn()
        .query_row("SELECT token FROM campaign_recipients WHERE campaign_id = ?1", [camp], |r| r.get(0))
        .unwrap();
    // Her address is corrected before she clicks the link of the message she received.
    s.conn()
        .execute("UPDATE customers SET email = 'zoe@example.org', email_norm = 'zoe@example.org' WHERE id = ?1", [z])
        .unwrap();
    s.apply_unsubscribes(&format!("unsubscribe {token}"), None).unwrap();
    assert!(
        is_suppressed(s.conn(), "zoe@example.com").unwrap().is_some(),
        "the address the unsubscribed message went to is suppressed"
    );
    assert!(is_suppressed(s.conn(), "zoe@example.org").unwrap().is_some(), "and so is her current one");
}

#[test]
fn agreeing_again_at_the_counter_lifts_an_unsubscribe_but_never_a_bounce_recorded_after_it() {
    let (mut s, _) = testutil::store();
    let z = customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let again = |s: &mut crate::Store| {
        s.set_consent(
            z,
            &ConsentInput { choice: ConsentChoice::Express, source: ConsentSource::Counter, wording: "Oui".into() },
            None,
        )
        .unwrap();
    };
    let refuse = |s: &mut crate::Store| {
        s.set_consent(
            z,
            &ConsentInput { choice: ConsentChoice::Refused, source: ConsentSource::Counter, wording: "Non".into() },
            None,
        )
        .unwrap();
    };
    refuse(&mut s);
    assert!(is_suppressed(s.conn(), "zoe@example.com").unwrap().is_some(), "a refusal suppresses");
    again(&mut s);
    assert!(is_suppressed(s.conn(), "zoe@example.com").unwrap().is_none(), "her own yes in the shop lifts her no");

    refuse(&mut s);
    s.transact(("test.bounce", &()), None, |tx| {
        let first = suppress(tx, "zoe@example.com", SuppressionReason::HardBounce, "bounce", None, Some(z), None)?;
        assert!(!first, "already suppressed: not newly suppressed");
        let same = suppress(tx, "zoe@example.com", SuppressionReason::HardBounce, "bounce", None, Some(z), None)?;
        assert!(!same);
        Ok(())
    })
    .unwrap();
    let events: i64 =
        s.conn().query_row("SELECT count(*) FROM suppressions WHERE reason = 'hard_bounce'", [], |r| r.get(0)).unwrap();
    assert_eq!(events, 1, "a bounce after an unsubscribe is recorded, once");
    again(&mut s);
    let sup = is_suppressed(s.conn(), "zoe@example.com").unwrap();
    assert_eq!(
        sup.map(|s| s.reason),
        Some(SuppressionReason::HardBounce),
        "a yes at the counter cannot make a bouncing address receive again"
    );
}

#[test]
fn an_unsubscribe_that_comes_with_a_complaint_does_not_hide_the_complaint() {
    let (mut s, _) = testutil::store();
    let z = customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    s.transact(("test.complaint", &()), None, |tx| {
        assert!(suppress(tx, "zoe@example.com", SuppressionReason::Complaint, "arf", None, Some(z), None)?);
        crate::campaigns::store::unsubscribe_lines(tx, &["zoe@example.com".to_string()])?;
        Ok(())
    })
    .unwrap();
    let sup = is_suppressed(s.conn(), "zoe@example.com").unwrap().map(|s| s.reason);
    assert_eq!(sup, Some(SuppressionReason::Complaint), "the customer page says she complained");
}
