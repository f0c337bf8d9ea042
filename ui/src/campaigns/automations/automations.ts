// Pure helpers of the automatic messages' screens: sending hours as "HH:MM", the words of a
// state and of a reason, what each automation's card says about its settings, and the
// occasion a journal line is about. No IPC here.
import type { AutomationConfig } from '$lib/generated/AutomationConfig';
import type { AutomationKind } from '$lib/generated/AutomationKind';
import type { OccasionCounts } from '$lib/generated/OccasionCounts';
import type { OccasionState } from '$lib/generated/OccasionState';
import { t } from '$lib/i18n';

/** 540 → "09:00". */
export function minutesToTime(m: number): string {
  const h = Math.floor(m / 60);
  return `${String(h).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** "09:00" or "9:00" → 540; "24:00" → 1440 (the end of the day); anything else → null. */
export function timeToMinutes(s: string): number | null {
  const m = /^\s*(\d{1,2}):(\d{2})\s*$/.exec(s);
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min > 0)) return null;
  return h * 60 + min;
}

export function stateText(state: OccasionState): string {
  return t(`ui.automations.state.${state}`);
}

/** Messages that left, waiting, and not sent, for an automation's card. */
export function countsLine(c: OccasionCounts): { sent: number; waiting: number; notSent: number } {
  return {
    sent: c.sent,
    waiting: c.pending + c.postponed + c.awaiting + c.queued,
    notSent: c.skipped + c.expired + c.failed,
  };
}

/** One sentence on when the automation sends, from its settings. */
export function whenText(kind: AutomationKind, c: AutomationConfig): string {
  switch (kind) {
    case 'welcome':
      return t(c.welcome_on === 'sign_up' ? 'ui.automations.when.welcome_signup' : 'ui.automations.when.welcome_purchase', {
        hours: c.welcome_delay_hours,
      });
    case 'birthday':
      return c.birthday_voucher
        ? t('ui.automations.when.birthday_voucher', { days: c.birthday_days_before })
        : t('ui.automations.when.birthday', { days: c.birthday_days_before });
    case 'winback':
      return c.winback_rhythm
        ? t('ui.automations.when.winback_rhythm', { days: c.winback_days })
        : t('ui.automations.when.winback', { days: c.winback_days });
    case 'expiry':
      return t('ui.automations.when.expiry', {
        days: c.expiry_reminders.join(', '),
        points: c.expiry_min_points,
      });
    case 'tier':
      return t('ui.automations.when.tier', { hours: c.tier_delay_hours });
    case 'thanks':
      return t('ui.automations.when.thanks', { days: c.thanks_days, period: c.thanks_period_days });
  }
}

/** "birthday:2027" → "2027"; "expiry:2027-01-31:30" → "2027-01-31 (30)"; "welcome" → "". */
export function occasionLabel(key: string): string {
  const parts = key.split(':').slice(1);
  if (parts.length === 0) return '';
  if (parts.length === 2 && /^\d+$/.test(parts[1])) return `${parts[0]} (${parts[1]})`;
  return parts.join(' · ');
}

/** "30, 7" → [30, 7] (whole days 1–90, at most 3, largest first); null when it cannot be read. */
export function parseReminders(s: string): number[] | null {
  const parts = s
    .split(/[,;\s]+/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0 || parts.length > 3) return null;
  const days = parts.map(Number);
  if (days.some((d) => !Number.isInteger(d) || d < 1 || d > 90)) return null;
  return [...new Set(days)].sort((a, b) => b - a);
}
