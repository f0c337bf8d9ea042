// Pure helpers of the referral screens: the offer editor's form ↔ Offer (money typed as text,
// read into cents), reward words, the next-milestone sentence, and the referrer chosen at the
// counter. The core checks the offer again; these only read what was typed.
import type { Offer } from '$lib/generated/Offer';
import type { RewardSpec } from '$lib/generated/RewardSpec';
import type { Stacking } from '$lib/generated/Stacking';
import type { FriendRewardAt } from '$lib/generated/FriendRewardAt';
import type { ReferrerLookup } from '$lib/generated/ReferrerLookup';
import type { ReferrerRef } from '$lib/generated/ReferrerRef';
import type { ReferralStatus } from '$lib/generated/ReferralStatus';
import type { Reward } from '$lib/generated/Reward';
import type { RewardKind } from '$lib/generated/RewardKind';
import { parseMoney } from '$lib/money';
import { centsToInput, type Parsed, type Problem } from '$lib/forms';

export const STATUSES: readonly ReferralStatus[] = [
  'pending',
  'qualified',
  'approved',
  'voided',
  'rejected',
  'outside_offer',
];

export type RewardType = 'none' | 'points' | 'voucher' | 'percent_voucher' | 'catalogue';

/** A reward as typed: the money parts as text. */
export interface RewardForm {
  type: RewardType;
  points: number;
  amount: string;
  percent: number;
  validDays: number;
  cost: string;
  /** A catalogue reward: its id (null: none chosen yet) and its name as last saved or chosen. */
  rewardId: number | null;
  label: string;
}

export interface MilestoneForm {
  key: number;
  referrals: number;
  reward: RewardForm;
  limited: boolean;
  slots: number;
}

export interface OfferForm {
  active: boolean;
  startsOn: string;
  endsOn: string;
  minPurchase: string;
  withinDays: number;
  secondPurchase: boolean;
  holdDays: number;
  referrer: RewardForm;
  friend: RewardForm;
  friendAt: FriendRewardAt;
  milestones: MilestoneForm[];
  stacking: Stacking;
  cap: string;
  budget: string;
  correctionDays: number;
  maxPerDay: number;
  maxPerWeek: number;
  staffBurst: number;
  exclusions: string;
}

export function emptyReward(): RewardForm {
  return { type: 'none', points: 100, amount: '', percent: 10, validDays: 90, cost: '', rewardId: null, label: '' };
}

export function rewardToForm(r: RewardSpec | null, decimal: ',' | '.' = ','): RewardForm {
  const f = emptyReward();
  if (!r) return f;
  switch (r.type) {
    case 'points':
      return { ...f, type: 'points', points: r.points };
    case 'voucher':
      return { ...f, type: 'voucher', amount: centsToInput(r.cents, decimal), validDays: r.valid_days };
    case 'percent_voucher':
      return {
        ...f,
        type: 'percent_voucher',
        percent: r.percent,
        validDays: r.valid_days,
        cost: centsToInput(r.cost_cents, decimal),
      };
    case 'catalogue':
      // Kept as the catalogue reward it names (a gift stays a gift), with its cost.
      return { ...f, type: 'catalogue', rewardId: r.reward_id, label: r.label, cost: centsToInput(r.cost_cents, decimal) };
  }
}

/** The form of an offer (or of the reference offer when none is saved yet). */
export function offerToForm(o: Offer, decimal: ',' | '.' = ','): OfferForm {
  return {
    active: o.active,
    startsOn: o.starts_on,
    endsOn: o.ends_on ?? '',
    minPurchase: centsToInput(o.min_purchase_cents, decimal),
    withinDays: o.within_days,
    secondPurchase: o.second_purchase,
    holdDays: o.hold_days,
    referrer: rewardToForm(o.referrer_reward, decimal),
    friend: rewardToForm(o.friend_reward, decimal),
    friendAt: o.friend_reward_at,
    milestones: o.milestones.map((m) => ({
      key: m.key,
      referrals: m.referrals,
      reward: rewardToForm(m.reward, decimal),
      limited: m.slots !== null,
      slots: m.slots ?? 50,
    })),
    stacking: o.stacking,
    cap: o.per_referrer_cap_cents === null ? '' : centsToInput(o.per_referrer_cap_cents, decimal),
    budget: o.budget_cents === null ? '' : centsToInput(o.budget_cents, decimal),
    correctionDays: o.correction_days,
    maxPerDay: o.max_per_day,
    maxPerWeek: o.max_per_week,
    staffBurst: o.staff_burst_per_hour,
    exclusions: o.exclusions,
  };
}

