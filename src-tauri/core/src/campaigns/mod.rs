//! Email campaigns: sending settings, segments, writing and rendering, the outbox engine and
//! what a campaign brought.
//!
//! - `mail`: the sender's identity, SMTP presets and limits, the connection test (`smtp`), the
//!   password in the operating system's keychain (`secrets`).
//! - `consent`: who may receive marketing (France, Canada), as pure rules.
//! - `segments`: audiences from filters (never SQL text), counts and why people are excluded.
//! - `render`: blocks → a template with auto-escaping → HTML (styles inlined) + text, per
//!   recipient; default templates. Its parts: `identity` (the sender, money), `personal` (the
//!   personal fields' values), `blocks` (blocks → HTML), `plain` (the text part),
//!   `merchant_text` (what the merchant may write).
//! - `store`: campaigns, their lifecycle and the outbox (`outbox` builds it; `unsubscribes`,
//!   `media` for the images of messages).
//! - `engine`: the single sender: claims outbox rows, sends through a transport (`smtp`) within
//!   the provider's limits, records each result; `limits` holds the pure rate and error rules;
//!   `lock` makes sure only one sender runs per file; `message` builds each email (and the
//!   test send). Its parts: `engine_options` (tunables, the precheck and its verdict), `claim`
//!   (claiming a batch), `record` (recording results: retries and pauses), `schedule` (quota
//!   resumes, scheduled starts, A/B winners).
//! - `results`: sent/failed/unsubscribed, purchases and revenue against a control group, A/B.
//! - `deliverability`: before sending — the sender domain's SPF/DKIM/DMARC, the free-mail rule,
//!   the content check of the rendered message.

mod blocks;
mod claim;
pub mod consent;
pub mod deliverability;
pub mod engine;
mod engine_options;
pub mod fill;
mod identity;
pub mod limits;
pub mod lock;
pub mod mail;
mod media;
mod merchant_text;
pub mod message;
mod outbox;
mod personal;
mod plain;
mod record;
pub mod render;
pub mod results;
mod schedule;
pub mod secrets;
pub mod segments;
/// An SMTP server on loopback: for the tests and the benchmark only, never in the app.
#[cfg(any(test, feature = "sink"))]
pub mod sink;
pub mod smtp;
pub mod store;
pub mod suppression;
mod unsubscribes;

#[cfg(test)]
mod tests;

use crate::types::{Cents, CustomerId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub type CampaignId = i64;

/// One block of a message, as the editor builds it. Text blocks are Markdown (bold, italics,
/// links, lists); every text may hold personal fields such as `{{ first_name }}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Heading {
        text: String,
    },
    Text {
        markdown: String,
    },
    Image {
        media_id: i64,
        alt: String,
    },
    Button {
        label: String,
        url: String,
    },
    Product {
        name: String,
        description: String,
        price_cents: Option<Cents>,
        media_id: Option<i64>,
        url: String,
    },
    /// The satisfaction question (NPS): the merchant's question, then eleven links 0 to 10, each
    /// opening a reply to the shop whose subject carries the score and the message's token (read
    /// back by the mailbox reader). A campaign with it goes only to customers who may be asked
    /// (not asked nor answering in 90 days), and records them as asked.
    Survey {
        question: String,
    },
}

impl MessageContent {
    pub fn asks_survey(&self) -> bool {
        self.blocks.iter().any(|b| matches!(b, Block::Survey { .. }))
    }
}

impl CampaignContent {
    pub fn asks_survey(&self) -> bool {
        self.a.asks_survey() || self.b.as_ref().is_some_and(MessageContent::asks_survey)
    }
}

/// A message: its subject, the short line mail apps show after it, and its blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub struct MessageContent {
    pub subject: String,
    pub preheader: String,
    pub blocks: Vec<Block>,
}

/// Message A, and message B when the campaign tests two subjects or two contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub struct CampaignContent {
    pub a: MessageContent,
    pub b: Option<MessageContent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AbMetric {
    Purchases,
    Revenue,
    /// The merchant picks the winner.
    Manual,
}

/// An A/B test: `sample_percent` of the audience gets A or B (half each); after `wait_days`
/// the winner goes to the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AbTest {
    pub sample_percent: u8,
    pub metric: AbMetric,
    pub wait_days: u16,
}

/// Who receives the campaign and how it is measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Audience {
    pub filter: segments::SegmentFilter,
    /// Share of the audience held out (not sent) to measure what the campaign brought.
    pub control_percent: u8,
    pub ab: Option<AbTest>,
    /// Purchases are counted in the N days after sending.
    pub results_days: u16,
}

