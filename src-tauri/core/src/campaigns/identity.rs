//! The sender as a message shows it, and money as the shop writes it: the footer's identity,
//! the reply and unsubscribe addresses, amounts in personal fields and product blocks.
//!
//! Invariants: money is integer cents, written with the shop's currency and locale (French:
//! narrow no-break space between thousands, comma, no-break space before the symbol; English:
//! symbol first, comma and point). The unsubscribe address is a `mailto:` to the reply address
//! carrying the recipient's token, the same in the footer and the `List-Unsubscribe` header.

use super::mail::MailSettings;
use crate::settings::{Currency, Locale};
use crate::types::Cents;

/// Money as the shop writes it.
pub fn format_money(cents: Cents, currency: Currency, locale: Locale) -> String {
    let neg = cents < 0;
    let c = cents.unsigned_abs();
    let (units, rest) = (c / 100, c % 100);
    let mut grouped = String::new();
    let digits = units.to_string();
    let sep = if locale == Locale::En { ',' } else { '\u{202f}' };
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(sep);
        }
        grouped.push(ch);
    }
    let sign = if neg { "-" } else { "" };
    let symbol = match currency {
        Currency::EUR => "€",
        Currency::CAD => "$",
    };
    match locale {
        Locale::En => format!("{sign}{symbol}{grouped}.{rest:02}"),
        _ => format!("{sign}{grouped},{rest:02}\u{a0}{symbol}"),
    }
}

/// The sender's identity and how money is written, for the footer and personal fields.
#[derive(Debug, Clone)]
pub struct Identity {
    pub mail: MailSettings,
    pub currency: Currency,
    pub locale: Locale,
}

impl Identity {
    pub fn reply_address(&self) -> &str {
        if self.mail.reply_to.is_empty() {
            &self.mail.sender_email
        } else {
            &self.mail.reply_to
        }
    }
    /// The per-recipient unsubscribe address (also the `List-Unsubscribe` header).
    pub fn unsubscribe_url(&self, token: &str) -> String {
        let address = crate::text::mailto_address(self.reply_address());
        format!("mailto:{address}?subject=unsubscribe%20{token}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unsubscribe_address_is_a_valid_mailto_whatever_the_reply_address() {
        let mut id = Identity {
            mail: MailSettings { sender_email: "léa@boulangerie-élise.test".into(), ..MailSettings::default() },
            currency: Currency::EUR,
            locale: Locale::FrFr,
        };
        assert_eq!(
            id.unsubscribe_url("tok"),
            "mailto:l%C3%A9a@boulangerie-%C3%A9lise.test?subject=unsubscribe%20tok",
            "non-ASCII bytes percent-encoded (RFC 6068)"
        );
        id.mail.sender_email = "lea@boulangerie.test".into();
        assert_eq!(
            id.unsubscribe_url("tok"),
            "mailto:lea@boulangerie.test?subject=unsubscribe%20tok",
            "ASCII unchanged"
        );
    }

    #[test]
    fn money_is_written_the_shops_way() {
        assert_eq!(format_money(123456, Currency::EUR, Locale::FrFr), "1\u{202f}234,56\u{a0}€");
        assert_eq!(format_money(500, Currency::CAD, Locale::En), "$5.00");
    }
}
