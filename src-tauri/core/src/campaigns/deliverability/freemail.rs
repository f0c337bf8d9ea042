//! The free-mail rule: an address at a free-mail provider (gmail.com, outlook.fr, orange.fr,
//! videotron.ca…) may only send through that provider's own server. Those providers publish a
//! DMARC policy that tells receivers to refuse or file as spam any message "from" them that
//! their servers did not send, so a newsletter from `boutique@gmail.com` sent through Brevo or
//! OVH lands in spam or is refused outright.
//!
//! Invariants: the rule is pure (the address and the SMTP server name, nothing else); it only
//! concerns SMTP delivery (`.eml` files never leave the computer); it is checked when the
//! settings are saved, when a campaign starts and where every transport is built. The list is
//! shipped with the app (`assets/freemail.json`); `name.*` stands for that name under a country or `.com`
//! ending (`hotmail.fr`, `hotmail.co.uk`), never for a longer domain (`live.shop` is not Live).

use crate::campaigns::mail::{domain_of, is_loopback, Delivery, MailSettings};
use serde::Deserialize;
use std::sync::OnceLock;

/// A free-mail provider: its address domains and the SMTP servers that may send for them.
#[derive(Debug, Deserialize)]
pub struct FreeMail {
    /// As the merchant knows it.
    pub name: String,
    domains: Vec<String>,
    /// Server names (or their parent domains) that belong to the provider.
    servers: Vec<String>,
    /// The provider's own bridge runs on this computer (Proton Mail Bridge).
    #[serde(default)]
    local_bridge: bool,
}

/// Microsoft's free addresses (Outlook.com, Hotmail, Live), which have their own sign-in notice.
pub const MICROSOFT: &str = "Outlook.com / Hotmail";

/// The shipped list (`assets/freemail.json`: France and Québec first, then the international
/// providers), read once.
pub fn providers() -> &'static [FreeMail] {
    static LIST: OnceLock<Vec<FreeMail>> = OnceLock::new();
    LIST.get_or_init(|| {
        serde_json::from_str(include_str!("../../../../../assets/freemail.json"))
            .expect("assets/freemail.json is a valid list (checked by a test)")
    })
}

/// `name.*`: the name under `.com`/`.net`/`.org`, a two-letter country, or `co.`/`com.` and a
/// country (`hotmail.fr`, `yahoo.co.uk`, `yahoo.com.br`).
fn matches(pattern: &str, domain: &str) -> bool {
    let Some(stem) = pattern.strip_suffix(".*") else { return pattern == domain };
    let Some(rest) = domain.strip_prefix(stem).and_then(|r| r.strip_prefix('.')) else { return false };
    let country = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_lowercase());
    match rest.split_once('.') {
        None => matches!(rest, "com" | "net" | "org") || country(rest),
        Some((second, cc)) => matches!(second, "co" | "com") && country(cc),
    }
}

/// The free-mail provider of an address's domain, if it is one.
pub fn provider_of(domain: &str) -> Option<&'static FreeMail> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    providers().iter().find(|p| p.domains.iter().any(|pat| matches(pat, &d)))
}

impl FreeMail {
    /// Whether `host` is one of this provider's servers.
    pub fn owns_server(&self, host: &str) -> bool {
        let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
        if self.local_bridge && is_loopback(&h) {
            return true;
        }
        self.servers.iter().any(|own| h == *own || h.ends_with(&format!(".{own}")))
    }
}

/// Why these settings may not send: a free-mail address through another provider's server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub domain: String,
    pub provider: &'static str,
}

