//! TypeScript types for the interface, generated from the Rust types (ts-rs). The committed
//! files in `ui/src/lib/generated/` must match: a test fails when they drift. To regenerate:
//! `COMPTOIR_WRITE_BINDINGS=1 cargo test -p comptoir-core bindings`.

use std::path::Path;
use ts_rs::{ExportError, TS};

/// Write every type the interface uses (and what they depend on) into `dir`.
pub fn export_all(dir: &Path) -> Result<(), ExportError> {
    use crate::customers::*;
    use crate::purchases::*;
    use crate::search::*;
    use crate::settings::*;
    use crate::*;
    Outcome::<i64>::export_all_to(dir)?;
    ErrorPayload::export_all_to(dir)?;
    NewCustomer::export_all_to(dir)?;
    Customer::export_all_to(dir)?;
    CustomerSummary::export_all_to(dir)?;
    DuplicateMatch::export_all_to(dir)?;
    TimelineEntry::export_all_to(dir)?;
    SaleInput::export_all_to(dir)?;
    RefundInput::export_all_to(dir)?;
    Purchase::export_all_to(dir)?;
    TillMatch::export_all_to(dir)?;
    ListRequest::export_all_to(dir)?;
    ListPage::export_all_to(dir)?;
    Settings::export_all_to(dir)?;
    SettingsInput::export_all_to(dir)?;
    stats::ShopStats::export_all_to(dir)?;
    stats::AppInfo::export_all_to(dir)?;
    crate::storage::UpgradeStatus::export_all_to(dir)?;
    demo::DemoSummary::export_all_to(dir)?;
    loyalty::Programme::export_all_to(dir)?;
    loyalty::LoyaltyStatus::export_all_to(dir)?;
    loyalty::PointsEntry::export_all_to(dir)?;
    loyalty::Earning::export_all_to(dir)?;
    loyalty::RedeemRequest::export_all_to(dir)?;
    loyalty::Redemption::export_all_to(dir)?;
    loyalty::RewardInput::export_all_to(dir)?;
    loyalty::VoucherInput::export_all_to(dir)?;
    loyalty::Liability::export_all_to(dir)?;
    loyalty::ExpiringForCustomer::export_all_to(dir)?;
    loyalty::SuspiciousDay::export_all_to(dir)?;
    loyalty::SuspiciousPeriod::export_all_to(dir)?;
    cards::Card::export_all_to(dir)?;
    cards::PrintableCard::export_all_to(dir)?;
    campaigns::Campaign::export_all_to(dir)?;
    campaigns::CampaignSummary::export_all_to(dir)?;
    campaigns::CampaignInput::export_all_to(dir)?;
    campaigns::Preview::export_all_to(dir)?;
    campaigns::PreviewView::export_all_to(dir)?;
    campaigns::Template::export_all_to(dir)?;
    campaigns::UnsubscribeReport::export_all_to(dir)?;
    campaigns::Media::export_all_to(dir)?;
    campaigns::MailSettingsView::export_all_to(dir)?;
    campaigns::segments::AudienceCount::export_all_to(dir)?;
    campaigns::segments::Segment::export_all_to(dir)?;
    campaigns::smtp::ConnectionCheck::export_all_to(dir)?;
    campaigns::results::CampaignResults::export_all_to(dir)?;
    analytics::dashboard::Dashboard::export_all_to(dir)?;
    analytics::dashboard::DashboardRequest::export_all_to(dir)?;
    analytics::insight::CustomerInsight::export_all_to(dir)?;
    analytics::lists::NumbersListRequest::export_all_to(dir)?;
    analytics::lists::NumbersListPage::export_all_to(dir)?;
    analytics::settings::AnalyticsSettings::export_all_to(dir)?;
    nps::NpsInput::export_all_to(dir)?;
    nps::NpsSummary::export_all_to(dir)?;
    nps::NpsComments::export_all_to(dir)?;
    nps::CustomerNps::export_all_to(dir)?;
    campaigns::suppression::SuppressionPage::export_all_to(dir)?;
    automations::Automation::export_all_to(dir)?;
    automations::AutomationInput::export_all_to(dir)?;
    automations::AutomationSettings::export_all_to(dir)?;
    automations::Qualifying::export_all_to(dir)?;
    automations::EnableMode::export_all_to(dir)?;
    automations::JournalEntry::export_all_to(dir)?;
    automations::PreviewEntry::export_all_to(dir)?;
    automations::CatchUp::export_all_to(dir)?;
    automations::AutomationResults::export_all_to(dir)?;
    referrals::OfferVersion::export_all_to(dir)?;
    referrals::OfferCheck::export_all_to(dir)?;
    referrals::ReferrerLink::export_all_to(dir)?;
    referrals::ReferrerLookup::export_all_to(dir)?;
    referrals::CustomerReferrals::export_all_to(dir)?;
    referrals::Overview::export_all_to(dir)?;
    referrals::ReferralView::export_all_to(dir)?;
    referrals::Ambassador::export_all_to(dir)?;
    referrals::ReferralTree::export_all_to(dir)?;
    referrals::ReferralCard::export_all_to(dir)?;
    referrals::Reglement::export_all_to(dir)?;
    referrals::Notice::export_all_to(dir)?;
    referrals::ProcessReport::export_all_to(dir)?;
    referrals::Decision::export_all_to(dir)?;
    mailbox::settings::MailboxSettingsView::export_all_to(dir)?;
    mailbox::run::RunReport::export_all_to(dir)?;
    mailbox::views::MailboxStatus::export_all_to(dir)?;
    mailbox::views::MailboxEntry::export_all_to(dir)?;
    mailbox::views::StopRequest::export_all_to(dir)?;
    mailbox::views::TestReadback::export_all_to(dir)?;
    campaigns::deliverability::domain::DomainReport::export_all_to(dir)?;
    campaigns::deliverability::content::ContentReport::export_all_to(dir)?;
    data::OpenedFile::export_all_to(dir)?;
    data::ReadOptions::export_all_to(dir)?;
    data::ImportOptions::export_all_to(dir)?;
    data::ImportReport::export_all_to(dir)?;
    data::ImportRecord::export_all_to(dir)?;
    data::UndoReport::export_all_to(dir)?;
    data::Progress::export_all_to(dir)?;
    data::export::ExportFormat::export_all_to(dir)?;
    data::export::ExportScope::export_all_to(dir)?;
    data::restore::BackupStatus::export_all_to(dir)?;
    data::restore::BackupSettings::export_all_to(dir)?;
    data::restore::RestoreReport::export_all_to(dir)?;
    data::backup::BackupProblem::export_all_to(dir)?;
    data::retention::RetentionCandidate::export_all_to(dir)?;
    numbers_not_bigints(dir)
}

