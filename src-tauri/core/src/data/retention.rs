//! Retention (CNIL; Canada's CASL): customers and prospects with no purchase and no contact
//! for 3 years are listed for re-consent or anonymisation; a Canadian implied consent (from a
//! purchase) ends 2 years after the last purchase. The rule is pure; the list is a query.

use crate::storage::Store;
use crate::types::{Country, CustomerId};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const NO_CONTACT_YEARS: i64 = 3;
pub const IMPLIED_CONSENT_YEARS: i64 = 2;
const MAX_LISTED: usize = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RetentionReason {
    /// No purchase and no contact for 3 years: ask again or anonymise.
    NoContact,
    /// Canada: the implied consent from a purchase ended 2 years after it.
    ImpliedConsentEnded,
}

/// What the rule looks at for one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionFacts {
    pub country: Country,
    pub last_purchase: Option<DateTime<Utc>>,
    /// The latest of: created, edited, consent recorded, message sent.
    pub last_contact: DateTime<Utc>,
    /// The current consent rests on a purchase (implied / existing customer).
    pub implied_consent: bool,
}

/// Rule: see the module's header. `None`: nothing to do.
pub fn retention_reason(f: &RetentionFacts, now: DateTime<Utc>) -> Option<RetentionReason> {
    let years = |n: i64| Duration::days(365 * n + n / 4);
    let last = f.last_purchase.map_or(f.last_contact, |p| p.max(f.last_contact));
    if now - last > years(NO_CONTACT_YEARS) {
        return Some(RetentionReason::NoContact);
    }
    if f.country == Country::CA
        && f.implied_consent
        && f.last_purchase.is_none_or(|p| now - p > years(IMPLIED_CONSENT_YEARS))
    {
        return Some(RetentionReason::ImpliedConsentEnded);
    }
    None
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RetentionCandidate {
    pub id: CustomerId,
    pub name: String,
    pub reason: RetentionReason,
    pub last_purchase_at: Option<DateTime<Utc>>,
    pub last_contact_at: DateTime<Utc>,
}

impl Store {
    /// Customers to re-consent or anonymise, oldest contact first.
    pub fn retention_candidates(&self) -> Result<Vec<RetentionCandidate>, crate::Error> {
        let now = self.now();
        let mut st = self.conn().prepare(
            "SELECT c.id, c.first_name, c.last_name, c.country, c.last_purchase_at,
                    max(c.created_at, c.updated_at,
                        coalesce((SELECT max(recorded_at) FROM consents k WHERE k.customer_id = c.id), ''),
                        coalesce((SELECT max(sent_at) FROM campaign_recipients r WHERE r.customer_id = c.id), '')),
                    (SELECT basis FROM consents k WHERE k.customer_id = c.id ORDER BY recorded_at DESC, id DESC LIMIT 1)
             FROM customers c
             WHERE c.merged_into IS NULL AND c.archived_at IS NULL
               AND (c.last_purchase_at IS NULL OR c.last_purchase_at < ?1)
             ORDER BY c.last_purchase_at, c.id",
        )?;
        let cutoff = now - Duration::days(365 * IMPLIED_CONSENT_YEARS);
        let mut out = Vec::new();
        let mut rows = st.query([cutoff])?;
        while let Some(r) = rows.next()? {
            let last_contact: String = r.get(5)?;
            let Ok(last_contact) =
                DateTime::parse_from_rfc3339(&last_contact.replace(' ', "T")).map(|d| d.with_timezone(&Utc))
            else {
                continue;
            };
            let facts = RetentionFacts {
                country: Country::parse(&r.get::<_, String>(3)?).unwrap_or_default(),
                last_purchase: r.get(4)?,
                last_contact,
                implied_consent: r.get::<_, Option<String>>(6)?.as_deref() == Some("existing_customer"),
            };
            if let Some(reason) = retention_reason(&facts, now) {
                out.push(RetentionCandidate {
                    id: r.get(0)?,
                    name: crate::customers::display_name(&r.get::<_, String>(1)?, &r.get::<_, String>(2)?),
                    reason,
                    last_purchase_at: facts.last_purchase,
                    last_contact_at: last_contact,
                });
                if out.len() >= MAX_LISTED {
                    break;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn three_years_without_purchase_or_contact_and_two_years_of_implied_consent() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let ago = |days: i64| now - Duration::days(days);
        let f = |country, purchase: Option<i64>, contact: i64, implied| RetentionFacts {
            country,
            last_purchase: purchase.map(ago),
            last_contact: ago(contact),
            implied_consent: implied,
        };
        let cases = [
            (f(Country::FR, None, 1200, false), Some(RetentionReason::NoContact), "a prospect silent for over 3 years"),
            (f(Country::FR, None, 1000, false), None, "under 3 years"),
            (f(Country::FR, Some(1200), 100, false), None, "a recent contact keeps them"),
            (
                f(Country::CA, Some(800), 800, true),
                Some(RetentionReason::ImpliedConsentEnded),
                "CASL: 2 years after the purchase",
            ),
            (f(Country::CA, Some(600), 600, true), None, "still within 2 years"),
            (f(Country::FR, Some(800), 800, true), None, "French soft opt-in has no 2-year end"),
            (f(Country::CA, Some(800), 10, false), None, "express consent does not end"),
        ];
        for (facts, want, why) in cases {
            assert_eq!(retention_reason(&facts, now), want, "{why}");
        }
    }
}
