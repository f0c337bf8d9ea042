//! The sending rules, as pure functions: how many messages may leave now under the provider's
//! limits, what an SMTP answer means, and how long to wait before trying again.

use super::mail::SendLimits;
use chrono::{DateTime, Duration, Utc};
use std::collections::VecDeque;

/// Sending times within the last 24 hours, to apply per-second, per-minute and per-day limits.
#[derive(Debug, Clone, Default)]
pub struct RateWindow {
    sent: VecDeque<DateTime<Utc>>,
}

/// What the limits allow now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// This many messages may leave now.
    Now(u32),
    /// Nothing before this time (a per-second or per-minute window).
    Wait(DateTime<Utc>),
    /// The rolling 24-hour quota is used up until this time.
    DayQuota(DateTime<Utc>),
}

impl RateWindow {
    /// Start from the sending times already recorded (the 24-hour window survives a restart).
    pub fn from_history(mut times: Vec<DateTime<Utc>>) -> Self {
        times.sort();
        RateWindow { sent: times.into() }
    }

    pub fn record(&mut self, at: DateTime<Utc>, n: usize) {
        for _ in 0..n {
            self.sent.push_back(at);
        }
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        while self.sent.front().is_some_and(|t| *t <= now - Duration::hours(24)) {
            self.sent.pop_front();
        }
    }

    /// Count in the window ending now, and when its oldest entry leaves the window.
    fn in_window(&self, now: DateTime<Utc>, len: Duration) -> (u32, Option<DateTime<Utc>>) {
        let from = now - len;
        let idx = self.sent.partition_point(|t| *t <= from);
        ((self.sent.len() - idx) as u32, self.sent.get(idx).map(|t| *t + len))
    }

    pub fn allowance(&mut self, l: &SendLimits, now: DateTime<Utc>) -> Allowance {
        self.prune(now);
        let mut allowed = u32::MAX;
        let checks = [
            (l.per_day, Duration::hours(24), true),
            (l.per_minute, Duration::minutes(1), false),
            (l.per_second, Duration::seconds(1), false),
        ];
        for (limit, len, is_day) in checks {
            if limit == 0 {
                continue;
            }
            let (used, frees_at) = self.in_window(now, len);
            if used >= limit {
                let at = frees_at.unwrap_or(now + len);
                return if is_day { Allowance::DayQuota(at) } else { Allowance::Wait(at) };
            }
            allowed = allowed.min(limit - used);
        }
        Allowance::Now(allowed)
    }
}

/// What an SMTP failure means for the recipient and the campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 4xx or a network problem: try this recipient again later.
    Temporary,
    /// The provider's sending quota: pause the campaign until the window allows.
    Quota,
    /// 5xx for this address: the recipient fails, not retried.
    Permanent,
    /// 5xx about the sender or the message itself (sender address refused, content refused,
    /// message too large, or a refusal that names no recipient): every recipient would get the
    /// same answer, so nobody is failed; the campaign pauses until the merchant fixes it.
    Rejected,
    /// The account or server set-up is wrong (authentication, TLS): nothing can be sent.
    Setup,
}