/// ts-rs writes Rust `i64` as `bigint`, but serde_json sends it as a JSON number and every
/// i64 the interface sees (ids, cents, counts) stays far below 2^53: say `number`.
fn numbers_not_bigints(dir: &Path) -> Result<(), ExportError> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path)?;
        if text.contains("bigint") {
            std::fs::write(&path, text.replace("bigint", "number"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn read_dir(dir: &Path) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries {
                let p = e.unwrap().path();
                if p.extension().and_then(|x| x.to_str()) == Some("ts") {
                    out.insert(
                        p.file_name().unwrap().to_string_lossy().into_owned(),
                        std::fs::read_to_string(&p).unwrap(),
                    );
                }
            }
        }
        out
    }

    #[test]
    fn committed_typescript_matches_the_rust_types() {
        let committed_dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/generated");
        let tmp = tempfile::tempdir().unwrap();
        super::export_all(tmp.path()).unwrap();
        let fresh = read_dir(tmp.path());
        if std::env::var_os("COMPTOIR_WRITE_BINDINGS").is_some() {
            let _ = std::fs::remove_dir_all(&committed_dir);
            std::fs::create_dir_all(&committed_dir).unwrap();
            for (name, body) in &fresh {
                std::fs::write(committed_dir.join(name), body).unwrap();
            }
            return;
        }
        let committed = read_dir(&committed_dir);
        let stale: Vec<_> = committed.keys().filter(|k| !fresh.contains_key(*k)).collect();
        let drifted: Vec<_> = fresh.iter().filter(|(k, v)| committed.get(*k) != Some(v)).map(|(k, _)| k).collect();
        assert!(
            stale.is_empty() && drifted.is_empty(),
            "ui/src/lib/generated drifted from the Rust types (stale: {stale:?}, changed or missing: {drifted:?}); \
             run `COMPTOIR_WRITE_BINDINGS=1 cargo test -p comptoir-core bindings` and commit the result"
        );
    }
}
