//! A person's access request (GDPR article 15, Law 25): one zip with everything Comptoir
//! holds about them — profile, consent history, purchases, points and stamps ledgers, vouchers
//! and their uses, notes, timeline events, the messages sent to them, unsubscribes, imports
//! that touched them, referrals (as referrer or friend), satisfaction answers, the mail read
//! back from them — each as JSON and CSV, plus one printable page (all text escaped).
//! Every section is a fixed query bound to the customer's id.
//!
//! Only the person's own data: a request must not disclose anyone else's. The staff member
//! who recorded a points or stamps entry is given as a role ("a member of the team"), never
//! by name; a merge says "merged from / into an earlier record of yours", without the other
//! record's name or id (`redact`).

use crate::error::Result;
use crate::i18n::tr;
use crate::storage::Store;
use crate::types::CustomerId;
use rusqlite::types::ValueRef;
use serde_json::{Map, Value};
use std::io::{Cursor, Write};

/// (file stem, query with ?1 = the customer's id).
const SECTIONS: &[(&str, &str)] = &[
    ("consents", "SELECT recorded_at, basis, source, granted, wording FROM consents WHERE customer_id = ?1 ORDER BY recorded_at, id"),
    ("purchases", "SELECT id, kind, amount_cents, occurred_at, recorded_at, note, category, refund_of FROM purchases WHERE customer_id = ?1 ORDER BY occurred_at, id"),
    ("points", "SELECT at, kind, points, expires_at, purchase_id, action, reason, staff FROM points_ledger WHERE customer_id = ?1 ORDER BY id"),
    ("stamps", "SELECT at, kind, stamps, purchase_id, milestone, reason, staff FROM stamps_ledger WHERE customer_id = ?1 ORDER BY id"),
    ("vouchers", "SELECT code, kind, value, label, issued_at, expires_at, source, reason FROM vouchers WHERE customer_id = ?1 ORDER BY id"),
    ("voucher_uses", "SELECT v.code, u.kind, u.purchase_id, u.at, u.staff FROM voucher_uses u JOIN vouchers v ON v.id = u.voucher_id WHERE v.customer_id = ?1 ORDER BY u.id"),
    ("cards", "SELECT number, status, issued_at FROM cards WHERE customer_id = ?1 ORDER BY id"),
    ("notes", "SELECT created_at, body FROM notes WHERE customer_id = ?1 ORDER BY created_at, id"),
    ("tags", "SELECT tag FROM customer_tags WHERE customer_id = ?1 ORDER BY tag_fold"),
    ("events", "SELECT at, kind, data FROM customer_events WHERE customer_id = ?1 ORDER BY at, id"),
    ("messages", "SELECT c.name AS campaign, r.email, r.state, r.sent_at FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id WHERE r.customer_id = ?1 AND r.state IN ('sent', 'failed') ORDER BY r.id"),
    ("unsubscribes", "SELECT at, source, campaign_id FROM unsubscribes WHERE customer_id = ?1 ORDER BY id"),
    ("imports", "SELECT i.file_name, i.created_at, x.action, i.undone_at FROM import_changes x JOIN imports i ON i.id = x.import_id WHERE x.customer_id = ?1 ORDER BY i.id"),
    ("referrals", "SELECT CASE WHEN referrer_id = ?1 THEN 'referrer' ELSE 'friend' END AS role, created_at, via, status, approved_at, ended_at, end_reason FROM referrals WHERE referrer_id = ?1 OR friend_id = ?1 ORDER BY id"),
    ("satisfaction", "SELECT answered_at, score, comment, channel FROM nps_answers WHERE customer_id = ?1 ORDER BY answered_at, id"),
    ("mail_received", "SELECT received_at, from_addr, subject, kind, decision FROM mailbox_messages WHERE customer_id = ?1 ORDER BY id"),
];

/// One section: its name, its columns and its rows.
type Table = (&'static str, Vec<String>, Vec<Vec<Value>>);

/// Keys of a timeline event's data that name or point at someone else.
const OTHERS: &[&str] = &["other_name", "other_id", "staff", "by"];

/// Rule: a row of a section as the person may see it — a staff member as a role, a timeline
/// event's data without the other people it names (a merge told as their own earlier record).
fn redact(lang: crate::types::Lang, cols: &[String], row: &mut [Value]) {
    let kind = cols.iter().position(|c| c == "kind").and_then(|i| row[i].as_str().map(str::to_string));
    for (c, v) in cols.iter().zip(row.iter_mut()) {
        match c.as_str() {
            "staff" if v.as_str().is_some_and(|s| !s.trim().is_empty()) => {
                *v = Value::String(tr(lang, "access.staff_member", &[]));
            }
            "data" => {
                let Some(Value::Object(mut data)) = v.as_str().and_then(|s| serde_json::from_str(s).ok()) else {
                    continue;
                };
                for k in OTHERS {
                    data.remove(*k);
                }
                match kind.as_deref() {
                    Some("merged_from") => {
                        data.insert("merge".into(), Value::String(tr(lang, "access.merged_from", &[])));
                    }
                    Some("merged_into") => {
                        data.insert("merge".into(), Value::String(tr(lang, "access.merged_into", &[])));
                    }
                    _ => {}
                }
                *v = Value::String(Value::Object(data).to_string());
            }
            _ => {}
        }
    }
}

fn value(v: ValueRef) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => Value::String("(binary)".into()),
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => super::normalise::neutralise(s),
        other => other.to_string(),
    }
}

