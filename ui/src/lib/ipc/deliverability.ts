// Before sending: the sender domain check (SPF, DKIM, DMARC of the From address, the free-mail
// rule, provider notes) and the content check of a message being written.
import type { CampaignContent } from '../generated/CampaignContent';
import type { ContentReport } from '../generated/ContentReport';
import type { DomainReport } from '../generated/DomainReport';
import type { MailSettings } from '../generated/MailSettings';
import { call } from './core';

/** The settings on screen (saved or not); `selector`: a DKIM selector the merchant typed. */
export const mailDomainCheck = (input: MailSettings, selector: string | null) =>
  call<DomainReport>('mail_domain_check', { input, selector });
/** The versions on screen, rendered as the sender renders them. */
export const campaignContentCheck = (content: CampaignContent) =>
  call<ContentReport>('campaign_content_check', { content });
