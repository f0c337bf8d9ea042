//! The values an automatic message carries beyond the customer's own: the points expiring and
//! their date, the tier reached (fixed when the message is queued), and the birthday voucher
//! (given when the message really leaves, once per occasion, attached to the customer).

use super::calendar;
use super::occasions::Active;
use super::{AutomationKind, AutomationSettings};
use crate::campaigns::render;
use crate::error::Result;
use crate::loyalty::VoucherKind;
use crate::storage::Tx;
use chrono::Duration;
use rusqlite::{params, OptionalExtension};

/// The shop's locale and currency, to write values in a message.
fn locale_and_currency(tx: &Tx) -> Result<(crate::settings::Locale, crate::settings::Currency)> {
    let shop =
        tx.query_row("SELECT value FROM settings WHERE key = 'locale'", [], |r| r.get::<_, String>(0)).optional()?;
    let locale = shop.as_deref().and_then(crate::settings::Locale::parse).unwrap_or_default();
    let currency = tx
        .query_row("SELECT value FROM settings WHERE key = 'currency'", [], |r| r.get::<_, String>(0))
        .optional()?
        .as_deref()
        .and_then(crate::settings::Currency::parse)
        .unwrap_or_default();
    Ok((locale, currency))
}

/// The values an automatic message carries beyond a customer's own (fixed when it is
/// queued): the points expiring and their date, the tier reached. The birthday voucher is
/// added by `attach_voucher` when the message really leaves.
pub(crate) fn message_fields(tx: &Tx, a: &Active, data: &serde_json::Value) -> Result<serde_json::Value> {
    let (locale, _) = locale_and_currency(tx)?;
    let mut fields = serde_json::Map::new();
    if let Some(points) = data["points"].as_i64() {
        fields.insert("points_expiring".into(), points.to_string().into());
    }
    if let Some(date) = serde_json::from_value::<chrono::NaiveDate>(data["date"].clone())
        .ok()
        .filter(|_| a.kind == AutomationKind::Expiry)
    {
        let written = match locale {
            crate::settings::Locale::En => date.format("%Y-%m-%d").to_string(),
            _ => date.format("%d/%m/%Y").to_string(),
        };
        fields.insert("expiry_date".into(), written.into());
    }
    if let Some(tier) = data["tier"].as_str() {
        fields.insert("tier".into(), tier.into());
    }
    Ok(serde_json::Value::Object(fields))
}

/// Give the birthday voucher of an occasion whose message is about to leave (once: an
/// occasion holds at most one voucher), attached to the customer and valid until N days after
/// the birthday, and write its code and value into the message's values.
#[allow(clippy::too_many_arguments)]
pub(crate) fn attach_voucher(
    tx: &Tx,
    a: &Active,
    s: &AutomationSettings,
    occasion: i64,
    row: i64,
    customer: crate::types::CustomerId,
    key: &str,
    data: &serde_json::Value,
) -> Result<()> {
    let (AutomationKind::Birthday, Some(v)) = (a.kind, &a.config.birthday_voucher) else { return Ok(()) };
    let given: Option<i64> =
        tx.query_row("SELECT voucher_id FROM automation_occasions WHERE id = ?1", [occasion], |r| r.get(0))?;
    if given.is_some() {
        return Ok(());
    }
    let (locale, currency) = locale_and_currency(tx)?;
    let date: Option<chrono::NaiveDate> = serde_json::from_value(data["date"].clone()).ok();
    let tz = calendar::zone(&s.time_zone);
    let until = date
        .map(|d| calendar::day_start(tz, d + Duration::days(i64::from(v.days_after) + 1)))
        .unwrap_or(tx.now + Duration::days(i64::from(v.days_after)));
    let year = key.trim_start_matches("birthday:");
    let reason = crate::i18n::tr(locale.lang(), "automations.voucher_reason", &[("year", year.to_string())]);
    let voucher = crate::loyalty::issue_voucher_tx(
        tx,
        Some(customer),
        v.kind,
        v.value,
        until.max(tx.now + Duration::days(1)),
        "automation",
        Some(&reason),
        None,
    )?;
    tx.execute("UPDATE automation_occasions SET voucher_id = ?1 WHERE id = ?2", params![voucher.id, occasion])?;
    let value = match v.kind {
        VoucherKind::Amount => render::format_money(v.value, currency, locale),
        VoucherKind::Percent if locale == crate::settings::Locale::En => format!("{}%", v.value),
        VoucherKind::Percent => format!("{}\u{a0}%", v.value),
        // Refused when the automation is saved (a birthday voucher is money off).
        VoucherKind::Gift => String::new(),
    };
    let fields: Option<String> =
        tx.query_row("SELECT fields FROM campaign_recipients WHERE id = ?1", [row], |r| r.get(0))?;
    let mut fields: serde_json::Map<String, serde_json::Value> =
        fields.and_then(|f| serde_json::from_str(&f).ok()).unwrap_or_default();
    fields.insert("voucher_code".into(), voucher.code.into());
    fields.insert("voucher_value".into(), value.into());
    tx.execute(
        "UPDATE campaign_recipients SET fields = ?1 WHERE id = ?2",
        params![serde_json::Value::Object(fields).to_string(), row],
    )?;
    Ok(())
}
