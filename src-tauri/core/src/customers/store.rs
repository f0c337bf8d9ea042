//! Customer storage: every write runs inside `Store::transact`.

use super::duplicates::{DuplicateMatch, DuplicateReason, NameProbe};
use super::rules::{validate, validate_note, Normalized};
use super::*;
use crate::error::{Error, Result};
use crate::phone;
use crate::storage::{text_at, Store, Tx};
use crate::types::Outcome;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// The columns `summary_from_row` reads, for a `customers c` row.
macro_rules! summary_columns {
    () => {
        "c.id, c.first_name, c.last_name, c.email, c.phone_e164, \
         (SELECT number FROM cards WHERE customer_id = c.id AND status = 'active' ORDER BY id DESC LIMIT 1), \
         c.postcode, c.city, c.visit_count, c.total_spent_cents, c.last_purchase_at, c.archived_at IS NOT NULL"
    };
}
pub(crate) use summary_columns;

pub(crate) fn summary_from_row(row: &Row, shop_country: Country) -> rusqlite::Result<CustomerSummary> {
    let first: String = row.get(1)?;
    let last: String = row.get(2)?;
    let phone_e164: Option<String> = row.get(4)?;
    Ok(CustomerSummary {
        id: row.get(0)?,
        display_name: display_name(&first, &last),
        email: row.get(3)?,
        phone_display: phone_e164.map(|p| phone::display(&p, shop_country)),
        card_number: row.get(5)?,
        postcode: row.get(6)?,
        city: row.get(7)?,
        visit_count: row.get(8)?,
        total_spent_cents: row.get(9)?,
        last_purchase_at: row.get(10)?,
        archived: row.get(11)?,
    })
}

/// Summaries of the given customers, in the given order (unknown ids are skipped).
pub(crate) fn summaries(conn: &Connection, ids: &[CustomerId], shop_country: Country) -> Result<Vec<CustomerSummary>> {
    let mut stmt = conn.prepare_cached(concat!("SELECT ", summary_columns!(), " FROM customers c WHERE c.id = ?1"))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(s) = stmt.query_row([id], |r| summary_from_row(r, shop_country)).optional()? {
            out.push(s);
        }
    }
    Ok(out)
}

