//! DKIM: is a signing key published under the provider's selectors (`google._domainkey`,
//! `selector1._domainkey`, `brevo1._domainkey`…)?
//!
//! A key is read by mail-auth, which also checks that it is a whole RSA or Ed25519 key: a key
//! cut in two when pasted into a DNS form (a common mistake with 255-character strings) is
//! reported as damaged, not as fine. A CNAME that points nowhere (Microsoft 365 before DKIM is
//! switched on) is told apart from no record at all.
//!
//! Invariants: pure functions of the DNS answers; a provider whose selectors are per account
//! (OVHcloud) or unknown (a custom server) gets "could not tell, type your selector", never
//! "missing" and never "fine".

use super::dns::Answer;
use super::providers::{brevo_dkim_target, DkimRecord, Facts};
use super::records::{shown, Fix, Passes, RecordCheck, RecordKind};
use super::{Level, Said};
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;

/// What the DNS said under one selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorAnswer {
    pub selector: String,
    pub txt: Answer,
    /// Asked only when no TXT record is there: where the name points.
    pub cname: Option<Answer>,
}

/// The state of one selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Valid(String),
    /// The key cannot be read (cut, mistyped).
    Damaged(String),
    /// `p=` is empty: the provider withdrew it.
    Revoked(String),
    /// A CNAME to a name with no key: not switched on at the provider yet.
    Pointer(String),
    Absent,
    Unanswered,
}

fn read(a: &SelectorAnswer) -> Key {
    match &a.txt {
        Answer::Found(txt) => {
            let Some(rec) = txt.iter().find(|r| {
                let l = r.to_ascii_lowercase();
                l.contains("v=dkim1") || l.contains("p=")
            }) else {
                return Key::Absent;
            };
            match DomainKey::parse(rec.as_bytes()) {
                Ok(_) => Key::Valid(rec.clone()),
                Err(mail_auth::Error::Dkim(mail_auth::dkim::DkimError::RevokedPublicKey)) => Key::Revoked(rec.clone()),
                Err(_) => Key::Damaged(rec.clone()),
            }
        }
        Answer::Failed => Key::Unanswered,
        Answer::NoRecord | Answer::NoDomain => match &a.cname {
            Some(Answer::Found(t)) => Key::Pointer(t.first().cloned().unwrap_or_default()),
            Some(Answer::Failed) => Key::Unanswered,
            _ => Key::Absent,
        },
    }
}

/// The records to add for a provider whose selectors are known.
fn fixes(domain: &str, facts: &Facts) -> Vec<Fix> {
    facts
        .dkim_selectors
        .iter()
        .filter_map(|sel| {
            let name = format!("{sel}._domainkey.{domain}");
            let note = Some(Said::new("deliverability.fix.value_from_provider").arg("provider", facts.name));
            match facts.dkim_record {
                DkimRecord::Brevo => brevo_dkim_target(sel, domain).map(|v| Fix {
                    record_type: Some("CNAME".into()),
                    name,
                    value: Some(v),
                    replaces: false,
                    note: Some(Said::new("deliverability.fix.check_with_provider").arg("provider", facts.name)),
                }),
                DkimRecord::TxtFromProvider => {
                    Some(Fix { record_type: Some("TXT".into()), name, value: None, replaces: false, note })
                }
                DkimRecord::CnameFromProvider => {
                    Some(Fix { record_type: Some("CNAME".into()), name, value: None, replaces: false, note })
                }
                DkimRecord::FromProvider => Some(Fix { record_type: None, name, value: None, replaces: false, note }),
            }
        })
        .collect()
}

