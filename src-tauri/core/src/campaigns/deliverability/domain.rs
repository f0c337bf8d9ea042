//! The sender domain check: SPF, DKIM and DMARC of the From address's domain for the provider
//! chosen in the sending settings, each with its state, its explanation and the records to ask
//! the domain's host to add. A free-mail address gets the free-mail verdict instead (its
//! records are its provider's), and the Outlook / Microsoft 365 preset its notice about
//! password sign-in.
//!
//! Invariants: the DNS is asked in two rounds of concurrent questions (SPF, DKIM selectors and
//! the DMARC tree; then SPF includes and DKIM CNAMEs), never while the database is locked; with
//! no answers the report is "could not check" (`Level::Unknown`), never "fine", and it never
//! blocks sending by itself.

use super::dkim::{self, SelectorAnswer};
use super::dns::{self, Answer, Dns, NameServers};
use super::providers::{self, Facts};
use super::records::{RecordCheck, RecordKind};
use super::{dmarc, freemail, spf, Level, Said};
use crate::campaigns::mail::{domain_of, valid_email, MailSettings, SmtpPreset};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use ts_rs::TS;

/// A remark on the whole setup (free-mail address, Microsoft's password sign-in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Note {
    pub level: Level,
    pub said: Said,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DomainReport {
    /// The From address's domain, lower-cased.
    pub domain: String,
    /// The provider as the merchant knows it (empty for a custom server).
    pub provider: String,
    /// The worst state of the checks and notes.
    pub level: Level,
    /// SPF, DKIM, DMARC (none for a free-mail address).
    pub checks: Vec<RecordCheck>,
    pub notes: Vec<Note>,
    /// No DNS question got an answer (offline, or a server that does not answer).
    pub offline: bool,
}

/// What the DNS said, gathered for judging.
#[derive(Debug, Clone, Default)]
pub struct Gathered {
    pub spf: Option<Answer>,
    /// SPF records of the names included, by name.
    pub spf_tree: HashMap<String, Answer>,
    pub dkim: Vec<SelectorAnswer>,
    /// `_dmarc` names from the domain up, in order.
    pub dmarc: Vec<(String, Answer)>,
}

impl Gathered {
    /// Not one question was answered.
    pub fn unanswered(&self) -> bool {
        self.spf.as_ref().is_none_or(|a| *a == Answer::Failed)
            && self.dkim.iter().all(|d| d.txt == Answer::Failed)
            && self.dmarc.iter().all(|(_, a)| *a == Answer::Failed)
    }
}

/// At most this many included SPF records are fetched.
const SPF_FETCHES: usize = 12;

async fn follow_spf(dns: &Dns, top: &Answer) -> HashMap<String, Answer> {
    let mut fetched: HashMap<String, Answer> = HashMap::new();
    let Some(top) = (match spf::spf_records(top.records()).as_slice() {
        [one] => spf::parse(one),
        _ => None,
    }) else {
        return fetched;
    };
    let mut frontier = top.targets;
    for _depth in 0..4 {
        let ask: Vec<String> = frontier
            .iter()
            .filter(|n| !fetched.contains_key(*n))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .take(SPF_FETCHES.saturating_sub(fetched.len()))
            .collect();
        if ask.is_empty() {
            break;
        }
        let answers = dns.txt_many(&ask).await;
        frontier = Vec::new();
        for (name, a) in ask.into_iter().zip(answers) {
            if let [one] = spf::spf_records(a.records()).as_slice() {
                frontier.extend(spf::parse(one).map(|p| p.targets).unwrap_or_default());
            }
            fetched.insert(name, a);
        }
    }
    fetched
}

