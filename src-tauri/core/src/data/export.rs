//! The customer list out: CSV "Excel France" (UTF-8 with a byte-order mark, `;`, CRLF,
//! dd/mm/yyyy, decimal comma), CSV standard (UTF-8, `,`, ISO dates) and XLSX (phones and
//! postcodes as text). In CSV a cell a spreadsheet would run as a formula (`= + - @`, tab, CR
//! first) is written behind an apostrophe, which the importer takes off: export → import is
//! lossless. The headers are the importer's own words, in the shop's language.
//!
//! Phones (decision, issue 9): a phone is data the merchant needs intact, and an apostrophe
//! in front of "+1 514…" shows in Excel (a CSV cell is not typed, the apostrophe stays). So a
//! phone is never written as something a spreadsheet would compute: in Excel France, numbers
//! of the shop's country in their national form ("06 12 34 56 78", "(514) 555-0199") and
//! foreign ones with the shop country's international prefix instead of "+" ("00 1 514-555-0199"
//! in France, "011 33 6 12 34 56 78" in Canada) — text to Excel, dialable as written, read back
//! by the importer; in CSV standard (for other software) the E.164 form "+15145550199", which
//! cannot carry a formula (a "+" then digits only) and is the form other software reads, so it
//! is not neutralised; in XLSX typed text cells. Every other cell is neutralised as before.

use super::normalise::neutralise;
use crate::campaigns::segments::{self, SegmentFilter};
use crate::error::{Error, Result};
use crate::i18n::tr;
use crate::storage::Store;
use crate::types::{Country, CustomerId, Lang};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::io::Write;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    CsvExcelFr,
    CsvStandard,
    Xlsx,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "xlsx",
            _ => "csv",
        }
    }
}

/// Which customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportScope {
    /// Every active customer (archived and merged ones left out).
    All,
    /// The archived ones.
    Archived,
    /// Those a segment's filter matches.
    Segment { filter: SegmentFilter },
    /// These customers (the current selection).
    Customers { ids: Vec<CustomerId> },
}

const HEADERS: [&str; 20] = [
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "address2",
    "postcode",
    "city",
    "country",
    "birthday",
    "language",
    "tags",
    "consent",
    "card",
    "points",
    "since",
    "visits",
    "spent",
    "last_purchase",
];

/// One exported customer.
struct Line {
    id: i64,
    first_name: String,
    last_name: String,
    email: Option<String>,
    phone: Option<String>,
    line1: Option<String>,
    line2: Option<String>,
    postcode: Option<String>,
    city: Option<String>,
    country: String,
    birthday: (Option<u32>, Option<u32>, Option<i32>),
    language: String,
    tags: Option<String>,
    consent: Option<String>,
    card: Option<String>,
    points: i64,
    since: DateTime<Utc>,
    visits: i64,
    spent: i64,
    last_purchase: Option<DateTime<Utc>>,
}

