//! Satisfaction answers: recorded at the till, typed from a paper form, or sent back by email
//! (the mailbox reader calls `record_email_answer`); the follow-ups of low scores; the shop's
//! score, its trend and the comments by theme.
//!
//! Invariants: answers and invitations are append-only (triggers); a customer answers at most
//! once in 90 days (a second answer is refused, an emailed one is reported `TooSoon` and not
//! kept); one emailed survey takes one answer; a detractor's answer opens one follow-up, closed
//! once by the merchant with what was done. Every write runs in `Store::transact`.

use super::rules::{self, group, NpsGroup, Theme, ASK_EVERY_DAYS, MAX_COMMENT};
use crate::analytics::calendar::months_back;
use crate::customers::{display_name, ensure_customer};
use crate::error::{Error, FieldError, Result};
use crate::storage::{Store, Tx};
use crate::text::check_text;
use crate::types::{CustomerId, Outcome};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NpsChannel {
    Till,
    Paper,
    Email,
}

impl NpsChannel {
    pub fn code(self) -> &'static str {
        match self {
            NpsChannel::Till => "till",
            NpsChannel::Paper => "paper",
            NpsChannel::Email => "email",
        }
    }
    fn parse(s: &str) -> NpsChannel {
        match s {
            "till" => NpsChannel::Till,
            "email" => NpsChannel::Email,
            _ => NpsChannel::Paper,
        }
    }
}

