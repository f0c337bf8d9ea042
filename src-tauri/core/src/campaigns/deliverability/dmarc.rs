//! DMARC: what the sender domain asks receivers to do with mail that fails authentication, and
//! whether the shop's mail will pass given the SPF and DKIM verdicts.
//!
//! The record is looked for at `_dmarc.<domain>`, then up the tree (`_dmarc.<parent>`, as the
//! DMARC revision does; a subdomain's mail follows its organisation's record, with `sp=` when
//! present). The record is parsed by mail-auth.
//!
//! Invariants: pure; `p=quarantine`/`p=reject` with neither SPF nor DKIM able to pass is a
//! problem (the campaign would land in spam or be refused); when SPF or DKIM could not be
//! checked, the verdict is "could not check", not "fine".

use super::dns::Answer;
use super::providers::Facts;
use super::records::{Fix, Passes, RecordCheck, RecordKind};
use super::{Level, Said};
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::dmarc::{Dmarc, Policy};

/// The record to suggest when there is none: monitoring only (nothing happens to mail that
/// fails; Gmail and Yahoo ask bulk senders for at least this).
pub const STARTER: &str = "v=DMARC1; p=none";

/// The names to ask, from the domain up to (not including) its last label, at most 8.
pub fn names(domain: &str) -> Vec<String> {
    let labels: Vec<&str> = domain.trim_end_matches('.').split('.').filter(|l| !l.is_empty()).collect();
    (0..labels.len().saturating_sub(1)).take(8).map(|i| format!("_dmarc.{}", labels[i..].join("."))).collect()
}

fn dmarc_records(txt: &[String]) -> Vec<&str> {
    txt.iter().map(|r| r.trim()).filter(|r| r.to_ascii_lowercase().starts_with("v=dmarc1")).collect()
}