impl Default for Audience {
    fn default() -> Self {
        Audience { filter: segments::SegmentFilter::default(), control_percent: 10, ab: None, results_days: 14 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    Draft,
    Scheduled,
    Running,
    Paused,
    Finished,
    Cancelled,
}

impl CampaignState {
    pub fn code(self) -> &'static str {
        match self {
            CampaignState::Draft => "draft",
            CampaignState::Scheduled => "scheduled",
            CampaignState::Running => "running",
            CampaignState::Paused => "paused",
            CampaignState::Finished => "finished",
            CampaignState::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        use CampaignState::*;
        [Draft, Scheduled, Running, Paused, Finished, Cancelled].into_iter().find(|c| c.code() == s)
    }
    /// Content and audience can still change.
    pub fn editable(self) -> bool {
        matches!(self, CampaignState::Draft | CampaignState::Scheduled)
    }
}

/// Why a campaign is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    Merchant,
    /// The provider's sending quota is reached: resumes by itself at `resume_at`.
    Quota,
    /// Too many errors in a row (the last one is in `pause_detail`).
    Errors,
    /// The A/B samples are sent; waiting for the winner.
    AbWaiting,
    /// The provider refused the sender or the message itself (sender address, content,
    /// size): nobody was marked failed; the merchant fixes the settings or the message, then
    /// resumes.
    Rejected,
    /// Sending through a real provider waits for a reading of the mailbox of less than 48
    /// hours (bounces and unsubscribes since): resumes by itself after a successful reading.
    Mailbox,
}

impl PauseReason {
    pub fn code(self) -> &'static str {
        match self {
            PauseReason::Merchant => "merchant",
            PauseReason::Quota => "quota",
            PauseReason::Errors => "errors",
            PauseReason::AbWaiting => "ab_waiting",
            PauseReason::Rejected => "rejected",
            PauseReason::Mailbox => "mailbox",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        use PauseReason::*;
        [Merchant, Quota, Errors, AbWaiting, Rejected, Mailbox].into_iter().find(|c| c.code() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    A,
    B,
}

impl Variant {
    pub fn code(self) -> &'static str {
        match self {
            Variant::A => "a",
            Variant::B => "b",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "a" => Some(Variant::A),
            "b" => Some(Variant::B),
            _ => None,
        }
    }
}

/// The outbox of a campaign, counted by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub struct Progress {
    /// Everyone who will receive it (sent, waiting, failed, skipped); the control group apart.
    pub total: i64,
    pub sent: i64,
    /// Queued, being sent, or held for the A/B winner.
    pub waiting: i64,
    pub failed: i64,
    /// Consent withdrawn before their message left.
    pub skipped: i64,
    pub control: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Campaign {
    pub id: CampaignId,
    pub name: String,
    pub state: CampaignState,
    pub content: CampaignContent,
    pub audience: Audience,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The scheduled time passed while the app was closed (or the send could not start then,
    /// `pause_detail` says why): the merchant confirms.
    pub missed: bool,
    pub pause_reason: Option<PauseReason>,
    pub pause_detail: Option<String>,
    pub resume_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub sample_done_at: Option<DateTime<Utc>>,
    pub ab_winner: Option<Variant>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub progress: Progress,
    /// The last test sends (address, when, how it went).
    pub tests: Vec<TestSend>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CampaignSummary {
    pub id: CampaignId,
    pub name: String,
    pub subject: String,
    pub state: CampaignState,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub missed: bool,
    pub pause_reason: Option<PauseReason>,
    /// Why it is paused, or why a scheduled send could not leave.
    pub pause_detail: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub progress: Progress,
    /// Its saved content cannot be read (damaged by hand or by a newer version): it is listed,
    /// so the merchant sees it, and the others work as usual.
    pub unreadable: bool,
}

/// What the editor saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CampaignInput {
    pub name: String,
    pub content: CampaignContent,
    pub audience: Audience,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TestSend {
    pub email: String,
    pub at: DateTime<Utc>,
    /// "sent", "outbox" (written as a file), or the reason it failed.
    pub outcome: String,
}

/// A message rendered for one customer, for the preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Preview {
    pub subject: String,
    pub preheader: String,
    /// The HTML part, images as `data:` URLs; shown in a sandboxed frame.
    pub html: String,
    pub text: String,
    pub customer_id: Option<CustomerId>,
}

/// A default template: a ready message to start from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Template {
    pub key: String,
    pub name: String,
    pub content: MessageContent,
}

/// What pasting a list of unsubscribes did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub struct UnsubscribeReport {
    /// Customers whose consent is now withdrawn.
    pub recorded: i64,
    /// Already withdrawn before.
    pub already: i64,
    /// Addresses no customer carries, put on the suppression list all the same (they are never
    /// mailed if they come in later).
    pub addresses: i64,
    /// Lines that held no address and no known message token.
    pub unknown: Vec<String>,
}

/// An image stored for messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Media {
    pub id: i64,
    pub name: String,
    pub mime: String,
    pub size: i64,
    /// `data:` URL for the editor's thumbnail.
    pub data_url: String,
}

/// The sending settings as the screen shows them. The password itself never comes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MailSettingsView {
    pub settings: mail::MailSettings,
    pub presets: Vec<mail::PresetInfo>,
    /// Where the stored password is, if there is one for this account.
    pub password: Option<secrets::SecretPlace>,
    /// The folder where `.eml` files go when no SMTP provider is used.
    pub outbox_dir: String,
}

/// A preview: the rendered subject and text, and the address of the HTML page served to a
/// sandboxed frame (`comptoir-preview:`), which has its own strict content policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PreviewView {
    pub subject: String,
    pub preheader: String,
    pub text: String,
    pub url: String,
}
