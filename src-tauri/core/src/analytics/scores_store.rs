//! Storing the scores: only the rows that changed, in short transactions, the summary with the
//! last one; and reading them back.

use super::*;

const COLUMNS: &str = "customer_id, recency_days, frequency, monetary_cents, r, f, m, segment, prev_segment,
     usual_gap_days, own_rhythm, churn, clv_cents, clv_low_cents, clv_high_cents, p_alive_permille, kind";

/// The customer list's order by churn risk, one integer per scored customer, highest first:
/// high, medium, low, then gone (left, no longer among those to call back); within a level,
/// the highest expected value first (the customers at risk most worth a call). Spelled exactly as the index
/// of migration 21 (`customer_scores_by_risk`), or SQLite would sort the whole file.
pub const RISK_KEY: &str =
    "((CASE churn WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END) * 10000000000000
        + min(max(clv_cents, 0), 9999999999999))";

/// The list's order by RFM segment: Champions first, Lost last (the grid's order), the highest
/// expected value first within one. Spelled as the index `customer_scores_by_rank`.
pub const SEGMENT_KEY: &str =
    "((CASE segment WHEN 'champions' THEN 10 WHEN 'loyal' THEN 9 WHEN 'potential_loyal' THEN 8 WHEN 'new' THEN 7
        WHEN 'promising' THEN 6 WHEN 'need_attention' THEN 5 WHEN 'about_to_sleep' THEN 4 WHEN 'at_risk' THEN 3
        WHEN 'cannot_lose' THEN 2 WHEN 'hibernating' THEN 1 ELSE 0 END) * 10000000000000
        + min(max(clv_cents, 0), 9999999999999))";

/// The list's order by expected value: the lifetime value's column (its own index).
pub const VALUE_KEY: &str = "clv_cents";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Option<StoredScores>> {
    let segment: String = r.get(7)?;
    let prev: Option<String> = r.get(8)?;
    let churn: String = r.get(11)?;
    let kind_code: String = r.get(16)?;
    let (Some(segment), Some(churn), Some(kind)) =
        (RfmSegment::parse(&segment), ChurnRisk::parse(&churn), LoyaltyKind::parse(&kind_code))
    else {
        return Ok(None);
    };
    Ok(Some(StoredScores {
        customer_id: r.get(0)?,
        rfm: rfm::RfmScore {
            recency_days: r.get(1)?,
            frequency: r.get(2)?,
            monetary_cents: r.get(3)?,
            r: r.get(4)?,
            f: r.get(5)?,
            m: r.get(6)?,
            segment,
        },
        prev_segment: prev.as_deref().and_then(RfmSegment::parse),
        usual_gap_days: r.get(9)?,
        own_rhythm: r.get(10)?,
        churn,
        clv_cents: r.get(12)?,
        clv_low_cents: r.get(13)?,
        clv_high_cents: r.get(14)?,
        p_alive_permille: r.get(15)?,
        kind,
    }))
}

fn write_row(conn: &Connection, s: &StoredScores) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO customer_scores ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
    ))?
    .execute(params![
        s.customer_id,
        s.rfm.recency_days,
        s.rfm.frequency,
        s.rfm.monetary_cents,
        s.rfm.r,
        s.rfm.f,
        s.rfm.m,
        s.rfm.segment.code(),
        s.prev_segment.map(|p| p.code()),
        s.usual_gap_days,
        s.own_rhythm,
        s.churn.code(),
        s.clv_cents,
        s.clv_low_cents,
        s.clv_high_cents,
        s.p_alive_permille,
        s.kind.code(),
    ])?;
    Ok(())
}

/// What the scores depend on: the last purchase, customer event, ledger entry, answer and
/// outbox row, and the settings. When none of it changed on the same day, the scores stand.
pub fn inputs_fingerprint(conn: &Connection) -> Result<String> {
    Ok(conn.query_row(
        "SELECT (SELECT coalesce(max(id), 0) FROM purchases) || ' ' || (SELECT coalesce(max(id), 0) FROM customer_events)
             || ' ' || (SELECT coalesce(max(id), 0) FROM points_ledger) || ' ' || (SELECT coalesce(max(id), 0) FROM nps_answers)
             || ' ' || (SELECT coalesce(max(id), 0) FROM campaign_recipients)
             || ' ' || coalesce((SELECT value FROM settings WHERE key = 'analytics'), '')",
        [],
        |r| r.get(0),
    )?)
}

