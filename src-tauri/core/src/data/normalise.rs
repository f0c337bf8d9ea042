//! Cell values as merchants' spreadsheets hold them, turned into what the customer file
//! stores: Excel's damage repaired where it is unambiguous (a phone or a French postcode that
//! lost its leading zero, a number in scientific notation), dates in either order, amounts with
//! a decimal comma and space thousands, consent words, countries, names. Pure functions.

use crate::campaigns::suppression::SuppressionReason;
use crate::customers::Birthday;
use crate::types::{Country, Lang};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Rule: a spreadsheet runs a cell starting with `= + - @`, a tab or a carriage return as a
/// formula; an export writes such a cell behind an apostrophe.
pub fn neutralise(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

/// The importer takes the apostrophe off again, so that export → import is lossless.
pub fn undo_neutralise(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if matches!(rest.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r')) => rest,
        _ => s,
    }
}

/// Rule: a cell that is a formula (starts with `=` after the import's own unquoting) is never
/// stored as a value: the merchant's file had a live formula there.
pub fn is_formula(s: &str) -> bool {
    s.starts_with('=')
}

/// `6.12345678E+08` (how Excel shows a long number) → `612345678`, when it is a whole number.
fn expand_scientific(s: &str) -> Option<String> {
    let t = s.trim().replace(',', ".");
    if !t.contains(['e', 'E']) {
        return None;
    }
    let v: f64 = t.parse().ok()?;
    (v.fract() == 0.0 && v > 0.0 && v < 1e15).then(|| format!("{}", v as u64))
}

/// Rule: a French phone that lost its leading zero in a spreadsheet (9 digits starting 1–9:
/// 612345678) gets it back (0612345678). Other values are returned as typed.
pub fn repair_phone(raw: &str, country: Country) -> String {
    let raw = expand_scientific(raw).unwrap_or_else(|| raw.trim().to_string());
    let digits = crate::text::digits(&raw);
    let only_digits = raw.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '.');
    if country == Country::FR && only_digits && digits.len() == 9 && !digits.starts_with('0') {
        return format!("0{digits}");
    }
    // The international form without its `+` (how some mailing tools store numbers).
    if only_digits
        && digits.len() == 11
        && (digits.starts_with("33") && country == Country::FR || digits.starts_with('1') && country == Country::CA)
    {
        return format!("+{digits}");
    }
    raw
}

/// Rule: a French postcode that lost its leading zero (4 digits: 1000) gets it back (01000).
pub fn repair_postcode(raw: &str, country: Country) -> String {
    let t = raw.trim();
    let t = t.strip_suffix(".0").unwrap_or(t);
    if country == Country::FR && t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()) {
        return format!("0{t}");
    }
    t.to_string()
}

/// The order of day and month in a date column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    /// 31/12/1985 (France, Québec)
    DayMonth,
    /// 12/31/1985 (United States, Square, Mailchimp)
    MonthDay,
}

/// The numbers of a date written with separators, and whether it started with a 4-digit year.
fn parts(s: &str) -> Option<(Vec<u32>, bool)> {
    let t = s.trim();
    let t = t.split(['T', ' ']).next().unwrap_or(t);
    let pieces: Vec<&str> = t.split(['/', '-', '.']).filter(|p| !p.is_empty()).collect();
    if !(2..=3).contains(&pieces.len()) || pieces.iter().any(|p| p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let ymd = pieces[0].len() == 4;
    Some((pieces.iter().map(|p| p.parse().unwrap_or(0)).collect(), ymd))
}

/// Rule: the order of a column is decided from its values: a first number above 12 means
/// day first, a second number above 12 means month first; when the values do not say (every
/// day is 12 or less), the shop's habit decides. `None` when the column contradicts itself.
pub fn infer_date_order<'a>(values: impl IntoIterator<Item = &'a str>, default: DateOrder) -> Option<DateOrder> {
    let (mut day_first, mut month_first) = (false, false);
    for v in values {
        let Some((p, ymd)) = parts(v) else { continue };
        if ymd {
            continue;
        }
        if p[0] > 12 && p[0] <= 31 {
            day_first = true;
        }
        if p[1] > 12 && p[1] <= 31 {
            month_first = true;
        }
    }
    match (day_first, month_first) {
        (true, true) => None,
        (true, false) => Some(DateOrder::DayMonth),
        (false, true) => Some(DateOrder::MonthDay),
        (false, false) => Some(default),
    }
}

