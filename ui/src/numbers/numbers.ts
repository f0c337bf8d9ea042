// The pure rules of the numbers screens: labels of the codes the core sends, changes and
// durations in words, the one-sentence summary and the screen-reader description of each chart,
// and the segment filter behind each figure (with its address, so every number opens its list
// of customers). Nothing here reads the clock except through arguments.
import type { Bucket } from '$lib/generated/Bucket';
import type { ChurnRisk } from '$lib/generated/ChurnRisk';
import type { ClvModel } from '$lib/generated/ClvModel';
import type { Condition } from '$lib/generated/Condition';
import type { Grain } from '$lib/generated/Grain';
import type { LoyaltyKind } from '$lib/generated/LoyaltyKind';
import type { NpsChannel } from '$lib/generated/NpsChannel';
import type { NpsGroup } from '$lib/generated/NpsGroup';
import type { NpsMonth } from '$lib/generated/NpsMonth';
import type { NpsSummary } from '$lib/generated/NpsSummary';
import type { Period } from '$lib/generated/Period';
import type { RfmSegment } from '$lib/generated/RfmSegment';
import type { RfmThresholds } from '$lib/generated/RfmThresholds';
import type { SegmentFilter } from '$lib/generated/SegmentFilter';
import type { Theme } from '$lib/generated/Theme';
import type { ThresholdSource } from '$lib/generated/ThresholdSource';
import { catalogues } from '$lib/i18n';

export type Tr = (key: string, params?: Record<string, string | number>) => string;

export const SEGMENTS: readonly RfmSegment[] = [
  'champions', 'loyal', 'potential_loyal', 'new', 'promising', 'need_attention',
  'about_to_sleep', 'at_risk', 'cannot_lose', 'hibernating', 'lost',
];
export const SEGMENT_LABEL: Record<RfmSegment, string> = {
  champions: 'ui.numbers.segment.champions',
  loyal: 'ui.numbers.segment.loyal',
  potential_loyal: 'ui.numbers.segment.potential_loyal',
  new: 'ui.numbers.segment.new',
  promising: 'ui.numbers.segment.promising',
  need_attention: 'ui.numbers.segment.need_attention',
  about_to_sleep: 'ui.numbers.segment.about_to_sleep',
  at_risk: 'ui.numbers.segment.at_risk',
  cannot_lose: 'ui.numbers.segment.cannot_lose',
  hibernating: 'ui.numbers.segment.hibernating',
  lost: 'ui.numbers.segment.lost',
};
/** What to do with each segment, in one line. */
export const SEGMENT_ACTION: Record<RfmSegment, string> = {
  champions: 'ui.numbers.segment_action.champions',
  loyal: 'ui.numbers.segment_action.loyal',
  potential_loyal: 'ui.numbers.segment_action.potential_loyal',
  new: 'ui.numbers.segment_action.new',
  promising: 'ui.numbers.segment_action.promising',
  need_attention: 'ui.numbers.segment_action.need_attention',
  about_to_sleep: 'ui.numbers.segment_action.about_to_sleep',
  at_risk: 'ui.numbers.segment_action.at_risk',
  cannot_lose: 'ui.numbers.segment_action.cannot_lose',
  hibernating: 'ui.numbers.segment_action.hibernating',
  lost: 'ui.numbers.segment_action.lost',
};
export const CHURN: readonly ChurnRisk[] = ['low', 'medium', 'high', 'gone'];
export const CHURN_LABEL: Record<ChurnRisk, string> = {
  low: 'ui.numbers.churn.low',
  medium: 'ui.numbers.churn.medium',
  high: 'ui.numbers.churn.high',
  gone: 'ui.numbers.churn.gone',
};
export const KINDS: readonly LoyaltyKind[] = ['habit', 'convenience', 'price', 'at_risk', 'occasional'];
export const KIND_LABEL: Record<LoyaltyKind, string> = {
  habit: 'ui.numbers.kind.habit',
  convenience: 'ui.numbers.kind.convenience',
  price: 'ui.numbers.kind.price',
  at_risk: 'ui.numbers.kind.at_risk',
  occasional: 'ui.numbers.kind.occasional',
};
export const KIND_HELP: Record<LoyaltyKind, string> = {
  habit: 'ui.numbers.kind_help.habit',
  convenience: 'ui.numbers.kind_help.convenience',
  price: 'ui.numbers.kind_help.price',
  at_risk: 'ui.numbers.kind_help.at_risk',
  occasional: 'ui.numbers.kind_help.occasional',
};
export const NPS_GROUPS: readonly NpsGroup[] = ['promoter', 'passive', 'detractor'];
/** The windows a satisfaction condition offers, in months. */
export const NPS_WINDOWS: readonly number[] = [3, 6, 12, 24, 36];
export const NPS_GROUP_LABEL: Record<NpsGroup, string> = {
  promoter: 'ui.nps.group.promoter',
  passive: 'ui.nps.group.passive',
  detractor: 'ui.nps.group.detractor',
};
export const THEME_LABEL: Record<Theme, string> = {
  welcome: 'ui.nps.theme.welcome',
  advice: 'ui.nps.theme.advice',
  products: 'ui.nps.theme.products',
  prices: 'ui.nps.theme.prices',
  waiting: 'ui.nps.theme.waiting',
  hours: 'ui.nps.theme.hours',
  loyalty: 'ui.nps.theme.loyalty',
  shop: 'ui.nps.theme.shop',
  other: 'ui.nps.theme.other',
};
export const CHANNEL_LABEL: Record<NpsChannel, string> = {
  till: 'ui.nps.channel.till',
  paper: 'ui.nps.channel.paper',
  email: 'ui.nps.channel.email',
};
export const GRAINS: readonly Grain[] = ['day', 'week', 'month'];
export const GRAIN_LABEL: Record<Grain, string> = {
  day: 'ui.numbers.grain.day',
  week: 'ui.numbers.grain.week',
  month: 'ui.numbers.grain.month',
};
/** "the last 30 days", "the last 13 weeks", "the last 12 months". */
export const WINDOW_LABEL: Record<Grain, string> = {
  day: 'ui.numbers.window.day',
  week: 'ui.numbers.window.week',
  month: 'ui.numbers.window.month',
};
export const WINDOW_TITLE: Record<Grain, string> = {
  day: 'ui.numbers.window_title.day',
  week: 'ui.numbers.window_title.week',
  month: 'ui.numbers.window_title.month',
};
export const CLV_MODEL_LABEL: Record<ClvModel, string> = {
  bg_nbd: 'ui.numbers.clv_model.bg_nbd',
  segment_history: 'ui.numbers.clv_model.segment_history',
  pace: 'ui.numbers.clv_model.pace',
};
export const SOURCE_LABEL: Record<ThresholdSource, string> = {
  quintiles: 'ui.numbers.thresholds.quintiles',
  fixed: 'ui.numbers.thresholds.fixed',
  edited: 'ui.numbers.thresholds.edited',
};