/// Ask the DNS everything the check needs about `domain`.
pub async fn gather(dns: &Dns, domain: &str, selectors: &[String]) -> Gathered {
    let dkim_names: Vec<String> = selectors.iter().map(|s| format!("{s}._domainkey.{domain}")).collect();
    let dmarc_names = dmarc::names(domain);
    let mut names = vec![domain.to_string()];
    names.extend(dkim_names.iter().cloned());
    names.extend(dmarc_names.iter().cloned());
    let mut first = dns.txt_many(&names).await.into_iter();
    let spf_answer = first.next().unwrap_or(Answer::Failed);
    let dkim_txt: Vec<Answer> = first.by_ref().take(dkim_names.len()).collect();
    let dmarc: Vec<(String, Answer)> = dmarc_names.into_iter().zip(first).collect();
    let mut g = Gathered { spf: Some(spf_answer.clone()), dmarc, ..Gathered::default() };
    let offline = spf_answer == Answer::Failed && dkim_txt.iter().all(|a| *a == Answer::Failed);
    if offline || spf_answer == Answer::NoDomain {
        g.dkim = selectors
            .iter()
            .zip(dkim_txt)
            .map(|(s, txt)| SelectorAnswer { selector: s.clone(), txt, cname: None })
            .collect();
        return g;
    }
    let pointers: Vec<usize> = dkim_txt
        .iter()
        .enumerate()
        .filter(|(_, a)| matches!(a, Answer::NoRecord | Answer::NoDomain))
        .map(|(i, _)| i)
        .collect();
    let pointer_names: Vec<String> = pointers.iter().map(|i| dkim_names[*i].clone()).collect();
    let (cnames, tree) = tokio::join!(dns.cname_many(&pointer_names), follow_spf(dns, &spf_answer));
    let mut cnames: HashMap<usize, Answer> = pointers.into_iter().zip(cnames).collect();
    g.dkim = selectors
        .iter()
        .zip(dkim_txt)
        .enumerate()
        .map(|(i, (s, txt))| SelectorAnswer { selector: s.clone(), txt, cname: cnames.remove(&i) })
        .collect();
    g.spf_tree = tree;
    g
}

/// The selectors to ask: the provider's, the one the merchant typed, or the usual names when
/// the provider is unknown.
pub fn selectors(facts: &Facts, typed: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = facts.dkim_selectors.iter().map(|s| s.to_string()).collect();
    match typed {
        Some(t) if !out.iter().any(|s| s.eq_ignore_ascii_case(t)) => out.insert(0, t.to_string()),
        Some(_) => {}
        None if out.is_empty() => out.extend(facts.dkim_guesses.iter().map(|s| s.to_string())),
        None => {}
    }
    out
}

/// Judge what was gathered (pure).
pub fn judge(domain: &str, facts: &Facts, g: &Gathered, typed: Option<&str>) -> Vec<RecordCheck> {
    let spf_answer = g.spf.clone().unwrap_or(Answer::Failed);
    if spf_answer == Answer::NoDomain {
        let said = Said::new("deliverability.domain.nxdomain").arg("domain", domain);
        return [RecordKind::Spf, RecordKind::Dkim, RecordKind::Dmarc]
            .into_iter()
            .map(|k| RecordCheck::new(k, Level::Problem, said.clone(), domain))
            .collect();
    }
    let (spf_check, spf_passes) = spf::judge(domain, facts, &spf_answer, &g.spf_tree);
    let (dkim_check, dkim_passes) = dkim::judge(domain, facts, &g.dkim, typed);
    let dmarc_check = dmarc::judge(domain, facts, &g.dmarc, spf_passes, dkim_passes);
    vec![spf_check, dkim_check, dmarc_check]
}

/// Notes that do not need the DNS: a free-mail address, Microsoft's password sign-in.
fn notes(mail: &MailSettings, domain: &str) -> Vec<Note> {
    let mut out = Vec::new();
    if let Some(fm) = freemail::provider_of(domain) {
        match freemail::refusal(mail) {
            Some(r) => out.push(Note {
                level: Level::Problem,
                said: Said::new("deliverability.freemail.other_server")
                    .arg("domain", &r.domain)
                    .arg("provider", r.provider),
            }),
            None => out.push(Note {
                level: Level::Warning,
                said: Said::new("deliverability.freemail.own").arg("provider", &fm.name),
            }),
        }
        if fm.name == freemail::MICROSOFT {
            out.push(Note { level: Level::Warning, said: Said::new("deliverability.outlook.personal") });
        }
    }
    if mail.smtp.preset == SmtpPreset::Outlook {
        out.push(Note { level: Level::Warning, said: Said::new("deliverability.outlook.basic_auth") });
    }
    out
}