/// Escape text for HTML: the page never carries markup from the data.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

impl Store {
    /// The access pack of one customer, as zip bytes, and its file name.
    pub fn access_pack(&self, id: CustomerId) -> Result<(Vec<u8>, String)> {
        let customer = self.customer(id)?;
        let lang = self.settings()?.language;
        let mut everything = Map::new();
        everything.insert("profile".into(), serde_json::to_value(&customer)?);
        let mut tables: Vec<Table> = Vec::new();
        for (name, sql) in SECTIONS {
            let mut st = self.conn().prepare(sql)?;
            let cols: Vec<String> = st.column_names().map(|c| c.to_string()).collect();
            let mut rows = st.query([id])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let mut row =
                    (0..cols.len()).map(|i| r.get_ref(i).map(value).unwrap_or(Value::Null)).collect::<Vec<_>>();
                redact(lang, &cols, &mut row);
                out.push(row);
            }
            let objects: Vec<Value> =
                out.iter().map(|row| Value::Object(cols.iter().cloned().zip(row.iter().cloned()).collect())).collect();
            everything.insert(name.to_string(), Value::Array(objects));
            tables.push((name, cols, out));
        }
        let zerr = |e: zip::result::ZipError| crate::Error::Io(std::io::Error::other(e.to_string()));
        let mut zw = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zw.start_file("everything.json", opts).map_err(zerr)?;
        zw.write_all(serde_json::to_string_pretty(&Value::Object(everything))?.as_bytes())?;
        zw.start_file("profile.json", opts).map_err(zerr)?;
        zw.write_all(serde_json::to_string_pretty(&customer)?.as_bytes())?;
        let mut html = format!(
            "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title><style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:1.5em}}td,th{{border:1px solid #999;padding:2px 6px;font-size:12px;text-align:left}}</style></head><body><h1>{}</h1>",
            lang.code(),
            escape_html(&tr(lang, "access.title", &[("name", customer.display_name.clone())])),
            escape_html(&tr(lang, "access.title", &[("name", customer.display_name.clone())])),
        );
        html.push_str(&format!("<pre>{}</pre>", escape_html(&serde_json::to_string_pretty(&customer)?)));
        for (name, cols, rows) in &tables {
            let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
            let csv_err = |e: csv::Error| crate::Error::Io(std::io::Error::other(e.to_string()));
            w.write_record(cols).map_err(csv_err)?;
            for r in rows {
                w.write_record(r.iter().map(cell)).map_err(csv_err)?;
            }
            let bytes = w.into_inner().map_err(|e| crate::Error::Io(std::io::Error::other(e.to_string())))?;
            zw.start_file(format!("{name}.csv"), opts).map_err(zerr)?;
            zw.write_all(b"\xEF\xBB\xBF")?;
            zw.write_all(&bytes)?;
            html.push_str(&format!("<h2>{}</h2>", escape_html(&tr(lang, &format!("access.section.{name}"), &[]))));
            if rows.is_empty() {
                html.push_str(&format!("<p>{}</p>", escape_html(&tr(lang, "access.none", &[]))));
                continue;
            }
            html.push_str("<table><tr>");
            for c in cols {
                html.push_str(&format!("<th>{}</th>", escape_html(c)));
            }
            html.push_str("</tr>");
            for r in rows {
                html.push_str("<tr>");
                for v in r {
                    let t = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        o => o.to_string(),
                    };
                    html.push_str(&format!("<td>{}</td>", escape_html(&t)));
                }
                html.push_str("</tr>");
            }
            html.push_str("</table>");
        }
        html.push_str("</body></html>");
        zw.start_file("page.html", opts).map_err(zerr)?;
        zw.write_all(html.as_bytes())?;
        let bytes = zw.finish().map_err(zerr)?.into_inner();
        let name = format!("{}-{}.zip", tr(lang, "access.file_stem", &[]), id);
        Ok((bytes, name))
    }
}
