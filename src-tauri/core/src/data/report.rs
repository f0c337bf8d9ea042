//! The import's report as the rows come: the rows it shows (those with something to say
//! first, each group in file order, `MAX_REPORTED_ROWS` in all) and the keys that find a row
//! naming the same person as an earlier one. A million-row import keeps `MAX_REPORTED_ROWS`
//! outcomes, not a million, and a 16-byte hash per email, phone or card rather than its text
//! (about 100 MB for a million rows with all three).

use super::types::{RowKind, RowOutcome};
use crate::types::CustomerId;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// The rows an import's report shows at most.
pub const MAX_REPORTED_ROWS: usize = 5000;

/// A row's email, phone or card, with its kind (`b'e'`, `b'p'`, `b'c'`), as a 128-bit hash
/// under `keys`: two different values share one with a chance of about 10^-26 in a file of a
/// million rows.
fn key_hash(keys: (u64, u64), kind: u8, value: &str) -> Key {
    use siphasher::sip128::Hasher128;
    use std::hash::Hasher;
    let mut h = siphasher::sip128::SipHasher13::new_with_keys(keys.0, keys.1);
    h.write_u8(kind);
    h.write(value.as_bytes());
    let v = h.finish128();
    Key(v.h1, v.h2)
}

/// A key's 128-bit hash as two words (an entry of [`Seen`] takes 24 bytes, where a `u128`,
/// aligned on 16, would take 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Key(u64, u64);

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

/// The map's hasher: a key is already a uniform hash, so its first word is used as it is.
#[derive(Default)]
pub(super) struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The email, phone and card of the rows so far (as hashes), each with the line of the first
/// row that had it. Rule: a row naming the same person as an earlier row by these
/// (`same_person`) is a duplicate inside the file, whatever the earlier row wrote (a card an existing customer was not given, an
/// address an overwrite replaced), so the merchant sees it in the report. The hash is keyed
/// at random for each import, so no file can be made whose values all land in one bucket.
/// The map grows by doubling: at its last growth (a million rows, three keys each) it holds
/// its old and new tables, about 150 MB, for a moment.
pub(super) struct Seen {
    map: HashMap<Key, u32, BuildHasherDefault<Prehashed>>,
    keys: (u64, u64),
}

impl Seen {
    pub(super) fn new() -> Seen {
        Seen { map: HashMap::default(), keys: (rand::random(), rand::random()) }
    }

    /// The key of a row's value of `kind`.
    pub(super) fn key(&self, kind: u8, value: &str) -> Key {
        key_hash(self.keys, kind, value)
    }

    /// The line of the first earlier row sharing one of `keys` (in their order), if any; the
    /// keys are then remembered for `line` where they are new.
    #[cfg(test)]
    fn first_line(&mut self, keys: &[Key], line: u32) -> Option<u32> {
        let first = keys.iter().find_map(|k| self.map.get(k).copied());
        for k in keys {
            self.map.entry(*k).or_insert(line);
        }
        first
    }

    /// The line of the first earlier row naming the same person as this row, by the rules of
    /// the matching (`matching::find_match`): the same email or the same card, or the same
    /// phone where one of the two rows has no email. Two rows with one phone and two emails are
    /// two people sharing it (a household, a shop's landline): not a duplicate. Nothing is
    /// remembered here: see `remember`.
    pub(super) fn same_person(&self, email: Option<&str>, phone: Option<&str>, card: Option<&str>) -> Option<u32> {
        let look = match email {
            Some(e) => [Some(self.key(b'e', e)), phone.map(|p| self.key(b'p', p)), None],
            None => [phone.map(|p| self.key(b'p', p)), phone.map(|p| self.key(b'q', p)), None],
        };
        look.into_iter().chain([card.map(|c| self.key(b'c', c))]).flatten().find_map(|k| self.map.get(&k).copied())
    }

    /// Whether an earlier row brought this email, phone or card, in any role (with or without
    /// an email beside the phone). Rule: every value a row can write on a customer (its email,
    /// its phone, its card) is remembered by `remember` from the first row that writes it — a
    /// phone is left out only when the matching found it on a customer already, who got it from
    /// an earlier row — so in a shop that had no customer before the import, a row none of
    /// whose values is known here can match no one. A "maybe" (two values of one hash) only
    /// costs the look-up.
    pub(super) fn may_know(&self, email: Option<&str>, phone: Option<&str>, card: Option<&str>) -> bool {
        let keys = [
            email.map(|e| self.key(b'e', e)),
            phone.map(|p| self.key(b'p', p)),
            phone.map(|p| self.key(b'q', p)),
            card.map(|c| self.key(b'c', c)),
        ];
        keys.into_iter().flatten().any(|k| self.map.contains_key(&k))
    }

    /// The line of the first earlier row the matching took for the existing customer `id`.
    pub(super) fn same_customer(&self, id: CustomerId) -> Option<u32> {
        self.map.get(&self.key(b'i', &id.to_string())).copied()
    }