/// Why a date could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateProblem {
    Unreadable,
    Impossible,
}

/// Read a birthday: `31/12/1985`, `31-12-1985`, `31.12.85`, `31/12` (no year), `1985-12-31`,
/// `1985-12-31T00:00:00` (what a spreadsheet's date cell becomes), `0000-12-31` (Square, no
/// year), or an Excel serial day number (`31412`, 1900 system). A 2-digit year is 19xx or 20xx,
/// whichever is not in the future.
pub fn parse_birthday(s: &str, order: DateOrder, today: NaiveDate) -> Result<Birthday, DateProblem> {
    let t = s.trim();
    if !t.is_empty() && t.len() <= 6 && t.bytes().all(|b| b.is_ascii_digit()) && t.len() >= 4 {
        let serial: i64 = t.parse().map_err(|_| DateProblem::Unreadable)?;
        let d = excel_serial_date(serial as f64, false).ok_or(DateProblem::Impossible)?;
        return check(d.day(), d.month(), Some(d.year()), today);
    }
    // ISO 8601 without a year: --12-31.
    if let Some(md) = t.strip_prefix("--") {
        let (p, _) = parts(md).ok_or(DateProblem::Unreadable)?;
        if p.len() != 2 {
            return Err(DateProblem::Unreadable);
        }
        return check(p[1], p[0], None, today);
    }
    let (p, ymd) = parts(t).ok_or(DateProblem::Unreadable)?;
    let (day, month, year) = if ymd {
        if p.len() != 3 {
            return Err(DateProblem::Unreadable);
        }
        (p[2], p[1], (p[0] != 0).then_some(p[0] as i32))
    } else {
        let (day, month) = match order {
            DateOrder::DayMonth => (p[0], p[1]),
            DateOrder::MonthDay => (p[1], p[0]),
        };
        let year = match p.get(2) {
            None => None,
            Some(&y) if y >= 1000 => Some(y as i32),
            Some(&y) if y < 100 => {
                let y = 2000 + y as i32;
                Some(if y > today.year() { y - 100 } else { y })
            }
            Some(_) => return Err(DateProblem::Unreadable),
        };
        (day, month, year)
    };
    check(day, month, year, today)
}

fn check(day: u32, month: u32, year: Option<i32>, today: NaiveDate) -> Result<Birthday, DateProblem> {
    let b = Birthday {
        day: u8::try_from(day).map_err(|_| DateProblem::Impossible)?,
        month: u8::try_from(month).map_err(|_| DateProblem::Impossible)?,
        year: year.map(|y| u16::try_from(y).unwrap_or(0)),
    };
    if crate::customers::birthday_is_valid(&b, today) {
        Ok(b)
    } else {
        Err(DateProblem::Impossible)
    }
}

/// Rule: an Excel serial date counts days from 1899-12-30 (the 1900 system, which counts a
/// 29 February 1900 that never was) or from 1904-01-01 (the 1904 system of old Mac files).
pub fn excel_serial_date(serial: f64, system_1904: bool) -> Option<NaiveDate> {
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    let base = if system_1904 { NaiveDate::from_ymd_opt(1904, 1, 1)? } else { NaiveDate::from_ymd_opt(1899, 12, 30)? };
    base.checked_add_signed(chrono::Duration::days(serial.floor() as i64))
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}' || c == '\''
}

