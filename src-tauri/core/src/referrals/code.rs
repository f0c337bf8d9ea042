//! Referral codes: every customer has one, permanent, short and readable aloud, e.g. `K7P-X2M`.
//!
//! A code is the customer's id scrambled (an affine bijection, so neighbours get unrelated
//! codes) and written in an alphabet of 31 letters and digits with no look-alikes (no 0/O,
//! 1/I/L), followed by one check character. The check is a weighted sum modulo 31, a prime
//! (as ISBN-10 does modulo 11): every single wrong character and every swap of two characters
//! is caught, so a mistyped code is refused rather than matched to someone else.
//!
//! Invariants: `parse(format(id)) == Some(id)` for every id below `MAX_ID`; a code read back
//! ignores case, spaces and dashes; nothing is stored, so a code never changes.

use crate::types::CustomerId;

/// The symbols, in value order (the same unambiguous alphabet as voucher codes).
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const BASE: u64 = 31;
/// Characters before the check character: 5 for ids below 31^5, 7 beyond.
const SHORT: usize = 5;
const LONG: usize = 7;
/// The largest id a code can carry (31^7).
pub const MAX_ID: u64 = 27_512_614_111;

/// Multipliers coprime to 31 for each length, and offsets: the scramble `id·a + b mod 31^n`.
const SHORT_MUL: u64 = 7_654_321;
const SHORT_ADD: u64 = 4_111_111;
const LONG_MUL: u64 = 9_876_543_211;
const LONG_ADD: u64 = 1_234_567_891;

fn space(len: usize) -> u64 {
    BASE.pow(len as u32)
}

fn params(len: usize) -> (u64, u64) {
    if len == SHORT {
        (SHORT_MUL, SHORT_ADD)
    } else {
        (LONG_MUL, LONG_ADD)
    }
}

/// Modular inverse of `a` modulo `m` (extended Euclid); `a` and `m` are coprime.
fn inverse(a: u64, m: u64) -> u64 {
    let (mut t, mut new_t) = (0i128, 1i128);
    let (mut r, mut new_r) = (i128::from(m), i128::from(a % m));
    while new_r != 0 {
        let q = r / new_r;
        (t, new_t) = (new_t, t - q * new_t);
        (r, new_r) = (new_r, r - q * new_r);
    }
    (if t < 0 { t + i128::from(m) } else { t }) as u64
}

fn value_of(c: u8) -> Option<u64> {
    ALPHABET.iter().position(|a| *a == c).map(|p| p as u64)
}

/// Rule: the check value makes `Σ (i+1)·v_i ≡ 0 (mod 31)` over the whole code, the check
/// character included at position `n+1`.
fn check_value(values: &[u64]) -> u64 {
    let sum: u64 = values.iter().enumerate().map(|(i, v)| (i as u64 + 1) * v).sum::<u64>() % BASE;
    let weight = values.len() as u64 + 1;
    // weight·c ≡ −sum (mod 31)
    ((BASE - sum) % BASE) * inverse(weight, BASE) % BASE
}

fn is_consistent(values: &[u64]) -> bool {
    values.iter().enumerate().map(|(i, v)| (i as u64 + 1) * v).sum::<u64>() % BASE == 0
}

/// The code of a customer, as printed: `XXX-XXX` (or `XXXX-XXXX` beyond 28 million ids).
pub fn format(id: CustomerId) -> String {
    let id = id.max(0) as u64;
    let len = if id < space(SHORT) { SHORT } else { LONG };
    let (mul, add) = params(len);
    let m = space(len);
    let mut x = ((u128::from(id % m) * u128::from(mul) + u128::from(add)) % u128::from(m)) as u64;
    let mut values = vec![0u64; len];
    for slot in values.iter_mut().rev() {
        *slot = x % BASE;
        x /= BASE;
    }
    values.push(check_value(&values));
    let s: String = values.iter().map(|v| ALPHABET[*v as usize] as char).collect();
    let half = s.len() / 2;
    format!("{}-{}", &s[..half], &s[half..])
}

