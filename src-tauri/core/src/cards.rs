//! Loyalty card numbers: 13 digits in the in-store EAN-13 range (prefix 29) with an EAN-13
//! check digit, so any till scanner reads them and a typo is caught.

use crate::error::{Error, Result};
use crate::storage::{Store, Tx};
use crate::types::{CustomerId, Outcome};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const PREFIX: &str = "29";
pub const LENGTH: usize = 13;

/// Rule: the EAN-13 check digit of 12 digits (weights 1 and 3 from the left).
pub fn check_digit(first12: &str) -> Option<u8> {
    if first12.len() != 12 || !first12.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first12.bytes().enumerate().map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 }).sum();
    Some(((10 - sum % 10) % 10) as u8)
}

/// Rule: a card number is 13 digits whose last digit is the check digit of the others.
pub fn is_valid_number(s: &str) -> bool {
    s.len() == LENGTH && check_digit(&s[..12]).is_some_and(|d| s.as_bytes()[12] == b'0' + d)
}

/// The card number for a serial: prefix, serial on 10 digits, check digit.
pub fn number_for_serial(serial: u64) -> String {
    let body = format!("{PREFIX}{serial:010}");
    let d = check_digit(&body).expect("12 digits");
    format!("{body}{d}")
}

/// Issue a new active card to a customer and return its number: the next serial's, or the
/// first after it that no card carries (an import may have brought numbers of Comptoir's
/// sequence, from another shop's export, under other serials).
pub(crate) fn issue(tx: &Tx, customer_id: CustomerId) -> Result<String> {
    let mut serial = next_serial(tx)?;
    let number = issue_from(tx, &mut serial, customer_id)?;
    note_last_serial(tx, serial - 1)?;
    Ok(number)
}

/// Issue a new active card to each of `customers`, in their order: the numbers `issue` would
/// give them one after the other, the next serial read once (a large import's new customers).
pub(crate) fn issue_each(tx: &Tx, customers: &[CustomerId]) -> Result<()> {
    if customers.is_empty() {
        return Ok(());
    }
    let mut serial = next_serial(tx)?;
    for id in customers {
        issue_from(tx, &mut serial, *id)?;
    }
    note_last_serial(tx, serial - 1)
}

/// The settings key of the highest serial ever issued. Rule: a number of Comptoir's sequence
/// is never issued twice, even once its card is gone: an undone import deletes the cards it
/// issued, which may have been printed and handed out, and a later customer given the same
/// number would be found when that old card is scanned.
const LAST_SERIAL_KEY: &str = "cards_last_serial";

fn next_serial(tx: &Tx) -> Result<i64> {
    let in_table: i64 = tx.prepare_cached("SELECT coalesce(max(id), 0) FROM cards")?.query_row([], |r| r.get(0))?;
    let noted: i64 = tx
        .prepare_cached("SELECT CAST(value AS INTEGER) FROM settings WHERE key = ?1")?
        .query_row([LAST_SERIAL_KEY], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    Ok(in_table.max(noted) + 1)
}

fn note_last_serial(tx: &Tx, serial: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = CAST(max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)",
    )?
    .execute(params![LAST_SERIAL_KEY, serial.to_string()])?;
    Ok(())
}

/// The card of serial `serial`, or of the first serial after it whose number no card carries;
/// `serial` is left on the one after.
fn issue_from(tx: &Tx, serial: &mut i64, customer_id: CustomerId) -> Result<String> {
    let mut number = number_for_serial(*serial as u64);
    while tx
        .prepare_cached("SELECT 1 FROM cards WHERE number = ?1")?
        .query_row([&number], |_| Ok(()))
        .optional()?
        .is_some()
    {
        *serial += 1;
        number = number_for_serial(*serial as u64);
    }
    tx.prepare_cached(
        "INSERT INTO cards (id, customer_id, number, status, issued_at) VALUES (?1, ?2, ?3, 'active', ?4)",
    )?
    .execute(params![*serial, customer_id, number, tx.now])?;
    *serial += 1;
    Ok(number)
}

