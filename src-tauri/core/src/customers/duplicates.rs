//! Possible duplicates: the same normalised email or phone, or a very similar name at the
//! same postcode.

use super::CustomerSummary;
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

/// Rule: two folded full names are "very similar" when they are equal, equal with first and
/// last name swapped, or differ by a typing slip (Jaro-Winkler similarity of at least 0.92).
pub fn similar_names(a_first: &str, a_last: &str, b_first: &str, b_last: &str) -> bool {
    let a = format!("{a_first} {a_last}");
    let b = format!("{b_first} {b_last}");
    let swapped = format!("{b_last} {b_first}");
    if a.trim().is_empty() || b.trim().is_empty() {
        return false;
    }
    a == b || a == swapped || strsim::jaro_winkler(&a, &b) >= 0.92 || strsim::jaro_winkler(&a, &swapped) >= 0.92
}

#[cfg(test)]
mod tests {
    use super::similar_names;

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