/** The reference offer of a shop starting today: €10 for the first 50 who refer 4, €5 for the first 50 who refer 2, €750. */
export function referenceOffer(today: string): Offer {
  const end = new Date(`${today}T12:00:00Z`);
  end.setUTCDate(end.getUTCDate() + 364);
  return {
    active: true,
    starts_on: today,
    ends_on: end.toISOString().slice(0, 10),
    min_purchase_cents: 2000,
    within_days: 30,
    second_purchase: false,
    hold_days: 14,
    referrer_reward: null,
    friend_reward: { type: 'percent_voucher', percent: 10, valid_days: 60, cost_cents: 200 },
    friend_reward_at: 'first_purchase',
    milestones: [
      { key: 1, referrals: 2, reward: { type: 'voucher', cents: 500, valid_days: 90 }, slots: 50 },
      { key: 2, referrals: 4, reward: { type: 'voucher', cents: 1000, valid_days: 90 }, slots: 50 },
    ],
    stacking: 'highest_only',
    per_referrer_cap_cents: null,
    budget_cents: 75000,
    correction_days: 14,
    max_per_day: 5,
    max_per_week: 15,
    staff_burst_per_hour: 10,
    exclusions: '',
  };
}

const whole = (n: unknown, min: number, max: number): n is number =>
  typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;

function readReward(f: RewardForm, field: string, bad: (p: Problem) => void): RewardSpec | null {
  const money = (text: string): number => {
    const c = parseMoney(text);
    if (c === null || c <= 0) bad({ field, key: 'ui.money.invalid' });
    return c ?? 0;
  };
  const days = whole(f.validDays, 1, 3650) ? f.validDays : (bad({ field, key: 'ui.referrals.days_invalid' }), 0);
  switch (f.type) {
    case 'none':
      return null;
    case 'points':
      if (!whole(f.points, 1, 1_000_000)) bad({ field, key: 'ui.referrals.points_invalid' });
      return { type: 'points', points: f.points };
    case 'voucher':
      return { type: 'voucher', cents: money(f.amount), valid_days: days };
    case 'percent_voucher':
      if (!whole(f.percent, 1, 100)) bad({ field, key: 'ui.referrals.percent_invalid' });
      return { type: 'percent_voucher', percent: f.percent, valid_days: days, cost_cents: money(f.cost) };
    case 'catalogue': {
      if (f.rewardId === null) bad({ field, key: 'field.referral_catalogue_reward' });
      // Empty is 0: the core names and types the reward, and refuses a gift without its cost.
      const cost = f.cost.trim() === '' ? 0 : parseMoney(f.cost);
      if (cost === null || cost < 0) bad({ field, key: 'ui.money.invalid' });
      return { type: 'catalogue', reward_id: f.rewardId ?? 0, label: f.label || '-', cost_cents: cost ?? 0 };
    }
  }
}