/// The customer holding an active card with this number.
pub fn customer_for_card(conn: &Connection, number: &str) -> Result<Option<CustomerId>> {
    Ok(conn
        .query_row(
            "SELECT c.customer_id FROM cards c JOIN customers u ON u.id = c.customer_id
             WHERE c.number = ?1 AND c.status = 'active' AND u.merged_into IS NULL",
            [number],
            |r| r.get(0),
        )
        .optional()?)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Card {
    pub number: String,
    /// `active`, `replaced` or `blocked`.
    pub status: String,
    pub issued_at: DateTime<Utc>,
}

/// What a printed card carries: the number as a Code128 barcode (bars as modules, 1 = black)
/// and as a QR code (a square of modules, row by row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CardArt {
    pub number: String,
    pub code128: Vec<u8>,
    pub qr_width: u32,
    pub qr: Vec<u8>,
}

/// A card ready to print for one customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PrintableCard {
    pub customer_id: CustomerId,
    pub display_name: String,
    pub art: CardArt,
    /// The customer's referral code, printed on the card.
    pub referral_code: String,
}

/// Encode a card number for printing (Code128, character set B; QR with medium error
/// correction).
pub fn card_art(number: &str) -> Result<CardArt> {
    let bars = barcoders::sym::code128::Code128::new(format!("\u{0181}{number}"))
        .map_err(|_| Error::invalid("number", "field.card_number_invalid"))?
        .encode();
    let qr = qrcode::QrCode::with_error_correction_level(number.as_bytes(), qrcode::EcLevel::M)
        .map_err(|_| Error::invalid("number", "field.card_number_invalid"))?;
    let width = qr.width() as u32;
    let modules = qr.to_colors().into_iter().map(|c| u8::from(c == qrcode::Color::Dark)).collect();
    Ok(CardArt { number: number.to_string(), code128: bars, qr_width: width, qr: modules })
}

fn card_event(tx: &Tx, customer: CustomerId, kind: &str, number: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO customer_events (customer_id, kind, at, data) VALUES (?1, ?2, ?3, ?4)",
        params![customer, kind, tx.now, serde_json::json!({ "number": number }).to_string()],
    )?;
    Ok(())
}