fn for_each(
    conn: &Connection,
    scope: &ExportScope,
    now: DateTime<Utc>,
    mut f: impl FnMut(Line) -> Result<()>,
) -> Result<u64> {
    let ids: Option<Vec<CustomerId>> = match scope {
        ExportScope::Segment { filter } => Some(segments::matching_ids(conn, filter, now)?),
        ExportScope::Customers { ids } => Some(ids.clone()),
        _ => None,
    };
    let base =
        "SELECT c.id, c.first_name, c.last_name, c.email, c.phone_e164, c.address_line1, c.address_line2, c.postcode,
            c.city, c.country, c.birthday_day, c.birthday_month, c.birthday_year, c.language,
            (SELECT group_concat(tag, ', ') FROM customer_tags t WHERE t.customer_id = c.id),
            (SELECT k.basis FROM consents k WHERE k.customer_id = c.id ORDER BY k.recorded_at DESC, k.id DESC LIMIT 1),
            (SELECT number FROM cards WHERE customer_id = c.id AND status = 'active' ORDER BY id DESC LIMIT 1),
            coalesce(pts.points, 0),
            c.created_at, c.visit_count, c.total_spent_cents, c.last_purchase_at
         FROM customers c LEFT JOIN pts ON pts.customer_id = c.id";
    // Balances summed in one pass over the ledger rather than one look-up per customer.
    let pts = "WITH pts AS (SELECT customer_id, sum(points) AS points FROM points_ledger GROUP BY customer_id) ";
    let row = |r: &rusqlite::Row| -> rusqlite::Result<Line> {
        Ok(Line {
            id: r.get(0)?,
            first_name: r.get(1)?,
            last_name: r.get(2)?,
            email: r.get(3)?,
            phone: r.get(4)?,
            line1: r.get(5)?,
            line2: r.get(6)?,
            postcode: r.get(7)?,
            city: r.get(8)?,
            country: r.get(9)?,
            birthday: (r.get(10)?, r.get(11)?, r.get(12)?),
            language: r.get(13)?,
            tags: r.get(14)?,
            consent: r.get(15)?,
            card: r.get(16)?,
            points: r.get(17)?,
            since: r.get(18)?,
            visits: r.get(19)?,
            spent: r.get(20)?,
            last_purchase: r.get(21)?,
        })
    };
    let mut n = 0u64;
    match ids {
        None => {
            let archived = matches!(scope, ExportScope::Archived);
            // In the order customers were created: a spreadsheet sorts as the merchant likes.
            let mut st = conn.prepare(&format!(
                "{pts}{base} WHERE c.merged_into IS NULL AND (c.archived_at IS NOT NULL) = ?1 ORDER BY c.id"
            ))?;
            let mut rows = st.query([archived])?;
            while let Some(r) = rows.next()? {
                f(row(r)?)?;
                n += 1;
            }
        }
        Some(ids) => {
            let base = base.replace("LEFT JOIN pts ON pts.customer_id = c.id", "LEFT JOIN (SELECT customer_id, sum(points) AS points FROM points_ledger WHERE customer_id = ?1) pts ON pts.customer_id = c.id");
            let mut st = conn.prepare_cached(&format!("{base} WHERE c.id = ?1 AND c.merged_into IS NULL"))?;
            for id in ids {
                let mut rows = st.query([id])?;
                if let Some(r) = rows.next()? {
                    f(row(r)?)?;
                    n += 1;
                }
            }
        }
    }
    Ok(n)
}

fn cells(l: &Line, format: ExportFormat, lang: Lang, shop_country: Country) -> Vec<String> {
    let fr = format == ExportFormat::CsvExcelFr || (format == ExportFormat::Xlsx && lang == Lang::Fr);
    let date = |d: &DateTime<Utc>| {
        let local = d.with_timezone(&chrono::Local);
        if fr {
            local.format("%d/%m/%Y").to_string()
        } else {
            local.format("%Y-%m-%d").to_string()
        }
    };
    let birthday = match l.birthday {
        (Some(d), Some(m), Some(y)) if fr => format!("{d:02}/{m:02}/{y:04}"),
        (Some(d), Some(m), None) if fr => format!("{d:02}/{m:02}"),
        (Some(d), Some(m), Some(y)) => format!("{y:04}-{m:02}-{d:02}"),
        (Some(d), Some(m), None) => format!("--{m:02}-{d:02}"),
        _ => String::new(),
    };
    let money = |c: i64| {
        let s = format!("{}.{:02}", c / 100, (c % 100).abs());
        if fr {
            s.replace('.', ",")
        } else {
            s
        }
    };
    let consent = match l.consent.as_deref() {
        Some("express") => tr(lang, "export.consent_yes", &[]),
        Some("refused") => tr(lang, "export.consent_no", &[]),
        Some("existing_customer") => tr(lang, "export.consent_existing", &[]),
        _ => String::new(),
    };
    let phone = l.phone.as_deref().map(|p| match format {
        ExportFormat::CsvExcelFr => dialled_from(&display_phone(p, shop_country), shop_country),
        _ if fr => display_phone(p, shop_country),
        _ => p.to_string(),
    });
    let country =
        Country::parse(&l.country).map(|c| if c == shop_country && fr { String::new() } else { c.code().to_string() });
    vec![
        l.id.to_string(),
        l.first_name.clone(),
        l.last_name.clone(),
        l.email.clone().unwrap_or_default(),
        phone.unwrap_or_default(),
        l.line1.clone().unwrap_or_default(),
        l.line2.clone().unwrap_or_default(),
        l.postcode.clone().unwrap_or_default(),
        l.city.clone().unwrap_or_default(),
        country.unwrap_or_default(),
        birthday,
        l.language.clone(),
        l.tags.clone().unwrap_or_default(),
        consent,
        l.card.clone().unwrap_or_default(),
        l.points.to_string(),
        date(&l.since),
        l.visits.to_string(),
        money(l.spent),
        l.last_purchase.as_ref().map(date).unwrap_or_default(),
    ]
}

