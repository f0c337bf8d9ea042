//! Validation and normalisation of a customer form: pure, the date is passed in.

use super::{Birthday, CustomerInput};
use crate::error::{FieldError, Problems, Result};
use crate::phone::{self, Phone};
use crate::text::{clean, fold, normalize_email};
use crate::types::{Country, Lang};
use chrono::{Datelike, NaiveDate};

pub const MAX_NAME: usize = 100;
pub const MAX_EMAIL: usize = 254;
pub const MAX_ADDRESS_LINE: usize = 200;
pub const MAX_CITY: usize = 100;
pub const MAX_TAG: usize = 40;
pub const MAX_TAGS: usize = 30;
pub const MAX_NOTE: usize = 10_000;

/// A validated customer, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    pub first_name: String,
    pub last_name: String,
    pub first_fold: String,
    pub last_fold: String,
    pub email: Option<String>,
    pub email_norm: Option<String>,
    pub phone: Option<Phone>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Country,
    pub birthday: Option<Birthday>,
    pub language: Lang,
    /// Distinct tags (compared without case and accents), in the order given.
    pub tags: Vec<String>,
}

fn too_long(p: &mut Problems, field: &'static str, value: &Option<String>, max: usize) {
    if value.as_ref().is_some_and(|v| v.chars().count() > max) {
        p.push(FieldError::new(field, "field.too_long").arg("max", max));
    }
}

/// French postcodes are five digits; Canadian ones are `A1A 1A1` (stored upper case with the
/// space). `None` when the value does not fit the country.
pub fn normalize_postcode(raw: &str, country: Country) -> Option<String> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    match country {
        Country::FR => (compact.len() == 5 && compact.bytes().all(|b| b.is_ascii_digit())).then_some(compact),
        Country::CA => {
            let b = compact.as_bytes();
            let shape = b.len() == 6
                && b.iter().enumerate().all(
                    |(i, c)| {
                        if i % 2 == 0 {
                            c.is_ascii_uppercase()
                        } else {
                            c.is_ascii_digit()
                        }
                    },
                );
            shape.then(|| format!("{} {}", &compact[..3], &compact[3..]))
        }
    }
}

/// Rule: a birthday is a real day of the year (29 February only if the year, when given, is a
/// leap year); a year, when given, is between 1900 and this year.
pub fn birthday_is_valid(b: &Birthday, today: NaiveDate) -> bool {
    if let Some(y) = b.year {
        if y < 1900 || i32::from(y) > today.year() {
            return false;
        }
    }
    // With no year, check against a leap year so that 29 February is allowed.
    let year = b.year.map(i32::from).unwrap_or(2000);
    NaiveDate::from_ymd_opt(year, u32::from(b.month), u32::from(b.day)).is_some()
}

/// Validate and normalise a customer form. Every problem is reported at once, each against its
/// field.
pub fn validate(
    input: &CustomerInput,
    shop_country: Country,
    default_lang: Lang,
    today: NaiveDate,
) -> Result<Normalized> {
    let mut p = Problems::default();
    let first_name = clean(&input.first_name).unwrap_or_default();
    let last_name = clean(&input.last_name).unwrap_or_default();
    if first_name.is_empty() && last_name.is_empty() {
        p.add("first_name", "field.name_required");
    }
    too_long(&mut p, "first_name", &Some(first_name.clone()), MAX_NAME);
    too_long(&mut p, "last_name", &Some(last_name.clone()), MAX_NAME);

    // Stored in NFC, as typed otherwise (a decomposed accent is the same address).
    let email = clean(&input.email).map(|e| crate::text::nfc(&e));
    if let Some(e) = &email {
        if e.chars().count() > MAX_EMAIL {
            p.push(FieldError::new("email", "field.too_long").arg("max", MAX_EMAIL));
        } else if !is_email(e) {
            p.add("email", "field.email_invalid");
        }
    }
    let email_norm = email.as_deref().map(normalize_email);

    let country = input.address.country.unwrap_or(shop_country);
    let phone = match clean(&input.phone) {
        None => None,
        Some(raw) => {
            let n = phone::normalize(&raw, shop_country);
            if n.is_none() {
                p.add("phone", "field.phone_invalid");
            }
            n
        }
    };

    let line1 = clean(&input.address.line1);
    let line2 = clean(&input.address.line2);
    let city = clean(&input.address.city);
    too_long(&mut p, "address.line1", &line1, MAX_ADDRESS_LINE);
    too_long(&mut p, "address.line2", &line2, MAX_ADDRESS_LINE);
    too_long(&mut p, "address.city", &city, MAX_CITY);
    let postcode = match clean(&input.address.postcode) {
        None => None,
        Some(raw) => {
            let n = normalize_postcode(&raw, country);
            if n.is_none() {
                let key = match country {
                    Country::FR => "field.postcode_invalid_fr",
                    Country::CA => "field.postcode_invalid_ca",
                };
                p.add("address.postcode", key);
            }
            n
        }
    };

    if let Some(b) = &input.birthday {
        if !birthday_is_valid(b, today) {
            p.add("birthday", "field.birthday_invalid");
        }
    }

    let mut tags: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for raw in &input.tags {
        let Some(tag) = clean(raw) else { continue };
        if tag.chars().count() > MAX_TAG {
            p.push(FieldError::new("tags", "field.tag_too_long").arg("max", MAX_TAG));
            continue;
        }
        let f = fold(&tag);
        if !seen.contains(&f) {
            seen.push(f);
            tags.push(tag);
        }
    }
    if tags.len() > MAX_TAGS {
        p.push(FieldError::new("tags", "field.too_many_tags").arg("max", MAX_TAGS));
    }

    p.into_result()?;
    Ok(Normalized {
        first_fold: fold(&first_name),
        last_fold: fold(&last_name),
        first_name,
        last_name,
        email,
        email_norm,
        phone,
        line1,
        line2,
        postcode,
        city,
        country,
        birthday: input.birthday,
        language: input.language.unwrap_or(default_lang),
        tags,
    })
}