/// Classify an SMTP failure from its reply code (if the server answered) and text.
///
/// Quota replies are recognised by their enhanced codes (4.7.x/5.4.5 rate or quota) or words,
/// whatever the first digit: Gmail answers `550 5.4.5 Daily user sending limit exceeded`.
/// A 5xx fails the recipient only when it is clearly about the recipient's address (enhanced
/// codes 5.1.x other than the sender's 5.1.7/5.1.8, 5.2.x, or words such as "user unknown");
/// any other 5xx is the provider refusing the sender or the message — a submission server
/// accepts recipients and reports their problems later by bounce — and pauses the campaign.
pub fn classify(code: Option<u16>, text: &str) -> Failure {
    let t = text.to_ascii_lowercase();
    // A full mailbox ("452 4.2.2 … over quota") is about that recipient, not the sender.
    let mailbox_full =
        ["4.2.2", "5.2.2", "mailbox full", "mailbox is full", "over quota", "overquota"].iter().any(|w| t.contains(w));
    if mailbox_full {
        return match code {
            Some(c) if (500..600).contains(&c) => Failure::Permanent,
            _ => Failure::Temporary,
        };
    }
    // A message too large (for the provider, or for the receiving side: 5.2.3, 5.3.4) is about
    // the message, whatever words of "limit" come with it.
    let too_large = ["5.3.4", "5.2.3", "too large", "too big", "size exceeds", "message size", "length exceeds"]
        .iter()
        .any(|w| t.contains(w));
    if too_large {
        return match code {
            Some(c) if (500..600).contains(&c) => Failure::Rejected,
            _ => Failure::Temporary,
        };
    }
    let quota_words = ["quota", "rate limit", "too many messages", "sending limit", "limit exceeded"];
    let quota =
        t.contains("5.4.5") || t.contains("4.7.0") && t.contains("limit") || quota_words.iter().any(|w| t.contains(w));
    match code {
        Some(c) if c == 530 || c == 534 || c == 535 || c == 538 => Failure::Setup,
        Some(c) if quota && (400..600).contains(&c) => Failure::Quota,
        Some(c) if (400..500).contains(&c) => Failure::Temporary,
        Some(c) if (500..600).contains(&c) && about_recipient(&t) => Failure::Permanent,
        Some(c) if (500..600).contains(&c) => Failure::Rejected,
        _ => Failure::Temporary,
    }
}

/// Whether a 5xx reply is about the recipient's address rather than the sender or message.
fn about_recipient(t: &str) -> bool {
    // "Access denied" (Microsoft's 5.7.1 "Recipient address rejected: Access denied", a
    // tenant refusing the sending domain) is a policy about the sender, however it is worded.
    let about_sender =
        ["sender", "from address", "mail from", "5.1.7", "5.1.8", "access denied"].iter().any(|w| t.contains(w));
    if about_sender {
        return false;
    }
    // Not 5.2.0 (any "other mailbox status", often a provider's policy) nor 5.2.3 (size).
    let codes = ["5.1.0", "5.1.1", "5.1.2", "5.1.3", "5.1.4", "5.1.6", "5.1.10", "5.2.1", "5.4.4"];
    let words = [
        "user unknown",
        "unknown user",
        "no such user",
        "recipient address rejected",
        "recipient unknown",
        "unknown recipient",
        "invalid recipient",
        "recipient not found",
        "mailbox unavailable",
        "mailbox not found",
        "no mailbox",
        "does not exist",
        "account disabled",
        "account has been disabled",
        "address rejected",
    ];
    codes.iter().any(|c| contains_code(t, c)) || words.iter().any(|w| t.contains(w))
}

