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

const MAX_CONDITIONS: usize = 30;
const MAX_DAYS: u32 = 36_500;

pub fn validate(f: &SegmentFilter) -> Result<()> {
    if f.conditions.len() > MAX_CONDITIONS {
        return Err(Error::Validation(vec![FieldError::new("filter", "field.too_many").arg("max", MAX_CONDITIONS)]));
    }
    for c in &f.conditions {
        let ok = match c {
            Condition::HasTag { tag } | Condition::NotTag { tag } => {
                !tag.trim().is_empty() && tag.chars().count() <= 60
            }
            Condition::LastPurchaseOlderThan { days } | Condition::LastPurchaseWithin { days } => *days <= MAX_DAYS,
            Condition::SpentAtLeast { cents } | Condition::SpentAtMost { cents } => *cents >= 0,
            Condition::BirthdayMonth { month } => (1..=12).contains(month),
            Condition::RfmCell { r, fm } => (1..=5).contains(r) && (1..=5).contains(fm),
            Condition::NpsAnswer { within_months, .. } => within_months.is_none_or(|m| (1..=36).contains(&m)),
            Condition::RewardUsedWithin { months } | Condition::PointsExpiredWithin { months } => {
                (1..=36).contains(months)
            }
            Condition::TierAtLeast { index } => *index < 20,
            Condition::LifetimeValueAtLeast { cents } | Condition::LifetimeValueAtMost { cents } => *cents >= 0,
            Condition::BoughtBetween { from, to } | Condition::FirstPurchaseBetween { from, to } => {
                from <= to && (2000..=2100).contains(&from.year()) && (2000..=2100).contains(&to.year())
            }
            Condition::ApprovedReferralsAtLeast { count } => *count <= 10_000,
            Condition::ReferredBy { customer_id } => *customer_id > 0,
            _ => true,
        };
        if !ok {
            return Err(Error::invalid("filter", "field.filter_invalid"));
        }
    }
    Ok(())
}

