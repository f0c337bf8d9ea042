//! A customer's timeline: everything that happened, newest first, gathered from the tables
//! that record it (events, purchases, notes, consent).

use super::{ConsentChoice, ConsentSource};
use crate::error::Result;
use crate::storage::Store;
use crate::types::{Cents, CustomerId, PurchaseId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineKind {
    Created,
    Edited {
        fields: Vec<String>,
    },
    Archived,
    Restored,
    MergedFrom {
        other_id: CustomerId,
        other_name: String,
    },
    MergedInto {
        other_id: CustomerId,
        other_name: String,
    },
    Sale {
        purchase_id: PurchaseId,
        amount_cents: Cents,
        category: Option<String>,
        note: Option<String>,
        refunded_cents: Cents,
        backdated: bool,
    },
    Refund {
        purchase_id: PurchaseId,
        sale_id: PurchaseId,
        amount_cents: Cents,
        note: Option<String>,
    },
    Note {
        note_id: i64,
        body: String,
    },
    Consent {
        choice: ConsentChoice,
        source: ConsentSource,
        wording: Option<String>,
    },
    CardReplaced {
        number: String,
    },
    CardBlocked {
        number: String,
    },
    /// A loyalty movement other than what a sale earned or its refund took back (those show
    /// with the sale): a reward, an expiry, a gesture by hand, an action, a tier bonus.
    Points {
        kind: String,
        points: i64,
        reason: Option<String>,
        staff: Option<String>,
    },
    VoucherIssued {
        code: String,
        kind: String,
        value: i64,
        reason: Option<String>,
        /// A gift voucher: the gift's name.
        label: Option<String>,
    },
    /// A campaign message left for this customer.
    EmailSent {
        campaign_id: i64,
        campaign: String,
        variant: Option<String>,
    },
    /// Something that happened to a referral this customer is part of (as `role`: referrer
    /// or friend): referred, flagged, qualified, approved, reward issued or taken back, voided…
    Referral {
        event: String,
        role: String,
        other_id: Option<CustomerId>,
        other_name: Option<String>,
        reason: Option<String>,
        note: Option<String>,
        staff: Option<String>,
        /// The reward's words, for reward events.
        detail: Option<String>,
    },
    /// Stamps earned, taken back, used on a milestone or corrected by hand.
    Stamps {
        kind: String,
        stamps: i64,
        /// For a milestone claim: its position on the card (0 = first) and its words in the
        /// programme today.
        milestone: Option<i64>,
        label: Option<String>,
        /// A milestone given back because its sale was fully refunded.
        returned: bool,
    },
    /// A voucher used on a sale, or given back by a refund (`undone`); a gift (its `label`)
    /// may be handed over without a sale, by `staff`.
    VoucherUsed {
        code: String,
        purchase_id: Option<PurchaseId>,
        undone: bool,
        label: Option<String>,
        staff: Option<String>,
    },
    /// A tier reached (`up`) or lost at the end of its kept period (then `to` is the tier held
    /// after, if any).
    TierChanged {
        tier: String,
        up: bool,
        to: Option<String>,
    },
    /// An automatic message: sent, or not sent and why (skipped, expired, held out).
    Automation {
        automation: String,
        occasion: String,
        state: String,
        reason: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    #[ts(flatten)]
    pub kind: TimelineKind,
}

/// Rule: a receipt is "backdated" when it was entered more than an hour after it happened.
pub fn is_backdated(occurred_at: DateTime<Utc>, recorded_at: DateTime<Utc>) -> bool {
    recorded_at - occurred_at > chrono::Duration::hours(1)
}

impl Store {
    /// Everything that happened to a customer, newest first (at most `limit` entries).
    pub fn timeline(&self, id: CustomerId, limit: usize) -> Result<Vec<TimelineEntry>> {
        super::ensure_exists(self.conn(), id)?;
        let conn = self.conn();
        let lim = limit as i64;
        let mut out: Vec<(DateTime<Utc>, i64, TimelineKind)> = Vec::new();

        let mut st = conn.prepare_cached(
            "SELECT id, kind, at, data FROM customer_events WHERE customer_id = ?1 ORDER BY at DESC LIMIT ?2",
        )?;
        let rows = st.query_map(rusqlite::params![id, lim], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, DateTime<Utc>>(2)?, r.get::<_, String>(3)?))
        })?;
        for row in rows {
            let (eid, kind, at, data) = row?;
            let data: serde_json::Value = serde_json::from_str(&data)?;
            let other = || {
                (
                    data["other_id"].as_i64().unwrap_or_default(),
                    data["other_name"].as_str().unwrap_or_default().to_string(),
                )
            };
            let k = match kind.as_str() {
                "created" => TimelineKind::Created,
                "edited" => TimelineKind::Edited {
                    fields: data["fields"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                        .unwrap_or_default(),
                },
                "archived" => TimelineKind::Archived,
                "restored" => TimelineKind::Restored,
                "merged_from" => {
                    let (other_id, other_name) = other();
                    TimelineKind::MergedFrom { other_id, other_name }
                }
                "merged_into" => {
                    let (other_id, other_name) = other();
                    TimelineKind::MergedInto { other_id, other_name }
                }
                "card_replaced" => {
                    TimelineKind::CardReplaced { number: data["number"].as_str().unwrap_or_default().to_string() }
                }
                "card_blocked" => {
                    TimelineKind::CardBlocked { number: data["number"].as_str().unwrap_or_default().to_string() }
                }
                _ => continue,
            };
            out.push((at, eid, k));
        }

        let mut st = conn.prepare_cached(
            "SELECT p.id, p.kind, p.amount_cents, p.occurred_at, p.recorded_at, p.note, p.category, p.refund_of,
                    (SELECT coalesce(sum(r.amount_cents), 0) FROM purchases r WHERE r.refund_of = p.id)
             FROM purchases p WHERE p.customer_id = ?1 ORDER BY p.occurred_at DESC, p.id DESC LIMIT ?2",
        )?;
        let rows = st.query_map(rusqlite::params![id, lim], |r| {
            let pid: i64 = r.get(0)?;
            let kind: String = r.get(1)?;
            let at: DateTime<Utc> = r.get(3)?;
            let recorded: DateTime<Utc> = r.get(4)?;
            let k = if kind == "refund" {
                TimelineKind::Refund { purchase_id: pid, sale_id: r.get(7)?, amount_cents: r.get(2)?, note: r.get(5)? }
            } else {
                TimelineKind::Sale {
                    purchase_id: pid,
                    amount_cents: r.get(2)?,
                    category: r.get(6)?,
                    note: r.get(5)?,
                    refunded_cents: r.get(8)?,
                    backdated: is_backdated(at, recorded),
                }
            };
            Ok((at, pid, k))
        })?;
        for row in rows {
            out.push(row?);
        }

        let mut st = conn.prepare_cached(
            "SELECT id, body, created_at FROM notes WHERE customer_id = ?1 ORDER BY created_at DESC LIMIT ?2",
        )?;
        let rows = st.query_map(rusqlite::params![id, lim], |r| {
            let nid: i64 = r.get(0)?;
            Ok((r.get(2)?, nid, TimelineKind::Note { note_id: nid, body: r.get(1)? }))
        })?;
        for row in rows {
            out.push(row?);
        }

        let mut st = conn.prepare_cached("SELECT id, basis, source, wording, recorded_at FROM consents WHERE customer_id = ?1 ORDER BY id DESC LIMIT ?2")?;
        let rows = st.query_map(rusqlite::params![id, lim], |r| {
            Ok((
                r.get(4)?,
                r.get::<_, i64>(0)?,
                TimelineKind::Consent {
                    choice: ConsentChoice::parse(&r.get::<_, String>(1)?).unwrap_or(ConsentChoice::Refused),
                    source: ConsentSource::parse(&r.get::<_, String>(2)?).unwrap_or(ConsentSource::Counter),
                    wording: r.get(3)?,
                },
            ))
        })?;
        for row in rows {
            out.push(row?);
        }

        // Newest first; at the same instant, the later row first.
        let mut st = conn.prepare_cached(
            "SELECT id, at, kind, points, coalesce(reason, action), staff FROM points_ledger
             WHERE customer_id = ?1 AND kind NOT IN ('earn', 'reverse') ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = st.query_map(rusqlite::params![id, lim], |r| {
            Ok((
                r.get(1)?,
                r.get::<_, i64>(0)?,
                TimelineKind::Points { kind: r.get(2)?, points: r.get(3)?, reason: r.get(4)?, staff: r.get(5)? },
            ))
        })?;
        for row in rows {
            out.push(row?);
        }

        let mut st = conn.prepare_cached(
            "SELECT id, issued_at, code, kind, value, reason, label FROM vouchers WHERE customer_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = st.query_map(rusqlite::params![id, lim], |r| {
            Ok((
                r.get(1)?,
                r.get::<_, i64>(0)?,
                TimelineKind::VoucherIssued {
                    code: r.get(2)?,
                    kind: r.get(3)?,
                    value: r.get(4)?,
                    reason: r.get(5)?,
                    label: r.get(6)?,
                },
            ))
        })?;
        for row in rows {
            out.push(row?);
        }

        let mut st = conn.prepare_cached(
            "SELECT r.id, r.sent_at, r.campaign_id, c.name, r.variant FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
             WHERE r.customer_id = ?1 AND r.state = 'sent' AND c.kind = 'campaign' ORDER BY r.sent_at DESC LIMIT ?2",
        )?;
        let rows = st.query_map(rusqlite::params![id, lim], |r| {
            Ok((
                r.get(1)?,
                r.get::<_, i64>(0)?,
                TimelineKind::EmailSent { campaign_id: r.get(2)?, campaign: r.get(3)?, variant: r.get(4)? },
            ))
        })?;
        for row in rows {
            out.push(row?);
        }

        out.extend(crate::referrals::timeline_entries(conn, id, limit)?);
        loyalty_and_automation_entries(conn, id, lim, &mut out)?;

        // At the same instant the creation comes last, then the later row first.
        let rank = |k: &TimelineKind| {
            if matches!(k, TimelineKind::Created) {
                0
            } else {
                1
            }
        };
        out.sort_by(|a, b| b.0.cmp(&a.0).then(rank(&b.2).cmp(&rank(&a.2))).then(b.1.cmp(&a.1)));
        out.truncate(limit);
        Ok(out.into_iter().map(|(at, _, kind)| TimelineEntry { at, kind }).collect())
    }
}

