//! Fraud checks on a new referral, each with its stated reason. Blocked (nothing is written):
//! the referrer is the friend — same customer, same normalised email or same phone. Flagged
//! for review, never blocked: the same postal address (households are normal), too many
//! friends a day or a week for one referrer, a throwaway email domain, one staff member
//! creating a burst of referred customers.
//!
//! Invariants: pure; the throwaway domains are the shipped list
//! `assets/referrals/disposable_email_domains.txt`, plus `RESERVED_THROWAWAY`.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::OnceLock;
use ts_rs::TS;

const DISPOSABLE: &str = include_str!("../../../../assets/referrals/disposable_email_domains.txt");

/// A reserved name (RFC 6761: no real address can be on it) standing for a throwaway provider
/// in the demo shop and the tests, which use reserved domains only.
pub const RESERVED_THROWAWAY: &str = "jetable.test";

fn disposable() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        DISPOSABLE
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .chain([RESERVED_THROWAWAY])
            .collect()
    })
}

/// Rule: an email is throwaway when its domain, or a parent domain, is on the shipped list.
pub fn is_throwaway(email_norm: &str) -> bool {
    let Some((_, domain)) = email_norm.rsplit_once('@') else { return false };
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let set = disposable();
    let mut d = domain.as_str();
    loop {
        if set.contains(d) {
            return true;
        }
        match d.split_once('.') {
            Some((_, rest)) if rest.contains('.') => d = rest,
            _ => return false,
        }
    }
}

/// The facts of one person, as the checks compare them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub id: i64,
    pub email_norm: Option<String>,
    pub phone_e164: Option<String>,
    /// Folded first address line and postcode, e.g. "12 rue des lilas|69003".
    pub address_key: Option<String>,
}

/// Rule: the same address is the same folded first line at the same postcode.
pub fn address_key(line1: Option<&str>, postcode: Option<&str>) -> Option<String> {
    let line = crate::text::fold(line1?.trim());
    let pc: String = postcode?.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let line: String = line.chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    (!line.is_empty() && !pc.is_empty()).then(|| format!("{line}|{pc}"))
}

/// Why a referral cannot be made at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    SameCustomer,
    SameEmail,
    SamePhone,
}

impl Block {
    pub fn key(self) -> &'static str {
        match self {
            Block::SameCustomer => "field.referral_self",
            Block::SameEmail => "field.referral_self_email",
            Block::SamePhone => "field.referral_self_phone",
        }
    }
}

/// Why a referral waits for a person to look at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flag {
    SameAddress,
    TooManyToday {
        count: u32,
        max: u32,
    },
    TooManyThisWeek {
        count: u32,
        max: u32,
    },
    ThrowawayEmail {
        domain: String,
    },
    StaffBurst {
        staff: String,
        count: u32,
        max: u32,
    },
    /// After the link, the friend's or the referrer's record was edited and now has the
    /// other's email or phone (refused outright at the link; left to the merchant after).
    SameContact {
        field: String,
    },
}

/// What the checks need besides the two people: counts including the referral being made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub referrer_today: u32,
    pub referrer_week: u32,
    pub max_per_day: u32,
    pub max_per_week: u32,
    /// Referred customers created by the same staff member in the last hour.
    pub staff: String,
    pub staff_last_hour: u32,
    pub staff_burst_per_hour: u32,
}

