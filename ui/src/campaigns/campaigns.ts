// The pure rules of the campaign screens: editor forms ↔ what the core stores, personal-field
// chips, segment conditions, scheduling, the recipients estimate and pauses in words.
import type { Audience } from '$lib/generated/Audience';
import type { Block } from '$lib/generated/Block';
import type { Campaign } from '$lib/generated/Campaign';
import type { CampaignState } from '$lib/generated/CampaignState';
import type { Combine } from '$lib/generated/Combine';
import type { Condition } from '$lib/generated/Condition';
import type { Country } from '$lib/generated/Country';
import type { Lang } from '$lib/generated/Lang';
import type { MessageContent } from '$lib/generated/MessageContent';
import type { SegmentFilter } from '$lib/generated/SegmentFilter';
import { formatDateTime, formatTime, localInputToUtcIso, parseBackendDate } from '$lib/format';
import { t } from '$lib/i18n';
import { parseMoney } from '$lib/money';
import { centsToInput, type Parsed, type Problem } from '$lib/forms';

// --- Personal fields -------------------------------------------------------------------------

/** The personal fields a message may hold (the core's list, in the order the chips show). */
export const PERSONAL_FIELDS = [
  'first_name',
  'last_name',
  'full_name',
  'points',
  'tier',
  'voucher_code',
  'voucher_value',
  'shop_name',
  'referral_code',
  'referral_friends',
  'referral_next_milestone',
  'referral_invite',
] as const;
/** Fields only automatic messages fill (the points expiring and their date). */
export const AUTOMATION_FIELDS = ['points_expiring', 'expiry_date'] as const;
export type PersonalField = (typeof PERSONAL_FIELDS)[number] | (typeof AUTOMATION_FIELDS)[number];

/** How a personal field is written in a message: `{{ first_name }}`. */
export function fieldTag(field: PersonalField): string {
  return `{{ ${field} }}`;
}

/**
 * Insert `insert` into `text` in place of the selection [start, end) and give the caret after
 * it. Without a selection (the field was never focused), it goes at the end, after a space.
 */
export function insertAtCursor(
  text: string,
  start: number | null,
  end: number | null,
  insert: string,
): { text: string; caret: number } {
  if (start === null) {
    const sep = text === '' || /\s$/.test(text) ? '' : ' ';
    const out = text + sep + insert;
    return { text: out, caret: out.length };
  }
  const clamp = (n: number) => Math.max(0, Math.min(text.length, n));
  let a = clamp(start);
  let b = clamp(end ?? start);
  if (b < a) [a, b] = [b, a];
  return { text: text.slice(0, a) + insert + text.slice(b), caret: a + insert.length };
}

// --- Message form ----------------------------------------------------------------------------

/**
 * A block being edited: the block, plus the price as typed for a product. Blocks hold only
 * plain values, so a spread copies them (structuredClone cannot copy the screen's reactive
 * proxies).
 */
export interface BlockForm {
  uid: number;
  block: Block;
  price: string;
}
export interface MessageForm {
  subject: string;
  preheader: string;
  blocks: BlockForm[];
}

let uidSeq = 0;
/** A new key for an item of an editable list (blocks, conditions). */
export function nextUid(): number {
  return ++uidSeq;
}

export type BlockType = Block['type'];
export const BLOCK_TYPES: readonly BlockType[] = ['heading', 'text', 'image', 'button', 'product', 'survey'];

/** An empty block of a type; an image needs its stored picture. */
export function newBlock(type: BlockType, mediaId = 0): Block {
  switch (type) {
    case 'heading':
      return { type, text: '' };
    case 'text':
      return { type, markdown: '' };
    case 'image':
      return { type, media_id: mediaId, alt: '' };
    case 'button':
      return { type, label: '', url: 'https://' };
    case 'product':
      return { type, name: '', description: '', price_cents: null, media_id: null, url: '' };
    case 'survey':
      return { type, question: '' };
  }
}

export function blockToForm(block: Block, decimal: ',' | '.' = ','): BlockForm {
  const price = block.type === 'product' && block.price_cents !== null ? centsToInput(block.price_cents, decimal) : '';
  return { uid: nextUid(), block: { ...block }, price };
}

export function messageToForm(m: MessageContent, decimal: ',' | '.' = ','): MessageForm {
  return { subject: m.subject, preheader: m.preheader, blocks: m.blocks.map((b) => blockToForm(b, decimal)) };
}