/// The free-mail rule on sending settings (pure).
pub fn refusal(mail: &MailSettings) -> Option<Refusal> {
    if mail.delivery != Delivery::Smtp {
        return None;
    }
    let domain = domain_of(mail.sender_email.trim()).trim().to_ascii_lowercase();
    let provider = provider_of(&domain)?;
    (!provider.owns_server(&mail.smtp.host)).then(|| Refusal { domain, provider: &provider.name })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaigns::mail::{SmtpPreset, TlsMode};

    fn settings(from: &str, host: &str) -> MailSettings {
        let mut m = MailSettings { sender_email: from.into(), delivery: Delivery::Smtp, ..MailSettings::default() };
        m.smtp.preset = SmtpPreset::Custom;
        m.smtp.host = host.into();
        m.smtp.tls = TlsMode::StartTls;
        m
    }

    #[test]
    fn a_free_mail_address_sends_only_through_its_own_provider() {
        let table: &[(&str, &str, Option<&str>, &str)] = &[
            ("boutique@gmail.com", "smtp.gmail.com", None, "Gmail through Gmail"),
            ("boutique@googlemail.com", "smtp.gmail.com", None, "googlemail is Gmail"),
            ("boutique@gmail.com", "smtp-relay.brevo.com", Some("Gmail"), "Gmail through Brevo"),
            ("boutique@GMAIL.com", "ssl0.ovh.net", Some("Gmail"), "case does not matter"),
            ("lea@hotmail.fr", "smtp-mail.outlook.com", None, "Hotmail through Outlook.com"),
            ("lea@hotmail.co.uk", "smtp.office365.com", None, "hotmail.co.uk is Hotmail"),
            ("lea@outlook.fr", "in-v3.mailjet.com", Some("Outlook.com / Hotmail"), "outlook.fr through Mailjet"),
            ("lea@live.ca", "smtp.gmail.com", Some("Outlook.com / Hotmail"), "live.ca through Gmail"),
            ("lea@orange.fr", "smtp.orange.fr", None, "Orange through Orange"),
            ("lea@wanadoo.fr", "smtp.orange.fr", None, "wanadoo is Orange"),
            ("lea@wanadoo.fr", "smtp.free.fr", Some("Orange"), "Orange through Free"),
            ("lea@free.fr", "smtp.free.fr", None, "Free through Free"),
            ("lea@laposte.net", "smtp-relay.brevo.com", Some("La Poste"), "La Poste through Brevo"),
            ("lea@sfr.fr", "smtp.sfr.fr", None, "SFR through SFR"),
            ("lea@icloud.com", "smtp.mail.me.com", None, "iCloud through iCloud"),
            ("lea@yahoo.fr", "smtp.mail.yahoo.com", None, "Yahoo through Yahoo"),
            ("lea@gmx.fr", "smtp.gmx.com", None, "GMX through GMX"),
            ("lea@videotron.ca", "relais.videotron.ca", None, "Vidéotron through Vidéotron"),
            ("lea@sympatico.ca", "smtphm.sympatico.ca", None, "Bell through Bell"),
            ("lea@bell.net", "smtp-relay.brevo.com", Some("Bell"), "Bell through Brevo"),
            ("lea@proton.me", "127.0.0.1", None, "Proton through its bridge on this computer"),
            ("lea@gmail.com", "127.0.0.1", Some("Gmail"), "Gmail through a relay on this computer"),
            ("lea@tuta.io", "smtp.gmail.com", Some("Tuta"), "Tuta has no SMTP server at all"),
            ("lea@gmail.com", "smtp.gmail.com.evil.example", Some("Gmail"), "a look-alike server is not Google's"),
            ("lea@gmail.com", "notgmail.com", Some("Gmail"), "a name ending the same way is not Google's"),
            ("lea@boulangerie.test", "smtp-relay.brevo.com", None, "the shop's own domain may use any provider"),
            ("lea@live.shop", "smtp-relay.brevo.com", None, "live.shop is a shop, not Microsoft's Live"),
            ("lea@mygmail.com", "smtp-relay.brevo.com", None, "only the provider's exact domain"),
            ("lea@gmail.com.example", "smtp-relay.brevo.com", None, "a longer domain is not Gmail"),
        ];
        for (from, host, refused_by, why) in table {
            let got = refusal(&settings(from, host)).map(|r| r.provider);
            assert_eq!(got, *refused_by, "{why}: {from} through {host}");
        }
    }

    #[test]
    fn the_shipped_list_reads_and_names_each_provider_once() {
        let list = providers();
        assert!(list.len() >= 20, "the list is shipped whole");
        let mut names: Vec<&str> = list.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), list.len(), "each provider once");
        assert!(list.iter().any(|p| p.name == MICROSOFT), "Microsoft's entry carries the name its notice looks for");
        for p in list {
            assert!(!p.domains.is_empty(), "{} has address domains", p.name);
        }
    }

    #[test]
    fn the_rule_only_concerns_smtp_delivery() {
        let mut m = settings("boutique@gmail.com", "smtp-relay.brevo.com");
        m.delivery = Delivery::Outbox;
        assert_eq!(refusal(&m), None, ".eml files in a folder never leave the computer");
    }

    #[test]
    fn the_refusal_names_the_domain_and_the_provider() {
        let r = refusal(&settings(" Boutique@Orange.FR ", "ssl0.ovh.net")).unwrap();
        assert_eq!(
            r,
            Refusal { domain: "orange.fr".into(), provider: "Orange" },
            "the domain as the merchant reads it"
        );
    }
}
