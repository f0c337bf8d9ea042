//! Will the campaign reach inboxes? Checks made before sending, each explained in French and
//! English in words a shopkeeper can act on.
//!
//! - `freemail`: a free-mail address (gmail.com, orange.fr, videotron.ca…) may only send through
//!   its own provider's server; through another one it is refused (pure rule, shipped list).
//! - `providers`: what each SMTP preset needs in the sender's DNS (SPF entry, DKIM selectors,
//!   where to switch DKIM on).
//! - `dns`: asks the DNS (the system's resolver, or `COMPTOIR_DNS_SERVER` in the tests) and
//!   tells "no such domain", "no record" and "no answer" apart.
//! - `spf`, `dkim`, `dmarc`: each record of the From domain judged from those answers (pure),
//!   with the exact record to ask the domain's host to add (`records`); `domain` runs the
//!   whole check.
//! - `html`, `contrast`, `content`: the rendered message read back (visible text, links,
//!   images, colours actually used) and judged (pure): text part, shorteners, capitals,
//!   contrast, the unsubscribe line. Blocking findings stop a campaign from starting.
//!
//! Invariants: a check that could not ask the DNS says "could not check", never "all good", and
//! never blocks sending by itself; only the free-mail rule and blocking content findings stop a
//! campaign. Every sentence is a catalogue key (`deliverability.*`) with its arguments, so the
//! interface shows it in the merchant's language.

pub mod content;
pub mod contrast;
pub mod dkim;
pub mod dmarc;
pub mod dns;
pub mod domain;
pub mod freemail;
pub mod html;
pub mod providers;
pub mod records;
pub mod spf;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A sentence of the catalogues: its key and the values of its `{placeholders}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Said {
    pub key: String,
    pub args: Vec<(String, String)>,
}

impl Said {
    pub fn new(key: &'static str) -> Self {
        Said { key: key.to_string(), args: Vec::new() }
    }
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name.to_string(), value.to_string()));
        self
    }
    /// The sentence in a language (for logs, the CLI and tests).
    pub fn text(&self, lang: crate::types::Lang) -> String {
        let mut out = crate::i18n::tr(lang, &self.key, &[]);
        for (name, value) in &self.args {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.args.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// How a check went, from best to worst for sorting: `Problem` hurts delivery, `Unknown` could
/// not be checked (no DNS answer), `Warning` is advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Warning,
    Unknown,
    Problem,
}

impl Level {
    /// The overall state of several checks: the worst one.
    pub fn worst(levels: impl IntoIterator<Item = Level>) -> Level {
        levels.into_iter().max().unwrap_or(Level::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_outweighs_an_unknown_which_outweighs_advice() {
        assert_eq!(Level::worst([Level::Ok, Level::Warning]), Level::Warning, "advice shows over fine");
        assert_eq!(
            Level::worst([Level::Ok, Level::Unknown, Level::Warning]),
            Level::Unknown,
            "not checked is never fine"
        );
        assert_eq!(Level::worst([Level::Unknown, Level::Problem]), Level::Problem, "a problem shows first");
        assert_eq!(Level::worst([]), Level::Ok);
    }

    #[test]
    fn every_placeholder_of_a_sentence_reaches_the_catalogue() {
        let s =
            Said::new("deliverability.spf.provider_missing").arg("provider", "Gmail").arg("include", "_spf.google.com");
        let text = s.text(crate::types::Lang::Fr);
        assert!(text.contains("Gmail") && text.contains("_spf.google.com") && !text.contains('{'), "{text}");
    }
}
