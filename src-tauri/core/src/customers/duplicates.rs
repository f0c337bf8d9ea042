//! Possible duplicates: the same normalised email or phone, or a very similar name at the
//! same postcode.
//!
//! Invariant: `NameProbe::matches` answers exactly as `similar_names`; its character-count
//! bound only skips comparisons that cannot reach the threshold (a test compares both on
//! many pairs).

use super::CustomerSummary;
use crate::types::CustomerId;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateReason {
    SameEmail,
    SamePhone,
    SimilarNameSamePostcode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DuplicateMatch {
    pub customer: CustomerSummary,
    pub reasons: Vec<DuplicateReason>,
}

/// The customers of a crowded postcode nearest a folded name in name order (last name, then
/// first name): `window` on each side of it, and as many on each side of its words the other
/// way round. Each row (id, first_fold, last_fold) is given to `visit`, straight from the
/// postcode's index (migration 18). This is the "sorted neighbourhood" of record linkage: a
/// slip in the first name or late in the last name sorts near the name; a slip in a last
/// name's first letters does not, and is not found this way.
pub(crate) fn around_name(
    conn: &rusqlite::Connection,
    postcode: &str,
    first: &str,
    last: &str,
    exclude: CustomerId,
    window: i64,
    visit: &mut dyn FnMut(&rusqlite::Row) -> crate::Result<()>,
) -> crate::Result<()> {
    let mut after = conn.prepare_cached(
        "SELECT id, first_fold, last_fold FROM customers WHERE postcode = ?1 AND (last_fold, first_fold) >= (?3, ?4) AND merged_into IS NULL AND id != ?2
         ORDER BY last_fold, first_fold LIMIT ?5",
    )?;
    let mut before = conn.prepare_cached(
        "SELECT id, first_fold, last_fold FROM customers WHERE postcode = ?1 AND (last_fold, first_fold) < (?3, ?4) AND merged_into IS NULL AND id != ?2
         ORDER BY last_fold DESC, first_fold DESC LIMIT ?5",
    )?;
    for (l, f) in [(last, first), (first, last)] {
        for st in [&mut after, &mut before] {
            let mut rows = st.query(rusqlite::params![postcode, exclude, l, f, window])?;
            while let Some(r) = rows.next()? {
                visit(r)?;
            }
        }
    }
    Ok(())
}

/// Rule: two folded full names are "very similar" when they are equal, equal with first and
/// last name swapped, or differ by a typing slip (Jaro-Winkler similarity of at least 0.92).
pub fn similar_names(a_first: &str, a_last: &str, b_first: &str, b_last: &str) -> bool {
    let a = format!("{a_first} {a_last}");
    let b = format!("{b_first} {b_last}");
    let swapped = format!("{b_last} {b_first}");
    if a.trim().is_empty() || b.trim().is_empty() {
        return false;
    }
    a == b || a == swapped || strsim::jaro_winkler(&a, &b) >= SIMILAR || strsim::jaro_winkler(&a, &swapped) >= SIMILAR
}

/// The Jaro-Winkler similarity `similar_names` asks for.
const SIMILAR: f64 = 0.92;
/// Character counts: one bucket per ASCII character, one for every other character (merging
/// characters into one bucket can only raise the bound, so it stays an upper bound).
const BUCKETS: usize = 129;

fn bucket(c: char) -> usize {
    (c as usize).min(BUCKETS - 1)
}

/// One folded name compared with many others (an import row against the customers at its
/// postcode, a typed customer against the file). Same answers as `similar_names`, but most
/// pairs are settled by counting characters first: Jaro-Winkler matches pair equal
/// characters, so its matches `m` are at most the characters both names share (`h`, counted
/// with repeats); Jaro is then at most `(h/|a| + h/|b| + 1) / 3`, and the Winkler prefix bonus
/// adds at most `0.4 × (1 − Jaro)`. When even that bound is under 0.92, the names are not
/// similar in either order (swapping the words keeps the counts): the full comparison is
/// skipped.
pub struct NameProbe {
    first: String,
    last: String,
    /// Characters of `"first last"`, joined as `similar_names` joins them.
    len: usize,
    counts: [u32; BUCKETS],
}

impl NameProbe {
    pub fn new(first: &str, last: &str) -> Self {
        let mut counts = [0u32; BUCKETS];
        let mut len = 0;
        for c in first.chars().chain(std::iter::once(' ')).chain(last.chars()) {
            counts[bucket(c)] = counts[bucket(c)].saturating_add(1);
            len += 1;
        }
        NameProbe { first: first.to_string(), last: last.to_string(), len, counts }
    }

    /// Whether the folded name `b_first b_last` is very similar (see `similar_names`).
    pub fn matches(&self, b_first: &str, b_last: &str) -> bool {
        self.may_match(b_first, b_last) && similar_names(&self.first, &self.last, b_first, b_last)
    }

    /// The bound: false only when no order of the words can reach the threshold.
    fn may_match(&self, b_first: &str, b_last: &str) -> bool {
        let mut left = self.counts;
        let (mut shared, mut b_len) = (0usize, 0usize);
        for c in b_first.chars().chain(std::iter::once(' ')).chain(b_last.chars()) {
            b_len += 1;
            let k = bucket(c);
            if left[k] > 0 {
                left[k] -= 1;
                shared += 1;
            }
        }
        if shared == 0 {
            return false;
        }
        let (h, a, b) = (shared as f64, self.len as f64, b_len as f64);
        let jaro = (h / a + h / b + 1.0) / 3.0;
        // A hair of slack for rounding: the bound must never refuse a pair that reaches 0.92.
        jaro + 0.4 * (1.0 - jaro) >= SIMILAR - 1e-9
    }
}

#[cfg(test)]
mod tests {
    use super::{similar_names, NameProbe};
    use rand::{Rng, SeedableRng};

    /// A typing slip: a letter dropped, doubled, replaced, or two swapped.
    fn slip(rng: &mut rand_chacha::ChaCha8Rng, s: &str) -> String {
        let mut c: Vec<char> = s.chars().collect();
        if c.len() < 2 {
            return s.to_string();
        }
        let i = rng.random_range(0..c.len() - 1);
        match rng.random_range(0..4) {
            0 => {
                c.remove(i);
            }
            1 => c.insert(i, c[i]),
            2 => c[i] = 'x',
            _ => c.swap(i, i + 1),
        }
        c.into_iter().collect()
    }

    #[test]
    fn the_probe_answers_exactly_as_the_full_comparison() {
        let names = [
            "elodie",
            "lefevre",
            "lefebvre",
            "jean",
            "jeanne",
            "martin",
            "marie-eve",
            "cote",
            "zoe",
            "noemie",
            "o neil",
            "francois",
            "ines",
            "hugo",
            "lea",
            "tremblay",
            "gagnon",
            "",
            " ",
            "李",
            "李雷",
            "🙂",
            "a",
            "ab",
        ];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (mut similar, mut settled) = (0, 0);
        for _ in 0..40_000 {
            let af = names[rng.random_range(0..names.len())];
            let al = names[rng.random_range(0..names.len())];
            let (bf, bl) = match rng.random_range(0..3) {
                0 => (
                    names[rng.random_range(0..names.len())].to_string(),
                    names[rng.random_range(0..names.len())].to_string(),
                ),
                1 => (slip(&mut rng, af), slip(&mut rng, al)),
                _ => (slip(&mut rng, al), af.to_string()),
            };
            let probe = NameProbe::new(af, al);
            let want = similar_names(af, al, &bf, &bl);
            assert_eq!(probe.matches(&bf, &bl), want, "the probe must answer as similar_names: {af} {al} ~ {bf} {bl}");
            similar += usize::from(want);
            settled += usize::from(!probe.may_match(&bf, &bl));
        }
        assert!(similar > 5_000, "the cases must hold many similar pairs ({similar})");
        assert!(settled > 5_000, "the bound must settle many pairs without the full comparison ({settled})");
    }

    #[test]
    fn similar_names_catch_typing_slips_and_swaps_but_not_other_people() {
        let cases = [
            (("elodie", "lefevre"), ("elodie", "lefevre"), true, "identical"),
            (("elodie", "lefevre"), ("elodie", "lefebvre"), true, "one letter more"),
            (("elodie", "lefevre"), ("lefevre", "elodie"), true, "first and last swapped"),
            (("jean", "martin"), ("jeanne", "martin"), true, "a slip on the first name"),
            (("jean", "martin"), ("paul", "durand"), false, "different people"),
            (("marie", "dubois"), ("sophie", "dubois"), false, "same family, different person"),
            (("", ""), ("", ""), false, "empty names are never similar"),
        ];
        for ((af, al), (bf, bl), want, why) in cases {
            assert_eq!(similar_names(af, al, bf, bl), want, "{af} {al} ~ {bf} {bl}: {why}");
        }
    }
}