/// The DMARC verdict, given the answers for `names(domain)` in order and whether SPF and DKIM
/// can make the shop's mail pass.
pub fn judge(domain: &str, facts: &Facts, answers: &[(String, Answer)], spf: Passes, dkim: Passes) -> RecordCheck {
    let own = format!("_dmarc.{domain}");
    let starter = || Fix::txt(&own, STARTER, false);
    let check = |level, said, name: &str| RecordCheck::new(RecordKind::Dmarc, level, said, name);
    for (i, (name, answer)) in answers.iter().enumerate() {
        let txt = match answer {
            Answer::Failed => return check(Level::Unknown, Said::new("deliverability.dmarc.unknown"), name),
            Answer::NoRecord | Answer::NoDomain => continue,
            Answer::Found(txt) => txt,
        };
        let records = dmarc_records(txt);
        let found: Vec<String> = records.iter().map(|r| r.to_string()).collect();
        let record = match records.as_slice() {
            [] => continue,
            [one] => *one,
            _ => {
                return check(
                    Level::Problem,
                    Said::new("deliverability.dmarc.several").arg("count", records.len()),
                    name,
                )
                .found(found)
                .fix(Fix { replaces: true, ..starter() })
            }
        };
        let Ok(d) = Dmarc::parse(record.as_bytes()) else {
            return check(Level::Problem, Said::new("deliverability.dmarc.invalid"), name)
                .found(found)
                .fix(Fix { replaces: true, ..starter() });
        };
        let policy = if i > 0 && d.sp != Policy::Unspecified { d.sp } else { d.p };
        let c = |level, said| check(level, said, name).found(found.clone());
        let word = match policy {
            Policy::Reject => "reject",
            Policy::Quarantine => "quarantine",
            Policy::None | Policy::Unspecified => {
                return c(Level::Ok, Said::new("deliverability.dmarc.monitoring").arg("name", name));
            }
        };
        let provider = facts.name;
        return match (dkim, spf) {
            (Passes::Yes, _) => c(Level::Ok, Said::new("deliverability.dmarc.enforced").arg("policy", word)),
            (_, Passes::Yes) => c(Level::Warning, Said::new("deliverability.dmarc.spf_only").arg("policy", word)),
            (Passes::Maybe, _) | (_, Passes::Maybe) => {
                c(Level::Unknown, Said::new("deliverability.dmarc.enforced_unverified").arg("policy", word))
            }
            (Passes::No, Passes::No) if policy == Policy::Reject => {
                c(Level::Problem, Said::new("deliverability.dmarc.will_be_refused").arg("provider", provider))
            }
            (Passes::No, Passes::No) => {
                c(Level::Problem, Said::new("deliverability.dmarc.will_be_spam").arg("provider", provider))
            }
        };
    }
    check(Level::Warning, Said::new("deliverability.dmarc.missing"), &own).fix(starter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaigns::deliverability::providers::facts;
    use crate::campaigns::mail::SmtpPreset;

    #[test]
    fn the_record_is_looked_for_up_the_tree() {
        assert_eq!(names("news.boutique.test"), ["_dmarc.news.boutique.test", "_dmarc.boutique.test"]);
        assert_eq!(names("boutique.test"), ["_dmarc.boutique.test"]);
        assert_eq!(names("a.b.c.d.e.f.g.h.i.j.test").len(), 8, "at most 8 questions");
    }

    fn judge_with(answers: Vec<(&str, Answer)>, spf: Passes, dkim: Passes) -> RecordCheck {
        let answers: Vec<(String, Answer)> = answers.into_iter().map(|(n, a)| (n.to_string(), a)).collect();
        judge("boutique.test", &facts(SmtpPreset::Gmail), &answers, spf, dkim)
    }
    fn rec(r: &str) -> Answer {
        Answer::Found(vec![r.into()])
    }

    #[test]
    fn dmarc_verdicts() {
        use Level::*;
        use Passes::*;
        let own = "_dmarc.boutique.test";
        let table: Vec<(&str, Answer, Passes, Passes, Level, &str)> = vec![
            ("none yet", Answer::NoDomain, Yes, Yes, Warning, "deliverability.dmarc.missing"),
            (
                "monitoring only",
                rec("v=DMARC1; p=none; rua=mailto:d@boutique.test"),
                No,
                No,
                Ok,
                "deliverability.dmarc.monitoring",
            ),
            ("reject with DKIM", rec("v=DMARC1; p=reject"), No, Yes, Ok, "deliverability.dmarc.enforced"),
            ("reject with SPF only", rec("v=DMARC1; p=reject"), Yes, No, Warning, "deliverability.dmarc.spf_only"),
            (
                "reject and nothing passes",
                rec("v=DMARC1; p=reject"),
                No,
                No,
                Problem,
                "deliverability.dmarc.will_be_refused",
            ),
            (
                "quarantine and nothing passes",
                rec("v=DMARC1; p=quarantine"),
                No,
                No,
                Problem,
                "deliverability.dmarc.will_be_spam",
            ),
            (
                "reject, DKIM not checked",
                rec("v=DMARC1; p=reject"),
                No,
                Maybe,
                Unknown,
                "deliverability.dmarc.enforced_unverified",
            ),
            ("no answer", Answer::Failed, Yes, Yes, Unknown, "deliverability.dmarc.unknown"),
            ("unreadable", rec("v=DMARC1; p=sometimes"), Yes, Yes, Problem, "deliverability.dmarc.invalid"),
            (
                "two records",
                Answer::Found(vec!["v=DMARC1; p=none".into(), "v=DMARC1; p=reject".into()]),
                Yes,
                Yes,
                Problem,
                "deliverability.dmarc.several",
            ),
            ("another TXT record only", rec("some-verification=1"), Yes, Yes, Warning, "deliverability.dmarc.missing"),
        ];
        for (why, answer, spf, dkim, level, key) in table {
            let c = judge_with(vec![(own, answer)], spf, dkim);
            assert_eq!((c.level, c.said.key.as_str()), (level, key), "{why}");
        }
    }

    #[test]
    fn a_subdomain_follows_its_organisation_and_its_sp_tag() {
        let answers = vec![
            ("_dmarc.news.boutique.test".to_string(), Answer::NoDomain),
            ("_dmarc.boutique.test".to_string(), rec("v=DMARC1; p=none; sp=reject")),
        ];
        let c = judge("news.boutique.test", &facts(SmtpPreset::Gmail), &answers, Passes::No, Passes::No);
        assert_eq!(c.said.key, "deliverability.dmarc.will_be_refused", "sp=reject applies to the subdomain");
        assert_eq!(c.name, "_dmarc.boutique.test", "the record that applies is named");
    }

    #[test]
    fn the_missing_record_comes_with_the_one_to_add() {
        let c = judge_with(vec![("_dmarc.boutique.test", Answer::NoRecord)], Passes::Yes, Passes::No);
        assert_eq!(c.fixes.len(), 1);
        assert_eq!((c.fixes[0].name.as_str(), c.fixes[0].value.as_deref()), ("_dmarc.boutique.test", Some(STARTER)));
    }
}