/// What a refresh of the scores did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoresRefresh {
    pub customers: usize,
    pub written: usize,
    pub removed: usize,
}

impl Store {
    /// Compute every customer's scores and store those that changed (see the module's
    /// invariants).
    pub fn refresh_scores(&mut self) -> Result<ScoresRefresh> {
        let now = self.now();
        let inputs = inputs_fingerprint(self.conn())?;
        let Computed { rows, summary } = compute(self.conn(), now)?;
        // Compare with what is stored, in id order, keeping only the differences.
        let mut changed: Vec<usize> = Vec::new();
        let mut stale: Vec<CustomerId> = Vec::new();
        {
            let mut st = self.conn().prepare(&format!("SELECT {COLUMNS} FROM customer_scores ORDER BY customer_id"))?;
            let mut existing = st.query([])?;
            let mut i = 0;
            while let Some(r) = existing.next()? {
                let id: CustomerId = r.get(0)?;
                while i < rows.len() && rows[i].customer_id < id {
                    changed.push(i);
                    i += 1;
                }
                if i < rows.len() && rows[i].customer_id == id {
                    if from_row(r)?.as_ref() != Some(&rows[i]) {
                        changed.push(i);
                    }
                    i += 1;
                } else {
                    stale.push(id);
                }
            }
            changed.extend(i..rows.len());
        }
        let summary_json = serde_json::to_string(&summary)?;
        let written = changed.len();
        let removed = stale.len();
        let mut batches: Vec<(&[usize], &[CustomerId])> = changed.chunks(CHUNK).map(|c| (c, &[][..])).collect();
        batches.extend(stale.chunks(CHUNK).map(|s| (&[][..], s)));
        if batches.is_empty() {
            batches.push((&[], &[]));
        }
        let last = batches.len() - 1;
        for (n, (write, remove)) in batches.into_iter().enumerate() {
            self.transact("analytics.scores", None, |tx| {
                for i in write {
                    write_row(tx, &rows[*i])?;
                }
                for id in remove {
                    tx.execute("DELETE FROM customer_scores WHERE customer_id = ?1", [id])?;
                }
                if n == last {
                    set_state(tx, "scores", &summary_json)?;
                    set_state(tx, "scores.inputs", &inputs)?;
                }
                Ok(())
            })?;
        }
        Ok(ScoresRefresh { customers: rows.len(), written, removed })
    }

    /// The scores were computed today from the data as it is now, and the figures kept with
    /// them are readable (a snapshot written by an older version, of another shape, is redone).
    pub fn scores_up_to_date(&self) -> Result<bool> {
        let Some(summary) = self.scores_summary()? else { return Ok(false) };
        if self.insights()?.is_none() {
            return Ok(false);
        }
        // Local days, as the scores count them.
        let same_day = crate::analytics::calendar::local_date(summary.computed_at)
            == crate::analytics::calendar::local_date(self.now());
        Ok(same_day
            && state(self.conn(), "scores.inputs")?.as_deref() == Some(inputs_fingerprint(self.conn())?.as_str()))
    }

    /// The summary of the last refresh of the scores, if there was one.
    pub fn scores_summary(&self) -> Result<Option<ScoresSummary>> {
        Ok(state(self.conn(), "scores")?.and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// One customer's stored scores (none before their first purchase, or before the next refresh).
    pub fn stored_scores(&self, customer: CustomerId) -> Result<Option<StoredScores>> {
        let mut st =
            self.conn().prepare_cached(&format!("SELECT {COLUMNS} FROM customer_scores WHERE customer_id = ?1"))?;
        let mut rows = st.query([customer])?;
        match rows.next()? {
            Some(r) => Ok(from_row(r)?),
            None => Ok(None),
        }
    }
}