/// An answer given at the till or typed from a paper form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NpsInput {
    /// Who answered; a paper form may be anonymous.
    pub customer_id: Option<CustomerId>,
    pub score: u8,
    pub comment: String,
    pub channel: NpsChannel,
    /// When the form was filled in; now when not given.
    pub answered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NpsAnswer {
    pub id: i64,
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub score: u8,
    pub group: NpsGroup,
    pub comment: Option<String>,
    pub channel: NpsChannel,
    pub answered_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FollowUp {
    pub id: i64,
    pub answer: NpsAnswer,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_note: Option<String>,
}

/// One customer's satisfaction, for their page and the till.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CustomerNps {
    /// Not asked nor answered in the last 90 days.
    pub may_ask: bool,
    pub last_asked_at: Option<DateTime<Utc>>,
    pub last_answer: Option<NpsAnswer>,
    pub open_followups: Vec<FollowUp>,
    /// The last follow-ups done, with what was done (at most 5, newest first).
    pub done_followups: Vec<FollowUp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NpsMonth {
    /// `YYYY-MM`, local.
    pub month: String,
    pub answers: i64,
    pub score: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ThemeCount {
    pub theme: Theme,
    pub comments: i64,
    pub promoters: i64,
    pub detractors: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NpsSummary {
    pub months: u32,
    /// The customers who answered in the months: each counted once, by their latest answer
    /// (the score and the three groups are theirs; the trend counts every answer of its month).
    pub answers: i64,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
    pub score: Option<i64>,
    /// Under 30 answers: to read as a hint, not a measure.
    pub indicative: bool,
    /// Of the three groups, the customers a list can show (on file, not archived): anonymous
    /// paper forms and archived customers count in the score but have no list.
    pub listed_promoters: i64,
    pub listed_passives: i64,
    pub listed_detractors: i64,
    pub trend: Vec<NpsMonth>,
    pub themes: Vec<ThemeCount>,
    pub open_followups: Vec<FollowUp>,
}

/// The comments of the last months about one theme (or all), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NpsComments {
    /// How many comments match, all of them (the list may stop before).
    pub total: i64,
    pub items: Vec<NpsAnswer>,
}

/// What became of an answer sent back by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EmailAnswer {
    Recorded {
        answer_id: i64,
        customer_id: CustomerId,
    },
    /// This survey was already answered (a second click): the first answer stands.
    AlreadyAnswered,
    /// The customer answered less than 90 days ago by another way.
    TooSoon {
        last: DateTime<Utc>,
    },
    /// No survey carries this token.
    UnknownToken,
}

const ANSWER_COLUMNS: &str =
    "a.id, a.customer_id, c.first_name, c.last_name, a.score, a.comment, a.channel, a.answered_at";

fn answer_from_row(r: &rusqlite::Row) -> rusqlite::Result<NpsAnswer> {
    let first: Option<String> = r.get(2)?;
    let last: Option<String> = r.get(3)?;
    let score: u8 = r.get(4)?;
    Ok(NpsAnswer {
        id: r.get(0)?,
        customer_id: r.get(1)?,
        customer_name: first.map(|f| display_name(&f, last.as_deref().unwrap_or(""))),
        score,
        group: group(score),
        comment: r.get(5)?,
        channel: NpsChannel::parse(&r.get::<_, String>(6)?),
        answered_at: r.get(7)?,
    })
}

fn answers(conn: &Connection, where_: &str, p: impl rusqlite::Params) -> Result<Vec<NpsAnswer>> {
    let sql = format!(
        "SELECT {ANSWER_COLUMNS} FROM nps_answers a LEFT JOIN customers c ON c.id = a.customer_id WHERE {where_}"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(p, answer_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn followups(conn: &Connection, where_: &str, p: impl rusqlite::Params) -> Result<Vec<FollowUp>> {
    let sql = format!(
        "SELECT {ANSWER_COLUMNS}, f.id, f.created_at, f.done_at, f.done_note
         FROM nps_followups f JOIN nps_answers a ON a.id = f.answer_id LEFT JOIN customers c ON c.id = a.customer_id
         WHERE {where_} ORDER BY f.created_at DESC, f.id DESC"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(p, |r| {
        Ok(FollowUp {
            answer: answer_from_row(r)?,
            id: r.get(8)?,
            created_at: r.get(9)?,
            done_at: r.get(10)?,
            done_note: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// When the customer was last asked, and last answered.
type LastContact = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The last time the customer was asked or answered.
fn last_contact(conn: &Connection, customer: CustomerId) -> Result<LastContact> {
    let asked: Option<DateTime<Utc>> =
        conn.query_row("SELECT max(created_at) FROM nps_invitations WHERE customer_id = ?1", [customer], |r| r.get(0))?;
    let answered: Option<DateTime<Utc>> =
        conn.query_row("SELECT max(answered_at) FROM nps_answers WHERE customer_id = ?1", [customer], |r| r.get(0))?;
    Ok((asked, answered))
}

/// A comment keeps its line breaks; it is text, shown as text everywhere.
fn clean_comment(comment: &str) -> Result<Option<String>> {
    let c = crate::text::clean_multiline(comment);
    if c.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT) {
        return Err(Error::Validation(vec![FieldError::new("comment", "field.too_long").arg("max", MAX_COMMENT)]));
    }
    Ok(c)
}

/// Insert an answer and, for a detractor who is known, its follow-up.
#[allow(clippy::too_many_arguments)]
fn insert_answer(
    tx: &Tx,
    customer: Option<CustomerId>,
    score: u8,
    comment: Option<&str>,
    channel: NpsChannel,
    answered_at: DateTime<Utc>,
    token: Option<&str>,
    from: Option<&str>,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO nps_answers (customer_id, score, comment, channel, answered_at, recorded_at, token, reply_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![customer, score, comment, channel.code(), answered_at, tx.now, token, from],
    )?;
    let id = tx.last_insert_rowid();
    if let (Some(c), true) = (customer, rules::needs_follow_up(score)) {
        tx.execute(
            "INSERT INTO nps_followups (answer_id, customer_id, created_at) VALUES (?1, ?2, ?3)",
            params![id, c, tx.now],
        )?;
    }
    Ok(id)
}

/// Record an answer sent back by email, inside the mailbox reader's transaction: `token` is the
/// one in the reply's subject (a survey invitation's, or the campaign message's it answers),
/// `from` the address it came from. Unknown tokens, second answers and answers within 90 days of
/// another are reported, not kept.
pub fn record_email_answer(
    tx: &mut Tx,
    token: &str,
    score: u8,
    comment: &str,
    from: &str,
    date: Option<DateTime<Utc>>,
) -> Result<EmailAnswer> {
    if score > 10 {
        return Err(Error::invalid("score", "field.nps_score_invalid"));
    }
    let comment = clean_comment(comment)?;
    let from = crate::text::clean(from).map(|f| f.chars().take(320).collect::<String>());
    let invited: Option<(CustomerId, DateTime<Utc>)> = tx
        .query_row("SELECT customer_id, created_at FROM nps_invitations WHERE token = ?1", [token], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    // When the question went: the invitation's date, or the campaign message's sending.
    let (customer, asked) = match invited {
        Some((c, at)) => (Some(c), Some(at)),
        None => tx
            .query_row("SELECT customer_id, sent_at FROM campaign_recipients WHERE token = ?1", [token], |r| {
                Ok((Some(r.get::<_, CustomerId>(0)?), r.get::<_, Option<DateTime<Utc>>>(1)?))
            })
            .optional()?
            .unwrap_or((None, None)),
    };
    let Some(mut customer) = customer else { return Ok(EmailAnswer::UnknownToken) };
    // A merged customer's answers belong to the one kept.
    if let Some(kept) =
        tx.query_row("SELECT merged_into FROM customers WHERE id = ?1", [customer], |r| r.get::<_, Option<i64>>(0))?
    {
        customer = kept;
    }
    let taken: Option<i64> =
        tx.query_row("SELECT id FROM nps_answers WHERE token = ?1", [token], |r| r.get(0)).optional()?;
    if taken.is_some() {
        return Ok(EmailAnswer::AlreadyAnswered);
    }
    let (_, answered) = last_contact(tx, customer)?;
    if let Some(last) = answered.filter(|a| *a > tx.now - Duration::days(ASK_EVERY_DAYS)) {
        return Ok(EmailAnswer::TooSoon { last });
    }
    let answered_at = rules::email_answered_at(date, asked, tx.now);
    let answer_id = insert_answer(
        tx,
        Some(customer),
        score,
        comment.as_deref(),
        NpsChannel::Email,
        answered_at,
        Some(token),
        from.as_deref(),
    )?;
    tx.changes.customer(customer);
    Ok(EmailAnswer::Recorded { answer_id, customer_id: customer })
}

/// Whether `customer` may be asked now: neither asked (till, email) nor answered in 90 days.
pub fn may_ask_now(conn: &Connection, customer: CustomerId, now: DateTime<Utc>) -> Result<bool> {
    let (asked, answered) = last_contact(conn, customer)?;
    Ok(rules::may_ask(asked.max(answered), now))
}

/// The customers asked the question or who answered it after `since` (the ones `may_ask_now`
/// refuses when `since` is 90 days back), in one read for a whole audience.
pub fn asked_since(conn: &Connection, since: DateTime<Utc>) -> Result<std::collections::HashSet<CustomerId>> {
    let mut st = conn.prepare_cached(
        "SELECT customer_id FROM nps_invitations WHERE created_at > ?1
         UNION SELECT customer_id FROM nps_answers WHERE answered_at > ?1 AND customer_id IS NOT NULL",
    )?;
    let rows = st.query_map([since], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Record that a campaign's message asks `customer` the survey question, under the message's
/// own token (the one its answer links carry).
pub fn invite_by_campaign(tx: &Tx, customer: CustomerId, campaign: i64, token: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO nps_invitations (token, customer_id, channel, campaign_id, created_at) VALUES (?1, ?2, 'email', ?3, ?4)",
        params![token, customer, campaign, tx.now],
    )?;
    Ok(())
}

/// A new survey token for an email to `customer` (kept as an invitation: they were asked).
pub fn new_email_invitation(tx: &Tx, customer: CustomerId, campaign: Option<i64>) -> Result<String> {
    let token = crate::campaigns::store::new_token();
    tx.execute(
        "INSERT INTO nps_invitations (token, customer_id, channel, campaign_id, created_at) VALUES (?1, ?2, 'email', ?3, ?4)",
        params![token, customer, campaign, tx.now],
    )?;
    Ok(token)
}

impl Store {
    /// An answer given at the till or typed from a paper form.
    pub fn record_nps(&mut self, input: &NpsInput, key: Option<&str>) -> Result<Outcome<NpsAnswer>> {
        let now = self.now();
        if input.score > 10 {
            return Err(Error::invalid("score", "field.nps_score_invalid"));
        }
        let comment = clean_comment(&input.comment)?;
        let answered_at = input.answered_at.unwrap_or(now);
        if answered_at > now + Duration::minutes(5) {
            return Err(Error::invalid("answered_at", "field.date_in_future"));
        }
        if answered_at < now - Duration::days(3 * 366) {
            return Err(Error::invalid("answered_at", "field.nps_date_too_old"));
        }
        match (input.channel, input.customer_id) {
            (NpsChannel::Email, _) => return Err(Error::invalid("channel", "field.nps_channel_invalid")),
            (NpsChannel::Till, None) => return Err(Error::invalid("customer_id", "field.nps_customer_required")),
            _ => {}
        }
        let out = self.transact(("nps.record", input), key, |tx| {
            if let Some(c) = input.customer_id {
                ensure_customer(tx, c)?;
                let (_, answered) = last_contact(tx, c)?;
                if let Some(last) = answered.filter(|a| (*a - answered_at).num_days().abs() < ASK_EVERY_DAYS) {
                    return Err(Error::Conflict {
                        key: "conflict.nps_recent_answer",
                        args: vec![("date", last.format("%Y-%m-%d").to_string())],
                    });
                }
                tx.changes.customer(c);
            }
            insert_answer(
                tx,
                input.customer_id,
                input.score,
                comment.as_deref(),
                input.channel,
                answered_at,
                None,
                None,
            )
        })?;
        let answer = answers(self.conn(), "a.id = ?1", [out.value])?
            .pop()
            .ok_or_else(|| Error::not_found("nps_answer", out.value))?;
        Ok(Outcome { value: answer, changes: out.changes, replayed: out.replayed })
    }

    /// The question was put at the till (answered or declined): not again for 90 days.
    pub fn nps_asked(&mut self, customer: CustomerId, key: Option<&str>) -> Result<Outcome<()>> {
        self.transact(("nps.asked", &customer), key, |tx| {
            ensure_customer(tx, customer)?;
            tx.execute(
                "INSERT INTO nps_invitations (customer_id, channel, created_at) VALUES (?1, 'till', ?2)",
                params![customer, tx.now],
            )?;
            tx.changes.customer(customer);
            Ok(())
        })
    }

    /// See [`record_email_answer`]; its own transaction.
    pub fn record_email_answer(
        &mut self,
        token: &str,
        score: u8,
        comment: &str,
        from: &str,
        date: Option<DateTime<Utc>>,
    ) -> Result<Outcome<EmailAnswer>> {
        self.transact("nps.email_answer", None, |tx| record_email_answer(tx, token, score, comment, from, date))
    }

    pub fn customer_nps(&self, customer: CustomerId) -> Result<CustomerNps> {
        crate::customers::ensure_exists(self.conn(), customer)?;
        let (asked, _) = last_contact(self.conn(), customer)?;
        Ok(CustomerNps {
            may_ask: may_ask_now(self.conn(), customer, self.now())?,
            last_asked_at: asked,
            last_answer: answers(
                self.conn(),
                "a.customer_id = ?1 ORDER BY a.answered_at DESC, a.id DESC LIMIT 1",
                [customer],
            )?
            .pop(),
            open_followups: followups(self.conn(), "f.customer_id = ?1 AND f.done_at IS NULL", [customer])?,
            done_followups: followups(self.conn(), "f.customer_id = ?1 AND f.done_at IS NOT NULL", [customer])?
                .into_iter()
                .take(5)
                .collect(),
        })
    }

    /// Close a follow-up with what was done (a call, a gesture…).
    pub fn close_followup(&mut self, id: i64, note: &str, key: Option<&str>) -> Result<Outcome<()>> {
        let note = check_text("note", note, 500, false)?;
        self.transact(("nps.followup_done", &(id, &note)), key, |tx| {
            let row: Option<(CustomerId, Option<String>)> = tx
                .query_row("SELECT customer_id, done_at FROM nps_followups WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            match row {
                None => Err(Error::not_found("followup", id)),
                Some((_, Some(_))) => Err(Error::conflict("conflict.followup_done")),
                Some((customer, None)) => {
                    tx.execute(
                        "UPDATE nps_followups SET done_at = ?1, done_note = ?2 WHERE id = ?3",
                        params![tx.now, note, id],
                    )?;
                    tx.changes.customer(customer);
                    Ok(())
                }
            }
        })
    }

    /// The shop's satisfaction over the last `months` months: the score, its trend, the
    /// comments by theme and the follow-ups to do.
    pub fn nps_summary(&self, months: u32) -> Result<NpsSummary> {
        let mut s = self.nps_overview(months)?;
        let since = months_back(self.now(), months);
        s.themes = self.nps_themes(since)?;
        s.open_followups = followups(self.conn(), "f.done_at IS NULL", [])?;
        Ok(s)
    }

    /// The score and its trend only (counted in SQL, quick on any shop), for the dashboard.
    pub fn nps_overview(&self, months: u32) -> Result<NpsSummary> {
        if !(1..=36).contains(&months) {
            return Err(Error::Validation(vec![FieldError::new("months", "field.numbers_period_invalid")]));
        }
        let since = months_back(self.now(), months);
        // The months are counted one query each, on one snapshot: an answer saved meanwhile
        // is in all of the trend or none of it.
        let (trend, [p, pa, d, lp, lpa, ld]) = self.on_one_snapshot(|conn| {
            let trend = monthly_counts(conn, since, self.now())?;
            Ok((trend, latest_counts(conn, since)?))
        })?;
        let answers = p + pa + d;
        Ok(NpsSummary {
            months,
            answers,
            promoters: p,
            passives: pa,
            detractors: d,
            listed_promoters: lp,
            listed_passives: lpa,
            listed_detractors: ld,
            score: rules::score(p, pa, d),
            indicative: rules::indicative(answers),
            trend: trend
                .into_iter()
                .map(|(month, [p, pa, d])| NpsMonth { month, answers: p + pa + d, score: rules::score(p, pa, d) })
                .collect(),
            themes: Vec::new(),
            open_followups: Vec::new(),
        })
    }

    /// The comments of the last `months` months about `theme` (every comment without one),
    /// newest first, at most `limit` of them; `total` counts them all, as the themes' table.
    pub fn nps_comments(&self, theme: Option<Theme>, months: u32, limit: usize) -> Result<NpsComments> {
        if !(1..=36).contains(&months) {
            return Err(Error::Validation(vec![FieldError::new("months", "field.numbers_period_invalid")]));
        }
        let since = months_back(self.now(), months);
        let all = answers(
            self.conn(),
            "a.comment IS NOT NULL AND a.answered_at >= ?1 ORDER BY a.answered_at DESC, a.id DESC",
            [since],
        )?;
        let mut total = 0;
        let mut items = Vec::new();
        for a in all {
            let about = theme.is_none_or(|t| a.comment.as_deref().is_some_and(|c| rules::themes(c).contains(&t)));
            if about {
                total += 1;
                if items.len() < limit.min(500) {
                    items.push(a);
                }
            }
        }
        Ok(NpsComments { total, items })
    }

    /// The comments since `since` by theme, most talked about first.
    pub fn nps_themes(&self, since: DateTime<Utc>) -> Result<Vec<ThemeCount>> {
        let mut st = self
            .conn()
            .prepare_cached("SELECT score, comment FROM nps_answers WHERE answered_at >= ?1 AND comment IS NOT NULL")?;
        let mut rows = st.query([since])?;
        let mut by_theme: BTreeMap<Theme, (i64, i64, i64)> = BTreeMap::new();
        while let Some(r) = rows.next()? {
            let g = group(r.get(0)?);
            let comment: String = r.get(1)?;
            for t in rules::themes(&comment) {
                let e = by_theme.entry(t).or_default();
                e.0 += 1;
                e.1 += i64::from(g == NpsGroup::Promoter);
                e.2 += i64::from(g == NpsGroup::Detractor);
            }
        }
        let mut themes: Vec<ThemeCount> = by_theme
            .into_iter()
            .map(|(theme, (comments, promoters, detractors))| ThemeCount { theme, comments, promoters, detractors })
            .collect();
        themes.sort_by(|a, b| b.comments.cmp(&a.comments).then(a.theme.cmp(&b.theme)));
        Ok(themes)
    }
}

/// Promoters, passives and detractors by local month (`"2026-03"`), months without an answer
/// left out, from the month holding `since` on, whole (the first month counted from its first
/// day: a trend's point is a calendar month, and may hold answers older than the headline's
/// window; the trend sentence's months are whole months too). Each month up to the one
/// holding `now` is a range of the answers' date index: grouping on the local month of every
/// answer (`strftime(…, 'localtime')`) cost a time-zone conversion per answer, most of the
/// dashboard on a large shop. Answers dated after this month (a computer's clock set wrong, an
/// email's date header) are few: they keep that grouping, so one dated 2099 costs no query per
/// month between.
pub(crate) fn monthly_counts(
    conn: &Connection,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<(String, [i64; 3])>> {
    let mut st = conn.prepare_cached(
        "SELECT coalesce(sum(score >= 9), 0), coalesce(sum(score BETWEEN 7 AND 8), 0), coalesce(sum(score <= 6), 0)
         FROM nps_answers WHERE answered_at >= ?1 AND answered_at < ?2",
    )?;
    let mut out = Vec::new();
    let months = rules::local_months(since, now);
    for (month, from, to) in &months {
        let c: [i64; 3] = st.query_row(params![from, to], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?]))?;
        if c.iter().sum::<i64>() > 0 {
            out.push((month.clone(), c));
        }
    }
    let after = months.last().map_or(since, |(_, _, to)| *to);
    let mut later = conn.prepare_cached(
        "SELECT strftime('%Y-%m', answered_at, 'localtime') AS m, sum(score >= 9), sum(score BETWEEN 7 AND 8), sum(score <= 6)
         FROM nps_answers WHERE answered_at >= ?1 GROUP BY m ORDER BY m",
    )?;
    let rows = later.query_map([after], |r| Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?])))?;
    out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    Ok(out)
}

/// Promoters, passives and detractors since `since`, each customer counted once by their latest
/// answer (an answer whose customer was erased, or a paper form without one, counts on its
/// own); then the same three of the customers a list shows (`Condition::NpsAnswer` with
/// `within_months`: on file, not archived nor merged).
///
/// The latest answer is SQLite's bare column beside `max()`, over the date then the id (two
/// paper forms of the same minute, on two records of one person later merged, are ordered as
/// the list orders them: `answered_at DESC, id DESC`). Archived and merged customers are the few
/// of their own index, read once: looking each answer's customer up cost 7 of the 10 ms this
/// took on the 100k shop (6,300 answers).
fn latest_counts(conn: &Connection, since: DateTime<Utc>) -> Result<[i64; 6]> {
    let mut st = conn.prepare_cached(
        "SELECT coalesce(sum(score >= 9), 0), coalesce(sum(score BETWEEN 7 AND 8), 0), coalesce(sum(score <= 6), 0),
                coalesce(sum(score >= 9 AND listed), 0), coalesce(sum(score BETWEEN 7 AND 8 AND listed), 0),
                coalesce(sum(score <= 6 AND listed), 0)
         FROM (SELECT l.score, l.customer_id NOT IN (
                   SELECT id FROM customers WHERE archived_at IS NOT NULL OR merged_into IS NOT NULL) AS listed
               FROM (SELECT customer_id, score, max(answered_at || printf('%020d', id)) FROM nps_answers
                     WHERE answered_at >= ?1 AND customer_id IS NOT NULL GROUP BY customer_id) l
               UNION ALL
               SELECT score, 0 FROM nps_answers WHERE answered_at >= ?1 AND customer_id IS NULL)",
    )?;
    Ok(st.query_row([since], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?]))?)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
