//! Automatic messages: welcome, birthday, win-back, points expiring, tier reached (and the
//! notice before a tier is lost), thank-you after a purchase — on a computer that is closed at
//! night and on holiday.
//!
//! - `calendar`: the shop's local time, quiet hours, French and Québec public holidays (pure).
//! - `rules`: when each occasion is due and until when it is valid, the pressure limits and
//!   the priority order, the held-out share (pure, table-tested).
//! - `detect`: the occasions the shop's data holds now, as set-based reads (no write).
//! - `checker`: the tick — makes the occasions, expires, postpones, asks the merchant after a
//!   long closure, and queues messages in the campaign outbox; `precheck` is what the sender
//!   asks just before an automatic message leaves.
//! - `occasions`: the automations as stored, the last check's time, and the one way an
//!   occasion changes state (with its journal line).
//! - `values`: what a message carries beyond the customer's own (points expiring, the tier, the
//!   birthday voucher given when it leaves).
//! - `store`: the automations, their settings and messages, turning on and off, the journal,
//!   the 7-day preview, the decision after a closure, the test send and the results.
//!
//! Invariants: an occasion is identified by (automation, customer, occasion key), unique in
//! the database, so checking again, a crash or two copies of the app never make it twice; an
//! outbox row belongs to one occasion and the outbox holds one message per address per
//! occasion; every change of an occasion's state is written in the append-only journal with
//! its reason; a late occasion inside its window is sent once, outside it is recorded as
//! expired; messages leave only through the campaign outbox and its single sender, which asks
//! `precheck` (consent, suppression and the occasion's own conditions) just before each one.
//!
//! Adding a kind (for example referrals' "thank you for referring"): a variant of
//! `AutomationKind` (code, priority, default message), its window in `rules::window`, its
//! detection in `detect`, its last check in `last_check::still_due`, and the kind in the CHECK of
//! `automations.kind` (a new migration step).

pub mod calendar;
pub mod checker;
pub mod detect;
pub(crate) mod last_check;
pub(crate) mod occasions;
pub mod rules;
pub mod store;
pub(crate) mod values;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_loyalty;
#[cfg(test)]
mod tests_people;
#[cfg(test)]
mod tests_sim;

use crate::campaigns::MessageContent;
use crate::loyalty::VoucherKind;
use crate::types::CustomerId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub type AutomationId = i64;

/// The automations the shop can turn on, in their priority order when several messages are
/// due for one customer (welcome first: a new customer has nothing else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AutomationKind {
    Welcome,
    Expiry,
    Birthday,
    Tier,
    Winback,
    Thanks,
}

impl AutomationKind {
    pub const ALL: [AutomationKind; 6] = [
        AutomationKind::Welcome,
        AutomationKind::Birthday,
        AutomationKind::Winback,
        AutomationKind::Expiry,
        AutomationKind::Tier,
        AutomationKind::Thanks,
    ];
    pub fn code(self) -> &'static str {
        match self {
            AutomationKind::Welcome => "welcome",
            AutomationKind::Birthday => "birthday",
            AutomationKind::Winback => "winback",
            AutomationKind::Expiry => "expiry",
            AutomationKind::Tier => "tier",
            AutomationKind::Thanks => "thanks",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }
    /// Lower is sent first when the pressure limits allow only one message.
    pub fn priority(self) -> u8 {
        self as u8
    }
}

/// Which day a 29 February birthday is celebrated in other years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "snake_case")]
pub enum Feb29 {
    #[default]
    Feb28,
    Mar1,
}

/// What starts the welcome message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "snake_case")]
pub enum WelcomeOn {
    #[default]
    FirstPurchase,
    SignUp,
}

/// The voucher given with the birthday message, attached to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BirthdayVoucher {
    pub kind: VoucherKind,
    /// Cents, or whole percent.
    pub value: i64,
    /// Valid until this many days after the birthday.
    pub days_after: u16,
}