/// Rule: block self-referrals; flag the rest of the suspicious cases, each with its reason.
pub fn check(referrer: &Person, friend: &Person, ctx: &Context) -> Result<Vec<Flag>, Block> {
    if referrer.id == friend.id {
        return Err(Block::SameCustomer);
    }
    let same = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(x), Some(y)) if !x.is_empty() && x == y);
    if same(&referrer.email_norm, &friend.email_norm) {
        return Err(Block::SameEmail);
    }
    if same(&referrer.phone_e164, &friend.phone_e164) {
        return Err(Block::SamePhone);
    }
    let mut flags = Vec::new();
    if same(&referrer.address_key, &friend.address_key) {
        flags.push(Flag::SameAddress);
    }
    if ctx.referrer_today > ctx.max_per_day {
        flags.push(Flag::TooManyToday { count: ctx.referrer_today, max: ctx.max_per_day });
    } else if ctx.referrer_week > ctx.max_per_week {
        flags.push(Flag::TooManyThisWeek { count: ctx.referrer_week, max: ctx.max_per_week });
    }
    if let Some(e) = friend.email_norm.as_deref().filter(|e| is_throwaway(e)) {
        flags.push(Flag::ThrowawayEmail { domain: e.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default() });
    }
    // Unnamed staff are many people: their referrals are not pooled into one "burst".
    if !ctx.staff.trim().is_empty() && ctx.staff_last_hour > ctx.staff_burst_per_hour {
        flags.push(Flag::StaffBurst {
            staff: ctx.staff.clone(),
            count: ctx.staff_last_hour,
            max: ctx.staff_burst_per_hour,
        });
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: i64, email: &str, phone: &str, addr: Option<(&str, &str)>) -> Person {
        Person {
            id,
            email_norm: (!email.is_empty()).then(|| email.to_string()),
            phone_e164: (!phone.is_empty()).then(|| phone.to_string()),
            address_key: addr.and_then(|(l, p)| address_key(Some(l), Some(p))),
        }
    }

    fn ctx() -> Context {
        Context {
            referrer_today: 1,
            referrer_week: 1,
            max_per_day: 3,
            max_per_week: 8,
            staff: "Marie".into(),
            staff_last_hour: 1,
            staff_burst_per_hour: 6,
        }
    }

    #[test]
    fn a_referrer_cannot_refer_themselves_under_any_disguise() {
        let r = person(1, "lea@example.com", "+33612345678", None);
        let cases = [
            (person(1, "", "", None), Block::SameCustomer, "the same customer"),
            (person(2, "lea@example.com", "", None), Block::SameEmail, "a new record with the referrer's email"),
            (person(2, "", "+33612345678", None), Block::SamePhone, "a new record with the referrer's phone"),
        ];
        for (friend, want, why) in cases {
            assert_eq!(check(&r, &friend, &ctx()), Err(want), "blocked: {why}");
        }
    }

    #[test]
    fn suspicious_cases_are_flagged_with_their_reason_never_blocked() {
        let r = person(1, "lea@example.com", "+33612345678", Some(("12, rue des Lilas", "69003")));
        let household = person(2, "paul@example.com", "", Some(("12 Rue des  Lilas", "69 003")));
        assert_eq!(check(&r, &household, &ctx()), Ok(vec![Flag::SameAddress]), "households are flagged, not blocked");
        let stranger = person(3, "zoe@example.com", "", Some(("3 place du Marché", "69003")));
        assert_eq!(check(&r, &stranger, &ctx()), Ok(vec![]), "a different address at the same postcode is fine");
        let busy_day = Context { referrer_today: 4, referrer_week: 4, ..ctx() };
        assert_eq!(check(&r, &stranger, &busy_day), Ok(vec![Flag::TooManyToday { count: 4, max: 3 }]));
        let busy_week = Context { referrer_today: 2, referrer_week: 9, ..ctx() };
        assert_eq!(check(&r, &stranger, &busy_week), Ok(vec![Flag::TooManyThisWeek { count: 9, max: 8 }]));
        let throwaway = person(4, "x@jetable.test", "", None);
        assert_eq!(check(&r, &throwaway, &ctx()), Ok(vec![Flag::ThrowawayEmail { domain: "jetable.test".into() }]));
        let burst = Context { staff_last_hour: 7, ..ctx() };
        assert_eq!(
            check(&r, &stranger, &burst),
            Ok(vec![Flag::StaffBurst { staff: "Marie".into(), count: 7, max: 6 }]),
            "one staff member creating many referred customers in an hour"
        );
        let unnamed = Context { staff: String::new(), staff_last_hour: 7, ..ctx() };
        assert_eq!(
            check(&r, &stranger, &unnamed),
            Ok(vec![]),
            "referrals entered without a name are not one person's burst"
        );
    }

    #[test]
    fn throwaway_domains_come_from_the_shipped_list() {
        assert!(disposable().len() > 1000, "the shipped list is loaded");
        for e in ["a@mailinator.com", "a@yopmail.com", "a@jetable.org", "a@sub.mailinator.com"] {
            assert!(is_throwaway(e), "{e} is a throwaway address");
        }
        assert!(is_throwaway("a@jetable.test"), "the reserved stand-in used by the demo is throwaway");
        for e in ["a@gmail.com", "a@orange.fr", "a@example.com", "a@courriel.test", "nobody", "a@com"] {
            assert!(!is_throwaway(e), "{e} is not on the list");
        }
    }
}
