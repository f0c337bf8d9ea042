//! Who may receive a marketing email, as pure rules.
//!
//! - France (CNIL, article L34-5 CPCE): prior opt-in (`express`), or an existing customer told
//!   about similar products who did not object (`existing_customer`, which needs a purchase).
//! - Canada (CASL): express consent, or consent implied by a purchase in the last 2 years.
//! - Anyone who refused or unsubscribed, or whose consent was never recorded, is excluded.
//! - An address on the suppression list (unsubscribed, bounced, complained, cleaned, erased)
//!   is excluded whatever the consent records of the customers carrying it say.

use super::suppression::SuppressionReason;
use crate::customers::ConsentChoice;
use crate::types::Country;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Why a customer of the segment will not receive the campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    NoEmail,
    NoConsent,
    Refused,
    Unsubscribed,
    /// France: "existing customer" consent but no purchase on file.
    NotACustomer,
    /// Canada: implied consent, but the last purchase is more than 2 years old.
    ImpliedExpired,
    /// The address bounced (or a list the merchant imported marked it "cleaned").
    Bounced,
    /// The person reported a message as spam.
    Complained,
    /// The address was suppressed by the merchant, or belonged to an erased person.
    Suppressed,
    /// Another customer of the audience has the same address: one message per address.
    DuplicateAddress,
}

impl Exclusion {
    /// The code stored as an outbox row's skip reason.
    pub fn code(self) -> &'static str {
        match self {
            Exclusion::NoEmail => "no_email",
            Exclusion::NoConsent => "no_consent",
            Exclusion::Refused => "refused",
            Exclusion::Unsubscribed => "unsubscribed",
            Exclusion::NotACustomer => "not_a_customer",
            Exclusion::ImpliedExpired => "implied_expired",
            Exclusion::Bounced => "bounced",
            Exclusion::Complained => "complained",
            Exclusion::Suppressed => "suppressed",
            Exclusion::DuplicateAddress => "duplicate_address",
        }
    }
}

/// What the rule needs to know about one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentFacts {
    pub has_email: bool,
    pub country: Country,
    /// The latest consent record, if any, and whether it came from an unsubscribe.
    pub choice: Option<ConsentChoice>,
    pub unsubscribed: bool,
    pub last_purchase_at: Option<DateTime<Utc>>,
    /// The address is on the suppression list, and why.
    pub suppressed: Option<SuppressionReason>,
}

/// Implied consent from a purchase lasts two years under CASL.
pub const CASL_IMPLIED_DAYS: i64 = 730;

