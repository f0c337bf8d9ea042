// Email campaigns: sending settings and connection test, segments and their live count,
// campaigns (edit, preview, test, schedule, send, pause, results), unsubscribes, message images.
import type { AudienceCount } from '../generated/AudienceCount';
import type { Campaign } from '../generated/Campaign';
import type { CampaignInput } from '../generated/CampaignInput';
import type { CampaignResults } from '../generated/CampaignResults';
import type { CampaignSummary } from '../generated/CampaignSummary';
import type { ConnectionCheck } from '../generated/ConnectionCheck';
import type { ErrorPayload } from '../generated/ErrorPayload';
import type { Lang } from '../generated/Lang';
import type { MailSettings } from '../generated/MailSettings';
import type { MailSettingsView } from '../generated/MailSettingsView';
import type { Media } from '../generated/Media';
import type { MessageContent } from '../generated/MessageContent';
import type { Outcome } from '../generated/Outcome';
import type { PreviewView } from '../generated/PreviewView';
import type { Segment } from '../generated/Segment';
import type { SegmentFilter } from '../generated/SegmentFilter';
import type { Template } from '../generated/Template';
import type { TestSend } from '../generated/TestSend';
import type { UnsubscribeReport } from '../generated/UnsubscribeReport';
import type { Variant } from '../generated/Variant';
import { call } from './core';

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
/** Why campaigns cannot be sent now (the sending lock, the database), if they cannot. */
export const senderStatus = () => call<ErrorPayload | null>('sender_status');
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