/// The settings of one automation; each kind reads its own fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct AutomationConfig {
    /// Welcome: on the first purchase or at sign-up, after this many hours.
    pub welcome_on: WelcomeOn,
    pub welcome_delay_hours: u16,
    /// Birthday: sent this many days before (0–7).
    pub birthday_days_before: u16,
    pub feb29: Feb29,
    pub birthday_voucher: Option<BirthdayVoucher>,
    /// Win-back: after this many days without a visit…
    pub winback_days: u16,
    /// …or earlier when the customer is late on their own rhythm: the time since the last
    /// visit passes `winback_rhythm_percent` % of their usual gap between visits.
    pub winback_rhythm: bool,
    pub winback_rhythm_percent: u16,
    /// A second attempt this many days after the first, if still absent (`None`: one only).
    pub winback_second_days: Option<u16>,
    /// Points expiring: one message per expiry date, this many days before (each).
    pub expiry_reminders: Vec<u16>,
    /// …only when at least this many points expire that day.
    pub expiry_min_points: i64,
    /// Tier reached: sent this many hours after the upgrade (a refund and a new purchase the
    /// same day do not send twice).
    pub tier_delay_hours: u16,
    /// A notice this many days before a tier is lost (`None`: no notice).
    pub tier_loss_days: Option<u16>,
    /// Thank-you: this many days after a purchase, at most once per customer per period.
    pub thanks_days: u16,
    pub thanks_period_days: u16,
    /// Share of the occasions held out (not sent) to measure what the automation brings.
    pub holdout_percent: u8,
    /// Purchases are counted in the N days after each message.
    pub results_days: u16,
}

impl Default for AutomationConfig {
    fn default() -> Self {
        AutomationConfig {
            welcome_on: WelcomeOn::FirstPurchase,
            welcome_delay_hours: 2,
            birthday_days_before: 3,
            feb29: Feb29::Feb28,
            birthday_voucher: None,
            winback_days: 60,
            winback_rhythm: true,
            winback_rhythm_percent: 200,
            winback_second_days: Some(30),
            expiry_reminders: vec![30, 7],
            expiry_min_points: 50,
            tier_delay_hours: 24,
            tier_loss_days: None,
            thanks_days: 2,
            thanks_period_days: 30,
            holdout_percent: 0,
            results_days: 14,
        }
    }
}

/// The rules every automation shares: the shop's time zone, quiet hours, the pressure limits
/// and when a closure is long enough to ask the merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct AutomationSettings {
    /// IANA name, e.g. `Europe/Paris`, `America/Toronto`.
    pub time_zone: String,
    /// Messages leave between these minutes of the local day (9:00 → 540, 19:30 → 1170).
    pub send_from_minute: u16,
    pub send_until_minute: u16,
    pub quiet_sundays: bool,
    pub quiet_holidays: bool,
    /// At most one automatic message per customer every N days…
    pub min_days_between: u16,
    /// …and at most this many over 30 days.
    pub max_per_month: u16,
    /// Closed for longer than this: the occasions missed meanwhile wait for the merchant.
    pub catch_up_after_hours: u16,
}

impl Default for AutomationSettings {
    fn default() -> Self {
        AutomationSettings {
            time_zone: calendar::system_time_zone(),
            send_from_minute: 9 * 60,
            send_until_minute: 19 * 60 + 30,
            quiet_sundays: false,
            quiet_holidays: false,
            min_days_between: 3,
            max_per_month: 4,
            catch_up_after_hours: 48,
        }
    }
}

/// Where an occasion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum OccasionState {
    /// Known, not due yet (or due and waiting for quiet hours to end).
    Pending,
    /// Due, held back by the pressure limits while a more important message goes first.
    Postponed,
    /// Missed while the app was closed for long: the merchant decides.
    Awaiting,
    /// In the outbox.
    Queued,
    Sent,
    Failed,
    /// Not sent, with the reason (consent, came back, points used, refunded…).
    Skipped,
    /// Its window passed before it could be sent.
    Expired,
    /// In the held-out share: not sent, counted to measure what the automation brings.
    HeldOut,
}

