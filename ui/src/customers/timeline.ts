// The words of the customer timeline's loyalty and automation entries: stamps, milestone
// claims and their return on a full refund, vouchers (and gifts) issued, used and given back, tiers reached and
// lost, automatic messages (sent, skipped, expired, held out, with the reason). Pure, so the
// wording is tested without a window; every string comes from the catalogues.
import type { TimelineEntry } from '$lib/generated/TimelineEntry';
import { formatCount, formatVoucherValue } from '$lib/format';
import { t } from '$lib/i18n';

type Of<K extends TimelineEntry['type']> = Extract<TimelineEntry, { type: K }>;

/** Kinds of stamps entries with words of their own; any other says "corrected". */
const STAMP_KINDS = ['earn', 'reverse', 'redeem', 'adjust', 'returned'] as const;

export const AUTOMATION_KINDS = ['welcome', 'birthday', 'winback', 'expiry', 'tier', 'thanks'] as const;
export const AUTOMATION_STATES = ['sent', 'failed', 'skipped', 'expired', 'held_out'] as const;

export function stampsLine(e: Of<'stamps'>): string {
  const label = e.label ?? (e.milestone !== null ? t('ui.timeline.stamps_milestone_n', { n: e.milestone + 1 }) : '');
  const n = formatCount(Math.abs(e.stamps));
  if (e.returned) {
    return e.stamps > 0
      ? t('ui.timeline.stamps_returned_card', { label, stamps: n })
      : t('ui.timeline.stamps_returned', { label });
  }
  const kind = (STAMP_KINDS as readonly string[]).includes(e.kind) ? e.kind : 'adjust';
  switch (kind) {
    case 'earn':
      return t('ui.timeline.stamps_earn', { stamps: n });
    case 'reverse':
      return t('ui.timeline.stamps_reverse', { stamps: n });
    case 'redeem':
      return e.stamps < 0
        ? t('ui.timeline.stamps_claim_card', { label, stamps: n })
        : t('ui.timeline.stamps_claim', { label });
    default:
      return t('ui.timeline.stamps_adjust', { stamps: (e.stamps > 0 ? '+' : '−') + n });
  }
}

export function voucherUsedLine(e: Of<'voucher_used'>): string {
  if (e.label !== null) {
    const label = e.label;
    if (e.undone) return t('ui.timeline.gift_undone', { code: e.code, label });
    if (e.staff) return t('ui.timeline.gift_used_by', { code: e.code, label, staff: e.staff });
    return t('ui.timeline.gift_used', { code: e.code, label });
  }
  return t(e.undone ? 'ui.timeline.voucher_undone' : 'ui.timeline.voucher_used', { code: e.code });
}

/** A voucher issued: its value, or a gift's name. */
export function voucherIssuedLine(e: Of<'voucher_issued'>): string {
  if (e.kind === 'gift') return t('ui.timeline.gift_issued', { code: e.code, label: e.label ?? '' });
  return t('ui.timeline.voucher_issued', {
    code: e.code,
    value: formatVoucherValue(e.kind === 'percent' ? 'percent' : 'amount', e.value),
  });
}

export function tierLine(e: Of<'tier_changed'>): string {
  if (e.up) return t('ui.timeline.tier_up', { tier: e.tier });
  return e.to ? t('ui.timeline.tier_down_to', { tier: e.tier, to: e.to }) : t('ui.timeline.tier_down', { tier: e.tier });
}

export function automationLine(e: Of<'automation'>): string {
  const kind = (AUTOMATION_KINDS as readonly string[]).includes(e.automation)
    ? t(`ui.timeline.automation_kind.${e.automation}`)
    : e.automation;
  const state = (AUTOMATION_STATES as readonly string[]).includes(e.state) ? e.state : 'skipped';
  return t(`ui.timeline.automation_state.${state}`, { automation: kind });
}
