//! A provider's refusal about the sender or the message pauses a campaign and fails nobody
//! (see `safety`); these are the two ways out of it that keep a campaign from stalling: a
//! refusal that others of the same batch passed is about that recipient, and a message refused
//! again after the merchant resumed fails instead of pausing forever.

use super::*;
use crate::campaigns::smtp::Policy;

fn smtp_store() -> (crate::Store, Sink) {
    // Retries wait a few real milliseconds: the system clock, not the fixed test clock.
    let mut s = crate::Store::open_in_memory().unwrap();
    let sink = Sink::start(true, 8).unwrap();
    s.save_mail_settings(&mail(Some(&sink)), None).unwrap();
    (s, sink)
}

fn run(s: &mut crate::Store, id: i64) -> CampaignState {
    let transport = SmtpPool::new(&s.mail_settings().unwrap().smtp, None, Policy::default()).unwrap();
    let limits = s.mail_settings().unwrap().smtp.limits;
    Engine::new(fast()).run_campaign(s, id, &transport, &limits).unwrap()
}

#[test]
fn a_policy_refusal_of_one_recipient_that_others_passed_is_retried_once_then_fails_that_recipient_only() {
    let (mut s, sink) = smtp_store();
    for i in 0..4 {
        customer(&mut s, &format!("C{i}"), &format!("c{i}@example.com"), Country::FR, Some(ConsentChoice::Express));
    }
    sink.refuse("c2@example.com", 550, "5.7.1 Recipient address rejected: Access denied. AS(201806281)");
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    assert_eq!(run(&mut s, c.id), CampaignState::Finished, "one odd refusal does not pause everyone");
    let after = s.campaign(c.id).unwrap();
    assert_eq!((after.progress.sent, after.progress.failed), (3, 1), "the three others received it; c2 failed");
    let (attempts, rejections): (i64, i64) = s
        .conn()
        .query_row(
            "SELECT attempts, rejections FROM campaign_recipients WHERE email_norm = 'c2@example.com'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((attempts, rejections), (2, 1), "tried once more later before being failed");
}

#[test]
fn the_last_message_refused_again_after_the_merchant_resumed_fails_instead_of_pausing_forever() {
    let (mut s, sink) = smtp_store();
    customer(&mut s, "Zoé", "zoe@example.com", Country::FR, Some(ConsentChoice::Express));
    let c = s.create_campaign(&input(SegmentFilter::default(), 0), None).unwrap().value;
    s.start_campaign(c.id, None).unwrap();
    sink.fail_next(1000, 554, "5.7.1 Message rejected: content rejected as spam");
    assert_eq!(run(&mut s, c.id), CampaignState::Paused, "a refusal of the message pauses first");
    assert_eq!(s.campaign(c.id).unwrap().progress.failed, 0, "and fails nobody");
    s.resume_campaign(c.id, None).unwrap();
    assert_eq!(run(&mut s, c.id), CampaignState::Finished, "refused again after resuming: the campaign ends");
    let after = s.campaign(c.id).unwrap();
    assert_eq!(after.progress.failed, 1, "the message refused twice, across a resume, fails");
    assert!(sink.received().is_empty());
}
