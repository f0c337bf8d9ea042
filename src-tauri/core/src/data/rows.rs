//! One row of a file turned into a customer's values: each cell read by its column's field,
//! Excel's damage repaired, every unusable value reported against its column (and either left
//! out or the row refused, as the merchant chose). Pure: the shop's country and today's date
//! are passed in; the customer form's own validation has the last word.

use super::csv_read::Record;
use super::mapping::{Field, Mapping};
use super::normalise::{self, ConsentWord, DateOrder, DateProblem};
use super::types::{BadValues, RowProblem};
use crate::campaigns::suppression::SuppressionReason;
use crate::customers::{validate, AddressInput, Birthday, CustomerInput, Normalized};
use crate::error::Error;
use crate::types::{Country, Lang};
use chrono::NaiveDate;

/// A row read and checked, ready to match and write.
#[derive(Debug, Clone)]
pub struct ParsedRow {
    pub line: u32,
    pub customer: Option<Normalized>,
    pub notes: Vec<String>,
    pub consent: ConsentWord,
    /// The file says this address unsubscribed, bounced or was blocklisted.
    pub suppress: Option<SuppressionReason>,
    pub points: Option<i64>,
    pub stamps: Option<i64>,
    pub card: Option<String>,
    /// The column the card number came from (the report names it).
    pub card_column: String,
    pub problems: Vec<RowProblem>,
    /// What was typed in the row's cells, for the file of rows in error.
    pub cells: Vec<String>,
    /// Which fields had a value in the file (a blank cell never erases).
    pub given: Vec<Field>,
    /// The email as written, even when unusable (for suppression by address).
    pub raw_email: Option<String>,
}

impl ParsedRow {
    pub fn is_error(&self) -> bool {
        self.customer.is_none()
    }
}

pub struct RowContext<'a> {
    pub headers: &'a [String],
    pub mapping: &'a Mapping,
    pub shop_country: Country,
    pub shop_lang: Lang,
    pub today: NaiveDate,
    pub bad_values: BadValues,
    /// Text files can carry live formulas; a workbook's text cell is only text.
    pub check_formulas: bool,
}

/// A card number from another system: 4 to 32 letters or digits.
fn card_number(s: &str) -> Option<String> {
    let c: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    ((4..=32).contains(&c.len()) && c.chars().all(|c| c.is_ascii_alphanumeric())).then_some(c)
}

/// The name the report gives the column `col`: its header, or "#N" without one.
fn column_name(ctx: &RowContext, col: usize) -> String {
    match ctx.headers.get(col) {
        Some(h) if !h.trim().is_empty() => h.clone(),
        // No column at all (a name required but not mapped): no column to name.
        _ if col == usize::MAX => String::new(),
        _ => format!("#{}", col + 1),
    }
}

fn problem(ctx: &RowContext, col: usize, field: Field, reason: &str, value: &str) -> RowProblem {
    RowProblem {
        column: column_name(ctx, col),
        field,
        reason: reason.to_string(),
        value: value.chars().take(200).collect(),
        dropped: true,
    }
}

/// The form field a validation error names, as the import's field.
fn field_of(form_field: &str) -> Field {
    match form_field {
        "first_name" => Field::FirstName,
        "last_name" => Field::LastName,
        "email" => Field::Email,
        "phone" => Field::Phone,
        "address.line1" => Field::AddressLine1,
        "address.line2" => Field::AddressLine2,
        "address.postcode" => Field::Postcode,
        "address.city" => Field::City,
        "birthday" => Field::Birthday,
        "tags" => Field::Tags,
        _ => Field::Ignore,
    }
}