export const emptyMessage = (): MessageForm => ({ subject: '', preheader: '', blocks: [] });

/** A copy of a message form with new keys (message B starts as a copy of A). */
export function copyMessage(f: MessageForm): MessageForm {
  return {
    subject: f.subject,
    preheader: f.preheader,
    blocks: f.blocks.map((b) => ({ uid: nextUid(), block: { ...b.block }, price: b.price })),
  };
}

/**
 * The message to save. A product's price is typed money (empty: no price); anything else is a
 * problem on `blocks.<n>.price`. In `lenient` mode (the live preview) a bad price is left out.
 */
export function formToMessage(f: MessageForm, lenient = false): Parsed<MessageContent> {
  const problems: Problem[] = [];
  const blocks = f.blocks.map((bf, i): Block => {
    const b = bf.block;
    if (b.type !== 'product') return { ...b };
    let price_cents: number | null = null;
    if (bf.price.trim() !== '') {
      price_cents = parseMoney(bf.price);
      if (price_cents === null && !lenient) problems.push({ field: `blocks.${i}.price`, key: 'ui.money.invalid' });
    }
    return { ...b, price_cents };
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { subject: f.subject, preheader: f.preheader, blocks } };
}

/** The list with item `i` moved by `delta` places (unchanged at either end). */
export function moveItem<T>(list: readonly T[], i: number, delta: number): T[] {
  const out = [...list];
  const j = i + delta;
  if (i < 0 || i >= out.length || j < 0 || j >= out.length) return out;
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}

// --- Segment conditions ----------------------------------------------------------------------

export type ConditionField = Condition['field'];
export const CONDITION_FIELDS: readonly ConditionField[] = [
  'has_tag',
  'not_tag',
  'tier_at_least',
  'last_purchase_within',
  'last_purchase_older_than',
  'never_bought',
  'purchases_at_least',
  'purchases_at_most',
  'spent_at_least',
  'spent_at_most',
  'birthday_month',
  'points_at_least',
  'points_at_most',
  'language',
  'country',
  'consent',
  // The numbers: scores, satisfaction, dates of purchase.
  'rfm_segment',
  'rfm_move',
  'rfm_cell',
  'churn_risk',
  'lifetime_value_at_least',
  'lifetime_value_at_most',
  'loyalty_kind',
  'nps_answer',
  'nps_answered_between',
  'bought_between',
  'first_purchase_between',
  'card_holder',
  'programme_compared',
  'reward_used_within',
  'points_expired_within',
  'gift_received_within',
  'approved_referrals_at_least',
  'was_referred',
  'referred_by',
];

/** A condition being edited; money conditions keep the amount as typed. */
export interface ConditionForm {
  uid: number;
  condition: Condition;
  money: string;
}
export interface FilterForm {
  combine: Combine;
  conditions: ConditionForm[];
}

export interface ConditionDefaults {
  lang: Lang;
  country: Country;
  /** Today, for the birthday month. */
  now?: Date;
}

/** A condition of the chosen kind with sensible starting values. */
export function emptyCondition(field: ConditionField, d: ConditionDefaults): Condition {
  switch (field) {
    case 'has_tag':
    case 'not_tag':
      return { field, tag: '' };
    case 'tier_at_least':
      return { field, index: 0 };
    case 'last_purchase_older_than':
      return { field, days: 90 };
    case 'last_purchase_within':
      return { field, days: 30 };
    case 'never_bought':
      return { field };
    case 'purchases_at_least':
      return { field, count: 2 };
    case 'purchases_at_most':
      return { field, count: 1 };
    case 'spent_at_least':
      return { field, cents: 10_000 };
    case 'spent_at_most':
      return { field, cents: 5_000 };
    case 'birthday_month':
      return { field, month: (d.now ?? new Date()).getMonth() + 1 };
    case 'language':
      return { field, lang: d.lang };
    case 'country':
      return { field, country: d.country };
    case 'consent':
      return { field, state: 'express' };
    case 'points_at_least':
      return { field, points: 100 };
    case 'points_at_most':
      return { field, points: 100 };
    case 'rfm_segment':
      return { field, segment: 'at_risk' };
    case 'rfm_move':
      return { field, from: 'champions', to: 'at_risk' };
    case 'rfm_cell':
      return { field, r: 5, fm: 5 };
    case 'churn_risk':
      return { field, risk: 'high' };
    case 'lifetime_value_at_least':
      return { field, cents: 20_000 };
    case 'lifetime_value_at_most':
      return { field, cents: 5_000 };
    case 'loyalty_kind':
      return { field, kind: 'habit' };
    case 'nps_answer':
      return { field, group: 'detractor' };
    case 'bought_between':
    case 'first_purchase_between':
    case 'nps_answered_between': {
      const today = d.now ?? new Date();
      const iso = (x: Date) => `${x.getFullYear()}-${String(x.getMonth() + 1).padStart(2, '0')}-${String(x.getDate()).padStart(2, '0')}`;
      return { field, from: iso(new Date(today.getFullYear(), today.getMonth(), 1)), to: iso(today) };
    }
    case 'card_holder':
      return { field, holder: true };
    case 'programme_compared':
      return { field, member: true };
    case 'reward_used_within':
    case 'points_expired_within':
    case 'gift_received_within':
      return { field, months: 12 };
    case 'approved_referrals_at_least':
      return { field, count: 1 };
    case 'was_referred':
      return { field };
    case 'referred_by':
      return { field, customer_id: 0 };
  }
}

/** Conditions whose value is an amount of money typed by the merchant. */
const MONEY_FIELDS: readonly ConditionField[] = ['spent_at_least', 'spent_at_most', 'lifetime_value_at_least', 'lifetime_value_at_most'];

export function conditionToForm(c: Condition, decimal: ',' | '.' = ','): ConditionForm {
  const money = 'cents' in c && MONEY_FIELDS.includes(c.field) ? centsToInput(c.cents, decimal) : '';
  return { uid: nextUid(), condition: { ...c }, money };
}

export function filterToForm(f: SegmentFilter, decimal: ',' | '.' = ','): FilterForm {
  return { combine: f.combine, conditions: f.conditions.map((c) => conditionToForm(c, decimal)) };
}

const wholeNumber = (n: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): boolean =>
  typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;

/**
 * The filter to count or save. Each condition must be complete: a tag, whole numbers of days,
 * purchases or points, a month from 1 to 12, an amount of money. Problems are on
 * `conditions.<n>`.
 */
export function formToFilter(f: FilterForm): Parsed<SegmentFilter> {
  const problems: Problem[] = [];
  const conditions = f.conditions.map((cf, i): Condition => {
    const c = cf.condition;
    const bad = (key = 'ui.segment.incomplete') => problems.push({ field: `conditions.${i}`, key });
    switch (c.field) {
      case 'has_tag':
      case 'not_tag':
        if (c.tag.trim() === '') bad();
        return { field: c.field, tag: c.tag.trim() };
      case 'spent_at_least':
      case 'spent_at_most':
      case 'lifetime_value_at_least':
      case 'lifetime_value_at_most': {
        const cents = parseMoney(cf.money);
        if (cents === null) bad('ui.money.invalid');
        return { field: c.field, cents: cents ?? 0 };
      }
      case 'bought_between':
      case 'first_purchase_between':
      case 'nps_answered_between': {
        const date = /^\d{4}-\d{2}-\d{2}$/;
        if (!date.test(c.from) || !date.test(c.to)) bad();
        else if (c.from > c.to) bad('ui.numbers.condition.dates_order');
        return { ...c };
      }
      case 'tier_at_least':
        if (!wholeNumber(c.index, 0, 19)) bad();
        return { ...c };
      case 'last_purchase_older_than':
      case 'last_purchase_within':
        if (!wholeNumber(c.days, 0, 36_500)) bad();
        return { ...c };
      case 'purchases_at_least':
      case 'purchases_at_most':
        if (!wholeNumber(c.count)) bad();
        return { ...c };
      case 'birthday_month':
        if (!wholeNumber(c.month, 1, 12)) bad();
        return { ...c };
      case 'points_at_least':
      case 'points_at_most':
        if (!wholeNumber(c.points, -Number.MAX_SAFE_INTEGER)) bad();
        return { ...c };
      case 'approved_referrals_at_least':
        if (!wholeNumber(c.count, 0, 10_000)) bad();
        return { ...c };
      case 'referred_by':
        if (!wholeNumber(c.customer_id, 1)) bad();
        return { ...c };
      case 'reward_used_within':
      case 'points_expired_within':
      case 'gift_received_within':
        if (!wholeNumber(c.months, 1, 36)) bad();
        return { ...c };
      default:
        return { ...c };
    }
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { combine: f.combine, conditions } };
}

// --- Audience and sending --------------------------------------------------------------------

export const DEFAULT_CONTROL_PERCENT = 10;
export const DEFAULT_RESULTS_DAYS = 14;

export function defaultAudience(): Audience {
  return {
    filter: { combine: 'all', conditions: [] },
    control_percent: DEFAULT_CONTROL_PERCENT,
    ab: null,
    results_days: DEFAULT_RESULTS_DAYS,
  };
}

/**
 * How many people will receive the message: the eligible customers less the control group,
 * which the core rounds down (eligible × share / 100, whole people).
 */
export function recipientsEstimate(eligible: number, controlPercent: number): number {
  const n = Math.max(0, Math.floor(eligible));
  const pct = Math.max(0, Math.min(100, Math.floor(controlPercent)));
  return n - Math.floor((n * pct) / 100);
}

/**
 * How an A/B test splits the recipients: a sample of `samplePercent` (at least 2 people, at most
 * everyone) shared between A and B, A taking the smaller half; the rest waits for the winner.
 */
export function abSplit(recipients: number, samplePercent: number): { a: number; b: number; rest: number } {
  const n = Math.max(0, Math.floor(recipients));
  const sample = Math.min(n, Math.max(2, Math.floor((n * samplePercent) / 100)));
  const a = Math.floor(sample / 2);
  return { a, b: sample - a, rest: n - sample };
}

/** Content and audience can still change (a draft, or a scheduled campaign not started). */
export function isEditable(state: CampaignState): boolean {
  return state === 'draft' || state === 'scheduled';
}

/** The sender is at work on it, or will be again: the follow-up page keeps reading it. */
export function isActive(state: CampaignState): boolean {
  return state === 'running' || state === 'paused';
}

/**
 * The time typed in a datetime-local input as the UTC ISO string the core expects; 'invalid'
 * when it is not a time, 'past' when it is not in the future.
 */
export function scheduleAt(local: string, now: Date = new Date()): string | 'invalid' | 'past' {
  const iso = localInputToUtcIso(local);
  if (iso === null) return 'invalid';
  return new Date(iso).getTime() <= now.getTime() ? 'past' : iso;
}

/** A backend time as a datetime-local value in the computer's time zone (empty when absent). */
export function toLocalInput(text: string | null | undefined): string {
  const d = parseBackendDate(text);
  if (!d) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** When an A/B test picks its winner by itself: the samples' end plus the wait. */
export function abDecisionAt(sampleDoneAt: string | null, waitDays: number): string | null {
  const d = parseBackendDate(sampleDoneAt);
  if (!d) return null;
  return new Date(d.getTime() + waitDays * 86_400_000).toISOString();
}

/** A time the same day as `now` reads as "14:30"; another day with its date. */
export function timeOrDateTime(text: string | null, now: Date = new Date()): string {
  const d = parseBackendDate(text);
  if (!d) return '';
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? formatTime(text) : formatDateTime(text);
}

/** Why a campaign is paused, in the merchant's words. */
export function describePause(
  c: Pick<Campaign, 'pause_reason' | 'pause_detail' | 'resume_at'>,
  now: Date = new Date(),
): string {
  switch (c.pause_reason) {
    case 'merchant':
      return t('ui.campaign.pause.merchant');
    case 'quota':
      return c.resume_at
        ? t('ui.campaign.pause.quota', { time: timeOrDateTime(c.resume_at, now) })
        : t('ui.campaign.pause.quota_no_time');
    case 'errors':
      return c.pause_detail?.trim()
        ? t('ui.campaign.pause.errors', { detail: c.pause_detail.trim() })
        : t('ui.campaign.pause.errors_no_detail');
    case 'ab_waiting':
      return t('ui.campaign.pause.ab_waiting');
    case 'rejected':
      return t('ui.campaign.pause.rejected', { detail: c.pause_detail?.trim() || '—' });
    case 'mailbox':
      return c.pause_detail?.trim() || t('ui.campaign.pause.mailbox');
    default:
      return '';
  }
}

/** What a test send did: reached the provider, written as a file, or failed (the reason). */
export function testOutcomeKind(outcome: string): 'sent' | 'outbox' | 'failed' {
  return outcome === 'sent' || outcome === 'outbox' ? outcome : 'failed';
}