/// The DKIM verdict for `domain` and the answers under each selector asked, and whether DKIM
/// makes its mail pass DMARC. `typed` is the selector the merchant gave, if any.
pub fn judge(domain: &str, facts: &Facts, answers: &[SelectorAnswer], typed: Option<&str>) -> (RecordCheck, Passes) {
    let keys: Vec<(String, Key)> = answers.iter().map(|a| (a.selector.clone(), read(a))).collect();
    let name_of = |sel: &str| format!("{sel}._domainkey.{domain}");
    let how = Some(Said::new(facts.dkim_how).arg("provider", facts.name));
    let selectors: Vec<&str> = answers.iter().map(|a| a.selector.as_str()).collect();
    let listed = selectors.join(", ");
    let first =
        |want: fn(&Key) -> Option<&String>| keys.iter().find_map(|(s, k)| want(k).map(|r| (s.clone(), r.clone())));
    if let Some((sel, rec)) = first(|k| if let Key::Valid(r) = k { Some(r) } else { None }) {
        let c = RecordCheck::new(
            RecordKind::Dkim,
            Level::Ok,
            Said::new("deliverability.dkim.ok").arg("selector", &sel),
            &name_of(&sel),
        )
        .found(vec![shown(&rec)]);
        return (c, Passes::Yes);
    }
    if let Some((sel, rec)) = first(|k| if let Key::Damaged(r) = k { Some(r) } else { None }) {
        let c = RecordCheck::new(
            RecordKind::Dkim,
            Level::Problem,
            Said::new("deliverability.dkim.damaged").arg("selector", &sel),
            &name_of(&sel),
        )
        .found(vec![shown(&rec)])
        .how(how);
        return (c, Passes::No);
    }
    let missing_level = if facts.dkim_required { Level::Problem } else { Level::Warning };
    if let Some((sel, target)) = first(|k| if let Key::Pointer(t) = k { Some(t) } else { None }) {
        let said = Said::new("deliverability.dkim.not_switched_on")
            .arg("selector", &sel)
            .arg("target", &target)
            .arg("provider", facts.name);
        let c = RecordCheck::new(RecordKind::Dkim, missing_level, said, &name_of(&sel))
            .found(vec![format!("CNAME {target}")])
            .how(how);
        return (c, Passes::No);
    }
    if keys.iter().any(|(_, k)| *k == Key::Unanswered) {
        let name = name_of(selectors.first().copied().unwrap_or("*"));
        return (
            RecordCheck::new(RecordKind::Dkim, Level::Unknown, Said::new("deliverability.dkim.unknown"), &name),
            Passes::Maybe,
        );
    }
    if let Some((sel, rec)) = first(|k| if let Key::Revoked(r) = k { Some(r) } else { None }) {
        let c = RecordCheck::new(
            RecordKind::Dkim,
            missing_level,
            Said::new("deliverability.dkim.revoked").arg("selector", &sel),
            &name_of(&sel),
        )
        .found(vec![shown(&rec)])
        .how(how);
        return (c, Passes::No);
    }
    // Nothing under any selector asked.
    if facts.dkim_selectors.is_empty() && typed.is_none() {
        let said = if facts.dkim_guesses.is_empty() {
            Said::new("deliverability.dkim.selector_needed").arg("provider", facts.name)
        } else {
            Said::new("deliverability.dkim.not_under_usual_names").arg("selectors", &listed)
        };
        let c = RecordCheck::new(RecordKind::Dkim, Level::Unknown, said, &format!("_domainkey.{domain}")).how(how);
        return (c, Passes::Maybe);
    }
    let mut c = RecordCheck::new(
        RecordKind::Dkim,
        missing_level,
        Said::new("deliverability.dkim.missing").arg("selectors", &listed).arg("provider", facts.name),
        &name_of(selectors.first().copied().unwrap_or("")),
    )
    .how(how);
    c.fixes = fixes(domain, facts);
    (c, Passes::No)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::campaigns::deliverability::providers::facts;
    use crate::campaigns::mail::SmtpPreset;

    /// A real 2048-bit RSA public key (its private half was thrown away).
    pub(crate) const KEY: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA0W6B9ae0VQyWBG/9tRlnq3SJKhxF3InAzrqvdBLolD8COiarqH09k+kPpZ632oEDq0sk+le0jFiGkRblMd8SSWrkOyCxR8wqdQMCKu4tPxPeGupvDMYS1NXslBv/slmLXubfVZjh7M4SFuLnSSy4Yk7A+1xFzi4+o0z1KfzELa7ItiWs4pFSapfZ8p7w5+v5zmkluYX3/d5iRlvE7uRGh7TZAURulFXkehRLwJEc10FDIbDiuJhhhn8fdHxx3Y6c3FnI3+/tDneM//vQh1/8oJFUMvrQtkIFBE71r5FiOfKWR5AsTy9AOd03tqki4b1TpWOfJnO/xEmfRHUnH2wW4wIDAQAB";

    fn at(selector: &str, txt: Answer, cname: Option<Answer>) -> SelectorAnswer {
        SelectorAnswer { selector: selector.into(), txt, cname }
    }
    fn key(k: &str) -> Answer {
        Answer::Found(vec![format!("v=DKIM1; k=rsa; p={k}")])
    }

    /// (why, provider, answers, typed selector, level, sentence, passes)
    type Row = (&'static str, SmtpPreset, Vec<SelectorAnswer>, Option<&'static str>, Level, &'static str, Passes);

    #[test]
    fn dkim_verdicts() {
        use Level::*;
        let cut = &KEY[..200];
        let table: Vec<Row> = vec![
            (
                "a whole key under google",
                SmtpPreset::Gmail,
                vec![at("google", key(KEY), None)],
                None,
                Ok,
                "deliverability.dkim.ok",
                Passes::Yes,
            ),
            (
                "one of Microsoft's two selectors is enough",
                SmtpPreset::Outlook,
                vec![at("selector1", Answer::NoDomain, Some(Answer::NoRecord)), at("selector2", key(KEY), None)],
                None,
                Ok,
                "deliverability.dkim.ok",
                Passes::Yes,
            ),
            (
                "a key cut when pasted",
                SmtpPreset::Gmail,
                vec![at("google", key(cut), None)],
                None,
                Problem,
                "deliverability.dkim.damaged",
                Passes::No,
            ),
            (
                "nothing under google is advice: SPF can still pass",
                SmtpPreset::Gmail,
                vec![at("google", Answer::NoDomain, Some(Answer::NoDomain))],
                None,
                Warning,
                "deliverability.dkim.missing",
                Passes::No,
            ),
            (
                "nothing under Brevo's selectors is a problem: only DKIM can pass there",
                SmtpPreset::Brevo,
                vec![
                    at("brevo1", Answer::NoDomain, Some(Answer::NoDomain)),
                    at("brevo2", Answer::NoDomain, Some(Answer::NoDomain)),
                    at("mail", Answer::NoRecord, Some(Answer::NoRecord)),
                ],
                None,
                Problem,
                "deliverability.dkim.missing",
                Passes::No,
            ),
            (
                "Microsoft's CNAMEs point to nothing yet",
                SmtpPreset::Outlook,
                vec![
                    at(
                        "selector1",
                        Answer::NoDomain,
                        Some(Answer::Found(vec!["selector1-boutique-test._domainkey.boutique.onmicrosoft.com".into()])),
                    ),
                    at("selector2", Answer::NoDomain, Some(Answer::NoDomain)),
                ],
                None,
                Warning,
                "deliverability.dkim.not_switched_on",
                Passes::No,
            ),
            (
                "a withdrawn key",
                SmtpPreset::Mailjet,
                vec![at("mailjet", Answer::Found(vec!["v=DKIM1; p=".into()]), None)],
                None,
                Problem,
                "deliverability.dkim.revoked",
                Passes::No,
            ),
            (
                "no answer",
                SmtpPreset::Gmail,
                vec![at("google", Answer::Failed, None)],
                None,
                Unknown,
                "deliverability.dkim.unknown",
                Passes::Maybe,
            ),
            (
                "OVH selectors are per account",
                SmtpPreset::Ovh,
                vec![],
                None,
                Unknown,
                "deliverability.dkim.selector_needed",
                Passes::Maybe,
            ),
            (
                "a typed OVH selector with its key",
                SmtpPreset::Ovh,
                vec![at("ovhmo1234567-selector1", key(KEY), None)],
                Some("ovhmo1234567-selector1"),
                Ok,
                "deliverability.dkim.ok",
                Passes::Yes,
            ),
            (
                "a typed selector with nothing under it",
                SmtpPreset::Ovh,
                vec![at("ovhmo1-selector1", Answer::NoDomain, Some(Answer::NoDomain))],
                Some("ovhmo1-selector1"),
                Warning,
                "deliverability.dkim.missing",
                Passes::No,
            ),
            (
                "a custom server: nothing under the usual names is not 'missing'",
                SmtpPreset::Custom,
                vec![
                    at("default", Answer::NoDomain, Some(Answer::NoDomain)),
                    at("dkim", Answer::NoDomain, Some(Answer::NoDomain)),
                ],
                None,
                Unknown,
                "deliverability.dkim.not_under_usual_names",
                Passes::Maybe,
            ),
        ];
        for (why, preset, answers, typed, level, k, passes) in table {
            let (c, p) = judge("boutique.test", &facts(preset), &answers, typed);
            assert_eq!((c.level, c.said.key.as_str(), p), (level, k, passes), "{why}");
        }
    }

    #[test]
    fn the_records_to_add_are_named_per_selector() {
        let none = |s: &str| at(s, Answer::NoDomain, Some(Answer::NoDomain));
        let (c, _) =
            judge("boutique.test", &facts(SmtpPreset::Brevo), &[none("brevo1"), none("brevo2"), none("mail")], None);
        let fixes: Vec<_> =
            c.fixes.iter().map(|f| (f.record_type.as_deref(), f.name.as_str(), f.value.as_deref())).collect();
        assert_eq!(
            fixes,
            [
                (Some("CNAME"), "brevo1._domainkey.boutique.test", Some("b1.boutique-test.dkim.brevo.com")),
                (Some("CNAME"), "brevo2._domainkey.boutique.test", Some("b2.boutique-test.dkim.brevo.com")),
            ],
            "Brevo's two CNAMEs, values built from the domain"
        );
        let (c, _) = judge("boutique.test", &facts(SmtpPreset::Gmail), &[none("google")], None);
        assert_eq!(c.fixes.len(), 1);
        assert_eq!(
            (c.fixes[0].record_type.as_deref(), c.fixes[0].name.as_str()),
            (Some("TXT"), "google._domainkey.boutique.test")
        );
        assert_eq!(c.fixes[0].value, None, "Google generates the key: its value comes from the Admin console");
        assert!(c.how.is_some(), "where to switch DKIM on is said");
    }
}
