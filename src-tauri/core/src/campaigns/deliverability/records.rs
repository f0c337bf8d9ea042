//! What the domain check says about each record (SPF, DKIM, DMARC): its state, the sentence
//! that explains it, what was found, and the exact record(s) to ask the domain's host to add.
//! The judging itself is in `spf`, `dkim` and `dmarc` (pure functions of the DNS answers).

use super::{Level, Said};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Spf,
    Dkim,
    Dmarc,
}

/// A record to add (or to replace the one there), to hand to whoever manages the domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Fix {
    /// `TXT` or `CNAME`; none when the provider decides (it shows the record to add).
    pub record_type: Option<String>,
    /// The full name of the record (`_dmarc.boutique.fr`).
    pub name: String,
    /// The exact value, when it can be known; otherwise the provider shows it (`note`).
    pub value: Option<String>,
    /// Replaces the record found there (there must be only one SPF or DMARC record).
    pub replaces: bool,
    pub note: Option<Said>,
}

/// The verdict on one kind of record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RecordCheck {
    pub kind: RecordKind,
    pub level: Level,
    /// What it means, in a sentence.
    pub said: Said,
    /// Other remarks on the same record, less important.
    pub more: Vec<Said>,
    /// The DNS name looked at.
    pub name: String,
    /// The records found there, as published (long keys shortened).
    pub found: Vec<String>,
    /// What to add or change.
    pub fixes: Vec<Fix>,
    /// Where, at the provider, this is switched on (a sentence).
    pub how: Option<Said>,
}

impl RecordCheck {
    pub fn new(kind: RecordKind, level: Level, said: Said, name: &str) -> Self {
        RecordCheck {
            kind,
            level,
            said,
            more: Vec::new(),
            name: name.to_string(),
            found: Vec::new(),
            fixes: Vec::new(),
            how: None,
        }
    }
    pub fn found(mut self, found: Vec<String>) -> Self {
        self.found = found;
        self
    }
    pub fn fix(mut self, fix: Fix) -> Self {
        self.fixes.push(fix);
        self
    }
    pub fn how(mut self, how: Option<Said>) -> Self {
        self.how = how;
        self
    }
}

impl Fix {
    pub fn txt(name: &str, value: impl Into<String>, replaces: bool) -> Fix {
        Fix { record_type: Some("TXT".into()), name: name.to_string(), value: Some(value.into()), replaces, note: None }
    }
}

/// Whether mail from the domain can pass DMARC through one mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passes {
    Yes,
    No,
    /// Could not tell (no DNS answer, or a provider Comptoir does not know).
    Maybe,
}

/// A record as shown: a DKIM key's `p=` shortened (it runs to hundreds of characters).
pub fn shown(record: &str) -> String {
    let lower = record.to_ascii_lowercase();
    match lower.find("p=") {
        Some(i) if record.len() > i + 40 => {
            let end = record[i..].find(';').map(|j| i + j).unwrap_or(record.len());
            if end - i > 40 {
                let cut = (i + 30..=i + 34).find(|c| record.is_char_boundary(*c)).unwrap_or(end);
                return format!("{}…{}", &record[..cut], &record[end..]);
            }
            record.to_string()
        }
        _ => record.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_keys_are_shortened_for_reading_and_the_rest_is_kept() {
        let key = format!("v=DKIM1; k=rsa; p={}", "A".repeat(300));
        let s = shown(&key);
        assert!(s.starts_with("v=DKIM1; k=rsa; p=AAAA") && s.ends_with('…') && s.len() < 60, "{s}");
        let with_tail = format!("v=DKIM1; p={}; t=s", "B".repeat(300));
        assert!(shown(&with_tail).ends_with("…; t=s"), "what follows the key stays");
        assert_eq!(shown("v=spf1 include:_spf.google.com ~all"), "v=spf1 include:_spf.google.com ~all");
    }
}