/// Check the sender domain of these settings (saved or still on screen), asking `servers`.
/// `selector` is the DKIM selector the merchant typed, if any.
pub fn check_domain(mail: &MailSettings, selector: Option<&str>, servers: &NameServers) -> Result<DomainReport> {
    let email = mail.sender_email.trim();
    if email.is_empty() {
        return Err(Error::invalid("sender_email", "field.required"));
    }
    if !valid_email(email) {
        return Err(Error::invalid("sender_email", "field.email_invalid"));
    }
    let typed = selector.map(str::trim).filter(|s| !s.is_empty());
    if typed.is_some_and(|s| !providers::valid_selector(s)) {
        return Err(Error::invalid("selector", "field.selector_invalid"));
    }
    let domain = domain_of(email).trim_end_matches('.').to_ascii_lowercase();
    let facts = providers::facts(mail.smtp.preset);
    let notes = notes(mail, &domain);
    let (checks, offline) = if freemail::provider_of(&domain).is_some() {
        // The provider publishes the records of its own domain; nothing for the merchant to add.
        (Vec::new(), false)
    } else {
        let asked = selectors(&facts, typed);
        let gathered = dns::run(async {
            let dns = Dns::new(servers);
            gather(&dns, &domain, &asked).await
        });
        (judge(&domain, &facts, &gathered, typed), gathered.unanswered())
    };
    let level = Level::worst(checks.iter().map(|c| c.level).chain(notes.iter().map(|n| n.level)));
    Ok(DomainReport { domain, provider: facts.name.to_string(), level, checks, notes, offline })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaigns::mail::Delivery;

    fn settings(from: &str, preset: SmtpPreset, host: &str) -> MailSettings {
        let mut m = MailSettings { sender_email: from.into(), delivery: Delivery::Smtp, ..MailSettings::default() };
        m.smtp.preset = preset;
        m.smtp.host = host.into();
        m
    }

    #[test]
    fn a_free_mail_address_gets_the_free_mail_verdict_without_asking_the_dns() {
        let r = check_domain(
            &settings("boutique@gmail.com", SmtpPreset::Brevo, "smtp-relay.brevo.com"),
            None,
            &NameServers::System,
        )
        .unwrap();
        assert!(r.checks.is_empty(), "gmail.com's records are Google's");
        assert_eq!(r.level, Level::Problem, "a Gmail address through Brevo is refused");
        assert_eq!(r.notes[0].said.key, "deliverability.freemail.other_server");
        let r = check_domain(
            &settings("boutique@gmail.com", SmtpPreset::Gmail, "smtp.gmail.com"),
            None,
            &NameServers::System,
        )
        .unwrap();
        assert_eq!(r.level, Level::Warning, "through Gmail itself it works, with advice to use a domain of one's own");
    }

    #[test]
    fn the_outlook_preset_carries_the_password_sign_in_notice() {
        let r = check_domain(
            &settings("lea@hotmail.fr", SmtpPreset::Outlook, "smtp-mail.outlook.com"),
            None,
            &NameServers::System,
        )
        .unwrap();
        let keys: Vec<_> = r.notes.iter().map(|n| n.said.key.as_str()).collect();
        assert!(keys.contains(&"deliverability.outlook.basic_auth"), "{keys:?}");
        assert!(
            keys.contains(&"deliverability.outlook.personal"),
            "a personal Outlook.com address is told so: {keys:?}"
        );
    }

    #[test]
    fn bad_input_is_refused_before_any_question() {
        let m = settings("not an address", SmtpPreset::Gmail, "smtp.gmail.com");
        assert!(matches!(check_domain(&m, None, &NameServers::System), Err(Error::Validation(_))));
        let m = settings("lea@boutique.test", SmtpPreset::Ovh, "ssl0.ovh.net");
        assert!(
            matches!(check_domain(&m, Some("a b;"), &NameServers::System), Err(Error::Validation(_))),
            "a selector is a DNS label"
        );
    }

    #[test]
    fn the_selectors_asked_depend_on_the_provider() {
        use providers::facts;
        assert_eq!(selectors(&facts(SmtpPreset::Outlook), None), ["selector1", "selector2"]);
        assert_eq!(selectors(&facts(SmtpPreset::Ovh), Some("ovhmo42-selector1")), ["ovhmo42-selector1"]);
        assert_eq!(selectors(&facts(SmtpPreset::Ovh), None), Vec::<String>::new(), "OVH's are per account");
        assert!(
            selectors(&facts(SmtpPreset::Custom), None).contains(&"default".to_string()),
            "the usual names for a custom server"
        );
        assert_eq!(selectors(&facts(SmtpPreset::Gmail), Some("google")), ["google"], "not asked twice");
    }
}
