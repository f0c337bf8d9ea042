//! Shop settings: name, locale (language and formats), country conventions, currency.

use crate::error::{Error, FieldError, Result};
use crate::storage::Store;
use crate::types::{Country, Lang, Outcome};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How dates and money are written: France, Québec, or English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub enum Locale {
    #[default]
    #[serde(rename = "fr-FR")]
    FrFr,
    #[serde(rename = "fr-CA")]
    FrCa,
    #[serde(rename = "en")]
    En,
}

impl Locale {
    pub fn code(self) -> &'static str {
        match self {
            Locale::FrFr => "fr-FR",
            Locale::FrCa => "fr-CA",
            Locale::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Locale> {
        [Locale::FrFr, Locale::FrCa, Locale::En].into_iter().find(|l| l.code() == s)
    }
    pub fn lang(self) -> Lang {
        match self {
            Locale::FrFr | Locale::FrCa => Lang::Fr,
            Locale::En => Lang::En,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub enum Currency {
    #[default]
    EUR,
    CAD,
}

impl Currency {
    pub fn code(self) -> &'static str {
        match self {
            Currency::EUR => "EUR",
            Currency::CAD => "CAD",
        }
    }
    pub fn parse(s: &str) -> Option<Currency> {
        [Currency::EUR, Currency::CAD].into_iter().find(|c| c.code() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Settings {
    pub shop_name: String,
    pub locale: Locale,
    /// The interface language, from the locale.
    pub language: Lang,
    /// Default country for phone numbers and postcodes.
    pub country: Country,
    pub currency: Currency,
    /// The first-run choice (empty file or demo shop) was made.
    pub onboarded: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            shop_name: String::new(),
            locale: Locale::FrFr,
            language: Lang::Fr,
            country: Country::FR,
            currency: Currency::EUR,
            onboarded: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SettingsInput {
    pub shop_name: String,
    pub locale: Locale,
    pub country: Country,
    pub currency: Currency,
}

pub const MAX_SHOP_NAME: usize = 100;

impl Store {
    pub fn settings(&self) -> Result<Settings> {
        let mut s = Settings::default();
        let mut st = self.conn().prepare_cached("SELECT key, value FROM settings")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (k, v) = row?;
            match k.as_str() {
                "shop_name" => s.shop_name = v,
                "locale" => s.locale = Locale::parse(&v).unwrap_or_default(),
                "country" => s.country = Country::parse(&v).unwrap_or_default(),
                "currency" => s.currency = Currency::parse(&v).unwrap_or_default(),
                "onboarded" => s.onboarded = v == "1",
                _ => {}
            }
        }
        s.language = s.locale.lang();
        Ok(s)
    }

    pub fn update_settings(&mut self, input: &SettingsInput, key: Option<&str>) -> Result<Outcome<Settings>> {
        let name = crate::text::clean(&input.shop_name).unwrap_or_default();
        if name.chars().count() > MAX_SHOP_NAME {
            return Err(Error::Validation(vec![
                FieldError::new("shop_name", "field.too_long").arg("max", MAX_SHOP_NAME)
            ]));
        }
        let out = self.transact("settings.update", key, |tx| {
            for (k, v) in [
                ("shop_name", name.as_str()),
                ("locale", input.locale.code()),
                ("country", input.country.code()),
                ("currency", input.currency.code()),
            ] {
                tx.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![k, v],
                )?;
            }
            tx.changes.settings = true;
            Ok(())
        })?;
        Ok(Outcome { value: self.settings()?, changes: out.changes, replayed: out.replayed })
    }

    /// Remember that the first-run choice was made.
    pub fn mark_onboarded(&mut self) -> Result<()> {
        self.transact("settings.onboarded", None, |tx| {
            tx.execute("INSERT INTO settings (key, value) VALUES ('onboarded', '1') ON CONFLICT (key) DO UPDATE SET value = '1'", [])?;
            tx.changes.settings = true;
            Ok(())
        })?;
        Ok(())
    }
}
