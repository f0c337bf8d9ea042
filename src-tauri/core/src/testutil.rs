//! Builders for tests: a store on a fixed clock and customers in one line.

use crate::clock::FixedClock;
use crate::customers::{CustomerInput, NewCustomer};
use crate::purchases::SaleInput;
use crate::storage::Store;
use crate::types::{Cents, CustomerId};
use chrono::{TimeZone, Utc};
use std::sync::Arc;

pub fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()))
}

pub fn store() -> (Store, Arc<FixedClock>) {
    let c = clock();
    (Store::open_in_memory_with_clock(c.clone()).unwrap(), c)
}

pub fn input(first: &str, last: &str) -> CustomerInput {
    CustomerInput { first_name: first.into(), last_name: last.into(), ..Default::default() }
}

pub fn add(store: &mut Store, input: CustomerInput) -> CustomerId {
    store.create_customer(&NewCustomer { customer: input, ..Default::default() }, None).unwrap().value
}

pub fn sale(store: &mut Store, id: CustomerId, cents: Cents) -> i64 {
    store
        .record_sale(
            &SaleInput {
                customer_id: id,
                amount_cents: cents,
                occurred_at: None,
                note: String::new(),
                category: String::new(),
                apply: None,
            },
            None,
        )
        .unwrap()
        .value
        .id
}
