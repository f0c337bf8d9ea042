/**
 * The loyalty programme and reward forms: conversion between what people type and what the core
 * stores, and the customer-facing rules. Pure functions; the core decides whether the values are
 * acceptable (ranges, order of milestones, …), this only reads the text.
 */
import type { Action } from '$lib/generated/Action';
import type { Currency } from '$lib/generated/Currency';
import type { ErrorPayload } from '$lib/generated/ErrorPayload';
import type { Expiry } from '$lib/generated/Expiry';
import type { Lang } from '$lib/generated/Lang';
import type { Locale } from '$lib/generated/Locale';
import type { Programme } from '$lib/generated/Programme';
import type { Reward } from '$lib/generated/Reward';
import type { RewardInput } from '$lib/generated/RewardInput';
import type { RewardKind } from '$lib/generated/RewardKind';
import type { TierBasis } from '$lib/generated/TierBasis';
import type { TierPeriod } from '$lib/generated/TierPeriod';
import { formatDate, formatMoney, intlLocale } from '$lib/format';
import { translate, type Params } from '$lib/i18n';
import { centsToInput, type Parsed, type Problem } from '$lib/forms';
import { parseMoney } from '$lib/money';

export const ACTIONS: readonly Action[] = ['referral', 'review', 'survey', 'birthday', 'second_life'];
export const REWARD_KINDS: readonly RewardKind[] = [
  'fixed_discount',
  'percent_discount',
  'free_product',
  'voucher',
  'experience',
  'partner',
];

export interface MilestoneForm { stamps: string; label: string }
export interface CategoryForm { category: string; percent: string }
export interface BoosterForm {
  name: string;
  percent: string;
  starts_on: string;
  ends_on: string;
  /** Monday first. */
  weekdays: boolean[];
  from: string;
  to: string;
}
export interface ActionForm { action: Action; points: string; max_per_year: string }
export interface TierForm { name: string; threshold: string; percent: string; advantages: string; entry_points: string }

export interface ProgrammeForm {
  points_enabled: boolean;
  points_per_unit: string;
  unit_amount: string;
  points_per_visit: string;
  earn_before_discount: boolean;
  stamps_enabled: boolean;
  stamps_per_visit: string;
  milestones: MilestoneForm[];
  category_multipliers: CategoryForm[];
  boosters: BoosterForm[];
  actions: ActionForm[];
  tiers_enabled: boolean;
  tier_basis: TierBasis;
  tier_period: TierPeriod;
  tiers: TierForm[];
  expiry_mode: Expiry['mode'];
  expiry_months: string;
  value_100_points: string;
  suspicious_threshold: string;
}

/** Minutes after midnight from an <input type="time"> value ("17:30" → 1050); null when empty. */
export function timeToMinutes(value: string): number | null | 'invalid' {
  const v = value.trim();
  if (v === '') return null;
  const m = /^(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?$/.exec(v);
  if (!m) return 'invalid';
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 23 || min > 59) return 'invalid';
  return h * 60 + min;
}

