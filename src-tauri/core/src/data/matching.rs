//! The customer record as an import sees it: the columns an import may set (and only these
//! names ever reach SQL text), a customer's current values of them (kept so an import can be
//! undone) and setting one back, finding the existing customer a row matches (normalised
//! email, then phone, then active card number) and the similar names reported, never merged.
//! Used by `import` and `undo`; uses neither.

use super::types::SimilarCustomer;
use crate::customers::{self, Normalized};
use crate::error::{Error, Result};
use crate::storage::{text_at, Tx};
use crate::types::CustomerId;
use rusqlite::{params, OptionalExtension};
use serde_json::{Map, Value};

/// The customer columns an import may set, with their stored column names. Only these names
/// ever reach SQL text.
const COLUMNS: [&str; 12] = [
    "first_name",
    "last_name",
    "email",
    "phone_e164",
    "address_line1",
    "address_line2",
    "postcode",
    "city",
    "country",
    "birthday",
    "language",
    "tags",
];

pub(crate) fn values_of(n: &Normalized) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("first_name", Some(n.first_name.clone()).filter(|s| !s.is_empty())),
        ("last_name", Some(n.last_name.clone()).filter(|s| !s.is_empty())),
        ("email", n.email.clone()),
        ("phone_e164", n.phone.as_ref().map(|p| p.e164.clone())),
        ("address_line1", n.line1.clone()),
        ("address_line2", n.line2.clone()),
        ("postcode", n.postcode.clone()),
        ("city", n.city.clone()),
        ("country", Some(n.country.code().to_string())),
        (
            "birthday",
            n.birthday.map(|b| format!("{}-{}-{}", b.day, b.month, b.year.map(|y| y.to_string()).unwrap_or_default())),
        ),
        ("language", Some(n.language.code().to_string())),
    ]
}

/// The stored values of the columns an import may set.
pub(crate) fn current_values(tx: &Tx, id: CustomerId) -> Result<Map<String, Value>> {
    Ok(tx.query_row(
        "SELECT first_name, last_name, email, phone_e164, address_line1, address_line2, postcode, city, country,
                birthday_day, birthday_month, birthday_year, language FROM customers WHERE id = ?1",
        [id],
        |r| {
            let mut m = Map::new();
            for (i, c) in COLUMNS[..9].iter().enumerate() {
                let v: Option<String> = r.get(i)?;
                m.insert(c.to_string(), v.filter(|s| !s.is_empty()).map(Value::String).unwrap_or(Value::Null));
            }
            let (d, mo, y): (Option<i64>, Option<i64>, Option<i64>) = (r.get(9)?, r.get(10)?, r.get(11)?);
            let b = match (d, mo) {
                (Some(d), Some(mo)) => {
                    Value::String(format!("{d}-{mo}-{}", y.map(|y| y.to_string()).unwrap_or_default()))
                }
                _ => Value::Null,
            };
            m.insert("birthday".into(), b);
            m.insert("language".into(), Value::String(r.get(12)?));
            Ok(m)
        },
    )?)
}

/// Write one column (and what derives from it: folded names, normalised email, phone digits,
/// birthday parts). `col` is one of `COLUMNS`.
pub(crate) fn set_column(tx: &Tx, id: CustomerId, col: &str, v: Option<&str>) -> Result<()> {
    match col {
        "first_name" | "last_name" => {
            let fold_col = if col == "first_name" { "first_fold" } else { "last_fold" };
            let v = v.unwrap_or("");
            tx.execute(
                &format!("UPDATE customers SET {col} = ?2, {fold_col} = ?3 WHERE id = ?1"),
                params![id, v, crate::text::fold(v)],
            )?;
        }
        "email" => {
            tx.execute(
                "UPDATE customers SET email = ?2, email_norm = ?3 WHERE id = ?1",
                params![id, v, v.map(crate::text::normalize_email)],
            )?;
        }
        "phone_e164" => {
            // Read in the shop's country (a Québec shop's numbers are not French ones).
            let country = crate::settings::read(tx)?.country;
            let p = v.and_then(|v| crate::phone::normalize(v, country));
            tx.execute(
                "UPDATE customers SET phone_e164 = ?2, phone_digits = ?3 WHERE id = ?1",
                params![id, p.as_ref().map(|p| p.e164.clone()), p.map(|p| p.search_digits).unwrap_or_default()],
            )?;
        }
        "birthday" => {
            let parts: Vec<Option<i64>> = v.map(|s| s.split('-').map(|p| p.parse().ok()).collect()).unwrap_or_default();
            let at = |i: usize| parts.get(i).copied().flatten();
            tx.execute(
                "UPDATE customers SET birthday_day = ?2, birthday_month = ?3, birthday_year = ?4 WHERE id = ?1",
                params![id, at(0), at(1), at(2)],
            )?;
        }
        "country" | "language" => {
            if let Some(v) = v {
                tx.execute(&format!("UPDATE customers SET {col} = ?2 WHERE id = ?1"), params![id, v])?;
            }
        }
        "address_line1" | "address_line2" | "postcode" | "city" => {
            tx.execute(&format!("UPDATE customers SET {col} = ?2 WHERE id = ?1"), params![id, v])?;
        }
        _ => return Err(Error::invalid("column", "field.import_column_unknown")),
    }
    Ok(())
}

