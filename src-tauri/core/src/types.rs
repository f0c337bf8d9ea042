//! Small shared types: ids, money, languages, the outcome of a write.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The dates the product deals with: from 1900 to 2200. A date from the interface outside
/// this range is refused with a message (time arithmetic near the limits of the calendar
/// library would otherwise fail).
pub fn check_date(field: &'static str, at: chrono::DateTime<chrono::Utc>) -> crate::error::Result<()> {
    use chrono::Datelike;
    if (1900..=2200).contains(&at.year()) {
        Ok(())
    } else {
        Err(crate::error::Error::invalid(field, "field.date_out_of_range"))
    }
}

/// Money is always an integer number of cents.
pub type Cents = i64;
pub type CustomerId = i64;
pub type PurchaseId = i64;

/// The language of the interface and of a customer's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// Countries whose conventions (phone numbers, postcodes, consent law) the product knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default, Hash)]
pub enum Country {
    #[default]
    FR,
    CA,
}

impl Country {
    pub fn code(self) -> &'static str {
        match self {
            Country::FR => "FR",
            Country::CA => "CA",
        }
    }
    pub fn parse(s: &str) -> Option<Country> {
        match s {
            "FR" => Some(Country::FR),
            "CA" => Some(Country::CA),
            _ => None,
        }
    }
}

/// What a write changed, so the interface refreshes exactly what is affected.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
pub struct Changes {
    /// Customers whose record, figures or timeline changed, each once, in the order marked.
    pub customers: Vec<CustomerId>,
    pub purchases: bool,
    pub settings: bool,
    /// The ids of `customers`, for a constant-time "already marked" (an import marks 100,000).
    #[serde(skip)]
    #[ts(skip)]
    marked: std::collections::HashSet<CustomerId>,
}

impl PartialEq for Changes {
    fn eq(&self, other: &Self) -> bool {
        self.customers == other.customers && self.purchases == other.purchases && self.settings == other.settings
    }
}

impl Eq for Changes {}

impl Changes {
    pub fn customer(&mut self, id: CustomerId) {
        // `customers` is public: whatever was pushed there directly is taken into account.
        if self.marked.len() != self.customers.len() {
            self.marked = self.customers.iter().copied().collect();
        }
        if self.marked.insert(id) {
            self.customers.push(id);
        }
    }
}

/// The result of a write: its value, what it changed, and whether it was a replay of an
/// earlier write with the same idempotency key (in which case nothing new was written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Outcome<T> {
    pub value: T,
    pub changes: Changes,
    pub replayed: bool,
}
