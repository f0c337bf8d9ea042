//! Personal fields: the values of one recipient that a message can carry (`{{ first_name }}`,
//! points, tier, voucher, referral code…), read from the store, fixed when an automatic
//! message was queued, or sample values for the editor's preview.
//!
//! Invariants: `PERSONAL_FIELDS` is the whole list a merchant may write, in slot order (the
//! unsubscribe address takes the slot after them); a value is written as text (a number as its
//! digits, nothing as empty), escaping is left to where it stands (`fill`); money is written the
//! shop's way (`identity::format_money`).

use super::identity::{format_money, Identity};
use crate::error::Result;
use crate::settings::Locale;
use crate::types::{CustomerId, Lang};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

/// The personal fields a message can use, with sample values for the editor.
/// `points_expiring` and `expiry_date` are filled in automatic messages about expiring points.
pub const PERSONAL_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "full_name",
    "points",
    "tier",
    "voucher_code",
    "voucher_value",
    "shop_name",
    "referral_code",
    "referral_friends",
    "referral_next_milestone",
    "referral_invite",
    "points_expiring",
    "expiry_date",
];

/// One recipient's values.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Personal {
    pub first_name: String,
    pub last_name: String,
    pub full_name: String,
    pub points: i64,
    pub tier: String,
    pub voucher_code: String,
    pub voucher_value: String,
    pub shop_name: String,
    pub points_expiring: String,
    pub expiry_date: String,
    pub email: String,
    /// The customer's referral code, to pass on to friends.
    pub referral_code: String,
    /// Friends referred (pending, qualified or approved).
    pub referral_friends: i64,
    /// "encore 1 filleul pour le bon de 10,00 €", or empty.
    pub referral_next_milestone: String,
    /// While a referral offer runs, a sentence inviting the customer to pass their code on;
    /// empty otherwise (the welcome message uses it).
    pub referral_invite: String,
}

impl Personal {
    /// Values fixed for one message when it was queued (an automatic message's voucher, the
    /// points expiring and their date, the tier reached), in place of the customer's current
    /// ones. Only known text fields are taken.
    pub fn apply_fields(&mut self, fields: &serde_json::Value) {
        let get = |k: &str| fields.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if let Some(v) = get("voucher_code") {
            self.voucher_code = v;
        }
        if let Some(v) = get("voucher_value") {
            self.voucher_value = v;
        }
        if let Some(v) = get("points_expiring") {
            self.points_expiring = v;
        }
        if let Some(v) = get("expiry_date") {
            self.expiry_date = v;
        }
        if let Some(v) = get("tier") {
            self.tier = v;
        }
    }

    /// The value of a personal field as it is written in a message.
    pub fn value(&self, field: &str) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => match map.get(field) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            },
            _ => String::new(),
        }
    }
}

pub fn sample_personal(lang: Lang, shop: &str) -> Personal {
    let (first, last, tier) = match lang {
        Lang::Fr => ("Camille", "Martin", "Or"),
        Lang::En => ("Sam", "Taylor", "Gold"),
    };
    Personal {
        first_name: first.into(),
        last_name: last.into(),
        full_name: format!("{first} {last}"),
        points: 120,
        tier: tier.into(),
        voucher_code: "K7PX2M9Q".into(),
        voucher_value: "5,00 €".into(),
        shop_name: shop.into(),
        points_expiring: "80".into(),
        expiry_date: match lang {
            Lang::Fr => "31/01/2027".into(),
            Lang::En => "2027-01-31".into(),
        },
        email: "camille@example.com".into(),
        referral_code: crate::referrals::code::format(1234),
        referral_friends: 3,
        referral_next_milestone: crate::i18n::tr(
            lang,
            "referral.next_milestone",
            &[
                ("missing", "1".into()),
                ("reward", if lang == Lang::En { "€10.00 voucher" } else { "bon de 10,00 €" }.into()),
            ],
        ),
        referral_invite: crate::i18n::tr(lang, "referral.invite", &[("code", crate::referrals::code::format(1234))]),
    }
}

/// A customer's personal fields, read now.
pub fn personal(conn: &Connection, id: &Identity, customer: CustomerId, now: DateTime<Utc>) -> Result<Personal> {
    let (first_name, last_name, email): (String, String, Option<String>) = conn
        .prepare_cached("SELECT first_name, last_name, email FROM customers WHERE id = ?1")?
        .query_row([customer], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let (points, tier, voucher) = crate::loyalty::personal_loyalty(conn, customer, now)?;
    let (referral_code, referral_friends, referral_next_milestone, referral_invite) =
        crate::referrals::personal_fields(conn, customer, now)?;
    let (voucher_code, voucher_value) = match voucher {
        Some(v) => {
            let value = match v.kind {
                crate::loyalty::VoucherKind::Amount => format_money(v.value, id.currency, id.locale),
                // A gift reads as its name ("Une viennoiserie offerte").
                crate::loyalty::VoucherKind::Gift => v.label.clone().unwrap_or_default(),
                crate::loyalty::VoucherKind::Percent => {
                    if id.locale == Locale::En {
                        format!("{}%", v.value)
                    } else {
                        format!("{}\u{a0}%", v.value)
                    }
                }
            };
            (v.code, value)
        }
        None => (String::new(), String::new()),
    };
    Ok(Personal {
        full_name: format!("{first_name} {last_name}").trim().to_string(),
        first_name,
        last_name,
        points,
        tier: tier.unwrap_or_default(),
        voucher_code,
        voucher_value,
        shop_name: id.mail.sender_name.clone(),
        points_expiring: String::new(),
        expiry_date: String::new(),
        email: email.unwrap_or_default(),
        referral_code,
        referral_friends,
        referral_next_milestone,
        referral_invite,
    })
}