/// Fails with `not_found` unless the customer exists (merged or not).
pub(crate) fn ensure_exists(conn: &Connection, id: CustomerId) -> Result<()> {
    let found: Option<i64> = conn.query_row("SELECT 1 FROM customers WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    found.map(|_| ()).ok_or_else(|| Error::not_found("customer", id))
}

/// Fails with `not_found` unless the customer exists and was not merged into another.
pub(crate) fn ensure_customer(conn: &Connection, id: CustomerId) -> Result<()> {
    let merged: Option<Option<i64>> = conn
        .prepare_cached("SELECT merged_into FROM customers WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    match merged {
        Some(None) => Ok(()),
        Some(Some(_)) => Err(Error::conflict("conflict.customer_merged")),
        None => Err(Error::not_found("customer", id)),
    }
}

pub(crate) fn write_event(tx: &Tx, id: CustomerId, kind: &str, data: serde_json::Value) -> Result<()> {
    tx.prepare_cached("INSERT INTO customer_events (customer_id, kind, at, data) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![id, kind, tx.now, data.to_string()])?;
    Ok(())
}

/// Run `sql` with a customer's stored fields bound as ?1..?17 in `Normalized` order, the
/// write time as ?18 and the id as ?19 (NULL on insert: SQLite assigns the next id).
pub(crate) fn write_fields(tx: &Tx, sql: &str, n: &Normalized, id: Option<CustomerId>) -> Result<usize> {
    let phone_e164 = n.phone.as_ref().map(|p| p.e164.as_str());
    let phone_digits = n.phone.as_ref().map(|p| p.search_digits.as_str()).unwrap_or("");
    let birthday = (n.birthday.map(|b| b.day), n.birthday.map(|b| b.month), n.birthday.and_then(|b| b.year));
    Ok(tx.prepare_cached(sql)?.execute(params![
        n.first_name,
        n.last_name,
        n.first_fold,
        n.last_fold,
        n.email,
        n.email_norm,
        phone_e164,
        phone_digits,
        n.line1,
        n.line2,
        n.postcode,
        n.city,
        n.country.code(),
        birthday.0,
        birthday.1,
        birthday.2,
        n.language.code(),
        tx.now,
        id
    ])?)
}

pub(crate) fn write_tags(tx: &Tx, id: CustomerId, tags: &[String]) -> Result<()> {
    tx.execute("DELETE FROM customer_tags WHERE customer_id = ?1", [id])?;
    let mut stmt =
        tx.prepare_cached("INSERT OR IGNORE INTO customer_tags (customer_id, tag, tag_fold) VALUES (?1, ?2, ?3)")?;
    for t in tags {
        stmt.execute(params![id, t, crate::text::fold(t)])?;
    }
    Ok(())
}

/// Record a consent without touching the suppression list: for an import, whose file says
/// itself which addresses are unsubscribed, and for an import undo putting the earlier state
/// back. Returns the cleaned wording.
pub(crate) fn insert_consent(tx: &Tx, id: CustomerId, c: &ConsentInput) -> Result<Option<String>> {
    let wording = crate::text::clean_multiline(&c.wording);
    if wording.as_ref().is_some_and(|w| w.chars().count() > MAX_NOTE) {
        return Err(Error::Validation(vec![
            crate::error::FieldError::new("consent.wording", "field.too_long").arg("max", MAX_NOTE)
        ]));
    }
    tx.prepare_cached(
        "INSERT INTO consents (customer_id, channel, granted, basis, source, wording, recorded_at) VALUES (?1, 'email', ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, c.choice != ConsentChoice::Refused, c.choice.code(), c.source.code(), wording, tx.now])?;
    Ok(wording)
}

/// Record a consent the person gave or refused; the address follows their word.
pub(crate) fn write_consent(tx: &Tx, id: CustomerId, c: &ConsentInput) -> Result<()> {
    let wording = insert_consent(tx, id, c)?;
    // The address follows the person's word: a refusal suppresses it (every record carrying it
    // stops receiving); agreeing again in person (at the counter, on a signed form) lifts an
    // unsubscribe — never a bounce or a complaint.
    let email: Option<String> =
        tx.prepare_cached("SELECT email_norm FROM customers WHERE id = ?1")?.query_row([id], |r| r.get(0))?;
    if let Some(email) = email.filter(|e| !e.is_empty()) {
        use crate::campaigns::suppression::{is_suppressed, only_unsubscribed, suppress, SuppressionReason};
        match c.choice {
            ConsentChoice::Refused => {
                suppress(
                    tx,
                    &email,
                    SuppressionReason::Unsubscribed,
                    c.source.code(),
                    wording.as_deref(),
                    Some(id),
                    None,
                )?;
            }
            ConsentChoice::Express
                if matches!(c.source, ConsentSource::Counter | ConsentSource::PaperForm)
                    && is_suppressed(tx, &email)?.is_some()
                    && only_unsubscribed(tx, &email)? =>
            {
                tx.execute(
                    "INSERT INTO suppressions (email_norm, action, reason, source, detail, customer_id, at) VALUES (?1, 'lift', 'unsubscribed', ?2, 'consent given again', ?3, ?4)",
                    params![email, c.source.code(), id, tx.now],
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn insert_note(tx: &Tx, id: CustomerId, body: &str) -> Result<i64> {
    tx.prepare_cached("INSERT INTO notes (customer_id, body, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![id, body, tx.now])?;
    Ok(tx.last_insert_rowid())
}

/// The columns a form edits, in `Normalized` order, for comparison and update.
fn stored_fields(n: &Normalized) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("first_name", Some(n.first_name.clone())),
        ("last_name", Some(n.last_name.clone())),
        ("email", n.email.clone()),
        ("phone", n.phone.as_ref().map(|p| p.e164.clone())),
        ("address.line1", n.line1.clone()),
        ("address.line2", n.line2.clone()),
        ("address.postcode", n.postcode.clone()),
        ("address.city", n.city.clone()),
        ("address.country", Some(n.country.code().to_string())),
        ("birthday", n.birthday.map(|b| format!("{}-{}-{:?}", b.day, b.month, b.year))),
        ("language", Some(n.language.code().to_string())),
        ("tags", Some(sorted_tags(&n.tags).join("\u{1f}"))),
    ]
}

fn sorted_tags(tags: &[String]) -> Vec<String> {
    let mut t = tags.to_vec();
    t.sort_by_cached_key(|t| crate::text::fold(t));
    t
}

/// The INSERT of a new customer's fields, for `write_fields` (the import uses it too).
pub(crate) const INSERT_CUSTOMER: &str =
    "INSERT INTO customers (first_name, last_name, first_fold, last_fold, email, email_norm, phone_e164,
       phone_digits, address_line1, address_line2, postcode, city, country, birthday_day, birthday_month,
       birthday_year, language, created_at, updated_at, id)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18, ?19)";

impl Store {
    fn normalize_input(&self, input: &CustomerInput) -> Result<Normalized> {
        let s = self.settings()?;
        validate(input, s.country, s.language, self.now().date_naive())
    }

    /// Add a customer (with an optional consent and first note) and issue their card.
    pub fn create_customer(&mut self, new: &NewCustomer, key: Option<&str>) -> Result<Outcome<CustomerId>> {
        self.create_customer_linked(new, None, key)
    }

    /// Add a customer and, when `referred_by` is given, link them to their referrer in the
    /// same transaction (a refused link writes nothing, the customer included).
    pub(crate) fn create_customer_linked(
        &mut self,
        new: &NewCustomer,
        referred_by: Option<&crate::referrals::ReferrerLink>,
        key: Option<&str>,
    ) -> Result<Outcome<CustomerId>> {
        let n = self.normalize_input(&new.customer)?;
        let note = match crate::text::clean_multiline(&new.note) {
            Some(_) => Some(validate_note(&new.note)?),
            None => None,
        };
        // The referrer is part of the input: the same key with another referrer is refused.
        self.transact(("customer.create", &(new, referred_by)), key, |tx| {
            write_fields(tx, INSERT_CUSTOMER, &n, None)?;
            let id = tx.last_insert_rowid();
            write_tags(tx, id, &n.tags)?;
            if let Some(c) = &new.consent {
                write_consent(tx, id, c)?;
            }
            if let Some(body) = &note {
                insert_note(tx, id, body)?;
            }
            crate::cards::issue(tx, id)?;
            write_event(tx, id, "created", serde_json::json!({}))?;
            if let Some(link) = referred_by {
                crate::referrals::link_new_tx(tx, id, link)?;
            }
            tx.changes.customer(id);
            Ok(id)
        })
    }

    /// Edit a customer. The timeline records which fields changed.
    pub fn update_customer(&mut self, id: CustomerId, input: &CustomerInput, key: Option<&str>) -> Result<Outcome<()>> {
        let n = self.normalize_input(input)?;
        self.transact(("customer.update", &(id, input)), key, |tx| {
            ensure_customer(tx, id)?;
            let before = load_normalized(tx, id)?;
            let changed: Vec<&str> = stored_fields(&before)
                .into_iter()
                .zip(stored_fields(&n))
                .filter(|(a, b)| a.1 != b.1)
                .map(|(a, _)| a.0)
                .collect();
            if changed.is_empty() {
                return Ok(());
            }
            write_fields(
                tx,
                "UPDATE customers SET first_name = ?1, last_name = ?2, first_fold = ?3, last_fold = ?4, email = ?5,
                   email_norm = ?6, phone_e164 = ?7, phone_digits = ?8, address_line1 = ?9, address_line2 = ?10,
                   postcode = ?11, city = ?12, country = ?13, birthday_day = ?14, birthday_month = ?15,
                   birthday_year = ?16, language = ?17, updated_at = ?18
                 WHERE id = ?19",
                &n,
                Some(id),
            )?;
            write_tags(tx, id, &n.tags)?;
            write_event(tx, id, "edited", serde_json::json!({ "fields": changed }))?;
            crate::referrals::on_contact_change(tx, id)?;
            tx.changes.customer(id);
            Ok(())
        })
    }

    /// Archive a customer: hidden from lists and search, history kept, restorable.
    pub fn archive_customer(&mut self, id: CustomerId, key: Option<&str>) -> Result<Outcome<()>> {
        self.transact(("customer.archive", &id), key, |tx| {
            ensure_customer(tx, id)?;
            let n = tx.execute(
                "UPDATE customers SET archived_at = ?2, updated_at = ?2 WHERE id = ?1 AND archived_at IS NULL",
                params![id, tx.now],
            )?;
            if n == 1 {
                write_event(tx, id, "archived", serde_json::json!({}))?;
                tx.changes.customer(id);
            }
            Ok(())
        })
    }

    pub fn restore_customer(&mut self, id: CustomerId, key: Option<&str>) -> Result<Outcome<()>> {
        self.transact(("customer.restore", &id), key, |tx| {
            ensure_customer(tx, id)?;
            let n = tx.execute(
                "UPDATE customers SET archived_at = NULL, updated_at = ?2 WHERE id = ?1 AND archived_at IS NOT NULL",
                params![id, tx.now],
            )?;
            if n == 1 {
                write_event(tx, id, "restored", serde_json::json!({}))?;
                tx.changes.customer(id);
            }
            Ok(())
        })
    }

    /// Record the customer's current answer about email marketing (a new record; the
    /// history is kept as proof).
    pub fn set_consent(&mut self, id: CustomerId, consent: &ConsentInput, key: Option<&str>) -> Result<Outcome<()>> {
        self.transact(("customer.consent", &(id, consent)), key, |tx| {
            ensure_customer(tx, id)?;
            write_consent(tx, id, consent)?;
            tx.changes.customer(id);
            Ok(())
        })
    }

    pub fn add_note(&mut self, id: CustomerId, body: &str, key: Option<&str>) -> Result<Outcome<i64>> {
        let body = validate_note(body)?;
        self.transact(("customer.note", &(id, &body)), key, |tx| {
            ensure_customer(tx, id)?;
            let note = insert_note(tx, id, &body)?;
            tx.changes.customer(id);
            Ok(note)
        })
    }

    /// The whole record of one customer.
    pub fn customer(&self, id: CustomerId) -> Result<Customer> {
        let country = self.settings()?.country;
        let conn = self.conn();
        let c = conn
            .query_row(
                "SELECT id, first_name, last_name, email, phone_e164, address_line1, address_line2, postcode, city, country,
                        birthday_day, birthday_month, birthday_year, language, created_at, updated_at, archived_at, merged_into,
                        visit_count, total_spent_cents, first_purchase_at, last_purchase_at,
                        (SELECT number FROM cards WHERE customer_id = customers.id AND status = 'active' ORDER BY id DESC LIMIT 1)
                 FROM customers WHERE id = ?1",
                [id],
                |r| {
                    let first: String = r.get(1)?;
                    let last: String = r.get(2)?;
                    let phone_e164: Option<String> = r.get(4)?;
                    let day: Option<u8> = r.get(10)?;
                    let month: Option<u8> = r.get(11)?;
                    let visit_count: i64 = r.get(18)?;
                    let total: i64 = r.get(19)?;
                    Ok(Customer {
                        id: r.get(0)?,
                        display_name: display_name(&first, &last),
                        first_name: first,
                        last_name: last,
                        email: r.get(3)?,
                        phone_display: phone_e164.as_deref().map(|p| phone::display(p, country)),
                        phone_e164,
                        address: Address {
                            line1: r.get(5)?,
                            line2: r.get(6)?,
                            postcode: r.get(7)?,
                            city: r.get(8)?,
                            country: Country::parse(&r.get::<_, String>(9)?).unwrap_or_default(),
                        },
                        birthday: match (day, month) {
                            (Some(day), Some(month)) => Some(Birthday { day, month, year: r.get(12)? }),
                            _ => None,
                        },
                        language: Lang::parse(&r.get::<_, String>(13)?).unwrap_or_default(),
                        created_at: r.get(14)?,
                        updated_at: r.get(15)?,
                        archived_at: r.get(16)?,
                        merged_into: r.get(17)?,
                        figures: Figures {
                            visit_count,
                            total_spent_cents: total,
                            average_basket_cents: average_basket(total, visit_count),
                            first_purchase_at: r.get(20)?,
                            last_purchase_at: r.get(21)?,
                        },
                        card_number: r.get(22)?,
                        tags: Vec::new(),
                        consent: None,
                        suppression: None,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| Error::not_found("customer", id))?;
        let mut c = c;
        c.tags = tags_of(conn, id)?;
        c.consent = current_consent(conn, id)?;
        if let Some(email) = c.email.as_deref() {
            c.suppression = crate::campaigns::suppression::is_suppressed(conn, email)?;
        }
        Ok(c)
    }

    /// Customers who may be the same person as the one being typed: same normalised email or
    /// phone, or a very similar name at the same postcode. Merged customers are left out.
    pub fn possible_duplicates(
        &self,
        input: &CustomerInput,
        exclude: Option<CustomerId>,
    ) -> Result<Vec<DuplicateMatch>> {
        let s = self.settings()?;
        let first = crate::text::fold(&input.first_name);
        let last = crate::text::fold(&input.last_name);
        let email = crate::text::clean(&input.email).map(|e| crate::text::normalize_email(&e));
        let phone = crate::text::clean(&input.phone).and_then(|p| phone::normalize(&p, s.country));
        let country = input.address.country.unwrap_or(s.country);
        let postcode = crate::text::clean(&input.address.postcode).and_then(|p| rules::normalize_postcode(&p, country));
        let conn = self.conn();
        let mut found: Vec<(CustomerId, DuplicateReason)> = Vec::new();
        let exclude = exclude.unwrap_or(-1);
        if let Some(e) = &email {
            let mut st = conn.prepare_cached(
                "SELECT id FROM customers WHERE email_norm = ?1 AND merged_into IS NULL AND id != ?2 LIMIT 10",
            )?;
            for id in st.query_map(params![e, exclude], |r| r.get(0))? {
                found.push((id?, DuplicateReason::SameEmail));
            }
        }
        if let Some(p) = &phone {
            let mut st = conn.prepare_cached(
                "SELECT id FROM customers WHERE phone_e164 = ?1 AND merged_into IS NULL AND id != ?2 LIMIT 10",
            )?;
            for id in st.query_map(params![p.e164, exclude], |r| r.get(0))? {
                found.push((id?, DuplicateReason::SamePhone));
            }
        }
        if let Some(pc) = &postcode {
            let mut st = conn.prepare_cached(
                "SELECT id, first_fold, last_fold FROM customers WHERE postcode = ?1 AND merged_into IS NULL AND id != ?2 LIMIT 5000",
            )?;
            let probe = NameProbe::new(&first, &last);
            let mut compare = |r: &rusqlite::Row| -> Result<()> {
                let id: CustomerId = r.get(0)?;
                if probe.matches(text_at(r, 1)?, text_at(r, 2)?)
                    && !found.contains(&(id, DuplicateReason::SimilarNameSamePostcode))
                {
                    found.push((id, DuplicateReason::SimilarNameSamePostcode));
                }
                Ok(())
            };
            let mut rows = st.query(params![pc, exclude])?;
            let mut seen = 0;
            while let Some(r) = rows.next()? {
                seen += 1;
                compare(r)?;
            }
            // A postcode of more: those read are in name order from its start; the customers
            // nearest the name are compared too.
            if seen == 5000 {
                super::around_name(conn, pc, &first, &last, exclude, 25, &mut compare)?;
            }
        }
        let mut ids: Vec<CustomerId> = Vec::new();
        for (id, _) in &found {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        let summaries = summaries(conn, &ids, s.country)?;
        Ok(summaries
            .into_iter()
            .map(|customer| {
                let reasons = found.iter().filter(|(id, _)| *id == customer.id).map(|(_, r)| *r).collect();
                DuplicateMatch { customer, reasons }
            })
            .collect())
    }
}

pub(crate) fn tags_of(conn: &Connection, id: CustomerId) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT tag FROM customer_tags WHERE customer_id = ?1 ORDER BY tag_fold")?;
    let tags = st.query_map([id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(tags)
}

pub(crate) fn current_consent(conn: &Connection, id: CustomerId) -> Result<Option<ConsentRecord>> {
    Ok(conn
        .query_row(
            "SELECT basis, source, wording, recorded_at FROM consents WHERE customer_id = ?1 ORDER BY id DESC LIMIT 1",
            [id],
            |r| {
                Ok(ConsentRecord {
                    choice: ConsentChoice::parse(&r.get::<_, String>(0)?).unwrap_or(ConsentChoice::Refused),
                    source: ConsentSource::parse(&r.get::<_, String>(1)?).unwrap_or(ConsentSource::Counter),
                    wording: r.get(2)?,
                    recorded_at: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// The stored record in `Normalized` form, to tell which fields an edit changes.
fn load_normalized(conn: &Connection, id: CustomerId) -> Result<Normalized> {
    let mut n = conn.query_row(
        "SELECT first_name, last_name, first_fold, last_fold, email, email_norm, phone_e164, phone_digits, address_line1, address_line2,
                postcode, city, country, birthday_day, birthday_month, birthday_year, language
         FROM customers WHERE id = ?1",
        [id],
        |r| {
            let e164: Option<String> = r.get(6)?;
            let day: Option<u8> = r.get(13)?;
            let month: Option<u8> = r.get(14)?;
            Ok(Normalized {
                first_name: r.get(0)?,
                last_name: r.get(1)?,
                first_fold: r.get(2)?,
                last_fold: r.get(3)?,
                email: r.get(4)?,
                email_norm: r.get(5)?,
                phone: match e164 {
                    Some(e164) => Some(crate::phone::Phone { e164, search_digits: r.get(7)? }),
                    None => None,
                },
                line1: r.get(8)?,
                line2: r.get(9)?,
                postcode: r.get(10)?,
                city: r.get(11)?,
                country: Country::parse(&r.get::<_, String>(12)?).unwrap_or_default(),
                birthday: match (day, month) {
                    (Some(day), Some(month)) => Some(Birthday { day, month, year: r.get(15)? }),
                    _ => None,
                },
                language: Lang::parse(&r.get::<_, String>(16)?).unwrap_or_default(),
                tags: Vec::new(),
            })
        },
    )?;
    n.tags = tags_of(conn, id)?;
    Ok(n)
}