/// A whole number with space, no-break-space or narrow-no-break-space thousands (`1 200`),
/// or with a zero fraction (`1200,0`, `1200.00`).
pub fn parse_integer(s: &str) -> Option<i64> {
    let t: String = s.chars().filter(|c| !is_space(*c)).collect();
    if let Ok(v) = t.parse::<i64>() {
        return Some(v);
    }
    let cents = parse_money_cents(&t)?;
    (cents % 100 == 0).then_some(cents / 100)
}

/// An amount in cents: `1 234,50 €`, `1234.5`, `1,234.50`, `12 €`. The last `,` or `.` followed
/// by one or two digits is the decimal mark; the others are thousands.
pub fn parse_money_cents(s: &str) -> Option<i64> {
    let t: String = s
        .trim()
        .trim_end_matches(['€', '$'])
        .trim_end_matches(" EUR")
        .trim_end_matches(" CAD")
        .chars()
        .filter(|c| !is_space(*c))
        .collect();
    let t = t.trim_start_matches(['€', '$']);
    if t.is_empty() {
        return None;
    }
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (int_part, frac) = match t.rfind([',', '.']) {
        Some(i) if t.len() - i - 1 <= 2 && t.len() - i > 1 => (&t[..i], &t[i + 1..]),
        _ => (t, ""),
    };
    let int_digits: String = int_part.chars().filter(|c| *c != ',' && *c != '.').collect();
    if int_digits.is_empty() && frac.is_empty() {
        return None;
    }
    if !int_digits.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if int_digits.is_empty() { 0 } else { int_digits.parse().ok()? };
    let frac_cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let v = whole.checked_mul(100)?.checked_add(frac_cents)?;
    Some(if neg { -v } else { v })
}

/// What a consent cell says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentWord {
    Granted,
    Refused,
    /// Unsubscribed, cleaned (the address bounced) or blocklisted: to the suppression list.
    Suppress(SuppressionReason),
    /// An empty or unknown value: no consent (never invented).
    Unknown,
}

/// Rule: only a clear yes gives consent; a clear no is recorded as refused; unsubscribed,
/// cleaned and blocklisted go to the suppression list; anything else means no consent.
pub fn consent_word(s: &str) -> ConsentWord {
    let f = crate::text::fold(s);
    match f.as_str() {
        "oui" | "yes" | "y" | "o" | "1" | "true" | "vrai" | "x" | "subscribed" | "abonne" | "abonnee" | "inscrit"
        | "inscrite" | "opt-in" | "optin" | "opted in" | "accepte" | "d'accord" => ConsentWord::Granted,
        "non" | "no" | "n" | "0" | "false" | "faux" | "refuse" | "refusee" | "not subscribed" | "non abonne"
        | "opt-out" | "never subscribed" => ConsentWord::Refused,
        "unsubscribed" | "desabonne" | "desabonnee" | "desinscrit" | "desinscrite" => {
            ConsentWord::Suppress(SuppressionReason::Unsubscribed)
        }
        "cleaned" | "bounced" | "nettoye" | "invalide" | "blocklisted" | "blacklisted" | "bloque" | "bloquee"
        | "liste noire" => ConsentWord::Suppress(SuppressionReason::Cleaned),
        _ => ConsentWord::Unknown,
    }
}

/// Rule: for a column that says whether the person unsubscribed (Square's "Email
/// Unsubscribed", Brevo's blocklist), a clear yes puts the address on the suppression list.
pub fn unsubscribed_flag(s: &str) -> bool {
    matches!(
        crate::text::fold(s).as_str(),
        "oui" | "yes" | "1" | "true" | "vrai" | "x" | "unsubscribed" | "blocklisted"
    )
}

/// The country an address cell names, when the product knows it.
pub fn country(s: &str) -> Option<Country> {
    match crate::text::fold(s).as_str() {
        "fr" | "fra" | "france" => Some(Country::FR),
        "ca" | "can" | "canada" | "quebec" | "qc" => Some(Country::CA),
        _ => None,
    }
}

