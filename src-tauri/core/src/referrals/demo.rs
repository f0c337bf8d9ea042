//! The demo shop's referrals (filled in below).
