import type { ConsentInput } from '../generated/ConsentInput';
import type { Customer } from '../generated/Customer';
import type { CustomerInput } from '../generated/CustomerInput';
import type { CustomerSummary } from '../generated/CustomerSummary';
import type { DemoSummary } from '../generated/DemoSummary';
import type { DuplicateMatch } from '../generated/DuplicateMatch';
import type { ListPage } from '../generated/ListPage';
import type { ListRequest } from '../generated/ListRequest';
import type { NewCustomer } from '../generated/NewCustomer';
import type { Outcome } from '../generated/Outcome';
import type { Purchase } from '../generated/Purchase';
import type { RefundInput } from '../generated/RefundInput';
import type { SaleInput } from '../generated/SaleInput';
import type { Settings } from '../generated/Settings';
import type { AppInfo } from '../generated/AppInfo';
import type { SettingsInput } from '../generated/SettingsInput';
import type { ShopStats } from '../generated/ShopStats';
import type { TillMatch } from '../generated/TillMatch';
import type { TimelineEntry } from '../generated/TimelineEntry';
import type { Card } from '../generated/Card';
import type { Earning } from '../generated/Earning';
import type { ExpiringForCustomer } from '../generated/ExpiringForCustomer';
import type { Liability } from '../generated/Liability';
import type { LoyaltyStatus } from '../generated/LoyaltyStatus';
import type { PointsEntry } from '../generated/PointsEntry';
import type { Programme } from '../generated/Programme';
import type { RedeemRequest } from '../generated/RedeemRequest';
import type { Redemption } from '../generated/Redemption';
import type { SuspiciousDay } from '../generated/SuspiciousDay';
import { call } from './core';

export type { AppInfo };

export const appInfo = () => call<AppInfo>('app_info');

export const settingsGet = () => call<Settings>('settings_get');
export const settingsUpdate = (input: SettingsInput, key: string) =>
  call<Outcome<Settings>>('settings_update', { input, key });

export const demoLoad = () => call<Outcome<DemoSummary>>('demo_load');
export const onboardingSkip = () => call<null>('onboarding_skip');

export const statsGet = () => call<ShopStats>('stats_get');

export const customersList = (req: ListRequest) => call<ListPage>('customers_list', { req });
export const customersSearch = (query: string, limit: number) =>
  call<CustomerSummary[]>('customers_search', { query, limit });
export const customerGet = (id: number) => call<Customer>('customer_get', { id });
export const customerCreate = (input: NewCustomer, key: string) =>
  call<Outcome<number>>('customer_create', { input, key });
export const customerUpdate = (id: number, input: CustomerInput, key: string) =>
  call<Outcome<null>>('customer_update', { id, input, key });
export const customerArchive = (id: number, key: string) => call<Outcome<null>>('customer_archive', { id, key });
export const customerRestore = (id: number, key: string) => call<Outcome<null>>('customer_restore', { id, key });
export const customerDuplicates = (input: CustomerInput, exclude: number | null) =>
  call<DuplicateMatch[]>('customer_duplicates', { input, exclude });
export const customerMerge = (keep: number, other: number, key: string) =>
  call<Outcome<null>>('customer_merge', { keep, other, key });
export const customerTimeline = (id: number, limit: number) =>
  call<TimelineEntry[]>('customer_timeline', { id, limit });
export const customerAddNote = (id: number, body: string, key: string) =>
  call<Outcome<number>>('customer_add_note', { id, body, key });
export const customerSetConsent = (id: number, consent: ConsentInput, key: string) =>
  call<Outcome<null>>('customer_set_consent', { id, consent, key });

export const saleRecord = (input: SaleInput, key: string) => call<Outcome<Purchase>>('sale_record', { input, key });
export const saleRefund = (input: RefundInput, key: string) => call<Outcome<Purchase>>('sale_refund', { input, key });

export const tillLookup = (query: string) => call<TillMatch | null>('till_lookup', { query });

export const loyaltyProgrammeGet = () => call<Programme>('loyalty_programme_get');
export const loyaltyProgrammeSave = (programme: Programme, key: string) =>
  call<Outcome<Programme>>('loyalty_programme_save', { programme, key });
export const loyaltyStatus = (customer: number) => call<LoyaltyStatus>('loyalty_status', { customer });
export const loyaltyLedger = (customer: number, limit: number) => call<PointsEntry[]>('loyalty_ledger', { customer, limit });
export const loyaltySaleEarning = (purchase: number) => call<Earning | null>('loyalty_sale_earning', { purchase });
export const loyaltyAdjust = (customer: number, points: number, reason: string, staff: string, key: string) =>
  call<Outcome<number>>('loyalty_adjust', { customer, points, reason, staff, key });