/// What the matching found for a row.
#[derive(Default)]
pub(crate) struct Found {
    /// The existing customer the row is.
    pub id: Option<CustomerId>,
    /// A customer who has the row's phone under another email, if the row matched no one:
    /// someone sharing the phone (a household, a shop's landline), kept apart and reported.
    pub shared_phone: Option<CustomerId>,
    /// The row's card is the active card of someone the row is not (`card_names_holder`):
    /// an earlier row of the file with that card is not this row's person either.
    pub card_of_another: bool,
}

/// The existing customer a row is. Rule: the same normalised email; else the same phone,
/// unless that customer has another email than the row's (two emails on one phone are two
/// people: merged, one's consent would be recorded on the other, and an overwrite would put
/// one's address on the other's record), and for a row without email, unless the phone's
/// holders have two emails between them and not exactly one of them the row's name (which of
/// the two it is cannot be told); else the
/// same active card, the holder's own whatever the email (an export whose email was corrected
/// in the spreadsheet still finds its customer) unless the names say it is someone else
/// (`card_names_holder`).
pub(crate) fn find_match(tx: &Tx, n: &Normalized, card: Option<&str>) -> Result<Found> {
    if let Some(e) = &n.email_norm {
        let id = tx
            .prepare_cached(
                "SELECT id FROM customers WHERE email_norm = ?1 AND merged_into IS NULL
                 ORDER BY archived_at IS NOT NULL, id LIMIT 1",
            )?
            .query_row([e], |r| r.get(0))
            .optional()?;
        if id.is_some() {
            return Ok(Found { id, shared_phone: None, card_of_another: false });
        }
    }
    let mut shared_phone = None;
    if let Some(p) = &n.phone {
        // A holder with no email (or the row's) first; one with another email only reported.
        let holder: Option<(CustomerId, bool)> = tx
            .prepare_cached(
                "SELECT id, ?2 IS NOT NULL AND email_norm IS NOT NULL AND email_norm <> ?2 AS other_email
                 FROM customers WHERE phone_e164 = ?1 AND merged_into IS NULL
                 ORDER BY other_email, archived_at IS NOT NULL, id LIMIT 1",
            )?
            .query_row(params![&p.e164, n.email_norm], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match holder {
            Some((id, false)) if n.email_norm.is_some() || !two_emails_on(tx, &p.e164)? => {
                return Ok(Found { id: Some(id), shared_phone: None, card_of_another: false })
            }
            // A row without email whose phone two people hold under their own emails is the
            // one of them with its name, or neither: taken as the older, one's unsubscribe
            // would land on the other.
            Some((id, false)) => match named_holder(tx, &p.e164, n)? {
                Some(named) => return Ok(Found { id: Some(named), shared_phone: None, card_of_another: false }),
                None => shared_phone = Some(id),
            },
            Some((id, true)) => shared_phone = Some(id),
            None => {}
        }
    }
    let mut card_of_another = false;
    if let Some(c) = card {
        let holder: Option<Holder> = tx
            .prepare_cached(
                "SELECT k.customer_id, c.first_fold, c.last_fold, c.email_norm, c.phone_e164
                 FROM cards k JOIN customers c ON c.id = k.customer_id
                 WHERE k.number = ?1 AND k.status = 'active' AND c.merged_into IS NULL",
            )?
            .query_row([c], |r| {
                Ok(Holder { id: r.get(0)?, first: r.get(1)?, last: r.get(2)?, email: r.get(3)?, phone: r.get(4)? })
            })
            .optional()?;
        if let Some(h) = holder {
            if card_names_holder(n, &h) {
                return Ok(Found { id: Some(h.id), shared_phone: None, card_of_another: false });
            }
            card_of_another = true;
        }
    }
    Ok(Found { id: None, shared_phone, card_of_another })
}

/// The holder of an active card, as `card_names_holder` compares them with a row.
pub(crate) struct Holder {
    pub id: CustomerId,
    /// Folded names.
    pub first: String,
    pub last: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Rule: a card number alone names the holder only when nothing says it is someone else.
/// Another Comptoir shop's export brings numbers of the same sequence as this shop's cards;
/// its Alice must not become this shop's Bob (under "overwrite", Bob's email and name would
/// be replaced by hers). With a name on both sides: the same last name (or one whole part of
/// the other's double name) with a first name that fits (the same, an initial, or missing),
/// or the whole name either way round. Without a name on one side (an
/// address in place of a name counts as none), or with the same first name and no last name
/// on one side: the holder's, unless the row brings another
/// address than the holder's without a phone in common (an export whose email was corrected
/// in the spreadsheet still finds its customer by the card and the phone). A row whose card
/// is someone else's is a new customer, and the number is reported as taken.
pub(crate) fn card_names_holder(n: &Normalized, h: &Holder) -> bool {
    let other_email = matches!((&n.email_norm, &h.email), (Some(a), Some(b)) if a != b);
    let same_phone = matches!((&n.phone, &h.phone), (Some(a), Some(b)) if &a.e164 == b);
    let no_other_address = !other_email || same_phone;
    let nameless = |first: &str, last: &str| first.is_empty() && (last.is_empty() || last.contains('@'));
    if nameless(&n.first_fold, &n.last_fold) || nameless(&h.first, &h.last) {
        return no_other_address;
    }
    let squash = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).collect::<String>();
    let (rf, rl, hf, hl) = (squash(&n.first_fold), squash(&n.last_fold), squash(&h.first), squash(&h.last));
    // A first name alone on one side (a file whose one name column holds first names) that is
    // the other's first name says no more than no name: the addresses decide, as above.
    if rf == hf && !rf.is_empty() && (rl.is_empty() || hl.is_empty()) {
        return no_other_address;
    }
    // A first name fits the same one, its initial, or none (Jean is not Jeanne).
    let fits = |a: &str, b: &str| {
        a == b
            || a.is_empty()
            || b.is_empty()
            || (a.len() == 1 && b.starts_with(a))
            || (b.len() == 1 && a.starts_with(b))
    };
    // A last name is the same, or one whole part of the other's double name (Dupont in
    // Dupont-Martin or Martin-Dupont; Martin is not Martinez).
    let parts = |s: &str| {
        s.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()).map(str::to_string).collect::<Vec<_>>()
    };
    let (rparts, hparts) = (parts(&n.last_fold), parts(&h.last));
    let same_last =
        rl == hl || (rparts.len() == 1 && hparts.contains(&rl)) || (hparts.len() == 1 && rparts.contains(&hl));
    let row_whole = format!("{rf}{rl}");
    (!rl.is_empty() && same_last && fits(&rf, &hf))
        || (!rl.is_empty() && rl == hf && rf == hl)
        || row_whole == format!("{hf}{hl}")
        || row_whole == format!("{hl}{hf}")
}