impl OccasionState {
    pub const ALL: [OccasionState; 9] = [
        OccasionState::Pending,
        OccasionState::Postponed,
        OccasionState::Awaiting,
        OccasionState::Queued,
        OccasionState::Sent,
        OccasionState::Failed,
        OccasionState::Skipped,
        OccasionState::Expired,
        OccasionState::HeldOut,
    ];
    pub fn code(self) -> &'static str {
        match self {
            OccasionState::Pending => "pending",
            OccasionState::Postponed => "postponed",
            OccasionState::Awaiting => "awaiting",
            OccasionState::Queued => "queued",
            OccasionState::Sent => "sent",
            OccasionState::Failed => "failed",
            OccasionState::Skipped => "skipped",
            OccasionState::Expired => "expired",
            OccasionState::HeldOut => "held_out",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// One automation as its screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Automation {
    pub id: AutomationId,
    pub kind: AutomationKind,
    pub enabled: bool,
    pub config: AutomationConfig,
    /// The message in French, and in English for customers who read English.
    pub message_fr: MessageContent,
    pub message_en: Option<MessageContent>,
    pub enabled_at: Option<DateTime<Utc>>,
    pub backlog_until: Option<DateTime<Utc>>,
    /// Its outbox: sending paused (quota, errors) is shown with the reason.
    pub campaign_id: i64,
    pub sending_paused: Option<String>,
    pub counts: OccasionCounts,
}

/// Occasions of an automation by state (all time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
pub struct OccasionCounts {
    pub pending: i64,
    pub postponed: i64,
    pub awaiting: i64,
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    pub expired: i64,
    pub held_out: i64,
}

/// What the editor saves for one automation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AutomationInput {
    pub config: AutomationConfig,
    pub message_fr: MessageContent,
    pub message_en: Option<MessageContent>,
}

/// How an automation is turned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum EnableMode {
    /// Only occasions that become due from now on.
    NewOnly,
    /// Also the customers who qualify today, spread over `days` days.
    Backlog { days: u16 },
}

/// What turning an automation on would do today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Qualifying {
    /// Customers who qualify today (the backlog).
    pub today: i64,
    /// Of them, those who may receive marketing.
    pub reachable: i64,
    /// Days needed to send the backlog within the provider's daily limit (half of it).
    pub suggested_days: u16,
}

/// One line of an automation's journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct JournalEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub occasion_id: i64,
    pub occasion_key: String,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub state: OccasionState,
    pub reason: Option<String>,
}

/// One message expected in the next days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PreviewEntry {
    pub kind: AutomationKind,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub occasion_key: String,
    /// When it becomes due (it leaves at the next sending hour from then).
    pub due_at: DateTime<Utc>,
    pub state: OccasionState,
    pub reason: Option<String>,
}

/// Occasions missed while the app was closed, waiting for the merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CatchUp {
    pub automation_id: AutomationId,
    pub kind: AutomationKind,
    pub count: i64,
    /// The first of them stops being valid then.
    pub first_expires_at: DateTime<Utc>,
}

/// What an automation brought: the customers sent a message against the held-out ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AutomationResults {
    pub window_days: u16,
    pub recipients: crate::campaigns::results::GroupFigures,
    pub held_out: Option<crate::campaigns::results::GroupFigures>,
    pub uplift: Option<crate::campaigns::results::Uplift>,
}

/// What a tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TickReport {
    pub created: usize,
    pub queued: usize,
    pub held_out: usize,
    pub postponed: usize,
    pub skipped: usize,
    pub expired: usize,
    pub awaiting: usize,
    /// Outside the sending hours: nothing was queued.
    pub quiet: bool,
    /// The check stopped at `MAX_DECIDED_PER_CHECK`: more occasions are due, check again soon.
    pub more: bool,
}
