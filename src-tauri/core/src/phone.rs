//! Phone numbers: stored in E.164, searched by their digits in both national and
//! international form, shown in the shop's local format.

use crate::types::Country;
use phonenumber::{country, Mode, PhoneNumber};

/// A valid phone number in its stored forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// `+33612345678`
    pub e164: String,
    /// Digits a person may type, national and international: `0612345678 33612345678`.
    pub search_digits: String,
}

fn country_id(c: Country) -> country::Id {
    match c {
        Country::FR => country::Id::FR,
        Country::CA => country::Id::CA,
    }
}

fn parse_valid(raw: &str, default_country: Country) -> Option<PhoneNumber> {
    let trimmed = raw.trim();
    // People write the international prefix as 00 in France.
    let candidate = match trimmed.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => trimmed.to_string(),
    };
    let n = phonenumber::parse(Some(country_id(default_country)), &candidate).ok()?;
    phonenumber::is_valid(&n).then_some(n)
}

/// Normalise a phone typed in any common format (`06 12 34 56 78`, `06.12.34.56.78`,
/// `+33 6 12 34 56 78`, `0033612345678`, `(514) 555-0199`, `+1 514 555 0199`).
/// `None` when it is not a valid number.
pub fn normalize(raw: &str, default_country: Country) -> Option<Phone> {
    let n = parse_valid(raw, default_country)?;
    let e164 = n.format().mode(Mode::E164).to_string();
    let national = crate::text::digits(&n.format().mode(Mode::National).to_string());
    let international = e164.trim_start_matches('+').to_string();
    Some(Phone { search_digits: format!("{national} {international}"), e164 })
}

/// Show a stored number the way people write it locally: national format for numbers of the
/// shop's country, international format otherwise.
pub fn display(e164: &str, shop_country: Country) -> String {
    let Ok(n) = phonenumber::parse(None, e164) else {
        return e164.to_string();
    };
    let same_country = n.country().id() == Some(country_id(shop_country));
    let mode = if same_country { Mode::National } else { Mode::International };
    n.format().mode(mode).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_numbers_in_every_common_format_become_the_same_e164() {
        for raw in [
            "0612345678",
            "06 12 34 56 78",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "+33 6 12 34 56 78",
            "0033612345678",
            "+33612345678",
        ] {
            let p = normalize(raw, Country::FR).unwrap_or_else(|| panic!("{raw} is a valid French mobile"));
            assert_eq!(p.e164, "+33612345678", "{raw} normalises to E.164");
        }
    }

    #[test]
    fn canadian_numbers_default_to_canada_when_the_shop_is_canadian() {
        for raw in ["(514) 555-0199", "514 555 0199", "+1 514 555 0199", "1-514-555-0199"] {
            let p = normalize(raw, Country::CA).unwrap_or_else(|| panic!("{raw} is a valid Canadian number"));
            assert_eq!(p.e164, "+15145550199", "{raw} normalises to E.164");
        }
        let intl =
            normalize("+1 514 555 0199", Country::FR).expect("an international number is valid in a French shop");
        assert_eq!(intl.e164, "+15145550199");
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for raw in ["", "12", "hello", "06 12", "+33 6 12 34 56 78 90 12"] {
            assert!(normalize(raw, Country::FR).is_none(), "{raw:?} is not a phone number");
        }
    }

    #[test]
    fn search_digits_hold_national_and_international_forms() {
        let p = normalize("06 12 34 56 78", Country::FR).unwrap();
        assert!(p.search_digits.contains("0612345678"), "typed nationally: {}", p.search_digits);
        assert!(p.search_digits.contains("33612345678"), "typed internationally: {}", p.search_digits);
    }

    #[test]
    fn display_uses_the_local_format_in_the_shop_country() {
        assert_eq!(display("+33612345678", Country::FR), "06 12 34 56 78");
        assert_eq!(display("+15145550199", Country::CA), "(514) 555-0199");
        assert!(display("+15145550199", Country::FR).starts_with("+1"), "a foreign number shows its country code");
    }
}
