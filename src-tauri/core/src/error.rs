//! The one error type of the product. Each error has a stable `code` the interface can branch
//! on and a message in the user's language, built from the shared catalogues.

use crate::i18n::{self, Args};
use crate::types::Lang;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One problem with one field of a form: the field name as the interface knows it and a
/// catalogue key with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl FieldError {
    pub fn new(field: &'static str, key: &'static str) -> Self {
        Self { field, key, args: Vec::new() }
    }
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("conflict: {key}")]
    Conflict { key: &'static str, args: Vec<(&'static str, String)> },
    #[error("database schema version {found} is newer than this app supports ({supported})")]
    NewerDatabase { found: u32, supported: u32 },
    #[error("the idempotency key {0} was already used for another operation or input")]
    KeyReused(String),
    #[error("the copy taken before upgrading the database could not be written or checked")]
    BackupFailed,
    /// The customer file is being upgraded to this version of the app: nothing can be read or
    /// written until that ends (seconds, minutes on a very large file).
    #[error("the customer file is being upgraded")]
    Upgrading,
    #[error("storage: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("data: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    pub fn invalid(field: &'static str, key: &'static str) -> Self {
        Error::Validation(vec![FieldError::new(field, key)])
    }
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Error::NotFound { entity, id: id.to_string() }
    }
    pub fn conflict(key: &'static str) -> Self {
        Error::Conflict { key, args: Vec::new() }
    }

    /// The stable code the interface branches on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation(_) => "validation",
            Error::NotFound { .. } => "not_found",
            Error::Conflict { .. } => "conflict",
            Error::NewerDatabase { .. } => "newer_database",
            Error::KeyReused(_) => "key_reused",
            Error::BackupFailed => "backup_failed",
            Error::Upgrading => "upgrading",
            e if e.is_disk_full() => "disk_full",
            Error::Storage(e) if is_busy(e) => "busy",
            Error::Storage(_) | Error::Io(_) | Error::Json(_) => "internal",
        }
    }

    /// The message for the person in front of the screen, in their language. Details of
    /// internal errors are for the log, not for the shopkeeper.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            Error::Validation(fields) => match fields.as_slice() {
                [one] => field_message(one, lang),
                _ => i18n::tr(lang, "error.validation", &[]),
            },
            Error::NotFound { entity, .. } => {
                let what = i18n::tr(lang, &format!("entity.{entity}"), &[]);
                i18n::tr(lang, "error.not_found", &[("what", what)])
            }
            Error::Conflict { key, args } => i18n::tr(lang, key, &to_args(args)),
            Error::NewerDatabase { found, supported } => i18n::tr(
                lang,
                "error.newer_database",
                &[("found", found.to_string()), ("supported", supported.to_string())],
            ),
            Error::KeyReused(_) => i18n::tr(lang, "error.key_reused", &[]),
            Error::BackupFailed => i18n::tr(lang, "error.backup_failed", &[]),
            Error::Upgrading => i18n::tr(lang, "error.upgrading", &[]),
            e if e.is_disk_full() => i18n::tr(lang, "error.disk_full", &[]),
            Error::Storage(e) if is_busy(e) => i18n::tr(lang, "error.busy", &[]),
            Error::Storage(_) | Error::Io(_) | Error::Json(_) => i18n::tr(lang, "error.internal", &[]),
        }
    }

    pub fn to_payload(&self, lang: Lang) -> ErrorPayload {
        let fields = match self {
            Error::Validation(fields) => fields
                .iter()
                .map(|f| FieldMessage { field: f.field.to_string(), message: field_message(f, lang) })
                .collect(),
            _ => Vec::new(),
        };
        ErrorPayload { code: self.code().to_string(), message: self.message(lang), fields }
    }
}

impl Error {
    /// The disk (or the database's size limit) is full: the merchant can act on that, so it
    /// has its own code and message instead of "internal".
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Storage(e) => matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DiskFull)),
            Error::Io(e) => e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28),
            _ => false,
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked))
}

fn to_args(args: &[(&'static str, String)]) -> Args {
    args.iter().map(|(k, v)| (*k, v.clone())).collect()
}

fn field_message(f: &FieldError, lang: Lang) -> String {
    i18n::tr(lang, f.key, &to_args(&f.args))
}

/// A message about one field, shown next to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FieldMessage {
    pub field: String,
    pub message: String,
}

/// What every failed command sends to the interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ErrorPayload {
    pub code: String,
    pub message: String,
    pub fields: Vec<FieldMessage>,
}

/// Collects field errors while validating a form, so all of them are reported at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn add(&mut self, field: &'static str, key: &'static str) {
        self.0.push(FieldError::new(field, key));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_result(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_never_reach_the_message() {
        let e = Error::Io(std::io::Error::other("/secret/path exploded"));
        let p = e.to_payload(Lang::Fr);
        assert_eq!(p.code, "internal");
        assert!(!p.message.contains("/secret/path"), "a shopkeeper sees no internal details: {}", p.message);
    }

    #[test]
    fn a_single_field_error_is_the_message_and_is_translated() {
        let e = Error::invalid("email", "field.email_invalid");
        let fr = e.to_payload(Lang::Fr);
        let en = e.to_payload(Lang::En);
        assert_eq!(fr.fields.len(), 1);
        assert_eq!(fr.fields[0].field, "email");
        assert_ne!(fr.message, en.message, "French and English messages differ");
        assert_eq!(fr.message, fr.fields[0].message);
    }
}