/// Whether the customers holding `phone` have two emails or more between them (they stop
/// being counted at the second: a shop's number typed for every customer costs no more).
fn two_emails_on(tx: &Tx, phone: &str) -> Result<bool> {
    let n: i64 = tx
        .prepare_cached(
            "SELECT count(*) FROM (SELECT DISTINCT email_norm FROM customers
             WHERE phone_e164 = ?1 AND merged_into IS NULL AND email_norm IS NOT NULL LIMIT 2)",
        )?
        .query_row([phone], |r| r.get(0))?;
    Ok(n >= 2)
}

/// The one customer holding `phone` under the row's name, if exactly one does: the whole
/// name compared, first and last either way round (a full name split in the file's order,
/// "Jean Pierre / Côté" for "Jean / Pierre Côté").
fn named_holder(tx: &Tx, phone: &str, n: &Normalized) -> Result<Option<CustomerId>> {
    let name = format!("{} {}", n.first_fold, n.last_fold).trim().to_string();
    let ids: Vec<CustomerId> = tx
        .prepare_cached(
            "SELECT id FROM customers WHERE phone_e164 = ?1 AND merged_into IS NULL
             AND (trim(first_fold || ' ' || last_fold) = ?2 OR trim(last_fold || ' ' || first_fold) = ?2) LIMIT 2",
        )?
        .query_map(params![phone, name], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(match ids[..] {
        [id] => Some(id),
        _ => None,
    })
}

/// The customer `id` as the report names one who has a row's phone under another email.
pub(crate) fn shared_phone(tx: &Tx, id: CustomerId) -> Result<SimilarCustomer> {
    let (f, l): (String, String) = tx
        .prepare_cached("SELECT first_name, last_name FROM customers WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(SimilarCustomer { id, name: customers::display_name(&f, &l), same_phone: true })
}

/// A postcode of up to this many customers is compared whole with a new name.
const NEIGHBOURS: i64 = 300;
/// In a more crowded postcode (a town's file), the new name is compared with this many
/// customers on each side of it in name order, and of its words swapped
/// (`customers::around_name`).
const WINDOW: i64 = 25;
/// At most this many similar customers are reported for a row: a common name in a crowded
/// postcode would otherwise list dozens, which tells the merchant nothing more.
const MAX_SIMILAR: usize = 5;

/// The customers whose name is very similar to the new customer `exclude`'s. `crowded` holds the
/// postcodes found crowded so far in this import.
pub(crate) fn similar(
    tx: &Tx,
    n: &Normalized,
    exclude: CustomerId,
    crowded: &mut std::collections::HashSet<String>,
) -> Result<Vec<SimilarCustomer>> {
    let mut out = Vec::new();
    let mut st = tx.prepare_cached(
        "SELECT id, first_name, last_name FROM customers WHERE last_fold = ?1 AND first_fold = ?2 AND merged_into IS NULL AND id != ?3 LIMIT 3",
    )?;
    let rows = st.query_map(params![n.last_fold, n.first_fold, exclude], |r| {
        Ok(SimilarCustomer {
            id: r.get(0)?,
            name: customers::display_name(&r.get::<_, String>(1)?, &r.get::<_, String>(2)?),
            same_phone: false,
        })
    })?;
    for r in rows {
        out.push(r?);
    }
    if let Some(pc) = &n.postcode {
        // The folded names come from the postcode's index alone (migration 18: no table row
        // read, no allocation per customer); the display names of the few similar ones are
        // read after. A postcode of up to `NEIGHBOURS` customers is compared whole; a more
        // crowded one around the new name (`WINDOW`), not with whichever come first.
        let probe = customers::NameProbe::new(&n.first_fold, &n.last_fold);
        let mut found: Vec<CustomerId> = Vec::new();
        // Returns how many customers it read.
        let mut compare = |r: &rusqlite::Row| -> Result<()> {
            if out.len() + found.len() >= MAX_SIMILAR {
                return Ok(());
            }
            let id: CustomerId = r.get(0)?;
            if !out.iter().any(|s| s.id == id) && !found.contains(&id) && probe.matches(text_at(r, 1)?, text_at(r, 2)?)
            {
                found.push(id);
            }
            Ok(())
        };
        let mut is_crowded = crowded.contains(pc.as_str());
        if !is_crowded {
            // Compared whole, counted on the way: past `NEIGHBOURS`, the postcode is crowded
            // for the rest of the import (its new customers only add to it).
            let mut st = tx.prepare_cached(
                "SELECT id, first_fold, last_fold FROM customers WHERE postcode = ?1 AND merged_into IS NULL AND id != ?2 LIMIT ?3",
            )?;
            let mut rows = st.query(params![pc, exclude, NEIGHBOURS + 1])?;
            let mut seen = 0;
            while let Some(r) = rows.next()? {
                seen += 1;
                compare(r)?;
            }
            is_crowded = seen > NEIGHBOURS;
            if is_crowded {
                crowded.insert(pc.clone());
            }
        }
        if is_crowded {
            customers::around_name(tx, pc, &n.first_fold, &n.last_fold, exclude, WINDOW, &mut compare)?;
        }
        let mut name = tx.prepare_cached("SELECT first_name, last_name FROM customers WHERE id = ?1")?;
        for id in found {
            let (f, l): (String, String) = name.query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            out.push(SimilarCustomer { id, name: customers::display_name(&f, &l), same_phone: false });
        }
    }
    Ok(out)
}