/** An <input type="time"> value from minutes after midnight (1050 → "17:30"). */
export function minutesToTime(minutes: number | null): string {
  if (minutes === null) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(minutes / 60) % 24)}:${p(minutes % 60)}`;
}

/** Weekday checkboxes (Monday first) as the core's numbers, Monday = 1 … Sunday = 7. */
export function weekdaysToNumbers(days: boolean[]): number[] {
  return days.flatMap((on, i) => (on ? [i + 1] : []));
}

export function numbersToWeekdays(days: number[]): boolean[] {
  return Array.from({ length: 7 }, (_, i) => days.includes(i + 1));
}

/** A date input value (YYYY-MM-DD) from what the core sent; empty when absent. */
export function dateInput(value: string | null): string {
  return value ? value.slice(0, 10) : '';
}

/** The computer's local date, `YYYY-MM-DD` (the value of a date input). */
export function localDay(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** A `YYYY-MM-DD` day read back as a local date at noon (clear of any change of time), or null. */
export function parseDay(day: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12);
  return d.getDate() === Number(m[3]) && d.getMonth() === Number(m[2]) - 1 ? d : null;
}

/**
 * The first day of the suspicious list's period holding `day`: the day itself, or the Monday
 * of its week. Null when `day` is not a date.
 */
export function periodStart(day: string, period: 'day' | 'week'): string | null {
  const d = parseDay(day);
  if (!d) return null;
  if (period === 'week') d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return localDay(d);
}

/** The last day of a period that starts on `start` (same day, or six days later). */
export function periodEnd(start: string, period: 'day' | 'week'): string | null {
  const d = parseDay(start);
  if (!d) return null;
  if (period === 'week') d.setDate(d.getDate() + 6);
  return localDay(d);
}

class Reader {
  problems: Problem[] = [];

  private fail(field: string, key: string): number {
    this.problems.push({ field, key });
    return 0;
  }

  /** A whole number ≥ 0 ("1 000" accepted). */
  int(text: string, field: string): number {
    const v = text.replace(/[\s\u00a0\u202f]/g, '');
    if (!/^\d{1,9}$/.test(v)) return this.fail(field, 'ui.programme.error.integer');
    return Number(v);
  }

  /** A whole number, or null when left empty. */
  optInt(text: string, field: string): number | null {
    return text.trim() === '' ? null : this.int(text, field);
  }

  money(text: string, field: string): number {
    const cents = parseMoney(text);
    return cents === null ? this.fail(field, 'ui.programme.error.money') : cents;
  }

  time(text: string, field: string): number | null {
    const m = timeToMinutes(text);
    if (m === 'invalid') {
      this.fail(field, 'ui.programme.error.time');
      return null;
    }
    return m;
  }

  date(text: string, field: string): string | null {
    const v = text.trim();
    if (v === '') return null;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) {
      this.fail(field, 'ui.programme.error.date');
      return null;
    }
    return v;
  }

  result<T>(value: T): Parsed<T> {
    return this.problems.length > 0 ? { ok: false, problems: this.problems } : { ok: true, value };
  }
}

const blank = (...texts: string[]) => texts.every((s) => s.trim() === '');

/** The form for a programme (disabled parts get sensible starting values). */
export function programmeToForm(p: Programme, decimal: ',' | '.' = ','): ProgrammeForm {
  const spend = (p.tiers?.basis ?? 'spend') === 'spend';
  return {
    points_enabled: p.points !== null,
    points_per_unit: String(p.points?.points_per_unit ?? 1),
    unit_amount: centsToInput(p.points?.unit_cents ?? 100, decimal),
    points_per_visit: String(p.points?.points_per_visit ?? 0),
    earn_before_discount: p.earn_before_discount,
    stamps_enabled: p.stamps !== null,
    stamps_per_visit: String(p.stamps?.per_visit ?? 1),
    milestones: (p.stamps?.milestones ?? []).map((m) => ({ stamps: String(m.stamps), label: m.label })),
    category_multipliers: p.category_multipliers.map((c) => ({ category: c.category, percent: String(c.percent) })),
    boosters: p.boosters.map((b) => ({
      name: b.name,
      percent: String(b.percent),
      starts_on: dateInput(b.starts_on),
      ends_on: dateInput(b.ends_on),
      weekdays: numbersToWeekdays(b.weekdays),
      from: minutesToTime(b.from_minute),
      to: minutesToTime(b.to_minute),
    })),
    actions: p.actions.map((a) => ({
      action: a.action,
      points: String(a.points),
      max_per_year: a.max_per_year === null ? '' : String(a.max_per_year),
    })),
    tiers_enabled: p.tiers !== null,
    tier_basis: p.tiers?.basis ?? 'spend',
    tier_period: p.tiers?.period ?? 'rolling12_months',
    tiers: (p.tiers?.tiers ?? []).map((t) => ({
      name: t.name,
      threshold: spend ? centsToInput(t.threshold, decimal) : String(t.threshold),
      percent: String(t.percent),
      advantages: t.advantages,
      entry_points: String(t.entry_points),
    })),
    expiry_mode: p.expiry.mode,
    expiry_months: p.expiry.mode === 'never' ? '12' : String(p.expiry.months),
    value_100_points: centsToInput(p.value_of_100_points_cents, decimal),
    suspicious_threshold: String(p.suspicious_operations_per_day),
  };
}

/** Starting rows. */
export const newMilestone = (): MilestoneForm => ({ stamps: '', label: '' });
export const newCategory = (): CategoryForm => ({ category: '', percent: '200' });
export const newBooster = (): BoosterForm => ({
  name: '',
  percent: '200',
  starts_on: '',
  ends_on: '',
  weekdays: [false, false, false, false, false, false, false],
  from: '',
  to: '',
});
export const newAction = (used: Action[] = []): ActionForm => ({
  action: ACTIONS.find((a) => !used.includes(a)) ?? 'referral',
  points: '',
  max_per_year: '',
});
export const newTier = (): TierForm => ({ name: '', threshold: '', percent: '100', advantages: '', entry_points: '0' });

/** The programme the form describes, or what could not be read. Rows left entirely empty are
 *  ignored; disabled parts are not read at all. */
export function formToProgramme(f: ProgrammeForm): Parsed<Programme> {
  const r = new Reader();
  const points = f.points_enabled
    ? {
        points_per_unit: r.int(f.points_per_unit, 'points.points_per_unit'),
        unit_cents: r.money(f.unit_amount, 'points.unit_cents'),
        points_per_visit: blank(f.points_per_visit) ? 0 : r.int(f.points_per_visit, 'points.points_per_visit'),
      }
    : null;
  const stamps = f.stamps_enabled
    ? {
        per_visit: r.int(f.stamps_per_visit, 'stamps.per_visit'),
        milestones: f.milestones
          .filter((m) => !blank(m.stamps, m.label))
          .map((m) => ({ stamps: r.int(m.stamps, 'stamps.milestones'), label: m.label.trim() })),
      }
    : null;
  const category_multipliers = f.category_multipliers
    .filter((c) => !blank(c.category))
    .map((c) => ({ category: c.category.trim(), percent: r.int(c.percent, 'category_multipliers') }));
  const boosters = f.boosters
    .filter((b) => !blank(b.name, b.starts_on, b.ends_on, b.from, b.to) || b.weekdays.some(Boolean))
    .map((b) => ({
      name: b.name.trim(),
      percent: r.int(b.percent, 'boosters'),
      starts_on: r.date(b.starts_on, 'boosters'),
      ends_on: r.date(b.ends_on, 'boosters'),
      weekdays: weekdaysToNumbers(b.weekdays),
      from_minute: r.time(b.from, 'boosters'),
      to_minute: r.time(b.to, 'boosters'),
    }));
  const actions = f.actions
    .filter((a) => !blank(a.points, a.max_per_year))
    .map((a) => ({ action: a.action, points: r.int(a.points, 'actions'), max_per_year: r.optInt(a.max_per_year, 'actions') }));
  const tiers = f.tiers_enabled
    ? {
        basis: f.tier_basis,
        period: f.tier_period,
        tiers: f.tiers
          .filter((t) => !blank(t.name, t.threshold, t.advantages))
          .map((t) => ({
            name: t.name.trim(),
            threshold: f.tier_basis === 'spend' ? r.money(t.threshold, 'tiers') : r.int(t.threshold, 'tiers'),
            percent: r.int(t.percent, 'tiers'),
            advantages: t.advantages.trim(),
            entry_points: blank(t.entry_points) ? 0 : r.int(t.entry_points, 'tiers'),
          })),
      }
    : null;
  const expiry: Expiry =
    f.expiry_mode === 'never' ? { mode: 'never' } : { mode: f.expiry_mode, months: r.int(f.expiry_months, 'expiry') };
  const programme: Programme = {
    points,
    stamps,
    category_multipliers,
    boosters,
    actions,
    tiers,
    expiry,
    earn_before_discount: f.earn_before_discount,
    value_of_100_points_cents: r.money(f.value_100_points, 'value_of_100_points_cents'),
    suspicious_operations_per_day: r.int(f.suspicious_threshold, 'suspicious_operations_per_day'),
  };
  return r.result(programme);
}

/** Messages about a section: its own field, or any field inside it ("boosters[1].percent",
 *  "points.unit_cents"), except those shown next to an input. */
export function sectionMessages(error: ErrorPayload | null, section: string, except: string[] = []): string[] {
  if (!error) return [];
  const seen = new Set<string>();
  for (const f of error.fields) {
    const inside = f.field === section || f.field.startsWith(`${section}.`) || f.field.startsWith(`${section}[`);
    if (inside && !except.includes(f.field)) seen.add(f.message);
  }
  return [...seen];
}

// --- Rewards -------------------------------------------------------------------------------

export interface RewardForm {
  name: string;
  kind: RewardKind;
  points_cost: string;
  value: string;
  stock: string;
  per_customer_limit: string;
  valid_from: string;
  valid_to: string;
  voucher_days: string;
  active: boolean;
}

/** How a reward's value is typed: an amount, a percentage, or, for a gift (a product, an
 * experience, a partner's offer), its selling price if the merchant gives it (blank: none). */
export function valueKind(kind: RewardKind): 'money' | 'percent' | 'worth' {
  if (kind === 'fixed_discount' || kind === 'voucher') return 'money';
  if (kind === 'percent_discount') return 'percent';
  return 'worth';
}

export const newRewardForm = (): RewardForm => ({
  name: '',
  kind: 'fixed_discount',
  points_cost: '',
  value: '',
  stock: '',
  per_customer_limit: '',
  valid_from: '',
  valid_to: '',
  voucher_days: '90',
  active: true,
});

export function rewardToForm(r: Reward, decimal: ',' | '.' = ','): RewardForm {
  const vk = valueKind(r.kind);
  return {
    name: r.name,
    kind: r.kind,
    points_cost: String(r.points_cost),
    value:
      vk === 'percent' ? String(r.value) : vk === 'worth' && r.value === 0 ? '' : centsToInput(r.value, decimal),
    stock: r.stock === null ? '' : String(r.stock),
    per_customer_limit: r.per_customer_limit === null ? '' : String(r.per_customer_limit),
    valid_from: dateInput(r.valid_from),
    valid_to: dateInput(r.valid_to),
    voucher_days: String(r.voucher_days),
    active: r.active,
  };
}

export function formToReward(f: RewardForm): Parsed<RewardInput> {
  const r = new Reader();
  const vk = valueKind(f.kind);
  const input: RewardInput = {
    name: f.name.trim(),
    kind: f.kind,
    points_cost: r.int(f.points_cost, 'points_cost'),
    value:
      vk === 'money'
        ? r.money(f.value, 'value')
        : vk === 'percent'
          ? r.int(f.value, 'value')
          : blank(f.value)
            ? 0
            : r.money(f.value, 'value'),
    stock: r.optInt(f.stock, 'stock'),
    per_customer_limit: r.optInt(f.per_customer_limit, 'per_customer_limit'),
    valid_from: r.date(f.valid_from, 'valid_from'),
    valid_to: r.date(f.valid_to, 'valid_to'),
    voucher_days: blank(f.voucher_days) ? 90 : r.int(f.voucher_days, 'voucher_days'),
    active: f.active,
  };
  return r.result(input);
}

// --- Rules for customers -------------------------------------------------------------------

export interface RulesSection {
  id: string;
  title: string;
  lines: { text: string; detail?: string }[];
}

export interface RulesContext {
  lang: Lang;
  /** The shop's locale and currency; the language decides the rest. */
  locale: Locale;
  currency: Currency;
}

/** The locale the rules are written in: the chosen language, in the shop's country. */
export function rulesLocale(lang: Lang, locale: Locale, currency: Currency): Locale {
  if (lang === 'en') return 'en';
  if (locale !== 'en') return locale;
  return currency === 'CAD' ? 'fr-CA' : 'fr-FR';
}

/** Whether a count takes the singular: 0 and 1 in French, only 1 in English. */
function one(lang: Lang, n: number): boolean {
  return lang === 'fr' ? n < 2 : n === 1;
}

/** Customer-facing rules of the programme and its active rewards. */
export function rulesText(p: Programme, rewards: Reward[], ctx: RulesContext): RulesSection[] {
  const { lang } = ctx;
  const locale = rulesLocale(lang, ctx.locale, ctx.currency);
  const intl = intlLocale(locale, ctx.currency);
  const tr = (key: string, params?: Params) => translate(lang, key, params);
  const count = (n: number) => new Intl.NumberFormat(intl).format(n);
  const money = (c: number) => formatMoney(c, locale, ctx.currency);
  const factor = (percent: number) => `×${new Intl.NumberFormat(intl).format(percent / 100)}`;
  const day = (d: string) => formatDate(d, { locale, currency: ctx.currency, timeZone: 'UTC' });
  const clock = (m: number) =>
    new Intl.DateTimeFormat(intl, { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }).format(
      new Date(Date.UTC(2000, 0, 1, 0, m)),
    );
  const weekday = (n: number) =>
    new Intl.DateTimeFormat(intl, { weekday: 'long', timeZone: 'UTC' }).format(new Date(Date.UTC(2001, 0, n)));
  const list = (items: string[]) => new Intl.ListFormat(intl, { type: 'conjunction' }).format(items);
  const pts = (n: number) => tr(one(lang, n) ? 'ui.rules.n_point' : 'ui.rules.n_points', { n: count(n) });

  const sections: RulesSection[] = [];

  if (p.points) {
    const lines: RulesSection['lines'] = [];
    if (p.points.points_per_unit > 0) {
      lines.push({
        text: tr('ui.rules.points_per_amount', { points: pts(p.points.points_per_unit), amount: money(p.points.unit_cents) }),
      });
      // Only worth saying when there are rewards that give a discount.
      if (rewards.some((r) => r.active)) {
        lines.push({
          text: tr(p.earn_before_discount ? 'ui.rules.earn_before_discount' : 'ui.rules.earn_after_discount'),
        });
      }
    }
    if (p.points.points_per_visit > 0) lines.push({ text: tr('ui.rules.points_per_visit', { points: pts(p.points.points_per_visit) }) });
    if (lines.length > 0) sections.push({ id: 'points', title: tr('ui.rules.points_title'), lines });
  }

  if (p.stamps) {
    const n = p.stamps.per_visit;
    const lines: RulesSection['lines'] = [
      { text: tr(one(lang, n) ? 'ui.rules.stamps_per_visit_one' : 'ui.rules.stamps_per_visit', { n: count(n) }) },
    ];
    for (const m of p.stamps.milestones) {
      lines.push({ text: tr('ui.rules.milestone', { stamps: count(m.stamps), label: m.label }) });
    }
    const last = p.stamps.milestones[p.stamps.milestones.length - 1];
    if (last) lines.push({ text: tr('ui.rules.card_size', { n: count(last.stamps) }) });
    sections.push({ id: 'stamps', title: tr('ui.rules.stamps_title'), lines });
  }

  if (p.category_multipliers.length > 0 || p.boosters.length > 0) {
    const lines: RulesSection['lines'] = p.category_multipliers.map((c) => ({
      text: tr('ui.rules.category', { category: c.category, factor: factor(c.percent) }),
    }));
    for (const b of p.boosters) {
      const when: string[] = [];
      if (b.starts_on && b.ends_on) when.push(tr('ui.rules.dates_between', { from: day(b.starts_on), to: day(b.ends_on) }));
      else if (b.starts_on) when.push(tr('ui.rules.dates_from', { from: day(b.starts_on) }));
      else if (b.ends_on) when.push(tr('ui.rules.dates_until', { to: day(b.ends_on) }));
      const days = [...b.weekdays].sort((a, c) => a - c);
      if (days.length > 0 && days.length < 7) when.push(tr('ui.rules.weekdays', { days: list(days.map(weekday)) }));
      if (b.from_minute !== null && b.to_minute !== null) {
        when.push(tr('ui.rules.hours_between', { from: clock(b.from_minute), to: clock(b.to_minute) }));
      } else if (b.from_minute !== null) when.push(tr('ui.rules.hours_from', { from: clock(b.from_minute) }));
      else if (b.to_minute !== null) when.push(tr('ui.rules.hours_until', { to: clock(b.to_minute) }));
      lines.push({
        text: tr('ui.rules.booster', { name: b.name, factor: factor(b.percent) }),
        detail: when.length > 0 ? when.join(', ') : undefined,
      });
    }
    sections.push({ id: 'multipliers', title: tr('ui.rules.multipliers_title'), lines });
  }

  if (p.actions.length > 0) {
    sections.push({
      id: 'actions',
      title: tr('ui.rules.actions_title'),
      lines: p.actions.map((a) => ({
        text: tr('ui.rules.action', { action: tr(`ui.programme.action.${a.action}`), points: pts(a.points) }),
        detail:
          a.max_per_year === null
            ? undefined
            : tr(one(lang, a.max_per_year) ? 'ui.rules.max_per_year_one' : 'ui.rules.max_per_year', {
                n: count(a.max_per_year),
              }),
      })),
    });
  }

  if (p.tiers && p.tiers.tiers.length > 0) {
    const basis = p.tiers.basis;
    const lines: RulesSection['lines'] = [
      {
        text: tr(
          basis === 'spend'
            ? p.tiers.period === 'calendar_year'
              ? 'ui.rules.tiers_spend_calendar'
              : 'ui.rules.tiers_spend_rolling'
            : p.tiers.period === 'calendar_year'
              ? 'ui.rules.tiers_points_calendar'
              : 'ui.rules.tiers_points_rolling',
        ),
      },
    ];
    for (const t of p.tiers.tiers) {
      const parts = [
        basis === 'spend'
          ? tr('ui.rules.tier_spend', { name: t.name, threshold: money(t.threshold) })
          : tr('ui.rules.tier_points', { name: t.name, threshold: pts(t.threshold) }),
      ];
      if (t.percent !== 100) parts.push(tr('ui.rules.tier_factor', { factor: factor(t.percent) }));
      if (t.entry_points > 0) parts.push(tr('ui.rules.tier_entry', { points: pts(t.entry_points) }));
      lines.push({ text: parts.join(tr('ui.rules.separator')), detail: t.advantages.trim() || undefined });
    }
    sections.push({ id: 'tiers', title: tr('ui.rules.tiers_title'), lines });
  }

  if (p.points || p.actions.length > 0) {
    const e = p.expiry;
    sections.push({
      id: 'expiry',
      title: tr('ui.rules.expiry_title'),
      lines: [
        {
          text:
            e.mode === 'never'
              ? tr('ui.rules.expiry_never')
              : e.mode === 'after_months'
                ? tr('ui.rules.expiry_after_months', { n: count(e.months) })
                : tr('ui.rules.expiry_inactivity', { n: count(e.months) }),
        },
      ],
    });
  }

  const active = rewards.filter((r) => r.active);
  if (active.length > 0) {
    sections.push({
      id: 'rewards',
      title: tr('ui.rules.rewards_title'),
      lines: [
        ...active.map((r) => {
          const details: string[] = [];
          if (r.kind === 'fixed_discount') details.push(tr('ui.rules.reward_discount', { value: money(r.value) }));
          else if (r.kind === 'percent_discount') details.push(tr('ui.rules.reward_percent', { value: count(r.value) }));
          else if (r.kind === 'voucher')
            details.push(tr('ui.rules.reward_voucher', { value: money(r.value), days: count(r.voucher_days) }));
          else details.push(tr(`ui.rewards.kind.${r.kind}`));
          if (r.valid_to) details.push(tr('ui.rules.reward_until', { date: day(r.valid_to) }));
          return { text: tr('ui.rules.reward', { name: r.name, points: pts(r.points_cost) }), detail: details.join(', ') };
        }),
        { text: tr('ui.rules.rewards_part') },
      ],
    });
  }
  return sections;
}
