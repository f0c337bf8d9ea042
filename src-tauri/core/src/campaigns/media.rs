//! Images for messages: stored in the database from what the editor sends, read back for its
//! thumbnails.
//!
//! Invariants: only PNG, JPEG or GIF, recognised by their first bytes (not by the name or the
//! type the editor claims), at most `MAX_MEDIA_BYTES`; the name is checked user text.

use super::Media;
use crate::error::{Error, FieldError, Result};
use crate::storage::Store;
use crate::types::Outcome;
use rusqlite::{params, OptionalExtension};

/// An image in a message: at most 2 MB (it travels in every message).
const MAX_MEDIA_BYTES: usize = 2 * 1024 * 1024;

impl Store {
    /// Store an image for messages, from a `data:image/png|jpeg|gif;base64,…` URL (checked by
    /// its first bytes, at most 2 MB).
    pub fn add_media(&mut self, name: &str, data_url: &str, key: Option<&str>) -> Result<Outcome<Media>> {
        use crate::settings::{image_from_data_url, ImageData};
        let (sniffed, bytes) = match image_from_data_url(data_url, MAX_MEDIA_BYTES) {
            ImageData::Image { mime, bytes } => (mime, bytes),
            ImageData::TooLarge => {
                return Err(Error::Validation(vec![
                    FieldError::new("image", "campaign.image_too_big").arg("max", "2 Mo")
                ]))
            }
            ImageData::Invalid => return Err(Error::invalid("image", "campaign.image_invalid")),
        };
        let name = crate::text::check_text("name", name, 200, false)?.unwrap_or_else(|| "image".into());
        let out = self.transact(("media_add", &(&name, data_url)), key, |tx| {
            tx.execute(
                "INSERT INTO media (name, mime, bytes, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, sniffed, bytes, tx.now],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        let media = self.media(out.value)?;
        Ok(Outcome { value: media, changes: out.changes, replayed: out.replayed })
    }

    pub fn media(&self, id: i64) -> Result<Media> {
        use base64::Engine;
        let (name, mime, bytes): (String, String, Vec<u8>) = self
            .conn()
            .query_row("SELECT name, mime, bytes FROM media WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?
            .ok_or_else(|| Error::not_found("media", id))?;
        let data_url = format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(&bytes));
        Ok(Media { id, name, mime, size: bytes.len() as i64, data_url })
    }
}
