//! What a restore carries from the live file into the older copy about campaigns: the messages
//! that left after the backup was taken, so that nobody receives a campaign twice because the
//! file went back in time.
//!
//! Rules: every outbox row sent in the live file after the backup's time is sent in the copy
//! too (the same row when the copy has it, by id and token; the whole row otherwise, when its
//! campaign and customer exist in the copy). A campaign that was running in the copy, or that
//! sent something after the backup, is paused (reason `merchant`, detail `restore`): nothing
//! leaves again by itself from an old outbox; the merchant resumes it knowingly, and a resume
//! only sends the rows still queued.

use crate::error::Result;
use crate::storage::Tx;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};

/// The live file's outbox rows sent after `since`, whole (every column, by name).
pub(super) struct SentRows {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

fn columns(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare("SELECT name FROM pragma_table_info('campaign_recipients') ORDER BY cid")?;
    let names = st.query_map([], |r| r.get::<_, String>(0))?;
    Ok(names.collect::<rusqlite::Result<_>>()?)
}

/// Read the rows to carry from the live file.
pub(super) fn sent_since(live: &Connection, since: DateTime<Utc>) -> Result<SentRows> {
    let columns = columns(live)?;
    let list = columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    let mut st = live.prepare(&format!(
        "SELECT {list} FROM campaign_recipients WHERE state = 'sent' AND sent_at > ?1 ORDER BY id"
    ))?;
    let n = columns.len();
    let rows = st.query_map([since], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>())?;
    Ok(SentRows { rows: rows.collect::<rusqlite::Result<_>>()?, columns })
}

/// What the carry did: messages marked sent in the copy, campaigns paused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Carried {
    pub messages: u32,
    pub campaigns_paused: u32,
}

/// Write the sent rows into the copy (inside its transaction) and pause what could send again.
pub(super) fn carry(tx: &Tx, sent: &SentRows) -> Result<Carried> {
    let mut out = Carried::default();
    let copy_cols = columns(tx)?;
    let at = |name: &str| sent.columns.iter().position(|c| c == name);
    let (Some(id_i), Some(token_i), Some(campaign_i), Some(customer_i), Some(msg_i), Some(sent_i)) =
        (at("id"), at("token"), at("campaign_id"), at("customer_id"), at("message_id"), at("sent_at"))
    else {
        return Ok(out);
    };
    // The copy was migrated to this app's schema, as the live file is: same columns.
    let whole = copy_cols == sent.columns;
    let list = sent.columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    let slots = (1..=sent.columns.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let insert = format!("INSERT OR IGNORE INTO campaign_recipients ({list}) VALUES ({slots})");
    let mut campaigns = std::collections::BTreeSet::new();
    for row in &sent.rows {
        let present: Option<(String, String)> = tx
            .prepare_cached("SELECT token, state FROM campaign_recipients WHERE id = ?1")?
            .query_row([&row[id_i]], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let carried = match present {
            Some((token, state)) => {
                let same = matches!(&row[token_i], Value::Text(t) if *t == token);
                if same && state != "sent" {
                    tx.prepare_cached(
                        "UPDATE campaign_recipients SET state = 'sent', message_id = ?1, sent_at = ?2 WHERE id = ?3",
                    )?
                    .execute(params![row[msg_i], row[sent_i], row[id_i]])?;
                    true
                } else {
                    false
                }
            }
            None if whole => {
                let parents: bool = tx
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = ?1) AND EXISTS (SELECT 1 FROM customers WHERE id = ?2)",
                    )?
                    .query_row([&row[campaign_i], &row[customer_i]], |r| r.get(0))?;
                parents && tx.prepare_cached(&insert)?.execute(rusqlite::params_from_iter(row.iter()))? == 1
            }
            None => false,
        };
        if carried {
            out.messages += 1;
        }
        campaigns.insert(match &row[campaign_i] {
            Value::Integer(i) => *i,
            _ => continue,
        });
    }
    // Nothing leaves again by itself: running campaigns, and those that sent after the backup.
    out.campaigns_paused += tx.execute(
        "UPDATE campaigns SET state = 'paused', pause_reason = 'merchant', pause_detail = 'restore', resume_at = NULL, updated_at = ?1
         WHERE state = 'running'",
        [tx.now],
    )? as u32;
    for id in campaigns {
        out.campaigns_paused += tx.execute(
            "UPDATE campaigns SET state = 'paused', pause_reason = 'merchant', pause_detail = 'restore', resume_at = NULL, updated_at = ?1
             WHERE id = ?2 AND state = 'scheduled'",
            params![tx.now, id],
        )? as u32;
    }
    Ok(out)
}
