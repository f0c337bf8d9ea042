//! The customers behind a number: every figure and chart segment of the dashboard names a
//! segment filter (the same filters campaigns use), and this lists its customers page by page
//! with their scores as columns, so the merchant can open one, save the filter as a segment or
//! write a campaign to them. Also the score columns of any list of customers.
//!
//! Invariants: filters become SQL only through `campaigns::segments` (bound values only);
//! pages continue after a cursor (never an offset); archived and merged customers are not listed.

use super::kinds::LoyaltyKind;
use super::rfm::RfmSegment;
use super::rhythm::ChurnRisk;
use crate::campaigns::segments::{validate, where_clause, SegmentFilter};
use crate::customers::{summary_columns, summary_from_row, CustomerSummary};
use crate::error::{Error, Result};
use crate::storage::Store;
use crate::types::{Cents, CustomerId};
use rusqlite::types::ToSql;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const MAX_PAGE: u32 = 200;

/// A customer's scores as list columns (absent before their first purchase or the first refresh).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScoreColumns {
    pub customer_id: CustomerId,
    pub segment: Option<RfmSegment>,
    pub churn: Option<ChurnRisk>,
    pub clv_cents: Option<Cents>,
    pub kind: Option<LoyaltyKind>,
    /// Their latest satisfaction score.
    pub nps_score: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScoredCustomer {
    pub customer: CustomerSummary,
    pub scores: ScoreColumns,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NumbersListRequest {
    pub filter: SegmentFilter,
    /// The cursor of the previous page.
    pub after: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NumbersListPage {
    pub items: Vec<ScoredCustomer>,
    pub next: Option<String>,
    /// How many customers match, in all.
    pub total: i64,
}

const SCORE_COLUMNS: &str = "s.segment, s.churn, s.clv_cents, s.kind,
     (SELECT n.score FROM nps_answers n WHERE n.customer_id = c.id ORDER BY n.answered_at DESC, n.id DESC LIMIT 1)";

fn scores_from_row(r: &rusqlite::Row, id: CustomerId, at: usize) -> rusqlite::Result<ScoreColumns> {
    let text = |i: usize| -> rusqlite::Result<Option<String>> { r.get(at + i) };
    Ok(ScoreColumns {
        customer_id: id,
        segment: text(0)?.as_deref().and_then(RfmSegment::parse),
        churn: text(1)?.as_deref().and_then(ChurnRisk::parse),
        clv_cents: r.get(at + 2)?,
        kind: text(3)?.as_deref().and_then(LoyaltyKind::parse),
        nps_score: r.get(at + 4)?,
    })
}

impl Store {
    /// One page of the customers a filter names, best spenders first.
    pub fn numbers_list(&self, req: &NumbersListRequest) -> Result<NumbersListPage> {
        validate(&req.filter)?;
        let country = self.settings()?.country;
        let limit = req.limit.clamp(1, MAX_PAGE) as i64;
        let cursor: Option<(Cents, CustomerId)> = match &req.after {
            None => None,
            Some(s) => Some(serde_json::from_str(s).map_err(|_| Error::invalid("after", "field.cursor_invalid"))?),
        };
        let now = self.now();
        let p = crate::loyalty::programme::programme(self.conn())?;
        let (clause, mut values) = where_clause(&req.filter, &crate::loyalty::LoyaltyFacts::new(&p, now));
        let total: i64 = {
            let refs: Vec<&dyn ToSql> = values.iter().map(|b| b.as_ref()).collect();
            self.conn().query_row(
                &format!("SELECT count(*) FROM customers c WHERE {clause}"),
                refs.as_slice(),
                |r| r.get(0),
            )?
        };
        let mut page_clause = clause;
        if let Some((spent, id)) = cursor {
            values.push(Box::new(spent));
            values.push(Box::new(id));
            page_clause =
                format!("({page_clause}) AND (c.total_spent_cents, c.id) < (?{}, ?{})", values.len() - 1, values.len());
        }
        values.push(Box::new(limit + 1));
        let sql = format!(
            "SELECT {}, {SCORE_COLUMNS} FROM customers c LEFT JOIN customer_scores s ON s.customer_id = c.id
             WHERE {page_clause} ORDER BY c.total_spent_cents DESC, c.id DESC LIMIT ?{}",
            summary_columns!(),
            values.len()
        );
        let refs: Vec<&dyn ToSql> = values.iter().map(|b| b.as_ref()).collect();
        let mut st = self.conn().prepare(&sql)?;
        let mut items: Vec<ScoredCustomer> = st
            .query_map(refs.as_slice(), |r| {
                let customer = summary_from_row(r, country)?;
                let scores = scores_from_row(r, customer.id, 12)?;
                Ok(ScoredCustomer { customer, scores })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            let last = items.last().expect("limit >= 1");
            Some(serde_json::to_string(&(last.customer.total_spent_cents, last.customer.id))?)
        } else {
            None
        };
        Ok(NumbersListPage { items, next, total })
    }

    /// The score columns of the given customers, in the given order (unknown ids are skipped).
    pub fn score_columns(&self, ids: &[CustomerId]) -> Result<Vec<ScoreColumns>> {
        if ids.len() > MAX_PAGE as usize {
            return Err(Error::Validation(vec![
                crate::error::FieldError::new("ids", "field.too_many").arg("max", MAX_PAGE)
            ]));
        }
        let mut st = self.conn().prepare_cached(&format!(
            "SELECT c.id, {SCORE_COLUMNS} FROM customers c LEFT JOIN customer_scores s ON s.customer_id = c.id WHERE c.id = ?1"
        ))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let mut rows = st.query([id])?;
            if let Some(r) = rows.next()? {
                out.push(scores_from_row(r, *id, 1)?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "lists_tests.rs"]
mod tests;