/** The segment of each cell of the RFM grid (rows: recency 1–5, columns: frequency-and-spend 1–5). */
export const GRID: readonly (readonly RfmSegment[])[] = [
  ['lost', 'lost', 'at_risk', 'cannot_lose', 'cannot_lose'],
  ['hibernating', 'hibernating', 'at_risk', 'at_risk', 'at_risk'],
  ['about_to_sleep', 'need_attention', 'need_attention', 'loyal', 'loyal'],
  ['promising', 'potential_loyal', 'loyal', 'champions', 'champions'],
  ['new', 'potential_loyal', 'loyal', 'champions', 'champions'],
];

// --- Changes and durations in words ----------------------------------------------------------

export type Tone = 'up' | 'down' | 'flat';

/** A change in tenths of a percent as the merchant reads it: "+6 %", "−3,2 %"; null stays null. */
export function formatChange(permille: number | null, locale: string): string | null {
  if (permille === null) return null;
  const n = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1, signDisplay: 'exceptZero' });
  return n.format(permille / 1000).replace('-', '−');
}

export function tone(permille: number | null): Tone {
  if (permille === null || Math.abs(permille) < 5) return 'flat';
  return permille > 0 ? 'up' : 'down';
}

/** One comparison under a figure: its sentence (`key` with the signed change) and its colour. */
export interface ChangeLine {
  text: string;
  tone: Tone;
}
export function changeLine(key: string, permille: number, locale: string, t: Tr): ChangeLine {
  return { text: t(key, { change: formatChange(permille, locale) ?? '' }), tone: tone(permille) };
}

/** Satisfaction's customers a list can show, by group, and the answers no list holds
 *  (anonymous paper forms, archived customers). */
export function npsListed(s: NpsSummary, g: NpsGroup): number {
  return g === 'promoter' ? s.listed_promoters : g === 'passive' ? s.listed_passives : s.listed_detractors;
}
export function npsUnlisted(s: NpsSummary): number {
  return s.answers - s.listed_promoters - s.listed_passives - s.listed_detractors;
}

