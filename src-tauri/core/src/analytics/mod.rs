//! The numbers that tell a merchant what to do.
pub mod calendar;
pub mod clv;
pub mod days;
pub mod kinds;
pub mod rfm;
pub mod rhythm;
pub mod scores;
pub mod settings;