pub fn eligibility(f: &ConsentFacts, now: DateTime<Utc>) -> Result<(), Exclusion> {
    if !f.has_email {
        return Err(Exclusion::NoEmail);
    }
    if let Some(reason) = f.suppressed {
        return Err(match reason {
            SuppressionReason::Unsubscribed => Exclusion::Unsubscribed,
            SuppressionReason::HardBounce | SuppressionReason::SoftBounce | SuppressionReason::Cleaned => {
                Exclusion::Bounced
            }
            SuppressionReason::Complaint => Exclusion::Complained,
            SuppressionReason::Erased | SuppressionReason::Merchant => Exclusion::Suppressed,
        });
    }
    match f.choice {
        None => Err(Exclusion::NoConsent),
        Some(ConsentChoice::Refused) if f.unsubscribed => Err(Exclusion::Unsubscribed),
        Some(ConsentChoice::Refused) => Err(Exclusion::Refused),
        Some(ConsentChoice::Express) => Ok(()),
        Some(ConsentChoice::ExistingCustomer) => match (f.country, f.last_purchase_at) {
            (Country::FR, None) => Err(Exclusion::NotACustomer),
            (Country::FR, Some(_)) => Ok(()),
            (Country::CA, Some(at)) if now - at <= Duration::days(CASL_IMPLIED_DAYS) => Ok(()),
            (Country::CA, _) => Err(Exclusion::ImpliedExpired),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
    }
    fn facts(country: Country, choice: Option<ConsentChoice>, last: Option<i64>) -> ConsentFacts {
        ConsentFacts {
            has_email: true,
            country,
            choice,
            unsubscribed: false,
            last_purchase_at: last.map(|d| now() - Duration::days(d)),
            suppressed: None,
        }
    }

    #[test]
    fn the_consent_table_for_france_and_canada() {
        use ConsentChoice::*;
        use Country::*;
        type Case = (Country, Option<ConsentChoice>, Option<i64>, Result<(), Exclusion>, &'static str);
        let cases: &[Case] = &[
            (FR, Some(Express), None, Ok(()), "France: prior opt-in receives, even with no purchase"),
            (FR, Some(ExistingCustomer), Some(400), Ok(()), "France: an existing customer who did not object receives"),
            (FR, Some(ExistingCustomer), Some(2000), Ok(()), "France: the soft opt-in has no 2-year limit"),
            (
                FR,
                Some(ExistingCustomer),
                None,
                Err(Exclusion::NotACustomer),
                "France: 'existing customer' needs a purchase",
            ),
            (FR, Some(Refused), Some(1), Err(Exclusion::Refused), "France: a refusal excludes"),
            (FR, None, Some(1), Err(Exclusion::NoConsent), "France: no recorded consent excludes"),
            (CA, Some(Express), None, Ok(()), "Canada: express consent receives"),
            (CA, Some(ExistingCustomer), Some(729), Ok(()), "Canada: implied consent within 2 years of a purchase"),
            (
                CA,
                Some(ExistingCustomer),
                Some(731),
                Err(Exclusion::ImpliedExpired),
                "Canada: implied consent ends 2 years after the last purchase",
            ),
            (
                CA,
                Some(ExistingCustomer),
                None,
                Err(Exclusion::ImpliedExpired),
                "Canada: implied consent needs a purchase",
            ),
            (CA, None, Some(10), Err(Exclusion::NoConsent), "Canada: no recorded consent excludes"),
        ];
        for (country, choice, last, expected, rule) in cases {
            assert_eq!(eligibility(&facts(*country, *choice, *last), now()), *expected, "{rule}");
        }
    }

    #[test]
    fn no_email_and_unsubscribes_are_told_apart() {
        let mut f = facts(Country::FR, Some(ConsentChoice::Express), None);
        f.has_email = false;
        assert_eq!(eligibility(&f, now()), Err(Exclusion::NoEmail), "no address, no message");
        let mut f = facts(Country::FR, Some(ConsentChoice::Refused), None);
        f.unsubscribed = true;
        assert_eq!(eligibility(&f, now()), Err(Exclusion::Unsubscribed), "an unsubscribe is counted as such");
    }

    #[test]
    fn a_suppressed_address_is_excluded_whatever_the_consent_says() {
        use SuppressionReason::*;
        let cases = [
            (Unsubscribed, Exclusion::Unsubscribed, "an unsubscribed address gets nothing, even with express consent"),
            (HardBounce, Exclusion::Bounced, "a hard bounce stops sending to that address"),
            (SoftBounce, Exclusion::Bounced, "repeated soft bounces stop sending to that address"),
            (Cleaned, Exclusion::Bounced, "an address a previous tool cleaned is not mailed"),
            (Complaint, Exclusion::Complained, "a spam complaint stops every message"),
            (Erased, Exclusion::Suppressed, "an erased person is never mailed again"),
            (Merchant, Exclusion::Suppressed, "an address the merchant suppressed is not mailed"),
        ];
        for (reason, expected, rule) in cases {
            let f =
                ConsentFacts { suppressed: Some(reason), ..facts(Country::FR, Some(ConsentChoice::Express), Some(1)) };
            assert_eq!(eligibility(&f, now()), Err(expected), "{rule}");
        }
        let no_email = ConsentFacts { has_email: false, suppressed: Some(Complaint), ..facts(Country::CA, None, None) };
        assert_eq!(
            eligibility(&no_email, now()),
            Err(Exclusion::NoEmail),
            "without an address, that is the reason shown"
        );
    }
}
