//! Headline figures of the shop, all read from the data (never estimated).

use crate::error::Result;
use crate::storage::Store;
use crate::types::Cents;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ShopStats {
    pub customers_active: i64,
    pub customers_archived: i64,
    pub sales: i64,
    pub refunds: i64,
    /// Sales minus refunds, all time.
    pub revenue_cents: Cents,
    /// Sales minus refunds over the last 30 days.
    pub revenue_30d_cents: Cents,
    pub customers_with_purchase_30d: i64,
    pub schema_version: u32,
}

impl Store {
    pub fn stats(&self) -> Result<ShopStats> {
        let c = self.conn();
        let since: DateTime<Utc> = self.now() - chrono::Duration::days(30);
        let (active, archived): (i64, i64) = c.query_row(
            "SELECT coalesce(sum(archived_at IS NULL), 0), coalesce(sum(archived_at IS NOT NULL AND merged_into IS NULL), 0) FROM customers",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (sales, refunds, revenue): (i64, i64, i64) = c.query_row(
            "SELECT coalesce(sum(kind = 'sale'), 0), coalesce(sum(kind = 'refund'), 0),
                    coalesce(sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END), 0) FROM purchases",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let (revenue_30d, buyers_30d): (i64, i64) = c.query_row(
            "SELECT coalesce(sum(CASE kind WHEN 'sale' THEN amount_cents ELSE -amount_cents END), 0),
                    count(DISTINCT CASE kind WHEN 'sale' THEN customer_id END)
             FROM purchases WHERE occurred_at >= ?1",
            [since],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let schema_version: u32 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok(ShopStats {
            customers_active: active,
            customers_archived: archived,
            sales,
            refunds,
            revenue_cents: revenue,
            revenue_30d_cents: revenue_30d,
            customers_with_purchase_30d: buyers_30d,
            schema_version,
        })
    }
}

/// What the settings screen shows about the installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AppInfo {
    pub version: String,
    pub db_path: String,
    pub schema_version: u32,
    /// The copy of the database taken before the last upgrade, if one ran at this start.
    pub migration_backup: Option<String>,
}
