//! SPF: does the sender domain's SPF record authorise the provider's servers?
//!
//! The record is parsed by mail-auth. Its `include:` and `redirect=` names are followed (the
//! answers are fetched by `domain`), so a provider included through the domain's own
//! `_spf` record is found too, the 10-look-up limit of RFC 7208 is counted, and an include of a
//! name without SPF (a typo) is reported.
//!
//! Invariants: pure functions of the DNS answers; the suggested record keeps everything the
//! merchant already has and only adds the provider's entry (and turns a `+all`, which lets
//! anyone send as the shop, into `~all`); there is only ever one SPF record to publish.

use super::dns::Answer;
use super::providers::Facts;
use super::records::{Fix, Passes, RecordCheck, RecordKind};
use super::{Level, Said};
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::spf::{Macro, Mechanism, Qualifier, Spf};
use std::collections::{BTreeSet, HashMap};

/// Receivers stop after this many DNS-querying terms (RFC 7208, 4.6.4).
pub const MAX_LOOKUPS: usize = 10;

/// The SPF records among a name's TXT records.
pub fn spf_records(txt: &[String]) -> Vec<&str> {
    txt.iter()
        .map(|r| r.trim())
        .filter(|r| {
            let l = r.to_ascii_lowercase();
            l == "v=spf1" || l.starts_with("v=spf1 ")
        })
        .collect()
}

/// One SPF record, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Names it sends the receiver to (`include:`, `redirect=`), lower-cased.
    pub targets: Vec<String>,
    /// Its DNS-querying terms (include, a, mx, ptr, exists, redirect).
    pub lookups: usize,
    /// `+all` (or a bare `all`): any server in the world may send as the domain.
    pub pass_all: bool,
}

fn literal(m: &Macro) -> Option<String> {
    match m {
        Macro::Literal(b) => Some(String::from_utf8_lossy(b).trim_end_matches('.').to_ascii_lowercase()),
        _ => None,
    }
}

pub fn parse(record: &str) -> Option<Parsed> {
    let spf = Spf::parse(record.as_bytes()).ok()?;
    let mut p = Parsed { targets: Vec::new(), lookups: 0, pass_all: false };
    for d in spf.directives.iter() {
        match &d.mechanism {
            Mechanism::Include { macro_string } => {
                p.lookups += 1;
                p.targets.extend(literal(macro_string));
            }
            Mechanism::A { .. } | Mechanism::Mx { .. } | Mechanism::Ptr { .. } | Mechanism::Exists { .. } => {
                p.lookups += 1
            }
            Mechanism::All => p.pass_all |= d.qualifier == Qualifier::Pass,
            Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. } => {}
        }
    }
    if let Some(r) = &spf.redirect {
        p.lookups += 1;
        p.targets.extend(literal(r));
    }
    Some(p)
}

/// What following a record's includes found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Walk {
    /// Every name included or redirected to, at any depth.
    pub names: BTreeSet<String>,
    /// DNS-querying terms over the whole tree.
    pub lookups: usize,
    /// Every included record could be read.
    pub complete: bool,
    /// Included names that publish no SPF record (an error at the receiver).
    pub dangling: Vec<String>,
}

/// Follow `top`'s includes through the fetched answers.
pub fn walk(top: &Parsed, fetched: &HashMap<String, Answer>) -> Walk {
    fn go(p: &Parsed, fetched: &HashMap<String, Answer>, depth: usize, seen: &mut BTreeSet<String>, w: &mut Walk) {
        w.lookups += p.lookups;
        for t in &p.targets {
            w.names.insert(t.clone());
            if !seen.insert(t.clone()) || depth >= MAX_LOOKUPS {
                continue;
            }
            match fetched.get(t) {
                Some(Answer::Found(txt)) => match spf_records(txt).as_slice() {
                    [one] => match parse(one) {
                        Some(child) => go(&child, fetched, depth + 1, seen, w),
                        None => w.dangling.push(t.clone()),
                    },
                    [] => w.dangling.push(t.clone()),
                    _ => w.dangling.push(t.clone()),
                },
                Some(Answer::NoRecord) | Some(Answer::NoDomain) => w.dangling.push(t.clone()),
                Some(Answer::Failed) | None => w.complete = false,
            }
        }
    }
    let mut w = Walk { complete: true, ..Walk::default() };
    go(top, fetched, 0, &mut BTreeSet::new(), &mut w);
    w
}