    /// Remember that the matching took this row for the existing customer `id`.
    pub(super) fn remember_customer(&mut self, id: CustomerId, line: u32) {
        let k = self.key(b'i', &id.to_string());
        self.map.entry(k).or_insert(line);
    }

    /// Remember a row's values for the rows after it, where they are new. A phone is kept
    /// under one of two kinds, from a row without email (`p`, which every later row looks
    /// for) or with one (`q`, which only a row without email looks for); a phone the matching
    /// found under another person's email (`shared_phone`) is not kept with this row's email:
    /// a later row without email goes to that person, not to this row.
    pub(super) fn remember(
        &mut self,
        email: Option<&str>,
        phone: Option<&str>,
        card: Option<&str>,
        shared_phone: bool,
        line: u32,
    ) {
        let keep = match email {
            Some(e) => [Some(self.key(b'e', e)), phone.filter(|_| !shared_phone).map(|p| self.key(b'q', p))],
            // A phone the matching kept apart (two people's) names no one for the rows after.
            None => [phone.filter(|_| !shared_phone).map(|p| self.key(b'p', p)), None],
        };
        for k in keep.into_iter().chain([card.map(|c| self.key(b'c', c))]).flatten() {
            self.map.entry(k).or_insert(line);
        }
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
    fn keys_hash_apart() {
        let k = (1, 2);
        assert_ne!(key_hash(k, b'e', "a@example.com"), key_hash(k, b'e', "b@example.com"));
        assert_ne!(
            key_hash(k, b'p', "+33612345678"),
            key_hash(k, b'c', "+33612345678"),
            "the kind of key is part of it"
        );
        assert_eq!(key_hash(k, b'c', "0012345"), key_hash(k, b'c', "0012345"));
        assert_ne!(key_hash(k, b'c', "0012345"), key_hash((3, 4), b'c', "0012345"), "each import has its own keys");
        let (a, b) = (Key(7, 1), Key(7, 2));
        let mut seen = Seen::new();
        assert_eq!(seen.first_line(&[a], 2), None);
        assert_eq!(seen.first_line(&[b], 3), None, "keys sharing their first word are still two keys");
    }

    #[test]
    fn a_row_sharing_any_key_with_an_earlier_row_names_the_first_such_row() {
        let mut seen = Seen::new();
        let (email, phone, card) =
            (seen.key(b'e', "a@example.com"), seen.key(b'p', "+33612345678"), seen.key(b'c', "7"));
        assert_eq!(seen.first_line(&[email], 2), None, "the first row with an address names no one");
        assert_eq!(seen.first_line(&[phone], 3), None);
        assert_eq!(seen.first_line(&[card, phone], 4), Some(3), "the phone was on line 3");
        assert_eq!(seen.first_line(&[email, phone], 5), Some(2), "the first key found names its line");
        assert_eq!(seen.first_line(&[card], 6), Some(4), "line 4 brought the card: it keeps it");
        assert_eq!(seen.first_line(&[phone], 7), Some(3), "a later row never takes a key's place");
        let other_case = seen.key(b'e', "A@example.com");
        assert_eq!(seen.first_line(&[other_case], 8), None, "keys are compared as given");
    }

    #[test]
    fn one_phone_with_two_emails_is_two_people_and_a_row_without_email_is_either() {
        let mut seen = Seen::new();
        let phone = Some("+33612345678");
        let row = |seen: &mut Seen, email: Option<&str>, card: Option<&str>, shared: bool, line: u32| {
            let first = seen.same_person(email, phone, card);
            seen.remember(email, phone, card, shared, line);
            first
        };
        assert_eq!(row(&mut seen, Some("ana@example.com"), None, false, 2), None);
        assert_eq!(
            row(&mut seen, Some("leo@example.com"), None, true, 3),
            None,
            "the same phone under another email is someone else sharing it"
        );
        assert_eq!(
            row(&mut seen, None, None, false, 4),
            Some(2),
            "a row with the phone and no email is the first holder's"
        );
        assert_eq!(
            row(&mut seen, Some("zoe@example.com"), None, false, 5),
            Some(4),
            "a row with an email and the phone of a row that had none is that row's"
        );
        assert_eq!(seen.same_person(Some("leo@example.com"), None, None), Some(3), "the same email is the same person");
        assert_eq!(row(&mut seen, Some("max@example.com"), Some("29000001"), false, 7), Some(4));
        assert_eq!(
            seen.same_person(Some("other@example.com"), None, Some("29000001")),
            Some(7),
            "a card is its holder's whatever the email"
        );
        let mut apart = Seen::new();
        assert_eq!(row(&mut apart, Some("leo@example.com"), None, true, 2), None);
        assert_eq!(
            row(&mut apart, None, None, false, 3),
            None,
            "a phone kept apart as someone else's names that person, not the row kept apart"
        );
    }
}
