//! The import's report as the rows come: the rows it shows (those with something to say
//! first, each group in file order, `MAX_REPORTED_ROWS` in all) and the keys that find a row
//! naming the same customer as an earlier one. Both stay small whatever the file's size: a
//! million-row import keeps `MAX_REPORTED_ROWS` outcomes, not a million, and 12 bytes per
//! customer it creates rather than the text of their email, phone and card.

use super::import::MAX_REPORTED_ROWS;
use super::types::{RowKind, RowOutcome};
use crate::types::CustomerId;
use std::collections::HashMap;

/// The first line of the file that named each customer (by creating them, or by matching
/// them through its email, phone or card), so that a later row naming the same customer is
/// reported as a duplicate inside the file. Small whatever the file's size: the customers a
/// file creates get increasing ids, so they are kept as two sorted columns (12 bytes a row,
/// searched by halves); only the customers it matched that already existed go into a map.
#[derive(Default)]
pub(super) struct Named {
    created: Vec<CustomerId>,
    created_lines: Vec<u32>,
    matched: HashMap<CustomerId, u32>,
}

impl Named {
    /// Room for the rows to come, so the columns never grow by doubling.
    pub(super) fn with_capacity(rows: usize) -> Named {
        Named { created: Vec::with_capacity(rows), created_lines: Vec::with_capacity(rows), matched: HashMap::new() }
    }

    /// The line of the first earlier row that named `id`, if any.
    pub(super) fn first_line(&self, id: CustomerId) -> Option<u32> {
        match self.created.binary_search(&id) {
            Ok(i) => Some(self.created_lines[i]),
            Err(_) => self.matched.get(&id).copied(),
        }
    }

    /// `line` created `id`.
    pub(super) fn created(&mut self, id: CustomerId, line: u32) {
        if self.created.last().is_none_or(|last| *last < id) {
            self.created.push(id);
            self.created_lines.push(line);
        } else {
            // Not expected (a new row's id is above every other), but kept right if it happens.
            self.matched.entry(id).or_insert(line);
        }
    }

    /// `line` matched `id`; the line of the first row that named them, if an earlier row did.
    pub(super) fn matched(&mut self, id: CustomerId, line: u32) -> Option<u32> {
        let first = self.first_line(id);
        if first.is_none() {
            self.matched.insert(id, line);
        }
        first
    }
}

/// The rows the report shows: those with something to say first, then the others, each in
/// file order, `MAX_REPORTED_ROWS` in all. Kept as the rows come (in file order), so a file
/// of a million rows holds no more than that many outcomes.
#[derive(Default)]
pub(super) struct Reported {
    noteworthy: Vec<RowOutcome>,
    plain: Vec<RowOutcome>,
    total: usize,
}

impl Reported {
    pub(super) fn push(&mut self, o: RowOutcome) {
        self.total += 1;
        let noteworthy = o.kind == RowKind::Error
            || !o.problems.is_empty()
            || o.duplicate_of_line.is_some()
            || !o.similar_to.is_empty()
            || o.suppressed
            || o.kind == RowKind::Erased;
        let group = if noteworthy { &mut self.noteworthy } else { &mut self.plain };
        if group.len() < MAX_REPORTED_ROWS {
            group.push(o);
        }
    }

    /// The rows to show, and whether some were left out.
    pub(super) fn finish(mut self) -> (Vec<RowOutcome>, bool) {
        self.noteworthy.extend(self.plain);
        self.noteworthy.truncate(MAX_REPORTED_ROWS);
        (self.noteworthy, self.total > MAX_REPORTED_ROWS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u32, noteworthy: bool) -> RowOutcome {
        RowOutcome {
            line,
            kind: if noteworthy { RowKind::Error } else { RowKind::New },
            name: String::new(),
            customer_id: None,
            problems: vec![],
            duplicate_of_line: None,
            similar_to: vec![],
            suppressed: false,
        }
    }

    #[test]
    fn the_report_shows_the_noteworthy_rows_first_in_file_order_and_keeps_no_more_than_it_shows() {
        let mut r = Reported::default();
        for line in 0..(3 * MAX_REPORTED_ROWS as u32) {
            r.push(row(line, line % 3 == 0));
        }
        assert!(r.noteworthy.len() <= MAX_REPORTED_ROWS && r.plain.len() <= MAX_REPORTED_ROWS, "memory stays bounded");
        let (rows, truncated) = r.finish();
        assert!(truncated, "rows were left out, and the report says so");
        assert_eq!(rows.len(), MAX_REPORTED_ROWS);
        let lines: Vec<u32> = rows.iter().map(|o| o.line).collect();
        let expected: Vec<u32> = (0..).step_by(3).take(MAX_REPORTED_ROWS).collect();
        assert_eq!(lines, expected, "every row with something to say comes first, in file order");

        let mut few = Reported::default();
        for (line, n) in [(1, false), (2, true), (3, false), (4, true)] {
            few.push(row(line, n));
        }
        let (rows, truncated) = few.finish();
        assert!(!truncated);
        assert_eq!(
            rows.iter().map(|o| o.line).collect::<Vec<_>>(),
            vec![2, 4, 1, 3],
            "noteworthy first, then the others"
        );
    }

    #[test]
    fn a_row_naming_a_customer_an_earlier_row_named_points_to_the_first_such_row() {
        let mut named = Named::with_capacity(4);
        named.created(101, 2);
        named.created(102, 3);
        assert_eq!(named.matched(7, 4), None, "the first row to match an existing customer names no one");
        assert_eq!(named.matched(102, 5), Some(3), "line 3 created customer 102");
        assert_eq!(named.matched(7, 6), Some(4), "line 4 matched customer 7 first");
        assert_eq!(named.matched(7, 8), Some(4), "a third row still points to the first");
        assert_eq!(named.first_line(103), None);
        named.created(50, 9);
        assert_eq!(named.first_line(50), Some(9), "an id out of order is still found");
        assert_eq!(named.first_line(101), Some(2));
    }
}