fn is_all(term: &str) -> bool {
    matches!(term.to_ascii_lowercase().as_str(), "all" | "+all" | "-all" | "~all" | "?all")
}

/// The record to publish instead of `record`: the same, with `include` added before its final
/// `all` (or `redirect=`), and a `+all` made `~all`.
pub fn with_include(record: &str, include: Option<&str>) -> String {
    let mut terms: Vec<String> =
        record
            .split_whitespace()
            .map(|t| {
                if matches!(t.to_ascii_lowercase().as_str(), "all" | "+all") {
                    "~all".to_string()
                } else {
                    t.to_string()
                }
            })
            .collect();
    if let Some(inc) = include {
        let entry = format!("include:{inc}");
        if !terms.iter().any(|t| t.eq_ignore_ascii_case(&entry)) {
            let at = terms
                .iter()
                .position(|t| is_all(t) || t.to_ascii_lowercase().starts_with("redirect="))
                .unwrap_or(terms.len());
            terms.insert(at, entry);
        }
    }
    terms.join(" ")
}

/// Several SPF records merged into one (receivers treat two as an error).
pub fn merged(records: &[&str], include: Option<&str>) -> String {
    let mut terms: Vec<String> = Vec::new();
    for r in records {
        for t in r.split_whitespace().skip(1) {
            let l = t.to_ascii_lowercase();
            if is_all(t) || l.starts_with("redirect=") || terms.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                continue;
            }
            terms.push(t.to_string());
        }
    }
    let mut out = String::from("v=spf1");
    for t in &terms {
        out.push(' ');
        out.push_str(t);
    }
    out.push_str(" ~all");
    with_include(&out, include)
}

