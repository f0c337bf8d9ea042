//! How a large import writes: which customer indexes it builds once after its rows rather
//! than row by row, from what size, and with what page cache. Used by `import`.
//!
//! Invariants: every index of `customers` is either read by the import's look-ups
//! (`INDEXES_READ`, kept while it writes) or in `INDEXES_BUILT_AFTER` (a test checks this,
//! so a new index must be classed); the indexes are set aside and built inside the import's
//! own transaction (`storage::set_aside`), so nothing outlives a failure.

use crate::storage::Store;

/// The customer indexes an import never reads (it matches by email, phone and card, and looks
/// for similar names by name and postcode). A large import drops them and builds each once
/// at the end, inside its transaction (`storage::set_aside`). A test checks that every index
/// of `customers` is either here or in `INDEXES_READ`.
pub const INDEXES_BUILT_AFTER: [&str; 9] = [
    "customers_by_first_name",
    "customers_by_phone_digits",
    "customers_active_by_last_visit",
    "customers_by_total_spent",
    "customers_by_first_purchase",
    "customers_by_birthday",
    "customers_by_created",
    "customers_by_updated",
    "customers_inactive_by_last_visit",
];
/// The customer indexes the import's look-ups use, kept while it writes (named for the test
/// that classes every index).
#[cfg(test)]
pub const INDEXES_READ: [&str; 4] =
    ["customers_by_name", "customers_by_email", "customers_by_phone", "customers_by_postcode"];
/// From this many rows, an import may build the indexes it does not read after its writes.
pub(crate) const BULK_ROWS: u32 = 5_000;

/// The page cache of a large import, in KiB (the connection's usual one is
/// `storage::CACHE_KIB`); measured 7 % faster on 100,000 rows than the usual 16 MB.
pub(crate) const BULK_CACHE_KIB: i64 = 128 * 1024;

/// Put the connection's usual page cache back after an import or its preview.
pub(crate) fn restore_cache(store: &Store) {
    let _ = store.conn().pragma_update(None, "cache_size", -crate::storage::CACHE_KIB);
}

/// Rule: building an index once costs a pass over every customer, so it pays only when the
/// file brings at least `BULK_ROWS` rows and at least twice as many rows as the shop has
/// customers (a shop that imports its own full file again, where most rows only match, keeps
/// writing its indexes row by row).
pub(crate) fn builds_indexes_after(rows: u32, customers: i64) -> bool {
    rows >= BULK_ROWS && customers.saturating_mul(2) <= i64::from(rows)
}