/// `5.1.1` as a whole enhanced code (not the start of `5.1.10`).
fn contains_code(t: &str, code: &str) -> bool {
    t.match_indices(code).any(|(i, _)| !t[i + code.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// Wait before the next try of a recipient after `attempts` temporary failures: doubling from
/// `base`, at most one hour.
pub fn backoff(attempts: u32, base: Duration) -> Duration {
    let factor = 1i64 << attempts.saturating_sub(1).min(12);
    (base * factor as i32).min(Duration::hours(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }
    fn lim(per_second: u32, per_minute: u32, per_day: u32) -> SendLimits {
        SendLimits { per_second, per_minute, per_day, connections: 1 }
    }

    #[test]
    fn per_second_per_minute_and_per_day_limits_all_hold() {
        let mut w = RateWindow::default();
        assert_eq!(w.allowance(&lim(5, 0, 0), t0()), Allowance::Now(5), "5 per second allows 5 at once");
        w.record(t0(), 5);
        assert_eq!(
            w.allowance(&lim(5, 0, 0), t0()),
            Allowance::Wait(t0() + Duration::seconds(1)),
            "the 6th waits for the second to pass"
        );
        assert_eq!(w.allowance(&lim(5, 0, 0), t0() + Duration::seconds(1)), Allowance::Now(5), "a new second, 5 more");
        let mut w = RateWindow::default();
        w.record(t0(), 20);
        assert_eq!(
            w.allowance(&lim(0, 20, 0), t0() + Duration::seconds(30)),
            Allowance::Wait(t0() + Duration::minutes(1)),
            "20 per minute: the 21st waits for the minute"
        );
    }

    #[test]
    fn the_day_quota_is_a_rolling_24_hours_that_survives_a_restart() {
        let history: Vec<_> = (0..300).map(|i| t0() + Duration::minutes(i)).collect();
        let mut w = RateWindow::from_history(history);
        let at = t0() + Duration::hours(10);
        assert_eq!(
            w.allowance(&lim(0, 0, 300), at),
            Allowance::DayQuota(t0() + Duration::hours(24)),
            "300 per day used: wait until the first of them is 24 hours old"
        );
        assert_eq!(
            w.allowance(&lim(0, 0, 300), t0() + Duration::hours(24) + Duration::minutes(2)),
            Allowance::Now(3),
            "as the oldest leave the window, room comes back one by one"
        );
    }

    #[test]
    fn smtp_answers_are_classified() {
        assert_eq!(classify(Some(451), "4.3.0 try later"), Failure::Temporary, "451 is temporary");
        assert_eq!(classify(Some(421), "Service not available"), Failure::Temporary, "421 is temporary");
        assert_eq!(classify(Some(550), "5.1.1 no such user"), Failure::Permanent, "550 for an address is permanent");
        assert_eq!(
            classify(Some(550), "5.4.5 Daily user sending quota exceeded"),
            Failure::Quota,
            "Gmail's daily limit is a quota, not a bad address"
        );
        assert_eq!(classify(Some(452), "4.7.0 rate limit exceeded"), Failure::Quota, "a rate limit is a quota");
        assert_eq!(
            classify(Some(452), "4.2.2 The email account that you tried to reach is over quota"),
            Failure::Temporary,
            "a recipient's full mailbox is that recipient's problem, retried later, not the sender's quota"
        );
        assert_eq!(
            classify(Some(552), "5.2.2 mailbox full"),
            Failure::Permanent,
            "a permanently full mailbox fails that recipient"
        );
        assert_eq!(
            classify(Some(535), "5.7.8 Username and Password not accepted"),
            Failure::Setup,
            "bad credentials stop the sending"
        );
        assert_eq!(classify(None, "connection refused"), Failure::Temporary, "a network error is temporary");
    }

    #[test]
    fn a_refusal_of_the_sender_or_the_message_is_not_a_bad_recipient() {
        let cases = [
            (
                553,
                "5.7.1 <lea@boutique.example>: Sender address rejected: not owned by user",
                "a sender address the provider refuses",
            ),
            (550, "5.1.8 Sender address rejected: Domain not found", "a sender domain the provider refuses"),
            (554, "5.7.1 Message rejected: content rejected as spam", "content refused"),
            (552, "5.3.4 Message size exceeds fixed maximum message size", "a message too large"),
            (
                550,
                "5.7.515 Access denied, sending domain does not meet the required authentication level",
                "DMARC/SPF refusal of the domain",
            ),
            (554, "Transaction failed", "a refusal that names no recipient"),
            (
                550,
                "5.7.1 Recipient address rejected: Access denied. AS(201806281)",
                "a tenant refusing the sending domain",
            ),
            (552, "5.2.3 Message size limit exceeded", "a message too large for the receiving side"),
            (550, "5.2.0 Message rejected by policy", "a provider policy under 5.2.0"),
        ];
        for (code, text, what) in cases {
            assert_eq!(classify(Some(code), text), Failure::Rejected, "{what}: the campaign pauses, nobody is failed");
        }
        let recipients = [
            (550, "5.1.1 <x@example.com>: Recipient address rejected: User unknown", "an unknown user"),
            (550, "Requested action not taken: mailbox unavailable", "a mailbox that does not exist"),
            (
                550,
                "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
                "Outlook's unknown recipient",
            ),
            (551, "5.2.1 The email account that you tried to reach is disabled", "a disabled account"),
        ];
        for (code, text, what) in recipients {
            assert_eq!(classify(Some(code), text), Failure::Permanent, "{what} fails only that recipient");
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Duration::seconds(30);
        assert_eq!(backoff(1, b), Duration::seconds(30), "first retry after the base wait");
        assert_eq!(backoff(3, b), Duration::seconds(120), "then doubling");
        assert_eq!(backoff(20, b), Duration::hours(1), "never more than an hour");
    }
}