/// The SPF verdict for `domain` sending through the provider of `facts`, and whether SPF can
/// make its mail pass DMARC.
pub fn judge(domain: &str, facts: &Facts, answer: &Answer, fetched: &HashMap<String, Answer>) -> (RecordCheck, Passes) {
    let include = facts.spf_includes.first().copied();
    let provider = facts.name;
    let check = |level, said| RecordCheck::new(RecordKind::Spf, level, said, domain);
    // Through Brevo or Mailjet the envelope sender is theirs: SPF never counts for DMARC there.
    let cap = |p: Passes| if facts.spf_counts_for_dmarc { p } else { Passes::No };
    let weight = if facts.spf_counts_for_dmarc && include.is_some() { Level::Problem } else { Level::Warning };
    let txt = match answer {
        Answer::Failed => return (check(Level::Unknown, Said::new("deliverability.spf.unknown")), cap(Passes::Maybe)),
        Answer::NoDomain => {
            return (
                check(Level::Problem, Said::new("deliverability.domain.nxdomain").arg("domain", domain)),
                Passes::No,
            )
        }
        Answer::NoRecord => &[][..],
        Answer::Found(txt) => txt.as_slice(),
    };
    let records = spf_records(txt);
    let found: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    let Some(record) = (match records.as_slice() {
        [one] => Some(*one),
        _ => None,
    }) else {
        if records.is_empty() {
            let said = match include {
                Some(inc) => Said::new("deliverability.spf.missing").arg("provider", provider).arg("include", inc),
                None => Said::new("deliverability.spf.missing_unknown_provider"),
            };
            let mut c = check(weight, said);
            if let Some(inc) = include {
                c = c.fix(Fix::txt(domain, format!("v=spf1 include:{inc} ~all"), false));
            }
            return (c, Passes::No);
        }
        let c = check(Level::Problem, Said::new("deliverability.spf.several").arg("count", records.len()))
            .found(found)
            .fix(Fix::txt(domain, merged(&records, include), true));
        return (c, Passes::No);
    };
    let Some(parsed) = parse(record) else {
        let mut c = check(Level::Problem, Said::new("deliverability.spf.invalid")).found(found);
        if let Some(inc) = include {
            c = c.fix(Fix::txt(domain, format!("v=spf1 include:{inc} ~all"), true));
        }
        return (c, Passes::No);
    };
    let w = walk(&parsed, fetched);
    let mut problems: Vec<(Level, Said)> = Vec::new();
    if parsed.pass_all {
        problems.push((Level::Problem, Said::new("deliverability.spf.pass_all")));
    }
    if w.complete && w.lookups > MAX_LOOKUPS {
        problems.push((Level::Problem, Said::new("deliverability.spf.too_many_lookups").arg("count", w.lookups)));
    }
    for d in &w.dangling {
        problems.push((Level::Problem, Said::new("deliverability.spf.include_missing").arg("include", d)));
    }
    let authorised = facts.spf_includes.iter().any(|inc| w.names.contains(*inc));
    let (verdict, passes) = match include {
        None => ((Level::Ok, Said::new("deliverability.spf.present")), Passes::Maybe),
        Some(_) if authorised => {
            ((Level::Ok, Said::new("deliverability.spf.ok").arg("provider", provider)), Passes::Yes)
        }
        Some(_) if !w.complete => (
            (Level::Unknown, Said::new("deliverability.spf.partly_unchecked").arg("provider", provider)),
            Passes::Maybe,
        ),
        Some(inc) => (
            (weight, Said::new("deliverability.spf.provider_missing").arg("provider", provider).arg("include", inc)),
            Passes::No,
        ),
    };
    let needs_include = include.filter(|_| !authorised && w.complete);
    problems.push(verdict);
    problems.sort_by_key(|(l, _)| std::cmp::Reverse(*l));
    let mut it = problems.into_iter();
    let (level, said) = it.next().expect("a verdict is always there");
    let mut c = check(level, said).found(found);
    c.more = it.map(|(_, s)| s).collect();
    if parsed.pass_all || needs_include.is_some() {
        c = c.fix(Fix::txt(domain, with_include(record, needs_include), true));
    }
    let passes = if parsed.pass_all || !w.dangling.is_empty() || (w.complete && w.lookups > MAX_LOOKUPS) {
        // A receiver stops at an error: nothing passes.
        Passes::No
    } else {
        passes
    };
    (c, cap(passes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaigns::deliverability::providers::facts;
    use crate::campaigns::mail::SmtpPreset;

    fn found(s: &[&str]) -> Answer {
        Answer::Found(s.iter().map(|x| x.to_string()).collect())
    }

    #[test]
    fn a_record_is_read_for_its_includes_lookups_and_all() {
        let p = parse("v=spf1 include:_spf.Google.com mx a:mail.example.com ip4:192.0.2.1 redirect=_spf.example.com")
            .unwrap();
        assert_eq!(p.targets, ["_spf.google.com", "_spf.example.com"], "includes and redirect, lower-cased");
        assert_eq!(p.lookups, 4, "include, mx, a and redirect query the DNS; ip4 does not");
        assert!(!p.pass_all);
        assert!(parse("v=spf1 +all").unwrap().pass_all, "+all lets anyone send");
        assert!(parse("v=spf1 all").unwrap().pass_all, "a bare all is +all");
        assert!(!parse("v=spf1 -all").unwrap().pass_all);
        assert!(parse("v=spf1 include:").is_none(), "a broken record does not parse");
    }

    #[test]
    fn the_suggested_record_keeps_what_is_there_and_adds_the_provider() {
        let table = [
            (
                "v=spf1 include:mx.ovh.com ~all",
                Some("_spf.google.com"),
                "v=spf1 include:mx.ovh.com include:_spf.google.com ~all",
            ),
            ("v=spf1 mx -all", Some("spf.protection.outlook.com"), "v=spf1 mx include:spf.protection.outlook.com -all"),
            (
                "v=spf1 a redirect=_spf.x.test",
                Some("spf.brevo.com"),
                "v=spf1 a include:spf.brevo.com redirect=_spf.x.test",
            ),
            ("v=spf1 mx", Some("mx.ovh.com"), "v=spf1 mx include:mx.ovh.com"),
            ("v=spf1 include:_spf.google.com +all", None, "v=spf1 include:_spf.google.com ~all"),
            ("v=spf1 INCLUDE:_spf.google.com ~all", Some("_spf.google.com"), "v=spf1 INCLUDE:_spf.google.com ~all"),
        ];
        for (record, include, want) in table {
            assert_eq!(with_include(record, include), want, "{record} + {include:?}");
        }
        assert_eq!(
            merged(
                &["v=spf1 include:mx.ovh.com ~all", "v=spf1 ip4:192.0.2.1 include:mx.ovh.com -all"],
                Some("_spf.google.com")
            ),
            "v=spf1 include:mx.ovh.com ip4:192.0.2.1 include:_spf.google.com ~all",
            "two records become one, each entry once"
        );
    }

    fn judge_for(preset: SmtpPreset, answer: Answer, fetched: &[(&str, Answer)]) -> (RecordCheck, Passes) {
        let map = fetched.iter().map(|(n, a)| (n.to_string(), a.clone())).collect();
        judge("boutique.test", &facts(preset), &answer, &map)
    }

    /// (why, provider, answer, included answers, level, sentence, passes)
    type Row = (&'static str, SmtpPreset, Answer, Vec<(&'static str, Answer)>, Level, &'static str, Passes);

    #[test]
    fn spf_verdicts() {
        use Level::*;
        let google = || found(&["v=spf1 include:_spf.google.com ~all"]);
        let table: Vec<Row> = vec![
            ("the provider is included", SmtpPreset::Gmail, google(), vec![], Ok, "deliverability.spf.ok", Passes::Yes),
            (
                "included through the domain's own _spf record",
                SmtpPreset::Outlook,
                found(&["v=spf1 include:_spf.boutique.test -all", "google-site-verification=abc"]),
                vec![("_spf.boutique.test", found(&["v=spf1 include:spf.protection.outlook.com -all"]))],
                Ok,
                "deliverability.spf.ok",
                Passes::Yes,
            ),
            (
                "another provider only",
                SmtpPreset::Gmail,
                found(&["v=spf1 include:mx.ovh.com ~all"]),
                vec![("mx.ovh.com", found(&["v=spf1 ip4:192.0.2.0/24 ~all"]))],
                Problem,
                "deliverability.spf.provider_missing",
                Passes::No,
            ),
            (
                "no SPF at all",
                SmtpPreset::Gmail,
                Answer::NoRecord,
                vec![],
                Problem,
                "deliverability.spf.missing",
                Passes::No,
            ),
            (
                "no SPF through Brevo is advice: DKIM is what counts there",
                SmtpPreset::Brevo,
                found(&["some-verification=1"]),
                vec![],
                Warning,
                "deliverability.spf.missing",
                Passes::No,
            ),
            (
                "two SPF records",
                SmtpPreset::Gmail,
                found(&["v=spf1 include:_spf.google.com ~all", "v=spf1 mx -all"]),
                vec![],
                Problem,
                "deliverability.spf.several",
                Passes::No,
            ),
            (
                "+all",
                SmtpPreset::Gmail,
                found(&["v=spf1 include:_spf.google.com +all"]),
                vec![],
                Problem,
                "deliverability.spf.pass_all",
                Passes::No,
            ),
            (
                "an include of a name without SPF",
                SmtpPreset::Gmail,
                found(&["v=spf1 include:_spf.google.com include:_spf.gogle.test ~all"]),
                vec![("_spf.gogle.test", Answer::NoDomain)],
                Problem,
                "deliverability.spf.include_missing",
                Passes::No,
            ),
            (
                "an include that could not be read leaves it unchecked",
                SmtpPreset::Gmail,
                found(&["v=spf1 include:_spf.boutique.test ~all"]),
                vec![("_spf.boutique.test", Answer::Failed)],
                Unknown,
                "deliverability.spf.partly_unchecked",
                Passes::Maybe,
            ),
            (
                "no answer",
                SmtpPreset::Gmail,
                Answer::Failed,
                vec![],
                Unknown,
                "deliverability.spf.unknown",
                Passes::Maybe,
            ),
            (
                "no such domain",
                SmtpPreset::Gmail,
                Answer::NoDomain,
                vec![],
                Problem,
                "deliverability.domain.nxdomain",
                Passes::No,
            ),
            (
                "a provider Comptoir does not know",
                SmtpPreset::Custom,
                found(&["v=spf1 mx ~all"]),
                vec![],
                Ok,
                "deliverability.spf.present",
                Passes::Maybe,
            ),
            (
                "broken",
                SmtpPreset::Gmail,
                found(&["v=spf1 include:"]),
                vec![],
                Problem,
                "deliverability.spf.invalid",
                Passes::No,
            ),
        ];
        for (why, preset, answer, fetched, level, key, passes) in table {
            let (c, p) = judge_for(preset, answer, &fetched);
            assert_eq!((c.level, c.said.key.as_str(), p), (level, key, passes), "{why}");
        }
    }

    #[test]
    fn too_many_lookups_is_an_error_at_the_receiver() {
        let top = format!(
            "v=spf1 include:_spf.google.com {} ~all",
            (0..10).map(|i| format!("a:h{i}.test")).collect::<Vec<_>>().join(" ")
        );
        let (c, p) =
            judge_for(SmtpPreset::Gmail, found(&[&top]), &[("_spf.google.com", found(&["v=spf1 ip4:192.0.2.1 ~all"]))]);
        assert_eq!(c.level, Level::Problem, "11 look-ups exceed the limit of 10");
        assert_eq!(c.said.key, "deliverability.spf.too_many_lookups");
        assert_eq!(c.said.get("count"), Some("11"));
        assert_eq!(p, Passes::No, "a receiver stops at the error");
    }

    #[test]
    fn the_fix_is_the_whole_record_to_publish_in_place_of_the_old_one() {
        let (c, _) = judge_for(
            SmtpPreset::Gmail,
            found(&["v=spf1 include:mx.ovh.com ~all"]),
            &[("mx.ovh.com", found(&["v=spf1 ~all"]))],
        );
        let fix = &c.fixes[0];
        assert_eq!(fix.record_type.as_deref(), Some("TXT"));
        assert_eq!(fix.name, "boutique.test");
        assert_eq!(fix.value.as_deref(), Some("v=spf1 include:mx.ovh.com include:_spf.google.com ~all"));
        assert!(fix.replaces, "one SPF record only: it replaces the one there");
        let (c, _) = judge_for(SmtpPreset::Outlook, Answer::NoRecord, &[]);
        assert_eq!(c.fixes[0].value.as_deref(), Some("v=spf1 include:spf.protection.outlook.com ~all"));
        assert!(!c.fixes[0].replaces, "nothing to replace");
        let (c, _) = judge_for(SmtpPreset::Gmail, found(&["v=spf1 include:_spf.google.com ~all"]), &[]);
        assert!(c.fixes.is_empty(), "nothing to change when it is right");
    }
}
