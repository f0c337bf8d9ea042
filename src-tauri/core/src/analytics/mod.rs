//! The numbers that tell a merchant what to do.
pub mod calendar;
pub mod clv;
pub mod rfm;
pub mod rhythm;