/** Read the form into an Offer; every unreadable value is a problem on its field. */
export function formToOffer(f: OfferForm): Parsed<Offer> {
  const problems: Problem[] = [];
  const bad = (p: Problem) => problems.push(p);
  const optionalMoney = (text: string, field: string): number | null => {
    if (text.trim() === '') return null;
    const c = parseMoney(text);
    if (c === null || c <= 0) bad({ field, key: 'ui.money.invalid' });
    return c;
  };
  const min = parseMoney(f.minPurchase.trim() === '' ? '0' : f.minPurchase);
  if (min === null) bad({ field: 'min_purchase_cents', key: 'ui.money.invalid' });
  if (!/^\d{4}-\d{2}-\d{2}$/.test(f.startsOn)) bad({ field: 'starts_on', key: 'ui.referrals.date_invalid' });
  if (f.endsOn !== '' && !/^\d{4}-\d{2}-\d{2}$/.test(f.endsOn)) bad({ field: 'ends_on', key: 'ui.referrals.date_invalid' });
  const ints: [number, string][] = [
    [f.withinDays, 'within_days'],
    [f.holdDays, 'hold_days'],
    [f.correctionDays, 'correction_days'],
    [f.maxPerDay, 'max_per_day'],
    [f.maxPerWeek, 'max_per_week'],
    [f.staffBurst, 'staff_burst_per_hour'],
  ];
  for (const [v, field] of ints) if (!whole(v, 0, 3650)) bad({ field, key: 'ui.referrals.number_invalid' });
  const milestones = f.milestones.map((m) => {
    if (!whole(m.referrals, 1, 1000)) bad({ field: 'milestones', key: 'ui.referrals.number_invalid' });
    if (m.limited && !whole(m.slots, 1, 1_000_000)) bad({ field: 'milestones', key: 'ui.referrals.number_invalid' });
    const reward = readReward(m.reward, 'milestones', bad);
    if (!reward) bad({ field: 'milestones', key: 'ui.referrals.milestone_needs_reward' });
    return {
      key: m.key,
      referrals: m.referrals,
      reward: reward ?? { type: 'points' as const, points: 1 },
      slots: m.limited ? m.slots : null,
    };
  });
  const offer: Offer = {
    active: f.active,
    starts_on: f.startsOn,
    ends_on: f.endsOn === '' ? null : f.endsOn,
    min_purchase_cents: min ?? 0,
    within_days: f.withinDays,
    second_purchase: f.secondPurchase,
    hold_days: f.holdDays,
    referrer_reward: readReward(f.referrer, 'referrer_reward', bad),
    friend_reward: readReward(f.friend, 'friend_reward', bad),
    friend_reward_at: f.friendAt,
    milestones,
    stacking: f.stacking,
    per_referrer_cap_cents: optionalMoney(f.cap, 'per_referrer_cap_cents'),
    budget_cents: optionalMoney(f.budget, 'budget_cents'),
    correction_days: f.correctionDays,
    max_per_day: f.maxPerDay,
    max_per_week: f.maxPerWeek,
    staff_burst_per_hour: f.staffBurst,
    exclusions: f.exclusions,
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: offer };
}

/** The next free milestone key (keys stay stable across versions of the offer). */
export function nextKey(milestones: { key: number }[]): number {
  return milestones.reduce((m, x) => Math.max(m, x.key), 0) + 1;
}

/**
 * What the counter typed for "Parrainé par", turned into the referrer to send: the code or card
 * the core recognised, or a customer picked from the name search.
 */
export function refFromLookup(text: string, l: ReferrerLookup): ReferrerRef | null {
  if (!l.found) return null;
  const compact = text.replace(/\s+/g, '');
  if (l.via === 'card') return { type: 'card', number: compact };
  if (l.via === 'code') return { type: 'code', code: text.trim() };
  return { type: 'customer', id: l.found.id };
}

/** A catalogue reward handed over as a gift (never money off); mirrors the core's `RewardKind::is_gift`. */
export function isGiftKind(kind: RewardKind): boolean {
  return kind === 'free_product' || kind === 'experience' || kind === 'partner';
}

/**
 * The catalogue rewards the editor offers: the active ones, by name, and the one already chosen
 * even when it was deactivated since (shown, not choosable again: the core refuses it for a new
 * version).
 */
export function catalogueChoices(all: Reward[], chosen: number | null): Reward[] {
  return all
    .filter((r) => r.active || r.id === chosen)
    .sort((a, b) => a.name.localeCompare(b.name));
}
