//! Audiences built from filters. A filter is data (`SegmentFilter`); it becomes SQL only here,
//! from fixed fragments with every value bound as a parameter, so nothing typed by a user ever
//! reaches SQL as text. Who may receive marketing is then decided by `consent::eligibility`.

use super::consent::{eligibility, ConsentFacts, Exclusion};
use super::suppression::SuppressionReason;
use crate::analytics::{calendar, kinds::LoyaltyKind, rfm::RfmSegment, rhythm::ChurnRisk};
use crate::customers::{ConsentChoice, ConsentSource};
use crate::error::{Error, FieldError, Result};
use crate::nps::NpsGroup;
use crate::storage::Store;
use crate::types::{Cents, Country, CustomerId, Lang, Outcome};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rusqlite::types::ToSql;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    #[default]
    All,
    Any,
}

/// The consent state a filter can ask for (the latest record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConsentState {
    Express,
    ExistingCustomer,
    Refused,
    Unknown,
}

/// One condition of a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum Condition {
    HasTag {
        tag: String,
    },
    NotTag {
        tag: String,
    },
    /// Holds this tier (by its position in the programme, 0 = first) or a higher one.
    TierAtLeast {
        index: u32,
    },
    /// Bought at least once, but not in the last N days.
    LastPurchaseOlderThan {
        days: u32,
    },
    LastPurchaseWithin {
        days: u32,
    },
    NeverBought,
    PurchasesAtLeast {
        count: u32,
    },
    PurchasesAtMost {
        count: u32,
    },
    SpentAtLeast {
        cents: Cents,
    },
    SpentAtMost {
        cents: Cents,
    },
    BirthdayMonth {
        month: u8,
    },
    Language {
        lang: Lang,
    },
    Country {
        country: Country,
    },
    Consent {
        state: ConsentState,
    },
    PointsAtLeast {
        points: i64,
    },
    PointsAtMost {
        points: i64,
    },
    // The numbers (analytics): scores as of their last refresh, satisfaction, dates.
    /// In this RFM segment.
    RfmSegment {
        segment: RfmSegment,
    },
    /// Moved from one RFM segment to another since last month.
    RfmMove {
        from: RfmSegment,
        to: RfmSegment,
    },
    /// In one cell of the RFM grid: recency score `r`, and `fm`, the frequency and spend
    /// scores' mean rounded up (`rfm::fm`), both 1–5.
    RfmCell {
        r: u8,
        fm: u8,
    },
    ChurnRisk {
        risk: ChurnRisk,
    },
    /// Expected spend over the next 12 months.
    LifetimeValueAtLeast {
        cents: Cents,
    },
    LifetimeValueAtMost {
        cents: Cents,
    },
    LoyaltyKind {
        kind: LoyaltyKind,
    },
    /// Their latest satisfaction answer is in this group; `None`: never answered. With
    /// `within_months`, only an answer of the last so many months counts (the dashboard's
    /// promoters and detractors are those of its 12 months).
    NpsAnswer {
        group: Option<NpsGroup>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        within_months: Option<u32>,
    },
    /// Answered the satisfaction question between these local dates (both included): the
    /// customers behind a month of the satisfaction trend.
    NpsAnsweredBetween {
        from: NaiveDate,
        to: NaiveDate,
    },
    /// Bought between these local dates (both included).
    BoughtBetween {
        from: NaiveDate,
        to: NaiveDate,
    },
    /// Their first purchase ever falls between these local dates (both included).
    FirstPurchaseBetween {
        from: NaiveDate,
        to: NaiveDate,
    },
    /// Among the customers the programme's before/after comparison compared: the members
    /// (`member`) or the customers without a card matched to them (the chart's two bars).
    ProgrammeCompared {
        member: bool,
    },
    /// Holds a loyalty card (or does not).
    CardHolder {
        holder: bool,
    },
    /// Used a reward in the last `months` months: points or a catalogue reward taken off a sale,
    /// or a reward handed over (the programme's cost).
    RewardUsedWithin {
        months: u32,
    },
    /// Had points expire unused in the last `months` months (the programme's breakage).
    PointsExpiredWithin {
        months: u32,
    },
    /// Received a gift in the last `months` months: a product, an experience or a partner's
    /// offer from the catalogue, or a stamp-card milestone (the programme's gifts handed over).
    GiftReceivedWithin {
        months: u32,
    },
    /// Referred at least this many friends whose referral was approved.
    ApprovedReferralsAtLeast {
        count: u32,
    },
    /// Was referred by someone (any referral not voided or rejected).
    WasReferred,
    /// Was referred by this customer.
    ReferredBy {
        customer_id: CustomerId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub struct SegmentFilter {
    pub combine: Combine,
    /// No condition: every customer.
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExclusionCount {
    pub reason: Exclusion,
    pub count: i64,
}

/// The live count of a segment: who matches, who may receive marketing, and why the others
/// may not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AudienceCount {
    pub matching: i64,
    pub eligible: i64,
    pub excluded: Vec<ExclusionCount>,
    /// Of the eligible, those asked the satisfaction question or who answered it in the last
    /// 90 days: a campaign asking it leaves them out (`nps::may_ask_now`).
    pub asked_recently: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Segment {
    pub id: i64,
    pub name: String,
    pub filter: SegmentFilter,
    pub updated_at: DateTime<Utc>,
}

/// A customer who may receive the campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligible {
    pub customer_id: CustomerId,
    pub email: String,
}

#[path = "segment_sql.rs"]
mod sql;
pub use sql::validate;
pub(crate) use sql::where_clause;

/// The columns the consent rule needs, after `c.id`: address, country, last purchase, the
/// latest consent record (in append order: a record made later wins even if a wrong clock
/// dated it earlier) and the address's suppression.
fn facts_columns() -> String {
    format!(
        "c.email, c.country, c.last_purchase_at,
         (SELECT k.basis || ' ' || k.source FROM consents k WHERE k.customer_id = c.id ORDER BY k.id DESC LIMIT 1),
         {}",
        super::suppression::suppression_reason_sql("c.email_norm")
    )
}

/// Walk the customers of a filter with what the consent rule needs. One message per address:
/// a customer whose address was already met (in id order) is excluded as a duplicate.
fn for_each_match(
    conn: &Connection,
    f: &SegmentFilter,
    now: DateTime<Utc>,
    mut each: impl FnMut(CustomerId, Option<String>, Result<(), Exclusion>),
) -> Result<()> {
    validate(f)?;
    let facts = crate::loyalty::LoyaltyFacts::new(&crate::loyalty::programme::programme(conn)?, now);
    let (clause, values) = where_clause(f, &facts);
    let sql = format!("SELECT c.id, {}, c.email_norm FROM customers c WHERE {clause} ORDER BY c.id", facts_columns());
    let mut st = conn.prepare(&sql)?;
    let refs: Vec<&dyn ToSql> = values.iter().map(|b| b.as_ref()).collect();
    let mut rows = st.query(refs.as_slice())?;
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    while let Some(r) = rows.next()? {
        let (email, facts) = facts_from_row(r, 1)?;
        let mut verdict = eligibility(&facts, now);
        if verdict.is_ok() {
            let norm: Option<String> = r.get(6)?;
            let norm = norm.unwrap_or_else(|| crate::text::normalize_email(email.as_deref().unwrap_or("")));
            if !seen.insert(norm) {
                verdict = Err(Exclusion::DuplicateAddress);
            }
        }
        each(r.get(0)?, email, verdict);
    }
    Ok(())
}

/// The columns of `facts_columns`, starting at `at`, as the consent rule's facts. An
/// unreadable record counts as a refusal, never as consent.
fn facts_from_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<(Option<String>, ConsentFacts)> {
    let email: Option<String> = r.get(at)?;
    let consent: Option<String> = r.get(at + 3)?;
    let suppressed: Option<String> = r.get(at + 4)?;
    let (choice, unsubscribed) = match consent.as_deref().map(|s| s.split_once(' ').unwrap_or((s, ""))) {
        Some((basis, source)) => (
            Some(ConsentChoice::parse(basis).unwrap_or(ConsentChoice::Refused)),
            ConsentSource::parse(source) == Some(ConsentSource::Unsubscribe),
        ),
        None => (None, false),
    };
    let facts = ConsentFacts {
        has_email: email.as_deref().is_some_and(|e| !e.is_empty()),
        country: Country::parse(&r.get::<_, String>(at + 1)?).unwrap_or_default(),
        choice,
        unsubscribed,
        last_purchase_at: r.get(at + 2)?,
        // An unknown reason still suppresses.
        suppressed: suppressed.map(|s| SuppressionReason::parse(&s).unwrap_or(SuppressionReason::Merchant)),
    };
    Ok((email, facts))
}

/// The live count of a filter and the reasons for exclusion.
pub fn count(conn: &Connection, f: &SegmentFilter, now: DateTime<Utc>) -> Result<AudienceCount> {
    let mut matching = 0;
    let mut eligible = 0;
    let mut excluded: BTreeMap<Exclusion, i64> = BTreeMap::new();
    let asked = crate::nps::asked_since(conn, now - Duration::days(crate::nps::rules::ASK_EVERY_DAYS))?;
    let mut asked_recently = 0;
    for_each_match(conn, f, now, |id, _, e| {
        matching += 1;
        match e {
            Ok(()) => {
                eligible += 1;
                asked_recently += i64::from(asked.contains(&id));
            }
            Err(x) => *excluded.entry(x).or_default() += 1,
        }
    })?;
    Ok(AudienceCount {
        matching,
        eligible,
        excluded: excluded.into_iter().map(|(reason, count)| ExclusionCount { reason, count }).collect(),
        asked_recently,
    })
}

/// Everyone in the filter who may receive marketing now.
pub fn eligible(conn: &Connection, f: &SegmentFilter, now: DateTime<Utc>) -> Result<Vec<Eligible>> {
    let mut out = Vec::new();
    for_each_match(conn, f, now, |id, email, e| {
        if let (Ok(()), Some(email)) = (e, email) {
            out.push(Eligible { customer_id: id, email });
        }
    })?;
    Ok(out)
}

/// Whether one customer may still receive marketing at `email` (checked again just before
/// each message leaves, so an unsubscribe, a suppression or a consent change recorded
/// meanwhile is honoured). `Err` says why not.
pub fn still_eligible(conn: &Connection, customer: CustomerId, now: DateTime<Utc>) -> Result<Result<(), Exclusion>> {
    let f = SegmentFilter::default();
    let (clause, _) = where_clause(&f, &crate::loyalty::LoyaltyFacts { now, ..Default::default() });
    let sql = format!("SELECT {} FROM customers c WHERE c.id = ?1 AND {clause}", facts_columns());
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query([customer])?;
    let Some(r) = rows.next()? else { return Ok(Err(Exclusion::NoConsent)) };
    let (_, facts) = facts_from_row(r, 0)?;
    Ok(eligibility(&facts, now))
}

/// How many of `customers` may receive marketing now: the same rule as `still_eligible`, read
/// in one pass (an automation's backlog can hold tens of thousands).
pub fn count_eligible(conn: &Connection, customers: &[CustomerId], now: DateTime<Utc>) -> Result<i64> {
    let f = SegmentFilter::default();
    let (clause, _) = where_clause(&f, &crate::loyalty::LoyaltyFacts { now, ..Default::default() });
    let sql = format!(
        "SELECT {} FROM customers c WHERE c.id IN (SELECT value FROM json_each(?1)) AND {clause}",
        facts_columns()
    );
    let ids = serde_json::to_string(customers)?;
    let mut st = conn.prepare(&sql)?;
    let mut rows = st.query([ids])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let (_, facts) = facts_from_row(r, 0)?;
        if eligibility(&facts, now).is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

const MAX_SEGMENT_NAME: usize = 80;

impl Store {
    pub fn segment_count(&self, f: &SegmentFilter) -> Result<AudienceCount> {
        count(self.conn(), f, self.now())
    }

    pub fn segments(&self) -> Result<Vec<Segment>> {
        let mut st = self
            .conn()
            .prepare("SELECT id, name, filter, updated_at FROM segments WHERE archived_at IS NULL ORDER BY name COLLATE NOCASE, id")?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, DateTime<Utc>>(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, filter, updated_at) = row?;
            out.push(Segment { id, name, filter: serde_json::from_str(&filter)?, updated_at });
        }
        Ok(out)
    }

    pub fn save_segment(
        &mut self,
        id: Option<i64>,
        name: &str,
        filter: &SegmentFilter,
        key: Option<&str>,
    ) -> Result<Outcome<Segment>> {
        validate(filter)?;
        let name = crate::text::check_text("name", name, MAX_SEGMENT_NAME, true)?.unwrap_or_default();
        let json = serde_json::to_string(filter)?;
        self.transact(("segment_save", &(id, &name, filter)), key, |tx| {
            let id = match id {
                Some(id) => {
                    let n = tx.execute(
                        "UPDATE segments SET name = ?1, filter = ?2, updated_at = ?3 WHERE id = ?4 AND archived_at IS NULL",
                        params![name, json, tx.now, id],
                    )?;
                    if n == 0 {
                        return Err(Error::not_found("segment", id));
                    }
                    id
                }
                None => {
                    tx.execute(
                        "INSERT INTO segments (name, filter, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
                        params![name, json, tx.now],
                    )?;
                    tx.last_insert_rowid()
                }
            };
            Ok(Segment { id, name: name.clone(), filter: filter.clone(), updated_at: tx.now })
        })
    }

    pub fn archive_segment(&mut self, id: i64, key: Option<&str>) -> Result<Outcome<()>> {
        self.transact(("segment_archive", &id), key, |tx| {
            let n = tx.execute(
                "UPDATE segments SET archived_at = ?1 WHERE id = ?2 AND archived_at IS NULL",
                params![tx.now, id],
            )?;
            if n == 0 {
                return Err(Error::not_found("segment", id));
            }
            Ok(())
        })
    }
}

/// Every customer a filter matches, consent or not (the export of a segment).
pub(crate) fn matching_ids(conn: &Connection, f: &SegmentFilter, now: DateTime<Utc>) -> Result<Vec<CustomerId>> {
    let mut out = Vec::new();
    for_each_match(conn, f, now, |id, _, _| out.push(id))?;
    Ok(out)
}
