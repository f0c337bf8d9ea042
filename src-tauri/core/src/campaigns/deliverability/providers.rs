//! What each SMTP preset needs in the sender domain's DNS, as each provider documents it:
//! the SPF entry that authorises its servers, the DKIM selectors it signs with, and where the
//! merchant switches DKIM on.
//!
//! - Google Workspace (the Gmail preset with the shop's own domain): SPF `include:_spf.google.com`,
//!   DKIM selector `google` (a TXT key generated in the Admin console).
//! - Microsoft 365: SPF `include:spf.protection.outlook.com`, DKIM selectors `selector1` and
//!   `selector2` (two CNAME records whose values Microsoft shows for the domain).
//! - OVHcloud (MX Plan, `ssl0.ovh.net`): SPF `include:mx.ovh.com`; DKIM selectors are per
//!   account (`ovhmo1234567-selector1`), so the merchant types theirs.
//! - Brevo: DKIM `brevo1` / `brevo2` (CNAME to `b1.<domain>.dkim.brevo.com`), older accounts
//!   `mail`; the envelope sender is Brevo's own domain, so DKIM is what DMARC relies on, and
//!   SPF `include:spf.brevo.com` is optional.
//! - Mailjet: SPF `include:spf.mailjet.com`, DKIM selector `mailjet` (TXT); the envelope sender
//!   is Mailjet's, so DKIM is what DMARC relies on.
//! - Orange, Free and custom servers: the selectors and SPF entries are not public or depend
//!   on the server; the check then says what it could not tell instead of guessing "fine".

use crate::campaigns::mail::SmtpPreset;

/// How the DKIM record is published for a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DkimRecord {
    /// A TXT record holding the key the provider generates (`v=DKIM1; k=rsa; p=…`).
    TxtFromProvider,
    /// CNAME records whose values the provider shows for the domain.
    CnameFromProvider,
    /// Whatever the provider shows (the kind of record depends on the offer).
    FromProvider,
    /// CNAME records with a value built from the domain: `b1.<domain-with-dashes>.dkim.brevo.com`.
    Brevo,
}

#[derive(Debug, Clone, Copy)]
pub struct Facts {
    /// As the merchant knows it.
    pub name: &'static str,
    /// SPF entries (domains of `include:`) that authorise the provider's servers; the first is
    /// the one to suggest. Empty when Comptoir does not know it.
    pub spf_includes: &'static [&'static str],
    /// The envelope sender is the merchant's own address, so an SPF pass counts for DMARC.
    pub spf_counts_for_dmarc: bool,
    /// Selectors the provider signs with (empty: per account, the merchant types it).
    pub dkim_selectors: &'static [&'static str],
    /// Selectors worth trying although the provider is unknown (a custom server).
    pub dkim_guesses: &'static [&'static str],
    pub dkim_record: DkimRecord,
    /// Without DKIM nothing can pass DMARC (the envelope sender is the provider's).
    pub dkim_required: bool,
    /// Catalogue key: where the merchant switches DKIM on at this provider.
    pub dkim_how: &'static str,
}

