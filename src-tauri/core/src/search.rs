//! Finding customers: search as you type, exact look-up at the till, and sorted lists that
//! paginate by key.
//!
//! Search plan (see `plan`): a query of one or two characters is a prefix search on the
//! accent-folded name, email and phone indexes; three or more characters is a substring
//! search in the trigram full-text index (accent- and case-insensitive). Prefix matches on the
//! name come first. User text reaches FTS only inside a quoted string and SQL only as a bound
//! parameter. Nothing counts all matches: every query stops at the limit.

use crate::customers::{summaries, summary_columns, summary_from_row, CustomerSummary};
use crate::error::{Error, Result};
use crate::storage::Store;
use crate::text::{digits, fold, prefix_upper_bound};
use crate::types::{Country, CustomerId};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 200;
pub const MAX_QUERY: usize = 200;

/// How a query will be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Empty,
    /// 1–2 characters: the start of a name or email.
    NamePrefix(String),
    /// 1–2 digits: the start of a phone number (national form).
    PhonePrefix(String),
    /// 3+ digits typed like a phone or card number: a substring of either.
    Digits(String),
    /// Words, at least one of 3+ characters. `fts` is a safe FTS5 expression; the shorter
    /// words must start a word of the name or email.
    Text {
        prefix: String,
        fts: String,
        short_words: Vec<String>,
    },
}

fn looks_like_phone_or_card(q: &str) -> bool {
    q.chars().any(|c| c.is_ascii_digit()) && q.chars().all(|c| c.is_ascii_digit() || " +.-()/".contains(c))
}