export const loyaltyRedeem = (req: RedeemRequest, key: string) => call<Outcome<Redemption>>('loyalty_redeem', { req, key });
export const loyaltyLiability = () => call<Liability>('loyalty_liability');
export const loyaltyExpiring = () => call<ExpiringForCustomer[]>('loyalty_expiring');
export const loyaltySuspicious = (day: string) => call<SuspiciousDay[]>('loyalty_suspicious', { day });
export const cardsList = (customer: number) => call<Card[]>('cards_list', { customer });
export const cardReplace = (customer: number, key: string) => call<Outcome<string>>('card_replace', { customer, key });

import type { Reward } from '../generated/Reward';
import type { RewardInput } from '../generated/RewardInput';

export const rewardsList = (all: boolean) => call<Reward[]>('rewards_list', { all });
export const rewardSave = (id: number | null, input: RewardInput, key: string) =>
  call<Outcome<Reward>>('reward_save', { id, input, key });

// --- Email campaigns ---------------------------------------------------------------------------

import type { AudienceCount } from '../generated/AudienceCount';
import type { Campaign } from '../generated/Campaign';
import type { CampaignInput } from '../generated/CampaignInput';
import type { CampaignResults } from '../generated/CampaignResults';
import type { CampaignSummary } from '../generated/CampaignSummary';
import type { ConnectionCheck } from '../generated/ConnectionCheck';
import type { Lang } from '../generated/Lang';
import type { MailSettings } from '../generated/MailSettings';
import type { MailSettingsView } from '../generated/MailSettingsView';
import type { Media } from '../generated/Media';
import type { MessageContent } from '../generated/MessageContent';
import type { PreviewView } from '../generated/PreviewView';
import type { Segment } from '../generated/Segment';
import type { SegmentFilter } from '../generated/SegmentFilter';
import type { Template } from '../generated/Template';
import type { TestSend } from '../generated/TestSend';
import type { UnsubscribeReport } from '../generated/UnsubscribeReport';
import type { Variant } from '../generated/Variant';

export const mailSettingsGet = () => call<MailSettingsView>('mail_settings_get');
/** `password` only when the merchant typed one: it goes to the keychain and never comes back. */
export const mailSettingsSave = (input: MailSettings, password: string | null, key: string) =>
  call<MailSettingsView>('mail_settings_save', { input, password, key });
export const mailTestConnection = (input: MailSettings, password: string | null) =>
  call<ConnectionCheck>('mail_test_connection', { input, password });

export const segmentCount = (filter: SegmentFilter) => call<AudienceCount>('segment_count', { filter });
export const segmentsList = () => call<Segment[]>('segments_list');
export const segmentSave = (id: number | null, name: string, filter: SegmentFilter, key: string) =>
  call<Outcome<Segment>>('segment_save', { id, name, filter, key });
export const segmentArchive = (id: number, key: string) => call<Outcome<null>>('segment_archive', { id, key });

export const campaignTemplates = (lang: Lang) => call<Template[]>('campaign_templates', { lang });
export const campaignsList = () => call<CampaignSummary[]>('campaigns_list');
export const campaignGet = (id: number) => call<Campaign>('campaign_get', { id });
export const campaignCreate = (input: CampaignInput, key: string) =>
  call<Outcome<Campaign>>('campaign_create', { input, key });
export const campaignUpdate = (id: number, input: CampaignInput, key: string) =>
  call<Outcome<Campaign>>('campaign_update', { id, input, key });
export const campaignPreview = (content: MessageContent, customerId: number | null) =>
  call<PreviewView>('campaign_preview', { content, customerId });
export const campaignTestSend = (id: number, variant: Variant, email: string, customerId: number | null) =>
  call<TestSend>('campaign_test_send', { id, variant, email, customerId });
/** `at`: a UTC ISO time in the future. */
export const campaignSchedule = (id: number, at: string, key: string) =>
  call<Outcome<Campaign>>('campaign_schedule', { id, at, key });
export const campaignUnschedule = (id: number, key: string) => call<Outcome<Campaign>>('campaign_unschedule', { id, key });
export const campaignStart = (id: number, key: string) => call<Outcome<Campaign>>('campaign_start', { id, key });
export const campaignPause = (id: number, key: string) => call<Outcome<Campaign>>('campaign_pause', { id, key });
export const campaignResume = (id: number, key: string) => call<Outcome<Campaign>>('campaign_resume', { id, key });
export const campaignCancel = (id: number, key: string) => call<Outcome<Campaign>>('campaign_cancel', { id, key });
export const campaignChooseWinner = (id: number, variant: Variant, key: string) =>
  call<Outcome<Campaign>>('campaign_choose_winner', { id, variant, key });
export const campaignResults = (id: number) => call<CampaignResults>('campaign_results', { id });

export const unsubscribesApply = (text: string, key: string) =>
  call<Outcome<UnsubscribeReport>>('unsubscribes_apply', { text, key });

/** `dataUrl`: the picture as `data:image/png;base64,…` (PNG, JPEG or GIF). */
export const mediaAdd = (name: string, dataUrl: string, key: string) =>
  call<Outcome<Media>>('media_add', { name, dataUrl, key });
export const mediaGet = (id: number) => call<Media>('media_get', { id });
