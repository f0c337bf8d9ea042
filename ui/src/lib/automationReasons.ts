// Why an automatic message was not sent (or was postponed, expired, held out), in words: one
// helper for the automations screens (journal, next 7 days) and the customer timeline, so a
// reason reads the same everywhere. The core gives a code; a code without words yet is shown
// as a generic sentence, never raw.
import { t } from '$lib/i18n';

/** The reason codes the core gives that have words of their own. */
export const AUTOMATION_REASONS = [
  'automation_off', 'closed', 'postponed_until_expired', 'no_decision', 'window_passed', 'pressure', 'merchant_send',
  'merchant_ignored', 'came_back', 'points_used', 'refunded', 'tier_lost', 'requalified', 'birthday_changed',
  'customer_archived', 'control', 'merged', 'send_failed', 'once_per_period', 'consent', 'duplicate_address',
  // The consent checks made just before sending (the segments' exclusions).
  'no_email', 'no_consent', 'refused', 'unsubscribed', 'not_a_customer', 'implied_expired', 'bounced', 'complained',
  'suppressed',
] as const;

/** The words of a reason; null when there is none. */
export function automationReason(reason: string | null | undefined): string | null {
  if (!reason) return null;
  return (AUTOMATION_REASONS as readonly string[]).includes(reason)
    ? t(`ui.automation_reason.${reason}`)
    : t('ui.automation_reason_other');
}
