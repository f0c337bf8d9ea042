//! The merchant's choices for the numbers: the RFM period (12 months by default, 24 for rare
//! purchases such as jewellery), RFM thresholds typed by hand (otherwise computed), and the
//! gross margin that turns rewards given at their selling value into their cost. Stored as
//! one JSON document under the settings key `analytics`.

use super::rfm::RfmThresholds;
use crate::error::{Error, Result};
use crate::storage::Store;
use crate::types::Outcome;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const MIN_PERIOD_MONTHS: u32 = 3;
pub const MAX_PERIOD_MONTHS: u32 = 36;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AnalyticsSettings {
    pub rfm_months: u32,
    /// Thresholds typed by the merchant; `None`: computed from the shop's figures.
    pub rfm_thresholds: Option<RfmThresholds>,
    /// The shop's gross margin in percent, when the merchant gives one.
    pub margin_percent: Option<u32>,
}

impl Default for AnalyticsSettings {
    fn default() -> Self {
        AnalyticsSettings { rfm_months: 12, rfm_thresholds: None, margin_percent: None }
    }
}

/// Rule: a period of 3 to 36 months; thresholds in increasing order (recency in days from 1,
/// purchases from 2, amounts from 0); a margin under 100 %.
pub fn validate(s: &AnalyticsSettings) -> Result<()> {
    if !(MIN_PERIOD_MONTHS..=MAX_PERIOD_MONTHS).contains(&s.rfm_months) {
        return Err(Error::invalid("rfm_months", "field.numbers_period_invalid"));
    }
    if let Some(t) = &s.rfm_thresholds {
        let increasing = |v: &[i64; 4], min: i64| v[0] >= min && v.windows(2).all(|w| w[0] < w[1]);
        if !increasing(&t.recency_days, 1) {
            return Err(Error::invalid("recency_days", "field.numbers_thresholds_invalid"));
        }
        if !increasing(&t.frequency, 2) {
            return Err(Error::invalid("frequency", "field.numbers_thresholds_invalid"));
        }
        if !increasing(&t.monetary_cents, 0) {
            return Err(Error::invalid("monetary_cents", "field.numbers_thresholds_invalid"));
        }
    }
    if s.margin_percent.is_some_and(|m| m >= 100) {
        return Err(Error::invalid("margin_percent", "field.numbers_margin_invalid"));
    }
    Ok(())
}

pub fn analytics_settings(conn: &Connection) -> Result<AnalyticsSettings> {
    let raw: Option<String> =
        conn.query_row("SELECT value FROM settings WHERE key = 'analytics'", [], |r| r.get(0)).optional()?;
    Ok(raw.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or_default())
}

impl Store {
    pub fn analytics_settings(&self) -> Result<AnalyticsSettings> {
        analytics_settings(self.conn())
    }

    pub fn save_analytics_settings(
        &mut self,
        s: &AnalyticsSettings,
        key: Option<&str>,
    ) -> Result<Outcome<AnalyticsSettings>> {
        validate(s)?;
        let json = serde_json::to_string(s)?;
        self.transact(("analytics.settings", s), key, |tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('analytics', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [&json],
            )?;
            tx.changes.settings = true;
            Ok(s.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::rfm::FREQUENCY_STEPS;

    #[test]
    fn settings_are_checked_before_they_are_kept() {
        let ok = AnalyticsSettings {
            rfm_months: 24,
            rfm_thresholds: Some(RfmThresholds {
                recency_days: [30, 60, 120, 240],
                frequency: FREQUENCY_STEPS,
                monetary_cents: [0, 5000, 10000, 20000],
            }),
            margin_percent: Some(45),
        };
        assert!(validate(&ok).is_ok());
        let bad = [
            AnalyticsSettings { rfm_months: 2, ..ok.clone() },
            AnalyticsSettings { rfm_months: 37, ..ok.clone() },
            AnalyticsSettings { margin_percent: Some(100), ..ok.clone() },
            AnalyticsSettings {
                rfm_thresholds: Some(RfmThresholds { recency_days: [60, 30, 120, 240], ..ok.rfm_thresholds.unwrap() }),
                ..ok.clone()
            },
            AnalyticsSettings {
                rfm_thresholds: Some(RfmThresholds { frequency: [1, 3, 5, 10], ..ok.rfm_thresholds.unwrap() }),
                ..ok.clone()
            },
        ];
        for b in bad {
            assert_eq!(validate(&b).unwrap_err().code(), "validation", "{b:?} is refused");
        }
        let (mut s, _) = crate::testutil::store();
        assert_eq!(s.analytics_settings().unwrap(), AnalyticsSettings::default(), "12 months, computed thresholds");
        s.save_analytics_settings(&ok, None).unwrap();
        assert_eq!(s.analytics_settings().unwrap(), ok);
    }
}