/// Stamps, milestone claims (and their return), voucher uses, tier changes and automatic
/// messages of a customer.
fn loyalty_and_automation_entries(
    conn: &rusqlite::Connection,
    id: CustomerId,
    lim: i64,
    out: &mut Vec<(DateTime<Utc>, i64, TimelineKind)>,
) -> Result<()> {
    let mut st = conn.prepare_cached(
        "SELECT s.id, s.at, s.kind, s.stamps, s.milestone, 0 FROM stamps_ledger s WHERE s.customer_id = ?1
         UNION ALL
         SELECT s.id, x.at, 'returned', CASE WHEN s.stamps < 0 THEN -s.stamps ELSE 0 END, s.milestone, 1
         FROM stamp_claim_returns x JOIN stamps_ledger s ON s.id = x.claim_id WHERE s.customer_id = ?1
         ORDER BY 2 DESC LIMIT ?2",
    )?;
    let labels: Vec<String> = crate::loyalty::programme::programme(conn)?
        .stamps
        .map(|s| s.milestones.into_iter().map(|m| m.label).collect())
        .unwrap_or_default();
    let rows = st.query_map(rusqlite::params![id, lim], |r| {
        let milestone: Option<i64> = r.get(4)?;
        let label = milestone.and_then(|m| usize::try_from(m).ok()).and_then(|m| labels.get(m).cloned());
        Ok((
            r.get(1)?,
            r.get::<_, i64>(0)?,
            TimelineKind::Stamps { kind: r.get(2)?, stamps: r.get(3)?, milestone, label, returned: r.get(5)? },
        ))
    })?;
    for row in rows {
        out.push(row?);
    }
    let mut st = conn.prepare_cached(
        "SELECT u.id, u.at, v.code, u.purchase_id, u.kind, v.label, u.staff FROM voucher_uses u JOIN vouchers v ON v.id = u.voucher_id
         WHERE v.customer_id = ?1 ORDER BY u.id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(rusqlite::params![id, lim], |r| {
        Ok((
            r.get(1)?,
            r.get::<_, i64>(0)?,
            TimelineKind::VoucherUsed {
                code: r.get(2)?,
                purchase_id: r.get(3)?,
                undone: r.get::<_, String>(4)? == "undo",
                label: r.get(5)?,
                staff: r.get(6)?,
            },
        ))
    })?;
    for row in rows {
        out.push(row?);
    }
    // Upgrades: a tier reached while no tier at least as high was held (a renewal is not one).
    let mut st = conn.prepare_cached(
        "SELECT e.id, e.reached_at, e.tier_name FROM tier_events e WHERE e.customer_id = ?1
           AND NOT EXISTS (SELECT 1 FROM tier_events p WHERE p.customer_id = e.customer_id AND p.id < e.id
                           AND p.tier_index >= e.tier_index AND p.kept_until >= e.reached_at)
         ORDER BY e.id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(rusqlite::params![id, lim], |r| {
        Ok((r.get(1)?, r.get::<_, i64>(0)?, TimelineKind::TierChanged { tier: r.get(2)?, up: true, to: None }))
    })?;
    for row in rows {
        out.push(row?);
    }
    let mut st = conn.prepare_cached(
        "SELECT id, at, from_name, to_name FROM tier_downgrades WHERE customer_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(rusqlite::params![id, lim], |r| {
        Ok((r.get(1)?, r.get::<_, i64>(0)?, TimelineKind::TierChanged { tier: r.get(2)?, up: false, to: r.get(3)? }))
    })?;
    for row in rows {
        out.push(row?);
    }
    let mut st = conn.prepare_cached(
        "SELECT j.id, j.at, a.kind, o.occasion_key, j.state, j.reason FROM automation_journal j
         JOIN automation_occasions o ON o.id = j.occasion_id JOIN automations a ON a.id = j.automation_id
         WHERE j.customer_id = ?1 AND j.state IN ('sent', 'failed', 'skipped', 'expired', 'held_out')
         ORDER BY j.id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(rusqlite::params![id, lim], |r| {
        Ok((
            r.get(1)?,
            r.get::<_, i64>(0)?,
            TimelineKind::Automation {
                automation: r.get(2)?,
                occasion: r.get(3)?,
                state: r.get(4)?,
                reason: r.get(5)?,
            },
        ))
    })?;
    for row in rows {
        out.push(row?);
    }
    Ok(())
}