pub fn language(s: &str) -> Option<Lang> {
    match crate::text::fold(s).as_str() {
        "fr" | "francais" | "french" | "fr-fr" | "fr-ca" | "fr_fr" | "fr_ca" => Some(Lang::Fr),
        "en" | "anglais" | "english" | "en-ca" | "en-us" | "en-gb" | "en_ca" | "en_us" => Some(Lang::En),
        _ => None,
    }
}

/// Rule: a full name is split into first and last name: a family name typed in capitals first
/// (`LEFÈVRE Élodie`) is the last name; otherwise the last word is.
pub fn split_full_name(s: &str) -> (String, String) {
    let words: Vec<&str> = s.split_whitespace().collect();
    match words.as_slice() {
        [] => (String::new(), String::new()),
        [one] => (String::new(), one.to_string()),
        [first, rest @ ..] => {
            let caps = |w: &str| w.chars().any(char::is_alphabetic) && !w.chars().any(char::is_lowercase);
            if caps(first) && !rest.iter().all(|w| caps(w)) {
                (rest.join(" "), first.to_string())
            } else {
                (words[..words.len() - 1].join(" "), words[words.len() - 1].to_string())
            }
        }
    }
}

/// Tags in one cell, separated by commas, semicolons or pipes.
pub fn split_tags(s: &str) -> Vec<String> {
    s.split([',', ';', '|']).filter_map(crate::text::clean).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn excel_damage_is_repaired_only_where_unambiguous() {
        let cases = [
            ("612345678", Country::FR, "0612345678", "a mobile that lost its zero"),
            ("6.12345678E+08", Country::FR, "0612345678", "scientific notation"),
            ("06 12 34 56 78", Country::FR, "06 12 34 56 78", "already right"),
            ("+33612345678", Country::FR, "+33612345678", "international"),
            ("5145550199", Country::CA, "5145550199", "a Canadian number is never touched"),
            ("33611223344", Country::FR, "+33611223344", "international without its plus"),
            ("12345", Country::FR, "12345", "too short to guess"),
        ];
        for (raw, c, want, why) in cases {
            assert_eq!(repair_phone(raw, c), want, "{why}");
        }
        assert_eq!(repair_postcode("1000", Country::FR), "01000", "Bourg-en-Bresse lost its zero");
        assert_eq!(repair_postcode("1000.0", Country::FR), "01000");
        assert_eq!(repair_postcode("75001", Country::FR), "75001");
        assert_eq!(repair_postcode("1000", Country::CA), "1000", "only French postcodes are padded");
    }

    #[test]
    fn formulas_are_neutralised_and_the_import_undoes_it() {
        for s in ["=1+1", "+33 6 12", "-5", "@SUM(A1)", "\tx", "plain", "'quoted"] {
            assert_eq!(undo_neutralise(&neutralise(s)), s, "{s:?} survives export then import");
        }
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(undo_neutralise("'plain"), "'plain", "an apostrophe before text is the merchant's own");
    }

    #[test]
    fn the_date_order_of_a_column_comes_from_its_values() {
        let dm = ["01/02/1980", "25/12/1990", "03/04/2001"];
        assert_eq!(infer_date_order(dm, DateOrder::MonthDay), Some(DateOrder::DayMonth));
        let md = ["01/02/1980", "12/25/1990"];
        assert_eq!(infer_date_order(md, DateOrder::DayMonth), Some(DateOrder::MonthDay));
        assert_eq!(infer_date_order(["01/02/1980"], DateOrder::DayMonth), Some(DateOrder::DayMonth), "habit decides");
        assert_eq!(infer_date_order(["25/12/1990", "12/25/1990"], DateOrder::DayMonth), None, "contradiction");
    }

    #[test]
    fn birthdays_in_every_common_form() {
        let b = |d, m, y: Option<u16>| Birthday { day: d, month: m, year: y };
        let dm = DateOrder::DayMonth;
        let cases = [
            ("31/12/1985", dm, Ok(b(31, 12, Some(1985)))),
            ("12/31/1985", DateOrder::MonthDay, Ok(b(31, 12, Some(1985)))),
            ("31-12-85", dm, Ok(b(31, 12, Some(1985)))),
            ("05.03.01", dm, Ok(b(5, 3, Some(2001)))),
            ("29/02", dm, Ok(b(29, 2, None))),
            ("1985-12-31", dm, Ok(b(31, 12, Some(1985)))),
            ("1985-12-31T00:00:00", dm, Ok(b(31, 12, Some(1985)))),
            ("0000-03-12", dm, Ok(b(12, 3, None))),
            ("--12-31", dm, Ok(b(31, 12, None))),
            ("31412", dm, Ok(b(31, 12, Some(1985)))),
            ("31/02/1990", dm, Err(DateProblem::Impossible)),
            ("12/31/1985", dm, Err(DateProblem::Impossible)),
            ("01/01/2090", dm, Err(DateProblem::Impossible)),
            ("hier", dm, Err(DateProblem::Unreadable)),
        ];
        for (s, order, want) in cases {
            assert_eq!(parse_birthday(s, order, today()), want, "{s}");
        }
    }

    #[test]
    fn excel_serials_in_both_date_systems() {
        assert_eq!(excel_serial_date(45000.0, false), NaiveDate::from_ymd_opt(2023, 3, 15));
        assert_eq!(excel_serial_date(45000.0 - 1462.0, true), NaiveDate::from_ymd_opt(2023, 3, 15), "1904 system");
        assert_eq!(excel_serial_date(0.0, false), None);
    }

    #[test]
    fn amounts_and_counts_with_french_separators() {
        let cases = [
            ("1 234,50 €", Some(123_450)),
            ("1\u{202f}234,50", Some(123_450)),
            ("1\u{a0}234,5", Some(123_450)),
            ("1234.50", Some(123_450)),
            ("1,234.50", Some(123_450)),
            ("12 €", Some(1200)),
            ("-3,20", Some(-320)),
            ("abc", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_money_cents(s), want, "{s:?}");
        }
        assert_eq!(parse_integer("1 200"), Some(1200));
        assert_eq!(parse_integer("1200,0"), Some(1200));
        assert_eq!(parse_integer("12,5"), None, "points are whole");
    }

    #[test]
    fn consent_is_never_invented() {
        assert_eq!(consent_word("Oui"), ConsentWord::Granted);
        assert_eq!(consent_word("yes"), ConsentWord::Granted);
        assert_eq!(consent_word("non"), ConsentWord::Refused);
        assert_eq!(consent_word("peut-être"), ConsentWord::Unknown, "an unknown value is no consent");
        assert_eq!(consent_word(""), ConsentWord::Unknown);
        assert_eq!(consent_word("Désabonné"), ConsentWord::Suppress(SuppressionReason::Unsubscribed));
        assert_eq!(consent_word("cleaned"), ConsentWord::Suppress(SuppressionReason::Cleaned));
        assert_eq!(
            consent_word("blocklisted"),
            ConsentWord::Suppress(SuppressionReason::Cleaned),
            "a blocklisted address is treated as cleaned"
        );
    }

    #[test]
    fn full_names_split_the_way_people_write_them() {
        assert_eq!(split_full_name("Élodie Lefèvre"), ("Élodie".into(), "Lefèvre".into()));
        assert_eq!(split_full_name("LEFÈVRE Élodie"), ("Élodie".into(), "LEFÈVRE".into()));
        assert_eq!(split_full_name("Jean Pierre Côté"), ("Jean Pierre".into(), "Côté".into()));
        assert_eq!(split_full_name("Madonna"), ("".into(), "Madonna".into()));
    }
}