/// The WHERE clause for a filter (on `customers c`) and its bound values.
pub(crate) fn where_clause(f: &SegmentFilter, facts: &crate::loyalty::LoyaltyFacts) -> (String, Vec<Box<dyn ToSql>>) {
    let now = facts.now;
    let mut parts: Vec<String> = Vec::new();
    let mut values: Vec<Box<dyn ToSql>> = Vec::new();
    let days_ago = |d: u32| now - Duration::days(i64::from(d));
    // The usable balance, as the till shows it (points past their date do not count).
    let mut points_sql: Option<String> = None;
    const SCORES: &str = "EXISTS (SELECT 1 FROM customer_scores s WHERE s.customer_id = c.id AND";
    const IN_USE: &str = "c.archived_at IS NULL AND c.merged_into IS NULL";
    const CONSENT: &str = "(SELECT k.basis FROM consents k WHERE k.customer_id = c.id ORDER BY k.id DESC LIMIT 1)";
    for cond in &f.conditions {
        let mut bind = |v: Box<dyn ToSql>| {
            values.push(v);
            format!("?{}", values.len())
        };
        let sql = match cond {
            Condition::HasTag { tag } => format!(
                "EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag_fold = {})",
                bind(Box::new(crate::text::fold(tag.trim())))
            ),
            Condition::NotTag { tag } => format!(
                "NOT EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag_fold = {})",
                bind(Box::new(crate::text::fold(tag.trim())))
            ),
            // The tier held now, as the till shows it: kept, or qualified for in this period.
            Condition::TierAtLeast { index } => facts.tier_at_least_sql("c.id", *index, &mut bind),
            // The last visit's index holds only the customers in use (a partial index, the
            // archived and merged ones apart), and in an "any of" filter SQLite looks at each
            // branch alone: the branch names the state, or the count reads the whole index.
            Condition::LastPurchaseOlderThan { days } => format!(
                "(c.last_purchase_at IS NOT NULL AND c.last_purchase_at < {} AND {IN_USE})",
                bind(Box::new(days_ago(*days)))
            ),
            Condition::LastPurchaseWithin { days } => {
                format!("(c.last_purchase_at >= {} AND {IN_USE})", bind(Box::new(days_ago(*days))))
            }
            Condition::NeverBought => format!("(c.last_purchase_at IS NULL AND {IN_USE})"),
            Condition::PurchasesAtLeast { count } => format!("c.visit_count >= {}", bind(Box::new(i64::from(*count)))),
            Condition::PurchasesAtMost { count } => format!("c.visit_count <= {}", bind(Box::new(i64::from(*count)))),
            Condition::SpentAtLeast { cents } => format!("c.total_spent_cents >= {}", bind(Box::new(*cents))),
            Condition::SpentAtMost { cents } => format!("c.total_spent_cents <= {}", bind(Box::new(*cents))),
            Condition::BirthdayMonth { month } => format!("c.birthday_month = {}", bind(Box::new(i64::from(*month)))),
            Condition::Language { lang } => format!("c.language = {}", bind(Box::new(lang.code()))),
            Condition::Country { country } => format!("c.country = {}", bind(Box::new(country.code()))),
            Condition::Consent { state } => match state {
                ConsentState::Unknown => format!("{CONSENT} IS NULL"),
                ConsentState::Express => format!("{CONSENT} = {}", bind(Box::new(ConsentChoice::Express.code()))),
                ConsentState::ExistingCustomer => {
                    format!("{CONSENT} = {}", bind(Box::new(ConsentChoice::ExistingCustomer.code())))
                }
                ConsentState::Refused => format!("{CONSENT} = {}", bind(Box::new(ConsentChoice::Refused.code()))),
            },
            Condition::PointsAtLeast { points } | Condition::PointsAtMost { points } => {
                let usable = match &points_sql {
                    Some(s) => s.clone(),
                    None => {
                        let s = facts.usable_points_sql("c.id", &mut bind);
                        points_sql = Some(s.clone());
                        s
                    }
                };
                let op = if matches!(cond, Condition::PointsAtLeast { .. }) { ">=" } else { "<=" };
                format!("{usable} {op} {}", bind(Box::new(*points)))
            }
            Condition::RfmSegment { segment } => format!("{SCORES} s.segment = {})", bind(Box::new(segment.code()))),
            Condition::RfmMove { from, to } => {
                let f = bind(Box::new(from.code()));
                format!("{SCORES} s.prev_segment = {f} AND s.segment = {})", bind(Box::new(to.code())))
            }
            Condition::RfmCell { r, fm } => {
                let r = bind(Box::new(i64::from(*r)));
                // rfm::fm in SQL: the mean of two integers rounded up.
                format!("{SCORES} s.r = {r} AND (s.f + s.m + 1) / 2 = {})", bind(Box::new(i64::from(*fm))))
            }
            Condition::ChurnRisk { risk } => format!("{SCORES} s.churn = {})", bind(Box::new(risk.code()))),
            Condition::LifetimeValueAtLeast { cents } => format!("{SCORES} s.clv_cents >= {})", bind(Box::new(*cents))),
            Condition::LifetimeValueAtMost { cents } => format!("{SCORES} s.clv_cents <= {})", bind(Box::new(*cents))),
            Condition::LoyaltyKind { kind } => format!("{SCORES} s.kind = {})", bind(Box::new(kind.code()))),
            Condition::NpsAnswer { group, within_months } => {
                let since = match within_months {
                    Some(m) => format!(" AND n.answered_at >= {}", bind(Box::new(calendar::months_back(now, *m)))),
                    None => String::new(),
                };
                match group {
                    None => format!("NOT EXISTS (SELECT 1 FROM nps_answers n WHERE n.customer_id = c.id{since})"),
                    Some(g) => {
                        let (lo, hi) = g.range();
                        let lo = bind(Box::new(i64::from(lo)));
                        format!(
                            "(SELECT n.score FROM nps_answers n WHERE n.customer_id = c.id{since} ORDER BY n.answered_at DESC, n.id DESC LIMIT 1) BETWEEN {lo} AND {}",
                            bind(Box::new(i64::from(hi)))
                        )
                    }
                }
            }
            // The period's rows first, by their date index, once for the whole list.
            Condition::RewardUsedWithin { months } => {
                let since = bind(Box::new(calendar::months_back(now, *months)));
                format!(
                    "c.id IN (SELECT s.customer_id FROM loyalty_sales s JOIN purchases p ON p.id = s.purchase_id
                              WHERE s.discount_cents > 0 AND p.occurred_at >= {since}
                              UNION SELECT r.customer_id FROM redemptions r WHERE r.at >= {since})"
                )
            }
            Condition::PointsExpiredWithin { months } => {
                let since = bind(Box::new(calendar::months_back(now, *months)));
                format!("c.id IN (SELECT l.customer_id FROM points_ledger l WHERE l.at >= {since} AND l.kind = 'expire')")
            }
            Condition::BoughtBetween { from, to } => {
                let (start, end) = calendar::utc_bounds(calendar::Period { from: *from, to: *to });
                let start = bind(Box::new(start));
                format!(
                    "EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.id AND p.kind = 'sale' AND p.occurred_at >= {start} AND p.occurred_at < {})",
                    bind(Box::new(end))
                )
            }
            Condition::FirstPurchaseBetween { from, to } => {
                let (start, end) = calendar::utc_bounds(calendar::Period { from: *from, to: *to });
                let start = bind(Box::new(start));
                format!("(c.first_purchase_at >= {start} AND c.first_purchase_at < {})", bind(Box::new(end)))
            }
            Condition::CardHolder { holder } => {
                format!(
                    "{}EXISTS (SELECT 1 FROM cards k WHERE k.customer_id = c.id)",
                    if *holder { "" } else { "NOT " }
                )
            }
            Condition::ApprovedReferralsAtLeast { count } => format!(
                "(SELECT count(*) FROM referrals rf WHERE rf.referrer_id = c.id AND rf.status = 'approved') >= {}",
                bind(Box::new(i64::from(*count)))
            ),
            Condition::WasReferred => {
                "EXISTS (SELECT 1 FROM referrals rf WHERE rf.friend_id = c.id AND rf.status NOT IN ('voided', 'rejected'))"
                    .to_string()
            }
            Condition::ReferredBy { customer_id } => format!(
                "EXISTS (SELECT 1 FROM referrals rf WHERE rf.friend_id = c.id AND rf.status NOT IN ('voided', 'rejected') AND rf.referrer_id = {})",
                bind(Box::new(*customer_id))
            ),
        };
        parts.push(sql);
    }
    let joined = match (parts.is_empty(), f.combine) {
        (true, _) => "1".to_string(),
        (false, Combine::All) => parts.join(" AND "),
        (false, Combine::Any) => parts.join(" OR "),
    };
    (format!("c.archived_at IS NULL AND c.merged_into IS NULL AND ({joined})"), values)
}

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