/** A number of days in the unit a person would use: "5 jours", "2 semaines", "3 mois", "2 ans". */
export function formatDays(days: number, t: Tr): string {
  const d = Math.max(0, Math.round(days));
  if (d < 14) return t(d === 1 ? 'ui.numbers.duration.day' : 'ui.numbers.duration.days', { n: d });
  if (d < 70) {
    const w = Math.round(d / 7);
    return t('ui.numbers.duration.weeks', { n: w });
  }
  if (d < 730) {
    const m = Math.round(d / 30.44);
    return t(m === 1 ? 'ui.numbers.duration.month' : 'ui.numbers.duration.months', { n: m });
  }
  return t('ui.numbers.duration.years', { n: Math.round(d / 365.25) });
}

/** How often, in the same units as `formatDays` and with the words each takes: "tous les 5
 *  jours", "toutes les 2 semaines", "tous les 3 mois" ("jour" and "mois" are masculine, "semaine"
 *  feminine; never "toutes les 5 jours"). */
export function formatEvery(days: number, t: Tr): string {
  const d = Math.max(1, Math.round(days));
  if (d < 14) return t(d === 1 ? 'ui.numbers.every.day' : 'ui.numbers.every.days', { n: d });
  if (d < 70) return t('ui.numbers.every.weeks', { n: Math.round(d / 7) });
  if (d < 730) return t('ui.numbers.every.months', { n: Math.round(d / 30.44) });
  return t('ui.numbers.every.years', { n: Math.round(d / 365.25) });
}

/** "vient toutes les 2 semaines, absent depuis 9 semaines" (the shop's rhythm under 3 visits). */
export function rhythmSentence(r: { usual_gap_days: number; own: boolean; days_since_last: number }, t: Tr): string {
  const every = formatEvery(r.usual_gap_days, t);
  const away = formatDays(r.days_since_last, t);
  if (r.days_since_last < 1) return t(r.own ? 'ui.numbers.rhythm.own_today' : 'ui.numbers.rhythm.shop_today', { every });
  return t(r.own ? 'ui.numbers.rhythm.own' : 'ui.numbers.rhythm.shop', { every, away });
}

// --- Dates of the charts ---------------------------------------------------------------------

const day = (s: string) => new Date(`${s}T12:00:00Z`);