/// Quote one word for FTS5: inside double quotes, a double quote is doubled; nothing else is
/// special, so no FTS operator typed by a user survives.
pub fn fts_quote(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// Rule: how a search query is answered (see the module documentation).
pub fn plan(query: &str) -> Plan {
    let q: String = query.trim().chars().take(MAX_QUERY).collect();
    if q.is_empty() {
        return Plan::Empty;
    }
    if looks_like_phone_or_card(&q) {
        let mut d = digits(&q);
        if q.starts_with("00") {
            d = d.trim_start_matches("00").to_string();
        }
        return if d.chars().count() >= 3 { Plan::Digits(d) } else { Plan::PhonePrefix(d) };
    }
    let folded = fold(&q);
    let words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    let (long, short): (Vec<&str>, Vec<&str>) = words.iter().partition(|w| w.chars().count() >= 3);
    if long.is_empty() {
        return Plan::NamePrefix(folded);
    }
    Plan::Text {
        prefix: folded.clone(),
        fts: long.iter().map(|w| fts_quote(w)).collect::<Vec<_>>().join(" AND "),
        short_words: short.iter().map(|w| w.to_string()).collect(),
    }
}

fn push_unique(ids: &mut Vec<CustomerId>, id: CustomerId) {
    if !ids.contains(&id) {
        ids.push(id);
    }
}

/// Active customers whose last name, first name or email starts with `prefix` (folded).
fn prefix_ids(conn: &Connection, prefix: &str, limit: usize, ids: &mut Vec<CustomerId>) -> Result<()> {
    let upper = prefix_upper_bound(prefix);
    let lim = limit as i64;
    for sql in [
        "SELECT id FROM customers WHERE last_fold >= ?1 AND last_fold < ?2 AND archived_at IS NULL ORDER BY last_fold, first_fold, id LIMIT ?3",
        "SELECT id FROM customers WHERE first_fold >= ?1 AND first_fold < ?2 AND archived_at IS NULL ORDER BY first_fold LIMIT ?3",
        "SELECT id FROM customers WHERE email_norm >= ?1 AND email_norm < ?2 AND archived_at IS NULL ORDER BY email_norm LIMIT ?3",
    ] {
        if ids.len() >= limit {
            break;
        }
        let mut st = conn.prepare_cached(sql)?;
        for id in st.query_map(params![prefix, upper, lim], |r| r.get(0))? {
            push_unique(ids, id?);
            if ids.len() >= limit {
                break;
            }
        }
    }
    Ok(())
}

fn fts_ids(
    conn: &Connection,
    expr: &str,
    limit: usize,
    ids: &mut Vec<CustomerId>,
    mut keep: impl FnMut(CustomerId) -> Result<bool>,
) -> Result<()> {
    if ids.len() >= limit {
        return Ok(());
    }
    let mut st = conn.prepare_cached(
        "SELECT c.id FROM customers_fts f JOIN customers c ON c.id = f.rowid
         WHERE customers_fts MATCH ?1 AND c.archived_at IS NULL LIMIT ?2",
    )?;
    // Fetch a little more than needed when a later filter may drop some.
    let fetch = (limit * 4).max(limit + 20) as i64;
    for id in st.query_map(params![expr, fetch], |r| r.get(0))? {
        let id = id?;
        if !ids.contains(&id) && keep(id)? {
            ids.push(id);
            if ids.len() >= limit {
                break;
            }
        }
    }
    Ok(())
}

/// Ids of the customers matching `query`, best first, at most `limit`.
pub fn search_ids(conn: &Connection, query: &str, limit: usize) -> Result<Vec<CustomerId>> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let mut ids = Vec::new();
    match plan(query) {
        Plan::Empty => {}
        Plan::NamePrefix(p) => prefix_ids(conn, &p, limit, &mut ids)?,
        Plan::PhonePrefix(d) => {
            let upper = prefix_upper_bound(&d);
            let mut st = conn.prepare_cached(
                "SELECT id FROM customers WHERE phone_digits >= ?1 AND phone_digits < ?2 AND archived_at IS NULL ORDER BY phone_digits LIMIT ?3",
            )?;
            for id in st.query_map(params![d, upper, limit as i64], |r| r.get(0))? {
                ids.push(id?);
            }
        }
        Plan::Digits(d) => {
            let expr = format!("{{phone card}} : {}", fts_quote(&d));
            fts_ids(conn, &expr, limit, &mut ids, |_| Ok(true))?;
        }
        Plan::Text { prefix, fts, short_words } => {
            if short_words.is_empty() {
                prefix_ids(conn, &prefix, limit.min(DEFAULT_LIMIT), &mut ids)?;
            }
            let mut st = conn.prepare_cached(
                "SELECT first_fold || ' ' || last_fold || ' ' || coalesce(email_norm, '') FROM customers WHERE id = ?1",
            )?;
            let keep = |id: CustomerId| -> Result<bool> {
                if short_words.is_empty() {
                    return Ok(true);
                }
                let hay: String = st.query_row([id], |r| r.get(0))?;
                let words: Vec<&str> = hay.split([' ', '@', '.', '-', '\'']).collect();
                Ok(short_words.iter().all(|s| words.iter().any(|w| w.starts_with(s.as_str()))))
            };
            fts_ids(conn, &fts, limit, &mut ids, keep)?;
        }
    }
    Ok(ids)
}

/// How a customer was recognised at the till.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    Card,
    Phone,
    Email,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TillMatch {
    pub customer: CustomerSummary,
    pub matched_by: MatchedBy,
}

