//! The import's report as the rows come: the rows it shows (those with something to say
//! first, each group in file order, `MAX_REPORTED_ROWS` in all) and the keys that find a row
//! naming the same person as an earlier one. Both stay small whatever the file's size: a
//! million-row import keeps `MAX_REPORTED_ROWS` outcomes, not a million, and a 16-byte hash
//! per email, phone or card rather than its text.

use super::import::MAX_REPORTED_ROWS;
use super::types::{RowKind, RowOutcome};

/// A row's email, phone or card as a 128-bit hash: two different keys share one with a
/// chance of about 10^-26 in a file of a million rows.
pub(super) fn key_hash(key: &str) -> u128 {
    use siphasher::sip128::Hasher128;
    use std::hash::Hasher;
    let mut h = siphasher::sip128::SipHasher13::new();
    h.write(key.as_bytes());
    h.finish128().as_u128()
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
    fn keys_hash_apart() {
        assert_ne!(key_hash("e:a@example.com"), key_hash("e:b@example.com"));
        assert_ne!(key_hash("p:+33612345678"), key_hash("c:+33612345678"), "the kind of key is part of it");
        assert_eq!(key_hash("c:0012345"), key_hash("c:0012345"));
    }
}