pub fn facts(preset: SmtpPreset) -> Facts {
    let base = Facts {
        name: "",
        spf_includes: &[],
        spf_counts_for_dmarc: true,
        dkim_selectors: &[],
        dkim_guesses: &[],
        dkim_record: DkimRecord::FromProvider,
        dkim_required: false,
        dkim_how: "deliverability.dkim.how.custom",
    };
    match preset {
        SmtpPreset::Gmail => Facts {
            name: "Google Workspace",
            spf_includes: &["_spf.google.com"],
            dkim_selectors: &["google"],
            dkim_record: DkimRecord::TxtFromProvider,
            dkim_how: "deliverability.dkim.how.gmail",
            ..base
        },
        SmtpPreset::Outlook => Facts {
            name: "Microsoft 365",
            spf_includes: &["spf.protection.outlook.com"],
            dkim_selectors: &["selector1", "selector2"],
            dkim_record: DkimRecord::CnameFromProvider,
            dkim_how: "deliverability.dkim.how.outlook",
            ..base
        },
        SmtpPreset::Ovh => {
            Facts { name: "OVHcloud", spf_includes: &["mx.ovh.com"], dkim_how: "deliverability.dkim.how.ovh", ..base }
        }
        SmtpPreset::Brevo => Facts {
            name: "Brevo",
            spf_includes: &["spf.brevo.com", "spf.sendinblue.com", "sendinblue.com"],
            spf_counts_for_dmarc: false,
            dkim_selectors: &["brevo1", "brevo2", "mail"],
            dkim_record: DkimRecord::Brevo,
            dkim_required: true,
            dkim_how: "deliverability.dkim.how.brevo",
            ..base
        },
        SmtpPreset::Mailjet => Facts {
            name: "Mailjet",
            spf_includes: &["spf.mailjet.com"],
            spf_counts_for_dmarc: false,
            dkim_selectors: &["mailjet"],
            dkim_record: DkimRecord::TxtFromProvider,
            dkim_required: true,
            dkim_how: "deliverability.dkim.how.mailjet",
            ..base
        },
        SmtpPreset::Orange => Facts { name: "Orange", ..base },
        SmtpPreset::Free => Facts { name: "Free", ..base },
        SmtpPreset::Custom => Facts {
            name: "",
            dkim_guesses: &["default", "dkim", "mail", "selector1", "selector2", "s1", "s2", "k1"],
            ..base
        },
    }
}

/// The value of a Brevo DKIM CNAME for a domain: `b1.shop-example-fr.dkim.brevo.com`.
pub fn brevo_dkim_target(selector: &str, domain: &str) -> Option<String> {
    let n = match selector {
        "brevo1" => 1,
        "brevo2" => 2,
        _ => return None,
    };
    Some(format!("b{n}.{}.dkim.brevo.com", domain.replace('.', "-")))
}

/// A selector the merchant typed: letters, digits, `-`, `_` and dots between labels.
pub fn valid_selector(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.split('.').all(|label| {
            !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_provider_says_how_to_authorise_it() {
        for p in [SmtpPreset::Gmail, SmtpPreset::Outlook, SmtpPreset::Ovh, SmtpPreset::Brevo, SmtpPreset::Mailjet] {
            let f = facts(p);
            assert!(!f.spf_includes.is_empty(), "{p:?} names its SPF entry");
            assert!(!f.name.is_empty(), "{p:?} has a name to show");
        }
        assert!(facts(SmtpPreset::Brevo).dkim_required, "Brevo relies on DKIM for DMARC");
        assert!(!facts(SmtpPreset::Brevo).spf_counts_for_dmarc, "Brevo's envelope sender is its own");
        assert_eq!(facts(SmtpPreset::Outlook).dkim_selectors, ["selector1", "selector2"]);
        assert!(facts(SmtpPreset::Ovh).dkim_selectors.is_empty(), "OVH selectors are per account");
    }

    #[test]
    fn brevo_targets_are_built_from_the_domain() {
        assert_eq!(
            brevo_dkim_target("brevo1", "boutique.example.fr").as_deref(),
            Some("b1.boutique-example-fr.dkim.brevo.com")
        );
        assert_eq!(brevo_dkim_target("brevo2", "lea.test").as_deref(), Some("b2.lea-test.dkim.brevo.com"));
        assert_eq!(brevo_dkim_target("mail", "lea.test"), None, "the old selector holds a TXT key");
    }

    #[test]
    fn a_typed_selector_is_a_dns_label() {
        for ok in ["ovhmo1234567-selector1", "s1", "k1.mail", "google"] {
            assert!(valid_selector(ok), "{ok} is a selector");
        }
        for bad in ["", "a b", "x;y", "../etc", "a..b", &"a".repeat(64), "sél"] {
            assert!(!valid_selector(bad), "{bad:?} is refused");
        }
    }
}
