/** Sentences about loyalty, built from what the core computed (no rule is decided here). */
import type { EarnLine } from './generated/EarnLine';
import type { Earning } from './generated/Earning';
import type { NextGoal } from './generated/NextGoal';
import type { TierStatus } from './generated/TierStatus';
import type { Voucher } from './generated/Voucher';
import { formatCount, formatDate, formatMoney, formatVoucherValue } from './format';
import { t } from './i18n';

/** Ledger entry kinds the core writes. */
export const LEDGER_KINDS = ['earn', 'reverse', 'redeem', 'restore', 'expire', 'adjust', 'action', 'tier_entry'] as const;

export function ledgerKind(kind: string): string {
  return (LEDGER_KINDS as readonly string[]).includes(kind) ? t(`ui.loyalty.kind.${kind}`) : kind;
}

/** A multiplier in percent (150) as people say it (×1.5). */
export function factor(percent: number): string {
  return `×${formatCount(percent / 100)}`;
}

export function earnLine(line: EarnLine): string {
  switch (line.type) {
    case 'spend':
      return t('ui.loyalty.line.spend', {
        spend: formatMoney(line.spend_cents),
        points: formatCount(line.points),
        carry: formatMoney(line.carry_cents),
      });
    case 'visit':
      return t('ui.loyalty.line.visit', { points: formatCount(line.points) });
    case 'category':
      return t('ui.loyalty.line.category', { factor: factor(line.percent), category: line.category });
    case 'booster':
      return t('ui.loyalty.line.booster', { factor: factor(line.percent), name: line.name });
    case 'tier':
      return t('ui.loyalty.line.tier', { factor: factor(line.percent), name: line.name });
  }
}

export function goal(g: NextGoal): string {
  const missing = formatCount(g.missing);
  return g.unit === 'stamps'
    ? t(g.missing === 1 ? 'ui.loyalty.goal_stamp' : 'ui.loyalty.goal_stamps', { missing, label: g.label })
    : t('ui.loyalty.goal_points', { missing, label: g.label });
}

/** "+12 points, +1 stamp — 38 more points for “Bon de 5 €”". Empty when nothing was earned
 *  and there is no goal. */
export function earnedSummary(e: Earning | null, next: NextGoal | null): string {
  const parts: string[] = [];
  if (e && e.points > 0) parts.push(t('ui.loyalty.earned_points', { points: formatCount(e.points) }));
  if (e && e.stamps > 0) parts.push(t(e.stamps === 1 ? 'ui.loyalty.earned_stamp' : 'ui.loyalty.earned_stamps', { stamps: formatCount(e.stamps) }));
  const earned = parts.join(', ');
  const ahead = next ? goal(next) : '';
  return [earned, ahead].filter((s) => s !== '').join(' — ');
}

/**
 * "Nouveau palier : Or" when a sale took the customer to a higher tier than they held before
 * it (`before`: their status read before the sale), otherwise an empty string.
 */
export function tierReached(before: Pick<TierStatus, 'index'> | null, after: Pick<TierStatus, 'index' | 'name'> | null): string {
  if (!after || (before && after.index <= before.index)) return '';
  return t('ui.loyalty.tier_reached', { name: after.name });
}

/** A gift voucher (a catalogue gift held until handed over; never money off). */
export function isGift(v: Pick<Voucher, 'kind'>): boolean {
  return v.kind === 'gift';
}

/** What a voucher gives, in words: "Viennoiserie offerte" for a gift, "10,00 €" or "10 %" otherwise. */
export function voucherWhat(v: Pick<Voucher, 'kind' | 'value' | 'label'>): string {
  if (v.kind === 'gift') return v.label ?? '';
  return formatVoucherValue(v.kind, v.value);
}

/** One held voucher as the customer page and the till list it. */
export function voucherLine(v: Pick<Voucher, 'kind' | 'value' | 'label' | 'code' | 'expires_at'>): string {
  const date = formatDate(v.expires_at);
  if (v.kind === 'gift') return t('ui.loyalty.voucher_gift', { label: v.label ?? '', code: v.code, date });
  if (v.kind === 'amount') return t('ui.loyalty.voucher_amount', { value: formatMoney(v.value), code: v.code, date });
  return t('ui.loyalty.voucher_percent', { value: formatCount(v.value), code: v.code, date });
}
