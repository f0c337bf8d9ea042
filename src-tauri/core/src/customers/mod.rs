//! The customer file: identity, contact, address, birthday, language, tags, consent, notes,
//! archive and restore, duplicates and merge, and the timeline.

mod duplicates;
mod merge;
mod rules;
mod store;
mod timeline;

pub(crate) use duplicates::around_name;
pub use duplicates::{similar_names, DuplicateMatch, DuplicateReason, NameProbe};
pub use rules::{
    birthday_is_valid, is_email, merged_address, normalize_postcode, validate, Normalized, MAX_NAME, MAX_NOTE, MAX_TAG,
    MAX_TAGS,
};
pub(crate) use store::{
    current_consent, ensure_customer, ensure_exists, insert_consent, insert_note, summaries, summary_columns,
    summary_from_row, tags_of, write_event, write_fields, write_tags, INSERT_CUSTOMER,
};
pub use timeline::{is_backdated, TimelineEntry, TimelineKind};

use crate::types::{Cents, Country, CustomerId, Lang};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AddressInput {
    pub line1: String,
    pub line2: String,
    pub postcode: String,
    pub city: String,
    /// Defaults to the shop's country.
    pub country: Option<Country>,
}

/// Day and month of a birthday; the year is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Birthday {
    pub day: u8,
    pub month: u8,
    pub year: Option<u16>,
}

/// What a form sends to create or edit a customer. Empty strings mean "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CustomerInput {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub address: AddressInput,
    pub birthday: Option<Birthday>,
    pub language: Option<Lang>,
    pub tags: Vec<String>,
}

/// The customer's answer about email marketing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConsentChoice {
    /// Prior, explicit agreement (opt-in; CASL express consent).
    Express,
    /// An existing customer told about similar products, who did not object (France), or
    /// implied consent from a purchase (Canada).
    ExistingCustomer,
    /// Refused or withdrawn: no marketing email.
    Refused,
}

impl ConsentChoice {
    pub fn code(self) -> &'static str {
        match self {
            ConsentChoice::Express => "express",
            ConsentChoice::ExistingCustomer => "existing_customer",
            ConsentChoice::Refused => "refused",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "express" => Some(ConsentChoice::Express),
            "existing_customer" => Some(ConsentChoice::ExistingCustomer),
            "refused" => Some(ConsentChoice::Refused),
            _ => None,
        }
    }
}

/// Where the consent was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConsentSource {
    Counter,
    PaperForm,
    Website,
    Import,
    Email,
    /// Withdrawn through the unsubscribe line of a message, or a pasted list of unsubscribes.
    Unsubscribe,
}

impl ConsentSource {
    pub fn code(self) -> &'static str {
        match self {
            ConsentSource::Counter => "counter",
            ConsentSource::PaperForm => "paper_form",
            ConsentSource::Website => "website",
            ConsentSource::Import => "import",
            ConsentSource::Email => "email",
            ConsentSource::Unsubscribe => "unsubscribe",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Counter, Self::PaperForm, Self::Website, Self::Import, Self::Email, Self::Unsubscribe]
            .into_iter()
            .find(|c| c.code() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConsentInput {
    pub choice: ConsentChoice,
    pub source: ConsentSource,
    /// The sentence the customer agreed to, kept as proof.
    pub wording: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConsentRecord {
    pub choice: ConsentChoice,
    pub source: ConsentSource,
    pub wording: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// A new customer, with the consent and first note taken at the counter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NewCustomer {
    pub customer: CustomerInput,
    pub consent: Option<ConsentInput>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Address {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Country,
}

/// Figures derived from the customer's purchases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Figures {
    /// Number of sales (refunds are not visits).
    pub visit_count: i64,
    /// Sales minus refunds.
    pub total_spent_cents: Cents,
    pub average_basket_cents: Option<Cents>,
    pub first_purchase_at: Option<DateTime<Utc>>,
    pub last_purchase_at: Option<DateTime<Utc>>,
}

/// Rule: the average basket is what was spent divided by the number of visits, rounded to
/// the nearest cent; with no visit there is no average.
pub fn average_basket(total_spent_cents: Cents, visit_count: i64) -> Option<Cents> {
    if visit_count <= 0 {
        return None;
    }
    let half = visit_count / 2;
    let adj = if total_spent_cents >= 0 { half } else { -half };
    Some((total_spent_cents + adj) / visit_count)
}

/// The whole customer record, as the detail screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Customer {
    pub id: CustomerId,
    pub first_name: String,
    pub last_name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub phone_e164: Option<String>,
    pub phone_display: Option<String>,
    pub address: Address,
    pub birthday: Option<Birthday>,
    pub language: Lang,
    pub tags: Vec<String>,
    pub card_number: Option<String>,
    pub consent: Option<ConsentRecord>,
    /// The address is on the suppression list (unsubscribed, bounced, complained…): no
    /// marketing email reaches it, whatever the consent says.
    pub suppression: Option<crate::campaigns::suppression::Suppression>,
    pub figures: Figures,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    pub merged_into: Option<CustomerId>,
}

/// One line of a list or a search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CustomerSummary {
    pub id: CustomerId,
    pub display_name: String,
    pub email: Option<String>,
    pub phone_display: Option<String>,
    pub card_number: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub visit_count: i64,
    pub total_spent_cents: Cents,
    pub last_purchase_at: Option<DateTime<Utc>>,
    pub archived: bool,
}

/// Rule: a customer is shown as "First Last"; with one of them missing, the other alone.
pub fn display_name(first: &str, last: &str) -> String {
    match (first.is_empty(), last.is_empty()) {
        (false, false) => format!("{first} {last}"),
        (false, true) => first.to_string(),
        (true, false) => last.to_string(),
        (true, true) => String::new(),
    }
}

#[cfg(test)]
mod tests;
