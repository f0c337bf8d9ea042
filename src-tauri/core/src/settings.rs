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
    /// The shop's logo for printed cards, as a `data:image/png|jpeg;base64,…` URL.
    pub logo: Option<String>,
    /// This file is the demo shop: invented customers at reserved addresses; it never sends
    /// through a real provider.
    pub demo: bool,
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
            logo: None,
            demo: false,
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
/// A logo is small: it is printed a few centimetres wide.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;

/// Rule: a logo is a PNG or JPEG image (checked by its first bytes, whatever the URL says) of
/// at most `MAX_LOGO_BYTES`, given as a base64 data URL.
pub fn validate_logo(data_url: &str) -> Result<()> {
    match image_from_data_url(data_url, MAX_LOGO_BYTES) {
        ImageData::TooLarge => Err(Error::Validation(vec![
            FieldError::new("logo", "field.logo_too_large").arg("max", MAX_LOGO_BYTES / 1024)
        ])),
        ImageData::Image { mime: "image/png" | "image/jpeg", .. } => Ok(()),
        _ => Err(Error::invalid("logo", "field.logo_invalid")),
    }
}

/// What a `data:<mime>;base64,…` URL holds.
pub(crate) enum ImageData {
    /// A PNG, JPEG or GIF whose first bytes match the declared type.
    Image {
        mime: &'static str,
        bytes: Vec<u8>,
    },
    TooLarge,
    Invalid,
}

/// Rule: an image is recognised by its first bytes, whatever the URL says, and must agree with
/// the type it declares. The size is checked before decoding.
pub(crate) fn image_from_data_url(data_url: &str, max_bytes: usize) -> ImageData {
    use base64::Engine;
    let Some((declared, b64)) = data_url.strip_prefix("data:").and_then(|r| r.split_once(";base64,")) else {
        return ImageData::Invalid;
    };
    if b64.len() > max_bytes * 4 / 3 + 4 {
        return ImageData::TooLarge;
    }
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else { return ImageData::Invalid };
    if bytes.len() > max_bytes {
        return ImageData::TooLarge;
    }
    let sniffed = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        "image/gif"
    } else {
        return ImageData::Invalid;
    };
    if sniffed != declared {
        return ImageData::Invalid;
    }
    ImageData::Image { mime: sniffed, bytes }
}

/// The shop's settings, read from a connection (a transaction included).
pub(crate) fn read(conn: &rusqlite::Connection) -> Result<Settings> {
    let mut s = Settings::default();
    let mut st = conn.prepare_cached("SELECT key, value FROM settings")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (k, v) = row?;
        match k.as_str() {
            "shop_name" => s.shop_name = v,
            "locale" => s.locale = Locale::parse(&v).unwrap_or_default(),
            "country" => s.country = Country::parse(&v).unwrap_or_default(),
            "currency" => s.currency = Currency::parse(&v).unwrap_or_default(),
            "onboarded" => s.onboarded = v == "1",
            "logo" => s.logo = Some(v),
            "demo" => s.demo = v == "1",
            _ => {}
        }
    }
    s.language = s.locale.lang();
    Ok(s)
}

impl Store {
    pub fn settings(&self) -> Result<Settings> {
        read(self.conn())
    }

    pub fn update_settings(&mut self, input: &SettingsInput, key: Option<&str>) -> Result<Outcome<Settings>> {
        let name = crate::text::clean(&input.shop_name).unwrap_or_default();
        if name.chars().count() > MAX_SHOP_NAME {
            return Err(Error::Validation(vec![
                FieldError::new("shop_name", "field.too_long").arg("max", MAX_SHOP_NAME)
            ]));
        }
        let out = self.transact(("settings.update", input), key, |tx| {
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

    /// Set (or, with `None`, remove) the logo printed on the cards.
    pub fn set_logo(&mut self, logo: Option<&str>, key: Option<&str>) -> Result<Outcome<()>> {
        if let Some(l) = logo {
            validate_logo(l)?;
        }
        self.transact(("settings.logo", &logo), key, |tx| {
            match logo {
                Some(l) => tx.execute(
                    "INSERT INTO settings (key, value) VALUES ('logo', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [l],
                )?,
                None => tx.execute("DELETE FROM settings WHERE key = 'logo'", [])?,
            };
            tx.changes.settings = true;
            Ok(())
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn url(mime: &str, bytes: &[u8]) -> String {
        format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    #[test]
    fn a_logo_is_a_small_png_or_jpeg() {
        let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 64]].concat();
        assert!(validate_logo(&url("image/png", &png)).is_ok());
        assert!(validate_logo(&url("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2])).is_ok());
        assert!(
            validate_logo(&url("image/svg+xml", b"<svg onload=alert(1)>")).is_err(),
            "SVG can carry scripts: refused"
        );
        assert!(validate_logo(&url("image/png", b"GIF89a....")).is_err(), "the bytes must match the type");
        assert!(validate_logo("javascript:alert(1)").is_err());
        let huge = [b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0u8; MAX_LOGO_BYTES + 1]].concat();
        assert_eq!(validate_logo(&url("image/png", &huge)).unwrap_err().code(), "validation", "too large");
    }

    #[test]
    fn the_logo_is_set_and_removed() {
        let (mut s, _) = crate::testutil::store();
        let png = url("image/png", &[b"\x89PNG\r\n\x1a\n".as_slice(), &[1u8; 8]].concat());
        s.set_logo(Some(&png), None).unwrap();
        assert_eq!(s.settings().unwrap().logo.as_deref(), Some(png.as_str()));
        s.set_logo(None, None).unwrap();
        assert_eq!(s.settings().unwrap().logo, None);
    }
}