/// Rule: a free note is not empty and at most `MAX_NOTE` characters.
pub fn validate_note(body: &str) -> Result<String> {
    let Some(b) = crate::text::clean_multiline(body) else {
        return Err(crate::Error::invalid("note", "field.note_required"));
    };
    if b.chars().count() > MAX_NOTE {
        return Err(crate::Error::Validation(vec![FieldError::new("note", "field.too_long").arg("max", MAX_NOTE)]));
    }
    Ok(b)
}

/// Rule: an email address is well formed and has a dot in its domain (no spaces, no display
/// name). Used for customers and for the sender's addresses.
pub fn is_email(e: &str) -> bool {
    if !email_address::EmailAddress::is_valid(e) || e.contains(char::is_whitespace) {
        return false;
    }
    let Some((_, domain)) = e.rsplit_once('@') else { return false };
    is_mail_domain(domain)
}

/// A domain a message can be delivered to on the Internet: at least two labels (`example` alone,
/// or an address literal such as `[127.0.0.1]`, is refused), each of letters, digits and
/// inner hyphens, the last one not all digits.
fn is_mail_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.chars().count() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|tld| tld.chars().count() >= 2 && !tld.chars().all(|c| c.is_ascii_digit()))
}

/// Rule: the address a merge leaves on the kept record. The address is one block, never a
/// postcode under another record's country nor two doors mixed: the kept record's when the
/// other has none; the other's whole, country included, when the kept record has none. When
/// both have one, in the same country, with no postcode or town differing: a kept record
/// without a street takes the other's street when a postcode or town is the same on both
/// sides ("Lyon" alone and "12 rue Mercière, 69002 Lyon" become the second); a kept street
/// takes a postcode or town only from the same street (a town has several postcodes: "3
/// avenue Foch, Lyon" does not take another street's 69002). Otherwise the kept record's, as
/// it was (the other record, archived, keeps its own).
pub fn merged_address(keep: &super::Address, other: &super::Address) -> super::Address {
    let has = |a: &super::Address| a.line1.is_some() || a.line2.is_some() || a.postcode.is_some() || a.city.is_some();
    if !has(other) {
        return keep.clone();
    }
    if !has(keep) {
        return other.clone();
    }
    let squash = |s: &str| fold(s).chars().filter(|c| c.is_alphanumeric()).collect::<String>();
    // Both present: equal or not; one missing: nothing said.
    let compare = |k: &Option<String>, o: &Option<String>| match (k, o) {
        (Some(k), Some(o)) => Some(squash(k) == squash(o)),
        _ => None,
    };
    let (postcode, city) = (compare(&keep.postcode, &other.postcode), compare(&keep.city, &other.city));
    if keep.country != other.country || postcode == Some(false) || city == Some(false) {
        return keep.clone();
    }
    let filled = |line1: Option<String>, line2: Option<String>| super::Address {
        line1,
        line2,
        postcode: keep.postcode.clone().or_else(|| other.postcode.clone()),
        city: keep.city.clone().or_else(|| other.city.clone()),
        country: keep.country,
    };
    let kept_street = keep.line1.is_some() || keep.line2.is_some();
    if !kept_street && (postcode == Some(true) || city == Some(true)) {
        return filled(other.line1.clone(), other.line2.clone());
    }
    if kept_street && compare(&keep.line1, &other.line1) == Some(true) {
        return filled(keep.line1.clone(), keep.line2.clone().or_else(|| other.line2.clone()));
    }
    keep.clone()
}