/// Rule: a stored number written the local way — French numbers of a French shop as
/// `06 12 34 56 78`, North-American ones of a Canadian shop as `(514) 555-0199` — without
/// parsing it again (100,000 parses would dominate the export); others as `phone::display`.
fn display_phone(e164: &str, shop_country: Country) -> String {
    let d = e164.strip_prefix('+').unwrap_or("");
    let all_digits = d.bytes().all(|b| b.is_ascii_digit());
    match shop_country {
        Country::FR if all_digits && d.len() == 11 && d.starts_with("33") => {
            let n = format!("0{}", &d[2..]);
            n.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap_or("")).collect::<Vec<_>>().join(" ")
        }
        Country::CA if all_digits && d.len() == 11 && d.starts_with('1') => {
            format!("({}) {}-{}", &d[1..4], &d[4..7], &d[7..])
        }
        _ => crate::phone::display(e164, shop_country),
    }
}

/// Rule: an international number written as dialled from the shop's country — its
/// international prefix ("00" in France, "011" in Canada) instead of "+" — so that a
/// spreadsheet reads it as text; other numbers as they are.
fn dialled_from(phone: &str, shop_country: Country) -> String {
    match phone.strip_prefix('+') {
        Some(rest) => {
            let idd = match shop_country {
                Country::FR => "00",
                Country::CA => "011",
            };
            format!("{idd} {rest}")
        }
        None => phone.to_string(),
    }
}