/** A bucket's label: "23 nov.", "sem. du 17 nov.", "nov. 2026". */
export function bucketLabel(p: Period, grain: Grain, locale: string, t: Tr): string {
  const d = day(p.from);
  if (grain === 'month') return new Intl.DateTimeFormat(locale, { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(d);
  const short = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', timeZone: 'UTC' }).format(d);
  return grain === 'week' ? t('ui.numbers.week_of', { date: short }) : short;
}

/** A `YYYY-MM` month as people read it: "déc. 2025", "Dec 2025". */
export function monthLabel(month: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(day(`${month}-01`));
}

/** Computed thresholds as a starting point the merchant can save as they are: each at least
 *  its minimum (recency from 1 day, spend from 0) and above the one before (quintiles of tied
 *  customers can repeat a value, or start at 0 days). */
export function editableThresholds(th: RfmThresholds): RfmThresholds {
  const rise = (v: number[], min: number): [number, number, number, number] => {
    const out: number[] = [];
    v.forEach((x, i) => out.push(Math.max(x, i === 0 ? min : out[i - 1] + 1)));
    return out as [number, number, number, number];
  };
  return { ...th, recency_days: rise(th.recency_days, 1), monetary_cents: rise(th.monetary_cents, 0) };
}

/** The satisfaction trend in words: the score of the last 3 months (this one included) against
 *  the 3 before, each the answers' own score (a month's score weighs as many answers as it
 *  has), then what the scale means. Months without answers count for nothing. */
export function npsTrendSentence(trend: NpsMonth[], locale: string, t: Tr, today: Date = new Date()): string {
  const scale = t('ui.nps.trend_summary');
  const key = (back: number) => {
    const d = new Date(today.getFullYear(), today.getMonth() - back, 1);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
  };
  const pool = (months: string[]) => {
    const got = trend.filter((m) => months.includes(m.month) && m.score !== null && m.answers > 0);
    const n = got.reduce((a, m) => a + m.answers, 0);
    return n === 0 ? null : { n, score: Math.round(got.reduce((a, m) => a + (m.score ?? 0) * m.answers, 0) / n) };
  };
  const now = pool([key(0), key(1), key(2)]);
  const before = pool([key(3), key(4), key(5)]);
  if (!now) return scale;
  const params = { now: now.score, n: formatCountPlain(now.n, locale), before: before?.score ?? 0 };
  const which = !before ? 'ui.nps.trend_only' : now.score > before.score ? 'ui.nps.trend_up' : now.score < before.score ? 'ui.nps.trend_down' : 'ui.nps.trend_flat';
  return `${t(which, params)} ${scale}`;
}

function formatCountPlain(n: number, locale: string): string {
  return new Intl.NumberFormat(locale).format(n);
}

export function periodLabel(p: Period, locale: string): string {
  const f = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  return p.from === p.to ? f.format(day(p.from)) : `${f.format(day(p.from))} – ${f.format(day(p.to))}`;
}

/** A month by name, from its `YYYY-MM` or any of its days: "novembre 2026", "November 2026". */
export function monthName(s: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${s.slice(0, 7)}-15T12:00:00Z`));
}

/** The day before a `YYYY-MM-DD` date. */
export function dayBefore(s: string): string {
  const d = day(s);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

/** The last day of a month (`YYYY-MM` → `YYYY-MM-DD`). */
export function lastDayOf(month: string): string {
  const d = day(`${month}-01`);
  d.setUTCMonth(d.getUTCMonth() + 1, 0);
  return d.toISOString().slice(0, 10);
}

// --- Summaries and descriptions --------------------------------------------------------------

/** One sentence on how the last bucket compares with the same one last year, or the previous one. */
export function trendSentence(
  what: string,
  current: number | null,
  before: number | null,
  t: Tr,
  locale: string,
  vs: 'last_year' | 'previous',
): string {
  if (current === null) return t('ui.numbers.summary.none', { what });
  if (before === null || before <= 0) return t('ui.numbers.summary.no_compare', { what });
  const permille = Math.round(((current - before) * 1000) / before);
  const change = formatChange(Math.abs(permille), locale) ?? '';
  return t(SUMMARY[vs][tone(permille)], { what, change: change.replace('+', '') });
}

const SUMMARY: Record<'last_year' | 'previous', Record<Tone, string>> = {
  last_year: {
    up: 'ui.numbers.summary.up_last_year',
    down: 'ui.numbers.summary.down_last_year',
    flat: 'ui.numbers.summary.stable_last_year',
  },
  previous: {
    up: 'ui.numbers.summary.up_previous',
    down: 'ui.numbers.summary.down_previous',
    flat: 'ui.numbers.summary.stable_previous',
  },
};

/** What a screen reader says of a chart: its kind, what it shows, the highest and lowest values. */
export function describeChart(
  title: string,
  kind: 'bar' | 'line',
  labels: string[],
  series: { name: string; values: (number | null)[] }[],
  format: (n: number) => string,
  t: Tr,
): string {
  const parts = [t(kind === 'bar' ? 'ui.numbers.aria.bar' : 'ui.numbers.aria.line', { title, n: labels.length })];
  if (labels.length > 0) parts.push(t('ui.numbers.aria.range', { from: labels[0], to: labels[labels.length - 1] }));
  for (const s of series) {
    let hi = -1;
    let lo = -1;
    s.values.forEach((v, i) => {
      if (v === null) return;
      if (hi < 0 || v > (s.values[hi] as number)) hi = i;
      if (lo < 0 || v < (s.values[lo] as number)) lo = i;
    });
    if (hi < 0) continue;
    parts.push(
      t('ui.numbers.aria.extremes', {
        series: s.name,
        high: labels[hi] ?? '',
        high_value: format(s.values[hi] as number),
        low: labels[lo] ?? '',
        low_value: format(s.values[lo] as number),
      }),
    );
  }
  return parts.join(' ');
}

// --- The customers behind a number -----------------------------------------------------------

const filter = (...conditions: Condition[]): SegmentFilter => ({ combine: 'all', conditions });

export const filters = {
  boughtIn: (p: Period) => filter({ field: 'bought_between', from: p.from, to: p.to }),
  newIn: (p: Period) => filter({ field: 'first_purchase_between', from: p.from, to: p.to }),
  returningIn: (p: Period) =>
    filter(
      { field: 'bought_between', from: p.from, to: p.to },
      { field: 'first_purchase_between', from: '2000-01-01', to: dayBefore(p.from) },
    ),
  membersIn: (p: Period) => filter({ field: 'bought_between', from: p.from, to: p.to }, { field: 'card_holder', holder: true }),
  segment: (segment: RfmSegment) => filter({ field: 'rfm_segment', segment }),
  move: (from: RfmSegment, to: RfmSegment) => filter({ field: 'rfm_move', from, to }),
  cell: (r: number, fm: number) => filter({ field: 'rfm_cell', r, fm }),
  churn: (risk: ChurnRisk) => filter({ field: 'churn_risk', risk }),
  kind: (kind: LoyaltyKind) => filter({ field: 'loyalty_kind', kind }),
  nps: (group: NpsGroup | null, withinMonths?: number) => filter({ field: 'nps_answer', group, within_months: withinMonths }),
  /** The customers who answered in a month of the satisfaction trend (`YYYY-MM`, local). */
  npsAnsweredIn: (month: string) => filter({ field: 'nps_answered_between', from: `${month}-01`, to: lastDayOf(month) }),
  clvAtLeast: (cents: number) => filter({ field: 'lifetime_value_at_least', cents }),
  withPoints: () => filter({ field: 'points_at_least', points: 1 }),
  rewardUsed: (months: number) => filter({ field: 'reward_used_within', months }),
  pointsExpired: (months: number) => filter({ field: 'points_expired_within', months }),
  giftsReceived: (months: number) => filter({ field: 'gift_received_within', months }),
  /** The customers the programme's before/after comparison compared, on one side. */
  compared: (member: boolean) => filter({ field: 'programme_compared', member }),
};

/** What the list behind a number is titled: a catalogue key and its parameters. */
export interface ListTitle {
  key: string;
  params?: Record<string, string | number>;
}

function toBase64Url(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  bytes.forEach((b) => (bin += String.fromCharCode(b)));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): string | null {
  try {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
    return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

/** The address of the list of customers behind a number. */
export function listHref(f: SegmentFilter, title: ListTitle): string {
  return `#/numbers/list?f=${toBase64Url(JSON.stringify(f))}&t=${toBase64Url(JSON.stringify(title))}`;
}

/** Read a list's filter and title back from its address; null when it is not one of ours. The
 *  core checks the filter again before it becomes SQL. */
export function readListQuery(q: Record<string, string>): { filter: SegmentFilter; title: ListTitle } | null {
  const f = q.f ? fromBase64Url(q.f) : null;
  const tt = q.t ? fromBase64Url(q.t) : null;
  if (f === null) return null;
  try {
    const filter = JSON.parse(f) as SegmentFilter;
    if (!filter || (filter.combine !== 'all' && filter.combine !== 'any') || !Array.isArray(filter.conditions)) return null;
    let title: ListTitle = { key: 'ui.numbers.list.title' };
    if (tt !== null) {
      const parsed = JSON.parse(tt) as ListTitle;
      // A key this version no longer has (a link kept from an older one) gets the plain title.
      if (parsed && typeof parsed.key === 'string' && parsed.key.startsWith('ui.numbers.') && parsed.key in catalogues.fr) title = parsed;
    }
    return { filter, title };
  } catch {
    return null;
  }
}

// --- Charts' data ----------------------------------------------------------------------------

export interface ChartSeries {
  name: string;
  kind: 'bar' | 'line';
  /** `null` where there is nothing to show (no answer, no sale): a gap, not a zero. */
  values: (number | null)[];
  stack?: string;
}

export interface ChartData {
  labels: string[];
  series: ChartSeries[];
}

/** Revenue per bucket, with last year's as a line. */
export function revenueChart(series: Bucket[], lastYear: Bucket[], grain: Grain, locale: string, t: Tr): ChartData {
  return {
    labels: series.map((b) => bucketLabel(b.period, grain, locale, t)),
    series: [
      { name: t('ui.numbers.series.this_period'), kind: 'bar', values: series.map((b) => b.totals.revenue_cents) },
      { name: t('ui.numbers.series.last_year'), kind: 'line', values: lastYear.map((b) => b.totals.revenue_cents) },
    ],
  };
}

/** New and returning customers per bucket, stacked. */
export function customersChart(series: Bucket[], grain: Grain, locale: string, t: Tr): ChartData {
  return {
    labels: series.map((b) => bucketLabel(b.period, grain, locale, t)),
    series: [
      { name: t('ui.numbers.series.returning'), kind: 'bar', stack: 'c', values: series.map((b) => b.totals.returning_customers) },
      { name: t('ui.numbers.series.new'), kind: 'bar', stack: 'c', values: series.map((b) => b.totals.new_customers) },
    ],
  };
}