/// What a typed code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A well-formed code with a correct check character: this customer id.
    Id(CustomerId),
    /// The right shape but the check character does not match: a typing slip.
    Typo,
    /// Not a referral code at all (wrong length or characters outside the alphabet).
    NotACode,
}

/// The characters of a typed code, upper case, without spaces or dashes.
pub fn compact(typed: &str) -> String {
    typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase()
}

/// Rule: read a typed code, ignoring case, spaces and dashes.
pub fn parse(typed: &str) -> Parsed {
    let raw = compact(typed);
    let len = raw.len();
    if len != SHORT + 1 && len != LONG + 1 {
        return Parsed::NotACode;
    }
    let Some(values) = raw.bytes().map(value_of).collect::<Option<Vec<u64>>>() else {
        return Parsed::NotACode;
    };
    if !is_consistent(&values) {
        return Parsed::Typo;
    }
    let body = &values[..len - 1];
    let m = space(body.len());
    let x = body.iter().fold(0u64, |acc, v| acc * BASE + v);
    let (mul, add) = params(body.len());
    let id = (u128::from((x + m - add % m) % m) * u128::from(inverse(mul, m)) % u128::from(m)) as u64;
    // A long code only carries ids a short one cannot.
    if body.len() == LONG && id < space(SHORT) {
        return Parsed::Typo;
    }
    Parsed::Id(id as CustomerId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_to_its_customer_whatever_the_typing() {
        for id in (1..20_000).chain([28_629_150, 28_629_151, 99_999_999, MAX_ID as i64 - 1]) {
            let c = format(id);
            assert_eq!(parse(&c), Parsed::Id(id), "{c} is customer {id}");
            let typed = c.to_lowercase().replace('-', " ");
            assert_eq!(parse(&typed), Parsed::Id(id), "typed as {typed:?}");
        }
        assert_eq!(format(1).len(), 7, "three characters, a dash, three characters");
        assert_eq!(format(30_000_000).len(), 9, "beyond 28 million customers the code grows to 8 characters");
    }

    #[test]
    fn codes_have_no_look_alike_characters_and_neighbours_look_unrelated() {
        for id in 1..2000 {
            let c = format(id);
            assert!(!c.contains(['0', 'O', '1', 'I', 'L']), "{c} has no look-alike characters");
        }
        let a = format(41);
        let b = format(42);
        let same = a.chars().zip(b.chars()).filter(|(x, y)| x == y).count();
        assert!(same <= 3, "customers 41 and 42 get unrelated codes: {a} {b}");
    }

    #[test]
    fn every_single_wrong_character_and_every_swap_is_refused() {
        for id in [1i64, 7, 12_345, 999_999, 28_000_000] {
            let c = compact(&format(id));
            let bytes = c.as_bytes();
            for i in 0..bytes.len() {
                for &sub in ALPHABET {
                    if sub == bytes[i] {
                        continue;
                    }
                    let mut t = bytes.to_vec();
                    t[i] = sub;
                    let typo = String::from_utf8(t).unwrap();
                    assert_eq!(parse(&typo), Parsed::Typo, "{typo} (one character wrong in {c}) is refused");
                }
                for j in i + 1..bytes.len() {
                    if bytes[i] == bytes[j] {
                        continue;
                    }
                    let mut t = bytes.to_vec();
                    t.swap(i, j);
                    let typo = String::from_utf8(t).unwrap();
                    assert_eq!(parse(&typo), Parsed::Typo, "{typo} (two characters swapped in {c}) is refused");
                }
            }
        }
    }

    #[test]
    fn other_text_is_not_a_code() {
        for t in ["", "MARTIN", "DUBOIS", "ABC", "2900000000015", "K7P-X2M-Q", "ABC-DE0"] {
            assert_eq!(parse(t), Parsed::NotACode, "{t:?} is not a referral code");
        }
    }
}