/// Rule: a cell that is exactly an E.164 number ("+" then 6 to 15 digits) carries no formula.
fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| (6..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

fn headers(lang: Lang) -> Vec<String> {
    HEADERS.iter().map(|h| tr(lang, &format!("export.header.{h}"), &[])).collect()
}

/// The name of the exported file.
pub fn file_name(format: ExportFormat, now: DateTime<Utc>, lang: Lang) -> String {
    format!(
        "{}-{}.{}",
        tr(lang, "export.file_stem", &[]),
        now.with_timezone(&chrono::Local).format("%Y-%m-%d"),
        format.extension()
    )
}

impl Store {
    /// Write the customers of `scope` to `out`; returns how many.
    pub fn export_customers(&self, scope: &ExportScope, format: ExportFormat, out: &mut dyn Write) -> Result<u64> {
        let s = self.settings()?;
        let lang = s.language;
        match format {
            ExportFormat::CsvExcelFr | ExportFormat::CsvStandard => {
                let (delim, bom) = if format == ExportFormat::CsvExcelFr { (b';', true) } else { (b',', false) };
                if bom {
                    out.write_all(b"\xEF\xBB\xBF")?;
                }
                let mut w =
                    csv::WriterBuilder::new().delimiter(delim).terminator(csv::Terminator::CRLF).from_writer(out);
                let csv_err = |e: csv::Error| Error::Io(std::io::Error::other(e.to_string()));
                w.write_record(headers(lang)).map_err(csv_err)?;
                let n = for_each(self.conn(), scope, self.now(), |l| {
                    let row: Vec<String> = cells(&l, format, lang, s.country)
                        .iter()
                        .zip(HEADERS)
                        .map(|(c, h)| if h == "phone" && is_e164(c) { c.clone() } else { neutralise(c) })
                        .collect();
                    w.write_record(&row).map_err(csv_err)
                })?;
                w.flush()?;
                Ok(n)
            }
            ExportFormat::Xlsx => {
                use rust_xlsxwriter::{Format, Workbook};
                let xerr = |e: rust_xlsxwriter::XlsxError| Error::Io(std::io::Error::other(e.to_string()));
                let mut wb = Workbook::new();
                let ws = wb.add_worksheet_with_constant_memory().map_err(xerr)?;
                ws.set_name(tr(lang, "export.sheet", &[])).map_err(xerr)?;
                let bold = Format::new().set_bold();
                for (i, h) in headers(lang).iter().enumerate() {
                    ws.write_string_with_format(0, i as u16, h, &bold).map_err(xerr)?;
                }
                let money = Format::new().set_num_format("0.00");
                let mut r = 0u32;
                for_each(self.conn(), scope, self.now(), |l| {
                    r += 1;
                    let c = cells(&l, format, lang, s.country);
                    for (i, v) in c.iter().enumerate() {
                        let col = i as u16;
                        match HEADERS[i] {
                            "id" | "points" | "visits" => {
                                ws.write_number(r, col, v.parse::<f64>().unwrap_or(0.0)).map_err(xerr)?
                            }
                            "spent" => {
                                ws.write_number_with_format(r, col, l.spent as f64 / 100.0, &money).map_err(xerr)?
                            }
                            // Phones, postcodes, cards and the rest as text: never a number.
                            _ if v.is_empty() => ws,
                            _ => ws.write_string(r, col, v).map_err(xerr)?,
                        };
                    }
                    Ok(())
                })?;
                let bytes = wb.save_to_buffer().map_err(xerr)?;
                out.write_all(&bytes)?;
                Ok(u64::from(r))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_phone_is_written_as_dialled_from_the_shop_and_reads_back() {
        for (e164, shop, written) in [
            ("+15145550199", Country::FR, "00 1 514-555-0199"),
            ("+33612345678", Country::CA, "011 33 6 12 34 56 78"),
            ("+33612345678", Country::FR, "06 12 34 56 78"),
            ("+15145550199", Country::CA, "(514) 555-0199"),
        ] {
            let w = dialled_from(&display_phone(e164, shop), shop);
            assert_eq!(w, written, "{e164} in a {shop:?} shop");
            assert!(!w.starts_with(['=', '+', '-', '@']), "{w}: nothing a spreadsheet computes, no apostrophe");
            let back = crate::phone::normalize(&w, shop).map(|p| p.e164);
            assert_eq!(back.as_deref(), Some(e164), "{w} reads back in the shop's country");
        }
    }

    #[test]
    fn only_a_plain_e164_number_escapes_neutralising() {
        assert!(is_e164("+15145550199"));
        for s in ["+1 514 555 0199", "+1514cmd|' /C calc'!A0", "+1", "+", "=1+1", "-15145550199", "+1234567890123456"] {
            assert!(!is_e164(s), "{s:?} is neutralised");
        }
    }

    #[test]
    fn the_quick_phone_format_is_the_full_one() {
        for (p, c) in [
            ("+33612345678", Country::FR),
            ("+33145678901", Country::FR),
            ("+15145550199", Country::CA),
            ("+15145550199", Country::FR),
            ("+33612345678", Country::CA),
            ("+442071234567", Country::FR),
        ] {
            assert_eq!(display_phone(p, c), crate::phone::display(p, c), "{p} in a {c:?} shop");
        }
    }
}