pub fn parse(rec: &Record, ctx: &RowContext) -> ParsedRow {
    let mut out = ParsedRow {
        line: rec.line as u32,
        customer: None,
        notes: Vec::new(),
        consent: ConsentWord::Unknown,
        suppress: None,
        points: None,
        stamps: None,
        card: None,
        card_column: String::new(),
        problems: Vec::new(),
        cells: rec.cells.clone(),
        given: Vec::new(),
        raw_email: None,
    };
    // Cells by field, without hidden characters; the export's apostrophe before a formula-like
    // value is taken off.
    let mut values: Vec<(usize, Field, String)> = Vec::new();
    for (i, f) in ctx.mapping.columns.iter().enumerate() {
        if *f == Field::Ignore {
            continue;
        }
        let Some(raw) = rec.cells.get(i) else { continue };
        // Hidden characters (`text::is_hidden`) are left out of every cell first: a zero-width
        // space in an email or a consent word would make another address or an unknown word.
        let raw = crate::text::visible(raw);
        let v = normalise::undo_neutralise(raw.trim()).to_string();
        if v.is_empty() {
            continue;
        }
        if ctx.check_formulas && normalise::is_formula(&v) && raw.trim() == v {
            out.problems.push(problem(ctx, i, *f, "formula", &v));
            continue;
        }
        values.push((i, *f, v));
    }
    let get = |f: Field| values.iter().find(|(_, x, _)| *x == f).map(|(i, _, v)| (*i, v.clone()));
    let all = |f: Field| values.iter().filter(|(_, x, _)| *x == f).map(|(_, _, v)| v.clone()).collect::<Vec<_>>();
    out.given = values.iter().map(|(_, f, _)| *f).collect();

    let country = get(Field::Country).and_then(|(_, v)| normalise::country(&v)).or_else(|| {
        get(Field::Postcode)
            .and_then(|(_, v)| crate::customers::normalize_postcode(&v, Country::CA).map(|_| Country::CA))
    });
    let row_country = country.unwrap_or(ctx.shop_country);

    let mut input = CustomerInput::default();
    let mut phone: Option<crate::phone::Phone> = None;
    if let Some((_, v)) = get(Field::FullName) {
        let (f, l) = normalise::split_full_name(&v);
        input.first_name = f;
        input.last_name = l;
    }
    if let Some((_, v)) = get(Field::FirstName) {
        input.first_name = v;
    }
    if let Some((_, v)) = get(Field::LastName) {
        input.last_name = v;
    }
    if let Some((_, v)) = get(Field::Email) {
        // In NFC, as every email on the way in (a decomposed accent is the same address).
        let v = crate::text::nfc(&v);
        out.raw_email = Some(v.clone());
        input.email = v;
    }
    if let Some((i, v)) = get(Field::Phone) {
        let repaired = normalise::repair_phone(&v, row_country);
        // A foreign customer's number written as dialled from the shop ("00 1 514…", as the
        // Excel France export writes it) is read in the shop's country when the row's cannot.
        let read = crate::phone::normalize(&repaired, row_country).or_else(|| {
            (row_country != ctx.shop_country).then(|| crate::phone::normalize(&v, ctx.shop_country)).flatten()
        });
        match read {
            // Kept aside: the form's rules would parse it a second time.
            Some(p) => phone = Some(p),
            None => out.problems.push(problem(ctx, i, Field::Phone, "phone_invalid", &v)),
        }
    }
    input.address = AddressInput {
        line1: get(Field::AddressLine1).map(|x| x.1).unwrap_or_default(),
        line2: all(Field::AddressLine2).join(", "),
        postcode: get(Field::Postcode).map(|(_, v)| normalise::repair_postcode(&v, row_country)).unwrap_or_default(),
        city: get(Field::City).map(|x| x.1).unwrap_or_default(),
        country: Some(row_country),
    };
    if let Some((i, v)) = get(Field::Birthday) {
        let order = ctx.mapping.date_orders.get(i).copied().flatten().unwrap_or(DateOrder::DayMonth);
        match normalise::parse_birthday(&v, order, ctx.today) {
            Ok(b) => input.birthday = Some(b),
            Err(DateProblem::Impossible) => out.problems.push(problem(ctx, i, Field::Birthday, "date_impossible", &v)),
            Err(DateProblem::Unreadable) => out.problems.push(problem(ctx, i, Field::Birthday, "date_unreadable", &v)),
        }
    }
    if let Some((_, v)) = get(Field::Language) {
        input.language = normalise::language(&v);
    }
    input.tags = all(Field::Tags).iter().flat_map(|t| normalise::split_tags(t)).collect();
    out.notes = all(Field::Notes);
    if let Some((i, v)) = get(Field::SpentBefore) {
        match normalise::parse_money_cents(&v) {
            Some(c) => out.notes.push(format!("\u{1f}spent:{c}")),
            None => out.problems.push(problem(ctx, i, Field::SpentBefore, "number_invalid", &v)),
        }
    }
    for (field, slot) in [(Field::Points, &mut out.points), (Field::Stamps, &mut out.stamps)] {
        if let Some((i, v)) = get(field) {
            match normalise::parse_integer(&v) {
                Some(n) if (0..=1_000_000).contains(&n) => *slot = (n > 0).then_some(n),
                _ => out.problems.push(problem(ctx, i, field, "number_invalid", &v)),
            }
        }
    }
    if let Some((i, v)) = get(Field::CardNumber) {
        match card_number(&v) {
            Some(c) => {
                out.card = Some(c);
                out.card_column = column_name(ctx, i);
            }
            None => out.problems.push(problem(ctx, i, Field::CardNumber, "card_invalid", &v)),
        }
    }
    if let Some((_, v)) = get(Field::Consent) {
        out.consent = normalise::consent_word(&v);
        if let ConsentWord::Suppress(r) = out.consent {
            out.suppress = Some(r);
        }
    }
    if get(Field::Unsubscribed).is_some_and(|(_, v)| normalise::unsubscribed_flag(&v)) {
        out.suppress = Some(SuppressionReason::Unsubscribed);
        out.consent = ConsentWord::Suppress(SuppressionReason::Unsubscribed);
    }
    // A person known by their address only (Mailchimp) keeps the address as their name.
    if input.first_name.trim().is_empty() && input.last_name.trim().is_empty() {
        if let Some(e) = out.raw_email.as_ref().filter(|e| crate::customers::is_email(e)) {
            input.last_name = e.clone();
        }
    }

    // The customer form's rules decide; a value they refuse is left out or refuses the row.
    for _ in 0..8 {
        match validate(&input, ctx.shop_country, ctx.shop_lang, ctx.today) {
            Ok(mut n) => {
                n.phone = phone.take();
                out.customer = Some(n);
                break;
            }
            Err(Error::Validation(errors)) => {
                for e in errors {
                    let field = field_of(e.field);
                    let col = ctx.mapping.columns.iter().position(|f| {
                        *f == field
                            || (field == Field::LastName && *f == Field::FullName)
                            || (field == Field::FirstName && *f == Field::FullName)
                    });
                    let reason = match e.key {
                        "field.name_required" => "name_required",
                        "field.email_invalid" => "email_invalid",
                        "field.phone_invalid" => "phone_invalid",
                        "field.postcode_invalid_fr" | "field.postcode_invalid_ca" => "postcode_invalid",
                        "field.birthday_invalid" => "date_impossible",
                        "field.too_long" | "field.tag_too_long" => "too_long",
                        "field.too_many_tags" => "too_many_tags",
                        _ => "invalid",
                    };
                    let value = match field {
                        Field::Email => std::mem::take(&mut input.email),
                        Field::Phone => std::mem::take(&mut input.phone),
                        Field::AddressLine1 => std::mem::take(&mut input.address.line1),
                        Field::AddressLine2 => std::mem::take(&mut input.address.line2),
                        Field::Postcode => std::mem::take(&mut input.address.postcode),
                        Field::City => std::mem::take(&mut input.address.city),
                        Field::Birthday => input
                            .birthday
                            .take()
                            .map(|b: Birthday| format!("{}/{}", b.day, b.month))
                            .unwrap_or_default(),
                        Field::Tags => std::mem::take(&mut input.tags).join(", "),
                        _ => {
                            // A name missing or too long: the row cannot be imported.
                            let v = format!("{} {}", input.first_name, input.last_name).trim().to_string();
                            let mut p = problem(ctx, col.unwrap_or(usize::MAX), field, reason, &v);
                            p.dropped = false;
                            out.problems.push(p);
                            return finish(out, ctx);
                        }
                    };
                    out.problems.push(problem(ctx, col.unwrap_or(usize::MAX), field, reason, &value));
                }
            }
            Err(_) => break,
        }
    }
    finish(out, ctx)
}

fn finish(mut out: ParsedRow, ctx: &RowContext) -> ParsedRow {
    if ctx.bad_values == BadValues::SkipRow && out.problems.iter().any(|p| p.dropped) {
        for p in out.problems.iter_mut() {
            p.dropped = false;
        }
        out.customer = None;
    }
    if out.customer.is_none() {
        for p in out.problems.iter_mut() {
            p.dropped = false;
        }
    }
    out
}