/// Rule at the till: a valid card number, a full phone number or a full email designates one
/// customer exactly; anything else is a search.
pub fn exact_lookup(conn: &Connection, query: &str, shop_country: Country) -> Result<Option<(CustomerId, MatchedBy)>> {
    let q = query.trim();
    if q.is_empty() || q.len() > MAX_QUERY {
        return Ok(None);
    }
    if q.bytes().all(|b| b.is_ascii_digit()) && crate::cards::is_valid_number(q) {
        if let Some(id) = crate::cards::customer_for_card(conn, q)? {
            return Ok(Some((id, MatchedBy::Card)));
        }
    }
    if looks_like_phone_or_card(q) {
        if let Some(p) = crate::phone::normalize(q, shop_country) {
            let mut st =
                conn.prepare_cached("SELECT id FROM customers WHERE phone_e164 = ?1 AND archived_at IS NULL LIMIT 2")?;
            let ids: Vec<CustomerId> = st.query_map([p.e164], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            if let [id] = ids.as_slice() {
                return Ok(Some((*id, MatchedBy::Phone)));
            }
        }
    }
    if q.contains('@') {
        let mut st =
            conn.prepare_cached("SELECT id FROM customers WHERE email_norm = ?1 AND archived_at IS NULL LIMIT 2")?;
        let ids: Vec<CustomerId> =
            st.query_map([crate::text::normalize_email(q)], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        if let [id] = ids.as_slice() {
            return Ok(Some((*id, MatchedBy::Email)));
        }
    }
    Ok(None)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    #[default]
    Name,
    LastVisit,
    TotalSpent,
    /// The expected spend over the next 12 months (the scores' lifetime value), highest first;
    /// customers without a score (never bought, or not computed yet) after them.
    ExpectedValue,
    /// The churn risk, most at risk first and the highest expected value first within a level (see
    /// `analytics::scores::RISK_KEY`); customers without a score after them.
    ChurnRisk,
    /// The RFM segment, Champions first (see `analytics::scores::SEGMENT_KEY`); customers
    /// without a score after them.
    Segment,
}

impl SortBy {
    /// The stored scores' sort key, for the orders read from the scores.
    pub(crate) fn score_key(self) -> Option<&'static str> {
        use crate::analytics::scores::{RISK_KEY, SEGMENT_KEY, VALUE_KEY};
        match self {
            SortBy::ExpectedValue => Some(VALUE_KEY),
            SortBy::ChurnRisk => Some(RISK_KEY),
            SortBy::Segment => Some(SEGMENT_KEY),
            SortBy::Name | SortBy::LastVisit | SortBy::TotalSpent => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ListRequest {
    pub sort: SortBy,
    /// Archived customers instead of active ones.
    pub archived: bool,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ListPage {
    pub items: Vec<CustomerSummary>,
    /// Give it back as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// The position after which a page starts: the sort key of the last row and its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Cursor {
    Name(String, String, i64),
    Spent(i64, i64),
    Visit(Option<String>, i64),
    /// The scores' sort key (`None`: among the customers without a score) and the id.
    Score {
        key: Option<i64>,
        id: i64,
    },
}

/// One page of scored customers after the cursor (`?2` key, `?3` id), `?1` rows, by a scores'
/// key. The key's own bound lets SQLite seek to the cursor in the key's index; the row value
/// alone would have it walk the index from the top on every page.
pub(crate) fn scored_page_sql(key: &str, state: &str) -> String {
    format!(
        "SELECT {} FROM customer_scores s JOIN customers c ON c.id = s.customer_id
         WHERE {key} <= ?2 AND ({key}, s.customer_id) < (?2, ?3) AND {state}
         ORDER BY {key} DESC, s.customer_id DESC LIMIT ?1",
        summary_columns!()
    )
}

fn bad_cursor() -> Error {
    Error::invalid("after", "field.cursor_invalid")
}

impl Store {
    /// Search as you type: at most `limit` summaries, best first, without counting all matches.
    pub fn search_customers(&self, query: &str, limit: usize) -> Result<Vec<CustomerSummary>> {
        let country = self.settings()?.country;
        let ids = search_ids(self.conn(), query, limit)?;
        summaries(self.conn(), &ids, country)
    }

    /// Exact look-up at the till by card number, phone or email.
    pub fn till_lookup(&self, query: &str) -> Result<Option<TillMatch>> {
        let country = self.settings()?.country;
        let Some((id, matched_by)) = exact_lookup(self.conn(), query, country)? else {
            return Ok(None);
        };
        Ok(summaries(self.conn(), &[id], country)?
            .into_iter()
            .next()
            .map(|customer| TillMatch { customer, matched_by }))
    }

    /// One page of the customer list, sorted, continuing after the given cursor.
    pub fn list_customers(&self, req: &ListRequest) -> Result<ListPage> {
        let country = self.settings()?.country;
        let limit = (req.limit as usize).clamp(1, MAX_LIMIT);
        let fetch = limit as i64 + 1;
        let archived = req.archived;
        let cursor: Option<Cursor> = match &req.after {
            None => None,
            Some(s) => Some(serde_json::from_str(s).map_err(|_| bad_cursor())?),
        };
        let conn = self.conn();
        let map = |r: &rusqlite::Row| summary_from_row(r, country);
        let mut items: Vec<CustomerSummary> = match (req.sort, cursor) {
            (SortBy::Name, None) => {
                let mut st = conn.prepare_cached(concat!("SELECT ", summary_columns!(), " FROM customers c
                    WHERE (c.archived_at IS NOT NULL) = ?1 AND c.merged_into IS NULL ORDER BY c.last_fold, c.first_fold, c.id LIMIT ?2"))?;
                let rows = st.query_map(params![archived, fetch], map)?.collect::<rusqlite::Result<_>>()?;
                rows
            }
            (SortBy::Name, Some(Cursor::Name(l, f, id))) => {
                let mut st = conn.prepare_cached(concat!("SELECT ", summary_columns!(), " FROM customers c
                    WHERE (c.last_fold, c.first_fold, c.id) > (?3, ?4, ?5) AND (c.archived_at IS NOT NULL) = ?1 AND c.merged_into IS NULL
                    ORDER BY c.last_fold, c.first_fold, c.id LIMIT ?2"))?;
                let rows = st.query_map(params![archived, fetch, l, f, id], map)?.collect::<rusqlite::Result<_>>()?;
                rows
            }
            (SortBy::TotalSpent, None) => {
                let mut st = conn.prepare_cached(concat!("SELECT ", summary_columns!(), " FROM customers c
                    WHERE (c.archived_at IS NOT NULL) = ?1 AND c.merged_into IS NULL ORDER BY c.total_spent_cents DESC, c.id DESC LIMIT ?2"))?;
                let rows = st.query_map(params![archived, fetch], map)?.collect::<rusqlite::Result<_>>()?;
                rows
            }
            (SortBy::TotalSpent, Some(Cursor::Spent(v, id))) => {
                let mut st = conn.prepare_cached(concat!("SELECT ", summary_columns!(), " FROM customers c
                    WHERE (c.total_spent_cents, c.id) < (?3, ?4) AND (c.archived_at IS NOT NULL) = ?1 AND c.merged_into IS NULL
                    ORDER BY c.total_spent_cents DESC, c.id DESC LIMIT ?2"))?;
                let rows = st.query_map(params![archived, fetch, v, id], map)?.collect::<rusqlite::Result<_>>()?;
                rows
            }
            (SortBy::LastVisit, cursor) => {
                // Customers who bought come first, most recent first; then those who never did.
                // The customers by last visit are two partial indexes (in use; archived or
                // merged), and SQLite uses a partial index only when the query's own text
                // implies its condition: the state is written in the SQL, not bound.
                macro_rules! by_visit {
                    ($where:literal, $order:literal) => {
                        if archived {
                            concat!(
                                "SELECT ",
                                summary_columns!(),
                                " FROM customers c WHERE ",
                                $where,
                                " AND c.archived_at IS NOT NULL AND c.merged_into IS NULL ",
                                $order
                            )
                        } else {
                            concat!(
                                "SELECT ",
                                summary_columns!(),
                                " FROM customers c WHERE ",
                                $where,
                                " AND c.archived_at IS NULL AND c.merged_into IS NULL ",
                                $order
                            )
                        }
                    };
                }
                let mut rows: Vec<CustomerSummary> = Vec::new();
                let never_after: Option<i64> = match &cursor {
                    None => None,
                    Some(Cursor::Visit(Some(at), id)) => {
                        let mut st = conn.prepare_cached(by_visit!(
                            "(c.last_purchase_at, c.id) < (?2, ?3)",
                            "ORDER BY c.last_purchase_at DESC, c.id DESC LIMIT ?1"
                        ))?;
                        rows = st.query_map(params![fetch, at, id], map)?.collect::<rusqlite::Result<_>>()?;
                        None
                    }
                    Some(Cursor::Visit(None, id)) => Some(*id),
                    Some(_) => return Err(bad_cursor()),
                };
                if cursor.is_none() {
                    let mut st = conn.prepare_cached(by_visit!(
                        "c.last_purchase_at IS NOT NULL",
                        "ORDER BY c.last_purchase_at DESC, c.id DESC LIMIT ?1"
                    ))?;
                    rows = st.query_map(params![fetch], map)?.collect::<rusqlite::Result<_>>()?;
                }
                if (rows.len() as i64) < fetch {
                    let mut st = conn.prepare_cached(by_visit!(
                        "c.last_purchase_at IS NULL AND c.id < ?2",
                        "ORDER BY c.id DESC LIMIT ?1"
                    ))?;
                    let more: Vec<CustomerSummary> = st
                        .query_map(params![fetch - rows.len() as i64, never_after.unwrap_or(i64::MAX)], map)?
                        .collect::<rusqlite::Result<_>>()?;
                    rows.extend(more);
                }
                rows
            }
            (sort, cursor) if sort.score_key().is_some() => {
                // Scored customers by the key (an index on it), then those without a score.
                let key = sort.score_key().expect("guarded");
                let state = if archived {
                    "c.archived_at IS NOT NULL AND c.merged_into IS NULL"
                } else {
                    "c.archived_at IS NULL AND c.merged_into IS NULL"
                };
                let (from, unscored_after) = match cursor {
                    None => (Some((i64::MAX, i64::MAX)), i64::MAX),
                    Some(Cursor::Score { key: Some(v), id }) => (Some((v, id)), i64::MAX),
                    Some(Cursor::Score { key: None, id }) => (None, id),
                    Some(_) => return Err(bad_cursor()),
                };
                let mut rows: Vec<CustomerSummary> = Vec::new();
                if let Some((v, id)) = from {
                    let mut st = conn.prepare_cached(&scored_page_sql(key, state))?;
                    rows = st.query_map(params![fetch, v, id], map)?.collect::<rusqlite::Result<_>>()?;
                }
                if (rows.len() as i64) < fetch {
                    let sql = format!(
                        "SELECT {} FROM customers c WHERE c.id < ?2 AND {state}
                         AND NOT EXISTS (SELECT 1 FROM customer_scores s WHERE s.customer_id = c.id)
                         ORDER BY c.id DESC LIMIT ?1",
                        summary_columns!()
                    );
                    let mut st = conn.prepare_cached(&sql)?;
                    let more: Vec<CustomerSummary> = st
                        .query_map(params![fetch - rows.len() as i64, unscored_after], map)?
                        .collect::<rusqlite::Result<_>>()?;
                    rows.extend(more);
                }
                rows
            }
            _ => return Err(bad_cursor()),
        };
        let next = if items.len() > limit {
            items.truncate(limit);
            let last = items.last().expect("limit >= 1");
            let c = match req.sort {
                SortBy::Name => {
                    let (l, f): (String, String) =
                        conn.query_row("SELECT last_fold, first_fold FROM customers WHERE id = ?1", [last.id], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })?;
                    Cursor::Name(l, f, last.id)
                }
                SortBy::TotalSpent => Cursor::Spent(last.total_spent_cents, last.id),
                SortBy::LastVisit => {
                    let at: Option<String> =
                        conn.query_row("SELECT last_purchase_at FROM customers WHERE id = ?1", [last.id], |r| {
                            r.get(0)
                        })?;
                    Cursor::Visit(at, last.id)
                }
                SortBy::ExpectedValue | SortBy::ChurnRisk | SortBy::Segment => {
                    let key = req.sort.score_key().expect("a scores' order");
                    let v: Option<i64> = conn
                        .query_row(
                            &format!("SELECT {key} FROM customer_scores WHERE customer_id = ?1"),
                            [last.id],
                            |r| r.get(0),
                        )
                        .optional()?;
                    Cursor::Score { key: v, id: last.id }
                }
            };
            Some(serde_json::to_string(&c)?)
        } else {
            None
        };
        items.truncate(limit);
        Ok(ListPage { items, next })
    }
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