impl Store {
    /// Every card a customer was given, newest first.
    pub fn cards_of(&self, customer: CustomerId) -> Result<Vec<Card>> {
        crate::customers::ensure_exists(self.conn(), customer)?;
        let mut st = self
            .conn()
            .prepare_cached("SELECT number, status, issued_at FROM cards WHERE customer_id = ?1 ORDER BY id DESC")?;
        let rows =
            st.query_map([customer], |r| Ok(Card { number: r.get(0)?, status: r.get(1)?, issued_at: r.get(2)? }))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The active cards of these customers, ready to print (unknown ids are skipped).
    pub fn printable_cards(&self, customers: &[CustomerId]) -> Result<Vec<PrintableCard>> {
        let country = self.settings()?.country;
        let mut out = Vec::new();
        for s in crate::customers::summaries(self.conn(), customers, country)? {
            if let Some(number) = s.card_number {
                out.push(PrintableCard {
                    customer_id: s.id,
                    display_name: s.display_name,
                    art: card_art(&number)?,
                    referral_code: crate::referrals::code::format(s.id),
                });
            }
        }
        Ok(out)
    }

    /// A lost card: the old number stops working and a new one is issued. Points, stamps and
    /// vouchers belong to the customer, so the balance follows.
    pub fn replace_card(&mut self, customer: CustomerId, key: Option<&str>) -> Result<Outcome<String>> {
        self.transact(("card.replace", &customer), key, |tx| {
            crate::customers::ensure_customer(tx, customer)?;
            tx.execute(
                "UPDATE cards SET status = 'replaced' WHERE customer_id = ?1 AND status = 'active'",
                [customer],
            )?;
            let number = issue(tx, customer)?;
            card_event(tx, customer, "card_replaced", &number)?;
            tx.changes.customer(customer);
            Ok(number)
        })
    }

    /// Block a card (stolen, misused): it no longer selects anyone at the till.
    pub fn block_card(&mut self, number: &str, key: Option<&str>) -> Result<Outcome<()>> {
        self.transact(("card.block", number), key, |tx| {
            let owner: Option<CustomerId> =
                tx.query_row("SELECT customer_id FROM cards WHERE number = ?1", [number], |r| r.get(0)).optional()?;
            let Some(customer) = owner else { return Err(Error::not_found("card", number)) };
            tx.execute("UPDATE cards SET status = 'blocked' WHERE number = ?1", [number])?;
            card_event(tx, customer, "card_blocked", number)?;
            tx.changes.customer(customer);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_cards_carry_the_number_as_code128_and_qr() {
        let number = number_for_serial(42);
        let art = card_art(&number).unwrap();
        let bars: String = art.code128.iter().map(|b| if *b == 1 { '1' } else { '0' }).collect();
        assert!(bars.starts_with("11010010000"), "Code128 starts with START B: {bars}");
        assert!(bars.ends_with("1100011101011"), "and ends with STOP");
        assert_eq!((bars.len() - 13) % 11, 0, "every symbol is 11 modules");
        assert!(art.qr_width >= 21, "a QR code is at least 21 modules wide");
        assert_eq!(art.qr.len() as u32, art.qr_width * art.qr_width, "a square of modules");
        assert_eq!(&art.qr[..7], &[1, 1, 1, 1, 1, 1, 1], "the finder pattern's first row is dark");
    }

    #[test]
    fn a_replaced_card_stops_working_and_the_balance_follows_the_customer() {
        let (mut s, _) = crate::testutil::store();
        let c = crate::testutil::add(&mut s, crate::testutil::input("Élodie", "Lefèvre"));
        crate::testutil::sale(&mut s, c, 1000);
        let old = s.customer(c).unwrap().card_number.unwrap();
        let new = s.replace_card(c, None).unwrap().value;
        assert_ne!(old, new);
        assert!(is_valid_number(&new));
        assert!(s.till_lookup(&old).unwrap().is_none(), "the lost card selects nobody");
        assert_eq!(s.till_lookup(&new).unwrap().unwrap().customer.id, c, "the new card selects the same customer");
        assert_eq!(s.customer(c).unwrap().figures.total_spent_cents, 1000, "history stays with the customer");
        let cards = s.cards_of(c).unwrap();
        assert_eq!(cards.iter().map(|k| k.status.as_str()).collect::<Vec<_>>(), vec!["active", "replaced"]);
        s.block_card(&new, None).unwrap();
        assert!(s.till_lookup(&new).unwrap().is_none(), "a blocked card selects nobody");
        assert_eq!(s.block_card("2900000099999", None).unwrap_err().code(), "not_found");
    }

    #[test]
    fn check_digit_matches_known_ean13_codes() {
        // Published EAN-13 codes.
        assert_eq!(check_digit("400638133393"), Some(1), "4006381333931 is a valid EAN-13");
        assert_eq!(check_digit("978020137962"), Some(4), "9780201379624 is a valid EAN-13");
        assert_eq!(check_digit("12345"), None, "only 12 digits have a check digit");
    }

    #[test]
    fn every_issued_number_is_valid_and_a_typo_is_caught() {
        for serial in [1u64, 42, 99_999, 9_999_999_999] {
            let n = number_for_serial(serial);
            assert_eq!(n.len(), 13);
            assert!(n.starts_with(PREFIX), "in-store range prefix");
            assert!(is_valid_number(&n), "{n} carries its own check digit");
            // Change one digit: the check digit must catch it.
            let mut bytes = n.clone().into_bytes();
            bytes[5] = if bytes[5] == b'9' { b'0' } else { bytes[5] + 1 };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(!is_valid_number(&typo), "a single-digit typo ({typo}) is refused");
        }
        assert!(!is_valid_number("29000000000a1"));
    }
}
